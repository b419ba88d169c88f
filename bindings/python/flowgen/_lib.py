"""Loading libflowgen.so and declaring the C signatures of include/flowgen.h for ctypes.

Every function of the header appears in ``SIGNATURES`` (name -> (restype, argtypes)); the loader
applies them all and refuses a library that lacks one. Handles are ``c_void_p`` both ways: ctypes'
default ``int`` return type would truncate 64-bit pointers.

Search order of the library (the first that exists and loads wins):
  1. ``$FLOWGEN_LIBRARY`` (full path to the .so);
  2. a copy inside this package: ``flowgen/lib/libflowgen.so*``;
  3. the repository's build folder: ``build/lib/libflowgen.so`` in this file's folder or any parent
     (``scripts/build-lib.sh`` writes it there);
  4. the system loader: ``ctypes.util.find_library("flowgen")``, then ``libflowgen.so.0``.
"""
import ctypes
import ctypes.util
import glob
import os
import threading

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_float, c_int32, c_size_t,
                    c_uint32, c_uint64, c_void_p)

__all__ = ["LibraryNotFoundError", "MLPParams", "ProgressFn", "SIGNATURES", "get_lib",
           "library_path", "candidate_paths"]

ENV_VAR = "FLOWGEN_LIBRARY"


class LibraryNotFoundError(ImportError):
    """libflowgen.so could not be found or loaded; the message lists every place tried."""


class MLPParams(Structure):
    """Mirror of ``fg_mlp_params`` (field order, widths and natural alignment as in the header)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("activation", c_uint32),
        ("task", c_uint32),
        ("optimizer", c_uint32),
        ("seed", c_uint64),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("grad_clip_norm", c_float),
        ("batch_size", c_uint32),
    ]


#: ``typedef int32_t (*fg_progress_fn)(uint64_t step, uint64_t total, float loss, void *user_data)``
ProgressFn = CFUNCTYPE(c_int32, c_uint64, c_uint64, c_float, c_void_p)

_float_p = POINTER(c_float)
_size_p = POINTER(c_size_t)
_handle = c_void_p           # fg_mlp * / const fg_mlp *
_handle_out = POINTER(c_void_p)  # fg_mlp **
_status = c_int32            # fg_status

#: name -> (restype, argtypes), one entry per function declared in include/flowgen.h.
SIGNATURES = {
    "fg_last_error": (c_char_p, []),
    "fg_status_str": (c_char_p, [_status]),
    "fg_version_string": (c_char_p, []),
    "fg_version_number": (c_uint32, []),
    "fg_set_num_threads": (_status, [c_int32]),
    "fg_get_num_threads": (c_int32, []),
    "fg_blas_core_name": (c_char_p, []),
    "fg_mlp_default_params": (MLPParams, []),
    "fg_mlp_create": (_status, [POINTER(c_uint32), c_size_t, POINTER(MLPParams), _handle_out]),
    "fg_mlp_free": (None, [_handle]),
    "fg_mlp_fit": (_status, [_handle, _float_p, c_size_t, c_size_t, _float_p, c_size_t, c_uint32,
                             ProgressFn, c_void_p, _float_p]),
    "fg_mlp_predict": (_status, [_handle, _float_p, c_size_t, c_size_t, _float_p, c_size_t,
                                 _size_p]),
    "fg_mlp_evaluate": (_status, [_handle, _float_p, c_size_t, c_size_t, _float_p, c_size_t,
                                  _float_p, _float_p]),
    "fg_mlp_input_dim": (c_size_t, [_handle]),
    "fg_mlp_output_dim": (c_size_t, [_handle]),
    "fg_mlp_parameter_count": (c_size_t, [_handle]),
    "fg_mlp_step": (c_uint64, [_handle]),
    "fg_mlp_save": (_status, [_handle, c_char_p]),
    "fg_mlp_load": (_status, [c_char_p, _handle_out]),
}

# Each model family declares its functions in its own module (_sig_<family>.py) so that the families'
# bindings can grow independently; they are merged here so the loader checks one complete table.
from ._sig_gfn import SIGNATURES as _GFN_SIGNATURES  # noqa: E402
from ._sig_fm import SIGNATURES as _FM_SIGNATURES  # noqa: E402
from ._sig_graph import SIGNATURES as _GRAPH_SIGNATURES  # noqa: E402

for _family in (_GFN_SIGNATURES, _FM_SIGNATURES, _GRAPH_SIGNATURES):
    SIGNATURES.update(_family)


def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def _repo_build_candidates():
    """build/lib/libflowgen.so in this package's folder and every parent folder."""
    found = []
    folder = _package_dir()
    while True:
        found.append(os.path.join(folder, "build", "lib", "libflowgen.so"))
        parent = os.path.dirname(folder)
        if parent == folder:
            return found
        folder = parent


def _iter_candidates():
    env = os.environ.get(ENV_VAR)
    yield "$" + ENV_VAR, env or None
    bundled = sorted(glob.glob(os.path.join(_package_dir(), "lib", "libflowgen.so*")))
    if bundled:
        for path in bundled:
            yield "package copy", path
    else:
        yield "package copy", os.path.join(_package_dir(), "lib", "libflowgen.so*")
    builds = [path for path in _repo_build_candidates() if os.path.exists(path)]
    for path in builds:
        yield "repository build", path
    if not builds:
        yield ("repository build (build/lib/libflowgen.so in %s or a parent folder)"
               % _package_dir(), None)
    # find_library runs ldconfig: only reached when nothing above worked.
    yield "ctypes.util.find_library('flowgen')", ctypes.util.find_library("flowgen")
    yield "system loader", "libflowgen.so.0"


def candidate_paths():
    """The search list as (description, path-or-name-or-None) pairs, in order."""
    return list(_iter_candidates())


def _declare(lib):
    missing = []
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            function = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        function.restype = restype
        function.argtypes = argtypes
    return missing


_lock = threading.Lock()
_lib = None
_lib_path = None


def _load():
    tried = []
    explicit = "$" + ENV_VAR
    for description, path in _iter_candidates():
        if path is None:
            tried.append("%s: %s" % (description, "not set" if description == explicit
                                                       else "not found"))
            continue
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s (no such file)" % (description, path))
            if description == explicit:
                break  # an explicit choice that fails must not silently fall back
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as error:
            tried.append("%s: %s (%s)" % (description, path, error))
            if description == explicit:
                break
            continue
        missing = _declare(lib)
        if missing:
            raise LibraryNotFoundError(
                "%s (%s) lacks functions of flowgen.h: %s; the library and the Python package "
                "are from different versions" % (path, description, ", ".join(missing)))
        return lib, path
    raise LibraryNotFoundError(
        "libflowgen.so not found. Build it with scripts/build-lib.sh, or set %s to its full "
        "path. Tried, in order:\n  " % ENV_VAR + "\n  ".join(tried))


def get_lib():
    """The loaded library with every signature declared (loaded on first use, then cached)."""
    global _lib, _lib_path
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib, _lib_path = _load()
    return _lib


def library_path():
    """Path (or loader name) of the library in use; loads it if needed."""
    get_lib()
    return _lib_path
