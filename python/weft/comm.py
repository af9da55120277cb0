"""A communicator: collectives and point to point on numpy arrays and CPU torch tensors. Calls
block until the result is in place (host memory, no stream), as the C API does."""
import ctypes

from . import _buffers
from ._library import UniqueId, lib
from .errors import WeftError

# weftRedOp_t values (include/weft/weft.h; NCCL's).
OPS = {"sum": 0, "prod": 1, "max": 2, "min": 3, "avg": 4}


def _op(op):
    if op not in OPS:
        raise WeftError(f"unknown op {op!r} (one of {', '.join(OPS)})")
    return OPS[op]


def _check(result, what, comm=None):
    if result != 0:
        text = lib.weftGetErrorString(result).decode()
        detail = (lib.weftGetLastError(comm) or b"").decode()
        raise WeftError(f"{what}: {text}: {detail}" if detail else f"{what}: {text}", result)


class Comm:
    """One rank's communicator. Use `weft.init()` (from the environment: weft-run, torchrun,
    mpirun, srun), or `Comm.from_unique_id` with an id from `weft.unique_id()` shipped by the
    caller. Destroy with `destroy()`, or use it as a context manager."""

    def __init__(self, handle):
        self._handle = handle
        n, r = ctypes.c_int(), ctypes.c_int()
        _check(lib.weftCommCount(handle, ctypes.byref(n)), "weftCommCount", handle)
        _check(lib.weftCommUserRank(handle, ctypes.byref(r)), "weftCommUserRank", handle)
        self.size, self.rank = n.value, r.value

    @classmethod
    def from_env(cls):
        handle = ctypes.c_void_p()
        _check(lib.weftCommInitFromEnv(ctypes.byref(handle)), "weftCommInitFromEnv")
        return cls(handle)

    @classmethod
    def from_unique_id(cls, uid, size, rank):
        if not isinstance(uid, (bytes, bytearray)) or len(uid) != ctypes.sizeof(UniqueId):
            raise WeftError(f"the unique id must be the {ctypes.sizeof(UniqueId)} bytes of "
                            "weft.unique_id()")
        handle = ctypes.c_void_p()
        _check(lib.weftCommInitRank(ctypes.byref(handle), size, UniqueId.from_buffer_copy(uid),
                                    rank), "weftCommInitRank")
        return cls(handle)

    # Lifetime.
    def _live(self):
        if self._handle is None:
            raise WeftError("the communicator was destroyed")
        return self._handle

    def destroy(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            _check(lib.weftCommDestroy(handle), "weftCommDestroy")

    def abort(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            lib.weftCommAbort(handle)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.destroy()
        else:
            self.abort()  # peers may be mid-call; do not wait for them
        return False

    # Collectives. Each returns its output.
    def all_reduce(self, x, op="sum", out=None):
        """Element-wise reduction over the ranks, into `out` (default: `x`, in place)."""
        s = _buffers.as_buffer(x, "all_reduce input", writable=out is None)
        d = s if out is None else self._same(out, s, s.count, "all_reduce output")
        self._call(lib.weftAllReduce, "all_reduce", s.ptr, d.ptr, s.count, s.dtype, _op(op))
        return d.obj

    def all_gather(self, x, out=None):
        """Every rank's `x`, rank order, into `out` (size x len(x); default: a new one)."""
        s = _buffers.as_buffer(x, "all_gather input", writable=False)
        out = _buffers.empty_like(x, s.count * self.size) if out is None else out
        d = self._same(out, s, s.count * self.size, "all_gather output")
        self._call(lib.weftAllGather, "all_gather", s.ptr, d.ptr, s.count, s.dtype)
        return d.obj

    def reduce_scatter(self, x, op="sum", out=None):
        """The reduction of `x` over the ranks; rank r keeps block r (len(x) / size)."""
        s = _buffers.as_buffer(x, "reduce_scatter input", writable=False)
        if s.count % self.size:
            raise WeftError(f"reduce_scatter: {s.count} elements do not split into "
                            f"{self.size} equal blocks")
        n = s.count // self.size
        out = _buffers.empty_like(x, n) if out is None else out
        d = self._same(out, s, n, "reduce_scatter output")
        self._call(lib.weftReduceScatter, "reduce_scatter", s.ptr, d.ptr, n, s.dtype, _op(op))
        return d.obj

    def broadcast(self, x, root=0):
        """Root's `x` into every rank's `x`."""
        s = _buffers.as_buffer(x, "broadcast buffer", writable=True)
        self._call(lib.weftBroadcast, "broadcast", s.ptr, s.ptr, s.count, s.dtype, root)
        return s.obj

    def reduce(self, x, root=0, op="sum", out=None):
        """The reduction over the ranks, into root's `out` (default: `x`)."""
        s = _buffers.as_buffer(x, "reduce input", writable=out is None)
        d = s if out is None else self._same(out, s, s.count, "reduce output")
        self._call(lib.weftReduce, "reduce", s.ptr, d.ptr, s.count, s.dtype, _op(op), root)
        return d.obj

    def barrier(self):
        one = ctypes.c_int8(0)
        self._call(lib.weftAllReduce, "barrier", ctypes.addressof(one), ctypes.addressof(one),
                   1, 0, 0)

    def all_to_all(self, x, out=None):
        """Block q of `x` (len(x) / size elements) to rank q; block p of the output from p."""
        s = _buffers.as_buffer(x, "all_to_all input", writable=False)
        if s.count % self.size:
            raise WeftError(f"all_to_all: {s.count} elements do not split into "
                            f"{self.size} equal blocks")
        out = _buffers.empty_like(x, s.count) if out is None else out
        d = self._same(out, s, s.count, "all_to_all output")
        n = s.count // self.size
        size = self._element_bytes(x)
        handle = self._live()
        _check(lib.weftGroupStart(), "all_to_all")
        try:
            for q in range(self.size):
                _check(lib.weftSend(s.ptr + q * n * size, n, s.dtype, q, handle, None),
                       "all_to_all", handle)
                _check(lib.weftRecv(d.ptr + q * n * size, n, s.dtype, q, handle, None),
                       "all_to_all", handle)
        finally:
            ended = lib.weftGroupEnd()
        _check(ended, "all_to_all", handle)
        return d.obj

    # Point to point: the k-th send from a to b meets the k-th recv at b from a.
    def send(self, x, peer):
        s = _buffers.as_buffer(x, "send buffer", writable=False)
        self._call(lib.weftSend, "send", s.ptr, s.count, s.dtype, peer)

    def recv(self, x, peer):
        s = _buffers.as_buffer(x, "recv buffer", writable=True)
        self._call(lib.weftRecv, "recv", s.ptr, s.count, s.dtype, peer)
        return s.obj

    # Helpers.
    def _call(self, fn, what, *args):
        handle = self._live()
        _check(fn(*args, handle, None), what, handle)

    @staticmethod
    def _element_bytes(x):
        return x.element_size() if hasattr(x, "element_size") else x.itemsize

    @staticmethod
    def _same(out, s, count, what):
        d = _buffers.as_buffer(out, what, writable=True)
        if d.dtype != s.dtype:
            raise WeftError(f"{what}: its type differs from the input's")
        if d.count != count:
            raise WeftError(f"{what}: {d.count} elements where {count} are needed")
        return d
