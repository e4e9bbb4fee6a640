#!/usr/bin/env bash
# test_systemd_unit.sh — contrib/systemd/citygridd.service passes
# `systemd-analyze verify` with nothing to say. verify exits 0 on warnings,
# so ANY output fails the test. The unit is filled in with this build's
# citygridd (verify checks that ExecStart= and ExecStartPre= are executable);
# --man=no because the man pages it names are installed, not looked up here.
set -euo pipefail
src=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${CG_BUILDDIR:-$src}
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze not found (Debian package systemd)"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unit=$tmp/citygridd.service
sed -e "s|@sbindir@|$build/core|g" -e "s|@sysconfdir@|$tmp/etc|g" -e "s|@localstatedir@|$tmp/var|g" \
    "$src/contrib/systemd/citygridd.service.in" > "$unit"
grep -q '@' "$unit" && { echo "FAIL: unfilled @...@ left in the unit:"; grep -n '@' "$unit"; exit 1; }
# The properties the service relies on are there.
for want in '^Type=notify$' '^ExecStartPre=.*citygridd --check-config --config ' \
            '^ExecReload=/bin/kill -HUP \$MAINPID$' '^ProtectSystem=strict$' '^ReadWritePaths=' \
            '^NoNewPrivileges=yes$' '^PrivateTmp=yes$' '^CapabilityBoundingSet=$' '^WatchdogSec=' '^User=citygrid$'; do
    grep -q -- "$want" "$unit" || { echo "FAIL: the unit lacks $want"; exit 1; }
done
out=$(cd "$tmp" && systemd-analyze verify --man=no "$unit" 2>&1) || { echo "FAIL: verify exit $?: $out"; exit 1; }
if [[ -n $out ]]; then
    echo "FAIL: systemd-analyze verify has something to say:"; echo "$out"; exit 1
fi
echo "PASS: systemd-analyze verify: nothing to say"
