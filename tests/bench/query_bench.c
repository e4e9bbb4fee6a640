/*
 * query_bench.c — data-source queries (ABI 1.4 QUERY/ANSWER) through the
 * real bus and plugin host, per mode, with the datahub plugin answering
 * from its own SQLite file, for `make bench` (beside raw_zmq's round trip).
 *
 *   query_bench --plugin DATAHUB_SO --sql SOURCES_SQL --dir DIR
 *               [--plugind PATH] [--modes thread,process,remote] [--seconds S]
 *
 * Modes as in dispatch_bench: thread (inproc), process (citygrid-plugind over
 * ipc), remote (citygrid-plugind over tcp 127.0.0.1 with CURVE, admitted by
 * the bus's ZAP handler). Each query looks up one person by ID number (one
 * row back, the plugin's indexless substring search over 277 rows included).
 *
 *   round trip  one query in flight: cg_bus_query -> answer, p50 and p99 µs
 *               over S/2 seconds;
 *   throughput  32 queries in flight, answers per second over S/2 seconds.
 *
 * Prints "name: value" lines (query_MODE_per_s, query_MODE_rtt_us,
 * query_MODE_rtt_p99_us). Every wait is bounded (a query's own deadline is
 * 5 s); a mode that fails prints "query_MODE_per_s: error", exit status 1.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lib/curvekeys.h"
#include "lib/log.h"
#include "wire/bus.h"
#include "wire/loader.h"
#include "wire/runtime.h"
#include "wire/zap.h"

#define READY_TIMEOUT_S 15
#define QUERY_TIMEOUT_MS 5000
#define WINDOW 32
#define MAX_SAMPLES 1000000

static const char QUERY_BODY[] =
    "{\"source\":\"persons\",\"params\":{\"q\":\"331102196809242075\"},\"max_rows\":10}";

typedef struct bench {
    struct event_base *base;
    cg_bus *bus;
    int in_flight, failed;
    unsigned long long answered;
    uint64_t sent_at, *samples;
    size_t n_samples;
    int sampling;
} bench;

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

static void on_answer(void *arg, cg_bus_answer_status st, const char *body, const char *instance)
{
    bench *b = arg;
    (void)instance;
    b->in_flight--;
    if (st != CG_BUS_ANSWER_OK || !body || !strstr(body, "\"status\":\"ok\"")) {
        b->failed++;
        return;
    }
    b->answered++;
    if (b->sampling && b->n_samples < MAX_SAMPLES)
        b->samples[b->n_samples++] = now_ns() - b->sent_at;
}

static int ask(bench *b)
{
    b->sent_at = now_ns();
    if (cg_bus_query(b->bus, "persons", QUERY_BODY, QUERY_TIMEOUT_MS, on_answer, b) < 0)
        return -1;
    b->in_flight++;
    return 0;
}

static void turn(bench *b) { event_base_loop(b->base, EVLOOP_ONCE); }

/* Wait until a peer serves persons (READY taken), at most READY_TIMEOUT_S. */
static int wait_ready(bench *b)
{
    uint64_t end = now_ns() + READY_TIMEOUT_S * 1000000000ULL;
    while (now_ns() < end) {
        char *j = cg_bus_sources_json(b->bus);
        int yes = j && strstr(j, "\"persons\"");
        free(j);
        if (yes)
            return 0;
        struct timeval tv = {0, 10000};
        event_base_loopexit(b->base, &tv);
        event_base_dispatch(b->base);
    }
    return -1;
}

static int measure(bench *b, double seconds, double *rtt_us, double *rtt_p99_us, double *per_s)
{
    uint64_t half = (uint64_t)(seconds / 2 * 1e9);
    /* Round trip: one in flight. */
    b->sampling = 1;
    uint64_t end = now_ns() + half;
    while (now_ns() < end && !b->failed) {
        if (ask(b) < 0)
            return -1;
        while (b->in_flight > 0)
            turn(b);
    }
    b->sampling = 0;
    if (b->failed || b->n_samples == 0)
        return -1;
    qsort(b->samples, b->n_samples, sizeof *b->samples, cmp_u64);
    *rtt_us = b->samples[b->n_samples / 2] / 1000.0;
    *rtt_p99_us = b->samples[(b->n_samples * 99) / 100] / 1000.0;
    /* Throughput: WINDOW in flight. */
    unsigned long long before = b->answered;
    uint64_t t0 = now_ns();
    end = t0 + half;
    while (now_ns() < end && !b->failed) {
        while (b->in_flight < WINDOW)
            if (ask(b) < 0)
                return -1;
        turn(b);
    }
    uint64_t t1 = now_ns();
    unsigned long long done = b->answered - before;
    while (b->in_flight > 0)
        turn(b); /* each has its own deadline: bounded */
    if (b->failed)
        return -1;
    *per_s = done / ((t1 - t0) / 1e9);
    return 0;
}

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
    for (int i = 0; i < 300; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

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
    const char *plugin_so, *plugind, *dir, *settings;
    void *zctx;
    struct event_base *base;
    cg_loaded_plugin *lp;
    double seconds;
} setup;

static int bench_mode(const setup *s, const char *mode, double out[3], char *why, size_t whylen)
{
    bench b;
    memset(&b, 0, sizeof b);
    b.base = s->base;
    b.samples = calloc(MAX_SAMPLES, sizeof *b.samples);
    char endpoint[512], local[128], core_prefix[512], dept_prefix[512], core_pub[520],
        dept_key[520], core_key[520], err[640] = "";
    cg_bus_options bo = {.heartbeat_ms = 1000, .heartbeat_misses = 3, .lease_ms = 30000,
                         .retry_base_ms = 500, .retry_max_ms = 60000, .max_attempts = 8};
    cg_bus_handlers h = {0};
    cg_curve_keys core_keys, dept_keys;
    cg_zap_client client;
    cg_runtime *rt = NULL;
    pid_t child = 0;
    int rc = -1;
    memset(&core_keys, 0, sizeof core_keys);
    memset(&dept_keys, 0, sizeof dept_keys);

    if (!strcmp(mode, "thread")) {
        snprintf(endpoint, sizeof endpoint, "inproc://query-bench-%ld", (long)getpid());
    } else if (!strcmp(mode, "process")) {
        snprintf(endpoint, sizeof endpoint, "ipc://%s/query-bench.%ld.sock", s->dir,
                 (long)getpid());
    } else {
        int port = free_port();
        snprintf(core_prefix, sizeof core_prefix, "%s/qbench-core-%ld", s->dir, (long)getpid());
        snprintf(dept_prefix, sizeof dept_prefix, "%s/qbench-dept-%ld", s->dir, (long)getpid());
        snprintf(core_pub, sizeof core_pub, "%s.pub", core_prefix);
        snprintf(core_key, sizeof core_key, "%s.key", core_prefix);
        snprintf(dept_key, sizeof dept_key, "%s.key", dept_prefix);
        if (port <= 0 || cg_curve_keys_generate(core_prefix, err, sizeof err) < 0 ||
            cg_curve_keys_generate(dept_prefix, err, sizeof err) < 0 ||
            cg_curve_keys_read(core_key, 1, &core_keys, err, sizeof err) < 0 ||
            cg_curve_keys_read(dept_key, 1, &dept_keys, err, sizeof err) < 0) {
            snprintf(why, whylen, "remote: keys or port: %.500s", err[0] ? err : "no free port");
            free(b.samples);
            return -1;
        }
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
        client.public_key = dept_keys.public_key;
        client.department = s->lp->desc->department;
        bo.remote_endpoint = endpoint;
        bo.curve_secret_key = core_keys.secret_key;
        bo.clients = &client;
        bo.n_clients = 1;
    }
    snprintf(local, sizeof local, "inproc://query-bench-local-%ld", (long)getpid());
    const char *eps[1] = {bo.remote_endpoint ? local : endpoint};
    bo.endpoints = eps;
    bo.n_endpoints = 1;
    b.bus = cg_bus_new(s->base, s->zctx, &bo, &h, &b, err, sizeof err);
    if (!b.bus) {
        snprintf(why, whylen, "%.500s", err);
        goto out;
    }
    if (!strcmp(mode, "thread")) {
        cg_runtime_options ro = {.zmq_ctx = s->zctx, .endpoint = endpoint, .plugin = s->lp->desc,
                                 .abi = s->lp->abi, .settings_json = s->settings,
                                 .mode = "thread", .credit = 64, .heartbeat_ms = 1000,
                                 .instance = "qbench-thread"};
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
        argv[n++] = "--settings";
        argv[n++] = (char *)s->settings;
        argv[n++] = "--log-level";
        argv[n++] = "warning";
        if (bo.remote_endpoint) {
            argv[n++] = "--server-key";
            argv[n++] = core_pub;
            argv[n++] = "--key";
            argv[n++] = dept_key;
        }
        argv[n] = NULL;
        child = spawn(argv);
        if (child < 0) {
            child = 0;
            snprintf(why, whylen, "fork: %s", strerror(errno));
            goto out;
        }
    }
    if (wait_ready(&b) < 0) {
        snprintf(why, whylen, "the datahub plugin did not come up in %d s", READY_TIMEOUT_S);
        goto out;
    }
    if (measure(&b, s->seconds, &out[1], &out[2], &out[0]) < 0) {
        snprintf(why, whylen, "queries failed (%d) or none answered", b.failed);
        goto out;
    }
    rc = 0;
out:
    if (rt)
        cg_runtime_stop(rt);
    stop_child(child);
    if (b.bus)
        cg_bus_free(b.bus);
    free(b.samples);
    if (!strcmp(mode, "process"))
        unlink(endpoint + 6);
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

int main(int argc, char **argv)
{
    const char *so = NULL, *sql = NULL, *dir = NULL, *plugind = "core/citygrid-plugind";
    char modes[64] = "thread,process,remote";
    double seconds = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--plugin"))
            so = argv[i + 1];
        else if (!strcmp(argv[i], "--sql"))
            sql = argv[i + 1];
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--plugind"))
            plugind = argv[i + 1];
        else if (!strcmp(argv[i], "--modes"))
            snprintf(modes, sizeof modes, "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
    }
    if (!so || !sql || !dir || seconds <= 0 || seconds > 600) {
        fprintf(stderr, "usage: %s --plugin DATAHUB_SO --sql SOURCES_SQL --dir DIR "
                        "[--plugind PATH] [--modes thread,process,remote] [--seconds S]\n",
                argv[0]);
        return 2;
    }
    cg_log_set_level(CITYGRID_LOG_WARNING);
    signal(SIGPIPE, SIG_IGN);
    cg_loaded_plugin lp;
    char err[512];
    if (cg_loader_open(so, &lp, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    char settings[2048];
    snprintf(settings, sizeof settings, "{\"database\":\"%s/qbench-datahub.sqlite\",\"sql\":\"%s\"}",
             dir, sql);
    void *zctx = zmq_ctx_new();
    struct event_base *base = event_base_new();
    event_base_priority_init(base, 3);
    setup s = {.plugin_so = so, .plugind = plugind, .dir = dir, .settings = settings,
               .zctx = zctx, .base = base, .lp = &lp, .seconds = seconds};
    int failed = 0;
    for (char *save = NULL, *m = strtok_r(modes, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
        double r[3];
        char why[600] = "";
        if (bench_mode(&s, m, r, why, sizeof why) < 0) {
            fprintf(stderr, "query_bench %s: %s\n", m, why);
            printf("query_%s_per_s: error\n", m);
            failed = 1;
            continue;
        }
        printf("query_%s_per_s: %.0f\nquery_%s_rtt_us: %.1f\nquery_%s_rtt_p99_us: %.1f\n", m, r[0],
               m, r[1], m, r[2]);
        fflush(stdout);
    }
    event_base_free(base);
    zmq_ctx_term(zctx);
    cg_loader_close(&lp);
    char path[600];
    snprintf(path, sizeof path, "%s/qbench-datahub.sqlite", dir);
    unlink(path);
    return failed;
}
