#!/usr/bin/env bash
# c_without_swift: libflowgen.so must work on a machine without the Swift toolchain.
#   without_swift.sh <c_smoke binary> <libflowgen.so.X.Y.Z> <expected SONAME>
# 1. readelf -d: SONAME is the expected one, no NEEDED libswift*.so, no RPATH/RUNPATH into the toolchain.
# 2. Hides the toolchain (root = three dirname's above `readlink -f $(command -v swiftc)`) under an
#    empty tmpfs in a private mount namespace and runs the smoke test there.
# Fails (never skips) when the toolchain cannot be located or hidden.
set -euo pipefail
smoke=${1:?c_smoke binary}
lib=${2:?library file}
soname=${3:?expected SONAME}
fail() { echo "c_without_swift: FAIL: $*" >&2; exit 1; }

[[ -x $smoke ]] || fail "smoke test binary $smoke not found"
[[ -f $lib ]] || fail "library $lib not found"

dynamic=$(readelf -d "$lib") || fail "readelf -d $lib failed"
echo "$dynamic" | grep -E '\((NEEDED|SONAME|RPATH|RUNPATH)\)' || true
got_soname=$(echo "$dynamic" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $got_soname == "$soname" ]] || fail "SONAME is '${got_soname}', expected '$soname'"
swift_needed=$(echo "$dynamic" | grep '(NEEDED)' | grep -i 'libswift' || true)
[[ -z $swift_needed ]] || fail "the library needs Swift runtime libraries:
$swift_needed"
if echo "$dynamic" | grep -E '\((RPATH|RUNPATH)\)' | grep -qi swift; then
    fail "the library has an RPATH/RUNPATH into a Swift toolchain"
fi

swiftc_path=$(command -v swiftc || true)
[[ -n $swiftc_path ]] || fail "swiftc is not on PATH, so the toolchain to hide cannot be located
(run this test in the environment that built the library)"
root=$(dirname "$(dirname "$(dirname "$(readlink -f "$swiftc_path")")")")
[[ -d $root && $root != / ]] || fail "unexpected toolchain root '$root' (from $swiftc_path)"
case "$(readlink -f "$smoke")/" in "$root"/*) fail "the smoke test lives inside the toolchain root $root";; esac
echo "Swift toolchain root: $root"

if ! unshare -m true 2>/dev/null; then
    fail "cannot create a mount namespace (unshare -m needs root or CAP_SYS_ADMIN; running as uid $(id -u)).
This test must hide $root to prove the library runs without Swift; run it as root (as CI does)."
fi

# In the namespace: hide the toolchain, prove it is gone, show how the library resolves, run the test.
unshare -m bash -euo pipefail -c '
    root=$1; smoke=$2; lib=$3
    mount -t tmpfs none "$root"
    if [[ -e $root/usr/bin/swiftc ]] || compgen -G "$root/usr/lib/swift/linux/libswiftCore.so*" >/dev/null; then
        echo "c_without_swift: FAIL: the toolchain is still visible after mounting tmpfs on $root" >&2
        exit 1
    fi
    echo "toolchain hidden: $root is now an empty tmpfs"
    deps=$(ldd "$lib")
    echo "$deps"
    if echo "$deps" | grep -q "not found"; then
        echo "c_without_swift: FAIL: unresolved dependencies without the toolchain" >&2
        exit 1
    fi
    if echo "$deps" | grep -qi "libswift"; then
        echo "c_without_swift: FAIL: a Swift runtime library is still loaded" >&2
        exit 1
    fi
    exec "$smoke"
' c_without_swift "$root" "$smoke" "$lib"
