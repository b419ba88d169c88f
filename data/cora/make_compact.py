"""Rebuilds data/cora/ from the planetoid layout (edges.csv + features.npy + labels.npy + *_idx.npy).

Usage: python3 data/cora/make_compact.py ../shared/data/planetoid/Cora data/cora
The 0/1 feature matrix is stored as CSR index arrays (features_indptr/indices, features_shape)."""
import sys
import numpy as np

src, dst = sys.argv[1], sys.argv[2]
edges = np.loadtxt(src + "/edges.csv", delimiter=",", skiprows=1, dtype=np.int64).astype(np.int32)
x = np.load(src + "/features.npy")
assert set(np.unique(x)) <= {0.0, 1.0}
rows, cols = np.nonzero(x)
indptr = np.zeros(x.shape[0] + 1, dtype=np.int32)
np.add.at(indptr, rows + 1, 1)
indptr = np.cumsum(indptr).astype(np.int32)
np.save(dst + "/edges.npy", np.ascontiguousarray(edges))
np.save(dst + "/features_indptr.npy", indptr)
np.save(dst + "/features_indices.npy", cols.astype(np.int32))
np.save(dst + "/features_shape.npy", np.array(x.shape, dtype=np.int32))
for name in ("labels", "train_idx", "val_idx", "test_idx"):
    np.save(dst + "/%s.npy" % name, np.load(src + "/%s.npy" % name).astype(np.int32))
