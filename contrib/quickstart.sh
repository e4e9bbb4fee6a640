#!/usr/bin/env bash
# citygrid quick start: the README's two commands.
#
#   contrib/quickstart.sh run    install what is missing, build, and run citygridd
#                                in the foreground on 127.0.0.1:8080 (SQLite, every
#                                department plugin)
#   contrib/quickstart.sh test   install what is missing, build with AddressSanitizer
#                                and UBSan, run the whole test suite, then `make distcheck`
#
# Works as root on a fresh Debian 12 (uses sudo for apt-get otherwise).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

packages=(build-essential autoconf automake libtool pkg-config
          libevent-dev libzmq3-dev libsqlite3-dev libconfig-dev libjansson-dev
          libsodium-dev check sqlite3 curl wrk
          libssl-dev openssl   # TLS on the listener; its test makes a certificate
          libsystemd-dev systemd prometheus scdoc mandoc  # sd_notify, systemd-analyze, promtool, man pages
          debhelper lintian    # make deb and its test
          libjs-leaflet libjs-chart.js    # the console's map and charts, served by citygridd
          chromium chromium-driver python3-selenium fonts-wqy-microhei   # the browser tests
          libcurl4-openssl-dev libxml-simple-perl libwww-perl libxml2-utils)  # Open311 tests, bridge

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_missing() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

bootstrap() {
    if [[ ! -x configure || configure.ac -nt configure || Makefile.am -nt Makefile.in ]]; then
        say "autoreconf"
        autoreconf -fi
    fi
}

# run: an in-tree build, so that etc/citygrid.cfg finds the plugins `make` built.
cmd_run() {
    install_missing
    bootstrap
    if [[ ! -f config.status ]]; then
        say "configure"
        ./configure --quiet
    fi
    say "make"
    make -j"$jobs" --no-print-directory >/dev/null
    local state="$top/.citygrid-state"
    cat <<MSG

citygridd is starting on http://127.0.0.1:8080 with SQLite in $state
and every department plugin (etc/citygrid.cfg, etc/plugins.d/).
The admin token is written to $state/admin.token on first start. Try:

  curl -s -H "Authorization: Bearer \$(cat $state/admin.token)" \\
       -H 'Content-Type: application/json' \\
       -d '{"category":"street_stall","lat":28.45,"lon":119.92,"description":"stall on the pavement"}' \\
       http://127.0.0.1:8080/v1/cases

Stop it with Ctrl-C.
MSG
    exec core/citygridd --config etc/citygrid.cfg --listen 127.0.0.1:8080 --state-dir "$state"
}

# One line per Check program, then the plain total that CI reads.
summarize_checks() {
    local passed=0 failed=0 line n f e result
    for log in "$1"/tests/*/*.log; do
        [[ -f $log ]] || continue
        line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$log" | tail -n 1 || true)
        if [[ -z $line ]]; then
            # Not a Check program (a shell test): count its automake result.
            result=$(sed -n 's/^:test-result: //p' "${log%.log}.trs" 2>/dev/null | head -n 1)
            echo "$(basename "${log%.log}"): ${result:-no result (crashed?)}"
            case $result in
                PASS) passed=$((passed + 1)) ;;
                SKIP) ;;
                *) failed=$((failed + 1)) ;;
            esac
            continue
        fi
        echo "$(basename "${log%.log}"): $line"
        read -r n f e < <(sed -E 's/.*Checks: ([0-9]+), Failures: ([0-9]+), Errors: ([0-9]+).*/\1 \2 \3/' <<<"$line")
        passed=$((passed + n - f - e)); failed=$((failed + f + e))
    done
    check_total="check: $passed passed, $failed failed"
    echo "$check_total"
}
check_total=""


# test: out-of-tree builds, so the sanitizer build never mixes with `run`'s.
cmd_test() {
    install_missing
    bootstrap
    if [[ -f config.status ]]; then
        say "the source tree has an in-tree build (from 'run'): cleaning it for out-of-tree builds"
        make distclean >/dev/null 2>&1 || rm -f config.status
    fi
    local asan="$top/_build/asan" dist="$top/_build/dist"
    mkdir -p "$asan" "$dist"

    say "build with AddressSanitizer + UBSan, warnings as errors"
    (cd "$asan" && { [[ -f config.status ]] || "$top/configure" --quiet --enable-sanitizers --enable-werror; } &&
        make -j"$jobs" --no-print-directory >/dev/null)

    say "make check (sanitizers on)"
    local rc=0
    (cd "$asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
        make -j"$jobs" check --no-print-directory) || rc=$?
    for log in "$asan"/tests/*/*.log; do
        [[ -f $log ]] || continue
        if grep -q '^FAIL\|^ERROR' "${log%.log}.trs" 2>/dev/null; then
            echo "---- $log"; tail -n 60 "$log"
        fi
    done
    summarize_checks "$asan"
    ((rc == 0)) || { echo "make check failed"; return "$rc"; }

    say "make distcheck (plain build from the tarball, tests again)"
    (cd "$dist" && { [[ -f config.status ]] || "$top/configure" --quiet; } &&
        make -j"$jobs" distcheck --no-print-directory >"$dist/distcheck.log" 2>&1) || {
        tail -n 80 "$dist/distcheck.log"; echo "make distcheck failed"; return 1; }
    grep -E '^(PASS|FAIL|ERROR|# )' "$dist/distcheck.log" | tail -n 20 || true

    # The Debian package end to end; it skips (77, saying why) where it
    # cannot run, e.g. without root.
    say "Debian package: make deb, lintian, install, serve a report, purge"
    local deb_rc=0
    bash "$top/contrib/debian/test-package.sh" "$dist" || deb_rc=$?
    if ((deb_rc != 0 && deb_rc != 77)); then echo "Debian package test failed"; return 1; fi
    say "all tests passed"
    echo "$check_total"
}

case "${1:-}" in
    run) cmd_run ;;
    test) cmd_test ;;
    *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac
