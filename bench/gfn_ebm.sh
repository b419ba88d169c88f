#!/usr/bin/env bash
# GFlowNet benchmark on torchgfn's DiscreteEBM (Ising with every pair coupled, torchgfn's default all-ones
# J): flowgen `--env ising --ising-dims 0 --coupling 2α` vs torchgfn `DiscreteEBM(ndim, alpha=α)` (the same
# distribution: s^T J s counts every pair twice and adds the constant D, so log Z differs by α·D).
# TB, batch 16, MLP 2×256, lr 1e-3 / log Z lr 0.1, seeds as given (default 1), one thread, training time only; exact sum-L1 of
# P_T over the 2^D configurations by dynamic programming. Prints a Markdown table.
# Usage: bench/gfn_ebm.sh [trajectories=20000] [ndim=10] [alphas="0.1 0.5"] [eval_at=5000] [seeds=1]
# torchgfn is skipped when not installed (see bench/gfn_ebm_torchgfn.py).
set -euo pipefail
cd "$(dirname "$0")/.."
trajectories=${1:-20000}
ndim=${2:-10}
alphas=${3:-"0.1 0.5"}
eval_at=${4:-5000}
seeds=${5:-1}
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
have_torchgfn=0
python3 -c "import gfn.gflownet" 2>/dev/null && have_torchgfn=1 || echo "torchgfn not installed: peer rows skipped" >&2
echo "DiscreteEBM D=$ndim, $trajectories trajectories per run, L1 also at $eval_at, 1 thread"
echo
echo "| α | seed | impl | traj/s | exact L1 at $eval_at | exact L1 at $trajectories | log Z (true) |"
echo "|---:|---:|---|---:|---:|---:|---|"
for alpha in $alphas; do
  for seed in $seeds; do
    coupling=$(python3 -c "print(2 * $alpha)")
    ours=$(OPENBLAS_NUM_THREADS=1 $flowgen gfn train --env ising --ising-dims 0 --ising-side "$ndim" --coupling "$coupling" \
        --loss tb --batch 16 --trajectories "$trajectories" --seed "$seed" --threads 1 --eval-at "$eval_at" --json 2>/dev/null | tail -n 1)
    rows=("flowgen|$ours")
    if [ $have_torchgfn = 1 ]; then
        peer=$(python3 bench/gfn_ebm_torchgfn.py --ndim "$ndim" --alpha "$alpha" --batch 16 --trajectories "$trajectories" \
            --seed "$seed" --threads 1 --eval-at "$eval_at" 2>/dev/null | tail -n 1)
        rows+=("torchgfn|$peer")
    fi
    for row in "${rows[@]}"; do
        python3 - "$alpha" "$seed" "${row%%|*}" "${row#*|}" <<'PY'
import json, sys
alpha, seed, impl, text = sys.argv[1:]
d = json.loads(text)
curve = d.get("l1_curve") or [[0, float("nan")]]
print(f"| {alpha} | {seed} | {impl} | {d['traj_per_s']:.0f} | {curve[0][1]:.3f} | {d['l1']:.3f} | {d['log_z']:.3f} ({d['log_z_true']:.3f}) |")
PY
    done
  done
done
