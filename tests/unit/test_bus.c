/*
 * test_bus.c — the core's bus (cg_bus in a libevent loop) against a real
 * plugin runtime (cg_runtime hosting the test plugin below) and against a
 * raw DEALER that speaks CGBP/1 by hand, all over inproc in one context.
 * Timings are short through the options; the tests wait for outcomes with a
 * bounded helper and never assert durations.
 */
#include <check.h>
#include <event2/event.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wire/bus.h"
#include "lib/log.h"
#include "wire/protocol.h"
#include "wire/runtime.h"
#include "lib/timeutil.h"
#include "support/run_suite.h"

#define ENDPOINT "inproc://test-bus"
#define DEPT "testdept"

/* ------------------------------------------------------------- the test plugin */

#define MAX_IDS 64
static struct {
    pthread_mutex_t mu;
    const citygrid_host *host;
    char ids[MAX_IDS][32];
    int counts[MAX_IDS];
    unsigned last_attempt[MAX_IDS];
    int n_ids;
    int retry_first;     /* answer CITYGRID_E_RETRY on attempt 1 */
    int init_rc;
    int api_checks_ok;   /* host functions refused what they must refuse */
    int settings_ok;
    int timer_fired;
    int shutdowns;
} tp = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int tp_slot(const char *id)
{
    for (int i = 0; i < tp.n_ids; i++)
        if (strcmp(tp.ids[i], id) == 0)
            return i;
    if (tp.n_ids == MAX_IDS)
        return -1;
    snprintf(tp.ids[tp.n_ids], sizeof tp.ids[0], "%s", id);
    return tp.n_ids++;
}

static int handled(const char *id)
{
    pthread_mutex_lock(&tp.mu);
    int n = 0;
    for (int i = 0; i < tp.n_ids; i++)
        if (strcmp(tp.ids[i], id) == 0)
            n = tp.counts[i];
    pthread_mutex_unlock(&tp.mu);
    return n;
}

static unsigned last_attempt(const char *id)
{
    pthread_mutex_lock(&tp.mu);
    unsigned a = 0;
    for (int i = 0; i < tp.n_ids; i++)
        if (strcmp(tp.ids[i], id) == 0)
            a = tp.last_attempt[i];
    pthread_mutex_unlock(&tp.mu);
    return a;
}

static void tp_tick(citygrid_plugin_ctx *ctx, void *arg)
{
    pthread_mutex_lock(&tp.mu);
    tp.timer_fired++;
    pthread_mutex_unlock(&tp.mu);
}

static int tp_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    tp.host = host;
    int ok = host->size >= sizeof(citygrid_host) &&
             strcmp(host->setting_string(ctx, "s", "def"), "text") == 0 &&
             strcmp(host->setting_string(ctx, "i", "def"), "def") == 0 && /* wrong type */
             host->setting_int(ctx, "i", -1) == 42 && host->setting_int(ctx, "d", -1) == -1 &&
             host->setting_double(ctx, "d", 0) == 2.5 && host->setting_double(ctx, "i", 0) == 42 &&
             host->setting_bool(ctx, "b", 0) == 1 && host->setting_bool(ctx, "i", 7) == 7 &&
             host->setting_int(ctx, "missing", 9) == 9 &&
             host->case_accept(ctx, "C1") == CITYGRID_E_STATE && /* not inside handle() */
             host->timer_add(ctx, 0, 1, tp_tick, NULL) == CITYGRID_E_INVALID &&
             host->timer_add(ctx, 10, 0, NULL, NULL) == CITYGRID_E_INVALID &&
             host->timer_cancel(ctx, 999) == CITYGRID_E_NOTFOUND && host->now(ctx) > 1600000000;
    long long t = host->timer_add(ctx, 20, 1, tp_tick, NULL);
    host->set_user_data(ctx, &tp);
    pthread_mutex_lock(&tp.mu);
    tp.settings_ok = ok && t > 0 && host->user_data(ctx) == &tp;
    pthread_mutex_unlock(&tp.mu);
    host->log(ctx, CITYGRID_LOG_DEBUG, "test plugin up (%d)", ok);
    return tp.init_rc;
}

static int tp_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    const citygrid_host *h = tp.host;
    pthread_mutex_lock(&tp.mu);
    int slot = tp_slot(c->dispatch_id);
    if (slot >= 0) {
        tp.counts[slot]++;
        tp.last_attempt[slot] = c->attempt;
    }
    int retry = tp.retry_first && c->attempt == 1;
    pthread_mutex_unlock(&tp.mu);
    if (retry)
        return CITYGRID_E_RETRY;

    int checks = c->struct_size == sizeof *c && c->grid && c->description &&
                 strcmp(c->category, "street_stall") == 0 && c->n_members == 1 &&
                 strcmp(c->members[0].id, "M001") == 0 && c->members[0].open_cases == 3 &&
                 c->has_location && c->lat > 28 && c->json && strstr(c->json, "\"dispatch_id\"") &&
                 h->case_accept(ctx, "C-other") == CITYGRID_E_STATE &&
                 h->case_accept(ctx, NULL) == CITYGRID_E_INVALID &&
                 h->case_assign(ctx, c->id, "") == CITYGRID_E_INVALID &&
                 h->case_assign(ctx, c->id, NULL) == CITYGRID_E_INVALID &&
                 h->case_note(ctx, c->id, "") == CITYGRID_E_INVALID &&
                 h->case_transfer(ctx, c->id, "", "why") == CITYGRID_E_INVALID;
    /* ABI 1.3 through the real runtime: the dispatch's extra, and the
     * department catalog the bus sent as its welcome. */
    const char *licence = NULL, *zh = NULL, *en = NULL;
    double n = 0;
    int injuries = 0;
    citygrid_case other = *c;
    checks = checks && h->case_extra_string(ctx, c, "licence_no", &licence) == CITYGRID_OK &&
             strcmp(licence, "91331102MA2A1B2C3D") == 0 &&
             h->case_extra_bool(ctx, c, "injuries", &injuries) == CITYGRID_OK && injuries == 1 &&
             h->case_extra_number(ctx, c, "n", &n) == CITYGRID_OK && n == 2 &&
             h->case_extra_number(ctx, c, "licence_no", &n) == CITYGRID_E_INVALID &&
             h->case_extra_string(ctx, c, "nothing", &licence) == CITYGRID_E_NOTFOUND &&
             h->case_extra_string(ctx, &other, "licence_no", &licence) == CITYGRID_E_STATE &&
             h->department_names(ctx, "market", &en, &zh) == CITYGRID_OK &&
             strcmp(zh, "市场监管") == 0 && strcmp(en, "Market regulation") == 0 &&
             h->department_names(ctx, "nowhere", &en, &zh) == CITYGRID_E_NOTFOUND;
    h->case_accept(ctx, c->id);
    h->case_assign(ctx, c->id, c->members[0].id);
    h->case_set_deadline(ctx, c->id, c->reported_at + 3600);
    pthread_mutex_lock(&tp.mu);
    tp.api_checks_ok = checks;
    pthread_mutex_unlock(&tp.mu);
    return CITYGRID_OK;
}

static void tp_shutdown(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&tp.mu);
    tp.shutdowns++;
    pthread_mutex_unlock(&tp.mu);
}

static const char *const tp_categories[] = {"street_stall", NULL};
static const citygrid_plugin test_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "testplug",
    .version = "0.1.0",
    .department = DEPT,
    .department_zh = "测试",
    .categories = tp_categories,
    .init = tp_init,
    .handle = tp_handle,
    .shutdown = tp_shutdown,
};

/* ------------------------------------------------------------- the core side */

static void *zctx;
static struct event_base *base;
static cg_bus *bus;
static struct {
    int results;
    char last_id[64], last_plugin[64];
    char last_body[4096];
    int auto_complete;
    int ready_calls;
    int refuse;
} hs;

static void h_result(void *arg, const char *plugin, const char *id, const char *body)
{
    hs.results++;
    snprintf(hs.last_id, sizeof hs.last_id, "%s", id);
    snprintf(hs.last_plugin, sizeof hs.last_plugin, "%s", plugin);
    snprintf(hs.last_body, sizeof hs.last_body, "%s", body);
    if (hs.auto_complete)
        cg_bus_complete(bus, id);
}

static int h_ready(void *arg, const cg_bus_peer_info *peer, char *why, size_t whylen)
{
    hs.ready_calls++;
    if (hs.refuse) {
        snprintf(why, whylen, "department closed for the test");
        return -1;
    }
    return 0;
}

static int bus_heartbeat_ms = 100; /* the core's beat: a peer is dead after 3 missed */

static void start_bus(int lease_ms)
{
    const char *eps[] = {ENDPOINT};
    cg_bus_options o = {.endpoints = eps, .n_endpoints = 1, .heartbeat_ms = bus_heartbeat_ms,
                        .heartbeat_misses = 3, .lease_ms = lease_ms, .retry_base_ms = 40,
                        .retry_max_ms = 400, .max_attempts = 5,
                        .welcome_json = "{\"departments\":{\"market\":{\"name\":"
                                        "\"Market regulation\",\"name_zh\":\"市场监管\"}}}"};
    cg_bus_handlers h = {.on_ready = h_ready, .on_result = h_result};
    char err[256] = "";
    bus = cg_bus_new(base, zctx, &o, &h, NULL, err, sizeof err);
    ck_assert_msg(bus != NULL, "cg_bus_new: %s", err);
}

static void setup(void)
{
    cg_log_set_level(CITYGRID_LOG_ERROR);
    memset(&hs, 0, sizeof hs);
    pthread_mutex_lock(&tp.mu);
    tp.n_ids = 0;
    memset(tp.counts, 0, sizeof tp.counts);
    tp.retry_first = tp.init_rc = tp.api_checks_ok = tp.settings_ok = tp.timer_fired = 0;
    tp.shutdowns = 0;
    pthread_mutex_unlock(&tp.mu);
    zctx = zmq_ctx_new();
    base = event_base_new();
    ck_assert_int_eq(event_base_priority_init(base, 3), 0);
    bus = NULL;
}

static void teardown(void)
{
    cg_bus_free(bus);
    event_base_free(base);
    zmq_ctx_term(zctx);
}

static cg_runtime *start_runtime(unsigned credit)
{
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = ENDPOINT, .plugin = &test_plugin,
                            .abi = {1, 0}, .settings_json = "{\"s\":\"text\",\"i\":42,"
                                                            "\"d\":2.5,\"b\":true}",
                            .mode = "thread", .credit = credit, .heartbeat_ms = 100};
    char err[256] = "";
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "cg_runtime_start: %s", err);
    return rt;
}

/* Turn the loop until pred holds (5 s at most). */
typedef int (*pred_fn)(void *arg);
static int wait_until(pred_fn pred, void *arg)
{
    int64_t deadline = cg_monotonic_ms() + 60000; /* a wait FOR a message: bounded only against a hang */
    while (!pred(arg)) {
        if (cg_monotonic_ms() > deadline)
            return 0;
        event_base_loop(base, EVLOOP_ONCE);
    }
    return 1;
}

/* Turn the loop for a while (for "nothing more happens" checks). */
static void spin(int ms)
{
    int64_t until = cg_monotonic_ms() + ms;
    while (cg_monotonic_ms() < until)
        event_base_loop(base, EVLOOP_ONCE);
}

static int p_online(void *arg) { return cg_bus_department_online(bus, DEPT); }
static int p_offline(void *arg) { return !cg_bus_department_online(bus, DEPT); }
static int p_results(void *arg) { return hs.results >= *(int *)arg; }
static int p_handled(void *arg)
{
    const char *const *ids = arg;
    for (; *ids; ids += 2)
        if (handled(ids[0]) < atoi(ids[1]))
            return 0;
    return 1;
}
static int p_pending_zero(void *arg) { return cg_bus_pending(bus, DEPT) == 0; }
static int p_ready_calls(void *arg) { return hs.ready_calls >= *(int *)arg; }

static void enqueue(const char *id, const char *case_id)
{
    cg_dispatch d = {.seq = 1, .attempts = 0};
    snprintf(d.id, sizeof d.id, "%s", id);
    snprintf(d.case_id, sizeof d.case_id, "%s", case_id);
    snprintf(d.department, sizeof d.department, "%s", DEPT);
    char payload[1024];
    snprintf(payload, sizeof payload,
             "{\"id\":\"%s\",\"dispatch_id\":\"%s\",\"category\":\"street_stall\","
             "\"department\":\"%s\",\"grid\":\"33110200100101\",\"lat\":28.45,\"lon\":119.92,"
             "\"has_location\":true,\"description\":\"占道经营\",\"source\":\"patrol\","
             "\"level\":\"grid\",\"reporter\":\"M009\",\"needs_penalty\":false,"
             "\"sla_hours\":2,\"reported_at\":1764000000,"
             "\"members\":[{\"id\":\"M001\",\"name\":\"张三\",\"role\":\"fulltime\","
             "\"open_cases\":3}],\"extra\":{\"licence_no\":\"91331102MA2A1B2C3D\","
             "\"injuries\":true,\"n\":2}}",
             case_id, id, DEPT);
    d.payload = payload;
    cg_bus_enqueue(bus, &d);
}

/* ------------------------------------------------------------- tests with a runtime */

START_TEST(ready_registers_peer)
{
    start_bus(300);
    cg_runtime *rt = start_runtime(8);
    ck_assert(wait_until(p_online, NULL));
    cg_bus_peer_stats st[4];
    ck_assert_uint_eq(cg_bus_stats(bus, st, 4), 1);
    ck_assert_str_eq(st[0].name, "testplug");
    ck_assert_str_eq(st[0].version, "0.1.0");
    ck_assert_str_eq(st[0].department, DEPT);
    ck_assert_str_eq(st[0].abi, "1.0");
    ck_assert_str_eq(st[0].mode, "thread");
    ck_assert_str_eq(st[0].state, "ready");
    ck_assert_int_eq(st[0].pid, getpid());
    ck_assert_uint_eq(st[0].in_flight, 0);
    ck_assert_int_eq(hs.ready_calls, 1);
    /* the peer stays alive across several heartbeat periods */
    spin(500);
    ck_assert(cg_bus_department_online(bus, DEPT));
    pthread_mutex_lock(&tp.mu);
    int settings_ok = tp.settings_ok, fired = tp.timer_fired;
    pthread_mutex_unlock(&tp.mu);
    ck_assert_msg(settings_ok, "settings/timer/host checks in init failed");
    ck_assert_int_gt(fired, 0);
    cg_runtime_stop(rt);
    ck_assert_int_eq(tp.shutdowns, 1);
    /* its DISCONNECT makes it "lost" */
    ck_assert(wait_until(p_offline, NULL));
    ck_assert_uint_eq(cg_bus_stats(bus, st, 4), 1);
    ck_assert_str_eq(st[0].state, "lost");
}
END_TEST

START_TEST(dispatch_result_complete_ack)
{
    start_bus(300);
    hs.auto_complete = 1;
    cg_runtime *rt = start_runtime(8);
    enqueue("D00000001", "C00000001");
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 1); /* held while nobody is READY */
    int one = 1;
    ck_assert(wait_until(p_results, &one));
    ck_assert_str_eq(hs.last_id, "D00000001");
    ck_assert_str_eq(hs.last_plugin, "testplug");
    json_t *r = json_loads(hs.last_body, 0, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "ok");
    json_t *acts = json_object_get(r, "actions");
    ck_assert_uint_eq(json_array_size(acts), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(acts, 0), "type")), "accept");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(acts, 1), "assignee")),
                     "M001");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(acts, 2), "at")),
                     1764000000 + 3600);
    json_decref(r);
    ck_assert_int_eq(handled("D00000001"), 1);
    ck_assert_int_eq(last_attempt("D00000001"), 1);
    pthread_mutex_lock(&tp.mu);
    int checks = tp.api_checks_ok;
    pthread_mutex_unlock(&tp.mu);
    ck_assert_msg(checks, "case/host checks inside handle() failed");
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_bus_peer_stats st[2];
    ck_assert_uint_eq(cg_bus_stats(bus, st, 2), 1);
    ck_assert_uint_eq(st[0].delivered, 1);
    ck_assert_uint_eq(st[0].completed, 1);
    ck_assert_uint_eq(st[0].in_flight, 0);

    /* The ACK dropped the cached result: the same id now reaches handle() again. */
    enqueue("D00000001", "C00000001");
    int two = 2;
    ck_assert(wait_until(p_results, &two));
    ck_assert_int_eq(handled("D00000001"), 2);
    cg_runtime_stop(rt);
}
END_TEST

START_TEST(unacked_result_is_answered_from_cache)
{
    start_bus(3000);
    cg_runtime *rt = start_runtime(8);
    enqueue("D00000002", "C00000002");
    int one = 1, two = 2;
    ck_assert(wait_until(p_results, &one));
    /* the store could not commit: deliver again; the runtime answers from its cache */
    cg_bus_retry(bus, "D00000002", "store busy");
    ck_assert(wait_until(p_results, &two));
    ck_assert_str_eq(hs.last_id, "D00000002");
    ck_assert_int_eq(handled("D00000002"), 1);
    cg_bus_peer_stats st[2];
    cg_bus_stats(bus, st, 2);
    ck_assert_uint_eq(st[0].redelivered, 1);
    ck_assert_str_eq(st[0].last_error, "D00000002: store busy");
    cg_bus_complete(bus, "D00000002");
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 0);
    cg_runtime_stop(rt);
}
END_TEST

START_TEST(plugin_retry_is_redelivered_with_same_id)
{
    start_bus(300);
    hs.auto_complete = 1;
    tp.retry_first = 1;
    cg_runtime *rt = start_runtime(8);
    enqueue("D00000003", "C00000003");
    const char *want[] = {"D00000003", "2", NULL};
    ck_assert(wait_until(p_handled, want));
    ck_assert_uint_eq(last_attempt("D00000003"), 2);
    int one = 1;
    ck_assert(wait_until(p_results, &one));
    ck_assert_int_eq(hs.results, 1); /* the retry never reached on_result */
    ck_assert_str_eq(hs.last_id, "D00000003");
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_bus_peer_stats st[2];
    cg_bus_stats(bus, st, 2);
    ck_assert_uint_ge(st[0].failures, 1);
    ck_assert_uint_eq(st[0].redelivered, 1);
    ck_assert_uint_eq(st[0].completed, 1);
    ck_assert_ptr_nonnull(strstr(st[0].last_error, "retry"));
    cg_runtime_stop(rt);
}
END_TEST

START_TEST(restart_redelivers_unacknowledged)
{
    start_bus(300);
    cg_runtime *rt = start_runtime(8);
    enqueue("D00000004", "C00000004");
    enqueue("D00000005", "C00000005");
    int two = 2;
    ck_assert(wait_until(p_results, &two));
    cg_runtime_stop(rt); /* results never committed, never ACKed */
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 2);
    enqueue("D00000006", "C00000006"); /* arrives while nobody serves the department */
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 3);

    hs.auto_complete = 1;
    rt = start_runtime(8);
    const char *want[] = {"D00000004", "2", "D00000005", "2", "D00000006", "1", NULL};
    ck_assert(wait_until(p_handled, want));
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_bus_peer_stats st[4];
    size_t n = cg_bus_stats(bus, st, 4);
    ck_assert_uint_eq(n, 1); /* the new READY of the same name replaced the lost record */
    ck_assert_str_eq(st[0].state, "ready");
    ck_assert_uint_eq(st[0].delivered, 3);
    ck_assert_uint_ge(st[0].redelivered, 2);
    cg_runtime_stop(rt);
}
END_TEST

START_TEST(credit_limits_in_flight)
{
    start_bus(5000);
    cg_runtime *rt = start_runtime(2);
    char ids[5][24];
    for (int i = 0; i < 5; i++) {
        snprintf(ids[i], sizeof ids[i], "D0000010%d", i);
        enqueue(ids[i], "C00000100");
    }
    int two = 2, four = 4, five = 5;
    ck_assert(wait_until(p_results, &two));
    spin(300);
    ck_assert_int_eq(hs.results, 2);
    cg_bus_peer_stats st[2];
    cg_bus_stats(bus, st, 2);
    ck_assert_uint_eq(st[0].in_flight, 2);
    ck_assert_uint_eq(st[0].queued, 3);
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 5);
    cg_bus_complete(bus, ids[0]);
    cg_bus_complete(bus, ids[1]);
    ck_assert(wait_until(p_results, &four));
    spin(200);
    ck_assert_int_eq(hs.results, 4);
    hs.auto_complete = 1;
    cg_bus_complete(bus, ids[2]);
    cg_bus_complete(bus, ids[3]);
    ck_assert(wait_until(p_results, &five));
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_runtime_stop(rt);
}
END_TEST

START_TEST(init_failure_is_reported)
{
    start_bus(300);
    tp.init_rc = -7;
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = ENDPOINT, .plugin = &test_plugin,
                            .abi = {1, 0}, .credit = 4, .heartbeat_ms = 100};
    char err[256] = "";
    ck_assert_ptr_null(cg_runtime_start(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "init failed: code -7"));
    spin(150);
    ck_assert_int_eq(hs.ready_calls, 0); /* never said READY */
    o.settings_json = "[1,2]";
    tp.init_rc = 0;
    ck_assert_ptr_null(cg_runtime_start(&o, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "settings"));
}
END_TEST

START_TEST(refused_runtime_never_gets_work)
{
    start_bus(300);
    hs.refuse = 1;
    cg_runtime *rt = start_runtime(8);
    enqueue("D00000007", "C00000007");
    int two = 2;
    ck_assert(wait_until(p_ready_calls, &two)); /* refused, came back with a new READY */
    ck_assert(!cg_bus_department_online(bus, DEPT));
    ck_assert_uint_eq(cg_bus_stats(bus, NULL, 0), 0);
    ck_assert_int_eq(handled("D00000007"), 0);
    hs.refuse = 0; /* once taken, the work flows */
    hs.auto_complete = 1;
    const char *want[] = {"D00000007", "1", NULL};
    ck_assert(wait_until(p_handled, want));
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_runtime_stop(rt);
}
END_TEST

/* ------------------------------------------------------------- tests with a raw peer */

static void *raw_open(const char *identity)
{
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, strlen(identity));
    ck_assert_int_eq(zmq_connect(s, ENDPOINT), 0);
    return s;
}

/* Turn the loop until the raw peer gets a message of `type` (HEARTBEATs in
 * between are skipped); the raw peer heartbeats meanwhile so it stays alive. */
static int raw_expect_beating(void *s, cg_msg_type type, cg_msg *out, int beat)
{
    int64_t deadline = cg_monotonic_ms() + 60000, next_beat = 0; /* against a hang only */
    while (cg_monotonic_ms() < deadline) {
        if (beat && cg_monotonic_ms() >= next_beat) {
            cg_msg_send(s, NULL, 0, CG_MSG_HEARTBEAT, "", "", 0, ZMQ_DONTWAIT);
            next_beat = cg_monotonic_ms() + 50;
        }
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        int rc = cg_msg_recv(s, NULL, NULL, out, ZMQ_DONTWAIT, NULL);
        if (rc == 0) {
            if (out->type == type)
                return 1;
            cg_msg_clear(out);
        } else {
            usleep(2000);
        }
    }
    return 0;
}

/* Before READY a raw peer must stay quiet (a HEARTBEAT would be refused). */
static int raw_expect_quiet(void *s, cg_msg_type type, cg_msg *out)
{
    return raw_expect_beating(s, type, out, 0);
}

static int raw_expect(void *s, cg_msg_type type, cg_msg *out)
{
    return raw_expect_beating(s, type, out, 1);
}

static void raw_ready(void *s, unsigned credit)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"raw\",\"version\":\"9\",\"department\":\"%s\",\"abi\":\"1.0\","
             "\"mode\":\"remote\",\"pid\":1,\"credit\":%u}", DEPT, credit);
    ck_assert_int_eq(cg_msg_send(s, NULL, 0, CG_MSG_READY, "", body, strlen(body), 0), 0);
}

START_TEST(bad_header_gets_disconnect)
{
    start_bus(300);
    void *s = raw_open("raw-bad");
    const char *frames[] = {"CGBP/2", "READY", "", "{}"};
    for (int i = 0; i < 4; i++)
        zmq_send(s, frames[i], strlen(frames[i]), i < 3 ? ZMQ_SNDMORE : 0);
    cg_msg m;
    ck_assert(raw_expect_quiet(s, CG_MSG_DISCONNECT, &m));
    ck_assert_ptr_nonnull(strstr(m.body, "header"));
    cg_msg_clear(&m);
    ck_assert_int_eq(hs.ready_calls, 0);

    /* a well-formed message without READY first */
    ck_assert_int_eq(cg_msg_send(s, NULL, 0, CG_MSG_RESULT, "D1", "{\"status\":\"ok\"}", 15, 0),
                     0);
    ck_assert(raw_expect_quiet(s, CG_MSG_DISCONNECT, &m));
    ck_assert_ptr_nonnull(strstr(m.body, "send READY first"));
    cg_msg_clear(&m);
    ck_assert_int_eq(hs.results, 0);

    /* a READY with a bad body is refused before on_ready */
    ck_assert_int_eq(cg_msg_send(s, NULL, 0, CG_MSG_READY, "", "{\"name\":3}", 10, 0), 0);
    ck_assert(raw_expect_quiet(s, CG_MSG_DISCONNECT, &m));
    ck_assert_ptr_nonnull(strstr(m.body, "name"));
    cg_msg_clear(&m);
    ck_assert_int_eq(hs.ready_calls, 0);

    /* the bus still works: a proper READY is taken (answered by a HEARTBEAT) */
    raw_ready(s, 1);
    ck_assert(raw_expect_quiet(s, CG_MSG_HEARTBEAT, &m));
    cg_msg_clear(&m);
    ck_assert(cg_bus_department_online(bus, DEPT));
    zmq_close(s);
}
END_TEST

START_TEST(on_ready_refusal_disconnects)
{
    start_bus(300);
    hs.refuse = 1;
    void *s = raw_open("raw-refused");
    raw_ready(s, 4);
    cg_msg m;
    ck_assert(raw_expect_quiet(s, CG_MSG_DISCONNECT, &m));
    ck_assert_ptr_nonnull(strstr(m.body, "department closed for the test"));
    cg_msg_clear(&m);
    ck_assert_int_eq(hs.ready_calls, 1);
    ck_assert(!cg_bus_department_online(bus, DEPT));
    ck_assert_uint_eq(cg_bus_stats(bus, NULL, 0), 0);
    zmq_close(s);
}
END_TEST

START_TEST(lease_expiry_redelivers_and_ack_follows_complete)
{
    start_bus(300);
    void *s = raw_open("raw-lease");
    raw_ready(s, 1);
    cg_msg m;
    ck_assert(raw_expect(s, CG_MSG_HEARTBEAT, &m));
    cg_msg_clear(&m);
    enqueue("D00000008", "C00000008");
    ck_assert(raw_expect(s, CG_MSG_DISPATCH, &m));
    ck_assert_str_eq(m.id, "D00000008");
    json_t *p = json_loads(m.body, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "attempt")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(p, "id")), "C00000008");
    json_decref(p);
    cg_msg_clear(&m);

    /* no answer: the lease runs out and the same id comes again, attempt 2 */
    ck_assert(raw_expect(s, CG_MSG_DISPATCH, &m));
    ck_assert_str_eq(m.id, "D00000008");
    p = json_loads(m.body, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "attempt")), 2);
    json_decref(p);
    cg_msg_clear(&m);

    /* an error result: not passed on, delivered again after backoff */
    const char *err = "{\"status\":\"error\",\"code\":-1,\"error\":\"boom\",\"actions\":[]}";
    cg_msg_send(s, NULL, 0, CG_MSG_RESULT, "D00000008", err, strlen(err), 0);
    ck_assert(raw_expect(s, CG_MSG_DISPATCH, &m));
    ck_assert_str_eq(m.id, "D00000008");
    p = json_loads(m.body, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "attempt")), 3);
    json_decref(p);
    cg_msg_clear(&m);
    ck_assert_int_eq(hs.results, 0);

    const char *ok = "{\"status\":\"ok\",\"code\":0,\"actions\":[{\"type\":\"accept\"}]}";
    cg_msg_send(s, NULL, 0, CG_MSG_RESULT, "D00000008", ok, strlen(ok), 0);
    int one = 1;
    ck_assert(wait_until(p_results, &one));
    ck_assert_str_eq(hs.last_plugin, "raw");

    /* credit 1 is still taken by the answered, uncommitted D00000008 */
    cg_bus_peer_stats st[2];
    enqueue("D00000009", "C00000009");
    cg_bus_stats(bus, st, 2);
    ck_assert_uint_eq(st[0].in_flight, 1);
    ck_assert_uint_eq(st[0].queued, 1);
    ck_assert_uint_ge(st[0].failures, 2);
    ck_assert_uint_eq(st[0].redelivered, 2);
    ck_assert_ptr_nonnull(strstr(st[0].last_error, "boom"));

    cg_bus_complete(bus, "D00000008");
    ck_assert(raw_expect(s, CG_MSG_ACK, &m));
    ck_assert_str_eq(m.id, "D00000008");
    cg_msg_clear(&m);
    /* credit freed: the next one comes */
    ck_assert(raw_expect(s, CG_MSG_DISPATCH, &m));
    ck_assert_str_eq(m.id, "D00000009");
    cg_msg_clear(&m);

    /* an ok RESULT for an id the bus does not hold still reaches on_result,
     * and completing it ACKs the peer */
    cg_msg_send(s, NULL, 0, CG_MSG_RESULT, "D00000999", ok, strlen(ok), 0);
    int two = 2;
    ck_assert(wait_until(p_results, &two));
    ck_assert_str_eq(hs.last_id, "D00000999");
    cg_bus_complete(bus, "D00000999");
    ck_assert(raw_expect(s, CG_MSG_ACK, &m));
    ck_assert_str_eq(m.id, "D00000999");
    cg_msg_clear(&m);

    /* the peer goes silent: dropped after the missed beats, D00000009 queued again */
    spin(700);
    cg_bus_stats(bus, st, 2);
    ck_assert_str_eq(st[0].state, "lost");
    ck_assert(!cg_bus_department_online(bus, DEPT));
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 1);
    ck_assert_uint_eq(st[0].queued, 1);
    zmq_close(s);
}
END_TEST

START_TEST(enqueue_duplicate_and_bad_input_ignored)
{
    start_bus(300);
    enqueue("D00000010", "C00000010");
    enqueue("D00000010", "C00000010");
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 1);
    cg_dispatch bad = {.payload = "not json"};
    snprintf(bad.id, sizeof bad.id, "D00000011");
    snprintf(bad.department, sizeof bad.department, DEPT);
    cg_bus_enqueue(bus, &bad);
    bad.payload = NULL;
    cg_bus_enqueue(bus, &bad);
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 1);
    cg_bus_complete(bus, "D-unknown"); /* ignored */
    cg_bus_retry(bus, "D-unknown", "x");
    cg_bus_complete(bus, "D00000010"); /* cancelled before delivery */
    ck_assert_uint_eq(cg_bus_pending(bus, DEPT), 0);
}
END_TEST

START_TEST(core_restart_runtime_comes_back)
{
    start_bus(300);
    cg_runtime *rt = start_runtime(8);
    ck_assert(wait_until(p_online, NULL));
    cg_bus_free(bus); /* DISCONNECT "core shutting down" */
    bus = NULL;
    spin(50);
    start_bus(300);
    hs.auto_complete = 1;
    enqueue("D00000020", "C00000020");
    const char *want[] = {"D00000020", "1", NULL};
    ck_assert(wait_until(p_handled, want));
    ck_assert(wait_until(p_pending_zero, NULL));
    ck_assert(cg_bus_department_online(bus, DEPT));
    cg_runtime_stop(rt);
}
END_TEST

static volatile int run_stop;
static void *run_thread(void *arg)
{
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = ENDPOINT, .plugin = &test_plugin,
                            .abi = {1, 0}, .mode = "process", .credit = 4, .heartbeat_ms = 100};
    char err[256] = "";
    static int rc;
    rc = cg_runtime_run(&o, &run_stop, err, sizeof err);
    return &rc;
}

START_TEST(runtime_run_in_calling_thread)
{
    start_bus(300);
    hs.auto_complete = 1;
    run_stop = 0;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, run_thread, NULL), 0);
    enqueue("D00000021", "C00000021");
    const char *want[] = {"D00000021", "1", NULL};
    ck_assert(wait_until(p_handled, want));
    ck_assert(wait_until(p_pending_zero, NULL));
    cg_bus_peer_stats st[2];
    ck_assert_uint_eq(cg_bus_stats(bus, st, 2), 1);
    ck_assert_str_eq(st[0].mode, "process");
    run_stop = 1;
    void *res = NULL;
    pthread_join(th, &res);
    ck_assert_int_eq(*(int *)res, 0);
    ck_assert_int_eq(tp.shutdowns, 1);
    ck_assert(wait_until(p_offline, NULL));
}
END_TEST


/* ------------------------------------------------------------- data sources (ABI 1.4) */

/* A source plugin: "people" answers rows whose name contains q (at most
 * max_rows), "stuck" hangs in query() until the test releases it. */
static const citygrid_source_field people_fields[] = {{"name", "name"}, {"id_number", "id_number"}};
static const citygrid_source people_source = {.struct_size = sizeof(citygrid_source),
                                              .name = "people", .title_zh = "人口",
                                              .fields = people_fields, .n_fields = 2};
static const citygrid_source stuck_source = {.struct_size = sizeof(citygrid_source),
                                             .name = "stuck", .title_zh = "卡住",
                                             .fields = people_fields, .n_fields = 2, .spatial = 1};
static const citygrid_source *const src_list[] = {&people_source, &stuck_source, NULL};
static const citygrid_host *src_host;
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int release, stuck_in;
    char last_q[64];
    int row_after_limit;
} sq = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int src_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    src_host = host;
    return CITYGRID_OK;
}

static int src_query(citygrid_plugin_ctx *ctx, const citygrid_query *q)
{
    if (strcmp(q->source, "stuck") == 0) {
        pthread_mutex_lock(&sq.mu);
        sq.stuck_in++;
        while (!sq.release)
            pthread_cond_wait(&sq.cv, &sq.mu);
        pthread_mutex_unlock(&sq.mu);
        return CITYGRID_OK;
    }
    pthread_mutex_lock(&sq.mu);
    snprintf(sq.last_q, sizeof sq.last_q, "%s", q->q);
    pthread_mutex_unlock(&sq.mu);
    static const char *const rows[][2] = {{"张三", "331102199001011234"},
                                          {"张三丰", "331102198502023456"},
                                          {"李四", "331102197003035678"}};
    for (size_t i = 0; i < 3; i++) {
        if (!strstr(rows[i][0], q->q))
            continue;
        const char *values[2] = {rows[i][0], rows[i][1]};
        int rc = src_host->query_row(ctx, q, values);
        if (rc == CITYGRID_E_STATE) {
            pthread_mutex_lock(&sq.mu);
            sq.row_after_limit++;
            pthread_mutex_unlock(&sq.mu);
            break;
        }
        if (rc != CITYGRID_OK)
            return rc;
    }
    return CITYGRID_OK;
}

static int src_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c) { return CITYGRID_OK; }

static const citygrid_plugin source_plugin = {
    .struct_size = sizeof(citygrid_plugin), .name = "srcplug", .version = "0.1.0",
    .department = "datahub", .department_zh = "数据", .categories = tp_categories + 1,
    .init = src_init, .handle = src_handle, .sources = src_list, .query = src_query};

static cg_runtime *start_source_runtime(void)
{
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = ENDPOINT, .plugin = &source_plugin,
                            .abi = {1, 4}, .mode = "thread", .credit = 8, .heartbeat_ms = 100};
    char err[256] = "";
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "cg_runtime_start: %s", err);
    return rt;
}

static struct {
    int n;
    cg_bus_answer_status status;
    char body[2048], instance[64];
    int64_t at;
} qa;

static void on_answer(void *arg, cg_bus_answer_status status, const char *body,
                      const char *instance)
{
    qa.n++;
    qa.status = status;
    snprintf(qa.body, sizeof qa.body, "%s", body ? body : "");
    snprintf(qa.instance, sizeof qa.instance, "%s", instance);
    qa.at = cg_monotonic_ms();
}

static int p_answers(void *arg) { return qa.n >= *(int *)arg; }
static int p_source_online(void *arg)
{
    char *j = cg_bus_sources_json(bus);
    int yes = j && strstr(j, "\"people\"") != NULL;
    free(j);
    return yes;
}

START_TEST(query_is_answered_through_the_bus)
{
    memset(&qa, 0, sizeof qa);
    start_bus(300);
    /* Nobody serves it yet: refused at once, no callback. */
    ck_assert_int_eq(cg_bus_query(bus, "people", "{}", 1000, on_answer, NULL), -1);
    cg_runtime *rt = start_source_runtime();
    ck_assert(wait_until(p_source_online, NULL));
    char *j = cg_bus_sources_json(bus);
    json_t *all = json_loads(j, 0, NULL);
    free(j);
    ck_assert_uint_eq(json_array_size(all), 2);
    json_t *people = json_array_get(all, 0);
    ck_assert_str_eq(json_string_value(json_object_get(people, "title_zh")), "人口");
    ck_assert_str_eq(json_string_value(json_object_get(people, "plugin")), "srcplug");
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(people, "fields"), 1), "class")),
                     "id_number");
    ck_assert(json_is_true(json_object_get(json_array_get(all, 1), "spatial")));
    json_decref(all);

    ck_assert_int_eq(cg_bus_query(bus, "people",
                                  "{\"source\":\"people\",\"params\":{\"q\":\"张三\"},"
                                  "\"max_rows\":1}",
                                  5000, on_answer, NULL),
                     0);
    int one = 1;
    ck_assert(wait_until(p_answers, &one));
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_OK);
    json_t *a = json_loads(qa.body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(a, "status")), "ok");
    json_t *rows = json_object_get(a, "rows");
    ck_assert_uint_eq(json_array_size(rows), 1); /* max_rows: the host took only one */
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(rows, 0), 1)),
                     "331102199001011234");
    json_decref(a);
    pthread_mutex_lock(&sq.mu);
    ck_assert_str_eq(sq.last_q, "张三");
    ck_assert_int_eq(sq.row_after_limit, 1);
    pthread_mutex_unlock(&sq.mu);
    ck_assert(qa.instance[0] != '\0');

    /* A source the plugin does not serve: an error answer, not a hang. */
    ck_assert_int_eq(cg_bus_query(bus, "people", "{\"source\":\"cameras\"}", 5000, on_answer,
                                  NULL), 0);
    int two = 2;
    ck_assert(wait_until(p_answers, &two));
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_OK);
    ck_assert_ptr_nonnull(strstr(qa.body, "\"error\""));
    cg_runtime_stop(rt);
}
END_TEST

/* A source that hangs: the asker gets TIMEOUT at its deadline, the loop
 * keeps serving meanwhile, and the late answer is dropped. */
START_TEST(hanging_source_times_out_and_the_loop_goes_on)
{
    memset(&qa, 0, sizeof qa);
    pthread_mutex_lock(&sq.mu);
    sq.release = 0;
    sq.stuck_in = 0;
    pthread_mutex_unlock(&sq.mu);
    bus_heartbeat_ms = 1000; /* the stuck peer counts as dead only after 3 s */
    start_bus(300);
    bus_heartbeat_ms = 100;
    cg_runtime *rt = start_source_runtime();
    ck_assert(wait_until(p_source_online, NULL));
    int64_t t0 = cg_monotonic_ms();
    ck_assert_int_eq(cg_bus_query(bus, "stuck", "{\"source\":\"stuck\"}", 300, on_answer, NULL),
                     0);
    int one = 1;
    ck_assert(wait_until(p_answers, &one));
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_TIMEOUT);
    /* Not before its deadline: libevent counts the timer from the loop's
     * cached time, which can be a few ms older than t0 (seen: 299). */
    ck_assert_int_ge(qa.at - t0, 280);
    /* Release it: its late ANSWERs find nobody waiting. */
    pthread_mutex_lock(&sq.mu);
    sq.release = 1;
    pthread_cond_broadcast(&sq.cv);
    pthread_mutex_unlock(&sq.mu);
    spin(300);
    ck_assert_int_eq(qa.n, 1);
    cg_runtime_stop(rt);
}
END_TEST

/* A source whose thread is stuck stops beating: the bus drops the peer and
 * what it held is answered UNAVAILABLE long before a far deadline. */
START_TEST(query_to_a_dead_peer_is_unavailable)
{
    memset(&qa, 0, sizeof qa);
    pthread_mutex_lock(&sq.mu);
    sq.release = 0;
    pthread_mutex_unlock(&sq.mu);
    start_bus(300);
    cg_runtime *rt = start_source_runtime();
    ck_assert(wait_until(p_source_online, NULL));
    ck_assert_int_eq(cg_bus_query(bus, "stuck", "{\"source\":\"stuck\"}", 600000, on_answer,
                                  NULL), 0);
    int one = 1;
    ck_assert(wait_until(p_answers, &one)); /* 3 missed beats of 100 ms, not 600 s */
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_UNAVAILABLE);
    ck_assert_int_eq(cg_bus_query(bus, "stuck", "{}", 1000, on_answer, NULL), -1);
    pthread_mutex_lock(&sq.mu);
    sq.release = 1;
    pthread_cond_broadcast(&sq.cv);
    pthread_mutex_unlock(&sq.mu);
    cg_runtime_stop(rt);
}
END_TEST

static Suite *bus_suite(void)
{
    Suite *s = suite_create("bus");
    TCase *tc = tcase_create("bus");
    tcase_set_timeout(tc, 20);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ready_registers_peer);
    tcase_add_test(tc, query_is_answered_through_the_bus);
    tcase_add_test(tc, hanging_source_times_out_and_the_loop_goes_on);
    tcase_add_test(tc, query_to_a_dead_peer_is_unavailable);
    tcase_add_test(tc, dispatch_result_complete_ack);
    tcase_add_test(tc, unacked_result_is_answered_from_cache);
    tcase_add_test(tc, plugin_retry_is_redelivered_with_same_id);
    tcase_add_test(tc, restart_redelivers_unacknowledged);
    tcase_add_test(tc, credit_limits_in_flight);
    tcase_add_test(tc, init_failure_is_reported);
    tcase_add_test(tc, refused_runtime_never_gets_work);
    tcase_add_test(tc, bad_header_gets_disconnect);
    tcase_add_test(tc, on_ready_refusal_disconnects);
    tcase_add_test(tc, lease_expiry_redelivers_and_ack_follows_complete);
    tcase_add_test(tc, enqueue_duplicate_and_bad_input_ignored);
    tcase_add_test(tc, core_restart_runtime_comes_back);
    tcase_add_test(tc, runtime_run_in_calling_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(bus_suite());
}
