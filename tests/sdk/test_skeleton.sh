#!/bin/sh
# test_skeleton.sh — the plugin SDK works for an outside author: install
# citygrid into a temporary root (make install DESTDIR=...), build a copy of
# contrib/plugin-skeleton out of tree against ONLY that installed SDK
# (pkg-config finds nothing else), run its own tests, install it into the
# SDK's plugindir, and load the installed health.so with citygridd's real
# loader and host (tests/sdk/load_plugin). Any failing step fails the test.
#
# Run by `make check` (CG_BUILDDIR, CG_SRCDIR and CG_MAKE come from the
# Makefile). Works under `make distcheck`: the source tree is read-only, so
# everything happens in a temporary directory. Exit 77 (skipped) only when
# autoreconf is not installed.
set -eu

: "${CG_BUILDDIR:?run by make check}"
: "${CG_SRCDIR:?run by make check}"
make_cmd=${CG_MAKE:-make}

if ! command -v autoreconf >/dev/null 2>&1; then
    echo "SKIP: autoreconf is not installed (apt-get install autoconf automake libtool):" \
         "cannot build contrib/plugin-skeleton" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cg-skeleton.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
root=$tmp/root            # the installed citygrid, as DESTDIR
skel=$tmp/plugin-skeleton

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "make install DESTDIR=$root (citygrid's own install rules)"
# The jobserver of the make running the tests is not ours to use.
(cd "$CG_BUILDDIR" && MAKEFLAGS= $make_cmd install DESTDIR="$root") >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log" >&2; fail "make install"; }
header=$(find "$root" -path '*/include/citygrid/plugin.h' | head -n 1)
pc=$(find "$root" -name citygrid-plugin.pc | head -n 1)
[ -n "$header" ] || fail "no citygrid/plugin.h installed under $root"
[ -n "$pc" ] || fail "no citygrid-plugin.pc installed under $root"
echo "installed $header"
echo "installed $pc"

# Only the installed SDK is visible to pkg-config. The .pc holds the
# configured prefix; the sysroot maps it into the DESTDIR tree.
PKG_CONFIG_LIBDIR=$(dirname "$pc")
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=$root
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
pkg-config --print-errors --exists 'citygrid-plugin >= 0.1' || fail "pkg-config cannot use $pc"
echo "pkg-config: citygrid-plugin $(pkg-config --modversion citygrid-plugin)," \
     "cflags '$(pkg-config --cflags citygrid-plugin)'," \
     "plugindir $(pkg-config --variable=plugindir citygrid-plugin)"

step "copy contrib/plugin-skeleton out of the source tree"
cp -R "$CG_SRCDIR/contrib/plugin-skeleton" "$skel"
chmod -R u+w "$skel"   # distcheck's source tree is read-only, and so the copy

cd "$skel"
step "autoreconf -fi"
autoreconf -fi >"$tmp/autoreconf.log" 2>&1 || { cat "$tmp/autoreconf.log" >&2; fail "autoreconf"; }

step "configure (SDK from pkg-config only)"
# Plain flags: the skeleton is an outside project, not built with our
# sanitizers (an ASan-built .so cannot be dlopened by a program without ASan;
# the other way round is fine).
./configure --quiet CFLAGS="-O1 -g" >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" config.log >&2; fail "configure"; }
cflags=$(sed -n 's/^CITYGRID_CFLAGS = //p' Makefile)
case "$cflags" in
    *"$root"*) ;;
    *) fail "CITYGRID_CFLAGS '$cflags' does not point into the installed tree $root" ;;
esac
plugindir=$(sed -n 's/^plugindir = //p' Makefile)
[ -n "$plugindir" ] || fail "configure set no plugindir"

step "make && make check"
MAKEFLAGS= make >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make"; }
MAKEFLAGS= make check >"$tmp/check.log" 2>&1 ||
    { cat "$tmp/check.log" tests/*.log >&2 2>/dev/null; fail "make check of the skeleton"; }
grep '^# PASS: *1$' "$tmp/check.log" >/dev/null || { cat "$tmp/check.log" >&2; fail "skeleton test did not pass"; }

step "make install into plugindir ($plugindir)"
# pkgconf puts the sysroot in front of variables (plugindir is already in
# $root); freedesktop pkg-config does not (install with DESTDIR then).
case "$plugindir" in
    "$root"/*) dest= ; installed=$plugindir/health.so ;;
    *) dest=$root ; installed=$root$plugindir/health.so ;;
esac
MAKEFLAGS= make install DESTDIR="$dest" >"$tmp/install-skel.log" 2>&1 ||
    { cat "$tmp/install-skel.log" >&2; fail "make install of the skeleton"; }
[ -f "$installed" ] || fail "health.so not installed at $installed"

step "exported symbols: only citygrid_plugin_*"
if command -v nm >/dev/null 2>&1; then
    exported=$(nm -D --defined-only "$installed" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sort)
    expected=$(printf 'citygrid_plugin_abi\ncitygrid_plugin_describe')
    [ "$exported" = "$expected" ] || fail "health.so exports: $exported"
fi

step "load $installed with citygridd's loader and host"
case_json='{"id":"C00000042","dispatch_id":"D00000042","category":"public_toilet_hygiene",
"department":"health","grid":"33110200100101","lat":28.45,"lon":119.92,"has_location":true,
"description":"公厕无人保洁","source":"citizen","level":"grid","reporter":"M001",
"needs_penalty":false,"sla_hours":24,"reported_at":1700000000,
"members":[{"id":"M020","name":"周洁","role":"professional","open_cases":2},
           {"id":"M021","name":"吴刚","role":"fulltime","open_cases":0}],"extra":{}}'
"$CG_BUILDDIR/tests/sdk/load_plugin" "$installed" "$case_json" >"$tmp/load.log" 2>&1 ||
    { cat "$tmp/load.log" >&2; fail "load_plugin"; }
cat "$tmp/load.log"
expect() { grep -F -x -- "$1" "$tmp/load.log" >/dev/null || fail "load_plugin did not print '$1'"; }
abi=$(sed -n 's/^#define CITYGRID_ABI_MAJOR \([0-9]*\)$/\1/p' "$header").$(sed -n 's/^#define CITYGRID_ABI_MINOR \([0-9]*\)$/\1/p' "$header")
expect "loaded health 1.0.0 department health abi $abi"
expect "init ok"
expect "handle rc 0"
expect "action accept"
expect "action assign M020"
expect "action deadline 1700086400"
expect "action note 卫生健康执法 accepted; assigned to M020 周洁"
echo "PASS: the skeleton builds out of tree against the installed SDK and loads"
