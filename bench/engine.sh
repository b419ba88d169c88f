#!/usr/bin/env bash
# Engine benchmark: flowgen vs PyTorch CPU, same shapes and thread count, in one run; prints a
# Markdown table with the speed ratio (PyTorch time / flowgen time, > 1 means flowgen is faster).
# Usage: bench/engine.sh [threads=1] [seconds=3]. PyTorch is skipped when not installed
# (pip install torch==2.13.0+cpu).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}
seconds=${2:-3}
export OPENBLAS_NUM_THREADS=$threads
flowgen=.build/release/flowgen
[ -x "$flowgen" ] || swift build -c release --product flowgen >&2
ours=$($flowgen bench engine --json --threads "$threads" --seconds "$seconds" | tail -n 1)
if python3 -c "import torch" 2>/dev/null; then
    peer=$(python3 bench/engine_torch.py --threads "$threads" --seconds "$seconds" | tail -n 1)
else
    echo "PyTorch not installed: peer column skipped" >&2
    peer='{}'
fi
python3 - "$ours" "$peer" <<'PY'
import json, sys
ours, peer = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"OpenBLAS core: {ours['blas_core']}, threads: {ours['threads']}, torch: {peer.get('torch', 'not installed')}")
print()
print("| case | flowgen µs/step | PyTorch µs/step | speed-up |")
print("|---|---:|---:|---:|")
names = {"a": "(a) batch 256, 2→64→64→64→2, SELU", "b": "(b) batch 16, 32→256→256→9, LeakyReLU",
         "c": "(c) batch 512, 1433→256→256→7, ReLU"}
for k, label in names.items():
    o, p = ours.get(f"step_us_{k}"), peer.get(f"step_us_{k}")
    ratio = f"{p / o:.2f}×" if o and p else "—"
    print(f"| {label} | {o:.1f} | {p:.1f} | {ratio} |" if p else f"| {label} | {o:.1f} | — | — |")
for n in (256, 1024):
    o, p = ours.get(f"sgemm_gflops_{n}"), peer.get(f"sgemm_gflops_{n}")
    print(f"| sgemm {n}³ GFLOP/s | {o:.1f} | {p:.1f} | {o / p:.2f}× |" if p else f"| sgemm {n}³ GFLOP/s | {o:.1f} | — | — |")
PY
