"""Conditional GFlowNets on a HyperGrid (fg_gfn_cond_* of include/flowgen.h): one policy samples x with
probability R(x | c)/Z(c) for any condition vector c; log Z(c) is a small MLP of c."""
import ctypes
import math

import numpy as np

from . import constants as _c
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from ._sig_gfn_api import CondLogRewardFn
from .errors import InternalError, InvalidArgumentError, ShapeMismatchError
from .gfn_env import _check_environment, _env_table, _params
from .mlp import _unsigned

__all__ = ["ConditionalGFlowNet"]

_f32p = ctypes.POINTER(ctypes.c_float)


class ConditionalGFlowNet(NativeHandle):
    """A conditional GFlowNet on the HyperGrid ``ndim`` x ``height`` or on a user environment.

    Args:
        condition_dim: entries of each condition vector (1 ... 4096).
        log_reward: ``log_reward(states, conditions) -> log R`` with int32 states [n, ndim] and float32
            conditions [n, condition_dim]; returns n finite values. An exception raised inside stops the
            flowgen call (nothing changes) and is re-raised.
        environment: optional user environment (a flowgen.gfn_env.Environment or dict; its log_reward
            is not needed) replacing the HyperGrid; states passed to log_reward are its states.
        options: fg_gfn_params fields by name (ndim, height, loss "tb"/"db"/"subtb"/"zvar", batch_size,
            hidden_width, hidden_layers, learning_rate, log_z_learning_rate (for the log Z(c) MLP),
            epsilon, temperature, uniform_pb, seed, lambda_).
    """

    _free_name = "fg_gfn_cond_free"
    _kind = "ConditionalGFlowNet"

    def __init__(self, condition_dim, log_reward, environment=None, **options):
        self._init_handle()
        self.condition_dim = _unsigned("condition_dim", condition_dim, 32)
        params = _params(options)
        self.ndim = int(params.ndim)
        table = self._prepare(log_reward, environment)
        lib = get_lib()
        out = ctypes.c_void_p()
        if table is None:
            status = lib.fg_gfn_cond_create(ctypes.byref(params), self.condition_dim, self._callback, None,
                                            ctypes.byref(out))
        else:
            status = lib.fg_gfn_cond_create_with_env(ctypes.byref(params), ctypes.byref(table), self.condition_dim,
                                                     self._callback, None, ctypes.byref(out))
        self._adopt(status, out, "fg_gfn_cond_create")

    @classmethod
    def load(cls, path, log_reward, environment=None):
        """A conditional GFlowNet read from a file written by save(), with its reward function (and its
        user environment, for one trained on a user environment). Training continues exactly."""
        from .mlp import _encode_path
        model = cls.__new__(cls)
        model._init_handle()
        table = model._prepare(log_reward, environment)
        lib = get_lib()
        out = ctypes.c_void_p()
        if table is None:
            status = lib.fg_gfn_cond_load(_encode_path(path), model._callback, None, ctypes.byref(out))
        else:
            status = lib.fg_gfn_cond_load_with_env(_encode_path(path), ctypes.byref(table), model._callback, None,
                                                   ctypes.byref(out))
        model._adopt(status, out, "fg_gfn_cond_load")
        model.condition_dim = int(lib.fg_gfn_cond_condition_dim(out.value))
        model.ndim = int(lib.fg_gfn_cond_state_dim(out.value))
        return model

    def save(self, path):
        """Writes the model (not the reward function) to ``path`` atomically (safetensors)."""
        from .mlp import _encode_path
        with self._use() as handle:
            self._check(get_lib().fg_gfn_cond_save(handle, _encode_path(path)))

    def _prepare(self, log_reward, environment):
        """Sets up the reward trampoline (and the user environment's table, returned; None without one)."""
        if not callable(log_reward):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "log_reward must be callable")
        self._errors = []
        errors = self._errors
        lib = get_lib()
        table = None
        if environment is not None:
            env = _check_environment(environment, need_reward=False)
            table, self._environment = _env_table(env, errors, with_reward=False)
            self.ndim = int(env.state_dim)

        def trampoline(states, conditions, n, dim, cdim, out, _ud):
            try:
                n, dim, cdim = int(n), int(dim), int(cdim)
                x = np.ctypeslib.as_array(states, shape=(n, dim)).copy()
                c = np.ctypeslib.as_array(conditions, shape=(n, cdim)).copy()
                values = np.asarray(log_reward(x, c), dtype=np.float64).reshape(-1)
                if values.shape[0] != n:
                    raise ValueError("log_reward returned %d values for %d states" % (values.shape[0], n))
                np.ctypeslib.as_array(out, shape=(n,))[:] = values
                return 0
            except BaseException as error:  # noqa: B902
                errors.append(error)
                lib.fg_gfn_set_callback_error(("%s: %s" % (type(error).__name__, error)).encode("utf-8", "replace"))
                return 1

        self._callback = CondLogRewardFn(trampoline)
        return table

    def _adopt(self, status, out, name):
        self._check(status)
        if not out.value:
            raise InternalError(_c.ERR_INTERNAL, "%s returned FG_OK and a NULL handle" % name)
        self._handle = out.value

    def _check(self, status):
        if self._errors:
            error = self._errors[0]
            del self._errors[:]
            raise error
        from .errors import check
        check(status, get_lib())

    def _condition(self, condition, rows=None):
        array = np.ascontiguousarray(np.asarray(condition, dtype=np.float32))
        if rows is None:
            array = array.reshape(-1)
            if array.shape[0] != self.condition_dim:
                raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "condition needs %d entries; got %d" % (
                    self.condition_dim, array.shape[0]))
        else:
            array = array.reshape(-1, self.condition_dim) if array.size % self.condition_dim == 0 else array
            if array.ndim != 2 or array.shape[1] != self.condition_dim:
                raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "conditions must be [n, %d]; got shape %s" % (
                    self.condition_dim, np.shape(condition)))
        return array

    def train(self, n_trajectories, conditions, progress=None):
        """Trains on ``n_trajectories`` trajectories whose conditions are drawn uniformly from the rows of
        ``conditions`` [n, condition_dim]; returns the last loss."""
        n = _unsigned("n_trajectories", n_trajectories, 64)
        c = self._condition(conditions, rows=True)
        lib = get_lib()
        loss = ctypes.c_float(math.nan)
        raised = []
        callback = progress_callback(progress, raised)
        with self._use() as handle:
            status = lib.fg_gfn_cond_train(handle, c.ctypes.data_as(_f32p), c.shape[0], n, callback, None,
                                           ctypes.byref(loss))
            if raised:
                del self._errors[:]
                raise raised[0]
            self._check(status)
        return float(loss.value)

    def sample(self, k, condition, seed=0):
        """``k`` cells drawn given ``condition``, int32 [k, ndim]."""
        k = _unsigned("k", k, 64)
        c = self._condition(condition)
        dst = np.empty((k, self.ndim), dtype=np.int32)
        written = ctypes.c_size_t(0)
        with self._use() as handle:
            self._check(get_lib().fg_gfn_cond_sample(handle, c.ctypes.data_as(_f32p), k, _unsigned("seed", seed, 64),
                                                     dst.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), dst.size,
                                                     ctypes.byref(written)))
        return dst

    def _distribution(self, function, condition):
        c = self._condition(condition)
        with self._use() as handle:
            needed = ctypes.c_size_t(0)
            self._check(function(handle, c.ctypes.data_as(_f32p), None, 0, ctypes.byref(needed)))
            dst = np.empty(needed.value, dtype=np.float32)
            self._check(function(handle, c.ctypes.data_as(_f32p), dst.ctypes.data_as(_f32p), dst.size,
                                 ctypes.byref(needed)))
        return dst

    def exact_distribution(self, condition):
        """Exact P_T(x | c) over all cells (float32, fg_gfn_exact_distribution's order)."""
        return self._distribution(get_lib().fg_gfn_cond_exact_distribution, condition)

    def target_distribution(self, condition):
        """R(x | c)/Z(c) over all cells."""
        return self._distribution(get_lib().fg_gfn_cond_target_distribution, condition)

    def log_z(self, condition):
        """(learned log Z(c), true log Z(c))."""
        c = self._condition(condition)
        z = ctypes.c_float(0)
        true = ctypes.c_double(0)
        with self._use() as handle:
            self._check(get_lib().fg_gfn_cond_log_z(handle, c.ctypes.data_as(_f32p), ctypes.byref(z),
                                                    ctypes.byref(true)))
        return float(z.value), float(true.value)
