#!/usr/bin/env bash
# c_install_consumers: `cmake --install` into a temporary prefix, check the installed tree, then build
# and run (a) a consumer compiled with `cc $(pkg-config --cflags --libs flowgen)` and (b) a CMake
# consumer project using find_package(flowgen REQUIRED).
#   install_consumers.sh <build dir> <cmake> <cc> <libdir> <includedir> <version>
set -euo pipefail
build=${1:?build dir}
cmake=${2:?cmake}
cc=${3:?C compiler}
libdir=${4:?install libdir}
includedir=${5:?install includedir}
version=${6:?version}
here=$(cd "$(dirname "$0")" && pwd)
major=${version%%.*}
fail() { echo "c_install_consumers: FAIL: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fg_install_XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix with space"

"$cmake" --install "$build" --prefix "$prefix"

# The installed tree: real file + two symlinks, header, pkg-config file, CMake package.
lib="$prefix/$libdir"
[[ -f $lib/libflowgen.so.$version && ! -L $lib/libflowgen.so.$version ]] || fail "libflowgen.so.$version is not a regular file"
[[ -L $lib/libflowgen.so.$major && $(readlink "$lib/libflowgen.so.$major") == "libflowgen.so.$version" ]] \
    || fail "libflowgen.so.$major is not a symlink to libflowgen.so.$version"
[[ -L $lib/libflowgen.so && $(readlink "$lib/libflowgen.so") == "libflowgen.so.$major" ]] \
    || fail "libflowgen.so is not a symlink to libflowgen.so.$major"
[[ -f $prefix/$includedir/flowgen.h ]] || fail "flowgen.h not installed"
[[ -f $lib/pkgconfig/flowgen.pc ]] || fail "flowgen.pc not installed"
[[ -f $lib/cmake/flowgen/flowgenConfig.cmake && -f $lib/cmake/flowgen/flowgenConfigVersion.cmake ]] \
    || fail "CMake package files not installed"
echo "installed tree:"; (cd "$prefix" && find . | sort | sed 's/^/  /')

# (a) pkg-config consumer. Copy the tree elsewhere first: the install must be relocatable.
moved="$work/moved"
cp -a "$prefix" "$moved"
for root in "$prefix" "$moved"; do
    export PKG_CONFIG_PATH="$root/$libdir/pkgconfig"
    [[ $(pkg-config --modversion flowgen) == "$version" ]] || fail "pkg-config --modversion gives $(pkg-config --modversion flowgen)"
    cflags=$(pkg-config --cflags flowgen)
    libs=$(pkg-config --libs flowgen)
    echo "pkg-config ($root): cflags [$cflags] libs [$libs]"
    # shellcheck disable=SC2086  # word splitting of the flags is intended (no spaces: see below)
    eval "\"$cc\" -Wall -Wextra -Werror -std=c11 -o \"$work/consumer_pc\" \"$here/consumer/consumer.c\" $cflags $libs"
    LD_LIBRARY_PATH="$root/$libdir" ldd "$work/consumer_pc" | grep -F "libflowgen.so.$major => $root/$libdir/" \
        || fail "the pkg-config consumer does not resolve libflowgen from $root/$libdir"
    LD_LIBRARY_PATH="$root/$libdir" "$work/consumer_pc"
done

# (b) find_package consumer, against the moved copy only.
unset PKG_CONFIG_PATH
rm -rf "$prefix"
"$cmake" -S "$here/consumer" -B "$work/consumer-build" -DCMAKE_PREFIX_PATH="$moved" -DCMAKE_BUILD_TYPE=Release
"$cmake" --build "$work/consumer-build"
ldd "$work/consumer-build/consumer" | grep -F "libflowgen.so.$major => $moved/$libdir/" \
    || fail "the CMake consumer does not resolve libflowgen from $moved/$libdir (through its RPATH)"
"$work/consumer-build/consumer"
echo "c_install_consumers: OK"
