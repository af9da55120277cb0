"""Weft's failures as Python exceptions."""


class WeftError(RuntimeError):
    """A Weft call failed, or was refused before the call. `code` is the weftResult_t (0 when
    the package refused the arguments itself); the message is Weft's, which names the
    collective and, where one is to blame, the rank."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code
