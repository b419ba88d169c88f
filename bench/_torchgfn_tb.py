"""The torchgfn side shared by bench/gfn_torchgfn.py (HyperGrid) and bench/gfn_ebm_torchgfn.py
(DiscreteEBM): the common command-line options and trajectory balance with torchgfn's own classes
(shared-trunk P_F/P_B MLP 2x256, Adam lr 1e-3 / log Z lr 0.1, on-policy with saved log-probs), timing
training only and evaluating the caller's exact L1 at chosen trajectory counts."""
import time

import torch

from gfn.estimators import DiscretePolicyEstimator
from gfn.gflownet import TBGFlowNet
from gfn.samplers import Sampler
from gfn.utils.modules import MLP


def forward_policy(module, inputs, mask):
    """P_F of every state (rows of `inputs`, float32) as float64 [n, actions], restricted to `mask` (softmax over
    the allowed actions), from the torchgfn P_F module — the first step of both benches' exact L1."""
    import numpy as np
    with torch.no_grad():
        logits = module(torch.from_numpy(inputs)).double().numpy()
    logits = np.where(mask, logits, -np.inf)
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def add_common_options(parser):
    """--batch, --trajectories, --eval-at, --seed, --threads."""
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--trajectories", type=int, default=10000)
    parser.add_argument("--eval-at", default="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)


def train_tb(env, preprocessor, input_dim, args, exact_l1):
    """Trains TB on `env` for args.trajectories; exact_l1(module_pf) -> (l1, log_z_true). Returns the
    JSON fields common to both benches."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    module_pf = MLP(input_dim=input_dim, output_dim=env.n_actions, hidden_dim=256, n_hidden_layers=2)
    module_pb = MLP(input_dim=input_dim, output_dim=env.n_actions - 1, hidden_dim=256,
                    n_hidden_layers=2, trunk=module_pf.trunk)
    pf = DiscretePolicyEstimator(module_pf, env.n_actions, preprocessor=preprocessor, is_backward=False)
    pb = DiscretePolicyEstimator(module_pb, env.n_actions, preprocessor=preprocessor, is_backward=True)
    gflownet = TBGFlowNet(pf=pf, pb=pb, logZ=0.0)
    sampler = Sampler(estimator=pf)
    optimizer = torch.optim.Adam(gflownet.pf_pb_parameters(), lr=1e-3)
    optimizer.add_param_group({"params": gflownet.logz_parameters(), "lr": 1e-1})
    steps = (args.trajectories + args.batch - 1) // args.batch
    evals = sorted(int(v) for v in args.eval_at.split(",") if v.strip())
    curve, seconds, seen = [], 0.0, 0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        trajectories = sampler.sample_trajectories(env=env, n=args.batch, save_logprobs=True)
        optimizer.zero_grad()
        loss = gflownet.loss(env, trajectories, recalculate_all_logprobs=False)
        loss.backward()
        optimizer.step()
        seconds += time.perf_counter() - start
        seen += args.batch
        while evals and (evals[0] + args.batch - 1) // args.batch <= step:
            evals.pop(0)
            curve.append([seen, exact_l1(module_pf)[0]])
            print("torchgfn: %d trajectories, exact L1 %.4f" % (seen, curve[-1][1]), flush=True)
    l1, log_z_true = exact_l1(module_pf)
    return {"impl": "torchgfn", "torch": torch.__version__, "threads": args.threads, "trajectories": seen,
            "train_seconds": seconds, "traj_per_s": seen / seconds, "l1": l1, "l1_curve": curve,
            "log_z": float(gflownet.logZ.item()), "log_z_true": log_z_true}
