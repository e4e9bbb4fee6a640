/*
 * api_metrics.c — GET /metrics in the Prometheus text exposition format
 * (version 0.0.4), admin token required; and the per-request observation
 * that feeds lib/metrics.h. Main (libevent) thread only.
 *
 * What is exported (README "Metrics and alerts" lists what to page on):
 *   requests and their latency by route and method (and status), open
 *   connections, group-commit sizes, commits and their fsync time (lib/
 *   metrics.c); the outbox per department and open and overdue cases by
 *   level and department (case/stats.c, read from the last commit); per
 *   plugin deliveries, redeliveries and failures (the bus, since the peer
 *   connected), dead letters, restarts and state (host/plugins.c); login
 *   failures and throttles, escalations (counted where they happen).
 *
 * Request observation: cg_api_metrics_watch() is called as a request comes
 * in and again once its route is known; evhttp calls back when the answer
 * has been written (evhttp_request_set_on_complete_cb), even for answers
 * deferred to a group commit. The callback's argument carries the route
 * index and the start time packed into the pointer itself, so nothing is
 * allocated per request and nothing leaks when a client goes away before
 * its answer (evhttp then frees the request without calling back; that
 * request is simply not counted).
 */
#include "http/api.h"
#include "http/http_gate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "case/stats.h"
#include "host/plugins.h"
#include "lib/metrics.h"
#include "lib/timeutil.h"
#include "wire/bus.h"

_Static_assert(sizeof(uintptr_t) >= 8, "the start time and route are packed into a pointer");
#define ROUTE_BITS 8
_Static_assert(CG_METRICS_MAX_ROUTES <= (1 << ROUTE_BITS), "route index fits its bits");

/* ---- per request ------------------------------------------------------- */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* 56 bits of microseconds since the first request: 2,000+ years. */
static uint64_t epoch_us;
/* The request being dispatched right now and when it came in: the second
 * watch call (with the route) happens inside the same on_request call. */
static const struct evhttp_request *current_req;
static uint64_t current_start;

/* Connections with at least one request, until they close: a small
 * open-addressing set of evhttp_connection pointers. */
static void **conns;
static size_t conns_cap, conns_n;

static size_t slot_of(const void *p, size_t cap)
{
    uintptr_t h = (uintptr_t)p;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static int conns_grow(void)
{
    size_t cap = conns_cap ? conns_cap * 2 : 256;
    void **fresh = calloc(cap, sizeof *fresh);
    if (!fresh)
        return -1;
    for (size_t i = 0; i < conns_cap; i++) {
        if (!conns[i])
            continue;
        size_t j = slot_of(conns[i], cap);
        while (fresh[j])
            j = (j + 1) & (cap - 1);
        fresh[j] = conns[i];
    }
    free(conns);
    conns = fresh;
    conns_cap = cap;
    return 0;
}

/* 1 if p was added, 0 if already there (or no memory). */
static int conns_add(void *p)
{
    if ((conns_n + 1) * 2 > conns_cap && conns_grow() < 0)
        return 0;
    size_t i = slot_of(p, conns_cap);
    while (conns[i]) {
        if (conns[i] == p)
            return 0;
        i = (i + 1) & (conns_cap - 1);
    }
    conns[i] = p;
    conns_n++;
    return 1;
}

/* Linear probing removal: shift the following run back into the hole. */
static void conns_remove(void *p)
{
    if (!conns_cap)
        return;
    size_t i = slot_of(p, conns_cap);
    while (conns[i] && conns[i] != p)
        i = (i + 1) & (conns_cap - 1);
    if (!conns[i])
        return;
    conns[i] = NULL;
    conns_n--;
    for (size_t j = (i + 1) & (conns_cap - 1); conns[j]; j = (j + 1) & (conns_cap - 1)) {
        size_t home = slot_of(conns[j], conns_cap);
        /* Move conns[j] into the hole if its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            conns[i] = conns[j];
            conns[j] = NULL;
            i = j;
        }
    }
}

static void on_connection_close(struct evhttp_connection *evcon, void *arg)
{
    (void)arg;
    conns_remove(evcon);
    cg_metrics_count(CG_M_CONNECTIONS_CLOSED);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    cg_gate_complete(req); /* it replaced the gate's own hook */
    uintptr_t packed = (uintptr_t)arg;
    size_t route = (size_t)(packed & ((1u << ROUTE_BITS) - 1));
    uint64_t start = (uint64_t)(packed >> ROUTE_BITS);
    uint64_t end = now_us() - epoch_us;
    cg_metrics_http_request(route, evhttp_request_get_response_code(req),
                            end > start ? (double)(end - start) / 1e6 : 0);
}

void cg_api_metrics_watch(struct evhttp_request *req, size_t route)
{
    if (route >= CG_METRICS_MAX_ROUTES - 1)
        route = CG_METRICS_MAX_ROUTES - 1;
    /* (size_t)-1: a request just arrived (its address may be a freed one's). */
    if (route == CG_METRICS_MAX_ROUTES - 1 || req != current_req) {
        if (!epoch_us)
            epoch_us = now_us();
        current_req = req;
        current_start = now_us() - epoch_us;
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        if (evcon && conns_add(evcon)) {
            cg_metrics_count(CG_M_CONNECTIONS_OPENED);
            evhttp_connection_set_closecb(evcon, on_connection_close, NULL);
        }
    }
    uintptr_t packed = ((uintptr_t)current_start << ROUTE_BITS) | (uintptr_t)route;
    evhttp_request_set_on_complete_cb(req, on_complete, (void *)packed);
}

/* ---- rendering --------------------------------------------------------- */

/* A label value with \ " and newline escaped, as the format requires. */
static void put_label(struct evbuffer *out, const char *v)
{
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            evbuffer_add_printf(out, "\\%c", *p);
        else if (*p == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, p, 1);
    }
}

static void family(struct evbuffer *out, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *method_label(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

/* route="...",method="..." for a route slot. */
static void route_labels(struct evbuffer *out, size_t r)
{
    evbuffer_add(out, "route=\"", 7);
    if (r < cg_api_n_routes) {
        put_label(out, cg_api_routes[r].pattern);
        evbuffer_add_printf(out, "\",method=\"%s\"", method_label(cg_api_routes[r].method));
    } else {
        evbuffer_add_printf(out, "none\",method=\"\"");
    }
}

static void histogram(struct evbuffer *out, const char *name, const char *labels_prefix,
                      const double *bounds, size_t n, const uint64_t *buckets, double sum)
{
    uint64_t cum = 0;
    const char *sep = labels_prefix && *labels_prefix ? "," : "";
    for (size_t i = 0; i <= n; i++) {
        cum += buckets[i];
        if (i < n)
            evbuffer_add_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels_prefix, sep,
                                bounds[i], (unsigned long long)cum);
        else
            evbuffer_add_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels_prefix, sep,
                                (unsigned long long)cum);
    }
    if (labels_prefix && *labels_prefix) {
        evbuffer_add_printf(out, "%s_sum{%s} %.6f\n", name, labels_prefix, sum);
        evbuffer_add_printf(out, "%s_count{%s} %llu\n", name, labels_prefix, (unsigned long long)cum);
    } else {
        evbuffer_add_printf(out, "%s_sum %.6f\n%s_count %llu\n", name, sum, name, (unsigned long long)cum);
    }
}

static size_t route_slots(void)
{
    return cg_api_n_routes < CG_METRICS_MAX_ROUTES - 1 ? cg_api_n_routes : CG_METRICS_MAX_ROUTES - 1;
}

static void render_http(struct evbuffer *out)
{
    family(out, "citygrid_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status (route=\"none\": no route matched).");
    size_t slots = route_slots();
    for (size_t r = 0; r <= slots; r++) {
        size_t rr = r == slots ? CG_METRICS_MAX_ROUTES - 1 : r;
        for (size_t s = 0; s < CG_METRICS_STATUS_SLOTS; s++) {
            uint64_t n = cg_metrics_http_count(rr, s);
            const char *label = cg_metrics_status_label(s);
            if (!n || !label)
                continue;
            evbuffer_add(out, "citygrid_http_requests_total{", 29);
            route_labels(out, rr);
            evbuffer_add_printf(out, ",status=\"%s\"} %llu\n", label, (unsigned long long)n);
        }
    }
    family(out, "citygrid_http_request_duration_seconds", "histogram",
           "Time from a request's arrival to its answer written, including the wait for a group commit.");
    for (size_t r = 0; r <= slots; r++) {
        size_t rr = r == slots ? CG_METRICS_MAX_ROUTES - 1 : r;
        uint64_t buckets[CG_METRICS_LATENCY_BUCKETS + 1], count;
        double sum;
        cg_metrics_http_latency(rr, buckets, &sum, &count);
        if (!count)
            continue;
        struct evbuffer *labels = evbuffer_new();
        route_labels(labels, rr);
        evbuffer_add(labels, "", 1);
        histogram(out, "citygrid_http_request_duration_seconds",
                  (const char *)evbuffer_pullup(labels, -1), cg_metrics_latency_bounds,
                  CG_METRICS_LATENCY_BUCKETS, buckets, sum);
        evbuffer_free(labels);
    }
    uint64_t opened = cg_metrics_counter(CG_M_CONNECTIONS_OPENED);
    uint64_t closed = cg_metrics_counter(CG_M_CONNECTIONS_CLOSED);
    family(out, "citygrid_http_connections_open", "gauge",
           "HTTP connections open now (counted from their first request).");
    evbuffer_add_printf(out, "citygrid_http_connections_open %llu\n",
                        (unsigned long long)(opened > closed ? opened - closed : 0));
    family(out, "citygrid_http_connections_total", "counter", "HTTP connections that sent a request.");
    evbuffer_add_printf(out, "citygrid_http_connections_total %llu\n", (unsigned long long)opened);
}

static void render_store(struct evbuffer *out)
{
    cg_metrics_commits c;
    cg_metrics_commit_stats(&c);
    family(out, "citygrid_group_commit_size", "histogram", "Writes grouped into one COMMIT.");
    histogram(out, "citygrid_group_commit_size", "", cg_metrics_batch_bounds, CG_METRICS_BATCH_BUCKETS,
              c.size_buckets, (double)c.items);
    family(out, "citygrid_store_commits_total", "counter",
           "COMMITs of grouped writes (each one fsync of the WAL with synchronous=FULL).");
    evbuffer_add_printf(out, "citygrid_store_commits_total %llu\n", (unsigned long long)c.commits);
    family(out, "citygrid_store_commit_failures_total", "counter",
           "Groups of writes that could not be committed (their requests got errors).");
    evbuffer_add_printf(out, "citygrid_store_commit_failures_total %llu\n", (unsigned long long)c.failed);
    family(out, "citygrid_store_fsync_seconds", "histogram",
           "Duration of each COMMIT: the WAL append and its fsync.");
    histogram(out, "citygrid_store_fsync_seconds", "", cg_metrics_fsync_bounds, CG_METRICS_FSYNC_BUCKETS,
              c.fsync_buckets, c.fsync_seconds);
}

static void outbox_row(void *arg, const char *department, long long depth, long long oldest_ms)
{
    struct evbuffer **outs = arg;
    evbuffer_add(outs[0], "citygrid_outbox_depth{department=\"", 34);
    put_label(outs[0], department);
    evbuffer_add_printf(outs[0], "\"} %lld\n", depth);
    evbuffer_add(outs[1], "citygrid_outbox_oldest_age_seconds{department=\"", 47);
    put_label(outs[1], department);
    evbuffer_add_printf(outs[1], "\"} %.3f\n", (double)oldest_ms / 1000.0);
}

static void open_row(void *arg, const char *level, const char *department, long long open,
                     long long overdue)
{
    struct evbuffer **outs = arg;
    const long long v[2] = {open, overdue};
    const char *names[2] = {"citygrid_cases_open", "citygrid_cases_overdue"};
    for (int i = 0; i < 2; i++) {
        evbuffer_add_printf(outs[i], "%s{level=\"", names[i]);
        put_label(outs[i], level);
        evbuffer_add(outs[i], "\",department=\"", 14);
        put_label(outs[i], department);
        evbuffer_add_printf(outs[i], "\"} %lld\n", v[i]);
    }
}

static void render_cases(struct evbuffer *out, cg_app *app)
{
    int64_t now = cg_now_ms();
    struct evbuffer *parts[2] = {evbuffer_new(), evbuffer_new()};
    family(out, "citygrid_outbox_depth", "gauge",
           "Dispatches in the durable outbox (not yet acknowledged by a plugin), per department.");
    family(parts[1], "citygrid_outbox_oldest_age_seconds", "gauge",
           "Age of the oldest dispatch still in the outbox, per department.");
    cg_stats_outbox(app->store, now, outbox_row, parts);
    evbuffer_add_buffer(out, parts[0]);
    evbuffer_add_buffer(out, parts[1]);
    family(out, "citygrid_cases_open", "gauge",
           "Open cases (reported, dispatched, accepted, handled) by escalation level and department.");
    family(parts[1], "citygrid_cases_overdue", "gauge",
           "Open cases not yet handled past their deadline, by escalation level and department.");
    cg_stats_open_cases(app->store, now, open_row, parts);
    evbuffer_add_buffer(out, parts[0]);
    evbuffer_add_buffer(out, parts[1]);
    evbuffer_free(parts[0]);
    evbuffer_free(parts[1]);

    family(out, "citygrid_escalations_total", "counter", "Cases raised to a level since start.");
    evbuffer_add_printf(out,
                        "citygrid_escalations_total{level=\"community\"} %llu\n"
                        "citygrid_escalations_total{level=\"joint\"} %llu\n"
                        "citygrid_escalations_total{level=\"city\"} %llu\n",
                        (unsigned long long)cg_metrics_counter(CG_M_ESCALATIONS_COMMUNITY),
                        (unsigned long long)cg_metrics_counter(CG_M_ESCALATIONS_JOINT),
                        (unsigned long long)cg_metrics_counter(CG_M_ESCALATIONS_CITY));
    family(out, "citygrid_login_failures_total", "counter", "Logins refused: wrong login or password.");
    evbuffer_add_printf(out, "citygrid_login_failures_total %llu\n",
                        (unsigned long long)cg_metrics_counter(CG_M_LOGIN_FAILURES));
    family(out, "citygrid_login_throttled_total", "counter",
           "Logins refused with 429: too many failures for one login or address.");
    evbuffer_add_printf(out, "citygrid_login_throttled_total %llu\n",
                        (unsigned long long)cg_metrics_counter(CG_M_LOGIN_THROTTLED));
}

static long long json_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void plugin_line(struct evbuffer *out, const char *metric, const char *plugin,
                        const char *extra_name, const char *extra_value, long long v)
{
    evbuffer_add_printf(out, "%s{plugin=\"", metric);
    put_label(out, plugin);
    if (extra_name) {
        evbuffer_add_printf(out, "\",%s=\"", extra_name);
        put_label(out, extra_value);
    }
    evbuffer_add_printf(out, "\"} %lld\n", v);
}

static void render_plugins(struct evbuffer *out, cg_app *app)
{
    json_t *list = app->plugins ? cg_plugins_json(app->plugins, app->bus) : NULL;
    enum { UP, STATE, RESTARTS, DEAD, DELIVERED, REDELIVERED, FAILED, N_PART };
    struct evbuffer *part[N_PART];
    for (int i = 0; i < N_PART; i++)
        part[i] = evbuffer_new();
    family(part[UP], "citygrid_plugin_up", "gauge", "1 when a READY instance of the plugin is connected.");
    family(part[STATE], "citygrid_plugin_state", "gauge",
           "The plugin's state (ready, starting, restarting, lost, failed, disabled): 1 for the current one.");
    family(part[RESTARTS], "citygrid_plugin_restarts_total", "counter",
           "Restarts of the plugin's host process by the supervisor (process mode).");
    family(part[DEAD], "citygrid_plugin_dead_letters_total", "counter",
           "Deliveries to the plugin's department given up after max_attempts (since start).");
    family(part[DELIVERED], "citygrid_plugin_deliveries_total", "counter",
           "Dispatches delivered to the plugin (since its instance connected).");
    family(part[REDELIVERED], "citygrid_plugin_redeliveries_total", "counter",
           "Dispatches delivered again after a lease ran out or a failure (since its instance connected).");
    family(part[FAILED], "citygrid_plugin_failures_total", "counter",
           "Deliveries the plugin answered with a failure (since its instance connected).");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        const char *name = json_str(p, "name"), *state = json_str(p, "state");
        plugin_line(part[UP], "citygrid_plugin_up", name, NULL, NULL, strcmp(state, "ready") == 0);
        plugin_line(part[STATE], "citygrid_plugin_state", name, "state", state, 1);
        plugin_line(part[RESTARTS], "citygrid_plugin_restarts_total", name, NULL, NULL,
                    json_int(p, "restarts"));
        plugin_line(part[DEAD], "citygrid_plugin_dead_letters_total", name, NULL, NULL,
                    json_int(p, "dead_letters"));
    }
    json_decref(list);
    /* The bus counts per connected instance: sum the instances of a plugin. */
    cg_bus_peer_stats peers[64];
    size_t n = app->bus ? cg_bus_stats(app->bus, peers, 64) : 0;
    if (n > 64)
        n = 64;
    for (size_t a = 0; a < n; a++) {
        int seen = 0;
        for (size_t b = 0; b < a; b++)
            seen |= strcmp(peers[a].name, peers[b].name) == 0;
        if (seen)
            continue;
        unsigned long long d = 0, r = 0, f = 0;
        for (size_t b = a; b < n; b++) {
            if (strcmp(peers[a].name, peers[b].name) != 0)
                continue;
            d += peers[b].delivered;
            r += peers[b].redelivered;
            f += peers[b].failures;
        }
        plugin_line(part[DELIVERED], "citygrid_plugin_deliveries_total", peers[a].name, NULL, NULL, (long long)d);
        plugin_line(part[REDELIVERED], "citygrid_plugin_redeliveries_total", peers[a].name, NULL, NULL, (long long)r);
        plugin_line(part[FAILED], "citygrid_plugin_failures_total", peers[a].name, NULL, NULL, (long long)f);
    }
    for (int k = 0; k < N_PART; k++) {
        evbuffer_add_buffer(out, part[k]);
        evbuffer_free(part[k]);
    }
}

/* GET /metrics */
void cg_api_metrics(cg_api_ctx *ctx)
{
    if (ctx->who && !ctx->who->is_admin) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "only an admin may read the metrics");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        cg_http_reply_error(ctx->req, 503, "unavailable", "out of memory");
        return;
    }
    cg_app *app = ctx->app;
    family(out, "citygrid_build_info", "gauge", "The running version (always 1).");
    evbuffer_add(out, "citygrid_build_info{version=\"", 29);
    put_label(out, app->version ? app->version : "unknown");
    evbuffer_add(out, "\"} 1\n", 5);
    family(out, "citygrid_start_time_seconds", "gauge", "When citygridd started (unix time).");
    evbuffer_add_printf(out, "citygrid_start_time_seconds %.3f\n", (double)app->started_ms / 1000.0);
    render_http(out);
    render_store(out);
    render_cases(out, app);
    render_plugins(out, app);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(ctx->req, 200, "OK", out);
    evbuffer_free(out);
}
