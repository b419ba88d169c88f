"""flowgen.MAF: masked autoregressive flows (fg_maf_*), densities with an exact log-likelihood.

    flow = flowgen.MAF(dim=2, blocks=5)
    flow.fit(data, steps=2000)           # Adam on the mean negative log-likelihood
    logp = flow.log_prob(x)              # exact log p(x), natural log, float32 [n]
    samples = flow.sample(1000, seed=0)  # float32 [1000, 2]
"""
import ctypes

import numpy as np

from . import constants as _c
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from .errors import InternalError, check
from .mlp import _encode_path, _ptr, _real, _rows, _unsigned

__all__ = ["MAF"]


class MAF(NativeHandle):
    """A masked autoregressive flow (Papamakarios et al. 2017) of ``blocks`` MADE layers onto N(0, I).
    Options left as None take the library defaults (fg_maf_default_params): blocks 5, hidden_width 64,
    hidden_layers 2, batch_size 256, learning_rate 1e-3, seed 0, log_scale_bound 8."""

    _free_name = "fg_maf_free"
    _kind = "masked autoregressive flow"

    def __init__(self, dim=2, *, blocks=None, hidden_width=None, hidden_layers=None, batch_size=None,
                 learning_rate=None, seed=None, log_scale_bound=None):
        lib = get_lib()
        params = lib.fg_maf_default_params()
        params.dim = _unsigned("dim", dim, 32)
        for name, value in (("blocks", blocks), ("hidden_width", hidden_width), ("hidden_layers", hidden_layers),
                            ("batch_size", batch_size)):
            if value is not None:
                setattr(params, name, _unsigned(name, value, 32))
        for name, value in (("learning_rate", learning_rate), ("log_scale_bound", log_scale_bound)):
            if value is not None:
                setattr(params, name, _real(name, value))
        if seed is not None:
            params.seed = _unsigned("seed", seed, 64)
        out = ctypes.c_void_p()
        check(lib.fg_maf_create(ctypes.byref(params), ctypes.byref(out)), lib)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_maf_create returned FG_OK and a NULL handle")
        self._init_handle(out.value)

    @classmethod
    def load(cls, path):
        """A flow read from a checkpoint written by save()."""
        lib = get_lib()
        out = ctypes.c_void_p()
        check(lib.fg_maf_load(_encode_path(path), ctypes.byref(out)), lib)
        flow = cls.__new__(cls)
        flow._init_handle(out.value)
        return flow

    @property
    def dim(self):
        with self._use() as handle:
            return int(get_lib().fg_maf_dim(handle))

    @property
    def step(self):
        """Adam steps taken so far."""
        with self._use() as handle:
            return int(get_lib().fg_maf_step(handle))

    def fit(self, data, steps, progress=None):
        """Trains `steps` Adam steps on data [n, dim]; returns the last loss (mean NLL in nats).
        progress(step, total, loss) returning a truthy value stops (FG_ERR_CANCELLED)."""
        x = _rows("data", data)
        steps = _unsigned("steps", steps, 32)
        lib = get_lib()
        loss = ctypes.c_float(float("nan"))
        raised = []
        callback = progress_callback(progress, raised)
        with self._use() as handle:
            status = lib.fg_maf_fit(handle, _ptr(x), x.shape[0], x.shape[1], steps, callback, None, ctypes.byref(loss))
            if raised:
                raise raised[0]
            check(status, lib)
        return float(loss.value)

    def log_prob(self, x):
        """Exact log p(x) [n] (float32, natural log) of each row of x [n, dim]."""
        x = _rows("x", x)
        lib = get_lib()
        dst = np.empty(x.shape[0], dtype=np.float32)
        written = ctypes.c_size_t(0)
        with self._use() as handle:
            check(lib.fg_maf_log_prob(handle, _ptr(x), x.shape[0], x.shape[1], _ptr(dst), dst.size,
                                      ctypes.byref(written)), lib)
        return dst

    def sample(self, n, seed=0):
        """n samples [n, dim] (float32) from the flow, z ~ N(0, I) drawn from ``seed``."""
        n = _unsigned("n", n, 64)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        with self._use() as handle:
            dst = np.empty((n, int(lib.fg_maf_dim(handle))), dtype=np.float32)
            written = ctypes.c_size_t(0)
            check(lib.fg_maf_sample(handle, n, seed, _ptr(dst), dst.size, ctypes.byref(written)), lib)
        return dst

    def save(self, path):
        """Writes a safetensors checkpoint (weights, options, Adam state, step, RNG) atomically."""
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_maf_save(handle, _encode_path(path)), lib)
