"""Finds and loads libweft.so and declares the C API's signatures (include/weft/weft.h)."""
import ctypes
import ctypes.util
import os

from . import _location

_WEFT_UNIQUE_ID_BYTES = 128


class UniqueId(ctypes.Structure):
    _fields_ = [("internal", ctypes.c_char * _WEFT_UNIQUE_ID_BYTES)]


def _candidates():
    """Where libweft may be, in order: WEFT_LIBRARY, where this package was built or installed
    beside it, then the loader's search path."""
    if os.environ.get("WEFT_LIBRARY"):
        yield os.environ["WEFT_LIBRARY"]
    here = os.path.dirname(os.path.abspath(__file__))
    for path in _location.LIBRARIES:
        yield path if os.path.isabs(path) else os.path.normpath(os.path.join(here, path))
    found = ctypes.util.find_library("weft")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("weft: cannot load libweft.so; set WEFT_LIBRARY to its path. Tried: " +
                      "; ".join(tried or ["nothing"]))


lib = _load()

_c = ctypes
_comm = _c.c_void_p
_signatures = {
    "weftGetVersion": [_c.POINTER(_c.c_int)],
    "weftGetErrorString": [_c.c_int],
    "weftGetLastError": [_comm],
    "weftCommInitFromEnv": [_c.POINTER(_comm)],
    "weftGetUniqueId": [_c.POINTER(UniqueId)],
    "weftCommInitRank": [_c.POINTER(_comm), _c.c_int, UniqueId, _c.c_int],
    "weftCommDestroy": [_comm],
    "weftCommAbort": [_comm],
    "weftCommCount": [_comm, _c.POINTER(_c.c_int)],
    "weftCommUserRank": [_comm, _c.POINTER(_c.c_int)],
    "weftAllReduce": [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _comm,
                      _c.c_void_p],
    "weftAllGather": [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_int, _comm, _c.c_void_p],
    "weftReduceScatter": [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _comm,
                          _c.c_void_p],
    "weftBroadcast": [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _comm,
                      _c.c_void_p],
    "weftReduce": [_c.c_void_p, _c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _c.c_int, _comm,
                   _c.c_void_p],
    "weftSend": [_c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _comm, _c.c_void_p],
    "weftRecv": [_c.c_void_p, _c.c_size_t, _c.c_int, _c.c_int, _comm, _c.c_void_p],
    "weftGroupStart": [],
    "weftGroupEnd": [],
}
for _name, _args in _signatures.items():
    _f = getattr(lib, _name)
    _f.argtypes = _args
    _f.restype = _c.c_char_p if _name in ("weftGetErrorString", "weftGetLastError") else _c.c_int
