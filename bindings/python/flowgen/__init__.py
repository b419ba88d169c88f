"""flowgen: Python bindings (ctypes) for libflowgen.so.

    >>> import flowgen, numpy as np
    >>> with flowgen.MLP([2, 32, 1], activation="tanh", learning_rate=1e-2, seed=1) as model:
    ...     loss = model.fit(x, y, steps=500)
    ...     y_hat = model.predict(x)

The shared library is found through $FLOWGEN_LIBRARY, a copy in flowgen/lib/, the repository's
build/lib/ folder, or the system loader (see flowgen._lib); it is loaded on first use.
"""
from . import constants
from ._lib import LibraryNotFoundError, get_lib as _get_lib, library_path
from .constants import *  # noqa: F401,F403 — FG_* values without the prefix (ERR_IO, ACT_RELU, …)
from .errors import FlowgenError, check as _check
from .mlp import MLP
from .graph import Graph, LinkPredictor, NodeClassifier  # noqa: F401 — graph learning (fg_graph_*, fg_linkpred_*, fg_nodeclass_*)
from .gfn import GFlowNet
from . import gfn_external, gfn_env, gfn_replay, gfn_cond  # noqa: F401,E402 — GFlowNet API extensions (external losses, user environments, replay)
from .fm import FlowMatcher, w2  # noqa: E402
from .maf import MAF  # noqa: E402 — masked autoregressive flows (fg_maf_*)

__version__ = "0.1.0"


def _text(raw):
    return "" if raw is None else raw.decode("utf-8", errors="replace")


def version():
    """Library version "MAJOR.MINOR.PATCH" (fg_version_string)."""
    return _text(_get_lib().fg_version_string())


def version_number():
    """Library version as MAJOR * 10000 + MINOR * 100 + PATCH (fg_version_number)."""
    return int(_get_lib().fg_version_number())


def set_num_threads(num_threads):
    """Sets the number of BLAS threads, process-wide (1 … 1024)."""
    import operator
    try:
        number = operator.index(num_threads)
    except TypeError:
        raise FlowgenError.from_status(constants.ERR_INVALID_ARGUMENT,
                                       "num_threads must be an integer; got %r" % (num_threads,)) from None
    if not -(1 << 31) <= number < (1 << 31):
        raise FlowgenError.from_status(constants.ERR_INVALID_ARGUMENT,
                                       "num_threads must be in 1 ... 1024; got %d" % number)
    lib = _get_lib()
    _check(lib.fg_set_num_threads(number), lib)


def get_num_threads():
    """Number of threads the BLAS backend currently uses."""
    return int(_get_lib().fg_get_num_threads())


def blas_core_name():
    """Name of the BLAS kernel set in use (OpenBLAS core name, e.g. "Haswell")."""
    return _text(_get_lib().fg_blas_core_name())


def status_name(status):
    """Static name of a status code (fg_status_str), e.g. "FG_ERR_IO"."""
    return _text(_get_lib().fg_status_str(int(status)))


__all__ = ["MLP", "GFlowNet", "FlowMatcher", "MAF", "w2", "Graph", "LinkPredictor", "NodeClassifier", "FlowgenError", "LibraryNotFoundError", "version", "version_number",
           "set_num_threads", "get_num_threads", "blas_core_name", "status_name", "library_path",
           "constants"] + [name for name in dir(constants) if name.isupper()]
