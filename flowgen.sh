#!/usr/bin/env bash
# flowgen's entry point on a fresh machine (Debian 12 + Swift 6.3):
#   ./flowgen.sh demo   set up, build, run the main demo on bundled defaults (C, Python and CLI)
#   ./flowgen.sh test   set up, build, run every test: XCTest, ctest (C smoke/misuse/install), pytest
#   ./flowgen.sh bench  set up, build, run the benchmarks against the PyTorch peers (see BENCHMARKS.md)
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
jobs=${FLOWGEN_JOBS:-$(nproc)}

step() { printf '\n== %s\n' "$*" >&2; }

build_all() {
    step "set-up (system and Python packages)"
    bash scripts/setup.sh
    step "build libflowgen.so (release, static Swift runtime)"
    bash scripts/build-lib.sh >/dev/null
    step "build the flowgen command (release)"
    swift build -c release --product flowgen -j "$jobs" >&2
    step "build the C clients (cmake)"
    cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build/cmake -j "$jobs" >/dev/null
}

case "${1:-}" in
demo)
    build_all
    step "engine demo from the command line (Swift)"
    .build/release/flowgen mlp demo
    step "engine demo from C (examples/c)"
    mkdir -p out
    (cd out && ../build/cmake/mlp_regression && ../build/cmake/mlp_classification && ../build/cmake/flows_few_steps)
    step "engine demo from Python (examples/python)"
    mkdir -p out
    PYTHONPATH=bindings/python python3 examples/python/mlp_demo.py --plot out/mlp_loss.svg
    step "GFlowNet: trajectory balance on a 2-D HyperGrid (H = 8), exact L1 against R/Z"
    .build/release/flowgen gfn train --env hypergrid --ndim 2 --height 8 --r0 0.1 --loss tb --batch 16 \
        --trajectories 20000 --seed 1 --plot out/gfn_hypergrid.svg
    step "flow matching: OT-CFM from N(0, I) to 8 Gaussians, Euler-100 samples, exact W2"
    .build/release/flowgen fm train --source gaussian --target 8gaussians --method otcfm --sigma 0.1 \
        --steps 2000 --batch 256 --seed 42 --plot out/fm_8gaussians.svg
    step "few-step sampling (BOSS schedule and straightening) and an exact-likelihood autoregressive flow (Python)"
    PYTHONPATH=bindings/python python3 examples/python/few_step_demo.py --plot out/few_steps.svg
    step "link prediction on the bundled Cora (NCN protocol, strict HR@100): CN over 10 splits, NCN on one"
    .build/release/flowgen linkpred --model cn --runs 10
    .build/release/flowgen linkpred --model ncn --runs 1 --epochs 100 --plot out/linkpred_ncn.svg
    echo "plots written to out/ (mlp_loss.svg, gfn_hypergrid.svg, fm_8gaussians.svg, few_steps.svg, linkpred_ncn.svg)" >&2
    ;;
test)
    start=$(date +%s)
    build_all
    step "XCTest (release build of the test suite)"
    swift build -c release --build-tests -j "$jobs" >&2
    swift test -c release --skip-build
    step "ctest (C smoke, misuse, install and without-Swift tests)"
    ctest --test-dir build/cmake --output-on-failure
    step "pytest (Python bindings)"
    PYTHONPATH=bindings/python python3 -m pytest -q bindings/python/tests
    echo "all tests passed in $(( $(date +%s) - start )) s" >&2
    ;;
bench)
    build_all
    step "engine benchmark: flowgen vs PyTorch (same threads)"
    bash bench/engine.sh 1
    bash bench/engine.sh 2
    step "GFlowNet benchmark: flowgen vs torchgfn"
    bash bench/gfn.sh
    step "flow-matching benchmark: flowgen vs the torchcfm step in PyTorch"
    python3 bench/fm_torchcfm.py
    ;;
*)
    echo "usage: ./flowgen.sh demo|test|bench" >&2
    exit 2
    ;;
esac
