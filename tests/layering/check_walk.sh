#!/usr/bin/env bash
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# check_walk.sh — core/README.md's walk stays true: every `layer/file.c:function`
# it names is a function (or a table) defined in that file.
set -euo pipefail
src=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
readme="$src/core/README.md"
bad=0 n=0
while read -r ref; do
    file=${ref%%:*} fn=${ref##*:}
    n=$((n + 1))
    if [[ ! -f $src/core/$file ]]; then
        echo "FAIL: core/README.md names core/$file, which does not exist"; bad=1; continue
    fi
    # a definition: the name at the start of a declarator, followed by ( or [
    if ! grep -Eq "^[a-zA-Z_].*[ *]$fn(\(|\[)|^$fn\(" "$src/core/$file"; then
        echo "FAIL: core/README.md names $file:$fn, which core/$file does not define"; bad=1
    fi
done < <(grep -oE '`[a-z]+/[a-z_]+\.c:[a-zA-Z_0-9]+`' "$readme" | tr -d '`' | sort -u)
((n > 10)) || { echo "FAIL: the walk in core/README.md names only $n functions"; exit 1; }
((bad == 0)) || { echo "walk: FAIL"; exit 1; }
echo "walk: $n file:function references, all defined"
