"""GAT, jumping knowledge and the virtual node through the Python bindings, the fg_nodeclass_params fields
added after the first release (old struct size still accepted) and their misuse; NBFNet link prediction on a
featureless community graph and its misuse."""
import ctypes

import numpy as np
import pytest

import flowgen
from flowgen import _sig_graph as S
from flowgen import constants as C
from flowgen.errors import FlowgenError, InvalidArgumentError, UnknownEnumError


def status_of(call):
    with pytest.raises(FlowgenError) as info:
        call()
    return info.value.status


def test_gat_node_classification_on_cora(cora):
    with flowgen.NodeClassifier(cora, model="gat", seed=0, epochs=100) as nc:
        assert np.isfinite(nc.fit())
        # Velickovic et al. 83.0 % with early stopping; 100 epochs of one seed land near 80 %.
        assert nc.evaluate() > 0.77
        assert nc.predict().shape == (2708, 7)


def test_virtual_node_and_jumping_knowledge_learn(cora):
    for options in ({"virtual_node": True}, {"jumping_knowledge": "cat"}, {"jumping_knowledge": "max", "layers": 3}):
        with flowgen.NodeClassifier(cora, model="gcn", seed=0, epochs=60, **options) as nc:
            nc.fit()
            assert nc.evaluate() > 0.7, options


def test_new_nodeclass_fields_and_misuse(lib, cora):
    params = lib.fg_nodeclass_default_params()
    assert ctypes.sizeof(params) == params.struct_size == 56
    assert (params.heads, params.virtual_node, params.jumping_knowledge) == (0, 0, S.JK_NONE)
    out = ctypes.c_void_p()
    with cora._use() as g:
        for field, value, status in (("jumping_knowledge", 4, C.ERR_UNKNOWN_ENUM), ("heads", 65, C.ERR_INVALID_ARGUMENT),
                                     ("struct_size", 52, C.ERR_STRUCT_SIZE), ("model", 4, C.ERR_UNKNOWN_ENUM)):
            bad = lib.fg_nodeclass_default_params()
            setattr(bad, field, value)
            assert lib.fg_nodeclass_create(g, ctypes.byref(bad), ctypes.byref(out)) == status, field
            assert out.value is None
        bad = lib.fg_nodeclass_default_params()
        bad.virtual_node, bad.layers = 1, 1
        assert lib.fg_nodeclass_create(g, ctypes.byref(bad), ctypes.byref(out)) == C.ERR_INVALID_ARGUMENT
        assert "virtual_node" in lib.fg_last_error().decode()
        # A caller built with the older header passes 48 bytes: the new fields must not be read (here they hold
        # invalid values past the caller's struct) and take their defaults.
        old = lib.fg_nodeclass_default_params()
        old.struct_size, old.heads, old.virtual_node, old.jumping_knowledge = 48, 999, 1, 77
        old.epochs, old.layers = 1, 1
        assert lib.fg_nodeclass_create(g, ctypes.byref(old), ctypes.byref(out)) == C.OK, lib.fg_last_error()
        lib.fg_nodeclass_free(out)
    with pytest.raises(FlowgenError):
        flowgen.NodeClassifier(cora, jumping_knowledge="sum")
    assert status_of(lambda: flowgen.NodeClassifier(cora, model="gat", heads=100)) == C.ERR_INVALID_ARGUMENT


def community_graph(seed=2, groups=4, size=20, p_in=0.35, p_out=0.01):
    rng = np.random.default_rng(seed)
    n = groups * size
    u, v = np.triu_indices(n, 1)
    same = (u // size) == (v // size)
    keep = rng.random(u.size) < np.where(same, p_in, p_out)
    return flowgen.Graph(n, edge_index=np.stack([u[keep], v[keep]]))


def test_nbfnet_link_prediction_without_features(tmp_path):
    with community_graph() as g, flowgen.LinkPredictor(g, "nbfnet", hidden=16, layers=3, epochs=3, batch_size=16,
                                                       hits_k=5, seed=0) as lp:
        assert g.num_features == 0
        seen = []
        report = lp.fit(split_seed=0, progress=lambda e, t, loss: seen.append((e, t, loss)) and False)
        assert [s[:2] for s in seen] == [(1, 3), (2, 3), (3, 3)]
        # Test negatives are mostly cross-community pairs.
        assert report["test_auroc"] > 0.85 and 1 <= report["best_epoch"] <= 3 and report["epoch_seconds"] > 0
        assert report["test_ap"] > 0.8  # NBFNet's AP used to be left at 0 in the report
        pairs = [[0, 1], [0, 79], [5, 60], [3, 4]]
        scores = lp.score(pairs)
        assert scores.shape == (4,) and np.all(np.isfinite(scores))
        # A saved NBFNet keeps its weights and scoring graph (saving used to drop both).
        path = tmp_path / "nbfnet.safetensors"
        lp.save(path)
        with flowgen.LinkPredictor.load(g, path) as restored:
            np.testing.assert_array_equal(restored.score(pairs), scores)


def test_nbfnet_on_nbfnets_own_split_protocol():
    """split="random": NBFNet's 85/5/10 protocol with selection by validation AUROC."""
    with community_graph() as g, flowgen.LinkPredictor(g, "nbfnet", hidden=16, layers=3, epochs=3, batch_size=16,
                                                       hits_k=5, seed=0, split="random") as lp:
        report = lp.fit(split_seed=0)
        assert 0.8 < report["val_auroc"] <= 1 and report["test_auroc"] > 0.8 and 1 <= report["best_epoch"] <= 3
        with pytest.raises(UnknownEnumError, match="split"):
            flowgen.LinkPredictor(g, "nbfnet", split="70/10/20")
    with flowgen.Graph(6, edge_index=np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]])) as tiny, \
            flowgen.LinkPredictor(tiny, "cn", split="random", hits_k=1) as lp:
        with pytest.raises(InvalidArgumentError, match="too few for a 0.05/0.1 split"):
            lp.fit(0)


def test_nbfnet_misuse(lib, cora):
    out = ctypes.c_void_p()
    with cora._use() as g:
        for field, value, status in (("model", 7, C.ERR_UNKNOWN_ENUM), ("hidden", 2000, C.ERR_INVALID_ARGUMENT)):
            bad = lib.fg_linkpred_default_params()
            bad.model = S.LINKPRED_NBFNET
            setattr(bad, field, value)
            assert lib.fg_linkpred_create(g, ctypes.byref(bad), ctypes.byref(out)) == status, field
            assert out.value is None
        big = lib.fg_linkpred_default_params()
        big.model, big.hidden, big.layers = S.LINKPRED_NBFNET, 1024, 16
        assert lib.fg_linkpred_create(g, ctypes.byref(big), ctypes.byref(out)) == C.ERR_OUT_OF_MEMORY
        assert "NBFNet" in lib.fg_last_error().decode()


def test_virtual_node_transform(lib, cora):
    with cora.add_virtual_node() as g:
        assert (g.num_nodes, g.num_edges, g.num_features, g.num_classes) == (2709, 5278 + 2708, 1433, 7)
        edges = g.edges()
        assert np.all(np.sort(edges[edges[:, 1] == 2708, 0]) == np.arange(2708))
        with flowgen.NodeClassifier(g, epochs=30, seed=0) as nc:
            nc.fit()
            assert nc.evaluate() > 0.5
    out = ctypes.c_void_p()
    assert lib.fg_graph_add_virtual_node(None, ctypes.byref(out)) == C.ERR_NULL_ARGUMENT and out.value is None
    with cora._use() as h:
        assert lib.fg_graph_add_virtual_node(h, None) == C.ERR_NULL_ARGUMENT
