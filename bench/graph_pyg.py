"""GCN link prediction (GAE: GCN encoder + dot decoder) on the bundled Cora: seconds per training epoch,
plain PyTorch (torch.sparse for Â; PyG is not installable here) vs `flowgen linkpred --model gae`.

Same work per epoch on both sides: full batch (3696 training positives + as many uniform negatives),
encoder 1433 → H → H, BCE on logits, one Adam step. Usage:
    python3 bench/graph_pyg.py [--hidden 128] [--epochs 30] [--threads 1]
"""
import argparse
import json
import os
import subprocess
import time
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_cora():
    d = os.path.join(ROOT, "data", "cora")
    edges = np.load(os.path.join(d, "edges.npy")).astype(np.int64)
    indptr = np.load(os.path.join(d, "features_indptr.npy")).astype(np.int64)
    indices = np.load(os.path.join(d, "features_indices.npy")).astype(np.int64)
    n, f = np.load(os.path.join(d, "features_shape.npy"))
    rows = np.repeat(np.arange(n), np.diff(indptr))
    x = torch.sparse_coo_tensor(torch.tensor(np.stack([rows, indices])), torch.ones(len(indices)), (int(n), int(f))).coalesce()
    return int(n), edges, x


def gcn_operator(n, edges):
    src = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    dst = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    deg = np.bincount(src, minlength=n).astype(np.float32)
    w = 1.0 / np.sqrt(deg[src] * deg[dst])
    return torch.sparse_coo_tensor(torch.tensor(np.stack([src, dst])), torch.tensor(w), (n, n)).coalesce().to_sparse_csr()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, edges, x = load_cora()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(edges))
    train = edges[perm[len(edges) - 3696:]]
    a = gcn_operator(n, train)
    x = x.to_sparse_csr()
    w1 = torch.nn.Linear(x.shape[1], args.hidden)
    w2 = torch.nn.Linear(args.hidden, args.hidden)
    opt = torch.optim.Adam(list(w1.parameters()) + list(w2.parameters()), lr=0.01)
    pos = torch.tensor(train)
    times = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        neg = torch.randint(0, n, (len(train), 2))
        h = torch.relu(a @ (x @ w1.weight.T) + w1.bias)
        h = torch.nn.functional.dropout(h, 0.3, training=True)
        h = a @ w2(h)
        pairs = torch.cat([pos, neg])
        logits = (h[pairs[:, 0]] * h[pairs[:, 1]]).sum(1)
        target = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    torch_epoch = float(np.median(times[3:]))
    with torch.no_grad():
        t0 = time.perf_counter()
        for _ in range(10):
            h = a @ w2(torch.relu(a @ (x @ w1.weight.T) + w1.bias))
        torch_infer = (time.perf_counter() - t0) / 10

    cli = os.path.join(ROOT, ".build", "release", "flowgen")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    out = subprocess.run([cli, "linkpred", "--model", "gae", "--hidden", str(args.hidden), "--batch", "0",
                          "--epochs", str(args.epochs), "--runs", "1", "--json"],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    flowgen = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps({"hidden": args.hidden, "threads": args.threads, "torch_epoch_seconds": torch_epoch,
                      "torch_inference_seconds": torch_infer, "flowgen_epoch_seconds": flowgen["epoch_seconds"],
                      "flowgen_hr100": flowgen["hr100_mean"], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
