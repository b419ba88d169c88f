"""FlowgenError: a failed flowgen call, with the C status, its name and fg_last_error()'s message.

Each status has its own subclass (``flowgen.errors.ShapeMismatchError`` …) so callers may catch one
kind; argument errors also derive from ``ValueError``. ``FlowgenError.from_status`` picks the class.
"""
from . import constants as _c

__all__ = ["FlowgenError", "NullArgumentError", "InvalidArgumentError", "ShapeMismatchError",
           "BufferTooSmallError", "NonFiniteError", "OutOfRangeError", "UnknownEnumError",
           "StructSizeError", "FlowgenIOError", "CorruptFileError", "CallbackError",
           "CancelledError", "FlowgenMemoryError", "NumericalError", "InternalError",
           "error_class", "check"]


class FlowgenError(Exception):
    """A flowgen call failed.

    Attributes:
        status: the fg_status value (int, e.g. 3).
        status_name: its name from fg_status_str (e.g. "FG_ERR_SHAPE_MISMATCH").
        message: fg_last_error() right after the failure (or the Python-side explanation when the
            argument was rejected before reaching the library).
    """

    def __init__(self, status, message, status_name=None):
        self.status = int(status)
        self.status_name = status_name or _c.STATUS_NAMES.get(self.status, "FG_ERR_UNKNOWN_STATUS")
        self.message = message
        super().__init__("%s: %s" % (self.status_name, message))

    def __reduce__(self):
        return (type(self), (self.status, self.message, self.status_name))

    @staticmethod
    def from_status(status, message, status_name=None):
        """An instance of the subclass matching ``status``."""
        return error_class(status)(status, message, status_name)


class NullArgumentError(FlowgenError, ValueError):
    """FG_ERR_NULL_ARGUMENT (also raised for a closed MLP)."""


class InvalidArgumentError(FlowgenError, ValueError):
    """FG_ERR_INVALID_ARGUMENT."""


class ShapeMismatchError(FlowgenError, ValueError):
    """FG_ERR_SHAPE_MISMATCH."""


class BufferTooSmallError(FlowgenError):
    """FG_ERR_BUFFER_TOO_SMALL."""


class NonFiniteError(FlowgenError, ValueError):
    """FG_ERR_NON_FINITE."""


class OutOfRangeError(FlowgenError, ValueError):
    """FG_ERR_OUT_OF_RANGE."""


class UnknownEnumError(FlowgenError, ValueError):
    """FG_ERR_UNKNOWN_ENUM."""


class StructSizeError(FlowgenError):
    """FG_ERR_STRUCT_SIZE."""


class FlowgenIOError(FlowgenError):
    """FG_ERR_IO."""


class CorruptFileError(FlowgenError):
    """FG_ERR_CORRUPT_FILE."""


class CallbackError(FlowgenError):
    """FG_ERR_CALLBACK."""


class CancelledError(FlowgenError):
    """FG_ERR_CANCELLED: a progress callback stopped the work; what was done so far is kept."""


class FlowgenMemoryError(FlowgenError):
    """FG_ERR_OUT_OF_MEMORY."""


class NumericalError(FlowgenError):
    """FG_ERR_NUMERICAL."""


class InternalError(FlowgenError):
    """FG_ERR_INTERNAL: a bug in flowgen."""


_CLASSES = {
    _c.ERR_NULL_ARGUMENT: NullArgumentError,
    _c.ERR_INVALID_ARGUMENT: InvalidArgumentError,
    _c.ERR_SHAPE_MISMATCH: ShapeMismatchError,
    _c.ERR_BUFFER_TOO_SMALL: BufferTooSmallError,
    _c.ERR_NON_FINITE: NonFiniteError,
    _c.ERR_OUT_OF_RANGE: OutOfRangeError,
    _c.ERR_UNKNOWN_ENUM: UnknownEnumError,
    _c.ERR_STRUCT_SIZE: StructSizeError,
    _c.ERR_IO: FlowgenIOError,
    _c.ERR_CORRUPT_FILE: CorruptFileError,
    _c.ERR_CALLBACK: CallbackError,
    _c.ERR_CANCELLED: CancelledError,
    _c.ERR_OUT_OF_MEMORY: FlowgenMemoryError,
    _c.ERR_NUMERICAL: NumericalError,
    _c.ERR_INTERNAL: InternalError,
}


def error_class(status):
    """The FlowgenError subclass for a status (FlowgenError itself for unknown ones)."""
    return _CLASSES.get(int(status), FlowgenError)


def _decode(raw):
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace")


def check(status, lib=None):
    """Raise the FlowgenError for a non-zero status; call right after the failing C function."""
    if status == _c.OK:
        return
    if lib is None:
        from ._lib import get_lib
        lib = get_lib()
    message = _decode(lib.fg_last_error())  # read first: any other call may reset it
    name = _decode(lib.fg_status_str(status))
    raise FlowgenError.from_status(status, message, name)
