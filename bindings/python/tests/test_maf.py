"""flowgen.MAF (fg_maf_*): exact log-likelihood (normalisation on a grid, change of variables), training to
the true density's NLL, reproducible sampling, checkpoints, and misuse of every C function."""
import ctypes
import math
import os

import numpy as np
import pytest

import flowgen
from flowgen import constants as C
from flowgen._sig_fm import MAFParams

from test_fm import eight_gaussians


def _status(call):
    with pytest.raises(flowgen.FlowgenError) as info:
        call()
    assert info.value.message
    return info.value.status


@pytest.fixture(scope="module")
def trained():
    flow = flowgen.MAF(2, blocks=4, hidden_width=32, seed=1)
    calls = []
    loss = flow.fit(eight_gaussians(4000, 0), 1500, progress=lambda s, t, l: calls.append(s) and False)
    assert math.isfinite(loss) and len(calls) == 1500 and flow.step == 1500
    yield flow
    flow.close()


def test_density_is_normalised_and_matches_the_true_nll(trained):
    side = np.linspace(-12, 12, 401)
    grid = np.stack(np.meshgrid(side, side, indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    mass = np.exp(trained.log_prob(grid).astype(np.float64)).sum() * (side[1] - side[0]) ** 2
    assert mass == pytest.approx(1, abs=0.01)
    nll = -trained.log_prob(eight_gaussians(2000, 5)).astype(np.float64).mean()
    # The mixture's entropy, 4.772 nats (Monte Carlo, 400k points); a fitted Gaussian scores 5.44.
    true_nll = 4.772
    assert true_nll - 0.05 < nll < true_nll + 0.2, (nll, true_nll)


def test_samples_follow_the_data_and_are_reproducible(trained):
    x = trained.sample(1000, seed=3)
    assert x.shape == (1000, 2) and x.dtype == np.float32
    assert np.array_equal(x, trained.sample(1000, seed=3)) and not np.array_equal(x, trained.sample(1000, seed=4))
    assert flowgen.w2(x, eight_gaussians(1000, 6)) < 1.5


def test_checkpoint_resumes_exactly(trained, tmp_path):
    path = tmp_path / "maf.safetensors"
    trained.save(path)
    data = eight_gaussians(500, 7)
    with flowgen.MAF.load(path) as copy:
        assert copy.dim == 2 and copy.step == trained.step
        assert np.array_equal(copy.log_prob(data), trained.log_prob(data))
        copy.fit(data, 3)
        trained.fit(data, 3)
        assert np.array_equal(copy.log_prob(data), trained.log_prob(data))


def test_misuse(trained, tmp_path):
    lib = flowgen._lib.get_lib()
    out = ctypes.c_void_p(1)
    p = lib.fg_maf_default_params()
    assert p.struct_size == ctypes.sizeof(MAFParams) and p.dim == 2 and p.blocks == 5
    for field, value, status in (("dim", 0, C.ERR_INVALID_ARGUMENT), ("blocks", 0, C.ERR_INVALID_ARGUMENT),
                                 ("hidden_layers", 17, C.ERR_INVALID_ARGUMENT), ("learning_rate", float("nan"), C.ERR_INVALID_ARGUMENT),
                                 ("log_scale_bound", 0.0, C.ERR_INVALID_ARGUMENT), ("hidden_width", 65536, C.ERR_OUT_OF_MEMORY),
                                 ("struct_size", 12, C.ERR_STRUCT_SIZE)):
        bad = lib.fg_maf_default_params()
        setattr(bad, field, value)
        if field == "hidden_width":
            bad.dim, bad.blocks = 4096, 64
        assert lib.fg_maf_create(ctypes.byref(bad), ctypes.byref(out)) == status and not out.value, field
    assert lib.fg_maf_create(ctypes.byref(p), None) == C.ERR_NULL_ARGUMENT
    x = np.zeros((4, 2), np.float32)
    ptr = x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    n = ctypes.c_size_t(0)
    step = trained.step
    with trained._use() as h:
        assert lib.fg_maf_fit(None, ptr, 4, 2, 1, flowgen._lib.ProgressFn(0), None, None) == C.ERR_NULL_ARGUMENT
        assert lib.fg_maf_fit(h, None, 4, 2, 1, flowgen._lib.ProgressFn(0), None, None) == C.ERR_NULL_ARGUMENT
        assert lib.fg_maf_fit(h, ptr, 4, 3, 1, flowgen._lib.ProgressFn(0), None, None) == C.ERR_SHAPE_MISMATCH
        assert lib.fg_maf_fit(h, ptr, 0, 2, 1, flowgen._lib.ProgressFn(0), None, None) == C.ERR_INVALID_ARGUMENT
        assert lib.fg_maf_fit(h, ptr, 4, 2, 0, flowgen._lib.ProgressFn(0), None, None) == C.ERR_INVALID_ARGUMENT
        x[1, 1] = np.nan
        assert lib.fg_maf_fit(h, ptr, 4, 2, 1, flowgen._lib.ProgressFn(0), None, None) == C.ERR_NON_FINITE
        assert lib.fg_maf_log_prob(h, ptr, 4, 2, ptr, 4, ctypes.byref(n)) == C.ERR_NON_FINITE
        x[1, 1] = 0
        assert lib.fg_maf_step(h) == step
        assert lib.fg_maf_log_prob(h, ptr, 4, 2, None, 0, ctypes.byref(n)) == C.OK and n.value == 4
        assert lib.fg_maf_log_prob(h, ptr, 4, 2, ptr, 3, ctypes.byref(n)) == C.ERR_BUFFER_TOO_SMALL
        assert lib.fg_maf_sample(h, 0, 0, ptr, 8, ctypes.byref(n)) == C.ERR_INVALID_ARGUMENT
        assert lib.fg_maf_sample(h, 1 << 40, 0, ptr, 8, ctypes.byref(n)) == C.ERR_OUT_OF_MEMORY
        assert lib.fg_maf_sample(h, 4, 0, ptr, 7, ctypes.byref(n)) == C.ERR_BUFFER_TOO_SMALL
        assert lib.fg_maf_sample(None, 4, 0, ptr, 8, ctypes.byref(n)) == C.ERR_NULL_ARGUMENT
        assert lib.fg_maf_save(h, b"") == C.ERR_INVALID_ARGUMENT
    assert lib.fg_maf_dim(None) == 0 and lib.fg_maf_step(None) == 0
    assert lib.fg_maf_load(None, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and not out.value
    assert lib.fg_maf_load(os.fsencode(tmp_path / "nope"), ctypes.byref(out)) == C.ERR_IO
    with flowgen.FlowMatcher(2) as other:
        other.save(tmp_path / "fm.safetensors")
    with pytest.raises(flowgen.FlowgenError, match="not a masked autoregressive flow") as info:
        flowgen.MAF.load(tmp_path / "fm.safetensors")
    assert info.value.status == C.ERR_CORRUPT_FILE
    with pytest.raises(flowgen.FlowgenError):
        trained.fit(np.zeros((3, 5), np.float32), 1)
