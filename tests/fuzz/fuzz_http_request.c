/*
 * fuzz_http_request.c — fuzz target for the whole HTTP side, in process:
 * the connection gate, evhttp, the route table, authentication and every
 * handler, against a real citygridd app (a temporary SQLite store with the
 * Lishui dataset, the group commit, the bus with no plugins, the deadline
 * timer, the worker pool). Built once, on the first input.
 *
 * Input: the raw bytes a client sends on one connection (request line,
 * headers, body; several requests may follow each other). "$ADMIN",
 * "$LEADER" and "$MEMBER" anywhere in it are replaced by a live token of
 * the admin, a grid leader and a plain member, so the fuzzer reaches the
 * handlers behind authentication. The bytes go over a real TCP connection
 * to 127.0.0.1; the client then shuts down its sending side and the loop
 * runs until the server has closed the connection.
 *
 * What must hold: every answer is an HTTP/1.x status line with a 1xx..5xx
 * code and never 500 (an input must not break the server); the server
 * closes the connection within LIMIT_MS of the client's end (no hang).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <zmq.h>

#include "conf/config.h"
#include "host/app.h"
#include "host/deadlines.h"
#include "host/flow.h"
#include "host/plugins.h"
#include "host/welcome.h"
#include "http/http.h"
#include "lib/log.h"
#include "people/auth.h"
#include "people/catalog.h"
#include "people/dataset.h"
#include "store/batch.h"
#include "store/store.h"
#include "wire/bus.h"
#include "fuzz.h"

#define LIMIT_MS 20000      /* the server must have closed by then */
#define MAX_INPUT 65536

static cg_app app;
static cg_config config;
static int port;
static char admin[CG_TOKEN_HEX_LEN + 1], leader[CG_TOKEN_HEX_LEN + 1],
    member[CG_TOKEN_HEX_LEN + 1];
static char admin_id[64] = "admin", leader_id[64], member_id[64];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_http_request: %s: %s\n", what, why);
    abort();
}

static const char *dataset_dir(void)
{
    static char dir[4096];
    const char *src = getenv("CG_SRCDIR");
    if (src && *src) {
        snprintf(dir, sizeof dir, "%s/contrib/lishui", src);
        return dir;
    }
#ifdef CG_DATASET_DIR
    return CG_DATASET_DIR;
#else
    return "contrib/lishui";
#endif
}

/* A member id holding `role` somewhere (first by id), into out. */
static void member_with_role(const char *role, char *out, size_t len)
{
    sqlite3_stmt *s = cg_store_read_stmt(app.store,
        "SELECT member_id FROM assignments WHERE role = ?1 ORDER BY member_id LIMIT 1");
    if (!s)
        die("assignments", "no statement");
    sqlite3_bind_text(s, 1, role, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW)
        die("assignments", role);
    snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
}

static void build_app(void)
{
    char err[1024];
    char tmpl[] = "/tmp/cg-fuzz-http.XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir)
        die("mkdtemp", strerror(errno));
    cg_log_set_level(CITYGRID_LOG_ERROR);
    signal(SIGPIPE, SIG_IGN); /* as citygridd: a client gone is an error, not a death */
    cg_config_defaults(&config);
    free(config.state_dir);
    free(config.dataset_dir);
    config.state_dir = strdup(dir);
    config.dataset_dir = strdup(dataset_dir());
    app.config = &config;
    app.started_ms = 0;
    app.version = "fuzz";
    if (!(app.catalog = cg_catalog_new(&config, err, sizeof err)))
        die("catalog", err);
    char db[4200];
    snprintf(db, sizeof db, "%s/citygrid.db", dir);
    if (cg_store_open(db, &app.store, err, sizeof err) < 0)
        die("store", err);
    if (cg_auth_bootstrap(app.store, dir, err, sizeof err) < 0)
        die("bootstrap", err);
    cg_import_report rep;
    if (cg_dataset_import_dir(app.store, config.dataset_dir, &rep, err, sizeof err) < 0)
        die("dataset", err);
    app.base = event_base_new();
    if (!app.base || event_base_priority_init(app.base, 3) < 0)
        die("event base", "cannot create");
    app.batch = cg_batch_new(app.base, app.store);
    app.zmq_ctx = zmq_ctx_new();
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "inproc://fuzz-http-%d", (int)getpid());
    const char *endpoints[1] = {endpoint};
    char *welcome = cg_welcome_json(app.catalog);
    cg_bus_options bopt = {.endpoints = endpoints, .n_endpoints = 1,
                           .heartbeat_ms = config.bus.heartbeat_ms, .heartbeat_misses = 3,
                           .lease_ms = config.bus.lease_ms, .retry_base_ms = config.bus.retry_base_ms,
                           .retry_max_ms = config.bus.retry_max_ms,
                           .max_attempts = config.bus.max_attempts, .welcome_json = welcome};
    app.bus = cg_bus_new(app.base, app.zmq_ctx, &bopt, &cg_flow_bus_handlers, &app, err, sizeof err);
    free(welcome);
    if (!app.bus)
        die("bus", err);
    cg_plugins_env penv = {.cfg = &config, .zmq_ctx = app.zmq_ctx, .catalog = app.catalog,
                           .base = app.base, .bus = app.bus, .store = app.store,
                           .state_dir = config.state_dir};
    if (cg_plugins_start_ex(&penv, &app.plugins, err, sizeof err) < 0)
        die("plugins", err);
    if (!(app.deadlines = cg_deadlines_new(&app)))
        die("deadlines", "cannot arm");
    if (!(app.http = cg_http_start(&app, "127.0.0.1", 0, err, sizeof err)))
        die("http", err);
    port = cg_http_port(app.http);
    member_with_role("leader", leader_id, sizeof leader_id);
    member_with_role("fulltime", member_id, sizeof member_id);
}

/* An input may end a token (DELETE /v1/sessions, a new password): the next
 * input gets a fresh one. */
static void keep_token(const char *id, char token[CG_TOKEN_HEX_LEN + 1])
{
    if (token[0] && cg_auth_token_lookup(app.store, token, NULL) == 0)
        return;
    if (cg_auth_issue_token(app.store, id, "fuzz", token) < 0)
        token[0] = 0;
}

/* The input with the token placeholders replaced; malloc'd, *len set. */
static char *expand(const uint8_t *data, size_t size, size_t *len)
{
    static const struct {
        const char *name;
        const char *value;
    } subst[] = {{"$ADMIN", admin}, {"$LEADER", leader}, {"$MEMBER", member}};
    char *out = malloc(size * 11 + 1); /* "$ADMIN" (6) -> 64 chars: at most ~11x */
    size_t o = 0;
    for (size_t i = 0; i < size;) {
        int done = 0;
        for (size_t k = 0; k < 3 && !done; k++) {
            size_t n = strlen(subst[k].name);
            if (size - i >= n && memcmp(data + i, subst[k].name, n) == 0) {
                memcpy(out + o, subst[k].value, CG_TOKEN_HEX_LEN);
                o += CG_TOKEN_HEX_LEN;
                i += n;
                done = 1;
            }
        }
        if (!done)
            out[o++] = (char)data[i++];
    }
    *len = o;
    return out;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int status_line_at(const char *buf, size_t len, size_t i)
{
    return i + 12 <= len && (i == 0 || buf[i - 1] == '\n') &&
           (memcmp(buf + i, "HTTP/1.1 ", 9) == 0 || memcmp(buf + i, "HTTP/1.0 ", 9) == 0);
}

/* Every status line in the answer: 1xx..5xx, never 500. */
static void check_answer(const char *buf, size_t len)
{
    if (len == 0)
        return; /* the gate may close at once on a head it cannot read */
    FUZZ_REQUIRE(status_line_at(buf, len, 0));
    for (size_t i = 0; i + 12 <= len; i++) {
        if (!status_line_at(buf, len, i))
            continue;
        int code = (buf[i + 9] - '0') * 100 + (buf[i + 10] - '0') * 10 + (buf[i + 11] - '0');
        if (code == 500)
            fprintf(stderr, "fuzz_http_request: 500 answered:\n%.*s\n",
                    (int)(len - i > 2000 ? 2000 : len - i), buf + i);
        FUZZ_REQUIRE(code >= 100 && code < 600);
        FUZZ_REQUIRE(code != 500);
    }
}

/* libFuzzer calls this once before the first input, outside the per-input
 * timeout (the setup imports the whole dataset); replay.c does not, so the
 * first input builds it then. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    build_app();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT)
        return 0;
    if (!app.http)
        build_app();
    keep_token(admin_id, admin);
    keep_token(leader_id, leader);
    keep_token(member_id, member);
    size_t len;
    char *req = expand(data, size, &len);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        die("connect", strerror(errno));
    size_t sent = 0, got = 0, cap = 65536;
    char *answer = malloc(cap);
    int shut = 0, closed = 0;
    long long deadline = mono_ms() + LIMIT_MS;
    while (!closed) {
        event_base_loop(app.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
        if (sent < len) {
            ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
                sent = len; /* the server closed on us: stop sending */
        }
        if (sent >= len && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
            deadline = mono_ms() + LIMIT_MS;
        }
        for (;;) {
            if (got == cap)
                answer = realloc(answer, cap *= 2);
            ssize_t n = recv(fd, answer + got, cap - got, 0);
            if (n > 0) {
                got += (size_t)n;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN))
                closed = 1;
            break;
        }
        if (!closed && mono_ms() > deadline) {
            fprintf(stderr, "fuzz_http_request: no close within %d ms; answered so far:\n%.*s\n",
                    LIMIT_MS, (int)(got > 2000 ? 2000 : got), answer);
            FUZZ_REQUIRE(!"the server closes the connection after the client's end");
        }
        if (!closed) {
            /* Nothing to do until the loop has something: wait a little for
             * either side (the worker pool, the batch), never spin. */
            struct timeval tv = {0, 1000};
            event_base_loopexit(app.base, &tv);
            event_base_loop(app.base, EVLOOP_ONCE);
        }
    }
    check_answer(answer, got);
    close(fd);
    free(answer);
    free(req);
    return 0;
}
