"""ctypes signatures of the GFlowNet (fg_gfn_*) functions of include/flowgen.h: name -> (restype, argtypes).
Merged into flowgen._lib.SIGNATURES. Also the mirrors of fg_gfn_params / fg_gfn_metrics and the
FG_GFN_* constants."""
from ctypes import (POINTER, Structure, c_char_p, c_double, c_float, c_int32, c_size_t, c_uint32,
                    c_uint64, c_void_p, CFUNCTYPE)

__all__ = ["GFNParams", "GFNMetrics", "GFNEnvParams", "LogRewardFn", "SIGNATURES", "GFN_ENV_HYPERGRID",
           "GFN_ENV_BITSEQ", "GFN_ENV_ISING", "GFN_ENV_SET", "GFN_LOSS_TB", "GFN_LOSS_DB", "GFN_LOSS_SUBTB",
           "GFN_LOSS_FM", "GFN_LOSS_ZVAR", "GFN_LOSS_MODDB", "GFN_LOSS_FLDB", "GFN_LOSS_FLSUBTB", "GFN_LOSSES",
           "GFN_ENVS"]

# FG_GFN_* constants (values pinned by the C ABI).
GFN_ENV_HYPERGRID = 0
GFN_ENV_BITSEQ = 1
GFN_ENV_ISING = 2
GFN_ENV_SET = 3
GFN_LOSS_TB = 0
GFN_LOSS_DB = 1
GFN_LOSS_SUBTB = 2
GFN_LOSS_FM = 3
GFN_LOSS_ZVAR = 4
GFN_LOSS_MODDB = 5
GFN_LOSS_FLDB = 6
GFN_LOSS_FLSUBTB = 7

#: Names accepted by GFlowNet(loss=...).
GFN_LOSSES = {"tb": GFN_LOSS_TB, "db": GFN_LOSS_DB, "subtb": GFN_LOSS_SUBTB, "fm": GFN_LOSS_FM,
              "zvar": GFN_LOSS_ZVAR, "moddb": GFN_LOSS_MODDB, "fldb": GFN_LOSS_FLDB,
              "flsubtb": GFN_LOSS_FLSUBTB}

#: Names accepted by GFlowNet(env=...).
GFN_ENVS = {"hypergrid": GFN_ENV_HYPERGRID, "bitseq": GFN_ENV_BITSEQ, "ising": GFN_ENV_ISING, "set": GFN_ENV_SET}


class GFNParams(Structure):
    """Mirror of ``fg_gfn_params`` (field order, widths and natural alignment as in the header)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("env", c_uint32),
        ("ndim", c_uint32),
        ("height", c_uint32),
        ("r0", c_double),
        ("r1", c_double),
        ("r2", c_double),
        ("loss", c_uint32),
        ("lambda_", c_float),
        ("batch_size", c_uint32),
        ("hidden_width", c_uint32),
        ("hidden_layers", c_uint32),
        ("learning_rate", c_float),
        ("log_z_learning_rate", c_float),
        ("epsilon", c_float),
        ("temperature", c_float),
        ("uniform_pb", c_uint32),
        ("seed", c_uint64),
    ]


class GFNMetrics(Structure):
    """Mirror of ``fg_gfn_metrics``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("reserved", c_uint32),
        ("l1", c_double),
        ("tv", c_double),
        ("jsd", c_double),
        ("log_z", c_double),
        ("log_z_true", c_double),
        ("modes_found", c_uint64),
        ("n_modes", c_uint64),
        ("trajectories", c_uint64),
        ("mode_regions_found", c_uint64),
        ("n_mode_regions", c_uint64),
        ("log_corr", c_double),
    ]


class GFNEnvParams(Structure):
    """Mirror of ``fg_gfn_env_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("seq_len", c_uint32),
        ("word_size", c_uint32),
        ("n_modes", c_uint32),
        ("mode_threshold", c_uint32),
        ("ising_side", c_uint32),
        ("ising_dims", c_uint32),
        ("n_items", c_uint32),
        ("set_size", c_uint32),
        ("reserved", c_uint32),
        ("beta", c_double),
        ("coupling", c_double),
        ("env_seed", c_uint64),
    ]


#: ``typedef int32_t (*fg_gfn_log_reward_fn)(const int32_t *states, size_t n_states, size_t state_dim,
#: double *out_log_rewards, void *user_data)``
LogRewardFn = CFUNCTYPE(c_int32, POINTER(c_int32), c_size_t, c_size_t, POINTER(c_double), c_void_p)

_ProgressFn = CFUNCTYPE(c_int32, c_uint64, c_uint64, c_float, c_void_p)  # same type as _lib.ProgressFn
_status = c_int32
_handle = c_void_p
_handle_out = POINTER(c_void_p)

SIGNATURES = {
    "fg_gfn_default_params": (GFNParams, []),
    "fg_gfn_create": (_status, [POINTER(GFNParams), _handle_out]),
    "fg_gfn_default_env_params": (GFNEnvParams, []),
    "fg_gfn_create_env": (_status, [POINTER(GFNParams), POINTER(GFNEnvParams), _handle_out]),
    "fg_gfn_free": (None, [_handle]),
    "fg_gfn_train": (_status, [_handle, c_uint64, _ProgressFn, c_void_p, POINTER(c_float)]),
    "fg_gfn_sample": (_status, [_handle, c_size_t, c_uint64, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
    "fg_gfn_exact_distribution": (_status, [_handle, POINTER(c_float), c_size_t, POINTER(c_size_t)]),
    "fg_gfn_target_distribution": (_status, [_handle, POINTER(c_float), c_size_t, POINTER(c_size_t)]),
    "fg_gfn_evaluate": (_status, [_handle, POINTER(GFNMetrics)]),
    "fg_gfn_state_dim": (c_size_t, [_handle]),
    "fg_gfn_state_count": (c_size_t, [_handle]),
    "fg_gfn_step": (c_uint64, [_handle]),
    "fg_gfn_save": (_status, [_handle, c_char_p]),
    "fg_gfn_load": (_status, [c_char_p, _handle_out]),
    "fg_gfn_create_with_reward": (_status, [POINTER(GFNParams), LogRewardFn, c_void_p, _handle_out]),
    "fg_gfn_load_with_reward": (_status, [c_char_p, LogRewardFn, c_void_p, _handle_out]),
    "fg_gfn_set_callback_error": (_status, [c_char_p]),
}

# GFlowNet API extensions (external losses, user environments, replay) live in their own module.
from ._sig_gfn_api import SIGNATURES as _API_SIGNATURES  # noqa: E402
from ._sig_gfn_api import GFN_REPLAY_TRAJECTORY, GFN_REPLAY_BACKWARD, GFN_REPLAY_PRIORITIZED  # noqa: E402,F401
SIGNATURES.update(_API_SIGNATURES)
