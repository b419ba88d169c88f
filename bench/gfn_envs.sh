#!/usr/bin/env bash
# GFlowNet objectives on environments with intermediate rewards: DB, FL-DB, SubTB(λ=0.9), FL-SubTB and
# TB (reference) at equal trajectory budgets. Default: the set-generation task of the forward-looking
# paper (Pan et al. 2023): choose 8 of 16 items, additive per-item energies (seeded, β·{0, ¼, ½, ¾, 1})
# with β = 1 and 4. Reports the exact sum-L1 of P_T against R/Z and the Pearson correlation of log P_T
# with log R over all objects, mean over seeds. Batch 16, MLP 2×256, lr 1e-3 (log Z lr 0.1), one BLAS
# thread. Prints a Markdown table.
# Usage: [LOSSES="db fldb ..."] bench/gfn_envs.sh [eval_at=2000,5000,10000,20000] [seeds="1 2 3"] [config ...]
#   where each config is a quoted string of `flowgen gfn train` environment options, e.g.
#   "--env bitseq --seq-len 12 --word-size 2 --n-modes 8" or "--env ising --ising-side 3 --coupling 0.5".
set -euo pipefail
cd "$(dirname "$0")/.."
eval_at=${1:-2000,5000,10000,20000}
seeds=${2:-"1 2 3"}
shift $(( $# < 2 ? $# : 2 ))
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=("--env set --items 16 --set-size 8 --beta 1" "--env set --items 16 --set-size 8 --beta 4")
losses=${LOSSES:-"db fldb subtb flsubtb tb"}
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
total=${eval_at##*,}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for config in "${configs[@]}"; do
    for loss in $losses; do
        for seed in $seeds; do
            echo "$config $loss seed $seed" >&2
            # shellcheck disable=SC2086  # config is a list of options
            line=$(OPENBLAS_NUM_THREADS=1 $flowgen gfn train $config --loss "$loss" --batch 16 --trajectories "$total" \
                --seed "$seed" --threads 1 --eval-at "$eval_at" --json 2>/dev/null | tail -n 1)
            printf '%s\t%s\t%s\n' "$config" "$loss" "$line" >> "$log"
        done
    done
done
python3 - "$log" "$eval_at" <<'PY'
import json, sys
from collections import defaultdict
path, eval_at = sys.argv[1:]
points = [int(x) for x in eval_at.split(",")]
runs = defaultdict(list)
for line in open(path):
    config, loss, text = line.rstrip("\n").split("\t")
    runs[(config, loss)].append(json.loads(text))
# (a count that is not a multiple of the batch is reached at the next multiple of 16)
print("| environment | loss | seeds | " + " | ".join(f"L1 @ {p}" for p in points) + f" | corr @ {points[-1]} |")
print("|---|---|---:|" + "---:|" * len(points) + "---:|")
for (config, loss), ds in runs.items():
    cells = [f"{sum(d['l1_curve'][i][1] for d in ds) / len(ds):.3f}" for i in range(len(points))]
    corr = sum(d["log_corr"] for d in ds) / len(ds)
    print(f"| `{config}` | {loss} | {len(ds)} | " + " | ".join(cells) + f" | {corr:.4f} |")
PY
