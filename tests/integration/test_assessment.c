/*
 * test_assessment.c — integration: the monthly assessment on the
 * real daemon with the Lishui dataset and the department plugins. A small
 * loop is driven with member tokens (roles from contrib/lishui/roster.csv,
 * grid A 33110200100101: M00151 leader, M00153 fulltime, M00001 market
 * professional): a patrol report, the market plugin's accept, the handle,
 * then the report by grid and by member carries every indicator with its
 * counts and a score, and moves when the leader's review closes the case;
 * the CSV export starts with the BOM; scope cuts the rows; the annual
 * evaluation and the commendation list come out of the same data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"

#define GRID_A "33110200100101"
#define WAIT_MS 10000
#define LEADER "M00151"
#define FULLTIME "M00153"
#define MARKET_PRO "M00001"

static td_daemon D;

static void teardown(void)
{
    td_cleanup(&D);
}

static const char *const indicator_keys[] = {
    "patrol_discovery_rate", "timely_disposal_rate", "closure_rate", "satisfaction",
    "attendance_rate", "coordination", "effectiveness", "score", NULL};
static const char *const count_keys[] = {
    "cases", "patrol_found", "due", "due_not_postponed", "handled_on_time", "closed", "rated",
    "duty_days_required", "duty_days_met", "patrol_days_required", "patrol_days_met",
    "coordination_received", "coordination_met", "rework", "reopens", "duplicates", "problems",
    "problems_prev", NULL};

static void expect_full_row(json_t *row, const char *what)
{
    char *text = ta_dump(row);
    for (const char *const *k = indicator_keys; *k; k++)
        EXPECT(json_object_get(row, *k) != NULL, "%s has no %s: " TA_EXCERPT, what, *k, text);
    for (const char *const *k = count_keys; *k; k++)
        EXPECT(json_is_integer(json_object_get(row, *k)), "%s has no count %s: " TA_EXCERPT, what,
               *k, text);
    EXPECT(json_is_number(json_object_get(row, "score")), "%s has no score: " TA_EXCERPT, what,
           text);
    free(text);
}

static json_t *report(const char *token, const char *month, const char *by, int want)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/reports/monthly?month=%s&by=%s", month, by);
    return ta_expect_call("GET", path, token, NULL, want);
}

static json_t *row(json_t *rep, const char *key, const char *id)
{
    json_t *r = ta_find(ta_as_list(rep), key, id);
    char *text = ta_dump(rep);
    EXPECT(r != NULL, "no %s row %s in " TA_EXCERPT, key, id, text);
    free(text);
    return r;
}

static long long count(json_t *r, const char *key)
{
    return json_integer_value(json_object_get(r, key));
}

START_TEST(monthly_report_moves_when_a_case_closes)
{
    memset(&D, 0, sizeof D);
    ta_start(&D, NULL, TA_DEPARTMENT_PLUGINS, WAIT_MS);
    char *leader = ta_token_for(LEADER), *fulltime = ta_token_for(FULLTIME),
         *market = ta_token_for(MARKET_PRO);
    char *admin = D.token;

    char *id = ta_report(fulltime, "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A
                                   "\",\"description\":\"kitchen\",\"source\":\"patrol\"}", 201);
    json_t *c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    /* The case is due in the city month of its deadline: "YYYY-MM" of the
     * +08:00 time. */
    char month[8];
    snprintf(month, sizeof month, "%.7s", ta_text(c, "expected_at"));
    char reported_month[8];
    snprintf(reported_month, sizeof reported_month, "%.7s", ta_text(c, "reported_at"));
    json_decref(c);
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%s/actions", id);
    ta_expect_status("POST", path, market, "{\"action\":\"handle\"}", 200);

    json_t *before = report(admin, month, "grid", 200);
    EXPECT(!strcmp(ta_text(before, "month"), month) && !strcmp(ta_text(before, "by"), "grid"),
           "month/by echoed");
    json_t *ga = row(before, "grid", GRID_A);
    expect_full_row(ga, "grid A");
    long long closed_before = count(ga, "closed"), due = count(ga, "due");
    EXPECT(due >= 1, "grid A has %lld due", due);
    EXPECT(count(ga, "handled_on_time") >= 1, "the handled case is on time");

    /* The leader's review closes it: the report moves. */
    ta_expect_status("POST", path, leader, "{\"action\":\"review\",\"result\":\"pass\"}", 200);
    json_t *after = report(admin, month, "grid", 200);
    ga = row(after, "grid", GRID_A);
    EXPECT(count(ga, "closed") == closed_before + 1, "closed %lld -> %lld", closed_before,
           count(ga, "closed"));
    EXPECT(json_is_number(json_object_get(ga, "closure_rate")), "closure_rate");
    json_decref(before);
    json_decref(after);

    /* By member (admin): the market professional answers for it, the
     * fulltime found it on patrol (in the month it was reported). */
    json_t *members = report(admin, month, "member", 200);
    json_t *m = row(members, "member", MARKET_PRO);
    expect_full_row(m, "member " MARKET_PRO);
    EXPECT(count(m, "closed") >= 1, "market closed");
    EXPECT(json_is_string(json_object_get(m, "role")), "member rows carry a role");
    json_decref(members);
    members = report(admin, reported_month, "member", 200);
    EXPECT(count(row(members, "member", FULLTIME), "patrol_found") >= 1, "patrol_found");
    json_decref(members);

    /* Scope: a fulltime sees only their own row, their grids, no departments;
     * the leader sees the grid's members. */
    json_t *own = report(fulltime, month, "member", 200);
    EXPECT(json_array_size(ta_as_list(own)) == 1 &&
               !strcmp(ta_text(json_array_get(ta_as_list(own), 0), "member"), FULLTIME),
           "a fulltime sees only their own row");
    json_decref(own);
    json_t *grids = report(fulltime, month, "grid", 200);
    row(grids, "grid", GRID_A);
    EXPECT(json_array_size(ta_as_list(grids)) < 10, "a fulltime sees only their grids");
    json_decref(grids);
    ta_expect_status("GET", "/v1/reports/monthly?month=2026-01&by=department", fulltime, NULL, 403);
    json_t *led = report(leader, month, "member", 200);
    row(led, "member", MARKET_PRO);
    row(led, "member", FULLTIME);
    json_decref(led);
    json_t *deps = report(admin, month, "department", 200);
    expect_full_row(row(deps, "department", "market"), "department market");
    json_decref(deps);

    /* Bad input. */
    ta_expect_status("GET", "/v1/reports/monthly?month=2026-13&by=grid", admin, NULL, 400);
    ta_expect_status("GET", "/v1/reports/monthly?month=2026-01&by=street", admin, NULL, 400);
    ta_expect_status("GET", "/v1/reports/monthly?month=2026-01", NULL, NULL, 401);

    /* CSV: text/csv, the BOM, the header. */
    char csv_path[128];
    snprintf(csv_path, sizeof csv_path, "/v1/reports/monthly?month=%s&by=member&format=csv",
             month);
    hc_response r = ta_get(csv_path, admin);
    EXPECT(r.status == 200, "csv status %d", r.status);
    EXPECT(r.content_type && strstr(r.content_type, "text/csv") &&
               strstr(r.content_type, "utf-8"), "csv content type %s",
           r.content_type ? r.content_type : "(none)");
    EXPECT(r.body_len > 3 && !memcmp(r.body, "\xEF\xBB\xBF", 3), "no BOM");
    /* Headers in Chinese, in the JSON's order: 成员编号 (member) first. */
    EXPECT(!strncmp(r.body + 3, "成员编号,", strlen("成员编号,")) &&
               strstr(r.body, ",巡查发现率,") && strstr(r.body, ",综合得分,"),
           "csv header: %.200s", r.body + 3);
    EXPECT(strstr(r.body, MARKET_PRO ",") != NULL, "csv rows");
    hc_response_free(&r);

    /* The annual evaluation and the commendations of the same year. */
    char year[8];
    snprintf(year, sizeof year, "%.4s", month);
    char apath[96];
    snprintf(apath, sizeof apath, "/v1/reports/annual?year=%s&by=member", year);
    json_t *annual = ta_expect_call("GET", apath, admin, NULL, 200);
    json_t *am = row(annual, "member", MARKET_PRO);
    EXPECT(json_integer_value(json_object_get(am, "months_counted")) >= 1 &&
               json_is_number(json_object_get(am, "score")),
           "annual row");
    json_decref(annual);
    snprintf(apath, sizeof apath, "/v1/reports/commendations?year=%s", year);
    json_t *comm = ta_expect_call("GET", apath, fulltime, NULL, 200);
    json_t *items = ta_as_list(comm);
    EXPECT(json_array_size(items) >= 5, "commendations per role");
    EXPECT(!strcmp(ta_text(json_array_get(items, 0), "role"), "leader") &&
               json_integer_value(json_object_get(json_array_get(items, 0), "rank")) == 1,
           "first row: the best leader");
    json_decref(comm);
    ta_expect_status("GET", "/v1/reports/annual?year=20x6", admin, NULL, 400);

    free(id);
    free(leader);
    free(fulltime);
    free(market);
}
END_TEST

static Suite *assessment_suite(void)
{
    Suite *s = suite_create("assessment");
    ta_add_case(s, "monthly", monthly_report_moves_when_a_case_closes, NULL, teardown, 60);
    return s;
}

int main(void)
{
    return ta_run(assessment_suite());
}
