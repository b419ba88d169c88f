#!/usr/bin/env bash
# One-time machine set-up, safe to re-run: installs the system packages flowgen needs (OpenBLAS, cmake,
# pkg-config) when missing, and the Python packages the bindings and tests use.
set -euo pipefail
need_apt=()
[ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/cblas.h ] || need_apt+=(libopenblas-dev)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${need_apt[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >&2
fi
need_pip=()
python3 -c "import numpy" 2>/dev/null || need_pip+=(numpy)
python3 -c "import pytest" 2>/dev/null || need_pip+=(pytest)
python3 -c "import safetensors" 2>/dev/null || need_pip+=(safetensors)
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "setup: installing Python packages: ${need_pip[*]}" >&2
    python3 -m pip install -q "${need_pip[@]}" >&2
fi
