#!/bin/sh
# test_config_man.sh — citygrid.cfg(5) is built from the config schema: the
# page documents every key that `citygridd --config-schema=scdoc` declares,
# and is clean under `mandoc -T lint` (tests/ops/test_man.sh lints every
# page; this one also fails when this page was not built).
#
# Run by `make check` (CG_BUILDDIR comes from the Makefile). Exit 77
# (skipped, with the reason) when scdoc or mandoc is not installed.
set -eu

: "${CG_BUILDDIR:?run by make check}"
page=$CG_BUILDDIR/contrib/man/citygrid.cfg.5
if ! command -v mandoc >/dev/null 2>&1; then
    echo "SKIP: mandoc is not installed (Debian package mandoc): cannot read citygrid.cfg(5)" >&2
    exit 77
fi
if [ ! -f "$page" ]; then
    if ! command -v scdoc >/dev/null 2>&1; then
        echo "SKIP: scdoc is not installed (Debian package scdoc): citygrid.cfg(5) was not built" >&2
        exit 77
    fi
    echo "FAIL: $page was not built (scdoc is installed: run configure again?)" >&2
    exit 1
fi

fails=0
out=$(mandoc -T lint "$page" 2>&1) || true
if [ -n "$out" ]; then
    echo "FAIL: mandoc -T lint citygrid.cfg.5:" >&2
    echo "$out" >&2
    fails=$((fails + 1))
fi

# Every key of the schema, as the reader of the page sees it (bold removed).
text=$(mandoc -T ascii -O width=250 "$page" | sed "s/.\x08//g")
keys=$("$CG_BUILDDIR/core/citygridd" --config-schema=scdoc | sed -n 's/^\*\(.*\)\*$/\1/p' | sed 's/\\_/_/g')
nkeys=0
for key in $keys; do
    nkeys=$((nkeys + 1))
    if ! printf '%s\n' "$text" | grep -qxF "       $key"; then
        echo "FAIL: citygrid.cfg(5) does not document $key" >&2
        fails=$((fails + 1))
    fi
done
[ "$nkeys" -ge 40 ] || { echo "FAIL: the schema printed only $nkeys keys" >&2; fails=$((fails + 1)); }
for key in listen bus.heartbeat_ms escalation.city.routes[].body plugins[].mode \
           assessment.weights.closure_rate http.max_connections console.dir; do
    printf '%s\n' "$keys" | grep -qxF "$key" || { echo "FAIL: the schema lacks $key" >&2; fails=$((fails + 1)); }
done
echo "citygrid.cfg(5) documents $nkeys keys"
[ "$fails" -eq 0 ] || exit 1
