"""Few-step Euler sampling on BOSS's Bellman step schedule vs equal steps (Nguyen et al., ICLR 2024, phase 1).

For each task (N(0, I) source) a flow is trained with the [SF]²M protocol (`flowgen fm train`, 3×64 SELU MLP, batch 512,
σ = 0.1, 10k training points; --epochs, default 1000 = 20,000 steps), then for K in --ks the script samples
--n points with K Euler steps on (a) equal steps and (b) `FlowMatcher.step_schedule(K)` (DP over a 100-step
Euler reference from 256 calibration points), all from the same source points, and reports:
- W2 against --n fresh target points (flowgen's native exact W2),
- the RMS distance to the model's own ODE solution (dopri5, rtol = atol = 1e-5) from the same points,
- the schedule's DP cost vs that of equal steps, and the time the schedule took.
For K in --straighten-ks the model is also fine-tuned by BOSS's second phase (`straighten`, --straighten-steps
AdamW steps on the K Bellman intervals of 4,096 reference trajectories; a fresh copy per K) and sampled again.
Progress goes to stderr; --plot writes an SVG of W2 and ODE error against K.

Usage: nice -n 10 python3 bench/fm_step_schedule.py [--tasks icfm:gaussian:8gaussians ...] [--ks 1 2 4 8]
       [--epochs 1000] [--n 2000] [--seed 42] [--plot out/fm_step_schedule.svg]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import flowgen  # noqa: E402


def train(binary, task, args, folder):
    method, source, target = task.split(":")
    model, test = os.path.join(folder, task.replace(":", "_") + ".safetensors"), os.path.join(folder, "test.npy")
    cmd = [binary, "fm", "train", "--method", method, "--source", source, "--target", target, "--sigma", "0.1",
           "--epochs", str(args.epochs), "--batch", "512", "--seed", str(args.seed), "--n-train", "10000",
           "--eval-points", str(args.n), "--w2-points", "10", "--write-test", test, "--save", model, "--json"]
    start = time.time()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    print(f"{task}: trained in {time.time() - start:.1f} s", file=sys.stderr)
    return model, np.load(test)


def evaluate(task, model_path, test, args):
    rows = []
    with flowgen.FlowMatcher.load(model_path) as fm:
        reference = fm.sample(args.n, seed=args.seed, solver="dopri5", rtol=1e-5, atol=1e-5)
        error = lambda x: float(np.sqrt(((x - reference) ** 2).sum(1).mean()))
        for k in args.ks:
            start = time.time()
            times, cost, uniform_cost = fm.step_schedule(k, fine_steps=100, n_calibration=256, seed=args.seed + 1,
                                                         return_costs=True)
            schedule_seconds = time.time() - start
            bellman = fm.sample(args.n, seed=args.seed, solver="euler", times=times)
            equal = fm.sample(args.n, seed=args.seed, solver="euler", steps=k)
            straightened = None
            if k in args.straighten_ks:
                with flowgen.FlowMatcher.load(model_path) as copy:
                    copy.straighten(times, args.straighten_steps, n_trajectories=4096, seed=args.seed + 2)
                    straightened = copy.sample(args.n, seed=args.seed, solver="euler", times=times)
            row = dict(task=task, k=k, times=[round(t, 4) for t in times.tolist()], dp_cost=cost,
                       dp_cost_equal=None if np.isnan(uniform_cost) else uniform_cost,
                       w2_bellman=float(flowgen.w2(bellman, test[:args.n])), w2_equal=float(flowgen.w2(equal, test[:args.n])),
                       ode_error_bellman=error(bellman), ode_error_equal=error(equal), schedule_seconds=schedule_seconds,
                       w2_straightened=None if straightened is None else float(flowgen.w2(straightened, test[:args.n])),
                       ode_error_straightened=None if straightened is None else error(straightened))
            rows.append(row)
            print(f"{task} K={k}: W2 {row['w2_bellman']:.3f} (Bellman) vs {row['w2_equal']:.3f} (equal), "
                  f"ODE error {row['ode_error_bellman']:.3f} vs {row['ode_error_equal']:.3f}", file=sys.stderr)
        floor = float(flowgen.w2(reference, test[:args.n]))
    return rows, floor


def svg(rows, path):
    """W2 and ODE error against K for each task, Bellman (solid) vs equal steps (dashed)."""
    tasks = sorted({r["task"] for r in rows})
    width, height, pad = 420, 300, 50
    panels = [("w2", "W2 to target (solid: Bellman, dashed: equal steps)"), ("ode_error", "RMS distance to the dopri5 solution")]
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 30}" font-family="sans-serif" font-size="12">']
    ks = sorted({r["k"] for r in rows})
    for p, (key, title) in enumerate(panels):
        x0 = p * width
        values = [r[f"{key}_{kind}"] for r in rows for kind in ("bellman", "equal")]
        lo, hi = 0.0, max(values) * 1.05
        sx = lambda k: x0 + pad + (ks.index(k)) * (width - 2 * pad) / max(len(ks) - 1, 1)
        sy = lambda v: height - pad + 10 - (v - lo) / (hi - lo) * (height - 2 * pad)
        parts.append(f'<text x="{x0 + width / 2}" y="18" text-anchor="middle">{title}</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{height - pad + 10}" x2="{x0 + width - pad}" y2="{height - pad + 10}" stroke="black"/>')
        parts.append(f'<line x1="{x0 + pad}" y1="{pad - 10}" x2="{x0 + pad}" y2="{height - pad + 10}" stroke="black"/>')
        for k in ks:
            parts.append(f'<text x="{sx(k)}" y="{height - pad + 26}" text-anchor="middle">{k}</text>')
        for tick in np.linspace(lo, hi, 5):
            parts.append(f'<text x="{x0 + pad - 6}" y="{sy(tick) + 4}" text-anchor="end">{tick:.2f}</text>')
        parts.append(f'<text x="{x0 + width / 2}" y="{height + 20}" text-anchor="middle">Euler steps K</text>')
        for t, task in enumerate(tasks):
            for kind, dash in (("bellman", ""), ("equal", ' stroke-dasharray="5,4"')):
                pts = " ".join(f"{sx(r['k']):.1f},{sy(r[f'{key}_{kind}']):.1f}" for r in rows if r["task"] == task)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{colours[t % 4]}" stroke-width="2"{dash}/>')
            if p == 0:
                parts.append(f'<text x="{x0 + width - pad}" y="{pad + 14 * t}" text-anchor="end" fill="{colours[t % 4]}">'
                             f'{task}</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    # Tasks with the N(0, I) source (the schedule and the samples start from Gaussian points).
    parser.add_argument("--tasks", nargs="*", default=["icfm:gaussian:8gaussians", "otcfm:gaussian:8gaussians",
                                                       "icfm:gaussian:moons", "fm:gaussian:8gaussians"])
    parser.add_argument("--ks", nargs="*", type=int, default=[1, 2, 3, 4, 5, 8, 10])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "flowgen"))
    parser.add_argument("--plot", default=None)
    parser.add_argument("--straighten-ks", nargs="*", type=int, default=[1, 2, 4],
                        help="K values also run after BOSS straightening (phase 2) on their schedule")
    parser.add_argument("--straighten-steps", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for task in args.tasks:
            model, test = train(args.binary, task, args, folder)
            task_rows, floor = evaluate(task, model, test, args)
            print(f"{task}: dopri5 W2 {floor:.3f}", file=sys.stderr)
            rows += [dict(r, w2_dopri5=floor) for r in task_rows]
    print("| task | K | W2 equal steps | W2 Bellman | W2 Bellman + straightened | ODE error equal | ODE error Bellman | "
          "DP cost equal / Bellman | schedule |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        costs = f"{r['dp_cost_equal']:.3g} / {r['dp_cost']:.3g}" if r["dp_cost_equal"] is not None else f"— / {r['dp_cost']:.3g}"
        straight = "—" if r["w2_straightened"] is None else f"{r['w2_straightened']:.3f}"
        print(f"| {r['task']} | {r['k']} | {r['w2_equal']:.3f} | {r['w2_bellman']:.3f} | {straight} | {r['ode_error_equal']:.3f} | "
              f"{r['ode_error_bellman']:.3f} | {costs} | {', '.join(f'{t:.2f}' for t in r['times'])} |")
    for task in args.tasks:
        r = next(r for r in rows if r["task"] == task)
        print(f"{task}: dopri5 W2 {r['w2_dopri5']:.3f}; schedule time {r['schedule_seconds']:.3f} s (K = {r['k']})")
    if args.plot:
        svg(rows, args.plot)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
