#!/usr/bin/env bash
# tests/bench/run.sh — `make bench`: citygridd's intake and dispatch rates next
# to the ceilings of what it is built from (a bare libevent HTTP server, raw
# SQLite inserts, raw ZeroMQ). See tests/bench/README.md for what each figure
# means.
#
# Environment: CG_BUILDDIR (set by `make bench`; CG_SRCDIR is not needed); BENCH_SECONDS (10)
# and BENCH_CONNECTIONS (64) per HTTP load; BENCH_CATEGORIES (street_stall);
# BENCH_CONFIG: a citygridd config to use instead of the generated one;
# BENCH_TMPDIR: where the state directory and the SQLite files go (default
# $TMPDIR or /tmp: put it on the disk you care about); BENCH_STRICT=1: exit 1
# when a goal is not met; BENCH_PROCESS_PLUGINS (sanitation): plugins run in
# process mode. Needs bash, curl and the sqlite3 CLI.
set -u

BUILDDIR=${CG_BUILDDIR:-$(pwd)}
SECONDS_PER_LOAD=${BENCH_SECONDS:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
CATEGORIES=${BENCH_CATEGORIES:-street_stall}
BENCHBIN=$BUILDDIR/tests/bench
# The Lishui dataset the daemon under test loads (grids for locate and for
# the POST load's points).
SRCDIR=${CG_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DATASET=$SRCDIR/contrib/lishui
DAEMON=$BUILDDIR/core/citygridd
PLUGINS="enforcement municipal sanitation market police volunteer"
PROCESS_PLUGINS=${BENCH_PROCESS_PLUGINS-sanitation}
RELOAD_LOAD_SECONDS=6      # the POST load during which enforcement is reloaded
RELOAD_AT="1.5 1.5 1.5"    # pauses before each reload (s): at 1.5, 3 and 4.5 s
GOAL_PROCESS_VS_THREAD=0.5
GOAL_INTAKE=0.5
GOAL_DISPATCH=0.9
GOAL_LOCATE=0.5

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

case $SECONDS_PER_LOAD in ''|*[!0-9]*) die "BENCH_SECONDS must be a whole number of seconds" ;; esac
case $CONNECTIONS in ''|*[!0-9]*) die "BENCH_CONNECTIONS must be a number" ;; esac
[ "$SECONDS_PER_LOAD" -ge 1 ] && [ "$SECONDS_PER_LOAD" -le 600 ] || die "BENCH_SECONDS must be 1..600"
for prog in raw_http raw_sqlite raw_zmq load_post; do
    [ -x "$BENCHBIN/$prog" ] || die "$BENCHBIN/$prog is not built (run 'make bench', which builds it)"
done
for tool in curl sqlite3; do
    command -v "$tool" >/dev/null || die "needs '$tool' on PATH"
done

WORK=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/citygrid-bench.XXXXXX") || die "cannot create a temporary directory"
RAW_HTTP_PID=
DAEMON_PID=

# Stop what we started (by pid), politely first; bounded waits only.
stop_pid() {
    local pid=$1 name=$2
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "$name did not stop within 15 s of SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    stop_pid "$RAW_HTTP_PID" raw_http
    stop_pid "$DAEMON_PID" citygridd
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# "name: value" from a file of such lines; "n/a" when absent.
field() { local v; v=$(sed -n "s/^$2: //p" "$1" | head -n1); printf '%s' "${v:-n/a}"; }
# a / b with 2 decimals, "n/a" unless both are numbers and b > 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a ~ /^[0-9.]+$/ && a + 0 >= b + 0) }'; }
now_ms() { date +%s%3N; }
# CPU seconds (user+system) a process has used so far; "n/a" without /proc.
cpu_s() {
    [ -r "/proc/$1/stat" ] || { printf 'n/a'; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
cpu_percent() {  # before after window_ms
    awk -v a="$1" -v b="$2" -v w="$3" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && w > 0) printf "%.0f", (b - a) * 100000 / w; else printf "n/a" }'
}

# One HTTP load: load_post URL OUTFILE [extra args...]
run_load() {
    local url=$1 out=$2
    shift 2
    "$BENCHBIN/load_post" --url "$url" --connections "$CONNECTIONS" \
        --seconds "$SECONDS_PER_LOAD" --categories "$CATEGORIES" "$@" >"$out" 2>"$out.err"
    local rc=$?
    [ $rc -eq 0 ] || say "load_post against $url: exit $rc: $(cat "$out.err")"
    return $rc
}

# One GET load with wrk: get_load URL OUTFILE [wrk args...]; prints req/s
# (or n/a). The Lua script walks the same points as the POST load, all
# inside the dataset's grids (raw_http ignores them).
LOCATE_LUA=$WORK/locate.lua
cat >"$LOCATE_LUA" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local lat = 28.43 + (n % 997) * 0.00004
  local lon = 119.90 + (math.floor(n / 997) % 991) * 0.00004
  return wrk.format("GET", string.format("/v1/grids/locate?lat=%.6f&lon=%.6f", lat, lon))
end
LUA
get_load() {
    local url=$1 out=$2
    shift 2
    if ! command -v wrk >/dev/null; then
        say "wrk not on PATH: GET loads not measured"
        printf 'n/a'
        return 0
    fi
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_LOAD}s" -s "$LOCATE_LUA" "$@" "$url" >"$out" 2>&1 ||
        say "wrk against $url failed: $(tail -n 3 "$out")"
    local rps
    rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    printf '%s' "${rps:-n/a}"
}
raw_http_get_rps=n/a locate_rps=n/a locate_non2xx=n/a

# ---------------------------------------------------------------- raw_http
say "raw_http: ${CONNECTIONS} connections, ${SECONDS_PER_LOAD} s"
"$BENCHBIN/raw_http" --listen 127.0.0.1:0 >"$WORK/raw_http.out" 2>"$WORK/raw_http.err" &
RAW_HTTP_PID=$!
RAW_PORT=
for _ in $(seq 1 50); do
    RAW_PORT=$(sed -n 's/^listening //p' "$WORK/raw_http.out")
    [ -n "$RAW_PORT" ] && break
    kill -0 "$RAW_HTTP_PID" 2>/dev/null || break
    sleep 0.1
done
[ -n "$RAW_PORT" ] || die "raw_http did not start: $(cat "$WORK/raw_http.err")"
raw_cpu0=$(cpu_s "$RAW_HTTP_PID"); t0=$(now_ms)
run_load "http://127.0.0.1:$RAW_PORT/v1/cases" "$WORK/load_raw.txt" \
    --header "Authorization: Bearer bench"
t1=$(now_ms); raw_cpu1=$(cpu_s "$RAW_HTTP_PID")
say "raw_http GET (wrk): ${CONNECTIONS} connections, ${SECONDS_PER_LOAD} s"
raw_http_get_rps=$(get_load "http://127.0.0.1:$RAW_PORT/" "$WORK/wrk_raw.txt")
stop_pid "$RAW_HTTP_PID" raw_http
RAW_HTTP_PID=
raw_http_rps=$(field "$WORK/load_raw.txt" req_per_s)
raw_http_p99=$(field "$WORK/load_raw.txt" latency_p99_ms)
raw_http_cpu=$(cpu_percent "$raw_cpu0" "$raw_cpu1" $((t1 - t0)))

# ---------------------------------------------------------------- citygridd
intake_rps=n/a intake_p50=n/a intake_p99=n/a intake_non2xx=n/a intake_errors=n/a
accepted_per_s=n/a outbox_after_load=n/a outbox_after_drain=n/a daemon_cpu=n/a
cases_after_load=n/a accepted_after_load=n/a
daemon_note=

# count(*) query on the daemon's database; "n/a" if the query fails.
db_count() {
    local v
    v=$(sqlite3 -cmd '.timeout 5000' "$STATE/citygrid.db" "$1" 2>>"$WORK/sqlite.err") || v=
    case $v in ''|*[!0-9]*) printf 'n/a' ;; *) printf '%s' "$v" ;; esac
}

write_config() {
    local cfg=$1 name so mode first=1
    {
        printf '# generated by tests/bench/run.sh\n'
        printf 'listen = "127.0.0.1:%s";\nstate_dir = "%s";\nlog_level = "warning";\n' "$PORT" "$STATE"
        printf 'dataset_dir = "%s";\n' "$DATASET"
        printf 'plugins = (\n'
        for name in $PLUGINS; do
            so=$BUILDDIR/plugins/$name/.libs/$name.so
            if [ ! -f "$so" ]; then
                say "plugin $name not built ($so): left out"
                continue
            fi
            [ $first -eq 1 ] || printf ',\n'
            first=0
            case " $PROCESS_PLUGINS " in *" $name "*) mode=process ;; *) mode=thread ;; esac
            printf '  { name = "%s"; path = "%s"; enabled = true; mode = "%s"; settings = { }; }' "$name" "$so" "$mode"
        done
        printf '\n);\n'
    } >"$cfg"
}

# The realistic mix (tests/bench/mix.h): a point per grid (its office) from the
# daemon's own registry, the categories by weight, 10% true duplicates. The
# weights are ours, not the plan's numbers (it gives none): street trading,
# parking and rubbish first, the ten disorders next, the rest rarer.
MIX=$WORK/mix.txt
write_mix() {
    sqlite3 -cmd '.timeout 5000' "$STATE/citygrid.db" \
        "SELECT 'point ' || office_lat || ' ' || office_lon FROM grids ORDER BY code" \
        >"$MIX" 2>>"$WORK/sqlite.err" || return 1
    [ -s "$MIX" ] || return 1
    cat >>"$MIX" <<'WEIGHTS'
duplicates 10
category street_stall 15
category outside_shop_trading 10
category illegal_parking 12
category sanitation 10
category dumping 8
category illegal_placement 6
category posting 6
category hanging 4
category municipal_facility 5
category landscaping 4
category graffiti 3
category splashing 3
category stringing 3
category illegal_structure 3
category illegal_building 2
category traffic_safety 2
category food_hygiene 2
category six_small_trades 2
WEIGHTS
}

run_daemon() {
    [ -x "$DAEMON" ] || { daemon_note="citygridd not built ($DAEMON)"; return 1; }
    STATE=$WORK/state
    mkdir -p "$STATE"
    PORT=$("$BENCHBIN/load_post" --free-port) || { daemon_note="no free port"; return 1; }
    local cfg=${BENCH_CONFIG:-$WORK/citygrid.cfg}
    [ -n "${BENCH_CONFIG:-}" ] || write_config "$cfg"
    say "citygridd: $DAEMON --config $cfg --listen 127.0.0.1:$PORT --state-dir $STATE"
    "$DAEMON" --config "$cfg" --listen "127.0.0.1:$PORT" --state-dir "$STATE" \
        >"$WORK/citygridd.log" 2>&1 &
    DAEMON_PID=$!
    local base=http://127.0.0.1:$PORT health=
    for _ in $(seq 1 150); do
        health=$(curl -fsS --max-time 1 "$base/v1/health" 2>/dev/null) && break
        health=
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$health" ]; then
        daemon_note="citygridd did not answer GET /v1/health within 15 s"
        say "$daemon_note; its log ends with:"; tail -n 20 "$WORK/citygridd.log" >&2
        return 1
    fi
    # Give the plugins up to 10 s to report READY before loading.
    local want ready
    want=$(grep -c '^  { name' "$cfg" 2>/dev/null || true)
    [ -n "${BENCH_CONFIG:-}" ] && want=0
    for _ in $(seq 1 100); do
        ready=$(printf '%s' "$health" | grep -o '"state" *: *"ready"' | wc -l)
        [ "$ready" -ge "$want" ] && break
        sleep 0.1
        health=$(curl -fsS --max-time 1 "$base/v1/health" 2>/dev/null) || health=
    done
    [ "$ready" -ge "$want" ] || say "only $ready of $want plugins ready; health says: $health"
    [ -s "$STATE/admin.token" ] || { daemon_note="no $STATE/admin.token"; say "$daemon_note"; return 1; }
    local token
    token=$(tr -d '\r\n' <"$STATE/admin.token")

    # One request by hand first: a load of 401s or 400s measures nothing.
    local probe code
    probe='{"category":"street_stall","lat":28.45,"lon":119.92,"description":"bench probe"}'
    code=$(curl -sS -o "$WORK/probe.json" -w '%{http_code}' --max-time 5 -X POST \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        --data "$probe" "$base/v1/cases" 2>&1)
    if [ "$code" != 201 ]; then
        daemon_note="probe POST /v1/cases answered $code: $(head -c 300 "$WORK/probe.json" 2>/dev/null)"
        say "$daemon_note"
        return 1
    fi

    if write_mix; then
        say "citygridd, the realistic mix ($(grep -c '^point' "$MIX") grids): ${CONNECTIONS} connections, ${SECONDS_PER_LOAD} s"
        local mcpu0 mcpu1 mw0 mw1
        mcpu0=$(cpu_s "$DAEMON_PID"); mw0=$(now_ms)
        run_load "$base/v1/cases" "$WORK/load_mix.txt" --header "Authorization: Bearer $token" --mix "$MIX"
        mw1=$(now_ms); mcpu1=$(cpu_s "$DAEMON_PID")
        mix_cpu=$(cpu_percent "$mcpu0" "$mcpu1" $((mw1 - mw0)))
        mix_rps=$(awk -v n="$(field "$WORK/load_mix.txt" status_201)" -v s="$(field "$WORK/load_mix.txt" seconds)" \
            'BEGIN { if (n ~ /^[0-9]+$/ && s > 0) printf "%.0f", n / s; else printf "n/a" }')
        mix_p50=$(field "$WORK/load_mix.txt" latency_p50_ms)
        mix_p99=$(field "$WORK/load_mix.txt" latency_p99_ms)
        mix_non2xx=$(field "$WORK/load_mix.txt" non_2xx)
        [ "$mix_non2xx" = 0 ] || say "the mix: $mix_non2xx answers other than 2xx: $(grep '^status_' "$WORK/load_mix.txt" | tr '\n' ' ')"
        for _ in $(seq 1 50); do  # let the plugins catch up before the next load
            [ "$(db_count "SELECT count(*) FROM outbox")" = 0 ] && break
            sleep 0.2
        done
    else
        say "no grids in $STATE/citygrid.db: the realistic mix not measured"
    fi

    say "citygridd, worst case (${CATEGORIES} in a 3 x 3 km square): ${CONNECTIONS} connections, ${SECONDS_PER_LOAD} s"
    local acc0 acc1 cpu0 cpu1 w0 w1
    acc0=$(db_count "SELECT count(*) FROM cases WHERE status = 'accepted'")
    cpu0=$(cpu_s "$DAEMON_PID"); w0=$(now_ms)
    run_load "$base/v1/cases" "$WORK/load_daemon.txt" --header "Authorization: Bearer $token"
    w1=$(now_ms); cpu1=$(cpu_s "$DAEMON_PID")
    acc1=$(db_count "SELECT count(*) FROM cases WHERE status = 'accepted'")
    outbox_after_load=$(db_count "SELECT count(*) FROM outbox")
    cases_after_load=$(db_count "SELECT count(*) FROM cases")
    accepted_after_load=$acc1
    daemon_cpu=$(cpu_percent "$cpu0" "$cpu1" $((w1 - w0)))
    if [ "$acc0" != n/a ] && [ "$acc1" != n/a ]; then
        accepted_per_s=$(awk -v a="$acc0" -v b="$acc1" -v w="$((w1 - w0))" 'BEGIN { printf "%.0f", (b - a) * 1000 / w }')
    else
        say "could not count accepted cases in $STATE/citygrid.db: $(tail -n 2 "$WORK/sqlite.err" 2>/dev/null)"
    fi
    # Intake counts what was durably accepted (201), over the load's own clock.
    local secs ok
    secs=$(field "$WORK/load_daemon.txt" seconds)
    ok=$(field "$WORK/load_daemon.txt" status_201)
    [ "$ok" = n/a ] && ok=0
    intake_rps=$(awk -v n="$ok" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else printf "n/a" }')
    intake_p50=$(field "$WORK/load_daemon.txt" latency_p50_ms)
    intake_p99=$(field "$WORK/load_daemon.txt" latency_p99_ms)
    intake_non2xx=$(field "$WORK/load_daemon.txt" non_2xx)
    intake_errors=$(field "$WORK/load_daemon.txt" errors)
    [ "$intake_non2xx" = 0 ] || [ "$intake_non2xx" = n/a ] ||
        say "citygridd answered $intake_non2xx requests with other than 2xx: $(grep '^status_' "$WORK/load_daemon.txt" | tr '\n' ' ')"
    # How much is still waiting for a plugin two seconds later.
    sleep 2
    outbox_after_drain=$(db_count "SELECT count(*) FROM outbox")
    # GET /v1/grids/locate under the same load as raw_http's GET.
    say "citygridd GET /v1/grids/locate (wrk): ${CONNECTIONS} connections, ${SECONDS_PER_LOAD} s"
    locate_rps=$(get_load "$base/" "$WORK/wrk_locate.txt" -H "Authorization: Bearer $token")
    locate_non2xx=$(awk '/Non-2xx/ { print $NF }' "$WORK/wrk_locate.txt")
    [ -z "$locate_non2xx" ] || say "locate answered $locate_non2xx requests with other than 2xx"
    reload_pause "$base" "$token"
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        daemon_note="citygridd exited during the load"
        say "$daemon_note; its log ends with:"; tail -n 20 "$WORK/citygridd.log" >&2
    fi
    stop_pid "$DAEMON_PID" citygridd
    DAEMON_PID=
    return 0
}
# Hot release under load: a POST load of street_stall reports (enforcement's
# category) for RELOAD_LOAD_SECONDS, POST /v1/plugins/enforcement/reload at
# the times in RELOAD_AT, then up to 10 s for the outbox to drain. The pause
# is read from the history timestamps (case_history.at, unix ms, written when
# the core applied each plugin result): the longest gap between consecutive
# accepts of enforcement cases that overlaps [first reload sent, last reload
# answered + 1 s], and for reference the longest gap in the steady load before
# the first reload.
reload_pause() {
    local base=$1 token=$2
    if ! grep -q '{ name = "enforcement"' "${BENCH_CONFIG:-$WORK/citygrid.cfg}" 2>/dev/null; then
        say "enforcement not configured: reload pause not measured"
        return 0
    fi
    say "reload under load: ${CONNECTIONS} connections, ${RELOAD_LOAD_SECONDS} s, enforcement reloaded at ${RELOAD_AT} s apart"
    local w0 w1 pid
    w0=$(now_ms)
    "$BENCHBIN/load_post" --url "$base/v1/cases" --connections "$CONNECTIONS" \
        --seconds "$RELOAD_LOAD_SECONDS" --categories street_stall \
        --header "Authorization: Bearer $token" >"$WORK/load_reload.txt" 2>"$WORK/load_reload.err" &
    pid=$!
    : >"$WORK/reloads.txt"
    local pause code r0 r1
    for pause in $RELOAD_AT; do
        sleep "$pause"
        r0=$(now_ms)
        code=$(curl -sS -o "$WORK/reload.json" -w '%{http_code}' --max-time 10 -X POST \
            -H "Authorization: Bearer $token" "$base/v1/plugins/enforcement/reload" 2>&1)
        r1=$(now_ms)
        printf '%s %s %s\n' "$r0" "$r1" "$code" >>"$WORK/reloads.txt"
        [ "$code" = 200 ] || say "reload answered $code: $(head -c 300 "$WORK/reload.json" 2>/dev/null)"
    done
    wait "$pid" || say "load_post during the reloads: $(cat "$WORK/load_reload.err")"
    w1=$(now_ms)
    # Bounded wait for the outbox to empty.
    local left=n/a
    for _ in $(seq 1 50); do
        left=$(db_count "SELECT count(*) FROM outbox")
        [ "$left" = 0 ] && break
        sleep 0.2
    done
    reload_outbox_after=$left
    reload_ok=$(awk '$3 == 200 { n++ } END { printf "%d/%d", n, NR }' "$WORK/reloads.txt")
    reload_unaccepted=$(db_count "SELECT count(*) FROM cases WHERE department = 'enforcement' AND status = 'dispatched'")
    reload_twice=$(db_count "SELECT count(*) FROM (SELECT h.case_id FROM case_history h WHERE h.action = 'accept' GROUP BY h.case_id HAVING count(*) > 1)")
    reload_cases=$(field "$WORK/load_reload.txt" status_201)
    local first_r last_r
    first_r=$(awk 'NR == 1 { print $1 }' "$WORK/reloads.txt")
    last_r=$(awk 'END { print $2 + 1000 }' "$WORK/reloads.txt")
    sqlite3 -cmd '.timeout 5000' "$STATE/citygrid.db" \
        "SELECT h.at FROM case_history h JOIN cases c ON c.id = h.case_id WHERE h.action = 'accept' AND c.department = 'enforcement' AND h.at >= $w0 ORDER BY h.at" \
        >"$WORK/reload_accepts.txt" 2>>"$WORK/sqlite.err"
    read -r reload_pause_ms reload_baseline_gap_ms reload_accepts < <(awk -v r0="$first_r" -v r1="$last_r" -v w0="$w0" '
        { if (NR > 1) { gap = $1 - prev
                        if ($1 > r0 && prev < r1) { if (gap > rmax) rmax = gap }
                        else if ($1 <= r0 && prev >= w0 + 200) { if (gap > bmax) bmax = gap } }
          prev = $1 }
        END { if (NR < 2) print "n/a n/a " NR; else printf "%d %d %d\n", rmax, bmax, NR }' "$WORK/reload_accepts.txt")
    say "reload: ${reload_ok} reloads answered 200, ${reload_accepts} enforcement accepts from $w0 to $w1"
}
reload_pause_ms=n/a reload_baseline_gap_ms=n/a reload_ok=n/a reload_unaccepted=n/a
reload_twice=n/a reload_outbox_after=n/a reload_cases=n/a reload_accepts=n/a

mix_rps=n/a mix_p50=n/a mix_p99=n/a mix_non2xx=n/a mix_cpu=n/a
daemon_ok=1
run_daemon || daemon_ok=0

# ---------------------------------------------------------------- instructions per report
# CPU instructions the daemon spends per durable report, counted by callgrind
# (instructions, not seconds: what a busy or a quiet machine does not move):
# citygridd restarted on the same state under valgrind, a warm-up, counters
# zeroed, INSTR_REQUESTS reports of the mix over 8 connections, the outbox
# drained (thread-mode plugins' work included), counters dumped.
INSTR_REQUESTS=${BENCH_INSTR_REQUESTS:-400}
instr_per_intake=n/a
count_instructions() {
    command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
        { say "valgrind not installed: instructions per report not counted"; return 0; }
    [ "$daemon_ok" = 1 ] && [ -s "$MIX" ] || return 0
    local cfg=${BENCH_CONFIG:-$WORK/citygrid.cfg} out=$WORK/callgrind.out base token pid
    PORT=$("$BENCHBIN/load_post" --free-port) || return 0
    base=http://127.0.0.1:$PORT
    valgrind --tool=callgrind --callgrind-out-file="$out.%p" --dump-instr=no --collect-atstart=yes \
        "$DAEMON" --config "$cfg" --listen "127.0.0.1:$PORT" --state-dir "$STATE" \
        >"$WORK/citygridd-callgrind.log" 2>&1 &
    DAEMON_PID=$!
    pid=$DAEMON_PID
    for _ in $(seq 1 1200); do  # up to 2 minutes: valgrind starts slowly
        curl -fsS --max-time 5 "$base/v1/health" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    token=$(tr -d '\r\n' <"$STATE/admin.token")
    say "instructions per report: citygridd under callgrind, $INSTR_REQUESTS reports of the mix"
    "$BENCHBIN/load_post" --url "$base/v1/cases" --connections 8 --seconds 300 --requests 40 \
        --header "Authorization: Bearer $token" --mix "$MIX" >"$WORK/instr_warm.txt" 2>&1
    callgrind_control -z "$pid" >/dev/null 2>&1
    "$BENCHBIN/load_post" --url "$base/v1/cases" --connections 8 --seconds 600 \
        --requests "$INSTR_REQUESTS" --header "Authorization: Bearer $token" --mix "$MIX" \
        >"$WORK/instr_load.txt" 2>&1
    for _ in $(seq 1 300); do
        [ "$(db_count "SELECT count(*) FROM outbox")" = 0 ] && break
        sleep 0.2
    done
    callgrind_control -d "$pid" >/dev/null 2>&1
    local ok ir
    ok=$(field "$WORK/instr_load.txt" status_201)
    ir=$(cat "$out.$pid".* 2>/dev/null | sed -n 's/^summary: *\([0-9]*\).*/\1/p' | tail -n 1)
    stop_pid "$DAEMON_PID" citygridd
    DAEMON_PID=
    if [ -n "$ir" ] && [ "$ok" != n/a ] && [ "$ok" -gt 0 ] 2>/dev/null; then
        instr_per_intake=$(awk -v i="$ir" -v n="$ok" 'BEGIN { printf "%.0f", i / n }')
    else
        say "instructions not counted (dump ${ir:-missing}, ${ok} reports answered 201)"
    fi
}
count_instructions

# ---------------------------------------------------------------- raw storage and bus
say "raw_sqlite (about 8 s)"
"$BENCHBIN/raw_sqlite" --dir "$WORK" --seconds 2 >"$WORK/raw_sqlite.txt" 2>"$WORK/raw_sqlite.err" ||
    say "raw_sqlite failed: $(cat "$WORK/raw_sqlite.err")"
say "raw_zmq (about 5 s)"
TMPDIR=$WORK "$BENCHBIN/raw_zmq" >"$WORK/raw_zmq.txt" 2>"$WORK/raw_zmq.err" ||
    say "raw_zmq failed: $(cat "$WORK/raw_zmq.err")"
# The real bus and plugin host per mode, right after raw ZeroMQ on the same
# transports. The echo test plugin (built by `make bench` when Check is
# there), else enforcement.
DSP=$WORK/dispatch.txt
: >"$DSP"
dispatch_plugin=$BUILDDIR/tests/plugins/.libs/echo.so
[ -f "$dispatch_plugin" ] || {
    dispatch_plugin=$BUILDDIR/plugins/enforcement/.libs/enforcement.so
    say "echo test plugin not built (no Check?): dispatch_bench hosts enforcement"
}
if [ -x "$BENCHBIN/dispatch_bench" ] && [ -f "$dispatch_plugin" ]; then
    say "dispatch_bench: thread/inproc, process/ipc, remote/tcp+CURVE (about 10 s)"
    "$BENCHBIN/dispatch_bench" --plugin "$dispatch_plugin" --plugind "$BUILDDIR/core/citygrid-plugind" \
        --dir "$WORK" --seconds 2 >"$DSP" 2>"$WORK/dispatch.err" ||
        say "dispatch_bench failed: $(cat "$WORK/dispatch.err")"
else
    say "dispatch_bench or its plugin not built: dispatch per mode not measured"
fi
process_vs_thread=$(field "$DSP" dispatch_process_vs_thread)
# Data-source queries (QUERY/ANSWER) per mode, the datahub plugin answering
# from its own SQLite file: beside the raw ZeroMQ round trip below.
QRY=$WORK/query.txt
: >"$QRY"
query_plugin=$BUILDDIR/plugins/datahub/.libs/datahub.so
if [ -x "$BENCHBIN/query_bench" ] && [ -f "$query_plugin" ]; then
    say "query_bench: thread/inproc, process/ipc, remote/tcp+CURVE (about 8 s)"
    "$BENCHBIN/query_bench" --plugin "$query_plugin" --sql "$SRCDIR/contrib/lishui/sources.sql" \
        --plugind "$BUILDDIR/core/citygrid-plugind" --dir "$WORK" --seconds 2 >"$QRY" 2>"$WORK/query.err" ||
        say "query_bench failed: $(cat "$WORK/query.err")"
else
    say "query_bench or the datahub plugin not built: queries per mode not measured"
fi

intake_vs_raw=$(ratio "$intake_rps" "$raw_http_rps")
mix_vs_raw=$(ratio "$mix_rps" "$raw_http_rps")
locate_vs_raw=$(ratio "$locate_rps" "$raw_http_get_rps")
locate_inproc=n/a
if [ -x "$BENCHBIN/locate_inproc" ]; then
    say "locate_inproc (about 3 s)"
    locate_inproc=$("$BENCHBIN/locate_inproc" "$DATASET" 2 2>"$WORK/locate_inproc.err" |
        sed -n 's/^locate_inproc_per_s: //p')
    [ -n "$locate_inproc" ] || { locate_inproc=n/a; say "locate_inproc failed: $(cat "$WORK/locate_inproc.err")"; }
fi
dispatch_vs_intake=$(ratio "$accepted_per_s" "$intake_rps")
# The monthly assessment over 1M synthetic cases (goal <= 1000 ms).
assess_member_ms=n/a
assess_grid_ms=n/a
if [ -x "$BENCHBIN/assessment_bench" ]; then
    say "assessment_bench (builds 1M cases, about 30 s)"
    "$BENCHBIN/assessment_bench" "$DATASET" "${ASSESS_CASES:-1000000}" "$WORK" \
        >"$WORK/assessment.txt" 2>"$WORK/assessment.err"
    assess_member_ms=$(sed -n 's/^monthly_report_1m_ms: //p' "$WORK/assessment.txt")
    assess_grid_ms=$(sed -n 's/^monthly_report_by_grid_1m_ms: //p' "$WORK/assessment.txt")
    [ -n "$assess_member_ms" ] || { assess_member_ms=n/a; assess_grid_ms=n/a; say "assessment_bench failed: $(cat "$WORK/assessment.err")"; }
fi
S=$WORK/raw_sqlite.txt
Z=$WORK/raw_zmq.txt

# ---------------------------------------------------------------- report
printf '\ncitygrid benchmark: %s connections, %s s per load, %s cores, categories %s\n' \
    "$CONNECTIONS" "$SECONDS_PER_LOAD" "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')" "$CATEGORIES"
printf '%-44s %14s  %s\n' figure value note
row() { printf '%-44s %14s  %s\n' "$1" "$2" "${3:-}"; }
row "raw_http POST req/s (ceiling)" "$raw_http_rps" "p99 ${raw_http_p99} ms, server cpu ${raw_http_cpu}%"
row "citygridd POST /v1/cases 201/s, the mix" "$mix_rps" "p50 ${mix_p50} ms, p99 ${mix_p99} ms, daemon cpu ${mix_cpu}%"
row "  mix intake / raw_http" "$mix_vs_raw" "goal >= $GOAL_INTAKE"
row "  instructions per report (callgrind)" "$instr_per_intake" "the mix, plugins' work included"
row "citygridd POST 201/s, worst case" "$intake_rps" "p50 ${intake_p50} ms, p99 ${intake_p99} ms, daemon cpu ${daemon_cpu}%"
row "  worst-case intake / raw_http" "$intake_vs_raw"
row "  non-2xx answers, connection errors" "$intake_non2xx, $intake_errors"
row "raw_http GET req/s (ceiling, wrk)" "$raw_http_get_rps"
row "citygridd GET /v1/grids/locate req/s" "$locate_rps" "wrk, points inside the grids"
row "  locate / raw_http GET" "$locate_vs_raw" "goal >= $GOAL_LOCATE"
row "locate in process, lookups/s" "$locate_inproc" "R*Tree + point in polygon"
row "citygridd cases accepted/s (same window)" "$accepted_per_s"
row "  accepted / intake" "$dispatch_vs_intake" "goal >= $GOAL_DISPATCH"
row "  cases, accepted after load" "$cases_after_load, $accepted_after_load"
row "  outbox rows after load, 2 s later" "$outbox_after_load, $outbox_after_drain"
row "SQLite FULL rows/s, 1 per commit" "$(field "$S" raw_sqlite_full_rows_per_s)"
row "SQLite FULL rows/s, 100 per commit" "$(field "$S" raw_sqlite_full_batch100_rows_per_s)"
row "SQLite NORMAL rows/s, 1 per commit" "$(field "$S" raw_sqlite_normal_rows_per_s)"
row "SQLite NORMAL rows/s, 100 per commit" "$(field "$S" raw_sqlite_normal_batch100_rows_per_s)"
for t in inproc ipc tcp; do
    case $t in inproc) m=thread ;; ipc) m=process ;; *) m=remote ;; esac
    row "ZeroMQ $t round trip us (p50, p99)" "$(field "$Z" raw_zmq_${t}_rtt_us)" "p99 $(field "$Z" raw_zmq_${t}_rtt_p99_us)"
    row "ZeroMQ $t msgs/s one way" "$(field "$Z" raw_zmq_${t}_msgs_per_s)"
    row "  bus+runtime $m mode round trip us" "$(field "$DSP" dispatch_${m}_rtt_us)" \
        "p99 $(field "$DSP" dispatch_${m}_rtt_p99_us)$([ $m = remote ] && echo ', CURVE (raw tcp is plain)')"
    row "  bus+runtime $m mode deliveries/s" "$(field "$DSP" dispatch_${m}_per_s)" \
        "credit $(field "$DSP" dispatch_credit), RESULT in, ACK out"
done
row "  dispatch process / thread" "$process_vs_thread" "goal >= $GOAL_PROCESS_VS_THREAD"
for m in thread process remote; do
    row "source queries/s, $m mode (32 in flight)" "$(field "$QRY" query_${m}_per_s)" \
        "round trip p50 $(field "$QRY" query_${m}_rtt_us) us, p99 $(field "$QRY" query_${m}_rtt_p99_us) us"
done
row "reload: longest accept pause ms" "$reload_pause_ms" "steady load before it: ${reload_baseline_gap_ms} ms; reloads ok ${reload_ok}"
row "  after reload load: unaccepted, outbox" "$reload_unaccepted, $reload_outbox_after" "cases ${reload_cases}, accepted twice ${reload_twice}"
[ -z "$daemon_note" ] || row "note" "" "$daemon_note"
echo

echo "intake_mix_req_per_s: $mix_rps"
echo "intake_mix_latency_p50_ms: $mix_p50"
echo "intake_mix_latency_p99_ms: $mix_p99"
echo "intake_mix_vs_raw_http: $mix_vs_raw"
echo "instructions_per_intake: $instr_per_intake"
echo "intake_req_per_s: $intake_rps"
echo "intake_latency_p50_ms: $intake_p50"
echo "intake_latency_p99_ms: $intake_p99"
echo "intake_non_2xx: $intake_non2xx"
echo "raw_http_req_per_s: $raw_http_rps"
echo "intake_vs_raw_http: $intake_vs_raw"
echo "dispatch_accepted_per_s: $accepted_per_s"
echo "raw_http_get_req_per_s: $raw_http_get_rps"
echo "locate_req_per_s: $locate_rps"
echo "locate_vs_raw_http: $locate_vs_raw"
echo "locate_inproc_per_s: $locate_inproc"
echo "monthly_report_1m_ms: $assess_member_ms"
echo "monthly_report_by_grid_1m_ms: $assess_grid_ms"
echo "dispatch_vs_intake: $dispatch_vs_intake"
echo "outbox_after_load: $outbox_after_load"
echo "outbox_after_drain_2s: $outbox_after_drain"
grep -E '^raw_(sqlite|zmq)_' "$S" "$Z" 2>/dev/null | sed 's/^[^:]*://'
grep -E '^dispatch_' "$DSP" 2>/dev/null | grep -v '^dispatch_process_vs_thread'
echo "dispatch_process_vs_thread: $process_vs_thread"
grep -E '^query_' "$QRY" 2>/dev/null
echo "reload_max_dispatch_pause_ms: $reload_pause_ms"
echo "reload_baseline_max_gap_ms: $reload_baseline_gap_ms"
echo "reload_requests_ok: $reload_ok"
echo "reload_unaccepted: $reload_unaccepted"
echo "reload_accepted_twice: $reload_twice"
echo "reload_outbox_after: $reload_outbox_after"

status=0
if [ "$daemon_ok" -ne 1 ] || [ "$mix_vs_raw" = n/a ] || [ "$dispatch_vs_intake" = n/a ]; then
    echo "goals: NOT MEASURED (${daemon_note:-citygridd figures missing})"
    status=1
elif ge "$mix_vs_raw" "$GOAL_INTAKE" && ge "$dispatch_vs_intake" "$GOAL_DISPATCH"; then
    echo "goals: MET (intake_mix_vs_raw_http $mix_vs_raw >= $GOAL_INTAKE, dispatch_vs_intake $dispatch_vs_intake >= $GOAL_DISPATCH)"
else
    echo "goals: NOT MET (intake_mix_vs_raw_http $mix_vs_raw, goal >= $GOAL_INTAKE; dispatch_vs_intake $dispatch_vs_intake, goal >= $GOAL_DISPATCH)"
    [ "${BENCH_STRICT:-0}" = 1 ] && status=1
fi
# The plugin runtime's goals: process mode at least half of thread
# mode's dispatch rate, and a reload under load leaves no case unaccepted.
if [ "$process_vs_thread" = n/a ] || [ "$reload_unaccepted" = n/a ]; then
    echo "goals_runtime: NOT MEASURED (dispatch_process_vs_thread $process_vs_thread, reload_unaccepted $reload_unaccepted)"
elif ge "$process_vs_thread" "$GOAL_PROCESS_VS_THREAD" && [ "$reload_unaccepted" = 0 ] && [ "$reload_outbox_after" = 0 ]; then
    echo "goals_runtime: MET (dispatch_process_vs_thread $process_vs_thread >= $GOAL_PROCESS_VS_THREAD, reload_unaccepted 0, outbox empty)"
else
    echo "goals_runtime: NOT MET (dispatch_process_vs_thread $process_vs_thread, goal >= $GOAL_PROCESS_VS_THREAD; reload_unaccepted $reload_unaccepted, outbox $reload_outbox_after, goal 0)"
    [ "${BENCH_STRICT:-0}" = 1 ] && status=1
fi
exit $status
