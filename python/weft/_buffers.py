"""A numpy array or a CPU torch tensor as the C API sees it: address, element count, type."""
from .errors import WeftError

# weftDataType_t values (include/weft/weft.h; NCCL's).
_NUMPY = {"int8": 0, "uint8": 1, "int32": 2, "uint32": 3, "int64": 4, "uint64": 5,
          "float16": 6, "float32": 7, "float64": 8}
_TORCH = {"torch.int8": 0, "torch.uint8": 1, "torch.int32": 2, "torch.int64": 4,
          "torch.float16": 6, "torch.float32": 7, "torch.float64": 8, "torch.bfloat16": 9,
          "torch.float8_e4m3fn": 10, "torch.float8_e5m2": 11}


class Buffer:
    __slots__ = ("ptr", "count", "dtype", "obj")

    def __init__(self, ptr, count, dtype, obj):
        self.ptr, self.count, self.dtype, self.obj = ptr, count, dtype, obj


def _is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def as_buffer(x, what, writable):
    """Checks `x` (contiguous, a supported type, on the CPU, writable if written) and returns
    its Buffer; a WeftError naming `what` otherwise."""
    if _is_torch(x):
        if x.device.type != "cpu":
            raise WeftError(f"{what}: a tensor on {x.device}: the weft package takes CPU "
                            "tensors (device tensors go through the NCCL shim or the "
                            "torch.distributed backend)")
        if not x.is_contiguous():
            raise WeftError(f"{what}: the tensor is not contiguous (call .contiguous())")
        dtype = _TORCH.get(str(x.dtype))
        if dtype is None:
            raise WeftError(f"{what}: tensors of {x.dtype} are not supported "
                            f"(supported: {', '.join(sorted(_TORCH))})")
        return Buffer(x.data_ptr(), x.numel(), dtype, x)
    try:
        import numpy
    except ImportError:
        numpy = None
    if numpy is not None and isinstance(x, numpy.ndarray):
        if not x.flags["C_CONTIGUOUS"]:
            raise WeftError(f"{what}: the array is not contiguous (numpy.ascontiguousarray)")
        if writable and not x.flags["WRITEABLE"]:
            raise WeftError(f"{what}: the array is read-only")
        dtype = _NUMPY.get(x.dtype.name)
        if dtype is None:
            raise WeftError(f"{what}: arrays of {x.dtype} are not supported "
                            f"(supported: {', '.join(sorted(_NUMPY))})")
        return Buffer(x.ctypes.data, x.size, dtype, x)
    raise WeftError(f"{what}: expected a numpy array or a CPU torch tensor, got "
                    f"{type(x).__name__}")


def empty_like(x, count):
    """A new 1-D buffer of `count` elements of x's type and kind (numpy or torch)."""
    if _is_torch(x):
        import torch
        return torch.empty(count, dtype=x.dtype)
    import numpy
    return numpy.empty(count, dtype=x.dtype)
