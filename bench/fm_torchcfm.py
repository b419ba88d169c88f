"""Speed of the torchcfm training step and torchdiffeq sampling on the [SF]²M 2-D setting, for
comparison with `flowgen fm train` (same thread count).

torchcfm is used when installed (pip install torchcfm torchdiffeq); otherwise the identical step is
written out here in plain PyTorch + POT, following torchcfm 1.0.7 (`ConditionalFlowMatcher`: x_t =
t x1 + (1-t) x0 + σε, u = x1 - x0; `ExactOptimalTransportConditionalFlowMatcher`: pairs resampled from
POT's exact plan `ot.emd`) and its `MLP(dim, w=64, time_varying=True)` (Linear-SELU ×3 - Linear).
Prints one JSON line: steps/s for I-CFM and OT-CFM, Euler-100 and (if torchdiffeq is present) dopri5
(rtol = atol = 1e-5) samples/s with NFE, for the peer and — in the same run, same thread count
(OPENBLAS_NUM_THREADS) — for `flowgen fm train` / `flowgen fm sample` (same MLP, batch, N→8gaussians
data), with the speed-up ratios. For sampling both sides integrate the same field: flowgen's trained
I-CFM checkpoint is loaded into the torch MLP. Every timing is the best of --repeats.

Usage: python3 bench/fm_torchcfm.py [--batch 256] [--steps 300] [--threads 1] [--flowgen-steps 2000]
"""
import argparse
import json
import time

import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--batch", type=int, default=256)
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--samples", type=int, default=2000)
parser.add_argument("--flowgen-steps", type=int, default=2000)
parser.add_argument("--binary", default=".build/release/flowgen")
parser.add_argument("--repeats", type=int, default=3, help="best of N timings per measurement (both sides)")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

try:
    import ot  # POT
except ImportError:
    ot = None


def mlp(dim=2, w=64):
    return torch.nn.Sequential(torch.nn.Linear(dim + 1, w), torch.nn.SELU(), torch.nn.Linear(w, w), torch.nn.SELU(),
                               torch.nn.Linear(w, w), torch.nn.SELU(), torch.nn.Linear(w, dim))


def eight_gaussians(n):
    k = torch.randint(1, 9, (n,))
    theta = 2 * np.pi * k / 8
    return torch.stack([5 * torch.cos(theta), 5 * torch.sin(theta)], 1) + torch.randn(n, 2)


def exact_ot_pairs(x0, x1):
    a, b = ot.unif(x0.shape[0]), ot.unif(x1.shape[0])
    m = torch.cdist(x0, x1) ** 2
    pi = ot.emd(a, b, m.detach().cpu().numpy())
    p = pi.flatten() / pi.sum()
    choices = np.random.choice(pi.shape[0] * pi.shape[1], p=p, size=x0.shape[0])
    i, j = np.divmod(choices, pi.shape[1])
    return x0[i], x1[j]


def train(method):
    model = mlp()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
    data = eight_gaussians(10000)
    start = None
    for step in range(args.steps + 20):
        if step == 20:
            start = time.perf_counter()  # warm-up excluded
        x1 = data[torch.randint(0, data.shape[0], (args.batch,))]
        x0 = torch.randn_like(x1)
        if method == "otcfm":
            x0, x1 = exact_ot_pairs(x0, x1)
        t = torch.rand(x0.shape[0], 1)
        xt = t * x1 + (1 - t) * x0 + 0.1 * torch.randn_like(x0)
        ut = x1 - x0
        loss = ((model(torch.cat([xt, t], 1)) - ut) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return args.steps / (time.perf_counter() - start), model


result = {"threads": args.threads, "batch": args.batch, "torch": torch.__version__}
result["icfm_steps_per_s"], model = max((train("icfm") for _ in range(args.repeats)), key=lambda r: r[0])
if ot is not None:
    result["otcfm_steps_per_s"] = max(train("otcfm")[0] for _ in range(args.repeats))


def load_flowgen_checkpoint(path):
    """The velocity MLP of a flowgen checkpoint (safetensors: layers.<i>.weight [out, in] / .bias) as
    the same torch Sequential, so both libraries integrate the identical field."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(header_len))
        blob = f.read()
    net = mlp()
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for i, layer in enumerate(linears):
        for name in ("weight", "bias"):
            meta = header["layers.%d.%s" % (i, name)]
            start, end = meta["data_offsets"]
            values = np.frombuffer(blob[start:end], dtype=np.float32).reshape(meta["shape"])
            getattr(layer, name).data = torch.from_numpy(values.copy())
    return net


def torch_sampling(model):
    x0 = torch.randn(args.samples, 2)
    with torch.no_grad():
        best = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            x = x0.clone()
            for k in range(100):
                t = torch.full((x.shape[0], 1), k / 100)
                x = x + 0.01 * model(torch.cat([x, t], 1))
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        result["euler100_samples_per_s"] = args.samples / best
        try:
            from torchdiffeq import odeint
            nfe = [0]

            def field(t, x):
                nfe[0] += 1
                return model(torch.cat([x, t.expand(x.shape[0], 1)], 1))

            best = None
            for _ in range(args.repeats):
                nfe[0] = 0
                start = time.perf_counter()
                odeint(field, x0, torch.tensor([0.0, 1.0]), method="dopri5", rtol=1e-5, atol=1e-5)
                elapsed = time.perf_counter() - start
                best = elapsed if best is None else min(best, elapsed)
            result["dopri5_samples_per_s"] = args.samples / best
            result["dopri5_nfe"] = nfe[0]
        except ImportError:
            pass


def run_json(cmd):
    import os
    import subprocess
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def flowgen(method, save=None):
    cmd = [args.binary, "fm", "train", "--method", method, "--source", "gaussian", "--target", "8gaussians",
           "--steps", str(args.flowgen_steps), "--batch", str(args.batch), "--eval-points", "10",
           "--w2-points", "10", "--json"]
    return run_json(cmd + (["--save", save] if save else []))


def flowgen_sample(checkpoint, solver):
    best = None
    for _ in range(args.repeats):
        r = run_json([args.binary, "fm", "sample", "--model", checkpoint, "--n", str(args.samples), "--solver", solver,
                      "--solver-steps", "100", "--tol", "1e-5", "--out", checkpoint + ".samples.npy", "--json"])
        best = r if best is None or r["sample_seconds"] < best["sample_seconds"] else best
    return best


try:
    import tempfile
    workdir = tempfile.mkdtemp()
    checkpoint = workdir + "/icfm.safetensors"
    fg = {m: max((flowgen(m) for _ in range(args.repeats)), key=lambda r: r["steps_per_s"]) for m in ("icfm", "otcfm")}
    flowgen("icfm", save=checkpoint)
    result["flowgen_icfm_steps_per_s"] = fg["icfm"]["steps_per_s"]
    result["flowgen_otcfm_steps_per_s"] = fg["otcfm"]["steps_per_s"]
    # Sampling: both libraries integrate the same trained field (flowgen's I-CFM model loaded into torch).
    torch_sampling(load_flowgen_checkpoint(checkpoint))
    eu = flowgen_sample(checkpoint, "euler")
    d5 = flowgen_sample(checkpoint, "dopri5")
    result["flowgen_euler100_samples_per_s"] = args.samples / eu["sample_seconds"]
    result["flowgen_dopri5_samples_per_s"] = args.samples / d5["sample_seconds"]
    result["flowgen_dopri5_nfe"] = d5["nfe"]
    result["speedup_icfm"] = result["flowgen_icfm_steps_per_s"] / result["icfm_steps_per_s"]
    if "otcfm_steps_per_s" in result:
        result["speedup_otcfm"] = result["flowgen_otcfm_steps_per_s"] / result["otcfm_steps_per_s"]
    result["speedup_euler100"] = result["flowgen_euler100_samples_per_s"] / result["euler100_samples_per_s"]
    if "dopri5_samples_per_s" in result:
        result["speedup_dopri5"] = result["flowgen_dopri5_samples_per_s"] / result["dopri5_samples_per_s"]
except FileNotFoundError:
    result["flowgen"] = "binary not found: build with swift build -c release --product flowgen"
print(json.dumps(result))
