"""Masked autoregressive flow: flowgen (`flowgen.MAF`) vs zuko (`zuko.flows.MAF`, PyTorch) in one run.

Same architecture (5 MADE transforms, hidden [64, 64] ReLU, dimension order reversed between transforms,
N(0, I) base), same data (8 unit Gaussians on a radius-5 circle, 10,000 training and 5,000 held-out points),
Adam lr 1e-3, batch 256, --steps steps, one thread each. Reported: training steps per second, exact
log-density evaluations per second (5,000 points), samples per second (5,000), and the held-out NLL after
training (the mixture's true entropy is 4.772 nats). Best of --repeats timings for the throughput figures.

Usage: nice -n 10 python3 bench/maf_zuko.py [--steps 2000] [--repeats 3]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import flowgen  # noqa: E402


def eight_gaussians(n, seed):
    rng = np.random.default_rng(seed)
    theta = 2 * np.pi * rng.integers(1, 9, size=n) / 8
    return (5 * np.stack([np.cos(theta), np.sin(theta)], 1) + rng.normal(size=(n, 2))).astype(np.float32)


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch
    import zuko
    torch.set_num_threads(1)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    train, test = eight_gaussians(10000, 0), eight_gaussians(5000, 1)
    result = {"torch": torch.__version__, "zuko": zuko.__version__, "steps": args.steps}

    # flowgen
    flow = flowgen.MAF(2, blocks=5, hidden_width=64, hidden_layers=2, batch_size=256, seed=0)
    start = time.perf_counter()
    flow.fit(train, args.steps)
    result["flowgen_steps_per_s"] = args.steps / (time.perf_counter() - start)
    result["flowgen_nll"] = -float(flow.log_prob(test).astype(np.float64).mean())
    result["flowgen_log_prob_per_s"] = len(test) / best_of(args.repeats, lambda: flow.log_prob(test))
    result["flowgen_samples_per_s"] = 5000 / best_of(args.repeats, lambda: flow.sample(5000, seed=1))
    print(f"flowgen: {result['flowgen_steps_per_s']:.0f} steps/s, NLL {result['flowgen_nll']:.3f}", file=sys.stderr)

    # zuko
    torch.manual_seed(0)
    model = zuko.flows.MAF(2, transforms=5, hidden_features=[64, 64])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.from_numpy(train)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(args.steps):
        batch = data[torch.from_numpy(rng.choice(len(train), 256, replace=False))]
        loss = -model().log_prob(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    result["zuko_steps_per_s"] = args.steps / (time.perf_counter() - start)
    x = torch.from_numpy(test)
    with torch.no_grad():
        result["zuko_nll"] = -float(model().log_prob(x).double().mean())
        result["zuko_log_prob_per_s"] = len(test) / best_of(args.repeats, lambda: model().log_prob(x))
        result["zuko_samples_per_s"] = 5000 / best_of(args.repeats, lambda: model().sample((5000,)))
    print(f"zuko: {result['zuko_steps_per_s']:.0f} steps/s, NLL {result['zuko_nll']:.3f}", file=sys.stderr)
    for key in ("steps_per_s", "log_prob_per_s", "samples_per_s"):
        result["speedup_" + key] = result["flowgen_" + key] / result["zuko_" + key]
    print("| | flowgen | zuko | speed-up |\n|---|---:|---:|---:|")
    for key, name in (("steps_per_s", "training steps/s (batch 256)"), ("log_prob_per_s", "log p evaluations/s"),
                      ("samples_per_s", "samples/s")):
        print(f"| {name} | {result['flowgen_' + key]:,.0f} | {result['zuko_' + key]:,.0f} | {result['speedup_' + key]:.1f}× |")
    print(f"| held-out NLL after {args.steps} steps (true 4.772) | {result['flowgen_nll']:.3f} | {result['zuko_nll']:.3f} | |")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
