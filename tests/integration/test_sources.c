/*
 * test_sources.c — data sources through the real daemon (API.md "Data
 * sources"), with the test source plugin tests/plugins/source_fake.c and
 * the members of contrib/lishui's roster in grid 33110200100101:
 *   M00157 police professional, M00154 enforcement professional,
 *   M00001 market professional, M00155 municipal professional,
 *   M00153 full-time member, M00151 the grid's leader.
 *
 *  - the permission matrix: every role x source is refused (403 naming what
 *    is missing), masked or whole, as the built-in rules say; spatial
 *    sources answer only inside the caller's grids;
 *  - the "done when": a police professional finds a plate's owner
 *    with a reason; a full-time member sees the same person's ID number
 *    masked; a market professional is refused vehicles, and told why;
 *  - the audit: one row per query that reached a source, with everything
 *    the issue lists; admin and auditor read it (JSON pages, CSV with
 *    Chinese headers and neutralised cells), nobody else; the table
 *    refuses UPDATE and DELETE; `citygridctl audit verify` passes, then
 *    names the row edited with the sqlite3 CLI behind the trigger's back;
 *  - a source that hangs: 504 at the deadline, the daemon answering
 *    meanwhile; a source that is down or missing: 503;
 *  - the daily limit survives a restart; bad input: 400/401/404/422 and
 *    nothing audited.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;

#define GRID "33110200100101"

/* Start the daemon with the test source plugin (and no department
 * plugins: nothing here needs them). extra: more top-level config. */
static void start_with(const char *sources_conf, int heartbeat_ms, int with_plugin)
{
    memset(&D, 0, sizeof D);
    char *so = tu_build_path("tests/plugins/.libs/source_fake.so");
    char *plugin = tu_sprintf("{ name = \"source_fake\"; path = \"%s\"; }", so);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS,
                      .extra_plugins = with_plugin ? plugin : NULL,
                      .extra_config = sources_conf,
                      .heartbeat_ms = heartbeat_ms};
    ta_start(&D, &opt, with_plugin ? "source_fake" : NULL, 30000);
    free(plugin);
    free(so);
}

static void setup(void) { start_with("sources = { timeout_ms = 10000; };", 0, 1); }
static void teardown(void) { td_cleanup(&D); }

/* POST /v1/sources/{source}/query as token; returns the body, *status. */
static json_t *query(const char *token, const char *source, const char *body, int *status)
{
    char *path = tu_sprintf("/v1/sources/%s/query", source);
    json_t *j = ta_call("POST", path, token, body, status);
    free(path);
    return j;
}

static json_t *query_q(const char *token, const char *source, const char *q, int *status)
{
    char *body = tu_sprintf("{\"reason\":\"巡查核实\",\"params\":{\"q\":\"%s\"}}", q);
    json_t *j = query(token, source, body, status);
    free(body);
    return j;
}

static json_t *audit_items(void)
{
    json_t *page = ta_get_json("/v1/audit/queries?limit=500");
    json_t *items = json_incref(json_object_get(page, "items"));
    json_decref(page);
    EXPECT(json_is_array(items), "audit page without items");
    return items;
}

/* ------------------------------------------------------------ the matrix */

typedef struct who {
    const char *member;
    const char *what;
    const char *expect; /* per source in SOURCES order: R refused, M masked, F whole */
} who;

static const char *const SOURCES[] = {"persons", "vehicles", "companies",
                                      "offenders", "property_owners", "cameras"};
/* A non-public field of each source and its whole value in the fake data
 * (first row); for a masked answer it must not appear. */
static const char *const PROBE_FIELD[] = {"id_number", "owner_id_number", "legal_person",
                                          "id_number", "owner_id_number", NULL};
static const char *const PROBE_VALUE[] = {"331102199001011234", "331102199001011234", "王五",
                                          "331102197803033210", "331102196606066543", NULL};

static const who PEOPLE[] = {
    {"M00157", "police professional", "FFRRRR"},
    {"M00154", "enforcement professional", "RRFFFR"},
    {"M00001", "market professional", "RRFRRR"},
    {"M00155", "municipal professional", "RRRRRR"},
    {"M00153", "full-time member", "MRRRRR"},
    {"M00151", "leader", "RRRRRF"},
};

START_TEST(test_permission_matrix)
{
    json_t *before = audit_items();
    size_t audited = json_array_size(before);
    json_decref(before);
    size_t answered = 0;
    for (size_t p = 0; p < sizeof PEOPLE / sizeof PEOPLE[0]; p++) {
        char *token = ta_token_for(PEOPLE[p].member);
        /* GET /v1/sources says the same as the queries do. */
        int st;
        json_t *list = ta_call("GET", "/v1/sources", token, NULL, &st);
        EXPECT(st == 200, "GET /v1/sources as %s: %d", PEOPLE[p].what, st);
        for (size_t s = 0; s < 6; s++) {
            const char *source = SOURCES[s];
            char want = PEOPLE[p].expect[s];
            json_t *entry = ta_find(ta_as_list(list), "name", source);
            EXPECT(entry, "GET /v1/sources lacks %s", source);
            EXPECT(json_is_true(json_object_get(entry, "allowed")) == (want != 'R'),
                   "%s: %s allowed=%s, expected %c", PEOPLE[p].what, source,
                   json_is_true(json_object_get(entry, "allowed")) ? "true" : "false", want);
            EXPECT(json_is_true(json_object_get(entry, "available")), "%s not available", source);
            json_t *j = query_q(token, source, "", &st);
            char *text = ta_dump(j);
            if (want == 'R') {
                EXPECT(st == 403, "%s querying %s: %d, expected 403: %s", PEOPLE[p].what, source,
                       st, text);
                EXPECT(strcmp(ta_error_code(j), "source_forbidden") == 0, "code: %s", text);
                /* The message names the source and what the caller lacks. */
                EXPECT(strstr(text, source) && strstr(text, "需要岗位"),
                       "403 does not say what is missing: %s", text);
            } else {
                EXPECT(st == 200, "%s querying %s: %d, expected 200: %s", PEOPLE[p].what,
                       source, st, text);
                EXPECT(json_integer_value(json_object_get(j, "audit_id")) > 0, "no audit_id: %s",
                       text);
                json_t *items = json_object_get(j, "items");
                EXPECT(json_array_size(items) >= 1, "no rows: %s", text);
                answered++;
                if (PROBE_FIELD[s]) {
                    const char *v = ta_text(json_array_get(items, 0), PROBE_FIELD[s]);
                    int masked_listed = 0;
                    size_t i;
                    json_t *m;
                    json_array_foreach(json_object_get(j, "masked"), i, m)
                        masked_listed |= strcmp(json_string_value(m), PROBE_FIELD[s]) == 0;
                    if (want == 'F') {
                        EXPECT(strcmp(v, PROBE_VALUE[s]) == 0 && !masked_listed,
                               "%s: %s.%s should be whole: %s", PEOPLE[p].what, source,
                               PROBE_FIELD[s], text);
                    } else {
                        EXPECT(strcmp(v, PROBE_VALUE[s]) != 0 && strchr(v, '*') &&
                                   strlen(v) == strlen(PROBE_VALUE[s]) && masked_listed,
                               "%s: %s.%s should be masked (same length): %s",
                               PEOPLE[p].what, source, PROBE_FIELD[s], text);
                    }
                }
            }
            free(text);
            json_decref(j);
        }
        json_decref(list);
        free(token);
    }
    /* Every answered query is in the audit; no refused one is. */
    json_t *after = audit_items();
    EXPECT(json_array_size(after) == audited + answered, "audit has %zu rows, expected %zu",
           json_array_size(after), audited + answered);
    json_decref(after);
}
END_TEST

/* Spatial sources answer only rows inside the caller's grids. */
START_TEST(test_spatial_only_own_grids)
{
    char *leader = ta_token_for("M00151");
    int st;
    json_t *j = query_q(leader, "cameras", "", &st);
    char *text = ta_dump(j);
    EXPECT(st == 200, "leader cameras: %d %s", st, text);
    json_t *items = json_object_get(j, "items");
    EXPECT(json_array_size(items) == 1 && ta_find(items, "name", "测试摄像头甲"),
           "the leader of " GRID " sees only its camera: %s", text);
    free(text);
    json_decref(j);
    /* With a point and a radius, the same. */
    j = query(leader, "cameras",
              "{\"reason\":\"查看监控\",\"params\":{\"lat\":28.455478,\"lon\":119.928065,"
              "\"radius_m\":2000}}", &st);
    EXPECT(st == 200 && json_array_size(json_object_get(j, "items")) == 1, "point query: %d", st);
    json_decref(j);
    char *enf = ta_token_for("M00154");
    j = query_q(enf, "property_owners", "", &st);
    text = ta_dump(j);
    items = json_object_get(j, "items");
    EXPECT(st == 200 && json_array_size(items) == 1 && ta_find(items, "owner_name", "钱七"),
           "property owners only in the caller's grid: %s", text);
    free(text);
    json_decref(j);
    free(enf);
    free(leader);
}
END_TEST

/* The "done when", step by step. */
START_TEST(test_plate_owner_masked_and_refused)
{
    char *police = ta_token_for("M00157");
    int st;
    json_t *j = query(police, "vehicles",
                      "{\"reason\":\"占道停车核查车主\",\"case\":\"C00000001\","
                      "\"params\":{\"q\":\"浙K12345\"}}", &st);
    char *text = ta_dump(j);
    EXPECT(st == 200, "police vehicles: %d %s", st, text);
    json_t *car = json_array_get(json_object_get(j, "items"), 0);
    EXPECT(strcmp(ta_text(car, "owner_name"), "张三丰") == 0 &&
               strcmp(ta_text(car, "owner_id_number"), "331102199001011234") == 0,
           "the owner, whole: %s", text);
    json_int_t audit_id = json_integer_value(json_object_get(j, "audit_id"));
    free(text);
    json_decref(j);

    char *fulltime = ta_token_for("M00153");
    j = query_q(fulltime, "persons", "张三丰", &st);
    text = ta_dump(j);
    json_t *person = json_array_get(json_object_get(j, "items"), 0);
    EXPECT(st == 200 && strcmp(ta_text(person, "id_number"), "3311**********1234") == 0 &&
               strcmp(ta_text(person, "name"), "张**") == 0 &&
               strcmp(ta_text(person, "phone"), "138****5678") == 0,
           "full-time member sees the person masked: %s", text);
    free(text);
    json_decref(j);

    char *market = ta_token_for("M00001");
    j = query_q(market, "vehicles", "浙K12345", &st);
    text = ta_dump(j);
    EXPECT(st == 403 && strstr(text, "vehicles") && strstr(text, "professional（police）"),
           "market refused vehicles, naming the role needed: %d %s", st, text);
    free(text);
    json_decref(j);

    /* The police query's audit row says everything. */
    json_t *items = audit_items();
    json_t *row = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
        if (json_integer_value(json_object_get(it, "id")) == audit_id)
            row = it;
    text = ta_dump(row);
    EXPECT(row, "audit row %lld missing", (long long)audit_id);
    EXPECT(strcmp(ta_text(row, "member"), "M00157") == 0 &&
               strcmp(ta_text(row, "role"), "professional") == 0 &&
               strcmp(ta_text(row, "department"), "police") == 0 &&
               strcmp(ta_text(row, "source"), "vehicles") == 0 &&
               strcmp(ta_text(row, "reason"), "占道停车核查车主") == 0 &&
               strcmp(ta_text(row, "case"), "C00000001") == 0 &&
               strcmp(ta_text(row, "outcome"), "ok") == 0 &&
               json_integer_value(json_object_get(row, "rows")) == 1 &&
               strcmp(ta_text(json_object_get(row, "params"), "q"), "浙K12345") == 0 &&
               *ta_text(row, "instance") && strstr(ta_text(row, "at"), "+08:00"),
           "audit row incomplete: %s", text);
    char *unmasked = ta_dump(json_object_get(row, "unmasked"));
    EXPECT(strstr(unmasked, "owner_id_number") && !strstr(unmasked, "model"),
           "unmasked fields: %s", unmasked);
    free(unmasked);
    free(text);
    json_decref(items);
    free(market);
    free(fulltime);
    free(police);
}
END_TEST

START_TEST(test_bad_input_changes_nothing)
{
    char *police = ta_token_for("M00157");
    json_t *before = audit_items();
    static const struct {
        const char *source, *body;
        int status;
        const char *code;
    } cases[] = {
        {"persons", "{\"params\":{\"q\":\"张\"}}", 422, "missing_reason"},
        {"persons", "{\"reason\":\"  \u3000 \",\"params\":{}}", 422, "missing_reason"},
        {"persons", "{\"reason\":42}", 400, "invalid_field"},
        {"persons", "{\"reason\":\"r\",\"params\":[1]}", 400, "invalid_field"},
        {"persons", "{\"reason\":\"r\",\"params\":{\"lat\":28.4}}", 400, "invalid_field"},
        {"persons", "{\"reason\":\"r\",\"params\":{\"lat\":128,\"lon\":119}}", 400,
         "invalid_field"},
        {"persons", "{\"reason\":\"r\",\"case\":7}", 400, "invalid_field"},
        {"persons", "{\"reason\":\"r\",\"params\":{\"q\":5}}", 400, "invalid_field"},
        {"persons", "{not json", 400, "invalid_json"},
        {"no_such_source", "{\"reason\":\"r\"}", 404, "unknown_source"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st;
        json_t *j = query(police, cases[i].source, cases[i].body, &st);
        char *text = ta_dump(j);
        EXPECT(st == cases[i].status && strcmp(ta_error_code(j), cases[i].code) == 0,
               "%s %s: %d %s, expected %d %s", cases[i].source, cases[i].body, st, text,
               cases[i].status, cases[i].code);
        free(text);
        json_decref(j);
    }
    ta_expect_status("POST", "/v1/sources/persons/query", NULL, "{\"reason\":\"r\"}", 401);
    ta_expect_status("GET", "/v1/sources", NULL, NULL, 401);
    ta_expect_status("GET", "/v1/audit/queries", NULL, NULL, 401);
    json_t *after = audit_items();
    EXPECT(json_array_size(after) == json_array_size(before), "a refused query was audited");
    json_decref(after);
    json_decref(before);
    free(police);
}
END_TEST

/* ------------------------------------------------------------ the audit */

static char *read_all(const char *path)
{
    char *t = tu_read_file(path);
    return t ? t : strdup("");
}

/* Run a program (argv NULL-terminated) with stdout+stderr to a file:
 * its exit status; *output its text. */
static int run(const char *const *argv, char **output)
{
    char *dir = tu_tempdir("sources-run");
    char *out = tu_sprintf("%s/out", dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = -1;
    EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid, "cannot run %s", argv[0]);
    *output = read_all(out);
    tu_rmrf(dir);
    free(out);
    free(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_audit_readers_csv_chain_and_tamper)
{
    char *police = ta_token_for("M00157");
    int st;
    json_t *j = query(police, "persons",
                      "{\"reason\":\"=HYPERLINK(\\\"http://x\\\")\",\"params\":{\"q\":\"李四\"}}",
                      &st);
    EXPECT(st == 200, "query: %d", st);
    json_decref(j);
    j = query_q(police, "vehicles", "浙K", &st);
    json_decref(j);
    j = query_q(police, "persons", "", &st);
    json_decref(j);

    /* Readers: admin, an auditor; not the police professional. */
    j = ta_call("GET", "/v1/audit/queries", police, NULL, &st);
    EXPECT(st == 403, "a member read the audit: %d", st);
    json_decref(j);
    char *auditor = ta_token_for("M00155");
    ta_expect_status("GET", "/v1/audit/queries", auditor, NULL, 403);
    ta_expect_status("PATCH", "/v1/members/M00155", auditor, "{\"auditor\":true}", 403);
    ta_expect_status("PATCH", "/v1/members/M00155", D.token, "{\"auditor\":true}", 200);
    j = ta_expect_call("GET", "/v1/audit/queries?limit=2", auditor, NULL, 200);
    EXPECT(json_array_size(json_object_get(j, "items")) == 2 && ta_str(j, "next"),
           "a page of 2 with a next cursor");
    char *next = tu_sprintf("/v1/audit/queries?limit=2&before=%s", ta_str(j, "next"));
    json_decref(j);
    j = ta_expect_call("GET", next, auditor, NULL, 200);
    EXPECT(json_array_size(json_object_get(j, "items")) == 1 && json_is_null(json_object_get(j, "next")),
           "the last page");
    json_decref(j);
    free(next);
    /* An auditor reads; they do not query. */
    j = query_q(auditor, "persons", "", &st);
    EXPECT(st == 403, "an auditor queried: %d", st);
    json_decref(j);

    hc_response r = ta_get("/v1/audit/queries?format=csv", auditor);
    EXPECT(r.status == 200 && r.content_type && strstr(r.content_type, "text/csv"),
           "CSV: %d %s", r.status, r.content_type ? r.content_type : "-");
    EXPECT(strncmp(r.body, "\xEF\xBB\xBF序号,时间,", strlen("\xEF\xBB\xBF序号,时间,")) == 0,
           "CSV header: %.200s", r.body);
    EXPECT(strstr(r.body, "事由") && strstr(r.body, "\"'=HYPERLINK(\"\"http://x\"\")\""),
           "the reason cell neutralised: %.2000s", r.body);
    hc_response_free(&r);

    /* The table refuses UPDATE and DELETE, even from the sqlite3 CLI. */
    td_stop(&D);
    char *db = tu_sprintf("%s/citygrid.db", D.dir);
    char *out;
    const char *update[] = {"sqlite3", db, "UPDATE query_audit SET reason = 'x' WHERE seq = 2;",
                            NULL};
    EXPECT(run(update, &out) != 0 && strstr(out, "append-only"), "UPDATE allowed: %s", out);
    free(out);
    const char *del[] = {"sqlite3", db, "DELETE FROM query_audit WHERE seq = 2;", NULL};
    EXPECT(run(del, &out) != 0 && strstr(out, "append-only"), "DELETE allowed: %s", out);
    free(out);

    char *ctl = tu_build_path("core/citygridctl");
    const char *verify[] = {ctl, "--state-dir", D.dir, "audit", "verify", NULL};
    EXPECT(run(verify, &out) == 0 && strstr(out, "intact: 3 rows"), "verify: %s", out);
    free(out);
    /* Behind the trigger's back: row 2 edited. */
    const char *tamper[] = {"sqlite3", db,
                            "DROP TRIGGER query_audit_no_update;"
                            " UPDATE query_audit SET reason = '正常巡查' WHERE seq = 2;",
                            NULL};
    EXPECT(run(tamper, &out) == 0, "tamper: %s", out);
    free(out);
    EXPECT(run(verify, &out) == 1 && strstr(out, "audit row 2 "), "verify after edit: %s", out);
    free(out);
    free(ctl);
    free(db);
    free(auditor);
    free(police);
}
END_TEST

/* ------------------------------------------------------------ sources that fail */

typedef struct slow_call {
    int port;
    const char *token;
    hc_response r;
    volatile int done;
} slow_call;

static void *slow_query(void *arg)
{
    slow_call *c = arg;
    hc_request req = {.method = "POST", .path = "/v1/sources/persons/query", .token = c->token,
                      .body = "{\"reason\":\"测试\",\"params\":{\"q\":\"hang\"}}",
                      .timeout_ms = 60000 * tu_patience()};
    hc_send(c->port, &req, &c->r);
    __atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void setup_slow(void)
{
    /* Heartbeats slower than the query's deadline: the hanging plugin is
     * late, not lost, when its deadline passes. */
    start_with("sources = { timeout_ms = 1500; };", 3000, 1);
}

START_TEST(test_hanging_source_times_out_daemon_answers)
{
    char *police = ta_token_for("M00157");
    /* A source that says it is down: 503 (asked first: the hanging query
     * below keeps the plugin busy past its deadline). */
    int st;
    json_t *j = query_q(police, "persons", "down", &st);
    EXPECT(st == 503 && strcmp(ta_error_code(j), "source_unavailable") == 0, "down: %d", st);
    json_decref(j);
    slow_call c = {.port = D.port, .token = police};
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, slow_query, &c) == 0, "thread");
    /* While the query hangs, the daemon answers other requests. */
    int answered_meanwhile = 0;
    long long give_up = td_deadline(30000);
    while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST) && ta_mono_ms() < give_up) {
        hc_response r = ta_get("/v1/health", NULL);
        int ok = r.status == 200;
        hc_response_free(&r);
        if (ok && !__atomic_load_n(&c.done, __ATOMIC_SEQ_CST))
            answered_meanwhile++;
        ta_sleep_ms(50);
    }
    pthread_join(t, NULL);
    EXPECT(c.r.status == 504 && strstr(c.r.body, "source_timeout"), "hanging source: %d %s",
           c.r.status, c.r.body);
    EXPECT(answered_meanwhile > 0, "no request was answered while the query hung");
    hc_response_free(&c.r);
    /* The timeout is audited. */
    json_t *items = audit_items();
    EXPECT(json_array_size(items) == 2 &&
               strcmp(ta_text(json_array_get(items, 0), "outcome"), "timeout") == 0 &&
               strcmp(ta_text(json_array_get(items, 1), "outcome"), "unavailable") == 0,
           "the timeout and the failure audited");
    json_decref(items);
    free(police);
}
END_TEST

static void setup_no_plugin(void) { start_with(NULL, 0, 0); }

START_TEST(test_no_plugin_serves_it)
{
    char *police = ta_token_for("M00157");
    int st;
    json_t *j = query_q(police, "persons", "张", &st);
    EXPECT(st == 503 && strcmp(ta_error_code(j), "source_unavailable") == 0, "no plugin: %d", st);
    json_decref(j);
    j = ta_call("GET", "/v1/sources", police, NULL, &st);
    json_t *persons = ta_find(ta_as_list(j), "name", "persons");
    EXPECT(st == 200 && persons && !json_is_true(json_object_get(persons, "available")) &&
               json_is_true(json_object_get(persons, "allowed")),
           "persons listed, allowed, not available");
    json_decref(j);
    json_t *items = audit_items();
    EXPECT(json_array_size(items) == 0, "nothing reached a source: nothing audited");
    json_decref(items);
    free(police);
}
END_TEST

static void setup_limited(void) { start_with("sources = { daily_limit = 2; };", 0, 1); }

START_TEST(test_daily_limit_survives_restart)
{
    char *police = ta_token_for("M00157");
    int st;
    for (int i = 0; i < 2; i++) {
        json_t *j = query_q(police, "vehicles", "浙K", &st);
        EXPECT(st == 200, "query %d: %d", i + 1, st);
        json_decref(j);
    }
    json_t *j = query_q(police, "vehicles", "浙K", &st);
    EXPECT(st == 429 && strcmp(ta_error_code(j), "daily_limit") == 0, "third: %d", st);
    json_decref(j);
    EXPECT(td_stop(&D) == 0, "clean stop");
    EXPECT(td_restart(&D) == 0, "restart");
    EXPECT(td_wait_plugins_ready(&D, "source_fake", 30000 * tu_patience(), NULL) == 0,
           "source_fake ready again");
    j = query_q(police, "vehicles", "浙K", &st);
    EXPECT(st == 429, "after a restart: %d", st);
    json_decref(j);
    /* Another member has their own count. */
    char *fulltime = ta_token_for("M00153");
    j = query_q(fulltime, "persons", "", &st);
    EXPECT(st == 200, "another member: %d", st);
    json_decref(j);
    free(fulltime);
    free(police);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sources");
    TCase *tc = ta_tcase(s, "permissions", setup, teardown, 240);
    tcase_add_test(tc, test_permission_matrix);
    tcase_add_test(tc, test_spatial_only_own_grids);
    tcase_add_test(tc, test_plate_owner_masked_and_refused);
    tcase_add_test(tc, test_bad_input_changes_nothing);
    tcase_add_test(tc, test_audit_readers_csv_chain_and_tamper);
    ta_add_case(s, "hanging source", test_hanging_source_times_out_daemon_answers, setup_slow,
                teardown, 120);
    ta_add_case(s, "no plugin", test_no_plugin_serves_it, setup_no_plugin, teardown, 120);
    ta_add_case(s, "daily limit", test_daily_limit_survives_restart, setup_limited, teardown,
                120);
    return ta_run(s);
}
