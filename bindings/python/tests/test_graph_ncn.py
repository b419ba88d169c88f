"""NCN/NCNC, average precision and link-predictor save/load through the Python bindings."""
import ctypes
import os

import numpy as np
import pytest

import flowgen
from flowgen import _sig_graph as S
from flowgen import constants as C
from flowgen.errors import FlowgenError


@pytest.fixture(scope="module")
def cora():
    with flowgen.Graph.cora() as graph:
        yield graph


def sklearn_style_ap(pos, neg):
    """Average precision with tied scores entering together (scikit-learn's definition), in numpy."""
    scores = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    total, previous = 0.0, 0.0
    for t in np.unique(scores)[::-1]:
        chosen = scores >= t
        tp = labels[chosen].sum()
        recall = tp / len(pos)
        total += (recall - previous) * tp / chosen.sum()
        previous = recall
    return total


def test_ncnc_fits_reports_ap_and_round_trips(cora, tmp_path):
    with flowgen.LinkPredictor(cora, model="ncnc", hidden=32, epochs=3, seed=2) as lp:
        report = lp.fit(split_seed=4)
        assert 0 < report["test_ap"] <= 1 and report["test_hits"] > 0.3, report
        edges = cora.edges()
        rng = np.random.default_rng(0)
        negatives = rng.integers(0, cora.num_nodes, size=(300, 2))
        positives = edges[rng.choice(len(edges), 200, replace=False)]
        result = lp.evaluate(positives, negatives, k=50)
        assert set(result) == {"hits", "mrr", "auroc", "ap"}
        assert result["ap"] == pytest.approx(sklearn_style_ap(lp.score(positives), lp.score(negatives)), abs=1e-9)
        path = tmp_path / "ncnc.safetensors"
        lp.save(path)
        with flowgen.LinkPredictor.load(cora, path) as loaded:
            assert np.array_equal(loaded.score(positives), lp.score(positives))
            assert loaded.evaluate(positives, negatives, k=50) == result


def test_linkpred_save_load_misuse(cora, tmp_path):
    with flowgen.LinkPredictor(cora, model="ra") as lp:
        lp.fit(split_seed=0)
        with pytest.raises(FlowgenError) as info:
            lp.save(tmp_path / "missing" / "dir" / "x.safetensors")
        assert info.value.status == C.ERR_IO
        path = tmp_path / "ra.safetensors"
        lp.save(str(path))
        data = path.read_bytes()
    for name, payload in (("garbage", b"not a checkpoint"), ("truncated", data[: len(data) // 2]), ("empty", b"")):
        bad = tmp_path / (name + ".safetensors")
        bad.write_bytes(payload)
        with pytest.raises(FlowgenError) as info:
            flowgen.LinkPredictor.load(cora, bad)
        assert info.value.status == C.ERR_CORRUPT_FILE, name
    with pytest.raises(FlowgenError) as info:
        flowgen.LinkPredictor.load(cora, tmp_path / "nope.safetensors")
    assert info.value.status == C.ERR_IO
    with flowgen.Graph(5, edges=[[0, 1], [1, 2]]) as small:
        with pytest.raises(FlowgenError) as info:
            flowgen.LinkPredictor.load(small, path)
        assert info.value.status == C.ERR_CORRUPT_FILE
    with pytest.raises(FlowgenError):
        flowgen.LinkPredictor.load("not a graph", path)
    with pytest.raises(FlowgenError):
        flowgen.LinkPredictor.load(cora, "bad\0path")


def test_raw_ap_save_load_statuses(lib, cora, tmp_path):
    out = ctypes.c_void_p()
    ap = ctypes.c_double()
    pairs = np.array([[0, 1], [2, 3]], dtype=np.int64)
    p = pairs.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
    with flowgen.LinkPredictor(cora, model="cn") as lp, lp._use() as h, cora._use() as g:
        assert lib.fg_linkpred_average_precision(None, p, 2, p, 2, ctypes.byref(ap)) == C.ERR_NULL_ARGUMENT
        assert lib.fg_linkpred_average_precision(h, p, 2, p, 2, None) == C.ERR_NULL_ARGUMENT
        assert lib.fg_linkpred_average_precision(h, p, 0, p, 2, ctypes.byref(ap)) == C.ERR_INVALID_ARGUMENT
        assert lib.fg_linkpred_save(None, b"x") == C.ERR_NULL_ARGUMENT
        assert lib.fg_linkpred_save(h, b"") == C.ERR_INVALID_ARGUMENT
        assert lib.fg_linkpred_load(None, b"x", ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and not out.value
        assert lib.fg_linkpred_load(g, None, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and not out.value
        assert lib.fg_linkpred_load(g, os.fsencode(tmp_path / "x"), None) == C.ERR_NULL_ARGUMENT
        # The report mirror includes test_ap; the pre-AP size is still accepted.
        report = S.LinkPredReport()
        report.struct_size = S.LinkPredReport.test_ap.offset
        report.test_ap = -7.0
        assert lib.fg_linkpred_fit(h, 0, S._ProgressFn(0), None, ctypes.byref(report)) == C.OK
        assert report.test_ap == -7.0 and report.test_hits > 0.2
    assert S.LINKPRED_MODELS["ncnc"] == S.LINKPRED_NCNC == 5
