"""PyTorch Geometric vs flowgen on the bundled Cora, measured in one run, 1 thread on both sides.

1. GAE link prediction as in the issue: GCN 1433 -> 128 -> 64 (PyG `GCNConv`, ReLU and dropout 0.3 between the
   layers), dot-product decoder, full-batch training (3696 training positives + as many uniform negatives, BCE,
   Adam lr 0.01): seconds per training epoch, full-graph inference (encoder forward, no gradients), and HR@100
   under the NCN protocol (70/10/20 split per run, strict Hits@100 at the best-validation epoch of 100).
   flowgen: `flowgen linkpred --model gae --hidden 128 --out-dim 64 --batch 0`.
2. NCN training epoch: the NCN authors' Cora model (puregcn encoder + CN score head, target-link removal,
   batch 1152, the dropouts of their Cora command) written with PyTorch/PyG (torch.sparse for the adjacency
   products, since torch_sparse is not installed) vs `flowgen linkpred --model ncn`.

Usage:
    python3 bench/graph_pyg.py [--runs 3] [--epochs 100] [--ncn-epochs 6]
Prints one JSON object.
"""
import argparse
import json
import os
import subprocess
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torch_geometric
from torch_geometric.nn import GCNConv
from torch_geometric.utils import negative_sampling

from _cora import ROOT, load_bundled_cora

warnings.filterwarnings("ignore", message="Sparse CSR tensor support")
warnings.filterwarnings("ignore", message="Sparse invariant checks")


def load_cora():
    n, edges, x, _, _ = load_bundled_cora()  # dense features, as PyG's Planetoid loads them
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    return n, edges, torch.tensor(x)


def ncn_split(n, edges, seed):
    """The NCN protocol's split rules: 20 % test, half as many validation, the rest training; validation and
    test negatives drawn uniformly without replacement from the full graph's non-edges."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(edges))
    n_test = int(0.2 * len(edges))
    n_val = int(n_test * 0.1 / 0.2)
    test, val, train = edges[perm[:n_test]], edges[perm[n_test:n_test + n_val]], edges[perm[n_test + n_val:]]
    known = set(map(tuple, edges))
    negatives = set()
    while len(negatives) < 2 * n_test:
        u, v = sorted(rng.integers(0, n, 2))
        if u != v and (u, v) not in known:
            negatives.add((u, v))
    negatives = np.array(sorted(negatives))[rng.permutation(2 * n_test)]
    return train, val, negatives[:n_test], test, negatives[n_test:]


def hits_at_k(pos, neg, k=100):
    """OGB's strict rule: a positive is a hit only above the k-th highest negative score."""
    threshold = torch.topk(neg, k).values[-1]
    return float((pos > threshold).float().mean())


class GAE(torch.nn.Module):
    def __init__(self, features, hidden=128, out=64):
        super().__init__()
        self.conv1 = GCNConv(features, hidden)
        self.conv2 = GCNConv(hidden, out)

    def forward(self, x, edge_index):
        h = F.dropout(self.conv1(x, edge_index).relu(), 0.3, self.training)
        return self.conv2(h, edge_index)


def pyg_gae(n, edges, x, seed, epochs):
    """HR@100 at the best-validation epoch, median training-epoch seconds, full-graph inference seconds."""
    torch.manual_seed(seed)
    train, val, val_neg, test, test_neg = (torch.tensor(a) for a in ncn_split(n, edges, seed))
    edge_index = torch.cat([train.T, train.flip(1).T], dim=1)
    model = GAE(x.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def score(h, pairs):
        return (h[pairs[:, 0]] * h[pairs[:, 1]]).sum(1)

    times, best_val, best_test = [], -1.0, 0.0
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        neg = negative_sampling(edge_index, num_nodes=n, num_neg_samples=len(train)).T
        h = model(x, edge_index)
        logits = torch.cat([score(h, train), score(h, neg)])
        target = torch.cat([torch.ones(len(train)), torch.zeros(len(neg))])
        loss = F.binary_cross_entropy_with_logits(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        model.eval()
        with torch.no_grad():
            h = model(x, edge_index)
            v = hits_at_k(score(h, val), score(h, val_neg))
            if v > best_val:
                best_val, best_test = v, hits_at_k(score(h, test), score(h, test_neg))
    with torch.no_grad():
        model(x, edge_index)
        t0 = time.perf_counter()
        for _ in range(10):
            model(x, edge_index)
        inference = (time.perf_counter() - t0) / 10
    return best_test, float(np.median(times[2:])), inference


class NCN(torch.nn.Module):
    """The NCN authors' Cora model: puregcn encoder with JK, CN head with xlin, tailact, layer norms."""

    def __init__(self, features, hidden=256, xdp=0.7, gnndp=0.05, tdp=0.3, predp=0.05):
        super().__init__()
        self.xdp, self.gnndp, self.tdp = xdp, gnndp, tdp
        self.xemb = torch.nn.Linear(features, hidden)
        self.jk = torch.nn.Parameter(torch.randn(1))
        L, LN, D, R = torch.nn.Linear, torch.nn.LayerNorm, torch.nn.Dropout, torch.nn.ReLU
        h = hidden
        self.xlin = torch.nn.Sequential(L(h, h), D(predp), R(), L(h, h), LN(h), D(predp), R())
        self.xcnlin = torch.nn.Sequential(L(h, h), D(predp), R(), L(h, h), LN(h), D(predp), R())
        self.xijlin = torch.nn.Sequential(L(h, h), LN(h), D(predp), R())
        self.lin = torch.nn.Sequential(L(h, h), LN(h), D(predp), R(), L(h, 1))
        self.beta = torch.nn.Parameter(torch.ones(1))

    def encode(self, x, gcn_adj):
        h = F.dropout(self.xemb(F.dropout(x, self.xdp, self.training)), self.gnndp, self.training)
        return self.jk * F.dropout(torch.sparse.mm(gcn_adj, h), self.tdp, self.training)

    def head(self, h, adj, pairs, edge_dropout):
        if self.training and edge_dropout > 0:
            keep = torch.rand(adj._nnz()) > edge_dropout
            adj = torch.sparse_coo_tensor(adj.indices()[:, keep], adj.values()[keep], adj.shape).coalesce()
        cn = (adj.index_select(0, pairs[:, 0]) * adj.index_select(0, pairs[:, 1])).coalesce()
        cn = torch.sparse_coo_tensor(cn.indices(), torch.ones(cn._nnz()), cn.shape)
        xcn = torch.sparse.mm(cn, h + self.xlin(h))
        xij = self.xijlin(h[pairs[:, 0]] * h[pairs[:, 1]])
        return self.lin(self.xcnlin(xcn) * self.beta + xij).squeeze(-1)


def gcn_operator(n, edge_index):
    loops = torch.arange(n)
    ei = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
    deg = torch.bincount(ei[0], minlength=n).float()
    w = deg[ei[0]].rsqrt() * deg[ei[1]].rsqrt()
    return torch.sparse_coo_tensor(ei, w, (n, n)).coalesce()


def pyg_ncn_epoch_seconds(n, edges, x, epochs, batch=1152):
    torch.manual_seed(0)
    train = torch.tensor(ncn_split(n, edges, 0)[0])
    model = NCN(x.shape[1])
    head_params = [p for name, p in model.named_parameters() if not name.startswith(("xemb", "jk"))]
    opt = torch.optim.Adam([{"params": [model.xemb.weight, model.xemb.bias, model.jk], "lr": 0.0043},
                            {"params": head_params, "lr": 0.0024}])
    full = torch.cat([train.T, train.flip(1).T], dim=1)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        neg = negative_sampling(full, num_nodes=n).T
        perm = torch.randperm(len(train))
        for start in range(0, len(train) - batch + 1, batch):
            ids = perm[start:start + batch]
            mask = torch.ones(len(train), dtype=torch.bool)
            mask[ids] = False
            kept = train[mask]
            ei = torch.cat([kept.T, kept.flip(1).T], dim=1)
            adj = torch.sparse_coo_tensor(ei, torch.ones(ei.shape[1]), (n, n)).coalesce()
            h = model.encode(x, gcn_operator(n, ei))
            pos = model.head(h, adj, train[ids], 0.4)
            negs = model.head(h, adj, neg[ids], 0.4)
            loss = -F.logsigmoid(pos).mean() - F.logsigmoid(-negs).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def flowgen(args, *extra):
    cli = os.path.join(ROOT, ".build", "release", "flowgen")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([cli, "linkpred", "--data", os.path.join(ROOT, "data", "cora"), "--json", *extra],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--ncn-epochs", type=int, default=6)
    args = p.parse_args()
    torch.set_num_threads(1)
    n, edges, x = load_cora()

    gae = [pyg_gae(n, edges, x, seed, args.epochs) for seed in range(args.runs)]
    fg_gae = flowgen(args, "--model", "gae", "--hidden", "128", "--out-dim", "64", "--batch", "0",
                     "--epochs", str(args.epochs), "--runs", str(args.runs))
    pyg_ncn = pyg_ncn_epoch_seconds(n, edges, x, args.ncn_epochs)
    fg_ncn = flowgen(args, "--model", "ncn", "--epochs", str(args.ncn_epochs), "--runs", "1")
    result = {
        "torch": torch.__version__, "torch_geometric": torch_geometric.__version__, "threads": 1,
        "runs": args.runs, "epochs": args.epochs,
        "gae_pyg_hr100": 100 * float(np.mean([g[0] for g in gae])),
        "gae_flowgen_hr100": fg_gae["hr100_mean"],
        "gae_pyg_epoch_seconds": float(np.median([g[1] for g in gae])),
        "gae_flowgen_epoch_seconds": fg_gae["epoch_seconds"],
        "gae_pyg_inference_seconds": float(np.median([g[2] for g in gae])),
        "gae_flowgen_inference_seconds": fg_gae["inference_seconds"],
        "ncn_pyg_epoch_seconds": pyg_ncn,
        "ncn_flowgen_epoch_seconds": fg_ncn["epoch_seconds"],
    }
    for key in ("gae_{}_epoch_seconds", "gae_{}_inference_seconds", "ncn_{}_epoch_seconds"):
        result[key.format("speedup").replace("_seconds", "")] = result[key.format("pyg")] / result[key.format("flowgen")]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
