#!/usr/bin/env bash
# c_exports_match_header: the dynamic symbols defined by libflowgen.so are exactly the functions
# declared in flowgen.h (and all of them are functions); nothing else is exported except the linker's
# version node(s).
#   exports_match_header.sh <flowgen.h> <libflowgen.so> [cc] [nm]
set -euo pipefail
header=${1:?flowgen.h}
lib=${2:?libflowgen.so}
cc=${3:-cc}
nm=${4:-nm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Declared functions: preprocess (drops comments, keeps declarations), join lines, then take every
# fg_ identifier directly followed by "(". Function-pointer typedefs such as
# "typedef int32_t (*fg_progress_fn)(...)" have ")" after the name and are not matched.
"$cc" -E -P -x c "$header" | tr '\n' ' ' | grep -oE '\bfg_[A-Za-z0-9_]+[[:space:]]*\(' \
    | sed -E 's/[[:space:]]*\($//' | sort -u > "$work/declared"
[[ -s $work/declared ]] || { echo "no fg_ functions found in $header" >&2; exit 1; }

# Exported: defined dynamic symbols with global binding (nm prints local ones in lower case, except
# u/v/w/i which are global kinds), without version suffixes (name@@NODE).
"$nm" -D --defined-only "$lib" > "$work/nm"
awk '{ print $(NF-1), $NF }' "$work/nm" | sed -E 's/@.*$//' > "$work/all"
awk '$1 ~ /^[A-Zuvwi]$/' "$work/all" > "$work/typed"
awk '$1 !~ /^[A-Zuvwi]$/ { print "  " $1, $2 }' "$work/all" > "$work/local"
if [[ -s $work/local ]]; then
    echo "note: $(wc -l < "$work/local") local (not exported) symbols sit in .dynsym:"
    cat "$work/local"
fi
# Linker version nodes are absolute symbols named like the node in the version script (e.g. FLOWGEN_0).
grep -vE '^A [A-Z][A-Z0-9_]*$' "$work/typed" | awk '{ print $2 }' | sort -u > "$work/exported"
awk '$1 == "A" { print $2 }' "$work/typed" | grep -vE '^[A-Z][A-Z0-9_]*$' >> "$work/exported" || true
sort -u -o "$work/exported" "$work/exported"

status=0
echo "declared in $(basename "$header"): $(wc -l < "$work/declared") functions; exported: $(wc -l < "$work/exported") symbols"
missing=$(comm -23 "$work/declared" "$work/exported")
extra=$(comm -13 "$work/declared" "$work/exported")
if [[ -n $missing ]]; then
    echo "FAIL: declared in the header but not exported by the library:" >&2
    echo "$missing" | sed 's/^/  /' >&2
    status=1
fi
if [[ -n $extra ]]; then
    echo "FAIL: exported by the library but not declared in the header:" >&2
    echo "$extra" | sed 's/^/  /' >&2
    status=1
fi
non_fg=$(grep -vE '^fg_' "$work/exported" || true)
if [[ -n $non_fg ]]; then
    echo "FAIL: non-fg_ symbols are exported:" >&2
    echo "$non_fg" | sed 's/^/  /' >&2
    status=1
fi
# Every declared name must be exported as code (T), not data.
not_code=$(awk '$1 != "T" && $2 ~ /^fg_/ { print $1, $2 }' "$work/typed" || true)
if [[ -n $not_code ]]; then
    echo "FAIL: fg_ symbols that are not functions in the text section:" >&2
    echo "$not_code" | sed 's/^/  /' >&2
    status=1
fi
[[ $status == 0 ]] && echo "OK: exports match the header"
exit $status
