#!/usr/bin/env bash
# torchgfn's own HyperGrid regression thresholds, run with flowgen: TB, batch 128, MLP 2×256, lr 1e-3,
# log Z lr 0.1, 32,000 trajectories (250 steps), R = (0.1, 0.5, 2). Passing means an exact sum-L1
# (Σ_x |P_T(x) − R(x)/Z|, P_T by dynamic programming) ≤ 0.012 on 2-D H8 and ≤ 0.25 on 4-D H8.
# Prints a Markdown table (one row per grid and seed) and exits non-zero if any run misses its threshold.
# Usage: bench/gfn_thresholds.sh [seeds="1 2 3"] [threads=1]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3"}
threads=${2:-1}
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
echo "| grid | seed | exact L1 | threshold | pass | log Z (true) | train s |"
echo "|---|---:|---:|---:|---|---|---:|"
failed=0
for config in "2 0.012" "4 0.25"; do
    ndim=${config% *}; limit=${config#* }
    for seed in $seeds; do
        out=$(OPENBLAS_NUM_THREADS=$threads $flowgen gfn train --ndim "$ndim" --height 8 --r0 0.1 --loss tb --batch 128 \
            --hidden 256 --layers 2 --lr 1e-3 --lr-logz 0.1 --trajectories 32000 --seed "$seed" --threads "$threads" \
            --json 2>/dev/null | tail -n 1)
        python3 - "$ndim" "$seed" "$limit" "$out" <<'PY' || failed=1
import json, sys
ndim, seed, limit, text = sys.argv[1:]
d = json.loads(text)
ok = d["l1"] <= float(limit)
print(f"| {ndim}-D H8 | {seed} | {d['l1']:.4f} | {limit} | {'yes' if ok else 'NO'} | {d['log_z']:.3f} ({d['log_z_true']:.3f}) | {d['train_seconds']:.1f} |")
sys.exit(0 if ok else 1)
PY
    done
done
exit $failed
