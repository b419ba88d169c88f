"""ctypes signatures of the GFlowNet API extensions of include/flowgen.h (the "GFlowNet API
extensions" sub-block: external-policy losses, user environments, replay). Merged into
flowgen._sig_gfn.SIGNATURES."""
from ctypes import CFUNCTYPE, POINTER, Structure, c_double, c_float, c_char_p, c_size_t, c_uint8, c_uint32, c_uint64, c_int32, c_void_p

# _sig_gfn imports this module at its end, after GFNParams / LogRewardFn exist (flowgen/__init__
# always loads _sig_gfn first).
from ._sig_gfn import GFNParams, LogRewardFn as _LogRewardFn, _ProgressFn  # noqa: E402

__all__ = ["ExternalBatch", "EnvTable", "ReplayParams", "CondLogRewardFn", "GFN_REPLAY_KINDS", "MaskFn", "StepFn", "EncodeFn", "AllStatesFn", "SIGNATURES"]

#: ``fg_gfn_env_mask_fn``: (states, n_states, out_mask, user_data) -> status
MaskFn = CFUNCTYPE(c_int32, POINTER(c_int32), c_size_t, POINTER(c_uint8), c_void_p)
#: ``fg_gfn_env_step_fn``: (states, actions, n_states, out_states, user_data) -> status
StepFn = CFUNCTYPE(c_int32, POINTER(c_int32), POINTER(c_int32), c_size_t, POINTER(c_int32), c_void_p)
#: ``fg_gfn_env_encode_fn``: (states, n_states, out, user_data) -> status
EncodeFn = CFUNCTYPE(c_int32, POINTER(c_int32), c_size_t, POINTER(c_float), c_void_p)
#: ``fg_gfn_env_all_states_fn``: (out_states, user_data) -> status
AllStatesFn = CFUNCTYPE(c_int32, POINTER(c_int32), c_void_p)


class EnvTable(Structure):
    """Mirror of ``fg_gfn_env``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("state_dim", c_uint32),
        ("n_actions", c_uint32),
        ("encoding_dim", c_uint32),
        ("max_length", c_uint32),
        ("reserved", c_uint32),
        ("initial_state", POINTER(c_int32)),
        ("n_states", c_uint64),
        ("forward_mask", MaskFn),
        ("backward_mask", MaskFn),
        ("step", StepFn),
        ("backward_step", StepFn),
        ("log_reward", _LogRewardFn),
        ("encode", EncodeFn),
        ("all_states", AllStatesFn),
        ("user_data", c_void_p),
    ]


class ExternalBatch(Structure):
    """Mirror of ``fg_gfn_external_batch``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("loss", c_uint32),
        ("max_length", c_uint64),
        ("batch_size", c_uint64),
        ("log_pf", POINTER(c_float)),
        ("log_pb", POINTER(c_float)),
        ("log_f", POINTER(c_float)),
        ("energies", POINTER(c_float)),
        ("log_r", POINTER(c_float)),
        ("lengths", POINTER(c_uint32)),
        ("log_z", c_float),
        ("lambda_", c_float),
        ("complete", POINTER(c_uint8)),
    ]


class ReplayParams(Structure):
    """Mirror of ``fg_gfn_replay_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_uint32),
        ("capacity", c_uint64),
        ("ratio", c_float),
        ("reserved", c_uint32),
    ]


# FG_GFN_REPLAY_* (values pinned by the C ABI).
GFN_REPLAY_TRAJECTORY = 0
GFN_REPLAY_BACKWARD = 1
GFN_REPLAY_PRIORITIZED = 2

#: Names accepted for the replay kind.
GFN_REPLAY_KINDS = {"trajectory": GFN_REPLAY_TRAJECTORY, "backward": GFN_REPLAY_BACKWARD,
                    "prioritized": GFN_REPLAY_PRIORITIZED}

#: ``fg_gfn_cond_log_reward_fn``: (states, conditions, n_states, state_dim, condition_dim, out, user_data)
CondLogRewardFn = CFUNCTYPE(c_int32, POINTER(c_int32), POINTER(c_float), c_size_t, c_size_t, c_size_t,
                            POINTER(c_double), c_void_p)

_status = c_int32
_float_p = POINTER(c_float)

SIGNATURES = {
    "fg_gfn_external_default_batch": (ExternalBatch, []),
    "fg_gfn_env_default": (EnvTable, []),
    "fg_gfn_replay_default_params": (ReplayParams, []),
    "fg_gfn_set_replay": (_status, [c_void_p, POINTER(ReplayParams)]),
    "fg_gfn_replay_count": (c_size_t, [c_void_p]),
    "fg_gfn_set_max_rollout_steps": (_status, [c_void_p, c_uint64]),
    "fg_gfn_max_rollout_steps": (c_uint64, [c_void_p]),
    "fg_gfn_cond_create": (_status, [POINTER(GFNParams), c_uint32, CondLogRewardFn, c_void_p, POINTER(c_void_p)]),
    "fg_gfn_cond_create_with_env": (_status, [POINTER(GFNParams), POINTER(EnvTable), c_uint32, CondLogRewardFn, c_void_p,
                                              POINTER(c_void_p)]),
    "fg_gfn_cond_free": (None, [c_void_p]),
    "fg_gfn_cond_train": (_status, [c_void_p, _float_p, c_size_t, c_uint64, _ProgressFn, c_void_p, _float_p]),
    "fg_gfn_cond_sample": (_status, [c_void_p, _float_p, c_size_t, c_uint64, POINTER(c_int32), c_size_t,
                                     POINTER(c_size_t)]),
    "fg_gfn_cond_exact_distribution": (_status, [c_void_p, _float_p, _float_p, c_size_t, POINTER(c_size_t)]),
    "fg_gfn_cond_target_distribution": (_status, [c_void_p, _float_p, _float_p, c_size_t, POINTER(c_size_t)]),
    "fg_gfn_cond_log_z": (_status, [c_void_p, _float_p, _float_p, POINTER(c_double)]),
    "fg_gfn_cond_save": (_status, [c_void_p, c_char_p]),
    "fg_gfn_cond_load": (_status, [c_char_p, CondLogRewardFn, c_void_p, POINTER(c_void_p)]),
    "fg_gfn_cond_load_with_env": (_status, [c_char_p, POINTER(EnvTable), CondLogRewardFn, c_void_p, POINTER(c_void_p)]),
    "fg_gfn_cond_condition_dim": (c_size_t, [c_void_p]),
    "fg_gfn_cond_state_dim": (c_size_t, [c_void_p]),
    "fg_gfn_create_with_env": (_status, [POINTER(GFNParams), POINTER(EnvTable), POINTER(c_void_p)]),
    "fg_gfn_load_with_env": (_status, [c_char_p, POINTER(EnvTable), POINTER(c_void_p)]),
    "fg_gfn_external_loss": (_status, [POINTER(ExternalBatch), _float_p, _float_p, _float_p, _float_p, c_size_t,
                                       _float_p]),
}
