"""ctypes signatures of the flow matching (fg_fm_*) functions of include/flowgen.h: name -> (restype, argtypes).
Merged into flowgen._lib.SIGNATURES. Also holds the ctypes mirrors of fg_fm_params and fg_fm_solver_params."""
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int32, c_size_t, c_uint32,
                    c_uint64, c_void_p)

__all__ = ["CostGradientFn", "FMParams", "FMSolverParams", "MAFParams", "SIGNATURES", "SamplerFn"]


class FMParams(Structure):
    """Mirror of ``fg_fm_params`` (field order, widths and natural alignment as in the header)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("dim", c_uint32),
        ("method", c_uint32),
        ("activation", c_uint32),
        ("hidden_width", c_uint32),
        ("hidden_layers", c_uint32),
        ("batch_size", c_uint32),
        ("sigma", c_float),
        ("seed", c_uint64),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("grad_clip_norm", c_float),
        ("num_classes", c_uint32),
        ("label_dropout", c_float),
        ("beta_min", c_float),
        ("beta_max", c_float),
    ]


class FMSolverParams(Structure):
    """Mirror of ``fg_fm_solver_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("solver", c_uint32),
        ("steps", c_uint32),
        ("max_num_steps", c_uint32),
        ("rtol", c_float),
        ("atol", c_float),
        ("first_step", c_float),
        ("min_step", c_float),
        ("time_grid", POINTER(c_double)),
        ("time_grid_len", c_uint32),
    ]


class MAFParams(Structure):
    """Mirror of ``fg_maf_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("dim", c_uint32),
        ("blocks", c_uint32),
        ("hidden_width", c_uint32),
        ("hidden_layers", c_uint32),
        ("batch_size", c_uint32),
        ("seed", c_uint64),
        ("learning_rate", c_float),
        ("log_scale_bound", c_float),
    ]


# Same type as flowgen._lib.ProgressFn (CFUNCTYPE caches identical prototypes).
_ProgressFn = CFUNCTYPE(c_int32, c_uint64, c_uint64, c_float, c_void_p)
_float_p = POINTER(c_float)
_size_p = POINTER(c_size_t)
_u32_p = POINTER(c_uint32)
_handle = c_void_p
_handle_out = POINTER(c_void_p)
_status = c_int32
_solver_p = POINTER(FMSolverParams)
_i32_p = POINTER(c_int32)
#: fg_fm_sampler_fn: (batch, n_rows, dim, user_data, message, message_len) -> int32.
SamplerFn = CFUNCTYPE(c_int32, _float_p, c_size_t, c_size_t, c_void_p, c_void_p, c_size_t)
#: fg_fm_cost_gradient_fn: (x1, n_rows, dim, grad, user_data, message, message_len) -> int32.
CostGradientFn = CFUNCTYPE(c_int32, _float_p, c_size_t, c_size_t, _float_p, c_void_p, c_void_p, c_size_t)

# FG_FM_* values of include/flowgen.h
FM_METHOD_ICFM = 0
FM_METHOD_OTCFM = 1
FM_METHOD_FM = 2
FM_METHOD_SBCFM = 3
FM_METHOD_VP = 4
FM_METHOD_VP_BETA = 5
FM_GUIDANCE_INTERPOLATE = 0
FM_GUIDANCE_SCALED = 1
FM_SOLVER_EULER = 0
FM_SOLVER_MIDPOINT = 1
FM_SOLVER_HEUN = 2
FM_SOLVER_RK4 = 3
FM_SOLVER_DOPRI5 = 4
FM_DIV_EXACT = 0
FM_DIV_HUTCHINSON = 1

SIGNATURES = {
    "fg_fm_default_params": (FMParams, []),
    "fg_fm_default_solver_params": (FMSolverParams, []),
    "fg_fm_create": (_status, [POINTER(FMParams), _handle_out]),
    "fg_fm_free": (None, [_handle]),
    "fg_fm_fit": (_status, [_handle, _float_p, c_size_t, c_size_t, c_uint32, _ProgressFn, c_void_p,
                            _float_p]),
    "fg_fm_fit_pairs": (_status, [_handle, _float_p, c_size_t, _float_p, c_size_t, c_size_t, c_uint32,
                                  _ProgressFn, c_void_p, _float_p]),
    "fg_fm_step_schedule": (_status, [_handle, c_uint32, c_uint32, c_size_t, c_uint64, POINTER(c_double), c_size_t,
                                      POINTER(c_double), POINTER(c_double)]),
    "fg_maf_default_params": (MAFParams, []),
    "fg_maf_create": (_status, [POINTER(MAFParams), _handle_out]),
    "fg_maf_free": (None, [_handle]),
    "fg_maf_fit": (_status, [_handle, _float_p, c_size_t, c_size_t, c_uint32, _ProgressFn, c_void_p, _float_p]),
    "fg_maf_log_prob": (_status, [_handle, _float_p, c_size_t, c_size_t, _float_p, c_size_t, _size_p]),
    "fg_maf_sample": (_status, [_handle, c_size_t, c_uint64, _float_p, c_size_t, _size_p]),
    "fg_maf_dim": (c_size_t, [_handle]),
    "fg_maf_step": (c_uint64, [_handle]),
    "fg_maf_save": (_status, [_handle, c_char_p]),
    "fg_maf_load": (_status, [c_char_p, _handle_out]),
    "fg_fm_sample_cost_guided": (_status, [_handle, c_size_t, c_uint64, c_float, CostGradientFn, c_void_p, _solver_p,
                                           _float_p, c_size_t, _size_p, _u32_p]),
    "fg_fm_straighten": (_status, [_handle, POINTER(c_double), c_size_t, c_uint32, c_size_t, c_uint32, c_uint64,
                                   _ProgressFn, c_void_p, _float_p]),
    "fg_fm_sample": (_status, [_handle, c_size_t, c_uint64, _solver_p, _float_p, c_size_t, _size_p,
                               _u32_p]),
    "fg_fm_transport": (_status, [_handle, _float_p, c_size_t, c_size_t, c_uint32, _solver_p, _float_p,
                                  c_size_t, _size_p, _u32_p]),
    "fg_fm_log_likelihood": (_status, [_handle, _float_p, c_size_t, c_size_t, _solver_p, c_uint32,
                                       c_uint32, c_uint64, _float_p, c_size_t, _size_p, _u32_p]),
    "fg_fm_w2": (_status, [_float_p, c_size_t, _float_p, c_size_t, c_size_t, _float_p]),
    "fg_fm_fit_labeled": (_status, [_handle, _float_p, _i32_p, c_size_t, c_size_t, c_uint32, _ProgressFn,
                                    c_void_p, _float_p]),
    "fg_fm_fit_npy": (_status, [_handle, c_char_p, c_uint32, _ProgressFn, c_void_p, _float_p]),
    "fg_fm_fit_sampler": (_status, [_handle, SamplerFn, c_void_p, c_uint32, _ProgressFn, c_void_p, _float_p]),
    "fg_fm_sample_guided": (_status, [_handle, c_size_t, _i32_p, c_float, c_uint32, c_uint64, _solver_p,
                                      _float_p, c_size_t, _size_p, _u32_p]),
    "fg_fm_num_classes": (c_size_t, [_handle]),
    "fg_fm_dim": (c_size_t, [_handle]),
    "fg_fm_step": (c_uint64, [_handle]),
    "fg_fm_save": (_status, [_handle, c_char_p]),
    "fg_fm_load": (_status, [c_char_p, _handle_out]),
}
