/*
 * test_workflow.c — integration: the closed loop on the real
 * daemon with the Lishui dataset and the six department plugins, driven by
 * real member tokens (POST /v1/members/{id}/tokens as admin) with the roles
 * of contrib/lishui/roster.csv. Grid A (33110200100101): M00151 leader,
 * M00152 instructor, M00153 fulltime, professionals M00154 enforcement,
 * M00155 municipal, M00156 sanitation, M00001 market, M00157 police.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"

#define EXCERPT "%.2500s"
#define GRID_A "33110200100101"
#define WAIT_MS 10000

#define LEADER "M00151"
#define INSTRUCTOR "M00152"
#define FULLTIME "M00153"
#define MUNICIPAL_PRO "M00155"
#define MARKET_PRO "M00001"
#define ENFORCEMENT_PRO "M00154"

static td_daemon D;

static void start(const char *extra_config)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.extra_config = extra_config};
    ta_start(&D, &opt, TA_DEPARTMENT_PLUGINS, WAIT_MS);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* POST an action; checks the status; returns the body (caller decrefs). */
static json_t *act(const char *token, const char *id, const char *body, int want)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%s/actions", id);
    int status;
    json_t *j = ta_call("POST", path, token, body, &status);
    char *text = ta_dump(j);
    EXPECT(status == want, "%s %s: %d, expected %d: " EXCERPT, path, body, status, want, text);
    free(text);
    return j;
}

static void act_ok(const char *token, const char *id, const char *body, int want)
{
    json_decref(act(token, id, body, want));
}

/* The same case, unchanged (status, history length, updated_at). */
static void expect_unchanged(const char *id, json_t *before)
{
    json_t *now = ta_get_case(id);
    EXPECT(!strcmp(ta_text(now, "status"), ta_text(before, "status")) &&
               json_array_size(json_object_get(now, "history")) ==
                   json_array_size(json_object_get(before, "history")) &&
               !strcmp(ta_text(now, "updated_at"), ta_text(before, "updated_at")),
           "a refused verb changed case %s: status %s -> %s, %zu -> %zu history rows (last %s), "
           "updated_at %s -> %s",
           id, ta_text(before, "status"), ta_text(now, "status"),
           json_array_size(json_object_get(before, "history")),
           json_array_size(json_object_get(now, "history")),
           ta_text(json_array_get(json_object_get(now, "history"),
                                  json_array_size(json_object_get(now, "history")) - 1),
                   "action"),
           ta_text(before, "updated_at"), ta_text(now, "updated_at"));
    json_decref(now);
}

static const char *const all_verbs[] = {"dispatch", "accept",   "handle", "review",
                                        "transfer", "escalate", "postpone", "cancel",
                                        "reopen",   "rate"};

/* GET /v1/cases/{id} as `token` lists exactly the verbs `want` (names
 * separated by spaces, in the table's order), and every verb it leaves out
 * is refused to that caller (403 or 409) with the case unchanged: the list
 * is what the POST lets through. */
static void expect_verbs(const char *token, const char *who, const char *id, const char *want)
{
    char path[64], got[256] = "";
    snprintf(path, sizeof path, "/v1/cases/%s", id);
    int status;
    json_t *c = ta_call("GET", path, token, NULL, &status);
    json_t *verbs = json_object_get(c, "verbs");
    EXPECT(status == 200 && json_is_array(verbs), "%s: GET %s: %d, no \"verbs\" array", who,
           path, status);
    size_t i;
    json_t *v;
    json_array_foreach(verbs, i, v) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof got - len, "%s%s", len ? " " : "", json_string_value(v));
    }
    EXPECT(!strcmp(got, want), "%s on %s (%s, level %s): verbs [%s], expected [%s]", who, id,
           ta_text(c, "status"), ta_text(c, "level"), got, want);
    for (size_t k = 0; k < sizeof all_verbs / sizeof *all_verbs; k++) {
        char padded[sizeof got + 2], name[32];
        snprintf(padded, sizeof padded, " %s ", got);
        snprintf(name, sizeof name, " %s ", all_verbs[k]);
        if (strstr(padded, name))
            continue;
        char body[96];
        snprintf(body, sizeof body, "{\"action\":\"%s\",\"result\":\"reject\",\"reason\":\"r\"}",
                 all_verbs[k]);
        char actions[96];
        snprintf(actions, sizeof actions, "/v1/cases/%s/actions", id);
        json_t *e = ta_call("POST", actions, token, body, &status);
        char *text = ta_dump(e);
        EXPECT(status == 403 || status == 409, "%s: '%s' is not listed but got %d: " EXCERPT, who,
               all_verbs[k], status, text);
        free(text);
        json_decref(e);
        /* Every verb writes a history row; updated_at is not compared here:
         * the department's plugin may still be acting on the last change. */
        json_t *now = ta_get_case(id);
        EXPECT(!strcmp(ta_text(now, "status"), ta_text(c, "status")) &&
                   json_array_size(json_object_get(now, "history")) ==
                       json_array_size(json_object_get(c, "history")),
               "%s: the refused '%s' changed case %s", who, all_verbs[k], id);
        json_decref(now);
    }
    json_decref(c);
}

#define FOOD "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A "\",\"description\":\"kitchen\"}"

START_TEST(the_loop_with_rework_and_refusals)
{
    start(NULL);
    char *leader = ta_token_for(LEADER), *fulltime = ta_token_for(FULLTIME),
         *market = ta_token_for(MARKET_PRO);
    char *id = ta_report(fulltime, FOOD, 201);
    json_t *c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    EXPECT(!strcmp(ta_text(c, "assignee"), MARKET_PRO), "assignee %s", ta_text(c, "assignee"));
    EXPECT(*ta_text(c, "expected_at"), "no expected_at after dispatch");
    /* what each caller's case page offers now, and nothing else works */
    expect_verbs(leader, "the leader", id, "transfer escalate postpone cancel");
    expect_verbs(market, "the assignee", id, "handle transfer");
    expect_verbs(fulltime, "the reporter", id, "");
    expect_verbs(D.token, "the admin", id, "handle transfer escalate postpone cancel");

    /* a verb out of order: 409 with the status, nothing changes */
    json_t *e = act(leader, id, "{\"action\":\"review\",\"result\":\"pass\"}", 409);
    json_t *err = json_object_get(e, "error");
    EXPECT(!strcmp(ta_text(err, "code"), "invalid_transition") && !strcmp(ta_text(err, "status"), "accepted"),
           "409 body");
    json_decref(e);
    expect_unchanged(id, c);
    /* not the department: 403, nothing changes */
    act_ok(fulltime, id, "{\"action\":\"handle\"}", 403);
    act_ok(leader, id, "{\"action\":\"handle\"}", 403);
    act_ok(market, id, "{\"action\":\"fly\"}", 400);
    expect_unchanged(id, c);
    json_decref(c);

    /* the assignee reports back */
    e = act(market, id, "{\"action\":\"handle\",\"note\":\"cleaned, warned the owner\"}", 200);
    EXPECT(!strcmp(ta_text(e, "status"), "handled"), "not handled");
    EXPECT(!strcmp(ta_text(e, "handled_by"), MARKET_PRO), "handled_by");
    json_decref(e);
    /* the handler may not review (and is not the leader anyway); a fulltime neither */
    act_ok(market, id, "{\"action\":\"review\",\"result\":\"pass\"}", 403);
    act_ok(fulltime, id, "{\"action\":\"review\",\"result\":\"pass\"}", 403);
    expect_verbs(market, "the handler", id, "");
    expect_verbs(leader, "the leader", id, "review cancel");

    /* the leader rejects: rework + 1, back to accepted */
    e = act(leader, id, "{\"action\":\"review\",\"result\":\"reject\",\"note\":\"still dirty\"}", 200);
    EXPECT(!strcmp(ta_text(e, "status"), "accepted"), "reject did not return the case");
    EXPECT(json_integer_value(json_object_get(e, "rework")) == 1, "rework not counted");
    json_decref(e);
    act_ok(market, id, "{\"action\":\"handle\"}", 200);
    e = act(leader, id, "{\"action\":\"review\",\"result\":\"pass\"}", 200);
    EXPECT(!strcmp(ta_text(e, "status"), "closed"), "pass did not close");
    EXPECT(ta_history_count(e, "review") == 2 && ta_history_count(e, "handle") == 2, "history");
    json_decref(e);
    expect_verbs(leader, "the leader", id, "reopen");
    expect_verbs(fulltime, "the reporter", id, "rate");
    expect_verbs(market, "the handler", id, "");

    /* the reporter rates: low and not fixed reopens it to the department */
    act_ok(leader, id, "{\"action\":\"rate\",\"satisfaction\":2,\"fixed\":false}", 403);
    act_ok(fulltime, id, "{\"action\":\"rate\",\"satisfaction\":9}", 400);
    e = act(fulltime, id, "{\"action\":\"rate\",\"satisfaction\":2,\"fixed\":false}", 200);
    EXPECT(json_integer_value(json_object_get(e, "satisfaction")) == 2, "satisfaction");
    EXPECT(ta_history_count(e, "rate") == 1 && ta_history_count(e, "reopen") == 1,
           "rate/reopen rows");
    json_decref(e);
    c = ta_wait_case(id, "status", "accepted", WAIT_MS); /* the market plugin took it again */
    json_decref(c);
    free(id);
    free(leader);
    free(fulltime);
    free(market);
}
END_TEST

START_TEST(on_site_case_closes_on_review_not_by_its_handler)
{
    start(NULL);
    char *leader = ta_token_for(LEADER), *instructor = ta_token_for(INSTRUCTOR);
    char *id = ta_report(leader, "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A
                                 "\",\"handled_on_site\":true}", 201);
    json_t *c = ta_get_case(id);
    EXPECT(!strcmp(ta_text(c, "status"), "handled") && !strcmp(ta_text(c, "handled_by"), LEADER),
           "on-site case");
    expect_verbs(leader, "the leader who handled it", id, "cancel");
    expect_verbs(instructor, "the instructor", id, "review cancel");
    json_t *e = act(leader, id, "{\"action\":\"review\",\"result\":\"pass\"}", 403);
    json_decref(e);
    expect_unchanged(id, c);
    json_decref(c);
    e = act(instructor, id, "{\"action\":\"review\",\"result\":\"pass\"}", 200);
    EXPECT(!strcmp(ta_text(e, "status"), "closed"), "not closed");
    json_decref(e);
    free(id);
    free(leader);
    free(instructor);
}
END_TEST

START_TEST(escalate_postpone_cancel_duplicate)
{
    start(NULL);
    char *leader = ta_token_for(LEADER), *fulltime = ta_token_for(FULLTIME);
    char *a = ta_report(fulltime, FOOD, 201), *b = ta_report(fulltime, FOOD, 201);
    json_decref(ta_wait_case(a, "status", "accepted", WAIT_MS));
    json_decref(ta_wait_case(b, "status", "accepted", WAIT_MS));

    /* escalate by hand: the leader only, with a reason */
    act_ok(fulltime, a, "{\"action\":\"escalate\",\"reason\":\"too big\"}", 403);
    act_ok(leader, a, "{\"action\":\"escalate\"}", 422);
    json_t *e = act(leader, a, "{\"action\":\"escalate\",\"reason\":\"needs the community\"}", 200);
    EXPECT(!strcmp(ta_text(e, "level"), "community"), "level %s", ta_text(e, "level"));
    EXPECT(ta_history_count(e, "escalate") == 1, "no escalate row");
    json_decref(e);
    int status;
    json_t *page = ta_call("GET", "/v1/cases?level=community", leader, NULL, &status);
    EXPECT(status == 200 && json_array_size(json_object_get(page, "items")) == 1,
           "level filter for the leader");
    json_decref(page);
    page = ta_call("GET", "/v1/cases?overdue=true", leader, NULL, &status);
    EXPECT(status == 200 && json_array_size(json_object_get(page, "items")) == 0, "overdue filter");
    json_decref(page);

    /* postpone: moves expected_at, marked and recorded */
    json_t *before = ta_get_case(a);
    act_ok(fulltime, a, "{\"action\":\"postpone\",\"until\":\"2099-01-01T00:00:00+08:00\"}", 403);
    act_ok(leader, a, "{\"action\":\"postpone\",\"until\":\"2001-01-01T00:00:00+08:00\"}", 422);
    e = act(leader, a, "{\"action\":\"postpone\",\"until\":\"2099-01-01T00:00:00+08:00\","
                       "\"note\":\"waiting for the owner\"}", 200);
    EXPECT(json_is_true(json_object_get(e, "postponed")), "not marked postponed");
    EXPECT(strcmp(ta_text(e, "expected_at"), ta_text(before, "expected_at")) != 0 &&
               !strncmp(ta_text(e, "expected_at"), "2099-01-01", 10),
           "expected_at %s", ta_text(e, "expected_at"));
    EXPECT(ta_history_count(e, "postpone") == 1, "no postpone row");
    json_decref(e);
    json_decref(before);

    /* cancel b as a duplicate of a: both histories show the link */
    act_ok(fulltime, b, "{\"action\":\"cancel\"}", 403);
    act_ok(leader, b, "{\"action\":\"cancel\",\"duplicate_of\":\"C99999999\"}", 422);
    char dup[96];
    snprintf(dup, sizeof dup, "{\"action\":\"cancel\",\"duplicate_of\":\"%s\"}", a);
    e = act(leader, b, dup, 200);
    EXPECT(!strcmp(ta_text(e, "status"), "cancelled"), "not cancelled");
    EXPECT(strstr(ta_text(ta_history_last(e, "cancel"), "note"), a),
           "cancel note lacks the original");
    json_decref(e);
    json_t *orig = ta_get_case(a);
    EXPECT(ta_history_count(orig, "duplicate") == 1 &&
               strstr(ta_text(ta_history_last(orig, "duplicate"), "note"), b),
           "the original does not show the link");
    json_decref(orig);
    act_ok(leader, b, "{\"action\":\"cancel\"}", 409);
    free(a);
    free(b);
    free(leader);
    free(fulltime);
}
END_TEST

START_TEST(a_department_returns_a_misrouted_case)
{
    start(NULL);
    char *leader = ta_token_for(LEADER), *municipal = ta_token_for(MUNICIPAL_PRO);
    char *id = ta_report(leader, "{\"category\":\"municipal_facility\",\"grid\":\"" GRID_A "\"}",
                         201);
    json_t *c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    char expected[64];
    snprintf(expected, sizeof expected, "%s", ta_text(c, "expected_at"));
    json_decref(c);
    act_ok(municipal, id, "{\"action\":\"transfer\",\"department\":\"sanitation\"}", 422);
    act_ok(municipal, id, "{\"action\":\"transfer\",\"department\":\"nowhere\",\"reason\":\"x\"}",
           422);
    json_t *e = act(municipal, id, "{\"action\":\"transfer\",\"department\":\"sanitation\","
                                   "\"reason\":\"a bin, not a facility\"}", 200);
    EXPECT(json_integer_value(json_object_get(e, "misroutes")) == 1, "misroute not counted");
    EXPECT(!strcmp(ta_text(e, "id"), id) && !strcmp(ta_text(e, "expected_at"), expected),
           "a transfer keeps id and deadline");
    json_decref(e);
    c = ta_wait_case(id, "department", "sanitation", WAIT_MS);
    json_decref(c);
    c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    EXPECT(ta_history_count(c, "transfer") == 1 && ta_history_count(c, "report") == 1,
           "history kept");
    json_decref(c);
    free(id);
    free(leader);
    free(municipal);
}
END_TEST

/* posting: SLA 0.0002 h = 0.72 s, so each level is overdue within seconds. */
#define FAST_ROUTES "routes = ( { category = \"posting\"; department = \"enforcement\"; sla_hours = 0.0002; } );"

START_TEST(overdue_climbs_the_levels_across_a_restart)
{
    start(FAST_ROUTES);
    char *leader = ta_token_for(LEADER);
    char *id = ta_report(leader, "{\"category\":\"posting\",\"grid\":\"" GRID_A "\"}", 201);
    json_t *c = ta_wait_case(id, "level", "community", WAIT_MS);
    EXPECT(ta_history_count(c, "escalate") >= 1, "no escalate row");
    json_decref(c);
    /* kill -9 in the middle: the timer comes back from the table */
    td_kill9(&D);
    EXPECT(td_restart(&D) == 0, "restart failed");
    c = ta_wait_case(id, "level", "city", WAIT_MS);
    EXPECT(ta_history_count(c, "escalate") == 3, "not three escalations");
    json_decref(c);
    long long deadline = td_deadline(WAIT_MS);
    for (;;) {
        c = ta_get_case(id);
        if (ta_history_count(c, "overdue") == 1)
            break;
        EXPECT(ta_mono_ms() < deadline, "no overdue row at city level");
        json_decref(c);
        ta_sleep_ms(100);
    }
    EXPECT(json_is_true(json_object_get(c, "overdue")), "not flagged overdue");
    json_decref(c);
    /* at the top of the ladder the case page offers no escalation */
    json_decref(ta_wait_case(id, "status", "accepted", WAIT_MS));
    expect_verbs(leader, "the leader at city level", id, "transfer postpone cancel");
    int status;
    json_t *page = ta_call("GET", "/v1/cases?overdue=true&level=city", leader, NULL, &status);
    EXPECT(status == 200 && json_array_size(json_object_get(page, "items")) == 1,
           "overdue+level filter");
    json_decref(page);
    free(id);
    free(leader);
}
END_TEST

START_TEST(landscaping_penalty_ends_at_enforcement)
{
    start(NULL);
    char *leader = ta_token_for(LEADER);
    char *id = ta_report(leader, "{\"category\":\"landscaping\",\"grid\":\"" GRID_A
                                 "\",\"needs_penalty\":true}", 201);
    json_t *c = ta_wait_case(id, "department", "enforcement", WAIT_MS);
    json_decref(c);
    c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    EXPECT(ta_history_count(c, "transfer") == 1, "no transfer in the history");
    /* enforcement's rule: the penalty decision is recorded before handling */
    json_t *req = json_object_get(c, "requires");
    EXPECT(json_array_size(req) == 1 && !strcmp(json_string_value(json_array_get(req, 0)),
                                                 "penalty_decision"), "requires");
    json_t *before = c;
    char *enforcer = ta_token_for(ENFORCEMENT_PRO);
    json_t *e = act(enforcer, id, "{\"action\":\"handle\"}", 422);
    EXPECT(!strcmp(ta_error_code(e), "missing_requirement"), "422 code");
    json_decref(e);
    expect_unchanged(id, before);
    json_decref(before);
    e = act(enforcer, id, "{\"action\":\"handle\",\"penalty_decision\":\"fine 200 CNY\"}", 200);
    EXPECT(!strcmp(ta_text(e, "status"), "handled"), "not handled");
    EXPECT(!strcmp(ta_text(json_object_get(e, "extra"), "penalty_decision"), "fine 200 CNY"),
           "penalty decision not recorded");
    EXPECT(json_array_size(json_object_get(e, "requires")) == 0, "requirement not cleared");
    json_decref(e);
    free(enforcer);
    free(id);
    free(leader);
}
END_TEST

START_TEST(police_injuries_go_joint_and_market_links_the_licence)
{
    start(NULL);
    char *leader = ta_token_for(LEADER);
    char *crash = ta_report(leader, "{\"category\":\"traffic_safety\",\"grid\":\"" GRID_A
                                    "\",\"injuries\":true}", 201);
    char *plain = ta_report(leader, "{\"category\":\"traffic_safety\",\"grid\":\"" GRID_A "\"}",
                            201);
    json_t *c = ta_wait_case(crash, "status", "accepted", WAIT_MS);
    EXPECT(!strcmp(ta_text(c, "level"), "joint"), "injuries: level %s", ta_text(c, "level"));
    EXPECT(ta_history_count(c, "escalate") == 1, "no escalate row");
    json_decref(c);
    c = ta_wait_case(plain, "status", "accepted", WAIT_MS);
    EXPECT(!strcmp(ta_text(c, "level"), "grid"), "no injuries: level %s", ta_text(c, "level"));
    json_decref(c);
    char *shop = ta_report(leader, "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A
                                   "\",\"licence_no\":\"91331102MA2A1B2C3D\"}", 201);
    c = ta_wait_case(shop, "status", "accepted", WAIT_MS);
    EXPECT(!strcmp(ta_text(c, "licence_no"), "91331102MA2A1B2C3D"), "licence not linked");
    json_decref(c);
    free(crash);
    free(plain);
    free(shop);
    free(leader);
}
END_TEST

static Suite *workflow_suite(void)
{
    Suite *s = suite_create("workflow");
    struct { const char *name; const TTest *test; } cases[] = {
        {"loop", the_loop_with_rework_and_refusals},
        {"on_site", on_site_case_closes_on_review_not_by_its_handler},
        {"leader", escalate_postpone_cancel_duplicate},
        {"misroute", a_department_returns_a_misrouted_case},
        {"overdue", overdue_climbs_the_levels_across_a_restart},
        {"penalty", landscaping_penalty_ends_at_enforcement},
        {"plugin_rules", police_injuries_go_joint_and_market_links_the_licence},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ta_add_case(s, cases[i].name, cases[i].test, NULL, teardown, 60);
    return s;
}

int main(void)
{
    return ta_run(workflow_suite());
}
