#!/bin/sh
# test_cli.sh — citygridd's command line without a running service:
# --help and --version answer, and --check-config validates a config (the
# file, its plugins.d files, key files, catalog and city routes) without
# starting: exit 0 with "FILE: ok", or exit 1 with FILE:LINE: what is wrong
# on stderr, and nothing created in the state directory.
#
# Run by `make check` (CG_BUILDDIR and CG_SRCDIR come from the Makefile).
set -eu

: "${CG_BUILDDIR:?run by make check}"
: "${CG_SRCDIR:?run by make check}"
daemon=$CG_BUILDDIR/core/citygridd
ctl=$CG_BUILDDIR/core/citygridctl

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cg-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tmp=$(cd "$tmp" && pwd -P) # the loader reports real paths
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run ARGS...: sets rc, out (stdout) and err (stderr)
run() {
    set +e
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    set -e
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# expect_bad FILE LINE NEEDLE: --check-config refuses FILE naming FILE:LINE:
expect_bad() {
    run "$daemon" --check-config --config "$1"
    [ "$rc" -eq 1 ] || fail "$1: exit $rc, not 1 (stderr: $err)"
    case $err in
    "$2"*"$3"*) ;;
    *) fail "$1: stderr '$err' does not start with '$2' and name '$3'" ;;
    esac
    [ -z "$out" ] || fail "$1: printed '$out' on stdout for a bad config"
}

echo "== --help and --version"
run "$daemon" --help
[ "$rc" -eq 0 ] || fail "--help exits $rc"
for word in --config --check-config --listen --state-dir --log-level --version; do
    case $out in *"$word"*) ;; *) fail "--help does not mention $word" ;; esac
done
run "$daemon" --version
[ "$rc" -eq 0 ] || fail "--version exits $rc"
echo "$out" | grep -Eq '^citygridd [0-9]+\.[0-9]+' || fail "--version printed '$out'"
run "$daemon" --no-such-flag
[ "$rc" -eq 2 ] || fail "an unknown flag exits $rc, not 2"
run "$daemon" --check-config
[ "$rc" -eq 2 ] || fail "--check-config without --config exits $rc, not 2"

echo "== the shipped config is ok"
run "$daemon" --check-config --config "$CG_SRCDIR/etc/citygrid.cfg"
[ "$rc" -eq 0 ] || fail "etc/citygrid.cfg: exit $rc: $err"
[ "$out" = "$CG_SRCDIR/etc/citygrid.cfg: ok" ] || fail "etc/citygrid.cfg: printed '$out'"

echo "== a good config is checked without starting"
mkdir "$tmp/plugins.d" "$tmp/keys"
"$ctl" keygen "$tmp/keys/core" >/dev/null
"$ctl" keygen "$tmp/keys/market" >/dev/null
cat >"$tmp/good.cfg" <<EOF
listen = "127.0.0.1:1";
state_dir = "state";
dataset_dir = "";
bus = { remote_bind = "tcp://127.0.0.1:1"; server_key = "keys/core.key";
        clients = ( { department = "market"; key = "keys/market.pub"; } ); };
routes = ( { category = "noise"; department = "eco"; sla_hours = 8.0; } );
escalation = { city = { routes = ( { category = "noise"; body = "civilisation_office"; } ); }; };
plugin_conf_dir = "plugins.d";
EOF
cat >"$tmp/plugins.d/market.cfg" <<EOF
plugin = { name = "market"; mode = "remote"; department = "market"; };
EOF
run "$daemon" --check-config --config "$tmp/good.cfg"
[ "$rc" -eq 0 ] || fail "good.cfg: exit $rc: $err"
[ "$out" = "$tmp/good.cfg: ok" ] || fail "good.cfg: printed '$out'"
[ ! -e "$tmp/state" ] || fail "--check-config created the state directory"

echo "== every kind of mistake names its file and line"
printf 'listen = "127.0.0.1:1";\n\nlisen = "x";\n' >"$tmp/typo.cfg"
expect_bad "$tmp/typo.cfg" "$tmp/typo.cfg:3: " "unknown setting 'lisen'"
printf 'bus = {\n  heartbeat_ms = 5;\n};\n' >"$tmp/range.cfg"
expect_bad "$tmp/range.cfg" "$tmp/range.cfg:2: " "heartbeat_ms"
sed 's/keys\/market.pub/keys\/nowhere.pub/' "$tmp/good.cfg" >"$tmp/nokey.cfg"
expect_bad "$tmp/nokey.cfg" "$tmp/nokey.cfg:5: " "nowhere.pub"
sed 's/category = "noise"; body/category = "nois"; body/' "$tmp/good.cfg" >"$tmp/cityroute.cfg"
expect_bad "$tmp/cityroute.cfg" "$tmp/cityroute.cfg:7: " "no category 'nois'"
sed 's/category = "noise"; department = "eco"; sla_hours = 8.0;/category = "noise";/' \
    "$tmp/good.cfg" >"$tmp/route.cfg"
expect_bad "$tmp/route.cfg" "$tmp/route.cfg:6: " "names no 'department'"
mkdir "$tmp/p2.d"
printf '# police\nplugin = { name = "police"; path = "nowhere.so"; required = true; };\n' \
    >"$tmp/p2.d/police.cfg"
printf 'plugin_conf_dir = "p2.d";\n' >"$tmp/required.cfg"
expect_bad "$tmp/required.cfg" "$tmp/p2.d/police.cfg:2: " "nowhere.so"
printf 'plugin = { name = "police"; path = "nowhere.so"; mode = "fast"; };\n' >"$tmp/p2.d/police.cfg"
expect_bad "$tmp/required.cfg" "$tmp/p2.d/police.cfg:1: " "mode 'fast'"
# A plugin that is not required only warns: start-up would skip it.
printf 'plugin = { name = "police"; path = "nowhere.so"; };\n' >"$tmp/p2.d/police.cfg"
run "$daemon" --check-config --config "$tmp/required.cfg"
[ "$rc" -eq 0 ] || fail "a missing optional plugin: exit $rc: $err"
case $err in *"police.cfg:1: warning"*nowhere.so*) ;; *) fail "no warning for nowhere.so: '$err'" ;; esac
run "$daemon" --check-config --config "$tmp/missing.cfg"
[ "$rc" -eq 1 ] || fail "a missing file: exit $rc"
case $err in "$tmp/missing.cfg:"*) ;; *) fail "a missing file: '$err'" ;; esac

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "citygridd command line: ok"
