"""Checks flowgen's NBFNet against an independent PyTorch transcription of the authors' model.

The reference below is written from NBFNet's paper and the layer the authors configure for Cora
(DeepGraphLearning/NBFNet `config/homogeneous_graph/cora.yaml`: 6 layers of 32, DistMult messages, PNA
aggregation whose message set includes the boundary, degree scalers log(deg + 1) over their mean, one
linear map of [input ‖ 12 PNA features], layer norm, ReLU, shortcut; one relation plus self loops;
symmetric scoring MLP([(h_v^(u) + h_u^(v)) / 2 ‖ q])). It materialises every message and uses
scatter reductions, so it shares no code path with flowgen's fused kernel.

flowgen trains (or only initialises) an NBFNet link predictor through the Python API and saves it; the
script loads the checkpoint's weights and scoring graph into the reference and compares the logits of
the same node pairs. Exit status 1 when the largest difference exceeds --tolerance.

Usage: python3 bench/nbfnet_reference.py [--graph cora|community] [--epochs E] [--pairs P] [--seed S]
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import flowgen  # noqa: E402


def community_graph(seed=0, n=80):
    """Two dense communities joined by a few edges (the binding tests' toy graph)."""
    rng = np.random.default_rng(seed)
    u, v = np.triu_indices(n, 1)
    same = (u < n // 2) == (v < n // 2)
    keep = rng.random(u.size) < np.where(same, 0.25, 0.01)
    return flowgen.Graph(n, edge_index=np.stack([u[keep], v[keep]]))


def scoring_edges(weights, n):
    """Directed edge list (both directions, deduplicated) plus one self loop per node, as
    `as_relational_graph` builds it from the checkpoint's scoring graph."""
    e = weights["scoring_edges"].astype(np.int64)
    u = e[:, 0] * 65536 + e[:, 1]
    v = e[:, 2] * 65536 + e[:, 3]
    pairs = {(a, b) for a, b in zip(u.tolist(), v.tolist()) if a != b}
    pairs |= {(b, a) for a, b in pairs}
    pairs |= {(a, a) for a in range(n)}
    src, dst = zip(*sorted(pairs))
    return torch.tensor(src), torch.tensor(dst)


class Reference:
    """The authors' NBFNet forward (one relation), weights taken from a flowgen checkpoint."""

    def __init__(self, weights, layers, d):
        t = lambda name: torch.from_numpy(weights["nbfnet." + name].astype(np.float64))
        self.d = d
        self.query = t("query")
        self.layers = []
        for i in range(layers):
            p = f"layers.{i}."
            self_w, bias, feat_w = t(p + "linear.self"), t(p + "linear.bias"), t(p + "linear.features")
            # The authors' Linear(13d, d) over [input ‖ update], update index (channel·4 + statistic)·3 + scaler;
            # flowgen stores the input block [d, d] and the scaler blocks as one [3d, 4d] matrix
            # (rows scaler·d + out, columns statistic·d + channel).
            w13 = torch.zeros(d, 13 * d, dtype=torch.float64)
            w13[:, :d] = self_w
            for channel in range(d):
                for stat in range(4):
                    for scaler in range(3):
                        w13[:, d + (channel * 4 + stat) * 3 + scaler] = feat_w[scaler * d:(scaler + 1) * d, stat * d + channel]
            self.layers.append(dict(relation=t(p + "relation")[0], weight=w13, bias=bias,
                                    gamma=t(p + "layer_norm.weight"), beta=t(p + "layer_norm.bias")))
        self.mlp = [(t(f"mlp.layers.{i}.weight"), t(f"mlp.layers.{i}.bias")) for i in range(2)]

    def node_features(self, src, dst, n, sources):
        """Final states [n, B, d] of the runs started at `sources`."""
        b, d = len(sources), self.d
        boundary = torch.zeros(n, b, d, dtype=torch.float64)
        boundary[torch.tensor(sources), torch.arange(b)] = self.query
        degree = torch.bincount(src, minlength=n).double() + 1          # messages per node incl. the boundary
        scale = degree.log()
        scale = (scale / scale.mean()).view(n, 1, 1, 1)
        scales = torch.cat([torch.ones_like(scale), scale, 1 / scale.clamp(min=1e-2)], dim=-1)
        target = torch.cat([dst, torch.arange(n)])
        index = target.view(-1, 1, 1).expand(-1, b, d)
        h = boundary
        for layer in self.layers:
            message = torch.cat([h[src] * layer["relation"], boundary])
            zeros = torch.zeros(n, b, d, dtype=torch.float64)
            mean = zeros.index_add(0, target, message) / degree.view(n, 1, 1)
            sq_mean = zeros.index_add(0, target, message ** 2) / degree.view(n, 1, 1)
            mx = zeros.scatter_reduce(0, index, message, "amax", include_self=False)
            mn = zeros.scatter_reduce(0, index, message, "amin", include_self=False)
            std = (sq_mean - mean ** 2).clamp(min=1e-6).sqrt()
            features = torch.stack([mean, mx, mn, std], dim=-1).flatten(-2)
            update = (features.unsqueeze(-1) * scales).flatten(-2)
            out = torch.cat([h, update], dim=-1) @ layer["weight"].T + layer["bias"]
            out = torch.nn.functional.layer_norm(out, (d,), layer["gamma"], layer["beta"], eps=1e-5)
            h = torch.relu(out) + h
        return h

    def logits(self, src, dst, n, pairs):
        """Symmetric logits of node pairs [P, 2]."""
        runs = sorted({int(x) for x in pairs.ravel()})
        column = {u: i for i, u in enumerate(runs)}
        h = self.node_features(src, dst, n, runs)
        forward = h[pairs[:, 1], [column[int(u)] for u in pairs[:, 0]]]
        backward = h[pairs[:, 0], [column[int(v)] for v in pairs[:, 1]]]
        feature = torch.cat([(forward + backward) / 2, self.query.expand(len(pairs), -1)], dim=-1)
        (w1, b1), (w2, b2) = self.mlp
        return (torch.relu(feature @ w1.T + b1) @ w2.T + b2).squeeze(-1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", choices=["cora", "community"], default="community")
    parser.add_argument("--epochs", type=int, default=3, help="flowgen training epochs before the comparison")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    graph = flowgen.Graph.cora() if args.graph == "cora" else community_graph(args.seed)
    n = graph.num_nodes
    with graph, flowgen.LinkPredictor(graph, "nbfnet", hidden=args.hidden, layers=args.layers, epochs=args.epochs,
                                      batch_size=16, hits_k=5, seed=args.seed) as lp, tempfile.TemporaryDirectory() as tmp:
        if args.epochs > 0:
            report = lp.fit(split_seed=args.seed)
            print(f"flowgen trained {args.epochs} epochs: test AUROC {report['test_auroc']:.4f}", file=sys.stderr)
        rng = np.random.default_rng(args.seed)
        pairs = rng.integers(0, n, size=(args.pairs, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        ours = lp.score(pairs).astype(np.float64)
        path = os.path.join(tmp, "nbfnet.safetensors")
        lp.save(path)
        weights = load_file(path)
    src, dst = scoring_edges(weights, n)
    reference = Reference(weights, args.layers, args.hidden).logits(src, dst, n, torch.from_numpy(pairs)).numpy()
    diff = np.abs(ours - reference)
    print(f"{args.graph}: {len(pairs)} pairs, {len(src)} directed edges incl. self loops; logits std {reference.std():.4f}; "
          f"max |flowgen - reference| = {diff.max():.2e} (mean {diff.mean():.2e})")
    return 0 if diff.max() <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
