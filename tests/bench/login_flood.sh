#!/usr/bin/env bash
# tests/bench/login_flood.sh — `make bench-login`: how fast /v1/health stays
# while logins flood citygridd, and how much memory oversized bodies cost it.
# Not a test: it prints figures (README.md, "Logins and oversized bodies").
#
# Environment: CG_BUILDDIR (set by make), BENCH_SECONDS (10) per phase,
# BENCH_LOGIN_CLIENTS (12) flooding connections, BENCH_BODY_CLIENTS (48) and
# BENCH_BODY_BYTES (9961472 = 9.5 MiB) for the bodies, BENCH_TMPDIR.
set -u

BUILDDIR=${CG_BUILDDIR:-$(pwd)}
SRCDIR=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_LOGIN_CLIENTS:-12}
BODY_CLIENTS=${BENCH_BODY_CLIENTS:-48}
BODY_BYTES=${BENCH_BODY_BYTES:-9961472}
DAEMON=$BUILDDIR/core/citygridd
FLOOD=$BUILDDIR/tests/bench/login_flood
FREE_PORT=$BUILDDIR/tests/bench/load_post

say() { printf 'bench-login: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
[ -x "$DAEMON" ] || die "$DAEMON is not built"
[ -x "$FLOOD" ] && [ -x "$FREE_PORT" ] || die "run 'make bench-login' (builds login_flood and load_post)"
command -v curl >/dev/null || die "needs curl"

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/citygrid-bench-login.XXXXXX") || die "no temporary directory"
PID=
cleanup() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
    fi
    [ -n "$PID" ] && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kB from /proc/PID/status: VmRSS (now) or VmHWM (the peak so far).
mem_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

PORT=$("$FREE_PORT" --free-port) || die "no free port"
mkdir -p "$WORK/state"
cat >"$WORK/citygrid.cfg" <<EOF
listen = "127.0.0.1:$PORT";
state_dir = "$WORK/state";
log_level = "error";
dataset_dir = "$SRCDIR/contrib/lishui";
EOF
"$DAEMON" --config "$WORK/citygrid.cfg" >"$WORK/citygridd.log" 2>&1 &
PID=$!
up=
for _ in $(seq 1 300); do
    curl -fsS --max-time 1 "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 && { up=1; break; }
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$up" ] || { tail -n 20 "$WORK/citygridd.log" >&2; die "citygridd did not come up"; }
say "citygridd pid $PID on port $PORT; phases of ${SECS}s"

run() {  # name args...: login_flood's lines, prefixed with the phase's name
    local name=$1
    shift
    "$FLOOD" --port "$PORT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" ||
        say "$name: login_flood failed: $(cat "$WORK/$name.err")"
    sed "s/^/${name}_/" "$WORK/$name.out"
}
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$PID/stat"; }

echo "rss_start_kb: $(mem_kb "$PID" VmRSS)"
echo "hwm_start_kb: $(mem_kb "$PID" VmHWM)"  # the first start imports the dataset
run idle --mode health --seconds "$SECS"
# The bodies first: argon2id's 64 MiB per check would hide them in VmHWM.
run bodies --mode bodies --clients "$BODY_CLIENTS" --body-bytes "$BODY_BYTES"
echo "rss_after_bodies_kb: $(mem_kb "$PID" VmRSS)"
echo "hwm_after_bodies_kb: $(mem_kb "$PID" VmHWM)"
c0=$(cpu)
run throttled --mode flood --seconds "$SECS" --clients "$CLIENTS"
c1=$(cpu)
echo "throttled_daemon_cpu_percent: $(awk -v a="$c0" -v b="$c1" -v s="$SECS" 'BEGIN { printf "%.0f", (b - a) * 100 / s }')"
run argon2 --mode flood --seconds "$SECS" --clients "$CLIENTS" --spread
c2=$(cpu)
echo "argon2_daemon_cpu_percent: $(awk -v a="$c1" -v b="$c2" -v s="$SECS" 'BEGIN { printf "%.0f", (b - a) * 100 / s }')"
# Checks still queued when the flood stops go on for a while: each holds
# 64 MiB while it runs (http.password_workers of them at once).
echo "rss_after_logins_kb: $(mem_kb "$PID" VmRSS)"
echo "hwm_after_logins_kb: $(mem_kb "$PID" VmHWM)"
curl -fsS --max-time 5 "http://127.0.0.1:$PORT/v1/health" >/dev/null 2>&1 &&
    echo "health_after: 200" || echo "health_after: failed"
exit 0
