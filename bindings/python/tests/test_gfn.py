"""GFlowNet bindings: training against the exact target, distributions, sampling, checkpoint resume,
and misuse of every fg_gfn_* function through raw ctypes calls."""
import ctypes
import math

import numpy as np
import pytest

import flowgen
from flowgen import _sig_gfn as G
from flowgen import constants as C


def _expect(lib, status, expected):
    assert status == expected, (status, expected, lib.fg_last_error())
    assert lib.fg_last_error(), "empty fg_last_error() after status %d" % status


def _create(lib, **fields):
    params = lib.fg_gfn_default_params()
    for name, value in fields.items():
        setattr(params, name, value)
    out = ctypes.c_void_p()
    status = lib.fg_gfn_create(ctypes.byref(params), ctypes.byref(out))
    assert status == C.OK, lib.fg_last_error()
    return out.value


# ------------------------------------------------------------------------------------------------
# Behaviour
# ------------------------------------------------------------------------------------------------

def test_default_params(lib):
    p = lib.fg_gfn_default_params()
    assert p.struct_size == ctypes.sizeof(G.GFNParams) == 88
    assert (p.env, p.ndim, p.height, p.loss, p.batch_size) == (G.GFN_ENV_HYPERGRID, 2, 8, G.GFN_LOSS_TB, 16)
    assert (p.r0, p.r1, p.r2) == pytest.approx((0.1, 0.5, 2.0))
    assert (p.hidden_width, p.hidden_layers, p.uniform_pb, p.seed) == (256, 2, 0, 0)
    assert p.learning_rate == pytest.approx(1e-3) and p.log_z_learning_rate == pytest.approx(0.1)
    assert p.lambda_ == pytest.approx(0.9) and p.epsilon == 0 and p.temperature == 1


def test_tb_training_reaches_threshold_on_2d_grid():
    # TB, 2-D H8, batch 16, 2x256 MLP: 16k trajectories give an exact sum-L1 well under 0.02.
    with flowgen.GFlowNet(ndim=2, height=8, seed=1) as g:
        before = g.metrics()
        steps = []
        g.train(16000, progress=lambda step, total, loss: steps.append((step, total)) and False)
        m = g.metrics()
        assert steps[-1] == (1000, 1000) and len(steps) == 1000
        assert before["l1"] > 0.5
        assert m["l1"] < 0.02, m
        assert abs(m["log_z"] - m["log_z_true"]) < 0.05
        assert m["log_z_true"] == pytest.approx(3.1091, abs=5e-5)
        assert (m["modes_found"], m["n_modes"], m["trajectories"]) == (4, 4, 16000)
        assert m["tv"] == pytest.approx(m["l1"] / 2)
        exact, target = g.exact_distribution(), g.target_distribution()
        assert np.abs(exact.astype(np.float64) - target).sum() == pytest.approx(m["l1"], abs=1e-5)


def test_distributions_sum_to_one_and_log_z_constants():
    for ndim, height, r0, log_z, modes in [(2, 8, 0.1, 3.1091, 4), (4, 8, 0.1, 6.3449, 16),
                                           (4, 8, 0.01, 5.3031, 16), (2, 64, 0.1, 7.0980, 144)]:
        with flowgen.GFlowNet(ndim=ndim, height=height, r0=r0, hidden_width=8) as g:
            assert g.state_count == height ** ndim
            exact, target = g.exact_distribution(), g.target_distribution()
            assert exact.shape == target.shape == (height ** ndim,)
            assert exact.sum() == pytest.approx(1, abs=1e-4) and target.sum() == pytest.approx(1, abs=1e-4)
            assert (exact >= 0).all()
            m = g.metrics()
            assert m["log_z_true"] == pytest.approx(log_z, abs=5e-5)
            assert m["n_modes"] == modes


def test_sampling_shapes_ranges_and_seed():
    with flowgen.GFlowNet(ndim=3, height=5, hidden_width=16) as g:
        x = g.sample(1000, seed=4)
        assert x.shape == (1000, 3) and x.dtype == np.int32
        assert x.min() >= 0 and x.max() <= 4
        assert (g.sample(1000, seed=4) == x).all()
        assert not (g.sample(1000, seed=5) == x).all()
        # Empirical frequencies agree with the exact distribution of the same policy.
        p = g.exact_distribution().astype(np.float64)
        y = g.sample(20000, seed=1)
        counts = np.bincount(y[:, 0] + 5 * y[:, 1] + 25 * y[:, 2], minlength=125) / 20000.0
        assert np.abs(counts - p).max() < 5 * np.sqrt(p.max() / 20000) + 1e-3


@pytest.mark.parametrize("loss", ["db", "subtb", "fm", "zvar"])
def test_other_losses_improve(loss):
    with flowgen.GFlowNet(ndim=2, height=4, loss=loss, hidden_width=64, seed=7,
                          learning_rate=3e-3 if loss == "fm" else 1e-3) as g:
        before = g.metrics()["l1"]
        g.train(3000)
        after = g.metrics()
        assert after["l1"] < 0.6 * before and after["l1"] < 0.25, (loss, before, after)


def test_save_load_resume_is_bit_exact(tmp_path):
    path = str(tmp_path / "g.safetensors")
    kw = dict(ndim=2, height=6, hidden_width=32, seed=3, loss="subtb", epsilon=0.1)
    with flowgen.GFlowNet(**kw) as a, flowgen.GFlowNet(**kw) as b:
        a.train(640)
        b.train(320)
        b.save(path)
        with flowgen.GFlowNet.load(path) as c:
            assert c.step == 20
            c.train(320)
            assert c.step == a.step == 40
            assert c.metrics() == a.metrics()
            assert (c.exact_distribution() == a.exact_distribution()).all()
            assert (c.sample(50, seed=1) == a.sample(50, seed=1)).all()


def test_progress_cancel_and_exception():
    with flowgen.GFlowNet(ndim=2, height=4, hidden_width=8) as g:
        with pytest.raises(flowgen.FlowgenError) as info:
            g.train(1600, progress=lambda step, total, loss: step >= 2)
        assert info.value.status == C.ERR_CANCELLED
        assert g.step == 2

        def boom(step, total, loss):
            raise KeyError("stop")
        with pytest.raises(KeyError):
            g.train(160, progress=boom)
        assert g.step == 3
        g.train(16)
        assert g.step == 4
    with pytest.raises(flowgen.FlowgenError):
        g.train(16)  # closed


def test_python_level_argument_errors():
    with pytest.raises(flowgen.FlowgenError) as info:
        flowgen.GFlowNet(loss="nope")
    assert info.value.status == C.ERR_UNKNOWN_ENUM
    with pytest.raises(flowgen.FlowgenError) as info:
        flowgen.GFlowNet(env="maze")
    assert info.value.status == C.ERR_UNKNOWN_ENUM
    for bad in (dict(height=1), dict(height=0), dict(ndim=0), dict(batch_size=0), dict(lambda_=0.0),
                dict(lambda_=1.5), dict(r0=0.0), dict(r1=-1.0), dict(epsilon=2.0), dict(temperature=0.0),
                dict(learning_rate=-1.0), dict(hidden_layers=0), dict(ndim=100, height=64)):
        with pytest.raises(flowgen.FlowgenError) as info:
            flowgen.GFlowNet(**bad)
        assert info.value.status == C.ERR_INVALID_ARGUMENT, bad
    for bad in (dict(r0=math.nan), dict(r2=math.inf), dict(r1=-math.inf)):
        with pytest.raises(flowgen.FlowgenError) as info:
            flowgen.GFlowNet(**bad)
        assert info.value.status == C.ERR_NON_FINITE, bad
    for bad in (dict(learning_rate=math.nan), dict(lambda_=math.nan), dict(epsilon=math.nan)):
        with pytest.raises(flowgen.FlowgenError) as info:
            flowgen.GFlowNet(**bad)
        assert info.value.status == C.ERR_INVALID_ARGUMENT, bad


# ------------------------------------------------------------------------------------------------
# Raw misuse of every fg_gfn_* function
# ------------------------------------------------------------------------------------------------

def test_create_misuse(lib):
    out = ctypes.c_void_p(0x1234)
    params = lib.fg_gfn_default_params()
    _expect(lib, lib.fg_gfn_create(ctypes.byref(params), None), C.ERR_NULL_ARGUMENT)
    for size in (0, 4, 87, 200):
        params = lib.fg_gfn_default_params()
        params.struct_size = size
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_gfn_create(ctypes.byref(params), ctypes.byref(out)), C.ERR_STRUCT_SIZE)
        assert out.value is None
    for field, value in (("env", 4), ("loss", 8), ("loss", 2**32 - 1)):
        params = lib.fg_gfn_default_params()
        setattr(params, field, value)
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_gfn_create(ctypes.byref(params), ctypes.byref(out)), C.ERR_UNKNOWN_ENUM)
        assert out.value is None
    for field, value in (("height", 2**31), ("ndim", 2**32 - 1), ("batch_size", 2**31),
                         ("hidden_width", 2**31), ("hidden_layers", 100)):
        params = lib.fg_gfn_default_params()
        setattr(params, field, value)
        _expect(lib, lib.fg_gfn_create(ctypes.byref(params), ctypes.byref(out)), C.ERR_INVALID_ARGUMENT)
    params = lib.fg_gfn_default_params()
    params.hidden_width, params.hidden_layers = 16384, 64
    _expect(lib, lib.fg_gfn_create(ctypes.byref(params), ctypes.byref(out)), C.ERR_OUT_OF_MEMORY)
    # NULL params = defaults
    out = ctypes.c_void_p()
    assert lib.fg_gfn_create(None, ctypes.byref(out)) == C.OK
    assert lib.fg_gfn_state_dim(out.value) == 2 and lib.fg_gfn_state_count(out.value) == 64
    lib.fg_gfn_free(out.value)


def test_free_and_getters_accept_null(lib):
    lib.fg_gfn_free(None)
    assert lib.fg_gfn_state_dim(None) == 0
    assert lib.fg_gfn_state_count(None) == 0
    assert lib.fg_gfn_step(None) == 0


def test_train_misuse(lib):
    handle = _create(lib, hidden_width=8, height=4)
    none = flowgen._lib.ProgressFn()
    try:
        _expect(lib, lib.fg_gfn_train(None, 16, none, None, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_train(handle, 0, none, None, None), C.ERR_INVALID_ARGUMENT)
        _expect(lib, lib.fg_gfn_train(handle, 2**63, none, None, None), C.ERR_INVALID_ARGUMENT)
        assert lib.fg_gfn_step(handle) == 0
        loss = ctypes.c_float(math.nan)
        assert lib.fg_gfn_train(handle, 32, none, None, ctypes.byref(loss)) == C.OK
        assert lib.fg_gfn_step(handle) == 2 and math.isfinite(loss.value)
    finally:
        lib.fg_gfn_free(handle)


def test_numerical_failure_leaves_handle_unchanged_and_usable(lib):
    # A huge log Z learning rate makes TB diverge; the failing step must not be applied.
    handle = _create(lib, hidden_width=8, height=4, log_z_learning_rate=3e38, learning_rate=3e38)
    none = flowgen._lib.ProgressFn()
    try:
        status = C.OK
        for _ in range(50):
            status = lib.fg_gfn_train(handle, 16, none, None, None)
            if status != C.OK:
                break
        _expect(lib, status, C.ERR_NUMERICAL)
        step = lib.fg_gfn_step(handle)
        _expect(lib, lib.fg_gfn_train(handle, 16, none, None, None), C.ERR_NUMERICAL)
        assert lib.fg_gfn_step(handle) == step
        needed = ctypes.c_size_t()
        assert lib.fg_gfn_exact_distribution(handle, None, 0, ctypes.byref(needed)) == C.OK
    finally:
        lib.fg_gfn_free(handle)


def test_sample_misuse(lib):
    handle = _create(lib, hidden_width=8, height=4, ndim=3)
    i32 = ctypes.POINTER(ctypes.c_int32)
    n = ctypes.c_size_t(0)
    try:
        _expect(lib, lib.fg_gfn_sample(None, 4, 0, None, 0, ctypes.byref(n)), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_sample(handle, 4, 0, None, 0, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_sample(handle, 0, 0, None, 0, ctypes.byref(n)), C.ERR_INVALID_ARGUMENT)
        _expect(lib, lib.fg_gfn_sample(handle, 2**62, 0, None, 0, ctypes.byref(n)), C.ERR_INVALID_ARGUMENT)
        assert lib.fg_gfn_sample(handle, 4, 0, None, 0, ctypes.byref(n)) == C.OK and n.value == 12
        short = np.full(11, -7, np.int32)
        n.value = 0
        _expect(lib, lib.fg_gfn_sample(handle, 4, 0, short.ctypes.data_as(i32), 11, ctypes.byref(n)),
                C.ERR_BUFFER_TOO_SMALL)
        assert n.value == 12 and (short == -7).all()
        full = np.full(13, -7, np.int32)
        assert lib.fg_gfn_sample(handle, 4, 0, full.ctypes.data_as(i32), 13, None) == C.OK
        assert full[12] == -7 and (full[:12] >= 0).all()
    finally:
        lib.fg_gfn_free(handle)


@pytest.mark.parametrize("name", ["fg_gfn_exact_distribution", "fg_gfn_target_distribution"])
def test_distribution_misuse(lib, name):
    function = getattr(lib, name)
    handle = _create(lib, hidden_width=8, height=4)
    f32 = ctypes.POINTER(ctypes.c_float)
    n = ctypes.c_size_t(0)
    try:
        _expect(lib, function(None, None, 0, ctypes.byref(n)), C.ERR_NULL_ARGUMENT)
        _expect(lib, function(handle, None, 0, None), C.ERR_NULL_ARGUMENT)
        assert function(handle, None, 0, ctypes.byref(n)) == C.OK and n.value == 16
        short = np.zeros(15, np.float32)
        _expect(lib, function(handle, short.ctypes.data_as(f32), 15, ctypes.byref(n)), C.ERR_BUFFER_TOO_SMALL)
        assert n.value == 16
    finally:
        lib.fg_gfn_free(handle)
    big = _create(lib, hidden_width=4, ndim=30, height=4)  # 2^60 states: not enumerable
    try:
        assert lib.fg_gfn_state_count(big) == 0
        _expect(lib, function(big, None, 0, ctypes.byref(n)), C.ERR_INVALID_ARGUMENT)
        m = G.GFNMetrics(struct_size=ctypes.sizeof(G.GFNMetrics))
        _expect(lib, lib.fg_gfn_evaluate(big, ctypes.byref(m)), C.ERR_INVALID_ARGUMENT)
        assert lib.fg_gfn_train(big, 16, flowgen._lib.ProgressFn(), None, None) == C.OK
    finally:
        lib.fg_gfn_free(big)


def test_evaluate_misuse(lib):
    handle = _create(lib, hidden_width=8, height=4)
    try:
        m = G.GFNMetrics(struct_size=ctypes.sizeof(G.GFNMetrics))
        _expect(lib, lib.fg_gfn_evaluate(None, ctypes.byref(m)), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_evaluate(handle, None), C.ERR_NULL_ARGUMENT)
        m.struct_size = 8
        _expect(lib, lib.fg_gfn_evaluate(handle, ctypes.byref(m)), C.ERR_STRUCT_SIZE)
        m.struct_size = ctypes.sizeof(G.GFNMetrics)
        assert lib.fg_gfn_evaluate(handle, ctypes.byref(m)) == C.OK
        assert m.n_modes == 4 and m.trajectories == 0 and 0 < m.l1 <= 2
    finally:
        lib.fg_gfn_free(handle)


def test_save_load_misuse(lib, tmp_path):
    handle = _create(lib, hidden_width=8, height=4)
    path = str(tmp_path / "g.safetensors").encode()
    try:
        _expect(lib, lib.fg_gfn_save(None, path), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_save(handle, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_save(handle, b""), C.ERR_INVALID_ARGUMENT)
        _expect(lib, lib.fg_gfn_save(handle, b"/nonexistent-dir/x/g.safetensors"), C.ERR_IO)
        assert lib.fg_gfn_save(handle, path) == C.OK
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_gfn_load(None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
        assert out.value is None
        _expect(lib, lib.fg_gfn_load(path, None), C.ERR_NULL_ARGUMENT)
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_gfn_load(path + b".missing", ctypes.byref(out)), C.ERR_IO)
        assert out.value is None
        # An MLP checkpoint is not a GFlowNet; a truncated file is corrupt.
        sizes = (ctypes.c_uint32 * 2)(2, 1)
        mlp = ctypes.c_void_p()
        assert lib.fg_mlp_create(sizes, 2, None, ctypes.byref(mlp)) == C.OK
        mlp_path = str(tmp_path / "m.safetensors").encode()
        assert lib.fg_mlp_save(mlp.value, mlp_path) == C.OK
        lib.fg_mlp_free(mlp.value)
        _expect(lib, lib.fg_gfn_load(mlp_path, ctypes.byref(out)), C.ERR_CORRUPT_FILE)
        with open(path, "rb") as handle_file:
            blob = handle_file.read()
        bad = str(tmp_path / "bad.safetensors").encode()
        with open(bad, "wb") as handle_file:
            handle_file.write(blob[: len(blob) // 2])
        _expect(lib, lib.fg_gfn_load(bad, ctypes.byref(out)), C.ERR_CORRUPT_FILE)
        assert out.value is None
        assert lib.fg_gfn_load(path, ctypes.byref(out)) == C.OK
        lib.fg_gfn_free(out.value)
    finally:
        lib.fg_gfn_free(handle)


def test_corrupt_metadata_is_rejected(lib, tmp_path):
    from conftest import split_safetensors, write_safetensors_raw
    handle = _create(lib, hidden_width=8, height=4)
    path = str(tmp_path / "g.safetensors")
    try:
        assert lib.fg_gfn_save(handle, path.encode()) == C.OK
    finally:
        lib.fg_gfn_free(handle)
    header, buffer = split_safetensors(path)
    for key, value in (("flowgen.height", "1"), ("flowgen.ndim", "-3"), ("flowgen.r0", "0"),
                       ("flowgen.loss", "xx"), ("flowgen.rng", "1,2"), ("flowgen.batch_size", "0"),
                       ("flowgen.modes_found", "99999"), ("flowgen.kind", "mlp")):
        changed = dict(header)
        changed["__metadata__"] = dict(header["__metadata__"], **{key: value})
        bad = str(tmp_path / "bad.safetensors")
        write_safetensors_raw(bad, changed, buffer)
        out = ctypes.c_void_p(0x1234)
        _expect(lib, lib.fg_gfn_load(bad.encode(), ctypes.byref(out)), C.ERR_CORRUPT_FILE)
        assert out.value is None


# ------------------------------------------------------------------------------------------------
# Reward-only user environments (log reward callbacks)
# ------------------------------------------------------------------------------------------------

def _tilt(states):
    return states[:, 0].astype(np.float64) - states[:, 1]


def test_user_reward_trains_towards_its_target(tmp_path):
    calls = []

    def log_reward(states):
        calls.append(states.shape)
        assert states.dtype == np.int32 and states.shape[1] == 2
        return _tilt(states)

    with flowgen.GFlowNet(ndim=2, height=4, hidden_width=64, seed=4, log_reward=log_reward) as g:
        target = g.target_distribution().astype(np.float64)
        cells = np.array([[i % 4, i // 4] for i in range(16)])
        expected = np.exp(_tilt(cells))
        assert np.allclose(target, expected / expected.sum(), atol=1e-6)
        g.train(4000)
        m = g.metrics()
        assert m["l1"] < 0.1 and m["n_modes"] == 1 and m["modes_found"] == 1
        assert m["log_z_true"] == pytest.approx(math.log(expected.sum()), abs=1e-9)
        assert (16, 2) in calls  # training asks for one batch (batch_size states) at a time
        path = str(tmp_path / "u.safetensors")
        g.save(path)
        with pytest.raises(flowgen.FlowgenError) as info:
            flowgen.GFlowNet.load(path)
        assert info.value.status == C.ERR_INVALID_ARGUMENT
        with flowgen.GFlowNet.load(path, log_reward=_tilt) as h:
            assert h.metrics() == g.metrics()


def test_user_reward_errors_leave_the_gfn_usable():
    state = {"mode": "ok"}

    def log_reward(states):
        if state["mode"] == "raise":
            raise RuntimeError("reward service down")
        if state["mode"] == "nan":
            return np.full(len(states), np.nan)
        if state["mode"] == "short":
            return np.zeros(len(states) - 1)
        return np.zeros(len(states))

    with flowgen.GFlowNet(ndim=2, height=4, hidden_width=8, log_reward=log_reward) as g:
        g.train(32)
        before = (g.step, g.exact_distribution())
        state["mode"] = "raise"
        with pytest.raises(RuntimeError, match="reward service down"):
            g.train(16)
        with pytest.raises(RuntimeError):
            g.metrics()
        state["mode"] = "nan"
        with pytest.raises(flowgen.FlowgenError) as info:
            g.train(16)
        assert info.value.status == C.ERR_NON_FINITE
        state["mode"] = "short"
        with pytest.raises(ValueError):
            g.train(16)
        assert g.step == before[0] and (g.exact_distribution() == before[1]).all()
        state["mode"] = "ok"
        g.train(16)
        assert g.step == before[0] + 1


def test_raw_callback_misuse_and_message(lib, tmp_path):
    params = lib.fg_gfn_default_params()
    params.height, params.hidden_width = 4, 8
    out = ctypes.c_void_p(0x1234)
    _expect(lib, lib.fg_gfn_create_with_reward(ctypes.byref(params), G.LogRewardFn(), None, ctypes.byref(out)),
            C.ERR_NULL_ARGUMENT)
    assert out.value is None

    def failing(states, n, dim, dst, user_data):
        lib.fg_gfn_set_callback_error(b"no reward for you")
        return 7

    callback = G.LogRewardFn(failing)
    _expect(lib, lib.fg_gfn_create_with_reward(ctypes.byref(params), callback, None, None), C.ERR_NULL_ARGUMENT)
    bad = lib.fg_gfn_default_params()
    bad.struct_size = 3
    _expect(lib, lib.fg_gfn_create_with_reward(ctypes.byref(bad), callback, None, ctypes.byref(out)), C.ERR_STRUCT_SIZE)
    assert lib.fg_gfn_create_with_reward(ctypes.byref(params), callback, None, ctypes.byref(out)) == C.OK
    handle = out.value
    try:
        _expect(lib, lib.fg_gfn_train(handle, 16, flowgen._lib.ProgressFn(), None, None), C.ERR_CALLBACK)
        message = lib.fg_last_error().decode()
        assert "returned 7" in message and "no reward for you" in message
        assert lib.fg_gfn_step(handle) == 0
        assert lib.fg_gfn_set_callback_error(None) == C.OK
        path = str(tmp_path / "c.safetensors").encode()
        assert lib.fg_gfn_save(handle, path) == C.OK
        _expect(lib, lib.fg_gfn_load_with_reward(None, callback, None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_load_with_reward(path, G.LogRewardFn(), None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_load_with_reward(path, callback, None, None), C.ERR_NULL_ARGUMENT)
        _expect(lib, lib.fg_gfn_load(path, ctypes.byref(out)), C.ERR_INVALID_ARGUMENT)
        assert out.value is None
        assert lib.fg_gfn_load_with_reward(path, callback, None, ctypes.byref(out)) == C.OK
        lib.fg_gfn_free(out.value)
    finally:
        lib.fg_gfn_free(handle)
    builtin = _create(lib, hidden_width=8, height=4)
    try:
        path = str(tmp_path / "b.safetensors").encode()
        assert lib.fg_gfn_save(builtin, path) == C.OK
        _expect(lib, lib.fg_gfn_load_with_reward(path, callback, None, ctypes.byref(out)), C.ERR_INVALID_ARGUMENT)
    finally:
        lib.fg_gfn_free(builtin)
