"""The project's bundled Cora (data/cora: edge list, sparse binary bag-of-words features, labels and the
public split) loaded as numpy arrays for the PyTorch peers in bench/graph_*.py."""
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORA = os.path.join(ROOT, "data", "cora")


def load_bundled_cora():
    """(n, edges [m, 2] int64 as stored, dense features [n, f] float32 0/1, labels [n] int64,
    {"train", "val", "test"}: node index arrays)."""
    load = lambda name: np.load(os.path.join(CORA, name))
    edges = load("edges.npy").astype(np.int64)
    indptr = load("features_indptr.npy").astype(np.int64)
    indices = load("features_indices.npy").astype(np.int64)
    n, f = (int(v) for v in load("features_shape.npy"))
    x = np.zeros((n, f), dtype=np.float32)
    x[np.repeat(np.arange(n), np.diff(indptr)), indices] = 1
    split = {k: load(k + "_idx.npy").astype(np.int64) for k in ("train", "val", "test")}
    return n, edges, x, load("labels.npy").astype(np.int64), split
