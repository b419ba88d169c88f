"""ctypes signatures of the graph learning (fg_graph_*, fg_linkpred_*, fg_nodeclass_*) functions of
include/flowgen.h: name -> (restype, argtypes). Merged into flowgen._lib.SIGNATURES. Also the mirrors of
fg_linkpred_params / fg_linkpred_report / fg_nodeclass_params and the FG_INDEX_*, FG_LINKPRED_*, FG_GNN_*
constants."""
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int32, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)

__all__ = ["LinkPredParams", "LinkPredReport", "NodeClassParams", "SIGNATURES", "INDEX_INT32",
           "INDEX_INT64", "LINKPRED_CN", "LINKPRED_AA", "LINKPRED_RA", "LINKPRED_GAE", "LINKPRED_NCN",
           "LINKPRED_NCNC", "LINKPRED_NBFNET", "LINKPRED_MODELS", "LINKPRED_SPLIT_NCN", "LINKPRED_SPLIT_RANDOM",
           "LINKPRED_SPLITS", "GNN_GCN", "GNN_SAGE", "GNN_GIN", "GNN_GAT",
           "GNN_MODELS", "JK_NONE", "JK_LAST", "JK_CONCAT", "JK_MAX", "JK_MODES"]

# Constants (values pinned by the C ABI).
INDEX_INT32 = 0
INDEX_INT64 = 1
LINKPRED_CN = 0
LINKPRED_AA = 1
LINKPRED_RA = 2
LINKPRED_GAE = 3
LINKPRED_NCN = 4
LINKPRED_NCNC = 5
LINKPRED_NBFNET = 6
LINKPRED_SPLIT_NCN = 0
LINKPRED_SPLIT_RANDOM = 1
GNN_GCN = 0
GNN_SAGE = 1
GNN_GIN = 2
GNN_GAT = 3
JK_NONE = 0
JK_LAST = 1
JK_CONCAT = 2
JK_MAX = 3

#: Names accepted by LinkPredictor(model=...).
LINKPRED_MODELS = {"cn": LINKPRED_CN, "common_neighbors": LINKPRED_CN, "aa": LINKPRED_AA,
                   "adamic_adar": LINKPRED_AA, "ra": LINKPRED_RA, "resource_allocation": LINKPRED_RA,
                   "gae": LINKPRED_GAE, "ncn": LINKPRED_NCN, "ncnc": LINKPRED_NCNC, "nbfnet": LINKPRED_NBFNET}
#: Names accepted by LinkPredictor(split=...).
LINKPRED_SPLITS = {"ncn": LINKPRED_SPLIT_NCN, "random": LINKPRED_SPLIT_RANDOM}
#: Names accepted by NodeClassifier(model=...).
GNN_MODELS = {"gcn": GNN_GCN, "sage": GNN_SAGE, "graphsage": GNN_SAGE, "gin": GNN_GIN, "gat": GNN_GAT}
#: Names accepted by NodeClassifier(jumping_knowledge=...) (None = JK_NONE).
JK_MODES = {"none": JK_NONE, "last": JK_LAST, "cat": JK_CONCAT, "concat": JK_CONCAT, "max": JK_MAX}


class LinkPredParams(Structure):
    """Mirror of ``fg_linkpred_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("model", c_uint32),
        ("hidden", c_uint32),
        ("layers", c_uint32),
        ("learning_rate", c_float),
        ("dropout", c_float),
        ("epochs", c_uint32),
        ("batch_size", c_uint32),
        ("seed", c_uint64),
        ("hits_k", c_uint32),
        ("target_link_removal", c_uint32),
        ("input_dropout", c_float),
        ("hidden_dropout", c_float),
        ("predictor_dropout", c_float),
        ("predictor_edge_dropout", c_float),
        ("predictor_learning_rate", c_float),
        ("custom_completion", c_uint32),
        ("completion", c_float * 4),
        ("train_candidates", c_uint32),
        ("test_candidates", c_uint32),
        ("split_protocol", c_uint32),
    ]


class LinkPredReport(Structure):
    """Mirror of ``fg_linkpred_report``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("best_epoch", c_uint32),
        ("val_hits", c_double),
        ("test_hits", c_double),
        ("test_mrr", c_double),
        ("test_auroc", c_double),
        ("epoch_seconds", c_double),
        ("test_ap", c_double),
        ("val_auroc", c_double),
    ]


class NodeClassParams(Structure):
    """Mirror of ``fg_nodeclass_params``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("model", c_uint32),
        ("hidden", c_uint32),
        ("layers", c_uint32),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("dropout", c_float),
        ("epochs", c_uint32),
        ("seed", c_uint64),
        ("normalize_features", c_uint32),
        ("heads", c_uint32),
        ("virtual_node", c_uint32),
        ("jumping_knowledge", c_uint32),
    ]


_ProgressFn = CFUNCTYPE(c_int32, c_uint64, c_uint64, c_float, c_void_p)  # == flowgen._lib.ProgressFn
_status = c_int32
_handle = c_void_p
_handle_out = POINTER(c_void_p)
_float_p = POINTER(c_float)
_double_p = POINTER(c_double)
_size_p = POINTER(c_size_t)
_i32_p = POINTER(c_int32)
_i64_p = POINTER(c_int64)

SIGNATURES = {
    "fg_graph_load": (_status, [c_char_p, _handle_out]),
    "fg_graph_create": (_status, [c_size_t, c_void_p, c_size_t, c_uint32, _float_p, c_size_t, c_size_t,
                                  _i32_p, c_size_t, _handle_out]),
    "fg_graph_free": (None, [_handle]),
    "fg_graph_add_virtual_node": (_status, [_handle, _handle_out]),
    "fg_graph_num_nodes": (c_size_t, [_handle]),
    "fg_graph_num_edges": (c_size_t, [_handle]),
    "fg_graph_num_features": (c_size_t, [_handle]),
    "fg_graph_num_classes": (c_size_t, [_handle]),
    "fg_graph_edges": (_status, [_handle, _i64_p, c_size_t, _size_p]),
    "fg_linkpred_default_params": (LinkPredParams, []),
    "fg_linkpred_create": (_status, [_handle, POINTER(LinkPredParams), _handle_out]),
    "fg_linkpred_free": (None, [_handle]),
    "fg_linkpred_fit": (_status, [_handle, c_uint64, _ProgressFn, c_void_p, POINTER(LinkPredReport)]),
    "fg_linkpred_score": (_status, [_handle, _i64_p, c_size_t, _float_p, c_size_t, _size_p]),
    "fg_linkpred_evaluate": (_status, [_handle, _i64_p, c_size_t, _i64_p, c_size_t, c_uint32,
                                       _double_p, _double_p, _double_p]),
    "fg_linkpred_average_precision": (_status, [_handle, _i64_p, c_size_t, _i64_p, c_size_t, _double_p]),
    "fg_linkpred_save": (_status, [_handle, c_char_p]),
    "fg_linkpred_load": (_status, [_handle, c_char_p, _handle_out]),
    "fg_nodeclass_save": (_status, [_handle, c_char_p]),
    "fg_nodeclass_load": (_status, [_handle, c_char_p, _handle_out]),
    "fg_nodeclass_default_params": (NodeClassParams, []),
    "fg_nodeclass_create": (_status, [_handle, POINTER(NodeClassParams), _handle_out]),
    "fg_nodeclass_free": (None, [_handle]),
    "fg_nodeclass_fit": (_status, [_handle, _i32_p, c_size_t, c_uint32, _ProgressFn, c_void_p, _float_p]),
    "fg_nodeclass_evaluate": (_status, [_handle, _i32_p, c_size_t, _float_p]),
    "fg_nodeclass_predict": (_status, [_handle, _float_p, c_size_t, _size_p]),
}
