"""Graph learning inside libflowgen (fg_graph_*, fg_linkpred_*, fg_nodeclass_* of include/flowgen.h).

    >>> import flowgen
    >>> with flowgen.Graph.cora() as g, flowgen.LinkPredictor(g, model="cn") as lp:
    ...     report = lp.fit(split_seed=0)          # the NCN protocol: 70/10/20, strict HR@100
    ...     report["test_hits"]                   # ≈ 0.34 on Cora

Names follow PyTorch Geometric where it helps: ``Graph(num_nodes, edge_index=..., x=..., y=...)``.
"""
import ctypes
import operator
import os

import numpy as np

from . import constants as _c
from . import _sig_graph as _s
from ._handle import NativeHandle, progress_callback
from ._lib import get_lib
from .errors import (FlowgenError, InternalError, InvalidArgumentError,
                     ShapeMismatchError, UnknownEnumError, check)

__all__ = ["Graph", "LinkPredictor", "NodeClassifier", "bundled_cora_path"]


def _path(path):
    try:
        raw = os.fsencode(path)
    except TypeError:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "path must be str, bytes or os.PathLike; got %r" % (path,)) from None
    if b"\0" in raw:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "path contains a NUL byte")
    return raw


def bundled_cora_path():
    """Folder of the compact Cora shipped in the repository (data/cora), or None."""
    folder = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(os.environ["FLOWGEN_DATA"], "cora")] if os.environ.get("FLOWGEN_DATA") else []
    while True:
        candidates.append(os.path.join(folder, "data", "cora"))
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for path in candidates:
        if os.path.exists(os.path.join(path, "edges.npy")):
            return path
    return None


def _index(name, value, bits=64, low=0):
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "%s must be an integer; got %r" % (name, value)) from None
    if not low <= number < (1 << bits):
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "%s must be in %d ... 2^%d-1; got %d" % (name, low, bits, number))
    return number


def _int_array(name, value, dtype):
    array = np.asarray(value)
    if array.size == 0:
        array = array.astype(dtype)
    if array.dtype.kind not in "iu":
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "%s must hold integers; got dtype %s" % (name, array.dtype))
    if array.size and (array.min() < np.iinfo(dtype).min or array.max() > np.iinfo(dtype).max):
        raise FlowgenError.from_status(_c.ERR_OUT_OF_RANGE, "%s has values outside the %s range" % (name, np.dtype(dtype).name))
    return np.ascontiguousarray(array, dtype=dtype)


def _pairs(name, value):
    """[k, 2] int64 node pairs (also accepts PyG's [2, k] edge_label_index when k != 2)."""
    array = _int_array(name, value, np.int64)
    if array.ndim == 2 and array.shape[0] == 2 and array.shape[1] != 2:
        array = np.ascontiguousarray(array.T)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "%s must have shape [k, 2]; got %s" % (name, array.shape))
    return array


def _enum(name, value, table):
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_")
        if key not in table:
            raise UnknownEnumError(_c.ERR_UNKNOWN_ENUM, "unknown %s %r; expected one of %s" % (name, value, ", ".join(sorted(table))))
        return table[key]
    return _index(name, value, 32)


class Graph(NativeHandle):
    """An immutable undirected graph (fg_graph): self loops are dropped, duplicate and reversed edges merged.

    Args:
        num_nodes: number of nodes (ids 0 … num_nodes-1).
        edge_index: PyG layout [2, m] (int), or
        edges: [m, 2] (int); give one of the two.
        x: optional node features [num_nodes, d] (finite floats).
        y: optional class ids [num_nodes] (ints >= 0).
    """

    _free_name = "fg_graph_free"
    _kind = "graph"

    def __init__(self, num_nodes, edge_index=None, *, edges=None, x=None, y=None):
        if (edge_index is None) == (edges is None):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "give exactly one of edge_index [2, m] and edges [m, 2]")
        if edge_index is not None:
            array = _int_array("edge_index", edge_index, np.int64)
            if array.ndim != 2 or array.shape[0] != 2:
                raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "edge_index must have shape [2, m]; got %s" % (array.shape,))
            array = np.ascontiguousarray(array.T)
        else:
            array = _int_array("edges", edges, np.int64)
            if array.ndim != 2 or array.shape[1] != 2:
                if not (array.size == 0):
                    raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "edges must have shape [m, 2]; got %s" % (array.shape,))
                array = array.reshape(0, 2)
        n = _index("num_nodes", num_nodes)
        lib = get_lib()
        features = None
        rows = cols = 0
        if x is not None:
            features = np.asarray(x)
            if features.dtype.kind not in "biuf":
                raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "x must hold real numbers")
            with np.errstate(over="ignore", invalid="ignore"):
                features = np.ascontiguousarray(features, dtype=np.float32)
            if features.ndim != 2:
                raise ShapeMismatchError(_c.ERR_SHAPE_MISMATCH, "x must be 2-D [num_nodes, d]; got %s" % (features.shape,))
            rows, cols = features.shape
        labels = None
        if y is not None:
            labels = _int_array("y", y, np.int32).reshape(-1)
        out = ctypes.c_void_p()
        status = lib.fg_graph_create(
            n, array.ctypes.data_as(ctypes.c_void_p) if array.size else None, array.shape[0], _s.INDEX_INT64,
            features.ctypes.data_as(ctypes.POINTER(ctypes.c_float)) if features is not None else None, rows, cols,
            labels.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)) if labels is not None else None,
            0 if labels is None else labels.size, ctypes.byref(out))
        check(status, lib)
        self._init_handle(out.value)

    @classmethod
    def load(cls, path):
        """A graph read from a folder in the planetoid layout (edges.csv + .npy files) or the compact layout."""
        raw = _path(path)
        lib = get_lib()
        out = ctypes.c_void_p()
        check(lib.fg_graph_load(raw, ctypes.byref(out)), lib)
        graph = cls.__new__(cls)
        graph._init_handle(out.value)
        return graph

    def add_virtual_node(self):
        """A new graph with one virtual node (id num_nodes) linked to every node (PyG's VirtualNode transform,
        undirected): zero features, label 0, in no split."""
        lib = get_lib()
        out = ctypes.c_void_p()
        with self._use() as handle:
            check(lib.fg_graph_add_virtual_node(handle, ctypes.byref(out)), lib)
        graph = type(self).__new__(type(self))
        graph._init_handle(out.value)
        return graph

    @classmethod
    def cora(cls):
        """The bundled compact Cora (2708 nodes, 5278 edges, 1433 features, 7 classes, public split)."""
        path = bundled_cora_path()
        if path is None:
            raise FlowgenError.from_status(_c.ERR_IO, "the bundled data/cora was not found (set FLOWGEN_DATA)")
        return cls.load(path)

    def _count(self, function):
        with self._use() as handle:
            return int(getattr(get_lib(), function)(handle))

    @property
    def num_nodes(self):
        return self._count("fg_graph_num_nodes")

    @property
    def num_edges(self):
        """Undirected edges (each stored once)."""
        return self._count("fg_graph_num_edges")

    @property
    def num_features(self):
        return self._count("fg_graph_num_features")

    @property
    def num_classes(self):
        return self._count("fg_graph_num_classes")

    def edges(self):
        """The undirected edges as int64 [num_edges, 2], u < v, sorted."""
        lib = get_lib()
        with self._use() as handle:
            needed = ctypes.c_size_t(0)
            check(lib.fg_graph_edges(handle, None, 0, ctypes.byref(needed)), lib)
            dst = np.empty(max(needed.value, 0), dtype=np.int64)
            check(lib.fg_graph_edges(handle, dst.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), dst.size,
                                     ctypes.byref(needed)), lib)
        return dst.reshape(-1, 2)

    @property
    def edge_index(self):
        """PyG layout [2, 2 * num_edges] with both orientations."""
        e = self.edges()
        return np.concatenate([e.T, e[:, ::-1].T], axis=1)

    def __repr__(self):
        if self.closed:
            return "<flowgen.Graph (closed)>"
        return "<flowgen.Graph %d nodes, %d edges, %d features, %d classes>" % (
            self.num_nodes, self.num_edges, self.num_features, self.num_classes)


def _load_on_graph(cls, function, graph, path, **attributes):
    """A `cls` handle from the C loader `function(graph, path, &out)`, with `attributes` set on it."""
    if not isinstance(graph, Graph):
        raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "graph must be a flowgen.Graph; got %r" % (graph,))
    raw = _path(path)
    lib = get_lib()
    out = ctypes.c_void_p()
    with graph._use() as g:
        check(getattr(lib, function)(g, raw, ctypes.byref(out)), lib)
    obj = cls.__new__(cls)
    obj.__dict__.update(attributes)
    obj._init_handle(out.value)
    return obj


class LinkPredictor(NativeHandle):
    """A link predictor (fg_linkpred) on a graph: model "cn", "aa", "ra" (heuristics), "gae", "ncn", "ncnc" or
    "nbfnet".

    Keyword options left as None take the library defaults (fg_linkpred_default_params): hidden 256,
    layers 0 (model default: GAE 2, NCN/NCNC 1), learning_rate 0 (model default: GAE 0.01, NCN/NCNC 0.0043), dropout 0.3,
    input_dropout -1 (model default: GAE 0, NCN/NCNC 0.7), epochs 100, batch_size 1152, seed 0, hits_k 100,
    target_link_removal True. NCN/NCNC settings (None = the authors' Cora values): hidden_dropout 0.05 (gnndp),
    predictor_dropout 0.05 (predp), predictor_edge_dropout 0.4 (preedp), predictor_learning_rate 0.0024 (prelr),
    completion (s, o, alpha, pt) = (4.3, 2.8, 1, 0.75) for NCNC's recalibration, train_candidates /
    test_candidates 0 (all NCNC completion candidates). For ``model="nbfnet"`` (no node features needed) unset hidden, epochs and
    batch_size take NBFNet's Cora recipe instead: 32, 20 and 64 (layers 0 = 6, learning_rate 0 = 5e-3).
    split selects fit's protocol: "ncn" (default: 70/10/20, selection by validation Hits@K) or "random"
    (NBFNet's 85/5/10, selection by validation AUROC).
    """

    #: Options that differ from the library defaults when model="nbfnet".
    _NBFNET_DEFAULTS = {"hidden": 32, "epochs": 20, "batch_size": 64}

    _free_name = "fg_linkpred_free"
    _kind = "link predictor"

    def __init__(self, graph, model="cn", *, hidden=None, layers=None, learning_rate=None, dropout=None,
                 epochs=None, batch_size=None, seed=None, hits_k=None, target_link_removal=None,
                 input_dropout=None, hidden_dropout=None, predictor_dropout=None, predictor_edge_dropout=None,
                 predictor_learning_rate=None, completion=None, train_candidates=None, test_candidates=None,
                 split="ncn"):
        if not isinstance(graph, Graph):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "graph must be a flowgen.Graph; got %r" % (graph,))
        lib = get_lib()
        params = lib.fg_linkpred_default_params()
        params.model = _enum("model", model, _s.LINKPRED_MODELS)
        params.split_protocol = _enum("split", split, _s.LINKPRED_SPLITS)
        if params.model == _s.LINKPRED_NBFNET:
            hidden = self._NBFNET_DEFAULTS["hidden"] if hidden is None else hidden
            epochs = self._NBFNET_DEFAULTS["epochs"] if epochs is None else epochs
            batch_size = self._NBFNET_DEFAULTS["batch_size"] if batch_size is None else batch_size
        for name, value, bits in (("hidden", hidden, 32), ("layers", layers, 32), ("epochs", epochs, 32),
                                  ("batch_size", batch_size, 32), ("seed", seed, 64), ("hits_k", hits_k, 32),
                                  ("train_candidates", train_candidates, 32), ("test_candidates", test_candidates, 32)):
            if value is not None:
                setattr(params, name, _index(name, value, bits))
        for name, value in (("hidden_dropout", hidden_dropout), ("predictor_dropout", predictor_dropout),
                            ("predictor_edge_dropout", predictor_edge_dropout),
                            ("predictor_learning_rate", predictor_learning_rate)):
            if value is not None:
                setattr(params, name, float(value))
        if completion is not None:
            values = [float(v) for v in completion]
            if len(values) != 4:
                raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT,
                                           "completion must be four numbers (s, o, alpha, pt); got %r" % (completion,))
            params.custom_completion = 1
            params.completion[:] = values
        if learning_rate is not None:
            params.learning_rate = float(learning_rate)
        if dropout is not None:
            params.dropout = float(dropout)
        if input_dropout is not None:
            params.input_dropout = float(input_dropout)
        if target_link_removal is not None:
            params.target_link_removal = 1 if target_link_removal else 0
        out = ctypes.c_void_p()
        with graph._use() as g:
            check(lib.fg_linkpred_create(g, ctypes.byref(params), ctypes.byref(out)), lib)
        self._init_handle(out.value)

    def fit(self, split_seed=0, progress=None):
        """One run of the split protocol (``split`` at construction) on the split seeded by split_seed; returns a
        dict with best_epoch, val_hits, test_hits (strict Hits@K), test_mrr, test_auroc, epoch_seconds, test_ap,
        val_auroc (all at the best-validation epoch). progress(epoch, total, loss)
        returning a truthy value stops training (FlowgenError FG_ERR_CANCELLED)."""
        seed = _index("split_seed", split_seed)
        lib = get_lib()
        raised = []
        callback = progress_callback(progress, raised)
        report = _s.LinkPredReport()
        report.struct_size = ctypes.sizeof(_s.LinkPredReport)
        with self._use() as handle:
            status = lib.fg_linkpred_fit(handle, seed, callback, None, ctypes.byref(report))
            if raised:
                raise raised[0]
            check(status, lib)
        return {name: getattr(report, name) for name, _ in _s.LinkPredReport._fields_ if name != "struct_size"}

    def score(self, pairs):
        """Scores of node pairs [k, 2] (or PyG's [2, k]) as float32 [k]."""
        p = _pairs("pairs", pairs)
        lib = get_lib()
        dst = np.empty(p.shape[0], dtype=np.float32)
        written = ctypes.c_size_t(0)
        with self._use() as handle:
            check(lib.fg_linkpred_score(handle, p.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), p.shape[0],
                                        dst.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), dst.size,
                                        ctypes.byref(written)), lib)
        if written.value != dst.size:
            raise InternalError(_c.ERR_INTERNAL, "fg_linkpred_score wrote %d values, expected %d" % (written.value, dst.size))
        return dst

    def evaluate(self, positives, negatives, k=100):
        """{"hits": Hits@k (strict), "mrr": …, "auroc": …, "ap": average precision} of positive vs negative
        pairs."""
        pos, neg = _pairs("positives", positives), _pairs("negatives", negatives)
        k = _index("k", k, 32)
        lib = get_lib()
        hits, mrr, auroc, ap = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        pos_p = pos.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
        neg_p = neg.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
        with self._use() as handle:
            check(lib.fg_linkpred_evaluate(handle, pos_p, pos.shape[0], neg_p, neg.shape[0], k,
                                           ctypes.byref(hits), ctypes.byref(mrr), ctypes.byref(auroc)), lib)
            check(lib.fg_linkpred_average_precision(handle, pos_p, pos.shape[0], neg_p, neg.shape[0],
                                                    ctypes.byref(ap)), lib)
        return {"hits": hits.value, "mrr": mrr.value, "auroc": auroc.value, "ap": ap.value}

    def save(self, path):
        """Writes the predictor (parameters, options, the graph it scores on) to a safetensors file."""
        raw = _path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_linkpred_save(handle, raw), lib)

    @classmethod
    def load(cls, graph, path):
        """A predictor saved by save(), bound to graph (same node and feature counts as the saved one's)."""
        return _load_on_graph(cls, "fg_linkpred_load", graph, path)


class NodeClassifier(NativeHandle):
    """Node classification (fg_nodeclass) with a 2-layer GCN/SAGE/GIN/GAT; defaults are Kipf & Welling's GCN
    (hidden 16, dropout 0.5, lr 0.01, weight decay 5e-4 on the first layer, 200 epochs). For ``model="gat"``
    unset options take Velickovic et al.'s Cora setting (8 heads x hidden 8, dropout 0.6, lr 0.005, weight
    decay 5e-4 on every layer). ``virtual_node=True`` adds MPNN + virtual node updates between layers;
    ``jumping_knowledge`` is None, "last", "cat"/"concat" or "max" (PyG's BasicGNN ``jk``)."""

    #: Options that differ from the GCN defaults when model="gat".
    _GAT_DEFAULTS = {"hidden": 8, "dropout": 0.6, "learning_rate": 0.005}

    _free_name = "fg_nodeclass_free"
    _kind = "node classifier"

    def __init__(self, graph, model="gcn", *, hidden=None, layers=None, learning_rate=None, weight_decay=None,
                 dropout=None, epochs=None, seed=None, normalize_features=None, heads=None, virtual_node=False,
                 jumping_knowledge=None):
        if not isinstance(graph, Graph):
            raise InvalidArgumentError(_c.ERR_INVALID_ARGUMENT, "graph must be a flowgen.Graph; got %r" % (graph,))
        lib = get_lib()
        params = lib.fg_nodeclass_default_params()
        params.model = _enum("model", model, _s.GNN_MODELS)
        if params.model == _s.GNN_GAT:
            hidden = self._GAT_DEFAULTS["hidden"] if hidden is None else hidden
            dropout = self._GAT_DEFAULTS["dropout"] if dropout is None else dropout
            learning_rate = self._GAT_DEFAULTS["learning_rate"] if learning_rate is None else learning_rate
        if heads is not None:
            params.heads = _index("heads", heads, 32)
        params.virtual_node = 1 if virtual_node else 0
        params.jumping_knowledge = _enum("jumping_knowledge", "none" if jumping_knowledge is None else jumping_knowledge,
                                         _s.JK_MODES)
        for name, value, bits in (("hidden", hidden, 32), ("layers", layers, 32), ("epochs", epochs, 32),
                                  ("seed", seed, 64)):
            if value is not None:
                setattr(params, name, _index(name, value, bits))
        for name, value in (("learning_rate", learning_rate), ("weight_decay", weight_decay), ("dropout", dropout)):
            if value is not None:
                setattr(params, name, float(value))
        if normalize_features is not None:
            params.normalize_features = 1 if normalize_features else 0
        out = ctypes.c_void_p()
        with graph._use() as g:
            check(lib.fg_nodeclass_create(g, ctypes.byref(params), ctypes.byref(out)), lib)
        self._num_nodes = graph.num_nodes
        self._num_classes = graph.num_classes
        self._init_handle(out.value)

    def fit(self, epochs=0, train_nodes=None, progress=None):
        """Trains `epochs` epochs (0 = the configured number) on train_nodes (default: the public split);
        returns the last loss."""
        epochs = _index("epochs", epochs, 32)
        nodes = None if train_nodes is None else _int_array("train_nodes", train_nodes, np.int32).reshape(-1)
        lib = get_lib()
        raised = []
        callback = progress_callback(progress, raised)
        loss = ctypes.c_float(float("nan"))
        with self._use() as handle:
            status = lib.fg_nodeclass_fit(handle, None if nodes is None else nodes.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                          0 if nodes is None else nodes.size, epochs, callback, None, ctypes.byref(loss))
            if raised:
                raise raised[0]
            check(status, lib)
        return float(loss.value)

    def evaluate(self, nodes=None):
        """Accuracy on nodes (default: the public test split)."""
        ids = None if nodes is None else _int_array("nodes", nodes, np.int32).reshape(-1)
        lib = get_lib()
        accuracy = ctypes.c_float(float("nan"))
        with self._use() as handle:
            check(lib.fg_nodeclass_evaluate(handle, None if ids is None else ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                            0 if ids is None else ids.size, ctypes.byref(accuracy)), lib)
        return float(accuracy.value)

    def predict(self):
        """Class logits of every node, float32 [num_nodes, num_classes]."""
        lib = get_lib()
        dst = np.empty((self._num_nodes, self._num_classes), dtype=np.float32)
        written = ctypes.c_size_t(0)
        with self._use() as handle:
            check(lib.fg_nodeclass_predict(handle, dst.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), dst.size,
                                           ctypes.byref(written)), lib)
        return dst

    def save(self, path):
        """Writes the classifier (parameters, options, epochs trained; not Adam's moments) to a safetensors file."""
        raw = _path(path)
        lib = get_lib()
        with self._use() as handle:
            check(lib.fg_nodeclass_save(handle, raw), lib)

    @classmethod
    def load(cls, graph, path):
        """A classifier saved by save(), bound to graph (same node, feature and class counts as the saved one's);
        its predictions equal the saved one's."""
        return _load_on_graph(cls, "fg_nodeclass_load", graph, path,
                              _num_nodes=graph.num_nodes if isinstance(graph, Graph) else 0,
                              _num_classes=graph.num_classes if isinstance(graph, Graph) else 0)
