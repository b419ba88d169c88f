"""ctypes signatures of the GFlowNet API extensions of include/flowgen.h (the "GFlowNet API
extensions" sub-block: external-policy losses, user environments, replay). Merged into
flowgen._sig_gfn.SIGNATURES."""
from ctypes import POINTER, Structure, c_float, c_size_t, c_uint32, c_uint64, c_int32

__all__ = ["ExternalBatch", "SIGNATURES"]


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
    ]


_status = c_int32
_float_p = POINTER(c_float)

SIGNATURES = {
    "fg_gfn_external_default_batch": (ExternalBatch, []),
    "fg_gfn_external_loss": (_status, [POINTER(ExternalBatch), _float_p, _float_p, _float_p, _float_p, c_size_t,
                                       _float_p]),
}
