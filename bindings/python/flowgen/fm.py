"""FlowMatcher: continuous flow matching inside libflowgen (fg_fm_* of include/flowgen.h).

    >>> import flowgen, numpy as np
    >>> with flowgen.FlowMatcher(dim=2, method="otcfm", seed=42) as fm:
    ...     fm.fit(data, steps=2000)                    # data: [n, 2] float array
    ...     x = fm.sample(1000, seed=0, solver="euler", steps=100)
    ...     logp = fm.log_likelihood(x[:100], solver="dopri5")
    >>> flowgen.w2(x, test_points)                      # exact 2-Wasserstein distance

Time runs from t = 0 (source, N(0, I) unless fit_pairs gave source samples) to t = 1 (data).
"""
import ctypes
import math

import numpy as np

from . import constants as _c
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from .errors import InternalError, ShapeMismatchError, check
from .mlp import _encode_path, _enum, _ptr, _real, _rows, _unsigned

__all__ = ["FlowMatcher", "w2", "METHODS", "SOLVERS", "DIVERGENCES"]

# FG_FM_* values of include/flowgen.h.
from ._sig_fm import (  # noqa: E402 — the FG_FM_* values live beside the signatures
    FM_METHOD_ICFM, FM_METHOD_OTCFM, FM_METHOD_FM, FM_METHOD_SBCFM, FM_METHOD_VP, FM_SOLVER_EULER,
    FM_SOLVER_MIDPOINT, FM_SOLVER_HEUN, FM_SOLVER_RK4, FM_SOLVER_DOPRI5, FM_DIV_EXACT, FM_DIV_HUTCHINSON)

#: Names accepted by FlowMatcher(method=...).
METHODS = {"icfm": FM_METHOD_ICFM, "otcfm": FM_METHOD_OTCFM, "fm": FM_METHOD_FM,
           "sbcfm": FM_METHOD_SBCFM, "vp": FM_METHOD_VP}
#: Names accepted by the ``solver`` arguments.
SOLVERS = {"euler": FM_SOLVER_EULER, "midpoint": FM_SOLVER_MIDPOINT, "heun": FM_SOLVER_HEUN,
           "rk4": FM_SOLVER_RK4, "dopri5": FM_SOLVER_DOPRI5}
#: Names accepted by log_likelihood(divergence=...).
DIVERGENCES = {"exact": FM_DIV_EXACT, "hutchinson": FM_DIV_HUTCHINSON}


def _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps):
    p = lib.fg_fm_default_solver_params()
    p.solver = _enum("solver", solver, SOLVERS)
    if steps is not None:
        p.steps = _unsigned("steps", steps, 32)
    if rtol is not None:
        p.rtol = _real("rtol", rtol)
    if atol is not None:
        p.atol = _real("atol", atol)
    if first_step is not None:
        p.first_step = _real("first_step", first_step)
    if min_step is not None:
        p.min_step = _real("min_step", min_step)
    if max_num_steps is not None:
        p.max_num_steps = _unsigned("max_num_steps", max_num_steps, 32)
    return p


def w2(a, b):
    """Exact 2-Wasserstein distance between equal-size point sets a, b [n, dim] (n <= 5000), uniform
    weights (fg_fm_w2: Hungarian assignment on squared Euclidean costs)."""
    a = _rows("a", a)
    b = _rows("b", b)
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH,
                                 "a and b must have the same width; got %s and %s" % (a.shape, b.shape))
    lib = get_lib()
    out = ctypes.c_float(math.nan)
    check(lib.fg_fm_w2(_ptr(a), a.shape[0], _ptr(b), b.shape[0], a.shape[1], ctypes.byref(out)), lib)
    return float(out.value)


class FlowMatcher(NativeHandle):
    """A velocity MLP v(x, t) trained by conditional flow matching, sampled with an ODE solver.

    Args:
        dim: data dimension (1 ... 65536).
        method: "icfm", "otcfm" (exact minibatch OT), "fm" (Lipman, sigma = sigma_min), "sbcfm"
            (Schrödinger-bridge noise, entropic OT; sigma > 0), "vp" (trigonometric); or FG_FM_METHOD_*.
        sigma, hidden_width, hidden_layers, activation (FG_ACT names as in MLP), learning_rate,
        weight_decay, grad_clip_norm, batch_size, seed: as fg_fm_params. None = library default
        (otcfm, sigma 0.1, 3 x 64 SELU, AdamW 1e-3 / 1e-5, batch 256, seed 0).

    One thread at a time uses a FlowMatcher; release it with close() or a ``with`` block.
    """

    _free_name = "fg_fm_free"
    _kind = "FlowMatcher"

    def __init__(self, dim=2, *, method=None, sigma=None, hidden_width=None, hidden_layers=None,
                 activation=None, learning_rate=None, weight_decay=None, grad_clip_norm=None,
                 batch_size=None, seed=None):
        self._init_handle()
        lib = get_lib()
        params = lib.fg_fm_default_params()
        params.dim = _unsigned("dim", dim, 32)
        if method is not None:
            params.method = _enum("method", method, METHODS)
        if activation is not None:
            params.activation = _enum("activation", activation, _c.ACTIVATIONS)
        for name, value in (("hidden_width", hidden_width), ("hidden_layers", hidden_layers),
                            ("batch_size", batch_size)):
            if value is not None:
                setattr(params, name, _unsigned(name, value, 32))
        for name, value in (("sigma", sigma), ("learning_rate", learning_rate),
                            ("weight_decay", weight_decay), ("grad_clip_norm", grad_clip_norm)):
            if value is not None:
                setattr(params, name, _real(name, value))
        if seed is not None:
            params.seed = _unsigned("seed", seed, 64)
        out = ctypes.c_void_p()
        check(lib.fg_fm_create(ctypes.byref(params), ctypes.byref(out)), lib)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_fm_create returned FG_OK and a NULL handle")
        self._handle = out.value

    @classmethod
    def load(cls, path):
        """A FlowMatcher read from a checkpoint written by save()."""
        lib = get_lib()
        raw = _encode_path(path)
        out = ctypes.c_void_p()
        check(lib.fg_fm_load(raw, ctypes.byref(out)), lib)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_fm_load returned FG_OK and a NULL handle")
        model = cls.__new__(cls)
        model._init_handle(out.value)
        return model

    # -- lifetime ----------------------------------------------------------------------------------

    def __repr__(self):
        if self.closed:
            return "<flowgen.FlowMatcher (closed)>"
        return "<flowgen.FlowMatcher dim %d, step %d>" % (self.dim, self.step)

    @property
    def dim(self):
        with self._use() as handle:
            return int(get_lib().fg_fm_dim(handle))

    @property
    def step(self):
        """Optimizer steps taken so far (kept by save/load)."""
        with self._use() as handle:
            return int(get_lib().fg_fm_step(handle))

    # -- work --------------------------------------------------------------------------------------

    def fit(self, data, steps, progress=None):
        """Trains ``steps`` AdamW steps towards data [n, dim] from a N(0, I) source; returns the last
        loss. ``progress(step, total, loss)`` returning a truthy value stops training
        (FlowgenError FG_ERR_CANCELLED; steps done are kept)."""
        steps = _unsigned("steps", steps, 32)
        data = _rows("data", data)
        return self._fit(lambda lib, h, cb, loss: lib.fg_fm_fit(
            h, _ptr(data), data.shape[0], data.shape[1], steps, cb, None, loss), progress)

    def fit_pairs(self, source, target, steps, progress=None):
        """Trains from source samples [m, dim] to target samples [n, dim] (e.g. moons -> 8 Gaussians)."""
        steps = _unsigned("steps", steps, 32)
        source = _rows("source", source)
        target = _rows("target", target)
        if source.shape[1] != target.shape[1]:
            raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "source and target widths differ: %s vs %s"
                                     % (source.shape, target.shape))
        return self._fit(lambda lib, h, cb, loss: lib.fg_fm_fit_pairs(
            h, _ptr(source), source.shape[0], _ptr(target), target.shape[0], target.shape[1], steps,
            cb, None, loss), progress)

    def _fit(self, call, progress):
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        raised = []
        callback = progress_callback(progress, raised)
        with self._use() as handle:
            status = call(lib, handle, callback, ctypes.byref(loss))
            if raised:
                raise raised[0]
            check(status, lib)
        return float(loss.value)

    def sample(self, n, seed=0, solver="euler", steps=100, rtol=None, atol=None, first_step=None,
               min_step=None, max_num_steps=None, return_nfe=False):
        """n samples [n, dim] (float32): x0 ~ N(0, I) from ``seed`` integrated from t = 0 to 1.
        With return_nfe, returns (samples, number of velocity evaluations)."""
        n = _unsigned("n", n, 64)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps)
        with self._use() as handle:
            dim = int(lib.fg_fm_dim(handle))
            dst = np.empty((n, dim), dtype=np.float32)
            written, nfe = ctypes.c_size_t(0), ctypes.c_uint32(0)
            check(lib.fg_fm_sample(handle, n, seed, ctypes.byref(sp), _ptr(dst), dst.size,
                                   ctypes.byref(written), ctypes.byref(nfe)), lib)
        return (dst, int(nfe.value)) if return_nfe else dst

    def transport(self, x, reverse=False, solver="euler", steps=100, rtol=None, atol=None,
                  first_step=None, min_step=None, max_num_steps=None, return_nfe=False):
        """Pushes points x [n, dim] through the flow, t = 0 -> 1 (or 1 -> 0 with reverse=True)."""
        x = _rows("x", x)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps)
        dst = np.empty(x.shape, dtype=np.float32)
        written, nfe = ctypes.c_size_t(0), ctypes.c_uint32(0)
        with self._use() as handle:
            check(lib.fg_fm_transport(handle, _ptr(x), x.shape[0], x.shape[1], 1 if reverse else 0,
                                      ctypes.byref(sp), _ptr(dst), dst.size, ctypes.byref(written),
                                      ctypes.byref(nfe)), lib)
        return (dst, int(nfe.value)) if return_nfe else dst

    def log_likelihood(self, x, divergence="exact", n_probes=1, seed=0, solver="dopri5", steps=100,
                       rtol=None, atol=None, first_step=None, min_step=None, max_num_steps=None,
                       return_nfe=False):
        """log p(x) [n] (natural log) of each row of x [n, dim] under the model (N(0, I) source),
        by the instantaneous change of variables; divergence "exact" or "hutchinson"."""
        x = _rows("x", x)
        div = _enum("divergence", divergence, DIVERGENCES)
        n_probes = _unsigned("n_probes", n_probes, 32)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps)
        dst = np.empty(x.shape[0], dtype=np.float32)
        written, nfe = ctypes.c_size_t(0), ctypes.c_uint32(0)
        with self._use() as handle:
            check(lib.fg_fm_log_likelihood(handle, _ptr(x), x.shape[0], x.shape[1], ctypes.byref(sp),
                                           div, n_probes, seed, _ptr(dst), dst.size,
                                           ctypes.byref(written), ctypes.byref(nfe)), lib)
        return (dst, int(nfe.value)) if return_nfe else dst

    def save(self, path):
        """Writes a safetensors checkpoint (weights, options, AdamW state, step, RNG) atomically."""
        raw = _encode_path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_fm_save(handle, raw), lib)
