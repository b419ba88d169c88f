"""External-policy mode: GFlowNet losses and their gradients on log-probabilities from any outside
model (fg_gfn_external_loss of include/flowgen.h).

    >>> from flowgen.gfn_external import trajectory_loss
    >>> loss, grads = trajectory_loss(log_pf, log_pb, log_r, lengths, loss="tb", log_z=0.3)
    >>> # with PyTorch: log_pf.backward(torch.from_numpy(grads["log_pf"])) etc.

Arrays are time-major [T, B] by default (entry [t, b] = step t of trajectory b; ``batch_first=True``
takes and returns [B, T]). Trajectory b has ``lengths[b]`` = n transitions, the last being exit:
log_pf[t] for t < n, log_pb[t] for t < n - 1 (the exit transition has no P_B), log_f[t] and
energies[t] for t < n. Other entries are ignored (anything, NaN included) and get gradient 0.
"""
import ctypes

import numpy as np

from . import constants as _c
from ._lib import get_lib
from ._sig_gfn import GFN_LOSSES
from ._sig_gfn_api import ExternalBatch
from .errors import ShapeMismatchError, check
from .mlp import _enum, _real

__all__ = ["trajectory_loss"]

_f32p = ctypes.POINTER(ctypes.c_float)


def _matrix(name, value, batch_first):
    array = np.asarray(value, dtype=np.float32)
    if array.ndim != 2:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "%s must be 2-D; got shape %s" % (name, array.shape))
    return np.ascontiguousarray(array.T if batch_first else array)


def trajectory_loss(log_pf, log_pb, log_r, lengths, *, loss="tb", log_f=None, energies=None, log_z=0.0,
                    lambda_=0.9, complete=None, batch_first=False):
    """The GFlowNet loss of B trajectories and its gradients.

    Args:
        log_pf, log_pb: [T, B] per-step log P_F / log P_B (see the module docstring).
        log_r: [B] log R(x_b). lengths: [B] transitions per trajectory (exit included), 1 ... T.
        loss: "tb", "db", "subtb" or "zvar". log_f: [T, B] log F(s_t) (DB/SubTB only).
        energies: [T, B] E(s_t) for the forward-looking form (DB/SubTB): log F = log_f - E, the sink
            keeps F(s_f) = R(x). log_z: TB's log Z. lambda_: SubTB lambda in (0, 1].
        complete: optional [B] booleans; False marks an incomplete trajectory (DB/SubTB only): lengths[b]
            = n <= T - 1 transitions without exit, log_f/energies given for rows 0 ... n, log_r[b] ignored.
        batch_first: arrays are [B, T] instead of [T, B] (gradients come back the same way).
    Returns:
        (loss, grads) with grads a dict of float32 arrays "log_pf", "log_pb" (and "log_f" when given)
        and the float "log_z" (d loss / d log Z, 0 except for TB).
    """
    lib = get_lib()
    pf = _matrix("log_pf", log_pf, batch_first)
    pb = _matrix("log_pb", log_pb, batch_first)
    t, b = pf.shape
    if pb.shape != (t, b):
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "log_pb has shape %s, log_pf %s" % (pb.shape, pf.shape))
    extra = {}
    for name, value in (("log_f", log_f), ("energies", energies)):
        if value is not None:
            extra[name] = _matrix(name, value, batch_first)
            if extra[name].shape != (t, b):
                raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "%s has shape %s, log_pf %s" % (
                    name, extra[name].shape, pf.shape))
    r = np.ascontiguousarray(np.asarray(log_r, dtype=np.float32).reshape(-1))
    raw_lengths = np.asarray(lengths).reshape(-1)
    if r.shape[0] != b or raw_lengths.shape[0] != b:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "log_r and lengths need %d entries; got %d and %d" % (
            b, r.shape[0], raw_lengths.shape[0]))
    if raw_lengths.size and (raw_lengths.min() < 0 or raw_lengths.max() > 0xFFFFFFFF):
        # Negative or huge lengths cannot be uint32: let the library see 0 (out of range) instead.
        raw_lengths = np.where((raw_lengths < 0) | (raw_lengths > 0xFFFFFFFF), 0, raw_lengths)
    n = np.ascontiguousarray(raw_lengths.astype(np.uint32))

    batch = lib.fg_gfn_external_default_batch()
    batch.loss = _enum("loss", loss, GFN_LOSSES)
    batch.max_length, batch.batch_size = t, b
    batch.log_pf, batch.log_pb = pf.ctypes.data_as(_f32p), pb.ctypes.data_as(_f32p)
    if "log_f" in extra:
        batch.log_f = extra["log_f"].ctypes.data_as(_f32p)
    if "energies" in extra:
        batch.energies = extra["energies"].ctypes.data_as(_f32p)
    batch.log_r = r.ctypes.data_as(_f32p)
    batch.lengths = n.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32))
    if complete is not None:
        flags = np.ascontiguousarray(np.asarray(complete).reshape(-1).astype(bool).astype(np.uint8))
        if flags.shape[0] != b:
            raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "complete needs %d entries; got %d" % (b, flags.shape[0]))
        batch.complete = flags.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    batch.log_z = _real("log_z", log_z)
    batch.lambda_ = _real("lambda_", lambda_)

    g_pf = np.zeros((t, b), np.float32)
    g_pb = np.zeros((t, b), np.float32)
    g_f = np.zeros((t, b), np.float32) if "log_f" in extra else None
    out_loss = ctypes.c_float(0)
    out_z = ctypes.c_float(0)
    check(lib.fg_gfn_external_loss(ctypes.byref(batch), ctypes.byref(out_loss), g_pf.ctypes.data_as(_f32p),
                                   g_pb.ctypes.data_as(_f32p), None if g_f is None else g_f.ctypes.data_as(_f32p),
                                   t * b, ctypes.byref(out_z)), lib)

    def back(g):
        return np.ascontiguousarray(g.T) if batch_first else g
    grads = {"log_pf": back(g_pf), "log_pb": back(g_pb), "log_z": float(out_z.value)}
    if g_f is not None:
        grads["log_f"] = back(g_f)
    return float(out_loss.value), grads
