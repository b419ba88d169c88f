#!/usr/bin/env bash
# GFlowNet benchmark: flowgen vs torchgfn on the same HyperGrid runs (TB, batch 16, MLP 2×256,
# lr 1e-3 / log Z lr 0.1, seed 1): trajectories per second (training only) and the exact sum-L1 of the
# learned terminating distribution at checkpoints. Prints a Markdown table.
# Usage: bench/gfn.sh [trajectories=20000] [threads="1 2"] [configs="4x8 2x64"] [eval_at=10000]
# torchgfn is skipped when not installed (pip install torchgfn; see bench/gfn_torchgfn.py).
set -euo pipefail
cd "$(dirname "$0")/.."
trajectories=${1:-20000}
threads_list=${2:-"1 2"}
configs=${3:-"4x8 2x64"}
eval_at=${4:-10000}
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
have_torchgfn=0
python3 -c "import gfn.gflownet" 2>/dev/null && have_torchgfn=1 || echo "torchgfn not installed: peer rows skipped" >&2
echo "OpenBLAS core: $($flowgen version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["blas_core"])'), $trajectories trajectories per run, L1 also at $eval_at"
echo
echo "| grid | threads | impl | traj/s | exact L1 at $eval_at | exact L1 at $trajectories | log Z (true) |"
echo "|---|---:|---|---:|---:|---:|---|"
for config in $configs; do
    ndim=${config%x*}; height=${config#*x}
    for threads in $threads_list; do
        ours=$(OPENBLAS_NUM_THREADS=$threads $flowgen gfn train --ndim "$ndim" --height "$height" --loss tb --batch 16 \
            --trajectories "$trajectories" --seed 1 --threads "$threads" --eval-at "$eval_at" --json 2>/dev/null | tail -n 1)
        rows=("flowgen|$ours")
        if [ $have_torchgfn = 1 ]; then
            peer=$(python3 bench/gfn_torchgfn.py --ndim "$ndim" --height "$height" --batch 16 \
                --trajectories "$trajectories" --seed 1 --threads "$threads" --eval-at "$eval_at" | tail -n 1)
            rows+=("torchgfn|$peer")
        fi
        for row in "${rows[@]}"; do
            python3 - "$ndim" "$height" "$threads" "${row%%|*}" "${row#*|}" <<'PY'
import json, sys
ndim, height, threads, impl, text = sys.argv[1:]
d = json.loads(text)
curve = d.get("l1_curve") or [[0, float("nan")]]
print(f"| {ndim}-D H{height} | {threads} | {impl} | {d['traj_per_s']:.0f} | {curve[0][1]:.3f} | {d['l1']:.3f} | "
      f"{d['log_z']:.3f} ({d['log_z_true']:.3f}) |")
PY
        done
    done
done
