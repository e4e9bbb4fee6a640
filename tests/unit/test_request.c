/*
 * test_request.c — the HTTP API's pure parts, without a server: report
 * validation (cg_case_report_parse) against the built-in catalog, request
 * bodies, content types, bearer tokens, path patterns, query values and the
 * error shape.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>

#include "case/report.h"
#include "http/api.h"
#include "people/catalog.h"
#include "conf/config.h"
#include "http/http_util.h"
#include "support/run_suite.h"

static cg_catalog *cat;
static cg_config cfg;

static void setup(void)
{
    char err[256] = "";
    memset(&cfg, 0, sizeof cfg);
    cat = cg_catalog_new(&cfg, err, sizeof err);
    ck_assert_msg(cat != NULL, "catalog: %s", err);
}

static void teardown(void)
{
    cg_catalog_free(cat);
    cat = NULL;
}

/* Parse a report body given as JSON text; returns the status. */
static cg_status parse(const char *text, cg_new_case *nc, cg_result *err, json_t **keep)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    ck_assert_msg(body != NULL, "test JSON is bad: %s", je.text);
    memset(err, 0, sizeof *err);
    cg_status rc = cg_case_report_parse(body, cat, nc, err);
    if (keep)
        *keep = body;
    else
        json_decref(body);
    return rc;
}

/* The body must be refused with this status and code, and the message
 * must name `names`. */
static void expect_refused(const char *text, cg_status status, const char *code, const char *names)
{
    cg_new_case nc;
    cg_result err;
    cg_status rc = parse(text, &nc, &err, NULL);
    ck_assert_msg(rc == status, "%s: got %s (%s: %s), want %s", text, cg_status_name(rc), err.code,
                  err.message, cg_status_name(status));
    ck_assert_int_eq(err.status, status);
    ck_assert_str_eq(err.code, code);
    ck_assert_msg(strstr(err.message, names) != NULL, "%s: message '%s' does not name '%s'", text,
                  err.message, names);
    ck_assert_ptr_null(nc.extra);
}

/* ---- cg_case_report_parse --------------------------------------------- */

START_TEST(accepts_lat_lon_report)
{
    cg_new_case nc;
    cg_result err;
    json_t *body;
    int rc = parse("{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92,"
                   "\"description\":\"fruit cart on the pavement\",\"licence_no\":\"ZJ-123\"}",
                   &nc, &err, &body);
    ck_assert_msg(rc == 0, "refused: %s %s", err.code, err.message);
    ck_assert_str_eq(nc.category, "street_stall");
    ck_assert_str_eq(nc.department, "enforcement");
    ck_assert_int_eq(nc.has_location, 1);
    ck_assert(nc.lat == 28.45 && nc.lon == 119.92);
    ck_assert_str_eq(nc.grid, "");
    ck_assert_str_eq(nc.source, "patrol");
    ck_assert_str_eq(nc.description, "fruit cart on the pavement");
    ck_assert_int_eq(nc.handled_on_site, 0);
    ck_assert_int_eq(nc.needs_penalty, 0);
    ck_assert(nc.sla_hours > 0);
    ck_assert_ptr_null(nc.reporter);
    ck_assert_ptr_nonnull(nc.extra);
    ck_assert_int_eq(json_object_size(nc.extra), 1);
    ck_assert_str_eq(json_string_value(json_object_get(nc.extra, "licence_no")), "ZJ-123");
    json_decref(nc.extra);
    json_decref(body);
}
END_TEST

START_TEST(accepts_grid_report_with_options)
{
    cg_new_case nc;
    cg_result err;
    json_t *body;
    int rc = parse("{\"category\":\"sanitation\",\"grid\":\"33110200100101\",\"source\":\"hotline\","
                   "\"handled_on_site\":true,\"needs_penalty\":true,\"description\":null}",
                   &nc, &err, &body);
    ck_assert_msg(rc == 0, "refused: %s %s", err.code, err.message);
    ck_assert_str_eq(nc.grid, "33110200100101");
    ck_assert_int_eq(nc.has_location, 0);
    ck_assert_str_eq(nc.department, "sanitation");
    ck_assert_str_eq(nc.source, "hotline");
    ck_assert_str_eq(nc.description, "");
    ck_assert_int_eq(nc.handled_on_site, 1);
    ck_assert_int_eq(nc.needs_penalty, 1);
    ck_assert_ptr_null(nc.extra);
    json_decref(body);
}
END_TEST

START_TEST(department_follows_catalog_route)
{
    cg_new_case nc;
    cg_result err;
    json_t *body;
    const cg_category *c = cg_catalog_category(cat, "eco_environment");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(parse("{\"category\":\"eco_environment\",\"lat\":1,\"lon\":2}", &nc, &err, &body), 0);
    ck_assert_str_eq(nc.department, cg_catalog_route(cat, "eco_environment"));
    ck_assert_str_eq(nc.department, "enforcement"); /* eco has no plugin */
    ck_assert(nc.sla_hours == c->sla_hours);
    json_decref(body);
    cg_catalog_set_plugin(cat, "eco", "eco");
    ck_assert_int_eq(parse("{\"category\":\"eco_environment\",\"lat\":1,\"lon\":2}", &nc, &err, &body), 0);
    ck_assert_str_eq(nc.department, "eco");
    json_decref(body);
}
END_TEST

START_TEST(refuses_bad_location)
{
    expect_refused("{\"category\":\"graffiti\",\"lat\":\"28.4\",\"lon\":119.9}", CG_E_INVALID, "invalid_field", "'lat'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":90.5,\"lon\":119.9}", CG_E_INVALID, "invalid_field", "'lat'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":-91,\"lon\":119.9}", CG_E_INVALID, "invalid_field", "'lat'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":28,\"lon\":180.01}", CG_E_INVALID, "invalid_field", "'lon'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":28,\"lon\":true}", CG_E_INVALID, "invalid_field", "'lon'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":28}", CG_E_INVALID, "missing_field", "'lon'");
    expect_refused("{\"category\":\"graffiti\"}", CG_E_INVALID, "missing_field", "lat/lon or grid");
    expect_refused("{\"category\":\"graffiti\",\"lat\":null,\"lon\":null}", CG_E_INVALID, "missing_field",
                   "lat/lon or grid");
}
END_TEST

START_TEST(refuses_malformed_grid)
{
    expect_refused("{\"category\":\"graffiti\",\"grid\":\"3311020010010\"}", CG_E_INVALID, "invalid_field", "'grid'");
    expect_refused("{\"category\":\"graffiti\",\"grid\":\"331102001001011\"}", CG_E_INVALID, "invalid_field", "'grid'");
    expect_refused("{\"category\":\"graffiti\",\"grid\":\"3311020010010x\"}", CG_E_INVALID, "invalid_field", "'grid'");
    expect_refused("{\"category\":\"graffiti\",\"grid\":33110200100101}", CG_E_INVALID, "invalid_field", "'grid'");
    expect_refused("{\"category\":\"graffiti\",\"grid\":\"\"}", CG_E_INVALID, "invalid_field", "'grid'");
}
END_TEST

START_TEST(refuses_bad_category)
{
    expect_refused("{\"category\":\"alien_landing\",\"lat\":1,\"lon\":2}", CG_E_UNPROCESSABLE, "unknown_category",
                   "alien_landing");
    expect_refused("{\"lat\":1,\"lon\":2}", CG_E_INVALID, "missing_field", "'category'");
    expect_refused("{\"category\":7,\"lat\":1,\"lon\":2}", CG_E_INVALID, "invalid_field", "'category'");
}
END_TEST

START_TEST(refuses_wrong_types_of_options)
{
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"handled_on_site\":\"yes\"}", CG_E_INVALID,
                   "invalid_field", "'handled_on_site'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"handled_on_site\":1}", CG_E_INVALID,
                   "invalid_field", "'handled_on_site'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"needs_penalty\":0}", CG_E_INVALID,
                   "invalid_field", "'needs_penalty'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"description\":5}", CG_E_INVALID,
                   "invalid_field", "'description'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"source\":\"twitter\"}", CG_E_INVALID,
                   "invalid_field", "'source'");
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,\"source\":3}", CG_E_INVALID, "invalid_field",
                   "'source'");
}
END_TEST

START_TEST(description_is_bounded)
{
    cg_new_case nc;
    cg_result err;
    char *desc = malloc(CG_DESCRIPTION_MAX + 2);
    memset(desc, 'a', CG_DESCRIPTION_MAX + 1);
    desc[CG_DESCRIPTION_MAX + 1] = '\0';
    json_t *body = json_pack("{s:s, s:i, s:i, s:s}", "category", "graffiti", "lat", 1, "lon", 2,
                             "description", desc);
    ck_assert_int_eq(cg_case_report_parse(body, cat, &nc, &err), CG_E_INVALID);
    ck_assert_str_eq(err.code, "invalid_field");
    ck_assert_ptr_nonnull(strstr(err.message, "'description'"));
    desc[CG_DESCRIPTION_MAX] = '\0'; /* exactly the limit is fine */
    json_object_set_new(body, "description", json_string(desc));
    ck_assert_int_eq(cg_case_report_parse(body, cat, &nc, &err), CG_OK);
    ck_assert_uint_eq(strlen(nc.description), CG_DESCRIPTION_MAX);
    json_decref(body);
    free(desc);
}
END_TEST

START_TEST(extra_is_bounded)
{
    /* 9 levels of nesting inside one extra value */
    expect_refused("{\"category\":\"graffiti\",\"lat\":1,\"lon\":2,"
                   "\"deep\":[[[[[[[[1]]]]]]]]}", CG_E_INVALID, "invalid_field", "'deep'");
    cg_new_case nc;
    cg_result err;
    json_t *body = json_pack("{s:s, s:i, s:i}", "category", "graffiti", "lat", 1, "lon", 2);
    for (int i = 0; i < CG_EXTRA_MAX_KEYS; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        json_object_set_new(body, key, json_integer(i));
    }
    ck_assert_int_eq(cg_case_report_parse(body, cat, &nc, &err), CG_OK);
    ck_assert_int_eq(json_object_size(nc.extra), CG_EXTRA_MAX_KEYS);
    json_decref(nc.extra);
    json_object_set_new(body, "one_more", json_true());
    ck_assert_int_eq(cg_case_report_parse(body, cat, &nc, &err), CG_E_INVALID);
    ck_assert_str_eq(err.code, "invalid_field");
    ck_assert_ptr_null(nc.extra);
    json_decref(body);
}
END_TEST

START_TEST(refuses_non_object)
{
    cg_new_case nc;
    cg_result err;
    json_t *arr = json_array();
    ck_assert_int_eq(cg_case_report_parse(arr, cat, &nc, &err), CG_E_INVALID);
    ck_assert_str_eq(err.code, "body_not_object");
    json_decref(arr);
}
END_TEST

/* ---- bodies ------------------------------------------------------------ */

static void expect_body_error(const char *text, size_t max, cg_status status, const char *code)
{
    cg_result err;
    json_t *v = cg_http_parse_json_body(text, strlen(text), max, &err);
    ck_assert_msg(v == NULL, "'%s' was accepted", text);
    ck_assert_int_eq(err.status, status);
    ck_assert_str_eq(err.code, code);
}

START_TEST(json_bodies)
{
    cg_result err;
    const char *ok = "{\"a\":1}";
    json_t *v = cg_http_parse_json_body(ok, strlen(ok), 100, &err);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
    expect_body_error("{\"a\":", 100, CG_E_INVALID, "invalid_json");
    expect_body_error("", 100, CG_E_INVALID, "invalid_json");
    expect_body_error("{\"a\":1,\"a\":2}", 100, CG_E_INVALID, "invalid_json");
    expect_body_error("[1,2]", 100, CG_E_INVALID, "body_not_object");
    expect_body_error("\"text\"", 100, CG_E_INVALID, "body_not_object");
    expect_body_error("42", 100, CG_E_INVALID, "body_not_object");
    expect_body_error("{\"a\":\"0123456789\"}", 10, CG_E_TOO_LARGE, "body_too_large");
    expect_body_error("{\"a\":\"\\u0000\"}", 100, CG_E_INVALID, "invalid_json");
}
END_TEST

/* ---- headers ----------------------------------------------------------- */

START_TEST(content_types)
{
    ck_assert(cg_http_is_json_content_type("application/json"));
    ck_assert(cg_http_is_json_content_type("application/json; charset=utf-8"));
    ck_assert(cg_http_is_json_content_type("Application/JSON;charset=\"UTF-8\""));
    ck_assert(cg_http_is_json_content_type("application/json ; charset=utf8"));
    ck_assert(!cg_http_is_json_content_type(NULL));
    ck_assert(!cg_http_is_json_content_type(""));
    ck_assert(!cg_http_is_json_content_type("text/plain"));
    ck_assert(!cg_http_is_json_content_type("text/plain; charset=utf-8"));
    ck_assert(!cg_http_is_json_content_type("application/jsonp"));
    ck_assert(!cg_http_is_json_content_type("application/json-patch+json"));
    ck_assert(!cg_http_is_json_content_type("application/json; charset=latin1"));
    ck_assert(!cg_http_is_json_content_type("application/json; charset"));
}
END_TEST

START_TEST(bearer_tokens)
{
    char tok[80];
    ck_assert_int_eq(cg_http_bearer_token("Bearer abc123", tok, sizeof tok), 0);
    ck_assert_str_eq(tok, "abc123");
    ck_assert_int_eq(cg_http_bearer_token("bearer   AbC-._~+/==  ", tok, sizeof tok), 0);
    ck_assert_str_eq(tok, "AbC-._~+/==");
    ck_assert_int_eq(cg_http_bearer_token(NULL, tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Basic dXNlcjpwYXNz", tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Bearer", tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Bearer ", tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Bearerabc", tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Bearer a b", tok, sizeof tok), -1);
    ck_assert_int_eq(cg_http_bearer_token("Bearer abcdef", tok, 4), -1);
}
END_TEST

/* ---- paths ------------------------------------------------------------- */

START_TEST(path_patterns)
{
    cg_path_params p;
    ck_assert(cg_path_match("/v1/cases", "/v1/cases", &p));
    ck_assert_uint_eq(p.n, 0);
    ck_assert(cg_path_match("/v1/cases/{id}", "/v1/cases/C00000001", &p));
    ck_assert_uint_eq(p.n, 1);
    ck_assert_str_eq(p.value[0], "C00000001");
    ck_assert(cg_path_match("/v1/members/{id}/tokens", "/v1/members/m-7/tokens", &p));
    ck_assert_str_eq(p.value[0], "m-7");
    ck_assert(!cg_path_match("/v1/cases", "/v1/cases/", &p));
    ck_assert(!cg_path_match("/v1/cases/{id}", "/v1/cases/", &p));
    ck_assert(!cg_path_match("/v1/cases/{id}", "/v1/cases", &p));
    ck_assert(!cg_path_match("/v1/cases/{id}", "/v1/cases/a/b", &p));
    ck_assert(!cg_path_match("/v1/members/{id}/tokens", "/v1/members/x/token", &p));
    ck_assert(!cg_path_match("/v1/health", "/v1/healthz", &p));

    ck_assert(cg_http_path_is_safe("/v1/cases", 9));
    ck_assert(!cg_http_path_is_safe("/v1/../etc", 10));
    ck_assert(!cg_http_path_is_safe("/v1/./cases", 11));
    ck_assert(!cg_http_path_is_safe("/v1/..", 6));
    ck_assert(cg_http_path_is_safe("/v1/..x", 7));
    ck_assert(!cg_http_path_is_safe("/v1\0/x", 6)); /* decoded %00 */
    ck_assert(!cg_http_path_is_safe("v1/cases", 8));
    ck_assert(!cg_http_path_is_safe("/v1/a\nb", 7));
}
END_TEST

/* ---- query ------------------------------------------------------------- */

static void query_parse(const char *qs, struct evkeyvalq *q)
{
    TAILQ_INIT(q);
    ck_assert_int_eq(evhttp_parse_query_str(qs, q), 0);
}

START_TEST(query_limit)
{
    struct evkeyvalq q;
    cg_result err;
    long limit;
    query_parse("grid=1", &q);
    ck_assert_int_eq(cg_query_long(&q, "limit", 100, 1, 1000, &limit, &err), 0);
    ck_assert_int_eq(limit, 100);
    evhttp_clear_headers(&q);

    const char *good[] = {"limit=1", "limit=1000", "limit=250"};
    const long want[] = {1, 1000, 250};
    for (size_t i = 0; i < 3; i++) {
        query_parse(good[i], &q);
        ck_assert_int_eq(cg_query_long(&q, "limit", 100, 1, 1000, &limit, &err), 0);
        ck_assert_int_eq(limit, want[i]);
        evhttp_clear_headers(&q);
    }
    const char *bad[] = {"limit=0", "limit=1001", "limit=-5", "limit=abc", "limit=10x", "limit=+5",
                         "limit=%205", "limit=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        query_parse(bad[i], &q);
        ck_assert_msg(cg_query_long(&q, "limit", 100, 1, 1000, &limit, &err) == -1, "%s accepted", bad[i]);
        ck_assert_int_eq(err.status, CG_E_INVALID);
        ck_assert_str_eq(err.code, "invalid_field");
        ck_assert_ptr_nonnull(strstr(err.message, "'limit'"));
        evhttp_clear_headers(&q);
    }
}
END_TEST

START_TEST(query_overdue)
{
    struct evkeyvalq q;
    cg_result err;
    int overdue;
    query_parse("overdue=true", &q);
    ck_assert_int_eq(cg_query_bool(&q, "overdue", 0, &overdue, &err), 0);
    ck_assert_int_eq(overdue, 1);
    evhttp_clear_headers(&q);
    query_parse("overdue=false", &q);
    ck_assert_int_eq(cg_query_bool(&q, "overdue", 1, &overdue, &err), 0);
    ck_assert_int_eq(overdue, 0);
    evhttp_clear_headers(&q);
    query_parse("x=1", &q);
    ck_assert_int_eq(cg_query_bool(&q, "overdue", 0, &overdue, &err), 0);
    ck_assert_int_eq(overdue, 0);
    evhttp_clear_headers(&q);
    query_parse("overdue=yes", &q);
    ck_assert_int_eq(cg_query_bool(&q, "overdue", 0, &overdue, &err), -1);
    ck_assert_str_eq(err.code, "invalid_field");
    ck_assert_ptr_nonnull(strstr(err.message, "'overdue'"));
    evhttp_clear_headers(&q);
}
END_TEST

START_TEST(query_strings)
{
    struct evkeyvalq q;
    cg_result err;
    const char *v;
    query_parse("status=closed&grid=&bad=a%0Ab", &q);
    ck_assert_int_eq(cg_query_string(&q, "status", 32, &v, &err), 0);
    ck_assert_str_eq(v, "closed");
    ck_assert_int_eq(cg_query_string(&q, "grid", 32, &v, &err), 0);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(cg_query_string(&q, "bad", 32, &v, &err), -1);
    ck_assert_int_eq(cg_query_string(&q, "status", 3, &v, &err), -1);
    evhttp_clear_headers(&q);
}
END_TEST

/* ---- the error shape --------------------------------------------------- */

START_TEST(error_shape)
{
    json_t *e = cg_http_error_json("not_found", "no case 'C1'");
    ck_assert_int_eq(json_object_size(e), 1);
    json_t *inner = json_object_get(e, "error");
    ck_assert_int_eq(json_object_size(inner), 2);
    ck_assert_str_eq(json_string_value(json_object_get(inner, "code")), "not_found");
    ck_assert_str_eq(json_string_value(json_object_get(inner, "message")), "no case 'C1'");
    json_decref(e);
    /* client bytes that are not UTF-8 must not break the reply */
    e = cg_http_error_json("not_found", "no case '\xff\xfe' \xe4\xb8\xad");
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "error"), "message")),
                     "no case '?" "?' \xe4\xb8\xad");
    json_decref(e);
}
END_TEST

/* Every status has its one HTTP status, and no two share one. */
START_TEST(status_map)
{
    static const struct { cg_status status; int http; } map[] = {
        {CG_OK, 200}, {CG_E_INVALID, 400}, {CG_E_UNAUTHENTICATED, 401}, {CG_E_FORBIDDEN, 403},
        {CG_E_NOT_FOUND, 404}, {CG_E_CONFLICT, 409}, {CG_E_TOO_LARGE, 413},
        {CG_E_UNSUPPORTED, 415}, {CG_E_UNPROCESSABLE, 422}, {CG_E_THROTTLED, 429},
        {CG_E_UNAVAILABLE, 503}, {CG_E_TIMEOUT, 504}, {CG_E_INTERNAL, 500},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        ck_assert_int_eq(cg_http_status_of(map[i].status), map[i].http);
        ck_assert_str_ne(cg_status_name(map[i].status), "unknown");
    }
    ck_assert_int_eq(CG_E_INTERNAL + 1, (int)(sizeof map / sizeof map[0]));
    ck_assert_int_eq(cg_http_status_of((cg_status)99), 500);
}
END_TEST

static Suite *request_suite(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, accepts_lat_lon_report);
    tcase_add_test(tc, accepts_grid_report_with_options);
    tcase_add_test(tc, department_follows_catalog_route);
    tcase_add_test(tc, refuses_bad_location);
    tcase_add_test(tc, refuses_malformed_grid);
    tcase_add_test(tc, refuses_bad_category);
    tcase_add_test(tc, refuses_wrong_types_of_options);
    tcase_add_test(tc, description_is_bounded);
    tcase_add_test(tc, extra_is_bounded);
    tcase_add_test(tc, refuses_non_object);
    suite_add_tcase(s, tc);

    TCase *tu = tcase_create("http_util");
    tcase_add_test(tu, json_bodies);
    tcase_add_test(tu, content_types);
    tcase_add_test(tu, bearer_tokens);
    tcase_add_test(tu, path_patterns);
    tcase_add_test(tu, query_limit);
    tcase_add_test(tu, query_overdue);
    tcase_add_test(tu, query_strings);
    tcase_add_test(tu, error_shape);
    tcase_add_test(tu, status_map);
    suite_add_tcase(s, tu);
    return s;
}

int main(void)
{
    return tu_run_suite(request_suite());
}
