#!/usr/bin/env python3
"""PyTorch peer of `flowgen bench engine`: one Adam training step (forward, MSE, backward, step) of the
same three MLPs, median µs per step, and sgemm GFLOP/s. Prints one JSON object on the last line."""
import argparse
import json
import sys
import time

import torch

CASES = [
    ("a", 256, [2, 64, 64, 64, 2], torch.nn.SELU),
    ("b", 16, [32, 256, 256, 9], torch.nn.LeakyReLU),
    ("c", 512, [1433, 256, 256, 7], torch.nn.ReLU),
]


def mlp(widths, act):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


def time_step(batch, widths, act, seconds):
    torch.manual_seed(1)
    model = mlp(widths, act)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, widths[0])
    y = torch.randn(batch, widths[-1])

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(samples) < 10:
        t0 = time.perf_counter()
        for _ in range(10):
            step()
        samples.append((time.perf_counter() - t0) / 10 * 1e6)
    samples.sort()
    return samples[len(samples) // 2]


def sgemm(n, seconds):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds / 2 or reps < 3:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--cases", default="a,b,c")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    chosen = set(args.cases.split(","))
    for name, batch, widths, act in CASES:
        if name not in chosen:
            continue
        us = time_step(batch, widths, act, args.seconds)
        print(f"torch case ({name}) batch {batch} {widths} {act.__name__}: {us:.1f} µs/step", file=sys.stderr)
        out[f"step_us_{name}"] = us
    for n in (256, 1024):
        out[f"sgemm_gflops_{n}"] = sgemm(n, args.seconds)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
