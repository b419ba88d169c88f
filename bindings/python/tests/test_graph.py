"""Graph learning through the Python bindings: the bundled Cora, CN HR@100 on an NCN split, score shapes,
node classification, and one misuse test per C function (raw ctypes) with handles usable afterwards."""
import ctypes
import os

import numpy as np
import pytest

import flowgen
from flowgen import _sig_graph as S
from flowgen import constants as C
from flowgen.errors import FlowgenError


def status_of(call):
    with pytest.raises(FlowgenError) as info:
        call()
    return info.value.status


def test_bundled_cora_counts(cora):
    assert (cora.num_nodes, cora.num_edges, cora.num_features, cora.num_classes) == (2708, 5278, 1433, 7)
    edges = cora.edges()
    assert edges.shape == (5278, 2) and edges.dtype == np.int64
    assert np.all(edges[:, 0] < edges[:, 1])
    assert cora.edge_index.shape == (2, 10556)


def test_planetoid_layout_matches_compact_copy(cora):
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "shared", "data", "planetoid", "Cora")
    if not os.path.exists(os.path.join(shared, "edges.csv")):
        pytest.skip("planetoid Cora not available")
    with flowgen.Graph.load(shared) as g:
        assert np.array_equal(g.edges(), cora.edges())
        assert g.num_features == 1433


def test_common_neighbours_hr100_on_split(cora):
    with flowgen.LinkPredictor(cora, model="cn") as lp:
        report = lp.fit(split_seed=0)
        assert 0.29 < report["test_hits"] < 0.38, report
        assert report["best_epoch"] == 0 and 0.6 < report["test_auroc"] < 0.8
        # CN scores are counts of common neighbours in the training graph.
        scores = lp.score(cora.edges()[:50])
        assert scores.shape == (50,) and scores.dtype == np.float32
        assert np.all(scores >= 0) and np.all(scores == np.round(scores))


def test_cn_scores_match_numpy_on_small_graph():
    rng = np.random.default_rng(0)
    n = 30
    edges = rng.integers(0, n, size=(120, 2))
    with flowgen.Graph(n, edges=edges) as g, flowgen.LinkPredictor(g, model="cn") as lp:
        a = np.zeros((n, n), dtype=np.int64)
        for u, v in edges:
            if u != v:
                a[u, v] = a[v, u] = 1
        assert g.num_edges == int(a.sum() // 2)
        pairs = np.array([(u, v) for u in range(n) for v in range(n)], dtype=np.int64)
        assert np.array_equal(lp.score(pairs), (a @ a)[pairs[:, 0], pairs[:, 1]].astype(np.float32))
        # PyG-style [2, k] input gives the same scores.
        assert np.array_equal(lp.score(pairs[:7].T), lp.score(pairs[:7]))
        result = lp.evaluate(pairs[:10], pairs[10:20], k=3)
        assert set(result) == {"hits", "mrr", "auroc", "ap"}


def test_gae_learns_and_scores(cora):
    with flowgen.LinkPredictor(cora, model="gae", hidden=64, epochs=10, seed=1) as lp:
        seen = []
        report = lp.fit(split_seed=0, progress=lambda e, t, loss: seen.append((e, t)) and False)
        assert seen[-1] == (10, 10)
        assert report["test_hits"] > 0.4 and report["epoch_seconds"] > 0
        assert lp.score([[0, 1], [2, 3]]).shape == (2,)


def test_node_classification_gcn(cora):
    with flowgen.NodeClassifier(cora, model="gcn", seed=0) as nc:
        loss = nc.fit()
        assert np.isfinite(loss)
        assert nc.evaluate() > 0.77
        logits = nc.predict()
        assert logits.shape == (2708, 7)
        assert 0 <= nc.evaluate(np.arange(100)) <= 1


def test_graph_from_arrays_with_features_and_labels():
    x = np.eye(4, dtype=np.float32)
    with flowgen.Graph(4, edge_index=[[0, 1, 2, 2], [1, 2, 3, 2]], x=x, y=[0, 1, 0, 1]) as g:
        assert (g.num_nodes, g.num_edges, g.num_features, g.num_classes) == (4, 3, 4, 2)
        with flowgen.NodeClassifier(g, epochs=5) as nc:
            nc.fit(train_nodes=[0, 1])
            assert nc.predict().shape == (4, 2)
            assert status_of(lambda: nc.fit()) == C.ERR_NULL_ARGUMENT  # no public split in this graph
            assert status_of(lambda: nc.fit(train_nodes=[0, 9])) == C.ERR_OUT_OF_RANGE


# ------------------------------------------------------------------------------------------------
# Misuse of every C function (raw ctypes): status, message, handle unchanged and usable afterwards.
# ------------------------------------------------------------------------------------------------

def raw(lib, name, *args):
    status = getattr(lib, name)(*args)
    message = lib.fg_last_error().decode()
    return status, message


def test_misuse_graph_functions(lib, tmp_path):
    out = ctypes.c_void_p(1234)
    assert raw(lib, "fg_graph_load", None, ctypes.byref(out))[0] == C.ERR_NULL_ARGUMENT and not out.value
    assert raw(lib, "fg_graph_load", b"/nonexistent/dir", ctypes.byref(out))[0] == C.ERR_IO
    assert raw(lib, "fg_graph_load", b"x", None)[0] == C.ERR_NULL_ARGUMENT
    (tmp_path / "edges.csv").write_text("src,dst\n0,1\n1,two\n")
    status, message = raw(lib, "fg_graph_load", str(tmp_path).encode(), ctypes.byref(out))
    assert status == C.ERR_CORRUPT_FILE and "line 3" in message
    (tmp_path / "edges.csv").write_text("0,1\n1,2\n")
    np.save(tmp_path / "labels.npy", np.array([0, 1], dtype=np.int32))  # 3 nodes in the edges
    status, message = raw(lib, "fg_graph_load", str(tmp_path).encode(), ctypes.byref(out))
    assert status == C.ERR_OUT_OF_RANGE and "(1, 2)" in message

    edges = np.array([[0, 1], [1, 2]], dtype=np.int32)
    e = edges.ctypes.data_as(ctypes.c_void_p)
    f = np.ones((3, 2), dtype=np.float32)
    fp = f.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    lab = np.array([0, 1, 0], dtype=np.int32)
    lp_ = lab.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
    create = lambda *a: raw(lib, "fg_graph_create", *a)[0]
    assert create(3, e, 2, S.INDEX_INT32, None, 0, 0, None, 0, None) == C.ERR_NULL_ARGUMENT
    assert create(0, e, 2, S.INDEX_INT32, None, 0, 0, None, 0, ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT
    assert create(3, None, 2, S.INDEX_INT32, None, 0, 0, None, 0, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT
    assert create(3, e, 2, 7, None, 0, 0, None, 0, ctypes.byref(out)) == C.ERR_UNKNOWN_ENUM
    assert create(2, e, 2, S.INDEX_INT32, None, 0, 0, None, 0, ctypes.byref(out)) == C.ERR_OUT_OF_RANGE
    assert create(3, e, (1 << 64) - 1, S.INDEX_INT32, None, 0, 0, None, 0, ctypes.byref(out)) == C.ERR_OUT_OF_MEMORY
    assert create(3, e, 2, S.INDEX_INT32, fp, 2, 2, None, 0, ctypes.byref(out)) == C.ERR_SHAPE_MISMATCH
    assert create(3, e, 2, S.INDEX_INT32, fp, 3, (1 << 63), None, 0, ctypes.byref(out)) in (C.ERR_INVALID_ARGUMENT, C.ERR_OUT_OF_MEMORY)
    assert create(3, e, 2, S.INDEX_INT32, None, 0, 0, lp_, 2, ctypes.byref(out)) == C.ERR_SHAPE_MISMATCH
    f[1, 1] = np.nan
    assert create(3, e, 2, S.INDEX_INT32, fp, 3, 2, None, 0, ctypes.byref(out)) == C.ERR_NON_FINITE
    lab[2] = -1
    assert create(3, e, 2, S.INDEX_INT32, None, 0, 0, lp_, 3, ctypes.byref(out)) == C.ERR_OUT_OF_RANGE
    assert not out.value
    # Getters and edges on NULL.
    for name in ("fg_graph_num_nodes", "fg_graph_num_edges", "fg_graph_num_features", "fg_graph_num_classes"):
        assert getattr(lib, name)(None) == 0
    lib.fg_graph_free(None)
    assert raw(lib, "fg_graph_edges", None, None, 0, None)[0] == C.ERR_NULL_ARGUMENT
    with flowgen.Graph(3, edges=[[0, 1], [1, 2]]) as g, g._use() as h:
        n = ctypes.c_size_t()
        assert raw(lib, "fg_graph_edges", h, None, 0, None)[0] == C.ERR_NULL_ARGUMENT
        small = np.zeros(3, dtype=np.int64)
        assert raw(lib, "fg_graph_edges", h, small.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), 3, ctypes.byref(n))[0] == C.ERR_BUFFER_TOO_SMALL
        assert n.value == 4
        assert lib.fg_graph_num_edges(h) == 2


def test_misuse_linkpred_functions(lib, cora):
    out = ctypes.c_void_p()
    params = lib.fg_linkpred_default_params()
    assert params.struct_size == ctypes.sizeof(S.LinkPredParams) and params.hits_k == 100
    with cora._use() as g:
        assert raw(lib, "fg_linkpred_create", None, None, ctypes.byref(out))[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_linkpred_create", g, None, None)[0] == C.ERR_NULL_ARGUMENT
        for field, value, status in (("struct_size", 3, C.ERR_STRUCT_SIZE), ("model", 99, C.ERR_UNKNOWN_ENUM),
                                     ("hidden", 0, C.ERR_INVALID_ARGUMENT), ("learning_rate", float("nan"), C.ERR_INVALID_ARGUMENT),
                                     ("learning_rate", -1.0, C.ERR_INVALID_ARGUMENT), ("input_dropout", 1.5, C.ERR_INVALID_ARGUMENT),
                                     ("dropout", 1.0, C.ERR_INVALID_ARGUMENT), ("hits_k", 0, C.ERR_INVALID_ARGUMENT),
                                     ("layers", 99, C.ERR_INVALID_ARGUMENT)):
            bad = lib.fg_linkpred_default_params()
            setattr(bad, field, value)
            assert raw(lib, "fg_linkpred_create", g, ctypes.byref(bad), ctypes.byref(out))[0] == status, field
            assert not out.value
    with flowgen.Graph(5, edges=[[0, 1], [1, 2]]) as featureless, featureless._use() as g:
        bad = lib.fg_linkpred_default_params()
        bad.model = S.LINKPRED_GAE
        assert raw(lib, "fg_linkpred_create", g, ctypes.byref(bad), ctypes.byref(out))[0] == C.ERR_INVALID_ARGUMENT
    lib.fg_linkpred_free(None)

    with flowgen.LinkPredictor(cora, model="ra") as lp, lp._use() as h:
        report = S.LinkPredReport()
        report.struct_size = 5
        assert raw(lib, "fg_linkpred_fit", None, 0, S._ProgressFn(), None, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_linkpred_fit", h, 0, S._ProgressFn(), None, ctypes.byref(report))[0] == C.ERR_STRUCT_SIZE
        stop = S._ProgressFn(lambda *a: 1)
        assert raw(lib, "fg_linkpred_fit", h, 0, stop, None, None)[0] == C.ERR_CANCELLED
        pairs = np.array([[0, 1], [2, 3]], dtype=np.int64)
        pp = pairs.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
        dst = np.zeros(2, dtype=np.float32)
        dp = dst.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        n = ctypes.c_size_t()
        assert raw(lib, "fg_linkpred_score", None, pp, 2, dp, 2, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_linkpred_score", h, None, 2, dp, 2, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_linkpred_score", h, pp, 0, dp, 2, None)[0] == C.ERR_INVALID_ARGUMENT
        assert raw(lib, "fg_linkpred_score", h, pp, 2, dp, 1, ctypes.byref(n))[0] == C.ERR_BUFFER_TOO_SMALL and n.value == 2
        assert raw(lib, "fg_linkpred_score", h, pp, 2, None, 0, ctypes.byref(n))[0] == C.OK and n.value == 2
        pairs[1, 1] = 2708
        status, message = raw(lib, "fg_linkpred_score", h, pp, 2, dp, 2, None)
        assert status == C.ERR_OUT_OF_RANGE and "2708" in message
        pairs[1, 1] = -1
        assert raw(lib, "fg_linkpred_score", h, pp, 2, dp, 2, None)[0] == C.ERR_OUT_OF_RANGE
        pairs[1, 1] = 3
        d = ctypes.c_double()
        ev = lambda *a: raw(lib, "fg_linkpred_evaluate", *a)[0]
        assert ev(None, pp, 2, pp, 2, 1, None, None, None) == C.ERR_NULL_ARGUMENT
        assert ev(h, pp, 2, None, 2, 1, None, None, None) == C.ERR_NULL_ARGUMENT
        assert ev(h, pp, 2, pp, 2, 3, ctypes.byref(d), None, None) == C.ERR_INVALID_ARGUMENT  # K > negatives
        assert ev(h, pp, 2, pp, 2, 0, ctypes.byref(d), None, None) == C.ERR_INVALID_ARGUMENT
        assert ev(h, pp, 0, pp, 2, 1, ctypes.byref(d), None, None) == C.ERR_INVALID_ARGUMENT
        assert ev(h, pp, 2, pp, 2, 2, ctypes.byref(d), None, None) == C.OK
    # Still usable after every failure (pairs [0,1],[2,3] as above).
    assert lp.closed
    with flowgen.LinkPredictor(cora, model="ra") as lp:
        for call in (lambda: lp.score([[0, 2708]]), lambda: lp.evaluate([[0, 1]], [[2, 3]], k=2),
                     lambda: lp.fit(0, progress=lambda *a: True)):
            with pytest.raises(FlowgenError):
                call()
        assert lp.fit(split_seed=0)["test_hits"] > 0.29
        assert lp.score([[0, 1], [2, 3]]).shape == (2,)
    # hits_k larger than the negatives of the split: a status, not a crash.
    with flowgen.Graph(20, edges=[[i, (i + 1) % 20] for i in range(20)]) as ring:
        with flowgen.LinkPredictor(ring, model="cn") as lp:
            assert status_of(lambda: lp.fit(0)) == C.ERR_INVALID_ARGUMENT
        with flowgen.LinkPredictor(ring, model="cn", hits_k=2) as lp:
            assert 0 <= lp.fit(0)["test_hits"] <= 1


@pytest.mark.parametrize("options", [dict(model="gcn"), dict(model="gat", epochs=4, virtual_node=True, jumping_knowledge="cat"),
                                     dict(model="sage", normalize_features=False, layers=3)])
def test_nodeclass_save_load_round_trip(cora, tmp_path, options):
    options = dict(dict(epochs=10, seed=3), **options)
    path = tmp_path / "nc.safetensors"
    with flowgen.NodeClassifier(cora, **options) as nc:
        nc.fit()
        logits, accuracy = nc.predict(), nc.evaluate()
        nc.save(path)
    with flowgen.NodeClassifier.load(cora, path) as loaded:
        assert np.array_equal(loaded.predict(), logits) and loaded.evaluate() == accuracy
        loaded.fit(epochs=2)  # training continues (Adam starts afresh)
        assert not np.array_equal(loaded.predict(), logits)


def test_nodeclass_load_misuse(lib, cora, tmp_path):
    with flowgen.NodeClassifier(cora, epochs=2) as nc:
        nc.fit()
        path = tmp_path / "nc.safetensors"
        nc.save(path)
        with pytest.raises(FlowgenError) as info:
            nc.save(tmp_path / "missing" / "x.safetensors")
        assert info.value.status == C.ERR_IO
    with flowgen.LinkPredictor(cora, model="cn") as lp:
        lp.save(tmp_path / "lp.safetensors")
    with pytest.raises(FlowgenError, match="not a node classifier") as info:
        flowgen.NodeClassifier.load(cora, tmp_path / "lp.safetensors")
    assert info.value.status == C.ERR_CORRUPT_FILE
    with pytest.raises(FlowgenError) as info:
        flowgen.NodeClassifier.load(cora, tmp_path / "nope.safetensors")
    assert info.value.status == C.ERR_IO
    labels = np.zeros(cora.num_nodes, dtype=np.int32)
    labels[:3] = [0, 1, 2]
    with flowgen.Graph(cora.num_nodes, edge_index=cora.edge_index, x=np.ones((cora.num_nodes, 4), np.float32), y=labels) as other:
        with pytest.raises(FlowgenError, match="features") as info:
            flowgen.NodeClassifier.load(other, path)
        assert info.value.status == C.ERR_CORRUPT_FILE
    out = ctypes.c_void_p(1)
    with cora._use() as g:
        assert lib.fg_nodeclass_load(None, os.fsencode(path), ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and not out.value
        assert lib.fg_nodeclass_load(g, None, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and not out.value
        assert lib.fg_nodeclass_load(g, b"", ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT and not out.value
        assert lib.fg_nodeclass_load(g, os.fsencode(path), None) == C.ERR_NULL_ARGUMENT
    assert lib.fg_nodeclass_save(None, os.fsencode(path)) == C.ERR_NULL_ARGUMENT


def test_misuse_nodeclass_functions(lib, cora):
    out = ctypes.c_void_p()
    params = lib.fg_nodeclass_default_params()
    assert (params.hidden, params.epochs) == (16, 200)
    with cora._use() as g:
        assert raw(lib, "fg_nodeclass_create", None, None, ctypes.byref(out))[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_create", g, None, None)[0] == C.ERR_NULL_ARGUMENT
        for field, value, status in (("struct_size", 0, C.ERR_STRUCT_SIZE), ("model", 99, C.ERR_UNKNOWN_ENUM),
                                     ("hidden", 0, C.ERR_INVALID_ARGUMENT), ("layers", 0, C.ERR_INVALID_ARGUMENT),
                                     ("weight_decay", -1.0, C.ERR_INVALID_ARGUMENT), ("dropout", -0.1, C.ERR_INVALID_ARGUMENT)):
            bad = lib.fg_nodeclass_default_params()
            setattr(bad, field, value)
            assert raw(lib, "fg_nodeclass_create", g, ctypes.byref(bad), ctypes.byref(out))[0] == status, field
    with flowgen.Graph(3, edges=[[0, 1]]) as bare, bare._use() as g:
        assert raw(lib, "fg_nodeclass_create", g, None, ctypes.byref(out))[0] == C.ERR_INVALID_ARGUMENT
    lib.fg_nodeclass_free(None)
    with flowgen.NodeClassifier(cora, epochs=3) as nc, nc._use() as h:
        ids = np.array([0, 5000], dtype=np.int32)
        ip = ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        acc = ctypes.c_float()
        assert raw(lib, "fg_nodeclass_fit", None, None, 0, 0, S._ProgressFn(), None, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_fit", h, ip, 2, 0, S._ProgressFn(), None, None)[0] == C.ERR_OUT_OF_RANGE
        assert raw(lib, "fg_nodeclass_fit", h, ip, 0, 0, S._ProgressFn(), None, None)[0] == C.ERR_INVALID_ARGUMENT
        assert raw(lib, "fg_nodeclass_fit", h, None, 0, 0, S._ProgressFn(lambda *a: 1), None, None)[0] == C.ERR_CANCELLED
        assert raw(lib, "fg_nodeclass_evaluate", None, None, 0, ctypes.byref(acc))[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_evaluate", h, None, 0, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_evaluate", h, ip, 2, ctypes.byref(acc))[0] == C.ERR_OUT_OF_RANGE
        n = ctypes.c_size_t()
        small = np.zeros(5, dtype=np.float32)
        assert raw(lib, "fg_nodeclass_predict", None, None, 0, ctypes.byref(n))[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_predict", h, None, 0, None)[0] == C.ERR_NULL_ARGUMENT
        assert raw(lib, "fg_nodeclass_predict", h, small.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), 5, ctypes.byref(n))[0] == C.ERR_BUFFER_TOO_SMALL
        assert n.value == 2708 * 7
        # Usable afterwards.
        assert raw(lib, "fg_nodeclass_fit", h, None, 0, 0, S._ProgressFn(), None, None)[0] == C.OK
        assert raw(lib, "fg_nodeclass_evaluate", h, None, 0, ctypes.byref(acc))[0] == C.OK and 0 <= acc.value <= 1


def test_python_side_argument_errors(cora):
    with pytest.raises(FlowgenError):
        flowgen.LinkPredictor(cora, model="nope")
    with pytest.raises(FlowgenError):
        flowgen.Graph(3)
    with flowgen.LinkPredictor(cora) as lp:
        with pytest.raises(FlowgenError):
            lp.score(np.zeros((3, 3), dtype=np.int64))
        with pytest.raises(FlowgenError):
            lp.score([[0.5, 1.0]])
    lp.close()
    with pytest.raises(FlowgenError):
        lp.score([[0, 1]])


def test_huge_node_ids_and_sizes_are_statuses(tmp_path):
    (tmp_path / "edges.csv").write_text("0,1\n1,4000000000\n")
    with pytest.raises(FlowgenError) as info:
        flowgen.Graph.load(tmp_path)
    assert info.value.status == C.ERR_INVALID_ARGUMENT
    with pytest.raises(FlowgenError) as info:
        flowgen.Graph(1 << 40, edges=[[0, 1]])
    assert info.value.status == C.ERR_OUT_OF_MEMORY
    with flowgen.Graph(3, edges=[[0, 1]], x=np.ones((3, 2)), y=[0, 1, 2000000]) as g:
        with pytest.raises(FlowgenError) as info:
            flowgen.NodeClassifier(g)
        assert info.value.status in (C.ERR_INVALID_ARGUMENT, C.ERR_OUT_OF_MEMORY)
        with pytest.raises(FlowgenError) as info:
            flowgen.LinkPredictor(g, model="ncn", hidden=65536)
        assert info.value.status == C.ERR_INVALID_ARGUMENT


C_PROGRAM = r"""
#include <stdio.h>
#include "flowgen.h"
int main(void) {
    fg_graph *g = NULL;
    if (fg_graph_load(CORA, &g) != FG_OK) { printf("load: %s\n", fg_last_error()); return 1; }
    printf("nodes %zu edges %zu features %zu classes %zu\n", fg_graph_num_nodes(g), fg_graph_num_edges(g),
           fg_graph_num_features(g), fg_graph_num_classes(g));
    fg_linkpred_params p = fg_linkpred_default_params();
    p.model = FG_LINKPRED_CN;
    fg_linkpred *lp = NULL;
    if (fg_linkpred_create(g, &p, &lp) != FG_OK) { printf("create: %s\n", fg_last_error()); return 1; }
    fg_graph_free(g);  /* the predictor keeps its own reference */
    fg_linkpred_report r = { .struct_size = sizeof(fg_linkpred_report) };
    if (fg_linkpred_fit(lp, 0, NULL, NULL, &r) != FG_OK) { printf("fit: %s\n", fg_last_error()); return 1; }
    printf("CN test HR@100 %.4f MRR %.4f AUROC %.4f\n", r.test_hits, r.test_mrr, r.test_auroc);
    int64_t pairs[4] = {0, 633, 1, 2};
    float s[2]; size_t n = 0;
    fg_status st = fg_linkpred_score(lp, pairs, 2, s, 2, &n);
    printf("score status %d n %zu: %g %g\n", st, n, s[0], s[1]);
    pairs[1] = 99999;
    st = fg_linkpred_score(lp, pairs, 2, s, 2, &n);
    printf("bad id: %s — %s\n", fg_status_str(st), fg_last_error());
    fg_nodeclass *nc = NULL;
    fg_graph_load(CORA, &g);
    fg_nodeclass_create(g, NULL, &nc);
    float loss = 0, acc = 0;
    fg_nodeclass_fit(nc, NULL, 0, 0, NULL, NULL, &loss);
    fg_nodeclass_evaluate(nc, NULL, 0, &acc);
    printf("GCN loss %.3f test accuracy %.3f\n", loss, acc);
    fg_nodeclass_free(nc); fg_graph_free(g); fg_linkpred_free(lp);
    return 0;
}
"""


def test_c_program_against_the_header(tmp_path):
    """A C11 client (-Wall -Wextra -pedantic -Werror) of the graph section: load, CN fit, score, misuse, GCN."""
    import shutil
    import subprocess
    from conftest import REPO_ROOT, header_path
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler")
    lib_path = flowgen.library_path()
    source = tmp_path / "graph_smoke.c"
    source.write_text(C_PROGRAM)
    exe = tmp_path / "graph_smoke"
    cora = flowgen.graph.bundled_cora_path()
    subprocess.run([compiler, "-std=c11", "-Wall", "-Wextra", "-pedantic", "-Werror",
                    "-I", os.path.dirname(header_path()), '-DCORA="%s"' % cora, str(source),
                    lib_path, "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(lib_path))).stdout
    assert "nodes 2708 edges 5278 features 1433 classes 7" in out
    hr = float(out.split("CN test HR@100 ")[1].split()[0])
    assert 0.29 < hr < 0.38
    assert "bad id: FG_ERR_OUT_OF_RANGE" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.77
