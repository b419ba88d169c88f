"""GFlowNet: a generative flow network trained inside libflowgen (fg_gfn_* of include/flowgen.h)."""
import ctypes
import math

import numpy as np

from . import constants as _c
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from ._sig_gfn import GFN_ENVS, GFN_LOSSES, GFNMetrics, LogRewardFn
from .errors import InternalError, InvalidArgumentError, check
from .mlp import _encode_path, _enum, _real, _unsigned

__all__ = ["GFlowNet"]


class GFlowNet(NativeHandle):
    """A GFlowNet on a built-in environment: learns to sample x with probability R(x)/Z.

    Args:
        env: "hypergrid", "bitseq", "ising" or "set" (FG_GFN_ENV_* of include/flowgen.h).
        ndim, height: HyperGrid size (D >= 1, H >= 2).
        r0, r1, r2: HyperGrid reward R0 > 0, R1, R2 >= 0.
        seq_len, word_size, n_modes, mode_threshold: bitseq (n bits from k-bit words, k divides n;
            log R = -beta * Hamming distance to the nearest of n_modes seeded mode strings).
        ising_side, ising_dims, coupling: ising (all pairs (0), ring (1) or torus (2) of side L,
            log R = J sum s_i s_j).
        n_items, set_size: set (choose set_size of n_items; log R = -sum of seeded item energies).
        beta: bitseq / set reward scale (>= 0). env_seed: bitseq modes / set energies seed.
        loss: "tb", "db", "subtb", "fm", "zvar", "moddb" (hypergrid), "fldb" or "flsubtb"
            (forward-looking: bitseq, ising, set) (or an FG_GFN_LOSS_* integer).
        lambda_: SubTB lambda in (0, 1]. batch_size: trajectories per step.
        hidden_width, hidden_layers: the policy MLP. learning_rate, log_z_learning_rate: Adam rates.
        epsilon, temperature: exploration while training (losses use the unperturbed policy).
        uniform_pb: uniform backward policy. seed: uint64.
        log_reward: optional ``log_reward(states) -> log R`` replacing the structure's reward
            (reward-only mode, any ``env``): called with an int32 array [n, state_dim] of terminal
            states (grid cells, bit-sequence words, spins, set flags), it returns n finite log
            rewards; forward-looking losses are refused (no intermediate rewards). An exception raised inside stops the flowgen call and is re-raised.
        max_rollout_steps: truncated rollouts (see :meth:`set_max_rollout_steps`; fldb/flsubtb only).
    Options left as None take fg_gfn_default_params() (2-D H8 grid, TB, batch 16, 2x256 MLP,
    lr 1e-3, log Z lr 0.1). One thread at a time uses a GFlowNet; close() or a ``with`` block
    releases it.
    """

    _FIELDS = {"ndim": 32, "height": 32, "batch_size": 32, "hidden_width": 32, "hidden_layers": 32,
               "seed": 64}
    _free_name = "fg_gfn_free"
    _kind = "GFlowNet"
    _REALS = ("r0", "r1", "r2", "lambda_", "learning_rate", "log_z_learning_rate", "epsilon",
              "temperature")

    def __init__(self, env="hypergrid", *, ndim=None, height=None, r0=None, r1=None, r2=None,
                 loss=None, lambda_=None, batch_size=None, hidden_width=None, hidden_layers=None,
                 learning_rate=None, log_z_learning_rate=None, epsilon=None, temperature=None,
                 uniform_pb=None, seed=None, log_reward=None, seq_len=None, word_size=None, n_modes=None,
                 mode_threshold=None, ising_side=None, ising_dims=None, coupling=None, n_items=None,
                 set_size=None, beta=None, env_seed=None, max_rollout_steps=None):
        self._init_handle()
        self._reward_errors = []
        self._reward_callback = None
        lib = get_lib()
        params = lib.fg_gfn_default_params()
        params.env = _enum("env", env, GFN_ENVS)
        values = dict(ndim=ndim, height=height, r0=r0, r1=r1, r2=r2, lambda_=lambda_,
                      batch_size=batch_size, hidden_width=hidden_width, hidden_layers=hidden_layers,
                      learning_rate=learning_rate, log_z_learning_rate=log_z_learning_rate,
                      epsilon=epsilon, temperature=temperature, seed=seed)
        for name, value in values.items():
            if value is None:
                continue
            if name in self._FIELDS:
                setattr(params, name, _unsigned(name, value, self._FIELDS[name]))
            else:
                setattr(params, name, _real(name, value))
        if loss is not None:
            params.loss = _enum("loss", loss, GFN_LOSSES)
        if uniform_pb is not None:
            params.uniform_pb = 1 if uniform_pb else 0
        env_params = lib.fg_gfn_default_env_params()
        env_values = dict(seq_len=seq_len, word_size=word_size, n_modes=n_modes, mode_threshold=mode_threshold,
                          ising_side=ising_side, ising_dims=ising_dims, n_items=n_items, set_size=set_size,
                          env_seed=env_seed, coupling=coupling, beta=beta)
        for name, value in env_values.items():
            if value is None:
                continue
            if name in ("coupling", "beta"):
                setattr(env_params, name, _real(name, value))
            else:
                setattr(env_params, name, _unsigned(name, value, 64 if name == "env_seed" else 32))
        out = ctypes.c_void_p()
        if log_reward is None:
            check(lib.fg_gfn_create_env(ctypes.byref(params), ctypes.byref(env_params), ctypes.byref(out)), lib)
        else:
            self._reward_callback = self._make_reward_callback(log_reward)
            status = lib.fg_gfn_create_env_with_reward(ctypes.byref(params), ctypes.byref(env_params),
                                                       self._reward_callback, None, ctypes.byref(out))
            self._check(status)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_gfn_create returned FG_OK and a NULL handle")
        self._handle = out.value
        if max_rollout_steps is not None:
            try:
                self.set_max_rollout_steps(max_rollout_steps)
            except BaseException:
                self.close()
                raise

    @classmethod
    def load(cls, path, log_reward=None, env=None):
        """A GFlowNet read from a checkpoint written by save() (continues training exactly). A
        GFlowNet trained with ``log_reward`` must be loaded with that function again, one trained on a
        user environment (``flowgen.gfn_env``) with that environment (``env``)."""
        if env is not None:
            if log_reward is not None:
                raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "give log_reward or env, not both")
            from .gfn_env import load_gflownet
            return load_gflownet(path, env)
        lib = get_lib()
        model = cls.__new__(cls)
        model._init_handle()
        model._reward_errors = []
        model._reward_callback = None
        out = ctypes.c_void_p()
        if log_reward is None:
            check(lib.fg_gfn_load(_encode_path(path), ctypes.byref(out)), lib)
        else:
            model._reward_callback = model._make_reward_callback(log_reward)
            model._check(lib.fg_gfn_load_with_reward(_encode_path(path), model._reward_callback, None,
                                                     ctypes.byref(out)))
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "fg_gfn_load returned FG_OK and a NULL handle")
        model._handle = out.value
        return model

    def _make_reward_callback(self, log_reward):
        if not callable(log_reward):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                       "log_reward must be callable; got %r" % (log_reward,))
        errors = self._reward_errors
        lib = get_lib()

        def trampoline(states, n_states, state_dim, out, _user_data):
            # Nothing may escape into C: failures become a non-zero status plus a message.
            try:
                n, d = int(n_states), int(state_dim)
                x = np.ctypeslib.as_array(states, shape=(n, d)).copy() if n else np.zeros((0, d), np.int32)
                values = np.asarray(log_reward(x), dtype=np.float64).reshape(-1)
                if values.shape[0] != n:
                    raise ValueError("log_reward returned %d values for %d states" % (values.shape[0], n))
                if n:
                    np.ctypeslib.as_array(out, shape=(n,))[:] = values
                return 0
            except BaseException as error:  # noqa: B902
                errors.append(error)
                lib.fg_gfn_set_callback_error(("%s: %s" % (type(error).__name__, error)).encode(
                    "utf-8", errors="replace"))
                return 1

        return LogRewardFn(trampoline)

    def _check(self, status):
        """check() that re-raises an exception raised inside the Python reward function."""
        if self._reward_errors:
            error = self._reward_errors[0]
            del self._reward_errors[:]
            raise error
        check(status, get_lib())

    # -- lifetime ----------------------------------------------------------------------------------

    def __repr__(self):
        if self.closed:
            return "<flowgen.GFlowNet (closed)>"
        return "<flowgen.GFlowNet state_dim %d, step %d>" % (self.state_dim, self.step)

    # -- properties --------------------------------------------------------------------------------

    @property
    def state_dim(self):
        """Entries per state (HyperGrid: ndim)."""
        with self._use() as handle:
            return int(get_lib().fg_gfn_state_dim(handle))

    @property
    def state_count(self):
        """Number of enumerable states (0 when above 2^24)."""
        with self._use() as handle:
            return int(get_lib().fg_gfn_state_count(handle))

    @property
    def step(self):
        """Optimizer steps taken so far."""
        with self._use() as handle:
            return int(get_lib().fg_gfn_step(handle))

    # -- work --------------------------------------------------------------------------------------

    def train(self, n_trajectories, progress=None):
        """Trains on ``n_trajectories`` new trajectories; returns the last loss.

        progress: optional ``progress(step, total, loss)``; a truthy return stops training
        (FlowgenError with FG_ERR_CANCELLED; the steps done are kept). An exception raised by it also
        stops training and is re-raised here.
        """
        n = _unsigned("n_trajectories", n_trajectories, 64)
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        raised = []
        callback = progress_callback(progress, raised)  # referenced until the call returns
        with self._use() as handle:
            status = lib.fg_gfn_train(handle, n, callback, None, ctypes.byref(loss))
            if raised:
                del self._reward_errors[:]
                raise raised[0]
            self._check(status)
        return float(loss.value)

    def sample(self, k, seed=0):
        """``k`` terminal objects from the learned policy as an int32 array [k, state_dim]."""
        k = _unsigned("k", k, 64)
        seed = _unsigned("seed", seed, 64)
        lib = get_lib()
        with self._use() as handle:
            dim = int(lib.fg_gfn_state_dim(handle))
            dst = np.empty((k, dim), dtype=np.int32)
            written = ctypes.c_size_t(0)
            status = lib.fg_gfn_sample(handle, k, seed, dst.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                       dst.size, ctypes.byref(written))
            self._check(status)
        return dst

    def _distribution(self, function):
        with self._use() as handle:
            needed = ctypes.c_size_t(0)
            self._check(function(handle, None, 0, ctypes.byref(needed)))
            dst = np.empty(needed.value, dtype=np.float32)
            self._check(function(handle, dst.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), dst.size,
                                 ctypes.byref(needed)))
        return dst

    def exact_distribution(self):
        """Exact P_T of the current policy over all states [state_count] (float32), in the
        environment's enumeration order: hypergrid cell x_d = (i // H**d) % H; bitseq by length, then
        the words as a base-2^k number; ising i = sum_j (x_j + 1) 3^j; set i = sum_j x_j 2^j.
        Non-terminal states have probability 0."""
        return self._distribution(get_lib().fg_gfn_exact_distribution)

    def target_distribution(self):
        """R(x)/Z over all states, same order as exact_distribution()."""
        return self._distribution(get_lib().fg_gfn_target_distribution)

    def metrics(self):
        """Exact metrics as a dict: l1, tv, jsd, log_z, log_z_true, modes_found, n_modes,
        trajectories, mode_regions_found, n_mode_regions, log_corr (Pearson correlation of log P_T
        with log R over the terminal objects)."""
        lib = get_lib()
        out = GFNMetrics()
        out.struct_size = ctypes.sizeof(GFNMetrics)
        with self._use() as handle:
            self._check(lib.fg_gfn_evaluate(handle, ctypes.byref(out)))
        return {name: getattr(out, name) for name, _ in GFNMetrics._fields_
                if name not in ("struct_size", "reserved")}

    def save(self, path):
        """Writes a safetensors checkpoint (weights, log Z, optimizer, counters, generator state)."""
        raw = _encode_path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_gfn_save(handle, raw), lib)
