/*
 * dispatch_bench.c — `make bench`: the real bus (core/wire/bus.c) and the real
 * plugin host (core/wire/runtime.c, citygrid-plugind) with nothing else in the
 * way: no HTTP, no SQLite. The core side is a cg_bus in a libevent loop with
 * 3 priorities (as citygridd has) whose result handler calls
 * cg_bus_complete() at once (no store), so the figures are about the
 * transport and the plugin host only.
 *
 *   dispatch_bench --plugin SO [--plugind PATH] [--modes thread,process,remote]
 *                  [--dir DIR] [--seconds S] [--roundtrips N] [--credit N]
 *
 * The same plugin .so (the echo test plugin in `make bench`) is hosted
 *   thread   by cg_runtime_start in this process, over inproc;
 *   process  by citygrid-plugind (started here, like core/host/supervisor.c does)
 *            over ipc in DIR;
 *   remote   by citygrid-plugind over tcp on 127.0.0.1 with CURVE: fresh keys
 *            in DIR (core/lib/curvekeys.h), the bus's ZAP handler (core/wire/zap.h)
 *            holding the plugin's public key.
 * For each mode:
 *   round trip  one delivery in flight: cg_bus_enqueue -> on_result, median
 *               and p99 over N (default 3000, at most S seconds), µs;
 *   throughput  a window of 2 x credit deliveries held by the bus (so the
 *               plugin always has `credit` in flight), deliveries completed
 *               (RESULT received, ACK sent) per second over S seconds (default
 *               2, at most 1,000,000 deliveries).
 * Then every delivery must have come back exactly once (the bus holds none).
 *
 * Prints "name: value" lines (dispatch_MODE_per_s, dispatch_MODE_rtt_us,
 * dispatch_MODE_rtt_p99_us, dispatch_process_vs_thread). Every wait is
 * bounded; a mode that fails prints "dispatch_MODE_per_s: error" and the
 * exit status is 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "conf/config.h"
#include "wire/bus.h"
#include "lib/curvekeys.h"
#include "wire/loader.h"
#include "lib/log.h"
#include "wire/runtime.h"
#include "wire/zap.h"

#define READY_TIMEOUT_S 15
#define PHASE_SLACK_S 10      /* a phase that makes no progress this long fails */
#define WARMUP_ROUNDTRIPS 200
#define MAX_DELIVERIES 1000000ULL

typedef enum { PH_WAIT_READY, PH_LATENCY, PH_THROUGHPUT, PH_DRAIN } phase;

typedef struct bench {
    struct event_base *base;
    cg_bus *bus;
    const char *department;
    const char *want_mode;       /* what READY must say */
    phase ph;
    int ready, done, failed, timed_out;
    pid_t child;                 /* citygrid-plugind, 0 in thread mode or once reaped */
    char why[256];
    /* counts for the current phase */
    unsigned long long enqueued, completed, limit;
    size_t window;
    uint64_t deadline_ns, t_start, t_end, t_sent;
    uint64_t *samples;
    size_t n_samples, max_samples;
    int warmup_left;
    /* totals over the mode, to check nothing was lost or doubled */
    unsigned long long total_enqueued, total_results;
} bench;

static unsigned long long next_dispatch = 1; /* ids unique over the whole run */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A dispatch payload shaped like the one cases.c builds (~520 bytes), so the
 * bus and the runtime parse what they parse in citygridd. */
static void enqueue_one(bench *b)
{
    unsigned long long n = next_dispatch++;
    char payload[1024];
    cg_dispatch d;
    memset(&d, 0, sizeof d);
    d.seq = (int64_t)n;
    snprintf(d.id, sizeof d.id, "D%08llu", n);
    snprintf(d.case_id, sizeof d.case_id, "C%08llu", n);
    snprintf(d.department, sizeof d.department, "%s", b->department);
    snprintf(payload, sizeof payload,
             "{\"id\":\"%s\",\"dispatch_id\":\"%s\",\"category\":\"street_stall\","
             "\"department\":\"%s\",\"grid\":\"33110200100101\",\"lat\":28.4512,"
             "\"lon\":119.9236,\"has_location\":true,\"description\":\"bench: a stall "
             "blocking the pavement at the east gate of the market\",\"source\":\"patrol\","
             "\"level\":\"grid\",\"reporter\":\"M00009\",\"needs_penalty\":false,"
             "\"sla_hours\":2,\"reported_at\":1764000000,\"members\":[{\"id\":\"M00001\","
             "\"name\":\"Zhang San\",\"role\":\"fulltime\",\"open_cases\":3},{\"id\":"
             "\"M00002\",\"name\":\"Li Si\",\"role\":\"fulltime\",\"open_cases\":1}],"
             "\"extra\":{}}",
             d.case_id, d.id, b->department);
    d.payload = payload; /* the bus copies it */
    b->enqueued++;
    b->total_enqueued++;
    b->t_sent = now_ns();
    cg_bus_enqueue(b->bus, &d);
}

static void finish(bench *b)
{
    b->done = 1;
    b->t_end = now_ns();
    event_base_loopbreak(b->base);
}

static int on_ready(void *arg, const cg_bus_peer_info *peer, char *why, size_t whylen)
{
    bench *b = arg;
    if (strcmp(peer->department, b->department) != 0) {
        snprintf(why, whylen, "this bench serves department %s only", b->department);
        return -1;
    }
    if (!peer->mode || strcmp(peer->mode, b->want_mode) != 0) {
        b->failed = 1;
        snprintf(b->why, sizeof b->why, "the plugin says mode '%s', expected '%s'",
                 peer->mode ? peer->mode : "", b->want_mode);
    }
    b->ready = 1;
    if (b->ph == PH_WAIT_READY)
        event_base_loopbreak(b->base);
    return 0;
}

static void on_result(void *arg, const char *plugin, const char *dispatch_id, const char *body)
{
    bench *b = arg;
    uint64_t t = now_ns();
    b->total_results++;
    cg_bus_complete(b->bus, dispatch_id); /* no store: committed at once */
    if (b->done)
        return;
    switch (b->ph) {
    case PH_LATENCY:
        b->completed++;
        if (b->warmup_left > 0)
            b->warmup_left--;
        else if (b->n_samples < b->max_samples)
            b->samples[b->n_samples++] = t - b->t_sent;
        if (b->n_samples >= b->max_samples || t >= b->deadline_ns)
            finish(b);
        else
            enqueue_one(b);
        break;
    case PH_THROUGHPUT:
        b->completed++;
        if (b->completed >= b->limit || t >= b->deadline_ns)
            finish(b);
        else if (b->enqueued < b->limit)
            enqueue_one(b);
        break;
    case PH_DRAIN:
        if (cg_bus_pending(b->bus, b->department) == 0)
            finish(b);
        break;
    default:
        break;
    }
}

static void on_dead_letter(void *arg, const char *dispatch_id, const char *department,
                           const char *reason)
{
    bench *b = arg;
    b->failed = 1;
    snprintf(b->why, sizeof b->why, "%s became a dead letter: %s", dispatch_id, reason);
    event_base_loopbreak(b->base);
}

static void on_phase_limit(evutil_socket_t fd, short what, void *arg)
{
    bench *b = arg;
    b->timed_out = 1;
    event_base_loopbreak(b->base);
}

/* A host process that died fails the phase at once instead of at its limit. */
static void on_child_check(evutil_socket_t fd, short what, void *arg)
{
    bench *b = arg;
    int st;
    if (b->child > 0 && waitpid(b->child, &st, WNOHANG) == b->child) {
        b->child = 0;
        b->failed = 1;
        snprintf(b->why, sizeof b->why, "citygrid-plugind %s %d",
                 WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        event_base_loopbreak(b->base);
    }
}

/* Run the loop until the phase is done, or fail after `limit_s`. */
static int run_phase(bench *b, double limit_s, const char *what)
{
    struct timeval tv = {.tv_sec = (time_t)limit_s,
                         .tv_usec = (suseconds_t)((limit_s - (double)(time_t)limit_s) * 1e6)};
    struct timeval tick = {.tv_sec = 0, .tv_usec = 200000};
    struct event *limit = evtimer_new(b->base, on_phase_limit, b);
    struct event *check = event_new(b->base, -1, EV_PERSIST, on_child_check, b);
    b->timed_out = 0;
    if (!limit || !check || evtimer_add(limit, &tv) < 0 || event_add(check, &tick) < 0) {
        snprintf(b->why, sizeof b->why, "%s: cannot add a timer", what);
        if (limit)
            event_free(limit);
        if (check)
            event_free(check);
        return -1;
    }
    while (!b->failed && !b->timed_out && !b->done && !(b->ph == PH_WAIT_READY && b->ready))
        if (event_base_loop(b->base, EVLOOP_ONCE) < 0)
            break;
    event_free(limit);
    event_free(check);
    if (b->failed)
        return -1;
    if (b->timed_out || !(b->done || (b->ph == PH_WAIT_READY && b->ready))) {
        snprintf(b->why, sizeof b->why, "%s: not done within %.0f s (%llu of %llu answered)",
                 what, limit_s, b->completed, b->enqueued);
        return -1;
    }
    return 0;
}

static void start_phase(bench *b, phase ph, double seconds)
{
    b->ph = ph;
    b->done = 0;
    b->enqueued = b->completed = 0;
    b->t_start = now_ns();
    b->deadline_ns = b->t_start + (uint64_t)(seconds * 1e9);
}

typedef struct mode_result {
    double per_s, rtt_median_us, rtt_p99_us;
} mode_result;

/* Both phases on a bus whose peer is up. */
static int measure(bench *b, double seconds, int roundtrips, unsigned credit, mode_result *r)
{
    /* Round trip: one in flight, the next enqueued from the result handler. */
    b->max_samples = (size_t)roundtrips;
    b->samples = calloc(b->max_samples, sizeof *b->samples);
    if (!b->samples)
        return -1;
    b->n_samples = 0;
    b->warmup_left = WARMUP_ROUNDTRIPS;
    start_phase(b, PH_LATENCY, seconds);
    enqueue_one(b);
    if (run_phase(b, seconds + PHASE_SLACK_S, "round trips") < 0 || b->n_samples < 10) {
        if (!b->why[0])
            snprintf(b->why, sizeof b->why, "only %zu round trips measured", b->n_samples);
        return -1;
    }
    qsort(b->samples, b->n_samples, sizeof *b->samples, cmp_u64);
    r->rtt_median_us = (double)b->samples[b->n_samples / 2] / 1000.0;
    r->rtt_p99_us = (double)b->samples[(size_t)((double)b->n_samples * 0.99)] / 1000.0;

    /* Throughput: keep `window` deliveries in the bus until the time is up. */
    b->window = 2 * (size_t)credit;
    b->limit = MAX_DELIVERIES;
    start_phase(b, PH_THROUGHPUT, seconds);
    for (size_t i = 0; i < b->window; i++)
        enqueue_one(b);
    if (run_phase(b, seconds + PHASE_SLACK_S, "throughput") < 0)
        return -1;
    r->per_s = (double)b->completed / ((double)(b->t_end - b->t_start) / 1e9);

    /* What is still in flight comes back, once. */
    start_phase(b, PH_DRAIN, PHASE_SLACK_S);
    if (cg_bus_pending(b->bus, b->department) > 0 &&
        run_phase(b, PHASE_SLACK_S, "draining") < 0)
        return -1;
    if (b->total_results != b->total_enqueued) {
        snprintf(b->why, sizeof b->why, "%llu deliveries enqueued, %llu results",
                 b->total_enqueued, b->total_results);
        return -1;
    }
    return 0;
}

/* citygrid-plugind as core/host/supervisor.c starts it: dies with us, execs at once. */
static pid_t spawn(char *const argv[])
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void stop_child(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) { /* up to 3 s */
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A TCP port free on 127.0.0.1 right now (the bus cannot bind port 0 and
 * tell us which it got). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

typedef struct setup {
    const char *plugin_so, *plugind, *dir;
    void *zmq_ctx;
    struct event_base *base;
    cg_loaded_plugin *lp;
    double seconds;
    int roundtrips;
    unsigned credit;
} setup;

static int bench_mode(const setup *s, const char *mode, mode_result *r, char *why, size_t whylen)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.base = s->base;
    b.department = s->lp->desc->department;
    b.want_mode = mode;
    char endpoint[512], credit[16], core_prefix[512], dept_prefix[512], core_pub[520],
        dept_key[520], err[640] = "";
    snprintf(credit, sizeof credit, "%u", s->credit);
    cg_config defaults; /* the bus as an empty citygrid.cfg sets it */
    cg_config_defaults(&defaults);
    cg_bus_options bo = {.heartbeat_ms = defaults.bus.heartbeat_ms, .heartbeat_misses = 3,
                         .lease_ms = defaults.bus.lease_ms,
                         .retry_base_ms = defaults.bus.retry_base_ms,
                         .retry_max_ms = defaults.bus.retry_max_ms,
                         .max_attempts = defaults.bus.max_attempts};
    cg_config_free(&defaults);
    cg_bus_handlers h = {.on_ready = on_ready, .on_result = on_result,
                         .on_dead_letter = on_dead_letter};
    const char *eps[1];
    cg_curve_keys core_keys, dept_keys;
    cg_zap_client client;
    cg_runtime *rt = NULL;
    int rc = -1;

    if (!strcmp(mode, "thread")) {
        snprintf(endpoint, sizeof endpoint, "inproc://dispatch-bench-%ld", (long)getpid());
    } else if (!strcmp(mode, "process")) {
        snprintf(endpoint, sizeof endpoint, "ipc://%s/dispatch-bench.%ld.sock", s->dir,
                 (long)getpid());
    } else {
        int port = free_port();
        snprintf(core_prefix, sizeof core_prefix, "%s/bench-core-%ld", s->dir, (long)getpid());
        snprintf(dept_prefix, sizeof dept_prefix, "%s/bench-dept-%ld", s->dir, (long)getpid());
        snprintf(core_pub, sizeof core_pub, "%s.pub", core_prefix);
        snprintf(dept_key, sizeof dept_key, "%s.key", dept_prefix);
        char core_key[520];
        snprintf(core_key, sizeof core_key, "%s.key", core_prefix);
        if (port <= 0 || cg_curve_keys_generate(core_prefix, err, sizeof err) < 0 ||
            cg_curve_keys_generate(dept_prefix, err, sizeof err) < 0 ||
            cg_curve_keys_read(core_key, 1, &core_keys, err, sizeof err) < 0 ||
            cg_curve_keys_read(dept_key, 1, &dept_keys, err, sizeof err) < 0) {
            snprintf(why, whylen, "remote: keys or port: %.500s", err[0] ? err : "no free port");
            return -1;
        }
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
        client.public_key = dept_keys.public_key;
        client.department = b.department;
        bo.remote_endpoint = endpoint;
        bo.curve_secret_key = core_keys.secret_key;
        bo.clients = &client;
        bo.n_clients = 1;
    }
    /* The bus always binds a local endpoint (citygridd's inproc one); in
     * remote mode nothing connects to it. */
    char local[128];
    snprintf(local, sizeof local, "inproc://dispatch-bench-local-%ld", (long)getpid());
    eps[0] = bo.remote_endpoint ? local : endpoint;
    bo.endpoints = eps;
    bo.n_endpoints = 1;
    b.bus = cg_bus_new(s->base, s->zmq_ctx, &bo, &h, &b, err, sizeof err);
    if (!b.bus) {
        snprintf(why, whylen, "%s", err);
        goto out;
    }

    if (!strcmp(mode, "thread")) {
        cg_runtime_options ro = {
            .zmq_ctx = s->zmq_ctx, .endpoint = endpoint, .plugin = s->lp->desc,
            .abi = s->lp->abi, .settings_json = "{}", .mode = "thread",
            .credit = s->credit, .heartbeat_ms = 1000, .instance = "bench-thread",
        };
        rt = cg_runtime_start(&ro, err, sizeof err);
        if (!rt) {
            snprintf(why, whylen, "cg_runtime_start: %.500s", err);
            goto out;
        }
    } else {
        char *argv[16];
        int n = 0;
        argv[n++] = (char *)s->plugind;
        argv[n++] = "--plugin";
        argv[n++] = (char *)s->plugin_so;
        argv[n++] = "--endpoint";
        argv[n++] = endpoint;
        argv[n++] = "--credit";
        argv[n++] = credit;
        argv[n++] = "--log-level";
        argv[n++] = "warning";
        if (bo.remote_endpoint) {
            argv[n++] = "--server-key";
            argv[n++] = core_pub;
            argv[n++] = "--key";
            argv[n++] = dept_key;
        }
        argv[n] = NULL;
        b.child = spawn(argv);
        if (b.child < 0) {
            b.child = 0;
            snprintf(why, whylen, "fork: %s", strerror(errno));
            goto out;
        }
    }

    b.ph = PH_WAIT_READY;
    if (run_phase(&b, READY_TIMEOUT_S, "READY") < 0 || !b.ready) {
        snprintf(why, whylen, "%s", b.why[0] ? b.why : "the plugin did not say READY");
        goto out;
    }
    if (measure(&b, s->seconds, s->roundtrips, s->credit, r) < 0) {
        snprintf(why, whylen, "%s", b.why);
        goto out;
    }
    rc = 0;
out:
    if (rt)
        cg_runtime_stop(rt);
    stop_child(b.child); /* 0 when it was already reaped */
    if (b.bus)
        cg_bus_free(b.bus);
    free(b.samples);
    if (!strcmp(mode, "process"))
        unlink(endpoint + 6); /* libzmq 4.3 leaves the socket file behind */
    if (!strcmp(mode, "remote")) {
        explicit_bzero(&core_keys, sizeof core_keys);
        explicit_bzero(&dept_keys, sizeof dept_keys);
        char path[540];
        const char *prefixes[2] = {core_prefix, dept_prefix};
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s.pub", prefixes[i]);
            unlink(path);
            snprintf(path, sizeof path, "%s.key", prefixes[i]);
            unlink(path);
        }
    }
    return rc;
}

static void usage(FILE *to, const char *prog)
{
    fprintf(to,
            "usage: %s --plugin SO [--plugind PATH] [--modes thread,process,remote]\n"
            "          [--dir DIR] [--seconds S] [--roundtrips N] [--credit N]\n",
            prog);
}

int main(int argc, char **argv)
{
    setup s = {.dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", .seconds = 2.0,
               .roundtrips = 3000, .credit = 64};
    char modes[64] = "thread,process,remote";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            usage(stdout, argv[0]);
            return 0;
        }
        if (!v) {
            usage(stderr, argv[0]);
            return 2;
        }
        i++;
        if (!strcmp(a, "--plugin"))
            s.plugin_so = v;
        else if (!strcmp(a, "--plugind"))
            s.plugind = v;
        else if (!strcmp(a, "--dir"))
            s.dir = v;
        else if (!strcmp(a, "--modes"))
            snprintf(modes, sizeof modes, "%s", v);
        else if (!strcmp(a, "--seconds"))
            s.seconds = atof(v);
        else if (!strcmp(a, "--roundtrips"))
            s.roundtrips = atoi(v);
        else if (!strcmp(a, "--credit"))
            s.credit = (unsigned)atoi(v);
        else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (!s.plugin_so || s.seconds < 0.1 || s.seconds > 60 || s.roundtrips < 100 ||
        s.roundtrips > 1000000 || s.credit < 1 || s.credit > 10000) {
        fprintf(stderr, "dispatch_bench: --plugin is required; --seconds 0.1..60, "
                        "--roundtrips 100..1000000, --credit 1..10000\n");
        usage(stderr, argv[0]);
        return 2;
    }
    cg_log_set_level(CITYGRID_LOG_WARNING);
    signal(SIGPIPE, SIG_IGN);

    char err[640];
    cg_loaded_plugin lp;
    if (cg_loader_open(s.plugin_so, &lp, err, sizeof err) < 0) {
        fprintf(stderr, "dispatch_bench: %s\n", err);
        return 1;
    }
    s.lp = &lp;
    struct event_config *ec = event_config_new();
    s.base = ec ? event_base_new_with_config(ec) : NULL;
    if (ec)
        event_config_free(ec);
    s.zmq_ctx = zmq_ctx_new();
    if (!s.base || event_base_priority_init(s.base, 3) < 0 || !s.zmq_ctx) {
        fprintf(stderr, "dispatch_bench: cannot create the event loop or the ZeroMQ context\n");
        return 1;
    }

    int status = 0;
    double thread_rate = -1, process_rate = -1;
    char *save = NULL;
    for (char *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        if (strcmp(m, "thread") && strcmp(m, "process") && strcmp(m, "remote")) {
            fprintf(stderr, "dispatch_bench: unknown mode \"%s\"\n", m);
            status = 2;
            continue;
        }
        if (strcmp(m, "thread") && !s.plugind) {
            fprintf(stderr, "dispatch_bench: mode %s needs --plugind\n", m);
            printf("dispatch_%s_per_s: error\n", m);
            status = 1;
            continue;
        }
        mode_result r;
        char why[640] = "";
        if (bench_mode(&s, m, &r, why, sizeof why) < 0) {
            fprintf(stderr, "dispatch_bench: %s: %s\n", m, why);
            printf("dispatch_%s_per_s: error\n", m);
            status = 1;
            continue;
        }
        printf("dispatch_%s_per_s: %.0f\n", m, r.per_s);
        printf("dispatch_%s_rtt_us: %.1f\n", m, r.rtt_median_us);
        printf("dispatch_%s_rtt_p99_us: %.1f\n", m, r.rtt_p99_us);
        fflush(stdout);
        if (!strcmp(m, "thread"))
            thread_rate = r.per_s;
        else if (!strcmp(m, "process"))
            process_rate = r.per_s;
    }
    if (thread_rate > 0 && process_rate >= 0)
        printf("dispatch_process_vs_thread: %.2f\n", process_rate / thread_rate);
    printf("dispatch_credit: %u\n", s.credit);
    zmq_ctx_term(s.zmq_ctx);
    event_base_free(s.base);
    cg_loader_close(&lp);
    return status;
}
