"""User environments for GFlowNets written in Python (fg_gfn_create_with_env of include/flowgen.h).

Subclass :class:`Environment` (or pass a dict with the same names) and build a trainer with
:func:`gflownet`::

    class Grid(flowgen.gfn_env.Environment):
        state_dim, n_actions, encoding_dim, max_length = 2, 3, 16, 15
        initial_state = [0, 0]
        n_states = 64                            # optional: enables exact metrics
        def forward_mask(self, states): ...      # [n, n_actions] bool, exit last
        def backward_mask(self, states): ...     # [n, n_actions - 1] bool
        def step(self, states, actions): ...     # [n, state_dim] int32 children
        def backward_step(self, states, actions): ...
        def log_reward(self, states): ...        # [n] finite float
        def encode(self, states): ...            # [n, encoding_dim] float32
        def all_states(self): ...                # [n_states, state_dim], topological order

    gfn = flowgen.gfn_env.gflownet(Grid(), loss="tb", batch_size=16, seed=1)
    gfn.train(1000); gfn.metrics()

Every method receives int32 arrays [n, state_dim] (and int32 actions [n]) and is called batched.
An exception raised inside stops the flowgen call, leaves the GFlowNet unchanged and is re-raised.
flowgen checks the outputs (a state with no valid action, masks that disagree with step, non-finite
encodings or log rewards abort the call with a FlowgenError).
"""
import ctypes

import numpy as np

from . import constants as _c
from ._lib import get_lib
from ._sig_gfn import GFN_LOSSES
from ._sig_gfn_api import AllStatesFn, EncodeFn, MaskFn, StepFn
from ._sig_gfn import LogRewardFn
from .errors import InternalError, InvalidArgumentError
from .gfn import GFlowNet
from .mlp import _encode_path, _enum, _real, _unsigned

__all__ = ["Environment", "gflownet", "load_gflownet"]

_REQUIRED = ("forward_mask", "backward_mask", "step", "backward_step", "log_reward", "encode")
_SIZES = ("state_dim", "n_actions", "encoding_dim", "max_length")


class Environment:
    """Base class of Python GFlowNet environments: set the sizes and ``initial_state`` and implement
    the six batched methods (``all_states`` too when ``n_states`` > 0). See the module docstring."""

    state_dim = None
    n_actions = None
    encoding_dim = None
    max_length = None
    initial_state = None
    n_states = 0

    def all_states(self):
        raise NotImplementedError("all_states is needed when n_states > 0")


class _DictEnvironment(Environment):
    def __init__(self, table):
        for key, value in table.items():
            setattr(self, key, value)


def _params(options):
    """fg_gfn_params from keyword options: every field of the struct may be given by name (``lambda_``
    for lambda); ``loss`` takes a name or FG_GFN_LOSS_* value."""
    lib = get_lib()
    params = lib.fg_gfn_default_params()
    fields = {name: kind for name, kind in type(params)._fields_}
    for name, value in options.items():
        if value is None:
            continue
        if name == "loss":
            params.loss = _enum("loss", value, GFN_LOSSES)
        elif name not in fields or name in ("struct_size", "env"):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "unknown GFlowNet option %r" % (name,))
        elif fields[name] in (ctypes.c_float, ctypes.c_double):
            setattr(params, name, _real(name, value))
        else:
            bits = 64 if fields[name] is ctypes.c_uint64 else 32
            setattr(params, name, _unsigned(name, bool(value) if name == "uniform_pb" else value, bits))
    return params


def _check_environment(environment, need_reward=True):
    env = _DictEnvironment(environment) if isinstance(environment, dict) else environment
    for name in _SIZES:
        if getattr(env, name, None) is None:
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "the environment must set %s" % name)
    for name in _REQUIRED:
        if name == "log_reward" and not need_reward:
            continue
        if not callable(getattr(env, name, None)):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "the environment must implement %s()" % name)
    return env


def _env_table(env, errors, with_reward=True):
    """The fg_gfn_env table of a Python environment and the objects that must outlive the handle.
    Exceptions raised by the environment's methods are appended to ``errors``."""
    lib = get_lib()
    dim, actions, width = int(env.state_dim), int(env.n_actions), int(env.encoding_dim)
    n_states = int(env.n_states or 0)
    s0 = np.ascontiguousarray(np.asarray(env.initial_state, dtype=np.int32).reshape(-1))
    if s0.shape[0] != dim:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "initial_state has %d entries, state_dim is %d" % (
            s0.shape[0], dim))
    def guard(name, body):
        # Nothing may escape into C: failures become a non-zero status plus a message.
        def trampoline(*args):
            try:
                body(*args)
                return 0
            except BaseException as error:  # noqa: B902
                errors.append(error)
                lib.fg_gfn_set_callback_error(("%s: %s: %s" % (name, type(error).__name__, error)).encode(
                    "utf-8", errors="replace"))
                return 1
        return trampoline

    def states_of(pointer, n):
        return np.ctypeslib.as_array(pointer, shape=(n, dim)).copy()

    def write(name, out, values, shape, dtype):
        array = np.asarray(values, dtype=dtype)
        if array.size != int(np.prod(shape)):
            raise ValueError("%s returned shape %s, expected %s" % (name, array.shape, shape))
        np.ctypeslib.as_array(out, shape=shape)[...] = array.reshape(shape)

    def mask(name, columns):
        def body(states, n, out, _ud):
            write(name, out, getattr(env, name)(states_of(states, n)), (n, columns), np.uint8)
        return MaskFn(guard(name, body))

    def transition(name):
        def body(states, acts, n, out, _ud):
            a = np.ctypeslib.as_array(acts, shape=(n,)).copy()
            write(name, out, getattr(env, name)(states_of(states, n), a), (n, dim), np.int32)
        return StepFn(guard(name, body))

    def reward(states, n, d, out, _ud):
        write("log_reward", out, env.log_reward(states_of(states, n)), (n,), np.float64)

    def encode(states, n, out, _ud):
        write("encode", out, env.encode(states_of(states, n)), (n, width), np.float32)

    def listing(out, _ud):
        write("all_states", out, env.all_states(), (n_states, dim), np.int32)

    table = lib.fg_gfn_env_default()
    table.state_dim, table.n_actions, table.encoding_dim = dim, actions, width
    table.max_length = int(env.max_length)
    table.n_states = n_states
    table.initial_state = s0.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    callbacks = dict(forward_mask=mask("forward_mask", actions), backward_mask=mask("backward_mask", actions - 1),
                     step=transition("step"), backward_step=transition("backward_step"),
                     log_reward=LogRewardFn(guard("log_reward", reward)), encode=EncodeFn(guard("encode", encode)))
    if n_states > 0:
        callbacks["all_states"] = AllStatesFn(guard("all_states", listing))
    if not with_reward:
        del callbacks["log_reward"]
    for name, fn in callbacks.items():
        setattr(table, name, fn)
    return table, (callbacks, table, s0, env)


def gflownet(environment, **options):
    """A :class:`flowgen.GFlowNet` trained on ``environment`` (an :class:`Environment` or a dict).

    options: any fg_gfn_params field by name — loss ("tb", "db", "subtb", "fm", "zvar"), lambda_,
    batch_size, hidden_width, hidden_layers, learning_rate, log_z_learning_rate, epsilon,
    temperature, uniform_pb, seed. save() keeps the environment's shape only: load such a file with
    :func:`load_gflownet` and the same environment.
    """
    params = _params(options)
    return _on_environment(environment, "fg_gfn_create_with_env",
                           lambda lib, table, out: lib.fg_gfn_create_with_env(ctypes.byref(params), ctypes.byref(table), out))


def load_gflownet(path, environment):
    """A :class:`flowgen.GFlowNet` read from a checkpoint that save() wrote for a GFlowNet on a user
    environment, with that environment again (its shape must match the file's). Continues training
    exactly as the saved one would have."""
    encoded = _encode_path(path)
    return _on_environment(environment, "fg_gfn_load_with_env",
                           lambda lib, table, out: lib.fg_gfn_load_with_env(encoded, ctypes.byref(table), out))


def _on_environment(environment, name, call):
    """A GFlowNet handle made by ``call(lib, table, out)`` over the callback table of ``environment``."""
    env = _check_environment(environment)
    lib = get_lib()
    model = GFlowNet.__new__(GFlowNet)
    model._init_handle()
    model._reward_errors = []
    model._reward_callback = None
    table, keep = _env_table(env, model._reward_errors)
    out = ctypes.c_void_p()
    model._check(call(lib, table, ctypes.byref(out)))
    if not out.value:
        raise InternalError(_c.ERR_INTERNAL, "%s returned FG_OK and a NULL handle" % name)
    model._handle = out.value
    # The callbacks (and the environment) must live as long as the handle.
    model._reward_callback = keep
    return model
