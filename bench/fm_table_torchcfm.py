"""[SF]²M Table 2 rows trained with the reference library torchcfm (PyPI `torchcfm`), same protocol and data as
bench/fm_table.py, to check flowgen's rows against the reference implementation itself.

Training: torchcfm's `ExactOptimalTransportConditionalFlowMatcher` (OT-CFM: POT `ot.emd` plan, pairs drawn
from the plan with replacement, its `sample_plan`) or `ConditionalFlowMatcher` (I-CFM), σ = 0.1, on
torchcfm's `models.MLP(2, w=64, time_varying=True)` (3×64 SELU on [x, t], PyTorch default init), AdamW lr 1e-3,
weight decay 1e-5, batch 512, 10 000 training points, 20 000 steps (1000 epochs), torch.manual_seed(seed),
np.random.seed(seed) (torchcfm draws the plan pairs with np.random), one torch thread.

Data: the same generators as flowgen (Sources/FlowMatching/Datasets.swift), written by the flowgen CLI itself
(`flowgen fm train --target NAME --eval-points 10000 --write-test FILE`), one independent draw per array:
training target, test target, training source (moons→8g only) and evaluation source (moons→8g; N(0, I) rows
come from torch.randn as in torchcfm). moons→8g uses flowgen's `moons-dsb` / `8gaussians-dsb` (the runner's
two_dim.py pair), as `flowgen fm train --source moons --target 8gaussians` does.

Batching: `--batching random` (default) as flowgen's `fit`: each step 512 distinct random target rows and,
independently, 512 distinct random source rows (or fresh N(0, I)); `--batching epoch` as the runner's
DataLoader: a shuffled pass over the (target, source) rows per epoch in batches of 512 (last batch 272).

Evaluation (as fm_table.py): 10 000 fresh source points pushed by 100 Euler steps; W2 = sqrt(POT ot.emd2)
against the 10 000 test points; NPE = |path energy − W2²(source, test)| / W2²(source, test) on the first
2,000 points (exact W2 by POT).

Each (row, seed) appends one JSON line to --out (finished pairs are skipped: resumable); the loss every
1000 steps (mean of those steps) is kept in the line. At the end a Markdown table compares torchcfm,
flowgen (from --flowgen result files of fm_table.py) and the published rows.

Usage: nice -n 10 python3 bench/fm_table_torchcfm.py [--rows otcfm:moons:8gaussians ...] [--seeds 42 ...]
       [--out bench/results/fm_table_torchcfm.jsonl] [--summary-only] [--also FILE ...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fm_table import PUBLISHED_NPE, PUBLISHED_W2, w2_pot  # noqa: E402

NAMES = {"otcfm": "OT-CFM", "icfm": "I-CFM", "fm": "FM"}
TASKS = {"gaussian": "N", "moons": "moons", "8gaussians": "8g", "scurve": "scurve"}


def flowgen_points(binary, name, n, seed, tmp):
    """n points of flowgen's distribution `name`, written by the flowgen CLI (its --write-test array)."""
    path = os.path.join(tmp, f"{name}-{seed}.npy")
    cmd = [binary, "fm", "train", "--method", "icfm", "--source", "gaussian", "--target", name, "--steps", "1",
           "--batch", "8", "--n-train", "8", "--eval-points", str(n), "--w2-points", "1", "--seed", str(seed),
           "--write-test", path]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    return torch.from_numpy(np.load(path).astype(np.float32))


def euler(model, x, steps, energy_rows=0):
    """x pushed from t = 0 to 1 by `steps` Euler steps; also the path energy of the first energy_rows rows."""
    h, energy = 1.0 / steps, 0.0
    with torch.no_grad():
        for k in range(steps):
            t = torch.full((x.shape[0], 1), k * h)
            v = model(torch.cat([x, t], 1))
            if energy_rows:
                energy += float((v[:energy_rows].double() ** 2).sum()) * h
            x = x + h * v
    return x, energy / max(energy_rows, 1)


def run(row, seed, args):
    from torchcfm.conditional_flow_matching import (ConditionalFlowMatcher,
                                                    ExactOptimalTransportConditionalFlowMatcher)
    from torchcfm.models.models import MLP
    method, source, target = row.split(":")
    src_name, tgt_name = source, target
    if source == "moons" and target == "8gaussians":
        src_name, tgt_name = "moons-dsb", "8gaussians-dsb"
    n, b, ev = args.n_train, args.batch, args.eval
    with tempfile.TemporaryDirectory() as tmp:
        base = 1000 * seed  # independent flowgen draws per array
        x1_train = flowgen_points(args.binary, tgt_name, n, base + 1, tmp)
        x1_test = flowgen_points(args.binary, tgt_name, ev, base + 2, tmp)
        x0_train = flowgen_points(args.binary, src_name, n, base + 3, tmp) if src_name != "gaussian" else None
        x0_eval = flowgen_points(args.binary, src_name, ev, base + 4, tmp) if src_name != "gaussian" else None
    torch.manual_seed(seed)
    np.random.seed(seed)
    if method == "otcfm":
        matcher = ExactOptimalTransportConditionalFlowMatcher(sigma=args.sigma)
    elif method == "icfm":
        matcher = ConditionalFlowMatcher(sigma=args.sigma)
    else:
        raise SystemExit(f"method {method} not supported here")
    model = MLP(2, w=64, time_varying=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
    per_epoch = (n + b - 1) // b
    steps = args.epochs * per_epoch
    losses, chunk, order = [], [], None
    start = time.time()
    for s in range(steps):
        if args.batching == "random":
            rows = torch.randperm(n)[:b]
            x1 = x1_train[rows]
            x0 = torch.randn_like(x1) if x0_train is None else x0_train[torch.randperm(n)[:b]]
        else:
            if s % per_epoch == 0:
                order = torch.randperm(n)
            rows = order[(s % per_epoch) * b:(s % per_epoch + 1) * b]
            x1 = x1_train[rows]
            x0 = torch.randn_like(x1) if x0_train is None else x0_train[rows]
        t, xt, ut = matcher.sample_location_and_conditional_flow(x0, x1)
        loss = torch.mean((model(torch.cat([xt, t[:, None]], 1)) - ut) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        chunk.append(loss.item())
        if (s + 1) % 1000 == 0 or s + 1 == steps:
            losses.append(float(np.mean(chunk)))
            chunk = []
            rate = (s + 1) / (time.time() - start)
            print(f"  {row} seed {seed}: step {s + 1}/{steps} loss {losses[-1]:.4f} ({rate:.0f} steps/s, "
                  f"eta {(steps - s - 1) / rate:.0f} s)", file=sys.stderr, flush=True)
    train_seconds = time.time() - start
    x0e = torch.randn(ev, 2) if x0_eval is None else x0_eval
    npe_rows = min(args.npe_points, ev)
    samples, energy = euler(model, x0e, args.euler_steps, npe_rows)
    t = time.time()
    w2 = w2_pot(samples.numpy(), x1_test.numpy())
    w2_seconds = time.time() - t
    w2_source = w2_pot(x0e[:npe_rows].numpy(), x1_test[:npe_rows].numpy())
    npe = abs(energy - w2_source ** 2) / max(w2_source ** 2, 1e-12)
    return {"row": row, "seed": seed, "w2": w2, "npe": npe, "path_energy": energy, "w2_source": w2_source,
            "loss": losses[-1], "losses_per_1000": losses, "steps": steps, "epochs": args.epochs,
            "batching": args.batching, "train_seconds": train_seconds, "steps_per_s": steps / train_seconds,
            "w2_seconds": w2_seconds, "eval_points": ev, "torch": torch.__version__,
            "torchcfm": __import__("torchcfm").__version__}


def stats(values):
    v = np.array(values)
    return v.mean(), (v.std(ddof=1) if len(v) > 1 else float("nan"))


def summary(records, flowgen, rows):
    print("| task | torchcfm W2 (10k vs 10k) | flowgen W2 | published W2 | torchcfm seeds | torchcfm NPE | "
          "flowgen NPE | published NPE |")
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for row in rows:
        rs = sorted((r for r in records if r["row"] == row), key=lambda r: r["seed"])
        if not rs:
            continue
        fs = [r for r in flowgen if r["row"] == row]
        m, s = stats([r["w2"] for r in rs])
        nm, ns = stats([r["npe"] for r in rs])
        fw = "%.3f ± %.3f" % stats([r["w2"] for r in fs]) if fs else "–"
        fn = "%.3f ± %.3f" % stats([r["npe"] for r in fs]) if fs else "–"
        method, source, target = row.split(":")
        seeds = ", ".join(f"{r['w2']:.2f}" for r in rs)
        print(f"| {NAMES[method]} {TASKS[source]}→{TASKS[target]} | {m:.3f} ± {s:.3f} | {fw} | "
              f"{PUBLISHED_W2[row][0]:.3f} ± {PUBLISHED_W2[row][1]:.3f} | {seeds} | {nm:.3f} ± {ns:.3f} | {fn} | "
              f"{PUBLISHED_NPE[row][0]:.3f} ± {PUBLISHED_NPE[row][1]:.3f} |")


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", nargs="*", default=["otcfm:moons:8gaussians", "otcfm:gaussian:8gaussians",
                                                      "icfm:gaussian:8gaussians"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[42, 43, 44, 45, 46])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--n-train", type=int, default=10000)
    parser.add_argument("--sigma", type=float, default=0.1)
    parser.add_argument("--eval", type=int, default=10000)
    parser.add_argument("--npe-points", type=int, default=2000)
    parser.add_argument("--euler-steps", type=int, default=100)
    parser.add_argument("--batching", choices=["random", "epoch"], default="random")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="bench/results/fm_table_torchcfm.jsonl")
    parser.add_argument("--also", nargs="*", default=[], help="more torchcfm result files for the summary")
    parser.add_argument("--flowgen", nargs="*", default=["bench/results/fm_table.jsonl",
                                                         "bench/results/fm_table_ot.jsonl"],
                        help="fm_table.py result files (final weights, 1000 epochs) for the flowgen column")
    parser.add_argument("--binary", default=".build/release/flowgen")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    records = load(args.out)
    key = lambda r: (r["row"], r["seed"], r["epochs"], r["batching"])  # noqa: E731
    if not args.summary_only:
        done = {key(r) for r in records}
        for seed in args.seeds:
            for row in args.rows:
                if (row, seed, args.epochs, args.batching) in done:
                    continue
                r = run(row, seed, args)
                records.append(r)
                with open(args.out, "a") as f:
                    f.write(json.dumps(r) + "\n")
                print(f"{row} seed {seed}: W2 {r['w2']:.3f} NPE {r['npe']:.3f} final loss {r['loss']:.3f} "
                      f"{r['steps_per_s']:.0f} steps/s, W2 {r['w2_seconds']:.0f} s", file=sys.stderr, flush=True)
    for extra in args.also:
        records += load(extra)
    flowgen = [r for f in args.flowgen for r in load(f)
               if r.get("epochs", 1000) == args.epochs and not r.get("select_every")]
    summary([r for r in records if r["epochs"] == args.epochs and r["batching"] == args.batching], flowgen,
            args.rows)


if __name__ == "__main__":
    main()
