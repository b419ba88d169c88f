"""torchgfn reference run for bench/gfn_ebm.sh: TB on torchgfn's DiscreteEBM (Ising, default all-ones J,
log R = alpha * s^T J s with s = 2x - 1) with torchgfn's own classes (shared-trunk P_F/P_B MLP 2x256,
identity preprocessor on the raw {-1, 0, 1} states, Adam lr 1e-3 / log Z lr 0.1, on-policy with saved
log-probs), timing training only and reporting the exact sum-L1 of P_T over the 2^D configurations
(dynamic programming over the 3^D states, computed here with numpy from the P_F module — the same
definition flowgen uses) at chosen trajectory counts.

    python3 bench/gfn_ebm_torchgfn.py --ndim 10 --alpha 0.1 --trajectories 20000 --eval-at 5000 --threads 1

Prints one JSON object (last line): trajectories, train_seconds, traj_per_s, l1, l1_curve, log_z, log_z_true.
"""
import argparse
import json

import numpy as np

from gfn.gym import DiscreteEBM
from gfn.preprocessors import IdentityPreprocessor

from _torchgfn_tb import add_common_options, forward_policy, train_tb


def exact_l1(module, ndim, alpha):
    """Sum over full configurations of |P_T(x) - R(x)/Z|; states indexed by sum_i (x_i + 1) 3^i, which
    is topological (setting a spin raises the index)."""
    n = 3 ** ndim
    idx = np.arange(n)
    powers = 3 ** np.arange(ndim)
    states = np.stack([(idx // powers[i]) % 3 - 1 for i in range(ndim)], axis=1)
    unset = states < 0
    full = ~unset.any(axis=1)
    p = forward_policy(module, states.astype(np.float32), np.concatenate([unset, unset, full[:, None]], axis=1))
    u = np.zeros(n)
    u[0] = 1
    pt = np.zeros(n)
    for i in range(n):
        if u[i] == 0:
            continue
        pt[i] = u[i] * p[i, 2 * ndim]
        for s in np.nonzero(unset[i])[0]:
            u[i + powers[s]] += u[i] * p[i, s]          # x_s: -1 -> 0
            u[i + 2 * powers[s]] += u[i] * p[i, ndim + s]  # x_s: -1 -> 1
    sigma = 2 * states[full] - 1
    log_r = alpha * sigma.sum(axis=1).astype(np.float64) ** 2
    log_z = np.logaddexp.reduce(log_r)
    return float(np.abs(pt[full] - np.exp(log_r - log_z)).sum()), float(log_z)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndim", type=int, default=10)
    parser.add_argument("--alpha", type=float, default=0.1)
    add_common_options(parser)
    args = parser.parse_args()
    env = DiscreteEBM(ndim=args.ndim, alpha=args.alpha)
    result = train_tb(env, IdentityPreprocessor(output_dim=args.ndim), args.ndim, args,
                      lambda module: exact_l1(module, args.ndim, args.alpha))
    print(json.dumps({**result, "ndim": args.ndim, "alpha": args.alpha}))


if __name__ == "__main__":
    main()
