"""torchgfn reference run for bench/gfn.sh: TB on HyperGrid with torchgfn's own classes (shared-trunk
P_F/P_B MLP, K-hot preprocessor, Adam lr 1e-3 / log Z lr 0.1, on-policy with saved log-probs), timing
training only and reporting the exact sum-L1 of P_T (dynamic programming over the grid, computed here
with numpy from the P_F module — the same definition flowgen uses) at chosen trajectory counts.

    python3 bench/gfn_torchgfn.py --ndim 4 --height 8 --trajectories 100000 --eval-at 10000,50000 --threads 1

Prints one JSON object (last line): trajectories, train_seconds, traj_per_s, l1, l1_curve, log_z, log_z_true.
"""
import argparse
import json
import math

import numpy as np

from gfn.gym import HyperGrid
from gfn.preprocessors import KHotPreprocessor

from _torchgfn_tb import add_common_options, forward_policy, train_tb


def reward(x, height, r0, r1, r2):
    ax = np.abs(x / (height - 1) - 0.5)
    eps = 1e-12
    outer = np.all(0.25 + eps < ax, axis=-1)
    band = np.all((0.3 + eps < ax) & (ax < 0.4 - eps), axis=-1)
    return r0 + r1 * outer + r2 * band


def exact_l1(module, ndim, height, r0, r1, r2):
    """Sum over cells of |P_T(x) - R(x)/Z|, P_T by DP in index order (index = sum_d x_d H^d)."""
    n = height ** ndim
    idx = np.arange(n)
    states = np.stack([(idx // height ** d) % height for d in range(ndim)], axis=1)
    khot = np.zeros((n, ndim * height), np.float32)
    for d in range(ndim):
        khot[idx, d * height + states[:, d]] = 1
    mask = np.concatenate([states < height - 1, np.ones((n, 1), bool)], axis=1)
    p = forward_policy(module, khot, mask)
    u = np.zeros(n)
    u[0] = 1
    pt = np.zeros(n)
    strides = [height ** d for d in range(ndim)]
    for i in range(n):
        pt[i] = u[i] * p[i, ndim]
        for d in range(ndim):
            if mask[i, d]:
                u[i + strides[d]] += u[i] * p[i, d]
    r = reward(states.astype(np.float64), height, r0, r1, r2)
    return float(np.abs(pt - r / r.sum()).sum()), float(math.log(r.sum()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndim", type=int, default=4)
    parser.add_argument("--height", type=int, default=8)
    parser.add_argument("--r0", type=float, default=0.1)
    parser.add_argument("--r1", type=float, default=0.5)
    parser.add_argument("--r2", type=float, default=2.0)
    add_common_options(parser)
    args = parser.parse_args()
    env = HyperGrid(ndim=args.ndim, height=args.height,
                    reward_fn_kwargs={"R0": args.r0, "R1": args.r1, "R2": args.r2})
    pre = KHotPreprocessor(height=args.height, ndim=args.ndim)
    result = train_tb(env, pre, pre.output_dim, args,
                      lambda module: exact_l1(module, args.ndim, args.height, args.r0, args.r1, args.r2))
    print(json.dumps({**result, "ndim": args.ndim, "height": args.height}))


if __name__ == "__main__":
    main()
