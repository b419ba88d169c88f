"""GFlowNet API extensions: external-policy losses (fg_gfn_external_loss) against numpy
reimplementations, finite-difference gradients and misuse."""
import ctypes

import numpy as np
import pytest

from flowgen import constants as C
from flowgen import FlowgenError
from flowgen._sig_gfn_api import ExternalBatch
from flowgen import _sig_gfn_api as G
from flowgen.gfn_external import trajectory_loss


def _expect(lib, status, expected):
    assert status == expected, (status, expected, lib.fg_last_error())
    assert lib.fg_last_error(), "empty fg_last_error() after status %d" % status


def _random_batch(seed, t=6, b=5):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, t + 1, size=b)
    lengths[0] = t
    pf = rng.normal(-1, 0.5, size=(t, b)).astype(np.float32)
    pb = rng.normal(-0.7, 0.3, size=(t, b)).astype(np.float32)
    f = rng.normal(0.5, 1.0, size=(t, b)).astype(np.float32)
    e = rng.normal(0, 0.5, size=(t, b)).astype(np.float32)
    r = rng.normal(0, 1, size=b).astype(np.float32)
    # Junk in every ignored entry: the library must not read it.
    for j, n in enumerate(lengths):
        pf[n:, j] = np.nan
        f[n:, j] = np.nan
        e[n:, j] = np.nan
        pb[n - 1:, j] = np.nan
    return pf, pb, f, e, r, lengths


def _numpy_tb(pf, pb, r, lengths, log_z):
    deltas = []
    for j, n in enumerate(lengths):
        deltas.append(log_z + pf[:n, j].sum() - pb[:n - 1, j].sum() - r[j])
    deltas = np.array(deltas, dtype=np.float64)
    return float(np.mean(deltas ** 2)), deltas


def _numpy_subtb(pf, pb, f, r, lengths, lam):
    total = 0.0
    for j, n in enumerate(lengths):
        flows = [float(f[i, j]) for i in range(n)] + [float(r[j])]
        steps = [float(pf[k, j]) - (float(pb[k, j]) if k < n - 1 else 0.0) for k in range(n)]
        norm = sum((n - m) * lam ** m for m in range(n))
        for i in range(n):
            for k in range(i + 1, n + 1):
                d = flows[i] + sum(steps[i:k]) - flows[k]
                total += lam ** (k - i - 1) * d * d / norm
    return total / len(lengths)


def test_tb_matches_numpy_and_its_gradients():
    pf, pb, _, _, r, lengths = _random_batch(1)
    loss, g = trajectory_loss(pf, pb, r, lengths, loss="tb", log_z=0.4)
    expected, deltas = _numpy_tb(pf, pb, r, lengths, 0.4)
    assert loss == pytest.approx(expected, rel=1e-5)
    b = len(lengths)
    assert g["log_z"] == pytest.approx(2 * deltas.mean(), rel=1e-5)
    for j, n in enumerate(lengths):
        np.testing.assert_allclose(g["log_pf"][:n, j], 2 * deltas[j] / b, rtol=1e-5)
        np.testing.assert_allclose(g["log_pb"][:n - 1, j], -2 * deltas[j] / b, rtol=1e-5)
        assert not g["log_pf"][n:, j].any() and not g["log_pb"][n - 1:, j].any()


def test_subtb_and_forward_looking_match_numpy_and_finite_differences():
    pf, pb, f, e, r, lengths = _random_batch(2)
    loss, g = trajectory_loss(pf, pb, r, lengths, loss="subtb", log_f=f, lambda_=0.8)
    assert loss == pytest.approx(_numpy_subtb(pf, pb, f, r, lengths, 0.8), rel=1e-5)
    # FL-SubTB is SubTB on log F = log F~ - E.
    fl, gfl = trajectory_loss(pf, pb, r, lengths, loss="subtb", log_f=f, energies=e, lambda_=0.8)
    assert fl == pytest.approx(_numpy_subtb(pf, pb, f - e, r, lengths, 0.8), rel=1e-5)
    # Central differences on a few valid entries (the loss is quadratic: exact up to rounding).
    h = 1e-2
    for (t, j) in [(0, 0), (2, 0), (0, 1)]:
        if t >= lengths[j]:
            continue
        for name, arr, grad in (("log_f", f, gfl["log_f"]), ("log_pf", pf, gfl["log_pf"])):
            plus, minus = arr.copy(), arr.copy()
            plus[t, j] += h
            minus[t, j] -= h
            kw = dict(loss="subtb", log_f=f, energies=e, lambda_=0.8)
            args = lambda a: (a, pb, r, lengths) if name == "log_pf" else (pf, pb, r, lengths)  # noqa: E731
            if name == "log_f":
                lp = trajectory_loss(*args(plus), **dict(kw, log_f=plus))[0]
                lm = trajectory_loss(*args(minus), **dict(kw, log_f=minus))[0]
            else:
                lp = trajectory_loss(*args(plus), **kw)[0]
                lm = trajectory_loss(*args(minus), **kw)[0]
            assert grad[t, j] == pytest.approx((lp - lm) / (2 * h), abs=2e-3), (name, t, j)


def test_incomplete_trajectories_match_numpy():
    rng = np.random.default_rng(7)
    t, b = 5, 3
    pf, pb = rng.normal(-1, .3, (t, b)).astype(np.float32), rng.normal(-.5, .3, (t, b)).astype(np.float32)
    f, e = rng.normal(0, 1, (t, b)).astype(np.float32), rng.normal(0, .5, (t, b)).astype(np.float32)
    lengths, complete = np.array([4, 3, 2]), np.array([False, True, False])
    r = np.array([np.nan, 0.3, np.nan], np.float32)
    loss, g = trajectory_loss(pf, pb, r, lengths, loss="subtb", log_f=f, energies=e, lambda_=0.7, complete=complete)
    lam, total = 0.7, 0.0
    for j, n in enumerate(lengths):
        flows = list(f[:, j] - e[:, j])
        if complete[j]:
            flows = flows[:n] + [r[j]]
        steps = [pf[k, j] - (pb[k, j] if (k < n - 1 or not complete[j]) else 0) for k in range(n)]
        norm = sum((n - m) * lam ** m for m in range(n))
        for i in range(n):
            for k in range(i + 1, n + 1):
                d = flows[i] + sum(steps[i:k]) - flows[k]
                total += lam ** (k - i - 1) * d * d / norm
    assert loss == pytest.approx(total / b, rel=1e-5)
    assert g["log_f"][4, 0] != 0 and g["log_f"][3, 1] == 0     # s_n of an incomplete one has a flow
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb, r, lengths, loss="tb", complete=complete)
    assert info.value.status == C.ERR_INVALID_ARGUMENT


def test_batch_first_and_zvar_db():
    pf, pb, f, _, r, lengths = _random_batch(3)
    a, ga = trajectory_loss(pf, pb, r, lengths, loss="db", log_f=f)
    b, gb = trajectory_loss(pf.T, pb.T, r, lengths, loss="db", log_f=f.T, batch_first=True)
    assert a == b
    np.testing.assert_array_equal(ga["log_f"], gb["log_f"].T)
    z, gz = trajectory_loss(pf, pb, r, lengths, loss="zvar")
    _, deltas = _numpy_tb(pf, pb, r, lengths, 0.0)
    assert z == pytest.approx(np.mean((deltas - deltas.mean()) ** 2), rel=1e-4)
    assert gz["log_z"] == 0


def test_python_level_errors():
    pf, pb, f, _, r, lengths = _random_batch(4)
    bad = pf.copy()
    bad[0, 0] = np.nan                      # inside trajectory 0
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(bad, pb, r, lengths)
    assert info.value.status == C.ERR_NON_FINITE and "log_pf" in str(info.value)
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb, r, np.where(np.arange(len(lengths)) == 1, 99, lengths))
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb, r, lengths, loss="subtb")              # no log F
    assert info.value.status == C.ERR_NULL_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb, r, lengths, loss="fm")
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf[:, :0], pb[:, :0], r[:0], lengths[:0])      # zero batch
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb, r, lengths, loss="subtb", log_f=f, lambda_=1.5)
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        trajectory_loss(pf, pb[:2], r, lengths)
    assert info.value.status == C.ERR_SHAPE_MISMATCH


def test_raw_external_loss_misuse(lib):
    pf = (ctypes.c_float * 4)(-1, -1, -1, -1)
    r = (ctypes.c_float * 2)(0, 0)
    n = (ctypes.c_uint32 * 2)(2, 1)
    out = ctypes.c_float()
    batch = lib.fg_gfn_external_default_batch()
    assert batch.struct_size == ctypes.sizeof(ExternalBatch)
    assert batch.loss == 0 and batch.lambda_ == pytest.approx(0.9)
    _expect(lib, lib.fg_gfn_external_loss(None, ctypes.byref(out), None, None, None, 0, None), C.ERR_NULL_ARGUMENT)
    batch.max_length, batch.batch_size = 2, 2
    batch.log_pf = batch.log_pb = ctypes.cast(pf, ctypes.POINTER(ctypes.c_float))
    batch.log_r = ctypes.cast(r, ctypes.POINTER(ctypes.c_float))
    batch.lengths = ctypes.cast(n, ctypes.POINTER(ctypes.c_uint32))
    _expect(lib, lib.fg_gfn_external_loss(ctypes.byref(batch), None, None, None, None, 0, None), C.ERR_NULL_ARGUMENT)
    assert lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out), None, None, None, 0, None) == C.OK
    # TB, log Z 0 (log_pb = log_pf = -1): delta_0 = -2 + 1 = -1 (one P_B step), delta_1 = -1 -> 1.
    assert out.value == pytest.approx(1.0)
    small = (ctypes.c_float * 3)()
    _expect(lib, lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out), small, None, None, 3, None),
            C.ERR_BUFFER_TOO_SMALL)
    batch.lengths = None
    _expect(lib, lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out), None, None, None, 0, None),
            C.ERR_NULL_ARGUMENT)
    batch.lengths = ctypes.cast(n, ctypes.POINTER(ctypes.c_uint32))
    for field, value, status in (("loss", 99, C.ERR_UNKNOWN_ENUM), ("struct_size", 8, C.ERR_STRUCT_SIZE),
                                 ("max_length", 0, C.ERR_INVALID_ARGUMENT), ("batch_size", 1 << 40, C.ERR_OUT_OF_MEMORY),
                                 ("log_z", float("inf"), C.ERR_NON_FINITE)):
        saved = getattr(batch, field)
        setattr(batch, field, value)
        _expect(lib, lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out), None, None, None, 0, None), status)
        setattr(batch, field, saved)
    assert lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out), None, None, None, 0, None) == C.OK


# ------------------------------------------------------------------------------------------------
# User environments written in Python (flowgen.gfn_env)
# ------------------------------------------------------------------------------------------------

import flowgen  # noqa: E402
from flowgen.gfn_env import Environment, gflownet  # noqa: E402


class PyGrid(Environment):
    """torchgfn's HyperGrid in numpy (R0 = 0.1, R1 = 0.5, R2 = 2)."""

    def __init__(self, ndim=2, height=8):
        self.ndim, self.height = ndim, height
        self.state_dim, self.n_actions, self.encoding_dim = ndim, ndim + 1, ndim * height
        self.max_length = ndim * (height - 1) + 1
        self.initial_state = [0] * ndim
        self.n_states = height ** ndim
        self.fail = None

    def _maybe_fail(self, name):
        if self.fail == name:
            raise RuntimeError("synthetic failure in " + name)

    def forward_mask(self, s):
        self._maybe_fail("forward_mask")
        return np.concatenate([s < self.height - 1, np.ones((len(s), 1), bool)], axis=1)

    def backward_mask(self, s):
        return s > 0

    def step(self, s, a):
        self._maybe_fail("step")
        out = s.copy()
        out[np.arange(len(s)), a] += 1
        return out

    def backward_step(self, s, a):
        out = s.copy()
        out[np.arange(len(s)), a] -= 1
        return out

    def log_reward(self, s):
        self._maybe_fail("log_reward")
        ad = np.abs(s / (self.height - 1) - 0.5)
        outer = np.all(0.25 + 1e-12 < ad, axis=1)
        band = np.all((0.3 + 1e-12 < ad) & (ad < 0.4 - 1e-12), axis=1)
        return np.log(0.1 + 0.5 * outer + 2.0 * band)

    def encode(self, s):
        self._maybe_fail("encode")
        out = np.zeros((len(s), self.encoding_dim), np.float32)
        for d in range(self.ndim):
            out[np.arange(len(s)), d * self.height + s[:, d]] = 1
        return out

    def all_states(self):
        i = np.arange(self.n_states)
        return np.stack([(i // self.height ** d) % self.height for d in range(self.ndim)], axis=1)


def test_python_grid_reproduces_builtin_bit_for_bit():
    options = dict(loss="subtb", batch_size=16, hidden_width=64, seed=4)
    with flowgen.GFlowNet(ndim=2, height=8, **options) as builtin, gflownet(PyGrid(), **options) as user:
        assert builtin.train(800) == user.train(800)
        np.testing.assert_array_equal(builtin.exact_distribution(), user.exact_distribution())
        np.testing.assert_array_equal(builtin.target_distribution(), user.target_distribution())
        assert builtin.metrics() == user.metrics()
        np.testing.assert_array_equal(builtin.sample(30, seed=2), user.sample(30, seed=2))


def test_python_env_checkpoint_loads_with_the_same_environment(tmp_path):
    path = str(tmp_path / "user.safetensors")
    options = dict(loss="tb", batch_size=8, hidden_width=32, seed=6)
    with gflownet(PyGrid(2, 5), **options) as gfn:
        gfn.set_replay(20, kind="prioritized")
        gfn.train(64)
        gfn.save(path)
        with pytest.raises(FlowgenError) as info:
            flowgen.GFlowNet.load(path)
        assert info.value.status == C.ERR_INVALID_ARGUMENT and "user environment" in str(info.value)
        with pytest.raises(FlowgenError) as info:
            flowgen.GFlowNet.load(path, env=PyGrid(2, 4))
        assert info.value.status == C.ERR_INVALID_ARGUMENT and "does not match" in str(info.value)
        with pytest.raises(FlowgenError):
            flowgen.GFlowNet.load(path, env=PyGrid(2, 5), log_reward=lambda x: np.zeros(len(x)))
        with flowgen.GFlowNet.load(path, env=PyGrid(2, 5)) as loaded:
            assert loaded.step == gfn.step and loaded.replay_count == gfn.replay_count == 20
            gfn.train(32)
            loaded.train(32)
            np.testing.assert_array_equal(loaded.exact_distribution(), gfn.exact_distribution())
            np.testing.assert_array_equal(loaded.sample(16, seed=3), gfn.sample(16, seed=3))


def test_python_env_as_dict_and_training_converges():
    grid = PyGrid(2, 4)
    table = {name: getattr(grid, name) for name in ("forward_mask", "backward_mask", "step", "backward_step",
                                                    "log_reward", "encode", "all_states")}
    table.update(state_dim=2, n_actions=3, encoding_dim=8, max_length=7, initial_state=[0, 0], n_states=16)
    with gflownet(table, loss="tb", batch_size=16, hidden_width=64, seed=1) as gfn:
        first = gfn.metrics()["l1"]
        gfn.train(3200)
        m = gfn.metrics()
        assert m["l1"] < 0.1 < first, (first, m)
        assert abs(m["log_z"] - m["log_z_true"]) < 0.1


def test_python_env_exceptions_leave_gfn_unchanged_and_usable(tmp_path):
    grid = PyGrid(2, 4)
    with gflownet(grid, loss="tb", batch_size=8, hidden_width=32, seed=2) as gfn:
        gfn.train(16)
        before = gfn.exact_distribution()
        for name in ("forward_mask", "step", "log_reward", "encode"):
            grid.fail = name
            with pytest.raises(RuntimeError, match="synthetic failure in " + name):
                gfn.train(8)
            grid.fail = None
            assert gfn.step == 2
            np.testing.assert_array_equal(gfn.exact_distribution(), before)
        grid.fail = "forward_mask"
        with pytest.raises(RuntimeError):
            gfn.metrics()
        with pytest.raises(RuntimeError):
            gfn.sample(3)
        grid.fail = None
        gfn.train(8)
        assert gfn.step == 3


def test_python_env_validation():
    class Bad(PyGrid):
        def step(self, s, a):                 # moves the wrong coordinate
            out = s.copy()
            out[np.arange(len(s)), (a + 1) % self.ndim] += 1
            return out

    with pytest.raises(FlowgenError) as info:
        gflownet(Bad(2, 4), seed=0)
    assert info.value.status == C.ERR_CALLBACK and "disagree" in str(info.value)

    class NoEnum(Bad):
        n_states = 0

    bad = NoEnum(2, 4)
    bad.n_states = 0
    with gflownet(bad, hidden_width=16) as gfn:
        with pytest.raises(FlowgenError) as info:
            gfn.train(4)
        assert info.value.status == C.ERR_CALLBACK and gfn.step == 0

    class NaNReward(PyGrid):
        def log_reward(self, s):
            return np.full(len(s), np.nan)

    with gflownet(NaNReward(2, 4), hidden_width=16) as gfn:
        with pytest.raises(FlowgenError) as info:
            gfn.train(4)
        assert info.value.status == C.ERR_NON_FINITE

    class Shape(PyGrid):
        def encode(self, s):
            return np.zeros((len(s), 3), np.float32)

    with pytest.raises(ValueError, match="encode returned shape"):
        gflownet(Shape(2, 4), hidden_width=16).train(4)
    with pytest.raises(FlowgenError) as info:
        gflownet({"state_dim": 2}, seed=0)
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        gflownet(PyGrid(2, 4), no_such_option=1)
    assert info.value.status == C.ERR_INVALID_ARGUMENT


# ------------------------------------------------------------------------------------------------
# Replay buffers
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["trajectory", "backward", "prioritized"])
def test_replay_training_converges(kind):
    with flowgen.GFlowNet(ndim=2, height=6, hidden_width=64, batch_size=16, seed=3) as gfn:
        gfn.set_replay(500, ratio=0.5, kind=kind)
        gfn.train(10000)      # measured L1: trajectory 0.031, backward 0.027, prioritized 0.054
        m = gfn.metrics()
        assert gfn.replay_count == 500
        assert m["l1"] < 0.1, m
        assert abs(m["log_z"] - m["log_z_true"]) < 0.1, m


@pytest.mark.parametrize("kind", ["trajectory", "backward", "prioritized"])
def test_replay_buffer_is_saved_and_resumes_exactly(kind, tmp_path):
    path = str(tmp_path / "gfn.safetensors")
    with flowgen.GFlowNet(ndim=2, height=5, hidden_width=16, batch_size=8, seed=4) as gfn:
        gfn.set_replay(12, ratio=0.5, kind=kind)
        gfn.train(40)
        gfn.save(path)
        with flowgen.GFlowNet.load(path) as loaded:
            assert loaded.replay_count == gfn.replay_count == 12
            gfn.train(48)
            loaded.train(48)
            assert np.array_equal(loaded.sample(64, seed=1), gfn.sample(64, seed=1))
            assert loaded.metrics()["l1"] == gfn.metrics()["l1"]


def test_replay_misuse(lib):
    with flowgen.GFlowNet(hidden_width=16) as gfn:
        with pytest.raises(FlowgenError) as info:
            gfn.set_replay(10, ratio=1.0)
        assert info.value.status == C.ERR_INVALID_ARGUMENT
        with pytest.raises(FlowgenError) as info:
            gfn.set_replay(10, kind="sideways")
        assert info.value.status == C.ERR_UNKNOWN_ENUM
        with pytest.raises(FlowgenError) as info:
            gfn.set_replay((1 << 24) + 1)
        assert info.value.status == C.ERR_INVALID_ARGUMENT
        gfn.set_replay(10, ratio=0.5)
        gfn.train(64)
        assert gfn.replay_count == 10
        gfn.set_replay(0)
        assert gfn.replay_count == 0
    p = lib.fg_gfn_replay_default_params()
    assert p.capacity == 0 and p.ratio == pytest.approx(0.5)
    _expect(lib, lib.fg_gfn_set_replay(None, ctypes.byref(p)), C.ERR_NULL_ARGUMENT)
    assert lib.fg_gfn_replay_count(None) == 0
    with flowgen.GFlowNet(hidden_width=16) as gfn:
        with gfn._use() as handle:
            p.struct_size = 3
            _expect(lib, lib.fg_gfn_set_replay(handle, ctypes.byref(p)), C.ERR_STRUCT_SIZE)
            p.struct_size = ctypes.sizeof(p)
            p.kind = 9
            p.capacity = 5
            _expect(lib, lib.fg_gfn_set_replay(handle, ctypes.byref(p)), C.ERR_UNKNOWN_ENUM)
            p.kind = 0
            p.ratio = float("nan")
            _expect(lib, lib.fg_gfn_set_replay(handle, ctypes.byref(p)), C.ERR_INVALID_ARGUMENT)
            assert lib.fg_gfn_set_replay(handle, None) == C.OK


# ------------------------------------------------------------------------------------------------
# Conditional GFlowNets
# ------------------------------------------------------------------------------------------------

from flowgen.gfn_cond import ConditionalGFlowNet  # noqa: E402


def _cond_reward(states, conditions):
    # c = (1, 0): a tilt towards large x0; c = (0, 1): towards large x1.
    return 0.5 * conditions[:, 0] * states[:, 0] + 0.5 * conditions[:, 1] * states[:, 1]


def test_conditional_gflownet_learns_both_targets():
    with ConditionalGFlowNet(2, _cond_reward, ndim=2, height=5, hidden_width=64, batch_size=16, seed=1) as gfn:
        gfn.train(6400, [[1, 0], [0, 1]])
        for cond in ([1, 0], [0, 1]):
            learned, target = gfn.exact_distribution(cond), gfn.target_distribution(cond)
            l1 = float(np.abs(learned - target).sum())
            z, z_true = gfn.log_z(cond)
            assert l1 < 0.08, (cond, l1)
            assert abs(z - z_true) < 0.08, (cond, z, z_true)
        s0 = gfn.sample(300, [1, 0], seed=1)
        s1 = gfn.sample(300, [0, 1], seed=1)
        assert s0[:, 0].mean() > s0[:, 1].mean() + 0.5 and s1[:, 1].mean() > s1[:, 0].mean() + 0.5


def test_conditional_gflownet_errors(lib):
    calls = []

    def reward(states, conditions):
        calls.append(len(states))
        if len(calls) > 2:
            raise KeyError("stop")
        return np.zeros(len(states))

    with ConditionalGFlowNet(1, reward, ndim=2, height=4, hidden_width=16, batch_size=4) as gfn:
        gfn.train(8, [[0.0]])
        before = gfn.exact_distribution([0.0])
        with pytest.raises(KeyError):
            gfn.train(4, [[0.0]])
        np.testing.assert_array_equal(gfn.exact_distribution([0.0]), before)
        with pytest.raises(FlowgenError) as info:
            gfn.train(4, [[float("nan")]])
        assert info.value.status == C.ERR_NON_FINITE
        with pytest.raises(FlowgenError) as info:
            gfn.sample(3, [1.0, 2.0])
        assert info.value.status == C.ERR_SHAPE_MISMATCH
    with pytest.raises(FlowgenError) as info:
        ConditionalGFlowNet(1, reward, loss="fm")
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        ConditionalGFlowNet(0, reward)
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    out = ctypes.c_void_p()
    _expect(lib, lib.fg_gfn_cond_create(None, 1, ctypes.cast(None, G.CondLogRewardFn), None, ctypes.byref(out)),
            C.ERR_NULL_ARGUMENT)
    z = ctypes.c_float()
    _expect(lib, lib.fg_gfn_cond_log_z(None, None, ctypes.byref(z), None), C.ERR_NULL_ARGUMENT)
    _expect(lib, lib.fg_gfn_cond_train(None, None, 1, 1, ctypes.cast(None, G._ProgressFn), None, None), C.ERR_NULL_ARGUMENT)
    lib.fg_gfn_cond_free(None)


def test_conditional_gflownet_on_python_environment_matches_hypergrid_version():
    # The same conditional run on the built-in grid and on PyGrid (a user environment) is bit-identical.
    options = dict(ndim=2, height=5, hidden_width=32, batch_size=8, seed=2)
    grid = PyGrid(2, 5)
    with ConditionalGFlowNet(2, _cond_reward, **options) as a, \
            ConditionalGFlowNet(2, _cond_reward, environment=grid, **options) as b:
        assert a.train(320, [[1, 0], [0, 1]]) == b.train(320, [[1, 0], [0, 1]])
        np.testing.assert_array_equal(a.exact_distribution([0, 1]), b.exact_distribution([0, 1]))
        np.testing.assert_array_equal(a.target_distribution([1, 0]), b.target_distribution([1, 0]))
        np.testing.assert_array_equal(a.sample(20, [1, 0], seed=4), b.sample(20, [1, 0], seed=4))
        grid.fail = "step"
        with pytest.raises(RuntimeError, match="synthetic failure in step"):
            b.train(8, [[1, 0]])
        grid.fail = None
        assert a.train(8, [[1, 0]]) == b.train(8, [[1, 0]])


def test_conditional_gflownet_save_load_resumes_exactly(lib, tmp_path):
    """Pre-train, save, load with the same reward, fine-tune: identical to continuing in memory; on a user
    environment the environment must be given again."""
    path = str(tmp_path / "cond.safetensors")
    options = dict(ndim=2, height=5, hidden_width=16, batch_size=8, seed=5)
    for environment in (None, PyGrid(2, 5)):
        with ConditionalGFlowNet(2, _cond_reward, environment=environment, **options) as gfn:
            gfn.train(64, [[1, 0], [0, 1]])
            gfn.save(path)
            with ConditionalGFlowNet.load(path, _cond_reward, environment=environment) as loaded:
                assert (loaded.condition_dim, loaded.ndim) == (2, 2)
                assert loaded.train(40, [[1, 0]]) == gfn.train(40, [[1, 0]])
                np.testing.assert_array_equal(loaded.exact_distribution([1, 0]), gfn.exact_distribution([1, 0]))
                np.testing.assert_array_equal(loaded.sample(16, [0, 1], seed=3), gfn.sample(16, [0, 1], seed=3))
                assert loaded.log_z([0, 1]) == gfn.log_z([0, 1])
            if environment is not None:
                with pytest.raises(FlowgenError) as info:
                    ConditionalGFlowNet.load(path, _cond_reward)
                assert info.value.status == C.ERR_INVALID_ARGUMENT and "user environment" in str(info.value)
                with pytest.raises(FlowgenError) as info:
                    ConditionalGFlowNet.load(path, _cond_reward, environment=PyGrid(2, 4))
                assert info.value.status == C.ERR_INVALID_ARGUMENT
    out = ctypes.c_void_p(0x1234)
    fn = G.CondLogRewardFn(lambda *a: 0)
    _expect(lib, lib.fg_gfn_cond_load(path.encode(), ctypes.cast(None, G.CondLogRewardFn), None, ctypes.byref(out)),
            C.ERR_NULL_ARGUMENT)
    assert out.value is None
    _expect(lib, lib.fg_gfn_cond_load(None, fn, None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
    _expect(lib, lib.fg_gfn_cond_load(path.encode(), fn, None, None), C.ERR_NULL_ARGUMENT)
    _expect(lib, lib.fg_gfn_cond_load((path + ".missing").encode(), fn, None, ctypes.byref(out)), C.ERR_IO)
    _expect(lib, lib.fg_gfn_cond_load_with_env(path.encode(), None, fn, None, ctypes.byref(out)), C.ERR_NULL_ARGUMENT)
    _expect(lib, lib.fg_gfn_cond_save(None, path.encode()), C.ERR_NULL_ARGUMENT)
    assert lib.fg_gfn_cond_condition_dim(None) == 0 and lib.fg_gfn_cond_state_dim(None) == 0
    # Single-byte corruptions: a clean load (e.g. a changed weight) or a status, never a crash.
    with ConditionalGFlowNet(2, _cond_reward, **options) as gfn:
        gfn.save(path)
    blob = bytearray(open(path, "rb").read())
    bad = str(tmp_path / "bad.safetensors")
    for position in sorted(set(np.random.default_rng(1).integers(0, len(blob), size=600).tolist())):
        changed = bytearray(blob)
        changed[position] ^= 0xFF
        with open(bad, "wb") as handle:
            handle.write(changed)
        status = lib.fg_gfn_cond_load(bad.encode(), fn, None, ctypes.byref(out))
        assert status in (C.OK, C.ERR_CORRUPT_FILE, C.ERR_INVALID_ARGUMENT), (position, status)
        if status == C.OK:
            lib.fg_gfn_cond_free(out.value)
    with flowgen.GFlowNet(ndim=2, height=4, hidden_width=8) as plain:
        plain.save(path)
    _expect(lib, lib.fg_gfn_cond_load(path.encode(), fn, None, ctypes.byref(out)), C.ERR_CORRUPT_FILE)
    assert out.value is None


def test_corrupted_checkpoints_with_replay_never_crash(lib, tmp_path):
    """Single-byte corruptions anywhere in a checkpoint holding a replay buffer: the load either succeeds
    (a change the validation accepts, e.g. in a weight) and the GFlowNet trains, or fails with a status."""
    path = str(tmp_path / "g.safetensors")
    with flowgen.GFlowNet(ndim=2, height=4, hidden_width=8, batch_size=8, seed=2) as gfn:
        gfn.set_replay(10, kind="trajectory")
        gfn.train(40)
        gfn.save(path)
    blob = bytearray(open(path, "rb").read())
    rng = np.random.default_rng(0)
    positions = sorted(set(rng.integers(0, len(blob), size=1500).tolist()) | set(range(len(blob) - 600, len(blob))))
    bad = str(tmp_path / "bad.safetensors")
    statuses = set()
    for position in positions:
        changed = bytearray(blob)
        changed[position] ^= 0xFF
        with open(bad, "wb") as handle:
            handle.write(changed)
        out = ctypes.c_void_p()
        status = lib.fg_gfn_load(bad.encode(), ctypes.byref(out))
        statuses.add(status)
        assert status in (C.OK, C.ERR_CORRUPT_FILE, C.ERR_INVALID_ARGUMENT), (position, status)
        if status == C.OK:
            assert lib.fg_gfn_train(out.value, 8, G._ProgressFn(0), None, None) in (C.OK, C.ERR_NON_FINITE)
            lib.fg_gfn_free(out.value)
        else:
            assert not out.value
    assert C.ERR_CORRUPT_FILE in statuses and C.OK in statuses
