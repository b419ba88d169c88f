"""NCN/NCNC, average precision and link-predictor save/load through the Python bindings."""
import ctypes
import os

import numpy as np
import pytest

import flowgen
from flowgen import _sig_graph as S
from flowgen import constants as C
from flowgen.errors import FlowgenError


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


def test_ncn_settings_reach_the_model(cora):
    """The NCN/NCNC fields of fg_linkpred_params: the authors' values given explicitly train the same model as
    the defaults; another recalibration changes NCNC's scores; the pre-NCN-fields struct size still works."""
    pairs = cora.edges()[:50]
    common = dict(hidden=16, epochs=1, seed=1)
    with flowgen.LinkPredictor(cora, model="ncnc", **common) as lp:
        lp.fit(split_seed=1)
        default = lp.score(pairs)
    explicit = dict(hidden_dropout=0.05, predictor_dropout=0.05, predictor_edge_dropout=0.4,
                    predictor_learning_rate=0.0024, completion=(4.3, 2.8, 1.0, 0.75), train_candidates=0,
                    test_candidates=0)
    with flowgen.LinkPredictor(cora, model="ncnc", **common, **explicit) as lp:
        lp.fit(split_seed=1)
        assert np.array_equal(lp.score(pairs), default)
    with flowgen.LinkPredictor(cora, model="ncnc", **common, completion=(1.0, 0.0, 0.5, 0.5)) as lp:
        lp.fit(split_seed=1)
        assert not np.allclose(lp.score(pairs), default)
    with flowgen.LinkPredictor(cora, model="ncn", **common, predictor_edge_dropout=0.0, hidden_dropout=0.0) as lp:
        lp.fit(split_seed=1)
        assert not np.allclose(lp.score(pairs), default)
    lib = flowgen._lib.get_lib()
    out = ctypes.c_void_p()
    with cora._use() as g:
        old = lib.fg_linkpred_default_params()
        old.struct_size = (S.LinkPredParams.hidden_dropout.offset + 7) // 8 * 8
        old.hidden_dropout = 5.0  # beyond the declared size: must not be read
        assert lib.fg_linkpred_create(g, ctypes.byref(old), ctypes.byref(out)) == C.OK and out.value
        lib.fg_linkpred_free(out)


def test_ncn_settings_misuse(cora):
    lib = flowgen._lib.get_lib()
    out = ctypes.c_void_p()
    nan, inf = float("nan"), float("inf")
    with cora._use() as g:
        for field, value in (("hidden_dropout", 1.0), ("predictor_dropout", nan), ("predictor_edge_dropout", inf),
                             ("predictor_learning_rate", -1.0), ("predictor_learning_rate", nan),
                             ("train_candidates", 1 << 21), ("test_candidates", 1 << 21)):
            bad = lib.fg_linkpred_default_params()
            bad.model = S.LINKPRED_NCNC
            setattr(bad, field, value)
            assert lib.fg_linkpred_create(g, ctypes.byref(bad), ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT, field
            assert not out.value and field in lib.fg_last_error().decode()
        for completion in ((4.3, 2.8, 1.0, 0.0), (4.3, 2.8, 1.0, 1.5), (4.3, 2.8, -1.0, 0.75), (nan, 2.8, 1.0, 0.75)):
            bad = lib.fg_linkpred_default_params()
            bad.model, bad.custom_completion = S.LINKPRED_NCNC, 1
            bad.completion[:] = completion
            assert lib.fg_linkpred_create(g, ctypes.byref(bad), ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT, completion
            assert "completion" in lib.fg_last_error().decode()
        # Without custom_completion the array is ignored.
        ignored = lib.fg_linkpred_default_params()
        ignored.model = S.LINKPRED_NCNC
        ignored.completion[:] = (nan, nan, nan, nan)
        assert lib.fg_linkpred_create(g, ctypes.byref(ignored), ctypes.byref(out)) == C.OK
        lib.fg_linkpred_free(out)
    with pytest.raises(FlowgenError) as info:
        flowgen.LinkPredictor(cora, model="ncnc", completion=(1.0, 2.0))
    assert info.value.status == C.ERR_INVALID_ARGUMENT
