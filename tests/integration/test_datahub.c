/*
 * test_datahub.c — the datahub plugin (plugins/datahub) answers data-source
 * queries through the bus, in thread mode (a runtime thread beside the bus)
 * and in process mode (a citygrid-plugind child over ipc): it fills its own
 * SQLite file from contrib/lishui/sources.sql, finds a person by ID number,
 * a plate's owner, a company by credit code, cameras near a point (every one
 * within the radius, nearest first), keeps to max_rows, and answers an
 * unknown source with an error instead of silence.
 *
 * The expected rows are read from sources.sql itself (loaded into a
 * private in-memory database), so the test follows the generator.
 */
#include <check.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "wire/bus.h"
#include "wire/loader.h"
#include "wire/runtime.h"
#include "support/run_suite.h"
#include "support/testutil.h"

static void *zctx;
static struct event_base *base;
static cg_bus *bus;
static char *dir, *endpoint, *settings;
static pid_t helper;

static struct {
    int n;
    cg_bus_answer_status status;
    char *body;
} qa;

static void on_answer(void *arg, cg_bus_answer_status status, const char *body,
                      const char *instance)
{
    (void)arg;
    (void)instance;
    qa.n++;
    qa.status = status;
    free(qa.body);
    qa.body = body ? strdup(body) : NULL;
}

static int spin_until(int (*pred)(void *), void *arg, int timeout_ms)
{
    int64_t end = cg_monotonic_ms() + (int64_t)timeout_ms * tu_patience();
    while (cg_monotonic_ms() < end) {
        if (pred(arg))
            return 1;
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return pred(arg);
}

static int p_answers(void *arg) { return qa.n >= *(int *)arg; }
static int p_sources_online(void *arg)
{
    (void)arg;
    char *j = cg_bus_sources_json(bus);
    int yes = j && strstr(j, "\"property_owners\"") != NULL;
    free(j);
    return yes;
}

static int p_sources_offline(void *arg) { return !p_sources_online(arg); }

/* Ask `source` and wait for the answer: the ANSWER's rows (a new
 * reference), or fails the test. */
/* Ask `source` through the bus; takes params (a new reference). */
static json_t *ask(const char *source, json_t *params, int max_rows)
{
    json_t *o = json_pack("{s:s, s:o, s:i}", "source", source, "params", params, "max_rows",
                          max_rows);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int want = qa.n + 1;
    ck_assert_int_eq(cg_bus_query(bus, source, body, 10000 * tu_patience(), on_answer, NULL), 0);
    free(body);
    ck_assert(spin_until(p_answers, &want, 10000));
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_OK);
    json_t *a = json_loads(qa.body, 0, NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_msg(strcmp(json_string_value(json_object_get(a, "status")), "ok") == 0, "%s",
                  qa.body);
    json_t *rows = json_incref(json_object_get(a, "rows"));
    json_decref(a);
    return rows;
}

static const char *cell(json_t *rows, size_t row, size_t col)
{
    return json_string_value(json_array_get(json_array_get(rows, row), col));
}

/* One value of the synthetic sources, straight from the SQL script. */
static char *expected(const char *sql)
{
    char *path = tu_src_path("contrib/lishui/sources.sql");
    char *script = tu_read_file(path);
    ck_assert_msg(script != NULL, "cannot read %s", path);
    free(path);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, script, NULL, NULL, NULL), SQLITE_OK);
    free(script);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static double distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
    double dp = p2 - p1, dl = (lon2 - lon1) * M_PI / 180;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    return 2 * 6371008.8 * atan2(sqrt(a), sqrt(1 - a));
}

/* What every mode must answer. */
static void check_answers(void)
{
    ck_assert(spin_until(p_sources_online, NULL, 20000));
    char *j = cg_bus_sources_json(bus);
    json_t *all = json_loads(j, 0, NULL);
    free(j);
    ck_assert_uint_eq(json_array_size(all), 6);
    json_t *persons = json_array_get(all, 0);
    ck_assert_str_eq(json_string_value(json_object_get(persons, "name")), "persons");
    ck_assert_str_eq(json_string_value(json_object_get(persons, "plugin")), "datahub");
    json_t *f0 = json_array_get(json_object_get(persons, "fields"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(f0, "name")), "id_number");
    ck_assert_str_eq(json_string_value(json_object_get(f0, "class")), "id_number");
    json_decref(all);

    /* A person by ID number. */
    char *id = expected("SELECT id_number FROM persons ORDER BY rowid LIMIT 1 OFFSET 7");
    char *name = expected("SELECT name FROM persons ORDER BY rowid LIMIT 1 OFFSET 7");
    json_t *rows = ask("persons", json_pack("{s:s}", "q", id), 10);
    ck_assert_uint_eq(json_array_size(rows), 1);
    ck_assert_str_eq(cell(rows, 0, 0), id);
    ck_assert_str_eq(cell(rows, 0, 1), name);
    json_decref(rows);
    free(id);
    free(name);

    /* A plate's owner. */
    char *plate = expected("SELECT plate FROM vehicles ORDER BY rowid LIMIT 1 OFFSET 3");
    char *owner = expected("SELECT owner_id_number FROM vehicles ORDER BY rowid LIMIT 1 OFFSET 3");
    rows = ask("vehicles", json_pack("{s:s}", "q", plate), 10);
    ck_assert_uint_eq(json_array_size(rows), 1);
    ck_assert_str_eq(cell(rows, 0, 0), plate);
    ck_assert_str_eq(cell(rows, 0, 5), owner);
    json_decref(rows);
    free(plate);
    free(owner);

    /* A company by its credit code. */
    char *code = expected("SELECT credit_code FROM companies ORDER BY rowid LIMIT 1 OFFSET 11");
    char *cname = expected("SELECT name FROM companies ORDER BY rowid LIMIT 1 OFFSET 11");
    rows = ask("companies", json_pack("{s:s}", "q", code), 10);
    ck_assert_uint_eq(json_array_size(rows), 1);
    ck_assert_str_eq(cell(rows, 0, 1), cname);
    json_decref(rows);
    free(code);
    free(cname);

    /* Nothing matches: no rows, still an answer. */
    rows = ask("persons", json_pack("{s:s}", "q", "不存在的人名"), 10);
    ck_assert_uint_eq(json_array_size(rows), 0);
    json_decref(rows);

    /* max_rows holds. */
    rows = ask("persons", json_pack("{}"), 5);
    ck_assert_uint_eq(json_array_size(rows), 5);
    json_decref(rows);

    /* Cameras near a camera: every row within the radius, nearest first,
     * and the same count as a scan of the whole table says. */
    char *lat_s = expected("SELECT lat FROM cameras ORDER BY rowid LIMIT 1 OFFSET 5");
    char *lon_s = expected("SELECT lon FROM cameras ORDER BY rowid LIMIT 1 OFFSET 5");
    double lat = atof(lat_s), lon = atof(lon_s), radius = 1500;
    free(lat_s);
    free(lon_s);
    rows = ask("cameras", json_pack("{s:f, s:f, s:f}", "lat", lat, "lon", lon, "radius_m", radius),
               1000);
    json_t *every = ask("cameras", json_pack("{}"), 1000);
    size_t inside = 0;
    for (size_t i = 0; i < json_array_size(every); i++)
        inside += distance_m(lat, lon, atof(cell(every, i, 5)), atof(cell(every, i, 6))) <= radius;
    ck_assert_uint_ge(json_array_size(rows), 1);
    ck_assert_uint_eq(json_array_size(rows), inside);
    double last = -1;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        double d = distance_m(lat, lon, atof(cell(rows, i, 5)), atof(cell(rows, i, 6)));
        ck_assert(d <= radius);
        ck_assert(d >= last - 1); /* nearest first (planar order, 1 m slack) */
        last = d;
    }
    ck_assert_uint_gt(json_array_size(every), json_array_size(rows));
    json_decref(rows);
    json_decref(every);

    /* A source the plugin does not serve is answered, with an error. */
    int want = qa.n + 1;
    ck_assert_int_eq(cg_bus_query(bus, "persons", "{\"source\":\"weather\"}", 10000, on_answer,
                                  NULL),
                     0);
    ck_assert(spin_until(p_answers, &want, 10000));
    ck_assert_int_eq(qa.status, CG_BUS_ANSWER_OK);
    ck_assert_ptr_nonnull(strstr(qa.body, "\"error\""));
}

static void setup(void)
{
    cg_log_set_level(CITYGRID_LOG_ERROR);
    memset(&qa, 0, sizeof qa);
    dir = tu_tempdir("datahub");
    endpoint = tu_sprintf("ipc://%s/bus", dir);
    char *sql = tu_src_path("contrib/lishui/sources.sql");
    json_t *s = json_pack("{s:s, s:s}", "database", "", "sql", sql);
    char *db = tu_sprintf("%s/datahub.sqlite", dir);
    json_object_set_new(s, "database", json_string(db));
    settings = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    free(db);
    free(sql);
    zctx = zmq_ctx_new();
    base = event_base_new();
    ck_assert_int_eq(event_base_priority_init(base, 3), 0);
    const char *eps[] = {endpoint};
    cg_bus_options o = {.endpoints = eps, .n_endpoints = 1, .heartbeat_ms = 200,
                        .heartbeat_misses = 3, .lease_ms = 5000, .retry_base_ms = 40,
                        .retry_max_ms = 400, .max_attempts = 5};
    cg_bus_handlers h = {0};
    char err[256] = "";
    bus = cg_bus_new(base, zctx, &o, &h, NULL, err, sizeof err);
    ck_assert_msg(bus != NULL, "cg_bus_new: %s", err);
    helper = 0;
}

static void teardown(void)
{
    if (helper > 0) {
        kill(helper, SIGTERM);
        waitpid(helper, NULL, 0);
        helper = 0;
    }
    cg_bus_free(bus);
    event_base_free(base);
    zmq_ctx_term(zctx);
    free(qa.body);
    tu_rmrf(dir);
    free(dir);
    free(endpoint);
    free(settings);
}

/* The file the plugin made is its own: it holds the six tables and the
 * synthetic marker. */
static void check_own_file(void)
{
    char *path = tu_sprintf("%s/datahub.sqlite", dir);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'synthetic'", -1,
                                        &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "yes");
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(path);
}

START_TEST(thread_mode_answers)
{
    char *so = tu_plugin_path("plugins/datahub", "datahub");
    cg_loaded_plugin lp;
    char err[256] = "";
    ck_assert_msg(cg_loader_open(so, &lp, err, sizeof err) == 0, "%s: %s", so, err);
    free(so);
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = endpoint, .plugin = lp.desc,
                            .abi = lp.abi, .settings_json = settings, .mode = "thread",
                            .credit = 8, .heartbeat_ms = 200};
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "cg_runtime_start: %s", err);
    check_answers();
    check_own_file();
    cg_bus_peer_stats st[2];
    ck_assert_uint_eq(cg_bus_stats(bus, st, 2), 1);
    ck_assert_str_eq(st[0].mode, "thread");
    cg_runtime_stop(rt);
    cg_loader_close(&lp);
}
END_TEST

START_TEST(process_mode_answers)
{
    char *so = tu_plugin_path("plugins/datahub", "datahub");
    char *bin = tu_build_path("core/citygrid-plugind");
    char *log = tu_sprintf("%s/plugind.log", dir);
    pid_t parent = getpid();
    helper = fork();
    ck_assert_int_ge(helper, 0);
    if (helper == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        execl(bin, bin, "--plugin", so, "--endpoint", endpoint, "--settings", settings,
              "--heartbeat-ms", "200", (char *)NULL);
        _exit(127);
    }
    free(bin);
    free(so);
    check_answers();
    check_own_file();
    cg_bus_peer_stats st[2];
    ck_assert_uint_eq(cg_bus_stats(bus, st, 2), 1);
    ck_assert_str_eq(st[0].mode, "process");
    ck_assert_int_eq(st[0].pid, helper);
    free(log);
}
END_TEST

/* A second start on the same file finds the data and loads nothing twice. */
START_TEST(second_start_reuses_the_file)
{
    char *so = tu_plugin_path("plugins/datahub", "datahub");
    cg_loaded_plugin lp;
    char err[256] = "";
    ck_assert_msg(cg_loader_open(so, &lp, err, sizeof err) == 0, "%s: %s", so, err);
    free(so);
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = endpoint, .plugin = lp.desc,
                            .abi = lp.abi, .settings_json = settings, .mode = "thread",
                            .credit = 8, .heartbeat_ms = 200};
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "first start: %s", err);
    ck_assert(spin_until(p_sources_online, NULL, 20000));
    cg_runtime_stop(rt);
    ck_assert(spin_until(p_sources_offline, NULL, 20000));
    rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "second start: %s", err);
    ck_assert(spin_until(p_sources_online, NULL, 20000));
    json_t *rows = ask("persons", json_pack("{}"), 10000);
    char *n = expected("SELECT count(*) FROM persons");
    ck_assert_uint_eq(json_array_size(rows), (size_t)atoi(n));
    free(n);
    json_decref(rows);
    cg_runtime_stop(rt);

    /* No script and no tables: init refuses, naming what is missing. */
    char *empty = tu_sprintf("{\"database\":\"%s/empty.sqlite\",\"sql\":\"\"}", dir);
    o.settings_json = empty;
    rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_ptr_null(rt);
    free(empty);
    cg_loader_close(&lp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("datahub");
    TCase *tc = tcase_create("bus");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thread_mode_answers);
    tcase_add_test(tc, process_mode_answers);
    tcase_add_test(tc, second_start_reuses_the_file);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
