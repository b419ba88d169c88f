#!/usr/bin/env bash
# Builds the shipped C library: build/lib/libflowgen.so.0 (SONAME libflowgen.so.0) with the Swift
# runtime linked statically (loads where no Swift toolchain is installed) and only fg_* symbols
# exported (scripts/flowgen.map). Uses its own SwiftPM scratch folder (.build-lib) because the static
# runtime needs different link flags from the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
config=${FLOWGEN_BUILD_CONFIG:-release}
swift build -c "$config" --scratch-path .build-lib --product flowgen_capi \
    -Xswiftc -static-stdlib \
    -Xlinker --version-script="$root/scripts/flowgen.map" \
    -Xlinker -soname=libflowgen.so.0 \
    -Xlinker -z -Xlinker defs >&2
mkdir -p build/lib
built=".build-lib/$config/libflowgen_capi.so"
cp -f "$built" build/lib/libflowgen.so.0.1.0
strip --strip-unneeded build/lib/libflowgen.so.0.1.0
ln -sf libflowgen.so.0.1.0 build/lib/libflowgen.so.0
ln -sf libflowgen.so.0 build/lib/libflowgen.so
echo "$root/build/lib/libflowgen.so"
