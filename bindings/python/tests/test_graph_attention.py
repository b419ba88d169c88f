"""GAT, jumping knowledge and the virtual node through the Python bindings, the fg_nodeclass_params fields
added after the first release (old struct size still accepted) and their misuse."""
import ctypes

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
