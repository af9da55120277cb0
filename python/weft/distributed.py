"""Registers the torch.distributed backend "weft" (a c10d process group over Weft, CPU tensors):

    import torch.distributed as dist
    import weft.distributed               # registers "weft"
    dist.init_process_group("weft")       # env:// (torchrun's variables), or any init_method

Calls run on the group's own thread in call order (async_op=True returns at once, its Work
completing when Weft's call has returned); failures raise RuntimeError with Weft's message,
naming the rank to blame where there is one.
"""
import torch.distributed as dist

try:
    from . import _c10d
except ImportError as e:
    raise ImportError("weft.distributed: the backend was not built (CMake found no "
                      "libtorch-dev, pybind11-dev or python3-dev): " + str(e)) from e

BACKEND = "weft"

if BACKEND.upper() not in dist.Backend._plugins:
    dist.Backend.register_backend(BACKEND, _c10d.create_process_group)
