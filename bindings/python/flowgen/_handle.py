"""The one lifetime policy for every native object of the package (MLP, GFlowNet, FlowMatcher, Graph,
LinkPredictor, NodeClassifier): one owned handle, used by one thread at a time (the C API's rule),
never from inside its own progress callback, released by close() or a ``with`` block (and, as a last
resort, by the garbage collector)."""
import contextlib
import threading

from . import constants as _c
from ._lib import ProgressFn, get_lib
from .errors import InvalidArgumentError, NullArgumentError


class NativeHandle:
    """Base class owning one handle. Subclasses set ``_free_name`` (the fg_*_free function) and
    ``_kind`` (a name for messages), and call ``_init_handle()`` before creating or loading."""

    _free_name = None
    _kind = "object"

    def _init_handle(self, handle=None):
        self._lock = threading.Lock()
        self._owner = None
        # kept on the object so that __del__ still works during interpreter shutdown
        self._free = getattr(get_lib(), self._free_name)
        self._handle = handle

    @contextlib.contextmanager
    def _use(self):
        """Exclusive access to the live handle."""
        me = threading.get_ident()
        if self._owner == me:
            raise InvalidArgumentError(
                _c.ERR_INVALID_ARGUMENT,
                "this %s is busy on this thread; it cannot be used from its own progress callback"
                % self._kind)
        with self._lock:
            if self._handle is None:
                raise NullArgumentError(_c.ERR_NULL_ARGUMENT, "the %s is closed" % self._kind)
            self._owner = me
            try:
                yield self._handle
            finally:
                self._owner = None

    def close(self):
        """Releases the native object. Idempotent; afterwards every method raises FlowgenError."""
        if threading.get_ident() == getattr(self, "_owner", None):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                       "a %s cannot be closed from its own progress callback" % self._kind)
        lock = getattr(self, "_lock", None)
        if lock is None:
            return
        with lock:
            handle, self._handle = self._handle, None
            if handle:
                self._free(handle)

    @property
    def closed(self):
        return getattr(self, "_handle", None) is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def __del__(self):
        handle = getattr(self, "_handle", None)
        free = getattr(self, "_free", None)
        if handle and free is not None:
            self._handle = None
            try:
                free(handle)
            except Exception:
                pass


def progress_callback(progress, raised):
    """A C progress callback calling ``progress(step, total, loss)``; a truthy result stops the work.
    An exception inside ``progress`` stops it too and is appended to ``raised`` for the caller to
    re-raise once the C call has returned (nothing is raised through C frames)."""
    if progress is None:
        return ProgressFn()  # NULL
    if not callable(progress):
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                   "progress must be callable or None; got %r" % (progress,))

    def trampoline(step, total, loss, _user_data):
        try:
            return 1 if progress(int(step), int(total), float(loss)) else 0
        except BaseException as error:  # noqa: B902 — re-raised by the caller after the C call
            raised.append(error)
            return 1
    return ProgressFn(trampoline)
