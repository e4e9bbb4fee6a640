#!/usr/bin/env bash
# test-package.sh BUILD_DIR — the Debian package, end to end: `make deb` in
# BUILD_DIR (a configured build of this tree), lintian with no errors,
# install both packages, check the user and the 0700 state directory, run
# /usr/sbin/citygridd with /etc/citygrid/citygrid.cfg on a free loopback port
# as the citygrid user, report a case, stop it, and purge the packages.
#
# Skips (exit 77, with the reason) where it cannot run: not root, no
# dpkg-buildpackage, debhelper or lintian, or a citygrid package already
# installed that it must not replace.
set -euo pipefail
build=${1:?usage: test-package.sh BUILD_DIR}
build=$(cd "$build" && pwd)
skip() { echo "SKIP: Debian package test: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root (installs and purges the package)"
for tool in dpkg-buildpackage dh lintian curl; do
    command -v "$tool" >/dev/null || skip "$tool not found (Debian packages dpkg-dev, debhelper, lintian, curl)"
done
if dpkg-query -W -f='${Status}' citygrid 2>/dev/null | grep -q 'install ok installed'; then
    skip "a citygrid package is installed already; not replacing it"
fi

log=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    dpkg --purge citygrid citygrid-dev >/dev/null 2>&1 || true
    rm -rf "$log"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $log/daemon.log ]] && tail -n 30 "$log/daemon.log"; exit 1; }

echo "== make deb"
# CG_DEB_PREBUILT=1: test the packages a previous `make deb` left in deb-build/.
if [[ ${CG_DEB_PREBUILT:-0} != 1 ]]; then
    make -C "$build" deb >"$log/deb.log" 2>&1 || { tail -n 60 "$log/deb.log"; fail "make deb"; }
fi
debs=("$build"/deb-build/citygrid_*.deb "$build"/deb-build/citygrid-dev_*.deb)
((${#debs[@]} >= 2)) || fail "make deb made ${#debs[@]} package(s): ${debs[*]}"
ls -1 "${debs[@]}"

echo "== lintian"
lint_rc=0
lintian --fail-on error "${debs[@]}" >"$log/lintian.log" 2>&1 || lint_rc=$?
grep -v '^running with root privileges' "$log/lintian.log" || true
((lint_rc == 0)) || fail "lintian reports errors (exit $lint_rc)"

echo "== install"
dpkg -i "${debs[@]}" >"$log/install.log" 2>&1 || { cat "$log/install.log"; fail "dpkg -i"; }
getent passwd citygrid >/dev/null || fail "no citygrid user"
[[ $(stat -c '%a %U' /var/lib/citygrid) == "700 citygrid" ]] ||
    fail "/var/lib/citygrid is $(stat -c '%a %U' /var/lib/citygrid), not 700 citygrid"
for f in /usr/sbin/citygridd /usr/sbin/citygridctl /usr/sbin/citygrid-plugind /etc/citygrid/citygrid.cfg \
         /usr/include/citygrid/plugin.h /lib/systemd/system/citygridd.service; do
    [[ -e $f ]] || fail "$f is not installed"
done
ls /etc/citygrid/plugins.d/*.cfg >/dev/null || fail "no plugins.d files"
man -w citygridd >/dev/null 2>&1 || [[ -e /usr/share/man/man8/citygridd.8.gz ]] || fail "no citygridd(8)"
pkg-config --exists citygrid-plugin || fail "pkg-config does not find citygrid-plugin"

echo "== citygridd --check-config"
/usr/sbin/citygridd --check-config --config /etc/citygrid/citygrid.cfg || fail "the installed config does not check"

echo "== run it as citygrid on a free loopback port"
setpriv --reuid=citygrid --regid=citygrid --init-groups /usr/sbin/citygridd --config /etc/citygrid/citygrid.cfg --listen 127.0.0.1:0 \
    >"$log/daemon.log" 2>&1 &
pid=$!
port=
for _ in $(seq 600); do   # up to 60 s on a busy machine
    port=$(sed -n 's/.*serving http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log/daemon.log" | head -n 1)
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || fail "citygridd exited"
    sleep 0.1
done
[[ -n $port ]] || fail "citygridd did not start serving"
token=$(cat /var/lib/citygrid/admin.token)
code=$(curl -s -o "$log/case.json" -w '%{http_code}' -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d '{"category":"street_stall","lat":28.45,"lon":119.92,"description":"package test"}' \
    "http://127.0.0.1:$port/v1/cases")
[[ $code == 201 ]] || fail "POST /v1/cases: $code $(cat "$log/case.json")"
grep -q '"id"' "$log/case.json" || fail "no case id in $(cat "$log/case.json")"
kill -TERM "$pid"
wait "$pid" || fail "citygridd did not shut down cleanly"
pid=

echo "== purge"
dpkg --purge citygrid citygrid-dev >"$log/purge.log" 2>&1 || { cat "$log/purge.log"; fail "dpkg --purge"; }
[[ ! -e /var/lib/citygrid && ! -e /etc/citygrid && ! -e /usr/sbin/citygridd ]] || fail "purge left files behind"
echo "PASS: Debian package built, lintian-clean, installed, served a report, purged"
