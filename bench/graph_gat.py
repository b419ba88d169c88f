"""GAT node classification on the bundled Cora (public split): seconds per training epoch and test accuracy,
plain PyTorch (PyG's GATConv semantics written with index ops; PyG is not installable here) vs
`flowgen nodeclass --model gat`, same threads, same recipe (8 heads x 8 then 1 head, dropout 0.6 on inputs and
attention, ELU, Adam lr 0.005, weight decay 5e-4, 200 epochs, row-normalised features, self loops).
Usage:
    python3 bench/graph_gat.py [--epochs 200] [--seeds 3] [--threads 1]
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

from _cora import ROOT, load_bundled_cora

warnings.filterwarnings("ignore", message="index_reduce")


def load_cora():
    n, edges, x, labels, split = load_bundled_cora()
    x /= np.maximum(x.sum(1, keepdims=True), 1)
    split = {k: torch.tensor(v) for k, v in split.items()}
    src = np.concatenate([edges[:, 0], edges[:, 1], np.arange(n)])
    dst = np.concatenate([edges[:, 1], edges[:, 0], np.arange(n)])
    return n, torch.tensor(x), torch.tensor(labels), split, torch.tensor(src), torch.tensor(dst)


class GATConv(torch.nn.Module):
    def __init__(self, fin, fout, heads, concat, dropout):
        super().__init__()
        self.lin = torch.nn.Linear(fin, heads * fout, bias=False)
        self.att_src = torch.nn.Parameter(torch.empty(1, heads, fout))
        self.att_dst = torch.nn.Parameter(torch.empty(1, heads, fout))
        self.bias = torch.nn.Parameter(torch.zeros(heads * fout if concat else fout))
        for p in (self.lin.weight, self.att_src, self.att_dst):
            torch.nn.init.xavier_uniform_(p)
        self.heads, self.fout, self.concat, self.dropout = heads, fout, concat, dropout

    def forward(self, x, src, dst, n):
        h = self.lin(x).view(-1, self.heads, self.fout)
        e = F.leaky_relu((h * self.att_src).sum(-1)[src] + (h * self.att_dst).sum(-1)[dst], 0.2)
        e = e - torch.zeros(n, self.heads).index_reduce_(0, dst, e.detach(), "amax", include_self=False)[dst]
        w = e.exp()
        alpha = w / torch.zeros(n, self.heads).index_add_(0, dst, w)[dst]
        alpha = F.dropout(alpha, self.dropout, self.training)
        out = torch.zeros(n, self.heads, self.fout).index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
        out = out.reshape(n, -1) if self.concat else out.mean(1)
        return out + self.bias


def run_torch(seed, epochs, data):
    n, x, y, split, src, dst = data
    torch.manual_seed(seed)
    c1 = GATConv(x.shape[1], 8, 8, True, 0.6)
    c2 = GATConv(64, int(y.max()) + 1, 1, False, 0.6)
    params = list(c1.parameters()) + list(c2.parameters())
    opt = torch.optim.Adam(params, lr=0.005, weight_decay=5e-4)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        c1.train(); c2.train()
        h = F.elu(c1(F.dropout(x, 0.6, True), src, dst, n))
        out = c2(F.dropout(h, 0.6, True), src, dst, n)
        loss = F.cross_entropy(out[split["train"]], y[split["train"]])
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    c1.eval(); c2.eval()
    with torch.no_grad():
        pred = c2(F.elu(c1(x, src, dst, n)), src, dst, n).argmax(1)
    return float(np.median(times[3:])), float((pred[split["test"]] == y[split["test"]]).float().mean()) * 100


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = load_cora()
    runs = [run_torch(s, args.epochs, data) for s in range(args.seeds)]
    cli = os.path.join(ROOT, ".build", "release", "flowgen")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    out = subprocess.run([cli, "nodeclass", "--model", "gat", "--epochs", str(args.epochs), "--runs", str(args.seeds), "--json"],
                         capture_output=True, text=True, env=env, check=True, cwd=ROOT)
    flowgen = json.loads(out.stdout.strip().splitlines()[-1])
    torch_epoch = float(np.median([r[0] for r in runs]))
    print(json.dumps({"threads": args.threads, "seeds": args.seeds, "epochs": args.epochs,
                      "torch_epoch_seconds": torch_epoch, "torch_acc_mean": float(np.mean([r[1] for r in runs])),
                      "flowgen_epoch_seconds": flowgen["epoch_seconds"], "flowgen_acc_mean": flowgen["acc_mean"],
                      "speedup": torch_epoch / flowgen["epoch_seconds"], "torch": torch.__version__}))


if __name__ == "__main__":
    main()
