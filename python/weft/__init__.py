"""Weft from Python: collectives between processes on numpy arrays and CPU torch tensors.

    import numpy, weft
    with weft.init() as comm:            # started by weft-run, torchrun, mpirun or srun
        x = numpy.full(1024, comm.rank, dtype=numpy.float32)
        comm.all_reduce(x)               # in place: every rank has the sum

Every call blocks until its result is in place. Failures raise WeftError with Weft's message
(the collective, and the rank to blame where there is one). For device tensors under PyTorch,
use the NCCL shim or the torch.distributed backend.
"""
import ctypes

from ._library import UniqueId, lib
from .comm import OPS, Comm
from .errors import WeftError

__all__ = ["Comm", "WeftError", "OPS", "init", "unique_id", "version"]


def init():
    """A communicator from the environment (weftCommInitFromEnv)."""
    return Comm.from_env()


def unique_id():
    """A new unique id (bytes) for Comm.from_unique_id: make it on one rank, ship it to all."""
    uid = UniqueId()
    result = lib.weftGetUniqueId(ctypes.byref(uid))
    if result != 0:
        raise WeftError("weftGetUniqueId: " + (lib.weftGetLastError(None) or b"").decode(),
                        result)
    return bytes(uid)  # all 128 bytes (the field alone would stop at a zero byte)


def version():
    """Weft's version as (major, minor, patch)."""
    v = ctypes.c_int()
    lib.weftGetVersion(ctypes.byref(v))
    return (v.value // 10000, v.value // 100 % 100, v.value % 100)
