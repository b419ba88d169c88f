#!/usr/bin/env bash
# GFlowNet objectives on the set-generation task of the forward-looking paper (Pan et al. 2023):
# choose k of N items, additive per-item energies (seeded, β·{0, ¼, ½, ¾, 1}), so every intermediate
# state has a reward. Compares DB, FL-DB, SubTB(λ=0.9), FL-SubTB and TB (reference) at equal trajectory
# budgets: exact sum-L1 of P_T against R/Z and the Pearson correlation of log P_T with log R over all
# k-sets, mean over seeds. Batch 16, MLP 2×256, lr 1e-3 (log Z lr 0.1), one BLAS thread. Markdown table.
# Usage: bench/gfn_envs.sh [items=16] [set_size=8] [betas="1 4"] [eval_at=2000,5000,10000,20000] [seeds="1 2 3"]
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-16}
set_size=${2:-8}
betas=${3:-"1 4"}
eval_at=${4:-2000,5000,10000,20000}
seeds=${5:-"1 2 3"}
losses="db fldb subtb flsubtb tb"
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
total=${eval_at##*,}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for beta in $betas; do
    for loss in $losses; do
        for seed in $seeds; do
            echo "set N=$items k=$set_size β=$beta $loss seed $seed" >&2
            line=$(OPENBLAS_NUM_THREADS=1 $flowgen gfn train --env set --items "$items" --set-size "$set_size" --beta "$beta" \
                --loss "$loss" --batch 16 --trajectories "$total" --seed "$seed" --threads 1 --eval-at "$eval_at" --json 2>/dev/null | tail -n 1)
            echo "$beta $loss $seed $line" >> "$log"
        done
    done
done
python3 - "$log" "$eval_at" "$items" "$set_size" <<'PY'
import json, sys
from collections import defaultdict
path, eval_at, items, k = sys.argv[1:]
points = [int(x) for x in eval_at.split(",")]
runs = defaultdict(list)
for line in open(path):
    beta, loss, seed, text = line.split(" ", 3)
    runs[(beta, loss)].append(json.loads(text))
print(f"Set generation, N = {items} items, k = {k}; mean over seeds of the exact sum-L1 (and corr(log P_T, log R))")
print()
print("| β | loss | seeds | " + " | ".join(f"L1 @ {p}" for p in points) + " | corr @ " + str(points[-1]) + " |")
# (a count that is not a multiple of the batch is reached at the next multiple of 16)
print("|---:|---|---:|" + "---:|" * len(points) + "---:|")
for (beta, loss), ds in runs.items():
    cells = []
    for i, _ in enumerate(points):
        vals = [d["l1_curve"][i][1] for d in ds]
        cells.append(f"{sum(vals) / len(vals):.3f}")
    corr = sum(d["log_corr"] for d in ds) / len(ds)
    print(f"| {beta} | {loss} | {len(ds)} | " + " | ".join(cells) + f" | {corr:.4f} |")
PY
