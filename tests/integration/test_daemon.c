/*
 * test_daemon.c — integration tests: the real citygridd, its department
 * plugins, and the HTTP API of API.md, end to end.
 *
 * Each test starts its own daemon (tests/integration/daemon.h) on a fresh
 * state dir and a free port, talks to it over HTTP (http_client.h), and the
 * checked teardown kills it. Every wait polls with a deadline. A failed
 * expectation prints the response body and the daemon's log, kills the
 * daemon and keeps its state dir.
 *
 * Run alone:  CG_BUILDDIR=$PWD CK_RUN_CASE=cases tests/integration/test_daemon
 * (see tests/integration/README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/testapi.h"
#include "support/testutil.h"

#define READY_TIMEOUT_MS 10000   /* plugins say READY asynchronously */
#define CASE_TIMEOUT_MS 10000    /* a dispatched case gets accepted */
#define RETRY_TIMEOUT_MS 20000   /* retry_base_ms 500, plus the lease */
#define BODY_EXCERPT "%.3000s"

static const char *const builtin_categories[19][2] = {
    {"municipal_facility", "municipal"},   {"landscaping", "municipal"},
    {"sanitation", "sanitation"},          {"traffic_safety", "police"},
    {"eco_environment", "enforcement"},    {"food_hygiene", "market"},
    {"six_small_trades", "market"},        {"street_stall", "enforcement"},
    {"outside_shop_trading", "enforcement"}, {"posting", "enforcement"},
    {"graffiti", "enforcement"},           {"splashing", "enforcement"},
    {"dumping", "enforcement"},            {"stringing", "enforcement"},
    {"hanging", "enforcement"},            {"illegal_structure", "enforcement"},
    {"illegal_building", "enforcement"},   {"illegal_parking", "police"},
    {"illegal_placement", "enforcement"},
};
static const char *const mandatory_departments[5] = {"enforcement", "municipal", "sanitation",
                                                      "market", "police"};
#define STALL_CASE \
    "{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92," \
    "\"description\":\"stall on the pavement\",\"source\":\"patrol\"}"

/* The test's daemon; the checked teardown always cleans it up. */
static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* ------------------------------------------------------------ helpers */

static void start_default(void)
{
    ta_start(&D, NULL, TA_DEPARTMENT_PLUGINS, READY_TIMEOUT_MS);
}

/* A 4xx error: {"error":{"code":CODE,"message":...}}. code NULL: any code. */
static void expect_error(hc_response *r, int status, const char *code, const char *what)
{
    json_t *j = ta_expect_json(r, status, what);
    json_t *err = json_object_get(j, "error");
    const char *got = ta_str(err, "code");
    EXPECT(json_is_object(err) && got && json_is_string(json_object_get(err, "message")),
           "%s: error body is not {\"error\":{\"code\",\"message\"}}: " BODY_EXCERPT, what,
           r->body);
    EXPECT(!code || strcmp(got, code) == 0, "%s: error code \"%s\", expected \"%s\"; body: "
           BODY_EXCERPT, what, got, code, r->body);
    json_decref(j);
}

/* Number of cases the API lists (at most 1000). */
static long case_count(void)
{
    hc_response r = ta_get("/v1/cases?limit=1000", D.token);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/cases?limit=1000");
    json_t *items = json_object_get(j, "items");
    EXPECT(json_is_array(items), "GET /v1/cases: no items array: " BODY_EXCERPT, r.body);
    long n = (long)json_array_size(items);
    json_decref(j);
    hc_response_free(&r);
    return n;
}

/* POST a case, expect 201; returns its id (malloc'd). */
static char *report_case(const char *json, const char *expect_status_a,
                         const char *expect_status_b)
{
    hc_response r = ta_post("/v1/cases", D.token, json);
    json_t *j = ta_expect_json(&r, 201, "POST /v1/cases");
    const char *id = ta_str(j, "id");
    const char *status = ta_str(j, "status");
    EXPECT(id && *id, "POST /v1/cases: 201 without an id: " BODY_EXCERPT, r.body);
    EXPECT(status && ((expect_status_a && strcmp(status, expect_status_a) == 0) ||
                      (expect_status_b && strcmp(status, expect_status_b) == 0)),
           "POST /v1/cases: status \"%s\", expected %s%s%s: " BODY_EXCERPT,
           status ? status : "(none)", expect_status_a, expect_status_b ? " or " : "",
           expect_status_b ? expect_status_b : "", r.body);
    EXPECT(r.location && strstr(r.location, id) && strstr(r.location, "/v1/cases/"),
           "POST /v1/cases: Location \"%s\" does not point at /v1/cases/%s",
           r.location ? r.location : "(none)", id);
    char *out = strdup(id);
    json_decref(j);
    hc_response_free(&r);
    return out;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_health_lists_ready_plugins)
{
    start_default();
    hc_response r = ta_get("/v1/health", NULL);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/health without a token");
    EXPECT(ta_str(j, "status") && strcmp(ta_str(j, "status"), "ok") == 0,
           "health status is not \"ok\": " BODY_EXCERPT, r.body);
    EXPECT(json_is_string(json_object_get(j, "version")), "health has no version: "
           BODY_EXCERPT, r.body);
    json_t *plugins = json_object_get(j, "plugins");
    EXPECT(json_is_array(plugins) && json_array_size(plugins) == TD_N_DEPARTMENT_PLUGINS,
           "health should list the %d plugins: " BODY_EXCERPT, TD_N_DEPARTMENT_PLUGINS, r.body);
    for (int i = 0; i < TD_N_DEPARTMENT_PLUGINS; i++) {
        json_t *p = ta_find(plugins, "name", td_department_plugins[i]);
        EXPECT(p, "plugin %s missing from health: " BODY_EXCERPT, td_department_plugins[i],
               r.body);
        EXPECT(json_is_string(json_object_get(p, "version")), "plugin %s has no version",
               td_department_plugins[i]);
        EXPECT(strcmp(ta_str(p, "state"), "ready") == 0, "plugin %s not ready: "
               BODY_EXCERPT, td_department_plugins[i], r.body);
    }
    json_decref(j);
    hc_response_free(&r);
}
END_TEST

START_TEST(test_categories_and_departments)
{
    start_default();
    hc_response r = ta_get("/v1/categories", D.token);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/categories");
    json_t *list = ta_as_list(j);
    EXPECT(json_is_array(list) && json_array_size(list) == 19,
           "expected the 19 built-in categories: " BODY_EXCERPT, r.body);
    for (int i = 0; i < 19; i++) {
        json_t *c = ta_find(list, "code", builtin_categories[i][0]);
        EXPECT(c, "category %s missing: " BODY_EXCERPT, builtin_categories[i][0], r.body);
        const char *dept = ta_str(c, "department");
        EXPECT(dept && strcmp(dept, builtin_categories[i][1]) == 0,
               "category %s goes to %s, expected %s", builtin_categories[i][0],
               dept ? dept : "(none)", builtin_categories[i][1]);
        EXPECT(json_is_string(json_object_get(c, "name")) &&
                   json_is_string(json_object_get(c, "name_zh")) &&
                   json_is_number(json_object_get(c, "sla_hours")),
               "category %s lacks name/name_zh/sla_hours", builtin_categories[i][0]);
    }
    json_decref(j);
    hc_response_free(&r);

    r = ta_get("/v1/departments", D.token);
    j = ta_expect_json(&r, 200, "GET /v1/departments");
    list = ta_as_list(j);
    EXPECT(json_is_array(list), "departments is not a list: " BODY_EXCERPT, r.body);
    for (int i = 0; i < 5; i++) {
        json_t *d = ta_find(list, "code", mandatory_departments[i]);
        EXPECT(d, "department %s missing: " BODY_EXCERPT, mandatory_departments[i], r.body);
        EXPECT(json_is_true(json_object_get(d, "mandatory")), "department %s not mandatory",
               mandatory_departments[i]);
        const char *plugin = ta_str(d, "plugin");
        EXPECT(plugin && strcmp(plugin, mandatory_departments[i]) == 0,
               "department %s: plugin \"%s\", expected \"%s\"", mandatory_departments[i],
               plugin ? plugin : "(none)", mandatory_departments[i]);
        EXPECT(json_is_string(json_object_get(d, "name")) &&
                   json_is_string(json_object_get(d, "name_zh")),
               "department %s lacks name/name_zh", mandatory_departments[i]);
    }
    size_t i;
    json_t *d;
    json_array_foreach(list, i, d) {
        const char *code = ta_str(d, "code");
        int is_mandatory = 0;
        for (int k = 0; k < 5; k++)
            is_mandatory |= code && strcmp(code, mandatory_departments[k]) == 0;
        EXPECT(is_mandatory == json_is_true(json_object_get(d, "mandatory")),
               "department %s: wrong mandatory flag", code ? code : "?");
    }
    json_decref(j);
    hc_response_free(&r);
}
END_TEST

START_TEST(test_token_required)
{
    start_default();
    hc_response r = ta_get("/v1/cases", NULL);
    expect_error(&r, 401, NULL, "GET /v1/cases without a token");
    hc_response_free(&r);
    r = ta_get("/v1/cases", "0000000000000000000000000000000000000000000000000000000000000000");
    expect_error(&r, 401, NULL, "GET /v1/cases with a bad token");
    hc_response_free(&r);
    r = ta_get("/v1/categories", NULL);
    expect_error(&r, 401, NULL, "GET /v1/categories without a token");
    hc_response_free(&r);
    r = ta_get("/v1/plugins", "not-a-token");
    expect_error(&r, 401, NULL, "GET /v1/plugins with a bad token");
    hc_response_free(&r);
    r = ta_post("/v1/cases", NULL, STALL_CASE);
    expect_error(&r, 401, NULL, "POST /v1/cases without a token");
    hc_response_free(&r);
    EXPECT(case_count() == 0, "a refused POST stored a case");
}
END_TEST

START_TEST(test_report_is_dispatched_and_accepted)
{
    start_default();
    char *id = report_case(STALL_CASE, "dispatched", "accepted");
    json_t *c = ta_wait_case(id, "status", "accepted", CASE_TIMEOUT_MS);
    char *s = ta_dump(c);
    EXPECT(strcmp(ta_str(c, "id"), id) == 0, "wrong id: %s", s);
    EXPECT(ta_str(c, "department") && strcmp(ta_str(c, "department"), "enforcement") == 0,
           "department is not enforcement: %s", s);
    EXPECT(ta_str(c, "category") && strcmp(ta_str(c, "category"), "street_stall") == 0,
           "category is not street_stall: %s", s);
    EXPECT(ta_str(c, "assignee") && *ta_str(c, "assignee"), "no assignee: %s", s);
    EXPECT(ta_str(c, "expected_at") && *ta_str(c, "expected_at"), "no expected_at: %s", s);
    EXPECT(ta_str(c, "level") && strcmp(ta_str(c, "level"), "grid") == 0,
           "level is not grid: %s", s);
    EXPECT(json_is_number(json_object_get(c, "lat")) &&
               json_number_value(json_object_get(c, "lat")) > 28.44 &&
               json_number_value(json_object_get(c, "lat")) < 28.46,
           "lat not kept: %s", s);
    EXPECT(ta_history_count(c, "report") == 1, "history needs one report: %s", s);
    EXPECT(ta_history_count(c, "dispatch") == 1, "history needs one dispatch: %s", s);
    EXPECT(ta_history_count(c, "accept") == 1, "history needs exactly one accept: %s", s);
    json_t *acc = ta_history_find(c, "accept");
    EXPECT(ta_str(acc, "actor") && strcmp(ta_str(acc, "actor"), "plugin:enforcement") == 0,
           "accept actor is not plugin:enforcement: %s", s);
    json_t *disp = ta_history_find(c, "dispatch");
    EXPECT(ta_str(disp, "to") && strcmp(ta_str(disp, "to"), "dispatched") == 0,
           "dispatch does not go to dispatched: %s", s);
    free(s);
    json_decref(c);

    hc_response r = ta_get("/v1/cases/C99999999", D.token);
    expect_error(&r, 404, NULL, "GET an unknown case");
    hc_response_free(&r);
    free(id);
}
END_TEST

/* Issue 3: a dispatch carries the grid's members of the department and the
 * plugin assigns one of them. In contrib/lishui/roster.csv the enforcement
 * professional of grid 33110200100101 is M00154 (its instructor M00152 is
 * also "enforcement" but must not be chosen: only professionals are sent). */
START_TEST(test_case_is_assigned_to_the_grids_professional)
{
    start_default();
    char *id = report_case("{\"category\":\"street_stall\",\"lat\":28.455478,\"lon\":119.928065}",
                           "dispatched", "accepted");
    json_t *c = ta_wait_case(id, "status", "accepted", CASE_TIMEOUT_MS);
    char *s = ta_dump(c);
    EXPECT(ta_str(c, "grid") && strcmp(ta_str(c, "grid"), "33110200100101") == 0,
           "grid not located: %s", s);
    EXPECT(ta_str(c, "assignee") && strcmp(ta_str(c, "assignee"), "M00154") == 0,
           "not assigned to the grid's enforcement professional M00154: %s", s);
    free(s);
    json_decref(c);
    free(id);
}
END_TEST

START_TEST(test_penalty_transferred_to_enforcement)
{
    start_default();
    char *id = report_case("{\"category\":\"landscaping\",\"lat\":28.45,\"lon\":119.92,"
                           "\"description\":\"trees cut down\",\"needs_penalty\":true}",
                           "dispatched", "accepted");
    long long deadline = td_deadline(CASE_TIMEOUT_MS);
    json_t *c = NULL;
    for (;;) {
        c = ta_get_case(id);
        const char *st = ta_str(c, "status"), *dept = ta_str(c, "department");
        if (st && dept && strcmp(st, "accepted") == 0 && strcmp(dept, "enforcement") == 0)
            break;
        char *s = ta_dump(c);
        EXPECT(ta_mono_ms() < deadline, "landscaping+penalty not accepted by enforcement within "
               "%d ms: %s", CASE_TIMEOUT_MS, s);
        free(s);
        json_decref(c);
        ta_sleep_ms(50);
    }
    char *s = ta_dump(c);
    json_t *t = ta_history_find(c, "transfer");
    EXPECT(t, "no transfer in history: %s", s);
    EXPECT(ta_str(t, "actor") && strcmp(ta_str(t, "actor"), "plugin:municipal") == 0,
           "transfer actor is not plugin:municipal: %s", s);
    EXPECT(ta_history_count(c, "accept") == 1, "expected exactly one accept: %s", s);
    json_t *acc = ta_history_find(c, "accept");
    EXPECT(strcmp(ta_str(acc, "actor"), "plugin:enforcement") == 0,
           "accept actor is not plugin:enforcement: %s", s);
    free(s);
    json_decref(c);
    free(id);
}
END_TEST

/* One bad request: its status and error code. */
static void bad_request(const char *what, const char *method, const char *path,
                       const char *content_type, const char *body, int status, const char *code)
{
    hc_request req = {.method = method, .path = path, .token = D.token,
                      .content_type = content_type, .body = body};
    hc_response r;
    hc_send(D.port, &req, &r);
    expect_error(&r, status, code, what);
    hc_response_free(&r);
}

START_TEST(test_bad_input_is_refused_and_writes_nothing)
{
    start_default();
    /* One good case first so "nothing written" is measured against a non-empty store. */
    free(report_case(STALL_CASE, "dispatched", "accepted"));
    long before = case_count();

    bad_request("malformed JSON", "POST", "/v1/cases", NULL, "{\"category\": \"street_st",
                400, "invalid_json");
    bad_request("a JSON array", "POST", "/v1/cases", NULL, "[" STALL_CASE "]", 400,
                "body_not_object");
    bad_request("unknown category", "POST", "/v1/cases", NULL,
                "{\"category\":\"flying_saucer\",\"lat\":28.45,\"lon\":119.92}", 422,
                "unknown_category");
    bad_request("missing location", "POST", "/v1/cases", NULL,
                "{\"category\":\"street_stall\",\"description\":\"where?\"}", 400,
                "missing_field");
    bad_request("missing category", "POST", "/v1/cases", NULL,
                "{\"lat\":28.45,\"lon\":119.92}", 400, "missing_field");
    bad_request("non-numeric lat", "POST", "/v1/cases", NULL,
                "{\"category\":\"street_stall\",\"lat\":\"north\",\"lon\":119.92}", 400,
                "invalid_field");

    /* > 64 KiB: 413. */
    size_t big = 70 * 1024;
    char *desc = malloc(big + 1);
    memset(desc, 'x', big);
    desc[big] = 0;
    char *huge = tu_sprintf("{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92,"
                            "\"description\":\"%s\"}", desc);
    bad_request("a body over 64 KiB", "POST", "/v1/cases", NULL, huge, 413, "body_too_large");
    free(huge);
    free(desc);

    bad_request("wrong content type", "POST", "/v1/cases", "text/plain", STALL_CASE, 415, NULL);
    bad_request("unknown path", "GET", "/v1/no-such-thing", NULL, NULL, 404, "not_found");
    bad_request("wrong method", "DELETE", "/v1/cases", NULL, NULL, 405, "method_not_allowed");

    /* The daemon still works after all that. */
    hc_response r = ta_get("/v1/health", NULL);
    EXPECT(r.status == 200, "health after bad input: %d " BODY_EXCERPT, r.status, r.body);
    hc_response_free(&r);
    long after = case_count();
    EXPECT(after == before, "bad requests changed the number of cases: %ld -> %ld", before,
           after);
}
END_TEST

START_TEST(test_handled_on_site_is_not_dispatched)
{
    start_default();
    char *id = report_case("{\"category\":\"posting\",\"lat\":28.45,\"lon\":119.92,"
                           "\"description\":\"poster removed\",\"handled_on_site\":true}",
                           "handled", NULL);
    json_t *c = ta_get_case(id);
    char *s = ta_dump(c);
    EXPECT(strcmp(ta_str(c, "status"), "handled") == 0, "not handled: %s", s);
    EXPECT(json_is_true(json_object_get(c, "handled_on_site")), "handled_on_site not true: %s",
           s);
    EXPECT(ta_history_count(c, "dispatch") == 0, "a case handled on site was dispatched: %s", s);
    EXPECT(ta_history_count(c, "report") == 1 && ta_history_count(c, "handle") == 1,
           "history should be report then handle: %s", s);
    free(s);
    json_decref(c);
    free(id);
}
END_TEST

/* Ids of a list page's items, into ids[]; returns the count. */
static size_t page_ids(json_t *page, char **ids, size_t max)
{
    size_t i, n = 0;
    json_t *it;
    json_array_foreach(json_object_get(page, "items"), i, it) {
        if (n < max && ta_str(it, "id"))
            ids[n++] = strdup(ta_str(it, "id"));
    }
    return n;
}

START_TEST(test_list_filters_and_paging)
{
    start_default();
    char *ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = report_case(STALL_CASE, "dispatched", "accepted");
    char *other = report_case("{\"category\":\"sanitation\",\"lat\":28.45,\"lon\":119.92}",
                              "dispatched", "accepted");
    for (int i = 0; i < 5; i++)
        json_decref(ta_wait_case(ids[i], "status", "accepted", CASE_TIMEOUT_MS));

    /* department filter */
    hc_response r = ta_get("/v1/cases?department=enforcement&limit=1000", D.token);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/cases?department=enforcement");
    json_t *items = json_object_get(j, "items");
    EXPECT(json_array_size(items) == 5, "department=enforcement: expected 5 cases: "
           BODY_EXCERPT, r.body);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
        EXPECT(strcmp(ta_str(it, "department"), "enforcement") == 0,
               "department filter let another through: " BODY_EXCERPT, r.body);
    EXPECT(!ta_find(items, "id", other), "the sanitation case is in the enforcement list");
    json_decref(j);
    hc_response_free(&r);

    /* status filter */
    r = ta_get("/v1/cases?status=accepted&limit=1000", D.token);
    j = ta_expect_json(&r, 200, "GET /v1/cases?status=accepted");
    items = json_object_get(j, "items");
    EXPECT(json_array_size(items) >= 5, "status=accepted: expected >= 5: " BODY_EXCERPT, r.body);
    json_array_foreach(items, i, it)
        EXPECT(strcmp(ta_str(it, "status"), "accepted") == 0,
               "status filter let another through: " BODY_EXCERPT, r.body);
    json_decref(j);
    hc_response_free(&r);

    /* paging: limit=2 over 6 cases -> 2, 2, 2, no duplicates, then next null */
    char *seen[16];
    size_t n_seen = 0;
    char *cursor = NULL;
    int pages = 0;
    for (;;) {
        char *enc = cursor ? hc_url_encode(cursor) : NULL;
        char *path = enc ? tu_sprintf("/v1/cases?limit=2&cursor=%s", enc)
                         : strdup("/v1/cases?limit=2");
        r = ta_get(path, D.token);
        j = ta_expect_json(&r, 200, path);
        size_t got = page_ids(j, seen + n_seen, 16 - n_seen);
        EXPECT(got >= 1 && got <= 2, "%s: %zu items: " BODY_EXCERPT, path, got, r.body);
        for (size_t a = n_seen; a < n_seen + got; a++)
            for (size_t b = 0; b < a; b++)
                EXPECT(strcmp(seen[a], seen[b]) != 0, "case %s on two pages", seen[a]);
        n_seen += got;
        pages++;
        json_t *next = json_object_get(j, "next");
        EXPECT(next && (json_is_null(next) || json_is_string(next)),
               "%s: next must be a string or null: " BODY_EXCERPT, path, r.body);
        free(cursor);
        cursor = json_is_string(next) ? strdup(json_string_value(next)) : NULL;
        if (pages == 1)
            EXPECT(cursor, "first page of 2 out of 6 has no next cursor: " BODY_EXCERPT, r.body);
        free(enc);
        free(path);
        json_decref(j);
        hc_response_free(&r);
        if (!cursor || pages > 6)
            break;
    }
    EXPECT(n_seen == 6, "paging saw %zu cases in %d pages, expected 6", n_seen, pages);
    for (size_t k = 0; k < n_seen; k++)
        free(seen[k]);
    r = ta_get("/v1/cases?cursor=garbage%21", D.token);
    EXPECT(r.status == 400, "a bad cursor: expected 400, got %d " BODY_EXCERPT, r.status, r.body);
    hc_response_free(&r);
    for (int k = 0; k < 5; k++)
        free(ids[k]);
    free(other);
}
END_TEST

static void expect_token_works(const char *token, const char *what)
{
    hc_response r = ta_get("/v1/cases?limit=1", token);
    EXPECT(r.status == 200, "%s: GET /v1/cases with it gave %d " BODY_EXCERPT, what, r.status,
           r.body);
    hc_response_free(&r);
}

START_TEST(test_sessions_and_tokens)
{
    start_default();
    char *pw_path = tu_sprintf("%s/admin.password", D.dir);
    char *pw = tu_read_file(pw_path);
    EXPECT(pw, "no %s", pw_path);
    pw[strcspn(pw, "\r\n")] = 0;

    json_t *login = json_pack("{s:s, s:s}", "login", "admin", "password", pw);
    char *body = json_dumps(login, JSON_COMPACT);
    hc_response r = ta_post("/v1/sessions", NULL, body);
    json_t *j = ta_expect_json(&r, 200, "POST /v1/sessions admin");
    const char *token = ta_str(j, "token");
    EXPECT(token && *token, "no token in the session: " BODY_EXCERPT, r.body);
    EXPECT(json_object_get(j, "member"), "no member in the session: " BODY_EXCERPT, r.body);
    expect_token_works(token, "the session token");
    json_decref(j);
    hc_response_free(&r);
    free(body);

    json_object_set_new(login, "password", json_string("wrong password"));
    body = json_dumps(login, JSON_COMPACT);
    r = ta_post("/v1/sessions", NULL, body);
    expect_error(&r, 401, NULL, "POST /v1/sessions with a wrong password");
    hc_response_free(&r);
    free(body);
    json_decref(login);

    r = ta_post("/v1/sessions", NULL, "{\"login\":\"nobody\",\"password\":\"x\"}");
    expect_error(&r, 401, NULL, "POST /v1/sessions for an unknown login");
    hc_response_free(&r);

    r = ta_post("/v1/members/admin/tokens", D.token, "{}");
    j = ta_expect_json(&r, 201, "POST /v1/members/admin/tokens");
    token = ta_str(j, "token");
    EXPECT(token && *token && strcmp(token, D.token) != 0, "no new token: " BODY_EXCERPT,
           r.body);
    expect_token_works(token, "the issued token");
    expect_token_works(D.token, "the admin token (still)");
    json_decref(j);
    hc_response_free(&r);

    r = ta_post("/v1/members/admin/tokens", NULL, "{}");
    expect_error(&r, 401, NULL, "POST /v1/members/admin/tokens without a token");
    hc_response_free(&r);
    free(pw);
    free(pw_path);
}
END_TEST

START_TEST(test_plugins_list)
{
    start_default();
    hc_response r = ta_get("/v1/plugins", D.token);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/plugins");
    json_t *list = ta_as_list(j);
    EXPECT(json_is_array(list) && json_array_size(list) == TD_N_DEPARTMENT_PLUGINS,
           "expected %d plugins: " BODY_EXCERPT, TD_N_DEPARTMENT_PLUGINS, r.body);
    for (int i = 0; i < TD_N_DEPARTMENT_PLUGINS; i++) {
        const char *name = td_department_plugins[i];
        json_t *p = ta_find(list, "name", name);
        EXPECT(p, "plugin %s missing: " BODY_EXCERPT, name, r.body);
        EXPECT(json_is_string(json_object_get(p, "version")), "%s: no version", name);
        EXPECT(ta_str(p, "abi") && strncmp(ta_str(p, "abi"), "1.", 2) == 0,
               "%s: abi is not 1.x: " BODY_EXCERPT, name, r.body);
        EXPECT(ta_str(p, "mode") && strcmp(ta_str(p, "mode"), "thread") == 0,
               "%s: mode is not thread", name);
        EXPECT(ta_str(p, "state") && strcmp(ta_str(p, "state"), "ready") == 0,
               "%s: state is not ready: " BODY_EXCERPT, name, r.body);
        EXPECT(json_is_integer(json_object_get(p, "queue")), "%s: queue is not a number: "
               BODY_EXCERPT, name, r.body);
    }
    json_decref(j);
    hc_response_free(&r);
}
END_TEST

START_TEST(test_acknowledged_cases_survive_kill9)
{
    start_default();
    enum { N = 20 };
    char *ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = report_case(STALL_CASE, "dispatched", "accepted");
    td_kill9(&D);   /* right after the last 201 */
    EXPECT(td_restart(&D) == 0, "citygridd did not restart on the same state dir");
    char *body = NULL;
    EXPECT(td_wait_plugins_ready(&D, TA_DEPARTMENT_PLUGINS, READY_TIMEOUT_MS, &body) == 0,
           "plugins not ready after restart: " BODY_EXCERPT, body ? body : "");
    free(body);
    for (int i = 0; i < N; i++) {
        json_t *c = ta_wait_case(ids[i], "status", "accepted", CASE_TIMEOUT_MS);
        char *s = ta_dump(c);
        EXPECT(ta_history_count(c, "accept") == 1 && ta_history_count(c, "dispatch") == 1,
               "after kill -9 and restart, case %s was handled more than once: %s", ids[i], s);
        free(s);
        json_decref(c);
        free(ids[i]);
    }
    EXPECT(case_count() == N, "expected %d cases after restart", N);
}
END_TEST

START_TEST(test_pending_dispatch_delivered_after_restart)
{
    /* Without the enforcement plugin the dispatch waits in the outbox. */
    td_options no_enforcement = {.disabled = "enforcement"};
    ta_start(&D, &no_enforcement, "municipal,sanitation,market,police,volunteer", READY_TIMEOUT_MS);
    char *id = report_case(STALL_CASE, "dispatched", NULL);
    json_t *c = ta_get_case(id);
    EXPECT(strcmp(ta_str(c, "status"), "dispatched") == 0,
           "with no enforcement plugin the case should wait as dispatched");
    json_decref(c);
    td_kill9(&D);

    EXPECT(td_rewrite_config(&D, NULL) == 0, "cannot rewrite the config");
    EXPECT(td_restart(&D) == 0, "citygridd did not restart");
    c = ta_wait_case(id, "status", "accepted", CASE_TIMEOUT_MS);
    char *s = ta_dump(c);
    EXPECT(strcmp(ta_str(c, "department"), "enforcement") == 0, "wrong department: %s", s);
    EXPECT(ta_history_count(c, "accept") == 1, "expected one accept: %s", s);
    EXPECT(strcmp(ta_str(ta_history_find(c, "accept"), "actor"), "plugin:enforcement") == 0,
           "accept not by plugin:enforcement: %s", s);
    free(s);
    json_decref(c);
    free(id);
}
END_TEST

START_TEST(test_retry_is_redelivered_and_handled_once)
{
    char *echo = tu_plugin_path("tests/plugins", "echo");
    char *extra = tu_sprintf("{ name = \"echo\"; path = \"%s\"; enabled = true; "
                             "mode = \"thread\"; required = true; "
                             "settings = { retry_first = true; }; }", echo);
    td_options opt = {
        .extra_plugins = extra,
        .extra_config = "routes = ( { category = \"graffiti\"; department = \"echo-test\"; } );",
    };
    ta_start(&D, &opt, TA_DEPARTMENT_PLUGINS ",echo", READY_TIMEOUT_MS);
    char *id = report_case("{\"category\":\"graffiti\",\"lat\":28.45,\"lon\":119.92,"
                           "\"description\":\"tag on the wall\"}",
                           "dispatched", "accepted");
    json_t *c = ta_wait_case(id, "status", "accepted", RETRY_TIMEOUT_MS);
    char *s = ta_dump(c);
    EXPECT(strcmp(ta_str(c, "department"), "echo-test") == 0,
           "graffiti not routed to echo-test: %s", s);
    EXPECT(ta_history_count(c, "accept") == 1, "a retried dispatch must be handled once: %s", s);
    const char *actor = ta_str(ta_history_find(c, "accept"), "actor");
    EXPECT(actor && strncmp(actor, "plugin:echo", 11) == 0, "accept not by the echo plugin: %s",
           s);
    /* echo notes "echo accepted ID (dispatch D..., attempt N)": the accept
     * must come from a re-delivery, not the first attempt. */
    unsigned attempt = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(c, "history"), i, h) {
        const char *note = ta_str(h, "note");
        const char *at = note ? strstr(note, "attempt ") : NULL;
        if (at && strstr(note, "echo accepted"))
            attempt = (unsigned)strtoul(at + 8, NULL, 10);
    }
    EXPECT(attempt >= 2, "the echo plugin's accept should be on attempt 2 or later: %s", s);
    free(s);
    json_decref(c);
    free(id);
    free(extra);
    free(echo);
}
END_TEST

/* ------------------------------------------------------------ config errors */

/* Run citygridd on a config file with this text; expect it to exit non-zero
 * (within 10 s) and return its output. */
static char *run_bad_config(const char *file_name, const char *text, const char *what)
{
    char *dir = tu_tempdir("itest-cfg");
    char *cfg = tu_sprintf("%s/%s", dir, file_name);
    char *state = tu_sprintf("%s/state", dir);
    char *listen = tu_sprintf("127.0.0.1:%d", td_free_port());
    EXPECT(tu_write_file(cfg, text) == 0, "cannot write %s", cfg);
    const char *args[] = {"--config", cfg, "--listen", listen, "--state-dir", state, NULL};
    int st = 0;
    char *out = NULL;
    int exited = td_run_once(args, 10000, &st, &out);
    tu_rmrf(dir);
    EXPECT(exited, "%s: citygridd kept running (killed after 10 s); output:\n" BODY_EXCERPT,
           what, out);
    EXPECT(WIFEXITED(st) && WEXITSTATUS(st) != 0,
           "%s: citygridd should exit non-zero (wait status 0x%x); output:\n" BODY_EXCERPT, what,
           st, out);
    free(dir);
    free(cfg);
    free(state);
    free(listen);
    return out;
}

START_TEST(test_config_syntax_error_names_file_and_line)
{
    char *out = run_bad_config("broken.cfg",
                               "# a syntax error on line 3\n"
                               "log_level = \"info\";\n"
                               "listen = ;\n"
                               "plugins = ( );\n",
                               "syntax error");
    EXPECT(strstr(out, "broken.cfg:3"), "the error should name broken.cfg:3; output:\n"
           BODY_EXCERPT, out);
    free(out);
}
END_TEST

START_TEST(test_config_bad_mode_names_file_line_and_problem)
{
    char *path = tu_plugin_path("plugins/enforcement", "enforcement");
    char *text = tu_sprintf("log_level = \"info\";\n"
                            "plugins = (\n"
                            "  { name = \"enforcement\";\n"
                            "    path = \"%s\";\n"
                            "    mode = \"teleport\";\n"
                            "  }\n"
                            ");\n",
                            path);
    char *out = run_bad_config("mode.cfg", text, "mode teleport");
    EXPECT(strstr(out, "mode.cfg:5") || strstr(out, "mode.cfg:3"),
           "the error should name mode.cfg and the line of the mode (5) or its plugin (3); "
           "output:\n" BODY_EXCERPT, out);
    EXPECT(strstr(out, "teleport"), "the error should name the bad mode; output:\n"
           BODY_EXCERPT, out);
    free(out);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_config_wrong_type_names_file_line_and_key)
{
    char *out = run_bad_config("type.cfg",
                               "log_level = \"info\";\n"
                               "bus = {\n"
                               "  heartbeat_ms = \"often\";\n"
                               "};\n"
                               "plugins = ( );\n",
                               "heartbeat_ms of the wrong type");
    EXPECT(strstr(out, "type.cfg:3"), "the error should name type.cfg:3; output:\n"
           BODY_EXCERPT, out);
    EXPECT(strstr(out, "heartbeat_ms"), "the error should name the key; output:\n" BODY_EXCERPT,
           out);
    free(out);
}
END_TEST

START_TEST(test_config_unknown_key_names_file_line_and_key)
{
    char *out = run_bad_config("unknown.cfg",
                               "log_level = \"info\";\n"
                               "bus = {\n"
                               "  heartbet_ms = 1000;\n"
                               "};\n"
                               "plugins = ( );\n",
                               "a misspelt key");
    EXPECT(strstr(out, "unknown.cfg:3"), "the error should name unknown.cfg:3; output:\n"
           BODY_EXCERPT, out);
    EXPECT(strstr(out, "heartbet_ms"), "the error should name the key; output:\n" BODY_EXCERPT,
           out);
    free(out);
}
END_TEST

START_TEST(test_required_plugin_missing_so)
{
    char *out = run_bad_config("missing.cfg",
                               "plugins = (\n"
                               "  { name = \"ghost\"; path = \"/nonexistent/citygrid/ghost.so\";\n"
                               "    enabled = true; mode = \"thread\"; required = true; }\n"
                               ");\n",
                               "a required plugin without its .so");
    EXPECT(strstr(out, "/nonexistent/citygrid/ghost.so"),
           "the error should name the missing .so; output:\n" BODY_EXCERPT, out);
    free(out);
}
END_TEST

START_TEST(test_optional_plugin_missing_so)
{
    td_options opt = {.extra_plugins = "{ name = \"ghost\"; path = \"/nonexistent/ghost.so\"; "
                                       "enabled = true; mode = \"thread\"; required = false; }"};
    ta_start(&D, &opt, TA_DEPARTMENT_PLUGINS, READY_TIMEOUT_MS);
    hc_response r = ta_get("/v1/health", NULL);
    json_t *j = ta_expect_json(&r, 200, "GET /v1/health");
    json_t *ghost = ta_find(json_object_get(j, "plugins"), "name", "ghost");
    EXPECT(!ghost || strcmp(ta_str(ghost, "state"), "ready") != 0,
           "a plugin whose .so is missing cannot be ready: " BODY_EXCERPT, r.body);
    json_decref(j);
    hc_response_free(&r);
    /* and cases still flow */
    char *id = report_case(STALL_CASE, "dispatched", "accepted");
    json_decref(ta_wait_case(id, "status", "accepted", CASE_TIMEOUT_MS));
    free(id);
}
END_TEST

START_TEST(test_sigterm_exits_cleanly)
{
    start_default();
    char *id = report_case(STALL_CASE, "dispatched", "accepted");
    json_decref(ta_wait_case(id, "status", "accepted", CASE_TIMEOUT_MS));
    free(id);
    int st = td_stop(&D);
    EXPECT(st == 0, "SIGTERM: citygridd exit status %d, expected 0 (-1: signal or timeout)", st);
}
END_TEST

/* ------------------------------------------------------------ suite */

/* One test case per behaviour, each with its own daemon. */
static void add(Suite *s, const char *name, const TTest *test)
{
    ta_add_case(s, name, test, setup, teardown, 60);
}

static Suite *daemon_suite(void)
{
    Suite *s = suite_create("daemon");
    add(s, "health", test_health_lists_ready_plugins);
    add(s, "catalog", test_categories_and_departments);
    add(s, "auth", test_token_required);
    add(s, "cases", test_report_is_dispatched_and_accepted);
    add(s, "assignee", test_case_is_assigned_to_the_grids_professional);
    add(s, "transfer", test_penalty_transferred_to_enforcement);
    add(s, "bad_input", test_bad_input_is_refused_and_writes_nothing);
    add(s, "on_site", test_handled_on_site_is_not_dispatched);
    add(s, "list", test_list_filters_and_paging);
    add(s, "sessions", test_sessions_and_tokens);
    add(s, "plugins", test_plugins_list);
    add(s, "kill9", test_acknowledged_cases_survive_kill9);
    add(s, "pending", test_pending_dispatch_delivered_after_restart);
    add(s, "retry", test_retry_is_redelivered_and_handled_once);
    add(s, "config_syntax", test_config_syntax_error_names_file_and_line);
    add(s, "config_mode", test_config_bad_mode_names_file_line_and_problem);
    add(s, "config_type", test_config_wrong_type_names_file_line_and_key);
    add(s, "config_unknown", test_config_unknown_key_names_file_line_and_key);
    add(s, "config_required", test_required_plugin_missing_so);
    add(s, "config_optional", test_optional_plugin_missing_so);
    add(s, "sigterm", test_sigterm_exits_cleanly);
    return s;
}

int main(void)
{
    return ta_run(daemon_suite());
}
