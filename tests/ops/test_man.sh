#!/usr/bin/env bash
# test_man.sh — every man page the build made is clean under `mandoc -T lint`
# (no message at any level), and the pages the project promises are there.
set -euo pipefail
src=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CG_BUILDDIR:-$src}
if ! command -v mandoc >/dev/null; then
    echo "SKIP: mandoc not found (Debian package mandoc)"; exit 77
fi
if ! command -v scdoc >/dev/null; then
    echo "SKIP: scdoc not found (Debian package scdoc): no man pages were built"; exit 77
fi
bad=0
for page in citygridd.8 citygridctl.8 citygrid-plugind.8 citygrid-plugin.7; do
    [[ -f $build/contrib/man/$page ]] || { echo "FAIL: contrib/man/$page was not built"; bad=1; }
done
n=0
for page in "$build"/contrib/man/*.[1-8]; do
    [[ -f $page ]] || continue
    n=$((n + 1))
    out=$(mandoc -T lint "$page" 2>&1) || true
    if [[ -n $out ]]; then echo "FAIL: mandoc -T lint $(basename "$page"):"; echo "$out"; bad=1; fi
done
((bad == 0)) || exit 1
echo "PASS: $n man page(s) lint clean"
