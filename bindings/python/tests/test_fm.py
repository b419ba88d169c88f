"""flowgen.FlowMatcher and the raw fg_fm_* functions: training, sampling shapes, W2, likelihood,
save/load, and one misuse test per C function (status + message, handle still usable)."""
import ctypes
import math
import os

import numpy as np
import pytest

import flowgen
from flowgen import constants as C
from flowgen import fm as FM
from flowgen._sig_fm import FMParams, FMSolverParams


def eight_gaussians(n, seed):
    """torchdyn generate_gaussians(n_gaussians=8, radius=5, std=1) as used by the [SF]²M runner."""
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 9, size=n)
    theta = 2 * np.pi * k / 8
    centres = np.stack([5 * np.cos(theta), 5 * np.sin(theta)], axis=1)
    return (centres + rng.normal(size=(n, 2))).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    data = eight_gaussians(4000, 0)
    fm = flowgen.FlowMatcher(2, method="otcfm", seed=42, batch_size=256)
    calls = []
    loss = fm.fit(data, 400, progress=lambda s, t, l: calls.append((s, t, l)) and False)
    assert math.isfinite(loss)
    assert len(calls) == 400 and calls[-1][:2] == (400, 400)
    yield fm
    fm.close()


def _status(call):
    with pytest.raises(flowgen.FlowgenError) as info:
        call()
    assert info.value.message
    return info.value.status


def test_trains_and_w2_beats_untrained(trained):
    test = eight_gaussians(1000, 1)
    with flowgen.FlowMatcher(2, seed=42) as untrained:
        w_untrained = flowgen.w2(untrained.sample(1000, seed=5), test)
    samples, nfe = trained.sample(1000, seed=5, solver="euler", steps=100, return_nfe=True)
    assert samples.shape == (1000, 2) and samples.dtype == np.float32 and nfe == 100
    w = flowgen.w2(samples, test)
    floor = flowgen.w2(eight_gaussians(1000, 2), test)
    assert w_untrained > 3.0
    assert w < 1.2, (w, floor)
    assert w < w_untrained / 3


def test_solvers_and_shapes(trained):
    euler = trained.sample(300, seed=1, solver="euler", steps=100)
    for solver, per_step in (("midpoint", 2), ("heun", 2), ("rk4", 4)):
        x, nfe = trained.sample(300, seed=1, solver=solver, steps=25, return_nfe=True)
        assert x.shape == (300, 2) and nfe == 25 * per_step
        assert np.abs(x - euler).mean() < 0.5
    x, nfe = trained.sample(300, seed=1, solver="dopri5", rtol=1e-5, atol=1e-5, return_nfe=True)
    assert 8 < nfe < 1000 and np.abs(x - euler).mean() < 0.5
    back = trained.transport(x, reverse=True, solver="dopri5", rtol=1e-6, atol=1e-6)
    again = trained.transport(back, solver="dopri5", rtol=1e-6, atol=1e-6)
    assert np.abs(again - x).max() < 1e-2
    assert np.array_equal(trained.sample(10, seed=3), trained.sample(10, seed=3))


def test_log_likelihood_exact_and_hutchinson(trained):
    x = eight_gaussians(64, 3)
    exact, nfe = trained.log_likelihood(x, solver="dopri5", return_nfe=True)
    assert exact.shape == (64,) and np.isfinite(exact).all() and nfe > 8
    hutch = trained.log_likelihood(x, divergence="hutchinson", n_probes=16, seed=1)
    assert abs(float(hutch.mean() - exact.mean())) < 0.3
    # NLL of in-distribution points is far below that of far-away points.
    far = trained.log_likelihood(np.full((4, 2), 20.0, np.float32))
    assert far.max() < exact.mean() - 10
    # The target density (mixture of 8 unit Gaussians) has E[-log p] ≈ 2.84 + log 8 − log 8 ... check a band.
    assert 2.0 < -exact.mean() < 5.0


def test_save_load_identical_samples(trained, tmp_path):
    path = str(tmp_path / "fm.safetensors")
    trained.save(path)
    with flowgen.FlowMatcher.load(path) as copy:
        assert copy.step == trained.step == 400 and copy.dim == 2
        assert np.array_equal(copy.sample(200, seed=9), trained.sample(200, seed=9))


def test_fit_pairs_and_methods():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(512, 2)).astype(np.float32) - 4
    target = rng.normal(size=(512, 2)).astype(np.float32) + 4
    for method in ("icfm", "fm", "sbcfm", "vp"):
        with flowgen.FlowMatcher(2, method=method, sigma=0.5 if method == "sbcfm" else 0.1,
                                 batch_size=64, seed=1) as fm:
            assert math.isfinite(fm.fit(target, 20))
    with flowgen.FlowMatcher(2, method="otcfm", seed=1, batch_size=128) as fm:
        fm.fit_pairs(source, target, 300)
        moved = fm.transport(source[:200])
        assert abs(float(moved.mean()) - 4) < 1.0
        assert _status(lambda: fm.log_likelihood(source[:4])) == C.ERR_INVALID_ARGUMENT


def test_w2_properties():
    a = np.random.default_rng(1).normal(size=(200, 3)).astype(np.float32)
    assert flowgen.w2(a, a) == pytest.approx(0.0, abs=1e-6)
    assert flowgen.w2(a, a + np.float32([3, 0, 4])) == pytest.approx(5.0, abs=1e-4)


# ------------------------------------------------------------------------------------------------
# Misuse of every fg_fm_* function through the raw C API
# ------------------------------------------------------------------------------------------------

F = ctypes.POINTER(ctypes.c_float)
NOCB = flowgen._lib.ProgressFn()  # NULL progress callback


def _f(array):
    return array.ctypes.data_as(F)


@pytest.fixture()
def raw(lib):
    out = ctypes.c_void_p()
    assert lib.fg_fm_create(None, ctypes.byref(out)) == C.OK
    yield out.value
    lib.fg_fm_free(out.value)


def _last(lib):
    return lib.fg_last_error().decode()


def test_misuse_default_params_and_create(lib):
    p = lib.fg_fm_default_params()
    assert p.struct_size == ctypes.sizeof(FMParams) and p.dim == 2 and p.method == FM.FM_METHOD_OTCFM
    assert p.activation == C.ACT_SELU and (p.hidden_width, p.hidden_layers) == (64, 3)
    assert p.learning_rate == pytest.approx(1e-3) and p.weight_decay == pytest.approx(1e-5)
    s = lib.fg_fm_default_solver_params()
    assert s.struct_size == ctypes.sizeof(FMSolverParams) and s.steps == 100
    out = ctypes.c_void_p(1234)
    assert lib.fg_fm_create(ctypes.byref(p), None) == C.ERR_NULL_ARGUMENT
    for field, value, status in (("sigma", -0.1, C.ERR_INVALID_ARGUMENT), ("sigma", math.nan, C.ERR_INVALID_ARGUMENT),
                                 ("dim", 0, C.ERR_INVALID_ARGUMENT), ("method", 99, C.ERR_UNKNOWN_ENUM),
                                 ("activation", 77, C.ERR_UNKNOWN_ENUM), ("struct_size", 3, C.ERR_STRUCT_SIZE),
                                 ("learning_rate", 0.0, C.ERR_INVALID_ARGUMENT), ("batch_size", 0, C.ERR_INVALID_ARGUMENT),
                                 ("hidden_layers", 0, C.ERR_INVALID_ARGUMENT)):
        bad = lib.fg_fm_default_params()
        setattr(bad, field, value)
        out = ctypes.c_void_p(1234)
        assert lib.fg_fm_create(ctypes.byref(bad), ctypes.byref(out)) == status, field
        assert out.value is None and _last(lib)
    sb = lib.fg_fm_default_params()
    sb.method, sb.sigma = FM.FM_METHOD_SBCFM, 0.0
    assert lib.fg_fm_create(ctypes.byref(sb), ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT
    big = lib.fg_fm_default_params()
    big.hidden_width, big.hidden_layers = 65536, 64
    assert lib.fg_fm_create(ctypes.byref(big), ctypes.byref(out)) == C.ERR_OUT_OF_MEMORY
    lib.fg_fm_free(None)


def test_misuse_fit_and_fit_pairs(lib, raw):
    data = np.ones((8, 2), np.float32)
    loss = ctypes.c_float()
    assert lib.fg_fm_fit(None, _f(data), 8, 2, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_fit(raw, None, 8, 2, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_fit(raw, _f(data), 8, 3, 1, NOCB, None, None) == C.ERR_SHAPE_MISMATCH
    assert lib.fg_fm_fit(raw, _f(data), 0, 2, 1, NOCB, None, None) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_fit(raw, _f(data), 8, 2, 0, NOCB, None, None) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_fit(raw, _f(data), 2**62, 2**62, 1, NOCB, None, None) == C.ERR_OUT_OF_MEMORY
    bad = data.copy(); bad[3, 1] = np.nan
    assert lib.fg_fm_fit(raw, _f(bad), 8, 2, 1, NOCB, None, None) == C.ERR_NON_FINITE
    assert "data[7]" in _last(lib)
    stop = flowgen._lib.ProgressFn(lambda s, t, l, u: 1)
    assert lib.fg_fm_fit(raw, _f(data), 8, 2, 5, stop, None, ctypes.byref(loss)) == C.ERR_CANCELLED
    assert lib.fg_fm_step(raw) == 1
    assert lib.fg_fm_fit_pairs(raw, None, 8, _f(data), 8, 2, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_fit_pairs(raw, _f(data), 8, None, 8, 2, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_fit_pairs(raw, _f(data), 8, _f(data), 8, 5, 1, NOCB, None, None) == C.ERR_SHAPE_MISMATCH
    assert lib.fg_fm_fit_pairs(raw, _f(bad), 8, _f(data), 8, 2, 1, NOCB, None, None) == C.ERR_NON_FINITE
    assert lib.fg_fm_fit_pairs(None, _f(data), 8, _f(data), 8, 2, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    # still usable
    assert lib.fg_fm_fit(raw, _f(data), 8, 2, 2, NOCB, None, ctypes.byref(loss)) == C.OK
    assert lib.fg_fm_step(raw) == 3 and math.isfinite(loss.value)


def test_misuse_sample_and_transport(lib, raw):
    n_len, nfe = ctypes.c_size_t(), ctypes.c_uint32()
    dst = np.zeros((10, 2), np.float32)
    assert lib.fg_fm_sample(None, 10, 0, None, _f(dst), 20, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_sample(raw, 10, 0, None, None, 0, ctypes.byref(n_len), None) == C.OK and n_len.value == 20
    assert lib.fg_fm_sample(raw, 10, 0, None, None, 0, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_sample(raw, 10, 0, None, _f(dst), 19, ctypes.byref(n_len), None) == C.ERR_BUFFER_TOO_SMALL
    assert n_len.value == 20
    assert lib.fg_fm_sample(raw, 0, 0, None, _f(dst), 20, None, None) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_sample(raw, 2**40, 0, None, _f(dst), 20, None, None) == C.ERR_OUT_OF_MEMORY
    for field, value, status in (("solver", 9, C.ERR_UNKNOWN_ENUM), ("steps", 0, C.ERR_INVALID_ARGUMENT),
                                 ("rtol", -1.0, C.ERR_INVALID_ARGUMENT), ("atol", math.inf, C.ERR_INVALID_ARGUMENT),
                                 ("struct_size", 1, C.ERR_STRUCT_SIZE), ("first_step", math.nan, C.ERR_INVALID_ARGUMENT),
                                 ("max_num_steps", 0, C.ERR_INVALID_ARGUMENT)):
        sp = lib.fg_fm_default_solver_params()
        setattr(sp, field, value)
        assert lib.fg_fm_sample(raw, 10, 0, ctypes.byref(sp), _f(dst), 20, None, None) == status, field
    both_zero = lib.fg_fm_default_solver_params()
    both_zero.solver, both_zero.rtol, both_zero.atol = FM.FM_SOLVER_DOPRI5, 0.0, 0.0
    assert lib.fg_fm_sample(raw, 10, 0, ctypes.byref(both_zero), _f(dst), 20, None, None) == C.ERR_INVALID_ARGUMENT
    # Step underflow / too many steps are statuses.
    tight = lib.fg_fm_default_solver_params()
    tight.solver, tight.max_num_steps, tight.rtol, tight.atol = FM.FM_SOLVER_DOPRI5, 1, 1e-9, 1e-9
    assert lib.fg_fm_sample(raw, 10, 0, ctypes.byref(tight), _f(dst), 20, None, None) == C.ERR_NUMERICAL
    assert "max_num_steps" in _last(lib)
    assert np.all(dst == 0)  # nothing written on failure
    assert lib.fg_fm_sample(raw, 10, 0, None, _f(dst), 20, ctypes.byref(n_len), ctypes.byref(nfe)) == C.OK
    assert nfe.value == 100 and np.isfinite(dst).all()
    x = np.zeros((10, 2), np.float32)
    assert lib.fg_fm_transport(None, _f(x), 10, 2, 0, None, _f(dst), 20, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_transport(raw, None, 10, 2, 0, None, _f(dst), 20, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_transport(raw, _f(x), 10, 3, 0, None, _f(dst), 30, None, None) == C.ERR_SHAPE_MISMATCH
    assert lib.fg_fm_transport(raw, _f(x), 10, 2, 0, None, _f(dst), 5, ctypes.byref(n_len), None) == C.ERR_BUFFER_TOO_SMALL
    x[0, 0] = np.inf
    assert lib.fg_fm_transport(raw, _f(x), 10, 2, 1, None, _f(dst), 20, None, None) == C.ERR_NON_FINITE


def test_misuse_log_likelihood(lib, raw):
    x = np.zeros((4, 2), np.float32)
    dst = np.zeros(4, np.float32)
    n_len = ctypes.c_size_t()
    assert lib.fg_fm_log_likelihood(None, _f(x), 4, 2, None, 0, 1, 0, _f(dst), 4, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_log_likelihood(raw, None, 4, 2, None, 0, 1, 0, _f(dst), 4, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_log_likelihood(raw, _f(x), 4, 2, None, 7, 1, 0, _f(dst), 4, None, None) == C.ERR_UNKNOWN_ENUM
    assert lib.fg_fm_log_likelihood(raw, _f(x), 4, 2, None, 1, 0, 0, _f(dst), 4, None, None) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_log_likelihood(raw, _f(x), 4, 3, None, 0, 1, 0, _f(dst), 4, None, None) == C.ERR_SHAPE_MISMATCH
    assert lib.fg_fm_log_likelihood(raw, _f(x), 4, 2, None, 0, 1, 0, _f(dst), 3, ctypes.byref(n_len), None) == C.ERR_BUFFER_TOO_SMALL
    assert n_len.value == 4
    assert lib.fg_fm_log_likelihood(raw, _f(x), 4, 2, None, 0, 1, 0, _f(dst), 4, None, None) == C.OK
    assert np.isfinite(dst).all()


def test_misuse_w2(lib):
    a = np.zeros((5, 2), np.float32)
    out = ctypes.c_float()
    assert lib.fg_fm_w2(None, 5, _f(a), 5, 2, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_w2(_f(a), 5, None, 5, 2, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_w2(_f(a), 5, _f(a), 5, 2, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_w2(_f(a), 5, _f(a), 4, 2, ctypes.byref(out)) == C.ERR_SHAPE_MISMATCH
    assert lib.fg_fm_w2(_f(a), 0, _f(a), 0, 2, ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_w2(_f(a), 6000, _f(a), 6000, 1, ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT
    b = a.copy(); b[2, 0] = np.nan
    assert lib.fg_fm_w2(_f(a), 5, _f(b), 5, 2, ctypes.byref(out)) == C.ERR_NON_FINITE
    with pytest.raises(flowgen.FlowgenError):
        flowgen.w2(a, np.zeros((5, 3), np.float32))


def test_misuse_getters_save_load(lib, raw, tmp_path):
    assert lib.fg_fm_dim(None) == 0 and lib.fg_fm_step(None) == 0 and lib.fg_fm_dim(raw) == 2
    assert lib.fg_fm_save(None, b"x") == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_save(raw, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_save(raw, b"") == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_save(raw, b"/nonexistent-dir/x.safetensors") == C.ERR_IO
    out = ctypes.c_void_p(99)
    assert lib.fg_fm_load(None, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and out.value is None
    assert lib.fg_fm_load(b"x", None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_load(b"/nonexistent-file", ctypes.byref(out)) == C.ERR_IO
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}" + b" " * 14)
    assert lib.fg_fm_load(str(junk).encode(), ctypes.byref(out)) == C.ERR_CORRUPT_FILE
    # An MLP checkpoint is not a flow matcher.
    with flowgen.MLP([2, 3, 1]) as mlp:
        mlp.save(str(tmp_path / "mlp.safetensors"))
    assert lib.fg_fm_load(str(tmp_path / "mlp.safetensors").encode(), ctypes.byref(out)) == C.ERR_CORRUPT_FILE
    assert "flow matcher" in _last(lib)
    good = tmp_path / "good.safetensors"
    assert lib.fg_fm_save(raw, str(good).encode()) == C.OK
    assert lib.fg_fm_load(str(good).encode(), ctypes.byref(out)) == C.OK and out.value
    lib.fg_fm_free(out.value)


def test_python_side_validation():
    with pytest.raises(flowgen.FlowgenError):
        flowgen.FlowMatcher(2, method="nope")
    with flowgen.FlowMatcher(2) as fm:
        with pytest.raises(flowgen.FlowgenError):
            fm.sample(10, solver="nope")
        with pytest.raises(flowgen.FlowgenError):
            fm.fit(np.zeros(5, np.float32), 1)
        with pytest.raises(ZeroDivisionError):
            fm.fit(np.zeros((5, 2), np.float32), 3, progress=lambda s, t, l: 1 / 0)
        assert fm.step == 1
    with pytest.raises(flowgen.FlowgenError):
        fm.sample(3)


# ------------------------------------------------------------------------------------------------
# Class conditioning with guidance, the beta-VP method, .npy and sampler data sources
# ------------------------------------------------------------------------------------------------

def two_blobs(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    x = np.stack([np.where(labels == 0, -3.0, 3.0) + 0.5 * rng.normal(size=n), 0.5 * rng.normal(size=n)], 1)
    return x.astype(np.float32), labels


def test_conditional_guided_sampling_moves_samples_to_their_class():
    data, labels = two_blobs(2000, 0)
    with flowgen.FlowMatcher(2, method="otcfm", num_classes=2, label_dropout=0.2, hidden_width=32,
                             hidden_layers=2, batch_size=128, seed=5) as fm:
        assert fm.num_classes == 2
        with pytest.raises(flowgen.FlowgenError):
            fm.fit(data, 10)                                  # labels required
        fm.fit(data, 700, labels=labels)
        left = fm.sample(400, seed=1, steps=20, labels=0, guidance=3.0)
        right = fm.sample(400, seed=1, steps=20, labels=np.ones(400, np.int64), guidance=2.0,
                          guidance_convention="scaled")
        free = fm.sample(400, seed=1, steps=20, labels=-1)
        assert (left[:, 0] < 0).mean() > 0.98 and (right[:, 0] > 0).mean() > 0.98
        assert 0.3 < (free[:, 0] > 0).mean() < 0.7
        # scaled w == interpolate 1 + w
        a = fm.sample(50, seed=2, steps=10, labels=1, guidance=2.5)
        b = fm.sample(50, seed=2, steps=10, labels=1, guidance=1.5, guidance_convention="scaled")
        np.testing.assert_allclose(a, b, atol=1e-4)
        with pytest.raises(flowgen.FlowgenError):
            fm.sample(5, labels=2)
        with pytest.raises(ValueError):
            fm.sample(5, guidance=2.0)


def test_vp_beta_method_trains():
    rng = np.random.default_rng(3)
    data = np.stack([rng.normal(2, 0.3, 2000), rng.normal(-1, 0.3, 2000)], 1).astype(np.float32)
    with flowgen.FlowMatcher(2, method="vp-beta", sigma=0.0, beta_min=0.1, beta_max=20, hidden_width=32,
                             hidden_layers=2, batch_size=128, seed=1) as fm:
        fm.fit(data, 800)
        x = fm.sample(500, seed=0, solver="rk4", steps=50)
        assert np.abs(x.mean(0) - [2, -1]).max() < 0.25


def test_fit_npy_and_sampler(tmp_path):
    data = eight_gaussians(500, 4)
    path = tmp_path / "data.npy"
    np.save(path, data)
    with flowgen.FlowMatcher(2, method="icfm", hidden_width=16, hidden_layers=2, batch_size=32, seed=2) as fm:
        assert math.isfinite(fm.fit_npy(path, 3))
        assert fm.step == 3
        with pytest.raises(flowgen.FlowgenError) as info:
            fm.fit_npy(tmp_path / "missing.npy", 3)
        assert info.value.status == C.ERR_IO
        np.save(tmp_path / "bad.npy", np.ones((4, 3), np.float32))
        with pytest.raises(flowgen.FlowgenError) as info:
            fm.fit_npy(tmp_path / "bad.npy", 3)
        assert info.value.status == C.ERR_SHAPE_MISMATCH
        rng = np.random.default_rng(0)
        calls = []

        def sampler(n, dim):
            calls.append(n)
            return eight_gaussians(n, len(calls))
        fm.fit_sampler(sampler, 4)
        assert calls == [32] * 4 and fm.step == 7
        before = fm.sample(20, seed=1, steps=10)

        def failing(n, dim):
            calls.append(n)
            if len(calls) == 7:
                raise KeyError("out of data")
            return rng.normal(size=(n, dim))
        with pytest.raises(KeyError):
            fm.fit_sampler(failing, 10)
        assert fm.step == 7
        np.testing.assert_array_equal(before, fm.sample(20, seed=1, steps=10))
        with pytest.raises(flowgen.FlowgenError):
            fm.fit_sampler(lambda n, d: np.ones((n + 1, d)), 2)
        with pytest.raises(flowgen.FlowgenError) as info:
            fm.fit_sampler(lambda n, d: np.full((n, d), np.nan), 2)
        assert info.value.status == C.ERR_NON_FINITE
        assert fm.step == 7
        np.testing.assert_array_equal(before, fm.sample(20, seed=1, steps=10))


def test_misuse_conditional_and_data_sources(lib, raw, tmp_path):
    data = np.ones((8, 2), np.float32)
    labels = np.zeros(8, np.int32)
    L = ctypes.POINTER(ctypes.c_int32)
    assert lib.fg_fm_fit_labeled(raw, _f(data), labels.ctypes.data_as(L), 8, 2, 1, NOCB, None, None) == C.ERR_INVALID_ARGUMENT
    assert "unconditional" in _last(lib)
    assert lib.fg_fm_num_classes(raw) == 0 and lib.fg_fm_num_classes(None) == 0
    dst = np.zeros((4, 2), np.float32)
    n_out, nfe = ctypes.c_size_t(), ctypes.c_uint32()
    assert lib.fg_fm_sample_guided(raw, 4, labels.ctypes.data_as(L), 1.0, 0, 0, None, _f(dst), 8,
                                   ctypes.byref(n_out), ctypes.byref(nfe)) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_fit_npy(raw, None, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_fm_fit_npy(raw, str(tmp_path / "x.npy").encode(), 0, NOCB, None, None) == C.ERR_INVALID_ARGUMENT
    assert lib.fg_fm_fit_sampler(raw, FM.SamplerFn(), None, 1, NOCB, None, None) == C.ERR_NULL_ARGUMENT
    # Older params layout (ends at grad_clip_norm) is accepted; a size between layouts is not.
    p = lib.fg_fm_default_params()
    p.struct_size = (FMParams.num_classes.offset + 7) // 8 * 8
    out = ctypes.c_void_p()
    assert lib.fg_fm_create(ctypes.byref(p), ctypes.byref(out)) == C.OK
    lib.fg_fm_free(out.value)
    p.struct_size = FMParams.num_classes.offset + 8
    assert lib.fg_fm_create(ctypes.byref(p), ctypes.byref(out)) == C.ERR_STRUCT_SIZE
    for field, value in (("num_classes", 70000), ("label_dropout", -0.5), ("beta_max", 0.05)):
        bad = lib.fg_fm_default_params()
        setattr(bad, field, value)
        assert lib.fg_fm_create(ctypes.byref(bad), ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT, field


def test_bellman_step_schedule_beats_equal_steps():
    """BOSS phase 1: the DP schedule's cost is at most that of equal steps (one of its candidates), and Euler
    on it lands closer to the model's own ODE solution (dopri5) than equal steps with as many evaluations."""
    with flowgen.FlowMatcher(2, method="icfm", seed=0, batch_size=256) as fm:
        fm.fit(eight_gaussians(4000, 0), 1500)
        reference = fm.sample(2000, seed=7, solver="dopri5")
        for k in (2, 4, 5):
            times, cost, uniform = fm.step_schedule(k, fine_steps=100, n_calibration=256, seed=1, return_costs=True)
            assert times.dtype == np.float64 and times.shape == (k + 1,) and times[0] == 0 and times[-1] == 1
            assert np.all(np.diff(times) > 0) and cost <= uniform + 1e-9
            bellman, nfe = fm.sample(2000, seed=7, solver="euler", times=times, return_nfe=True)
            equal = fm.sample(2000, seed=7, solver="euler", steps=k)
            error = lambda x: float(np.sqrt(((x - reference) ** 2).sum(1).mean()))
            assert nfe == k and error(bellman) < 0.85 * error(equal), (k, error(bellman), error(equal))
        assert math.isnan(fm.step_schedule(3, return_costs=True)[2])  # 3 does not divide 100
        # The same grid runs backwards in transport.
        x = fm.sample(50, seed=2, solver="heun", times=times)
        back, nfe = fm.transport(x, reverse=True, solver="heun", times=times, return_nfe=True)
        assert nfe == 2 * k and back.shape == x.shape
        for bad in ([0, 0.5, 0.9], [0.1, 1], [0, 0.5, 0.5, 1], [0, float("nan"), 1], [1]):
            assert _status(lambda: fm.sample(5, solver="euler", times=bad)) == C.ERR_INVALID_ARGUMENT, bad
        assert _status(lambda: fm.sample(5, solver="dopri5", times=[0, 1])) == C.ERR_INVALID_ARGUMENT
        for args in ((0,), (5, 4), (4, 100000), (4, 100, 0), (4, 100, 9000)):
            assert _status(lambda: fm.step_schedule(*args)) == C.ERR_INVALID_ARGUMENT, args


def test_straightening_makes_few_step_euler_follow_the_original_flow():
    """BOSS phase 2: after fine-tuning on the Bellman intervals, 2 Euler steps land much closer to the original
    model's 100-step Euler samples than before."""
    with flowgen.FlowMatcher(2, method="icfm", seed=0, batch_size=256) as fm:
        fm.fit(eight_gaussians(4000, 0), 1500)
        target = fm.sample(1000, seed=9, solver="euler", steps=100)   # the original flow's samples
        times = fm.step_schedule(2, seed=1)
        error = lambda: float(np.sqrt(((fm.sample(1000, seed=9, solver="euler", times=times) - target) ** 2).sum(1).mean()))
        before, step = error(), fm.step
        calls = []
        loss = fm.straighten(times, 400, n_trajectories=2048, seed=3, progress=lambda s, t, l: calls.append(s) and False)
        assert math.isfinite(loss) and len(calls) == 400 and fm.step == step + 400
        after = error()
        assert after < 0.5 * before, (before, after)
        for bad in ([0, 0.5], [0.2, 1], [0, 0.7, 0.3, 1], [0, float("nan"), 1], [1]):
            assert _status(lambda: fm.straighten(bad, 2)) == C.ERR_INVALID_ARGUMENT, bad
        assert _status(lambda: fm.straighten(times, 0)) == C.ERR_INVALID_ARGUMENT
        assert _status(lambda: fm.straighten(times, 2, n_trajectories=0)) == C.ERR_INVALID_ARGUMENT
        assert _status(lambda: fm.straighten(times, 2, n_trajectories=10**9)) == C.ERR_INVALID_ARGUMENT
        assert _status(lambda: fm.straighten(times, 2, fine_steps=5000)) == C.ERR_INVALID_ARGUMENT
        assert fm.step == step + 400  # refused calls change nothing
        lib = flowgen._lib.get_lib()
        grid = np.array([0.0, 1.0])
        grid_p = grid.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        no_progress = flowgen._lib.ProgressFn(0)
        with fm._use() as h:
            assert lib.fg_fm_straighten(None, grid_p, 2, 1, 16, 10, 0, no_progress, None, None) == C.ERR_NULL_ARGUMENT
            assert lib.fg_fm_straighten(h, None, 2, 1, 16, 10, 0, no_progress, None, None) == C.ERR_NULL_ARGUMENT
            assert lib.fg_fm_straighten(h, grid_p, 1, 1, 16, 10, 0, no_progress, None, None) == C.ERR_INVALID_ARGUMENT
        assert fm.step == step + 400
    with flowgen.FlowMatcher(2, method="icfm", seed=0) as pairs:
        pairs.fit_pairs(eight_gaussians(300, 1), eight_gaussians(300, 2), 2)
        assert _status(lambda: pairs.straighten([0, 1], 2)) == C.ERR_INVALID_ARGUMENT


def test_cost_guidance_steers_samples_without_retraining():
    """FlowChef-style guidance: a quadratic cost around one of the 8 modes pulls most samples into it; scale 0
    is plain sampling; a failing or mis-shaped callback stops with its error."""
    centre = np.array([5.0, 0.0], dtype=np.float32)
    near = lambda x: float((np.linalg.norm(x - centre, axis=1) < 2.0).mean())
    with flowgen.FlowMatcher(2, method="icfm", seed=0, batch_size=256) as fm:
        fm.fit(eight_gaussians(4000, 0), 1500)
        plain = fm.sample(1000, seed=5, steps=50)
        assert np.array_equal(fm.sample_cost_guided(1000, lambda x: x - centre, 0.0, seed=5, steps=50), plain)
        calls = []
        guided, nfe = fm.sample_cost_guided(1000, lambda x: calls.append(x.shape) or (x - centre), 2.0, seed=5,
                                           steps=50, return_nfe=True)
        assert nfe == 50 and calls == [(1000, 2)] * 50
        assert near(plain) < 0.25 and near(guided) > 0.6, (near(plain), near(guided))

        def broken(x):
            raise RuntimeError("cost service down")
        with pytest.raises(RuntimeError, match="cost service down"):
            fm.sample_cost_guided(10, broken, 1.0)
        with pytest.raises(flowgen.FlowgenError):
            fm.sample_cost_guided(10, lambda x: x[:, :1], 1.0)
        assert _status(lambda: fm.sample_cost_guided(10, lambda x: x, float("nan"))) == C.ERR_INVALID_ARGUMENT
        assert _status(lambda: fm.sample_cost_guided(10, lambda x: x * np.nan, 1.0)) == C.ERR_NUMERICAL
