#!/usr/bin/env bash
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# check_layers.sh — core/'s layering stays true: a file in core/LAYER/ may
# include headers of its own layer and of the layers below it, never above.
# The order is the table at the top of core/README.md (one source of truth):
# its rows "| `LAYER/` | ..." from bottom to top. Programs (daemon, ctl,
# plugind) share the top rank and may not include one another.
set -euo pipefail
src=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
readme="$src/core/README.md"
mapfile -t layers < <(sed -n 's/^| `\([a-z]*\)\/` |.*/\1/p' "$readme")
((${#layers[@]} >= 5)) || { echo "FAIL: no layer table in $readme"; exit 1; }
declare -A rank
r=0
for l in "${layers[@]}"; do
    case $l in daemon|ctl|plugind) rank[$l]=100 ;; *) rank[$l]=$((r++)) ;; esac
done
bad=0
for dir in "$src"/core/*/; do
    layer=$(basename "$dir")
    [[ -n ${rank[$layer]:-} ]] || { echo "FAIL: core/$layer/ is not in the layer table of core/README.md"; bad=1; continue; }
    for f in "$dir"*.[ch]; do
        [[ -f $f ]] || continue
        while IFS=: read -r line inc; do
            target=${inc%%/*}
            if [[ $inc != */* ]]; then
                echo "FAIL: core/$layer/$(basename "$f"):$line includes \"$inc\": name its layer (\"LAYER/$inc\")"; bad=1; continue
            fi
            [[ -n ${rank[$target]:-} ]] || { echo "FAIL: core/$layer/$(basename "$f"):$line includes \"$inc\": no such layer"; bad=1; continue; }
            if [[ $target != "$layer" ]] && (( rank[$target] >= rank[$layer] )); then
                echo "FAIL: core/$layer/$(basename "$f"):$line includes \"$inc\": $target/ is not below $layer/"; bad=1
            fi
        done < <(grep -n '^#include "' "$f" | sed -E 's/^([0-9]+):#include "([^"]+)".*/\1:\2/')
    done
done
# SQL belongs to the store and the domain: no sqlite3_ in http/ or the programs.
for l in http daemon ctl plugind; do
    [[ -d $src/core/$l ]] || continue
    if hits=$(grep -n 'sqlite3\(_\|\.h\)' "$src"/core/$l/*.[ch] 2>/dev/null); then
        echo "FAIL: SQLite named above the domain (core/$l/):"; echo "$hits" | sed "s#^#  #"; bad=1
    fi
done
if ((bad)); then echo "layering: FAIL"; exit 1; fi
echo "layering: ${#layers[@]} layers, every include points down"
