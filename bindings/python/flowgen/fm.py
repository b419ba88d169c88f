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

__all__ = ["FlowMatcher", "w2", "METHODS", "SOLVERS", "DIVERGENCES", "GUIDANCE_CONVENTIONS"]

# FG_FM_* values of include/flowgen.h.
from ._sig_fm import (  # noqa: E402 — the FG_FM_* values live beside the signatures
    FM_METHOD_ICFM, FM_METHOD_OTCFM, FM_METHOD_FM, FM_METHOD_SBCFM, FM_METHOD_VP, FM_METHOD_VP_BETA,
    FM_SOLVER_EULER, FM_SOLVER_MIDPOINT, FM_SOLVER_HEUN, FM_SOLVER_RK4, FM_SOLVER_DOPRI5, FM_DIV_EXACT,
    FM_DIV_HUTCHINSON, FM_GUIDANCE_INTERPOLATE, FM_GUIDANCE_SCALED, CostGradientFn, SamplerFn)

#: Names accepted by FlowMatcher(method=...).
METHODS = {"icfm": FM_METHOD_ICFM, "otcfm": FM_METHOD_OTCFM, "fm": FM_METHOD_FM,
           "sbcfm": FM_METHOD_SBCFM, "vp": FM_METHOD_VP, "vp_beta": FM_METHOD_VP_BETA}
#: Names accepted by sample(guidance_convention=...): "interpolate" v = v_u + w (v_c - v_u) (w = 1 is
#: the conditional field), "scaled" v = (1 + w) v_c - w v_u (w = 0 is the conditional field).
GUIDANCE_CONVENTIONS = {"interpolate": FM_GUIDANCE_INTERPOLATE, "scaled": FM_GUIDANCE_SCALED}
#: Names accepted by the ``solver`` arguments.
SOLVERS = {"euler": FM_SOLVER_EULER, "midpoint": FM_SOLVER_MIDPOINT, "heun": FM_SOLVER_HEUN,
           "rk4": FM_SOLVER_RK4, "dopri5": FM_SOLVER_DOPRI5}
#: Names accepted by log_likelihood(divergence=...).
DIVERGENCES = {"exact": FM_DIV_EXACT, "hutchinson": FM_DIV_HUTCHINSON}


def _labels(name, labels, n):
    """int32 copy of a 1-D integer label array of length n."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "%s must have shape (%d,), got %s" % (name, n, arr.shape))
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError("%s must hold integers, got %s" % (name, arr.dtype))
    if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
        raise ValueError("%s do not fit int32" % name)
    return np.ascontiguousarray(arr, dtype=np.int32)


def _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps, times=None):
    p = lib.fg_fm_default_solver_params()
    if times is not None:  # a time grid (e.g. step_schedule()); the array is kept alive with the struct
        grid = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
        p._time_grid = grid
        p.time_grid = grid.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        p.time_grid_len = _unsigned("len(times)", grid.size, 32)
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


def _fill_from_callback(produce, name, dst, n_rows, dim, raised, message, message_len):
    """Body of a native callback that fills dst [n_rows, dim] with ``produce()``: 0 on success; otherwise the
    exception is kept in ``raised`` (re-raised after the native call returns), its text written to message,
    and 1 returned."""
    try:
        values = np.asarray(produce(), dtype=np.float32)
        if values.shape != (n_rows, dim):
            raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "%s returned shape %s, expected %s"
                                     % (name, values.shape, (n_rows, dim)))
        ctypes.memmove(dst, np.ascontiguousarray(values).ctypes.data, values.nbytes)
        return 0
    except BaseException as error:  # noqa: BLE001 — re-raised after the native call returns
        raised.append(error)
        text = ("%s: %s" % (type(error).__name__, error)).encode("utf-8", "replace")[:max(message_len - 1, 0)]
        ctypes.memmove(message, text, len(text))
        return 1


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
            (Schrödinger-bridge noise, entropic OT; sigma > 0), "vp" (trigonometric), "vp-beta" (score-SDE
            VP path with linear beta(s) = beta_min + s (beta_max - beta_min), s = 1 - t); or FG_FM_METHOD_*.
        sigma, hidden_width, hidden_layers, activation (FG_ACT names as in MLP), learning_rate,
        weight_decay, grad_clip_norm, batch_size, seed, beta_min, beta_max: as fg_fm_params.
        num_classes: > 0 makes a class-conditional model (fit(data, labels=...), sample(labels=...,
            guidance=...)); OT-CFM then pairs only within classes. label_dropout: probability that a
            training label is dropped (trains the unconditional branch of classifier-free guidance).
        None = library default (otcfm, sigma 0.1, 3 x 64 SELU, AdamW 1e-3 / 1e-5, batch 256, seed 0,
        unconditional, label dropout 0.1, beta 0.1 ... 20).

    One thread at a time uses a FlowMatcher; release it with close() or a ``with`` block.
    """

    _free_name = "fg_fm_free"
    _kind = "FlowMatcher"

    def __init__(self, dim=2, *, method=None, sigma=None, hidden_width=None, hidden_layers=None,
                 activation=None, learning_rate=None, weight_decay=None, grad_clip_norm=None,
                 batch_size=None, seed=None, num_classes=None, label_dropout=None, beta_min=None,
                 beta_max=None):
        self._init_handle()
        lib = get_lib()
        params = lib.fg_fm_default_params()
        params.dim = _unsigned("dim", dim, 32)
        if method is not None:
            params.method = _enum("method", method, METHODS)
        if activation is not None:
            params.activation = _enum("activation", activation, _c.ACTIVATIONS)
        for name, value in (("hidden_width", hidden_width), ("hidden_layers", hidden_layers),
                            ("batch_size", batch_size), ("num_classes", num_classes)):
            if value is not None:
                setattr(params, name, _unsigned(name, value, 32))
        for name, value in (("sigma", sigma), ("learning_rate", learning_rate),
                            ("weight_decay", weight_decay), ("grad_clip_norm", grad_clip_norm),
                            ("label_dropout", label_dropout), ("beta_min", beta_min), ("beta_max", beta_max)):
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
    def num_classes(self):
        """Classes of a conditional model (0 = unconditional)."""
        with self._use() as handle:
            return int(get_lib().fg_fm_num_classes(handle))

    @property
    def step(self):
        """Optimizer steps taken so far (kept by save/load)."""
        with self._use() as handle:
            return int(get_lib().fg_fm_step(handle))

    # -- work --------------------------------------------------------------------------------------

    def fit(self, data, steps, progress=None, labels=None):
        """Trains ``steps`` AdamW steps towards data [n, dim] from a N(0, I) source; returns the last
        loss. ``progress(step, total, loss)`` returning a truthy value stops training
        (FlowgenError FG_ERR_CANCELLED; steps done are kept). Class-conditional models need
        ``labels`` [n] (integers in 0 ... num_classes - 1)."""
        steps = _unsigned("steps", steps, 32)
        data = _rows("data", data)
        if labels is None:
            return self._fit(lambda lib, h, cb, loss: lib.fg_fm_fit(
                h, _ptr(data), data.shape[0], data.shape[1], steps, cb, None, loss), progress)
        labels = _labels("labels", labels, data.shape[0])
        return self._fit(lambda lib, h, cb, loss: lib.fg_fm_fit_labeled(
            h, _ptr(data), labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), data.shape[0],
            data.shape[1], steps, cb, None, loss), progress)

    def fit_npy(self, path, steps, progress=None):
        """Trains on the [n, dim] array of a .npy file (float32/float64), read by the library."""
        steps = _unsigned("steps", steps, 32)
        raw = _encode_path(path)
        return self._fit(lambda lib, h, cb, loss: lib.fg_fm_fit_npy(h, raw, steps, cb, None, loss), progress)

    def fit_sampler(self, sampler, steps, progress=None):
        """Trains on batches drawn by ``sampler(n_rows, dim)`` -> array [n_rows, dim] each step. If the
        sampler raises (or returns a wrong shape / non-finite values), training stops and is undone
        completely (weights, optimizer, step, random state) and the error is re-raised."""
        steps = _unsigned("steps", steps, 32)
        raised = []

        def fill(batch, n_rows, dim, _user, message, message_len):
            return _fill_from_callback(lambda: sampler(int(n_rows), int(dim)), "sampler", batch, n_rows, dim,
                                       raised, message, message_len)

        callback = SamplerFn(fill)
        loss = self._fit(lambda lib, h, cb, out: lib.fg_fm_fit_sampler(h, callback, None, steps, cb, None, out),
                         progress, raised)
        return loss

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

    def _fit(self, call, progress, raised=None):
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        raised = [] if raised is None else raised
        callback = progress_callback(progress, raised)
        with self._use() as handle:
            status = call(lib, handle, callback, ctypes.byref(loss))
            if raised:
                raise raised[0]
            check(status, lib)
        return float(loss.value)

    def sample(self, n, seed=0, solver="euler", steps=100, rtol=None, atol=None, first_step=None,
               min_step=None, max_num_steps=None, return_nfe=False, labels=None, guidance=None,
               guidance_convention="interpolate", times=None):
        """n samples [n, dim] (float32): x0 ~ N(0, I) from ``seed`` integrated from t = 0 to 1.
        With return_nfe, returns (samples, number of velocity evaluations). ``times``: an increasing time
        grid from 0 to 1 for the fixed-step solvers instead of ``steps`` equal steps (e.g. step_schedule()).

        Class-conditional models: ``labels`` (one int or n ints; -1 = no label) select the field;
        ``guidance`` w applies classifier-free guidance in ``guidance_convention``: "interpolate"
        v = v_u + w (v_c - v_u) (default w = 1: plain conditional) or "scaled" v = (1 + w) v_c - w v_u
        (default w = 0)."""
        n = _unsigned("n", n, 64)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps, times)
        convention = _enum("guidance_convention", guidance_convention, GUIDANCE_CONVENTIONS)
        if labels is None and guidance is not None:
            raise ValueError("guidance needs labels")
        if labels is not None:
            labels = np.full(n, labels, dtype=np.int32) if np.isscalar(labels) else _labels("labels", labels, n)
            if guidance is None:
                guidance = 1.0 if convention == FM_GUIDANCE_INTERPOLATE else 0.0
            guidance = _real("guidance", guidance)
        with self._use() as handle:
            dim = int(lib.fg_fm_dim(handle))
            dst = np.empty((n, dim), dtype=np.float32)
            written, nfe = ctypes.c_size_t(0), ctypes.c_uint32(0)
            if labels is None:
                check(lib.fg_fm_sample(handle, n, seed, ctypes.byref(sp), _ptr(dst), dst.size,
                                       ctypes.byref(written), ctypes.byref(nfe)), lib)
            else:
                check(lib.fg_fm_sample_guided(handle, n, labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                              guidance, convention, seed, ctypes.byref(sp), _ptr(dst),
                                              dst.size, ctypes.byref(written), ctypes.byref(nfe)), lib)
        return (dst, int(nfe.value)) if return_nfe else dst

    def sample_cost_guided(self, n, cost_gradient, scale, seed=0, solver="euler", steps=100, rtol=None, atol=None,
                           times=None, return_nfe=False):
        """n samples steered by a differentiable cost L without retraining (FlowChef-style): the solver follows
        v(x, t) - scale * cost_gradient(x1_hat) with x1_hat = x + (1 - t) v(x, t), the endpoint the straight
        I-CFM/OT-CFM paths predict. ``cost_gradient(x1_hat)`` gets float32 [n, dim] and returns dL/dx1 of the same
        shape. If it raises (or returns a wrong shape), sampling stops and the error is re-raised."""
        n = _unsigned("n", n, 64)
        seed = _unsigned("seed", seed, 64)
        scale = _real("scale", scale)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, None, None, None, times)
        raised = []

        def gradient(x1, n_rows, dim, grad, _user, message, message_len):
            return _fill_from_callback(lambda: cost_gradient(np.ctypeslib.as_array(x1, shape=(n_rows, dim)).copy()),
                                       "cost_gradient", grad, n_rows, dim, raised, message, message_len)

        callback = CostGradientFn(gradient)
        with self._use() as handle:
            dst = np.empty((n, int(lib.fg_fm_dim(handle))), dtype=np.float32)
            written, nfe = ctypes.c_size_t(0), ctypes.c_uint32(0)
            status = lib.fg_fm_sample_cost_guided(handle, n, seed, scale, callback, None, ctypes.byref(sp), _ptr(dst),
                                                  dst.size, ctypes.byref(written), ctypes.byref(nfe))
            if raised:
                raise raised[0]
            check(status, lib)
        return (dst, int(nfe.value)) if return_nfe else dst

    def transport(self, x, reverse=False, solver="euler", steps=100, rtol=None, atol=None,
                  first_step=None, min_step=None, max_num_steps=None, return_nfe=False, times=None):
        """Pushes points x [n, dim] through the flow, t = 0 -> 1 (or 1 -> 0 with reverse=True; ``times``,
        increasing from 0 to 1, is then walked backwards)."""
        x = _rows("x", x)
        lib = get_lib()
        sp = _solver_params(lib, solver, steps, rtol, atol, first_step, min_step, max_num_steps, times)
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

    def step_schedule(self, steps, fine_steps=100, n_calibration=256, seed=0, return_costs=False):
        """BOSS's Bellman step schedule for Euler sampling: ``steps`` + 1 times (float64, 0 to 1) chosen by
        dynamic programming against a ``fine_steps`` Euler reference from ``n_calibration`` source points.
        Use as ``sample(..., solver="euler", times=schedule)``. With return_costs, returns (times, cost,
        cost of equal steps or nan)."""
        steps = _unsigned("steps", steps, 32)
        fine_steps = _unsigned("fine_steps", fine_steps, 32)
        n_calibration = _unsigned("n_calibration", n_calibration, 64)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        times = np.empty(max(steps, 0) + 1, dtype=np.float64)
        cost, uniform = ctypes.c_double(float("nan")), ctypes.c_double(float("nan"))
        with self._use() as handle:
            check(lib.fg_fm_step_schedule(handle, steps, fine_steps, n_calibration, seed,
                                          times.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), times.size,
                                          ctypes.byref(cost), ctypes.byref(uniform)), lib)
        return (times, cost.value, uniform.value) if return_costs else times

    def straighten(self, times, steps, n_trajectories=4096, fine_steps=100, seed=0, progress=None):
        """BOSS's second phase: fine-tunes the field (``steps`` AdamW steps) so that Euler on the schedule
        ``times`` (e.g. step_schedule()) reproduces the current model's own fine Euler trajectories from
        ``n_trajectories`` N(0, I) points. Call it once with all the steps needed: a second call takes the
        straightened weights as its new reference. Returns the last loss; progress(step, total, loss) returning a
        truthy value stops (FG_ERR_CANCELLED)."""
        grid = np.ascontiguousarray(times, dtype=np.float64).reshape(-1)
        steps = _unsigned("steps", steps, 32)
        n_trajectories = _unsigned("n_trajectories", n_trajectories, 64)
        fine_steps = _unsigned("fine_steps", fine_steps, 32)
        seed = _unsigned("seed", seed, 64)
        return self._fit(lambda lib, handle, callback, loss: lib.fg_fm_straighten(
            handle, grid.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), grid.size, steps, n_trajectories, fine_steps,
            seed, callback, None, loss), progress)

    def save(self, path):
        """Writes a safetensors checkpoint (weights, options, AdamW state, step, RNG) atomically."""
        raw = _encode_path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_fm_save(handle, raw), lib)
