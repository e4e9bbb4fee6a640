/*
 * test_plugins.c — the department plugins' rules, run through the mock host
 * (tests/support/plugin_mock.h) against the .so files `make` built, plus the
 * small test plugins the loader and daemon tests use.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/plugin_mock.h"
#include "support/testutil.h"
#include "support/run_suite.h"

#define REPORTED_AT 1700000000LL

/* The six department plugins: what each descriptor must say, and a
 * category each takes without any special rule. */
typedef struct dept_expect {
    const char *name;
    const char *zh;
    const char *plain_category;
    const char *categories[16];
} dept_expect;

static const dept_expect depts[] = {
    {"enforcement", "综合行政执法", "street_stall",
     {"street_stall", "outside_shop_trading", "posting", "graffiti", "splashing", "dumping",
      "stringing", "hanging", "illegal_structure", "illegal_building", "illegal_placement",
      NULL}},
    {"municipal", "市政和园林", "landscaping", {"municipal_facility", "landscaping", NULL}},
    {"sanitation", "环卫", "sanitation", {"sanitation", NULL}},
    {"market", "市场监管", "food_hygiene", {"food_hygiene", "six_small_trades", NULL}},
    {"police", "公安/交警", "illegal_parking", {"traffic_safety", "illegal_parking", NULL}},
    {"volunteer", "志愿者", "posting", {NULL}},
};
#define N_DEPTS ((int)(sizeof depts / sizeof depts[0]))

/* ------------------------------------------------------------ helpers */

static plugin_mock *open_at(const char *dir, const char *name)
{
    char err[512] = "";
    char *path = tu_plugin_path(dir, name);
    plugin_mock *m = pm_open(path, err, sizeof err);
    free(path);
    ck_assert_msg(m != NULL, "cannot open plugin: %s", err);
    return m;
}

/* A department plugin, initialised with `settings` (NULL: none). */
static plugin_mock *open_dept(const char *name, const char *settings)
{
    char *dir = tu_sprintf("plugins/%s", name);
    plugin_mock *m = open_at(dir, name);
    free(dir);
    int rc = pm_init(m, settings);
    ck_assert_msg(rc == CITYGRID_OK, "%s init(%s) = %d", name, settings ? settings : "{}", rc);
    return m;
}

/* init() result alone, for settings that must be refused. */
static int init_result(const char *name, const char *settings)
{
    char *dir = tu_sprintf("plugins/%s", name);
    plugin_mock *m = open_at(dir, name);
    free(dir);
    int rc = pm_init(m, settings);
    pm_close(m);
    return rc;
}

/* A dispatch payload shaped like the one cases.c builds. `members` and
 * `extra` are JSON text. */
static char *dispatch(const char *id, const char *category, const char *department,
                      double sla_hours, int needs_penalty, const char *members,
                      const char *extra)
{
    return tu_sprintf(
        "{\"id\":\"%s\",\"dispatch_id\":\"D%s\",\"category\":\"%s\",\"department\":\"%s\","
        "\"grid\":\"33110200100101\",\"lat\":28.45,\"lon\":119.92,\"has_location\":true,"
        "\"description\":\"test case\",\"source\":\"patrol\",\"level\":\"grid\","
        "\"reporter\":\"m-reporter\",\"needs_penalty\":%s,\"sla_hours\":%.17g,"
        "\"reported_at\":%lld,\"members\":%s,\"extra\":%s}",
        id, id, category, department, needs_penalty ? "true" : "false", sla_hours,
        REPORTED_AT, members ? members : "[]", extra ? extra : "{}");
}

static int handle(plugin_mock *m, const char *category, double sla, int penalty,
                  const char *members, const char *extra)
{
    char *json = dispatch("C00000001", category, pm_descriptor(m)->department, sla, penalty,
                          members, extra);
    int rc = pm_handle_json(m, json, 1);
    free(json);
    return rc;
}

static const char *action_type(plugin_mock *m, size_t i)
{
    const pm_action *a = pm_action_at(m, i);
    return a ? a->type : "(none)";
}

/* The note that contains `needle`, or NULL. */
static const pm_action *note_with(plugin_mock *m, const char *needle)
{
    for (size_t i = 0; i < pm_n_actions(m); i++) {
        const pm_action *a = pm_action_at(m, i);
        if (strcmp(a->type, "note") == 0 && strstr(a->text, needle))
            return a;
    }
    return NULL;
}

static int64_t deadline_of(plugin_mock *m)
{
    const pm_action *a = pm_find(m, "deadline");
    ck_assert_msg(a != NULL, "no deadline action");
    return a->at;
}

/* ------------------------------------------------------------ every department */

START_TEST(test_descriptor)
{
    const dept_expect *e = &depts[_i];
    plugin_mock *m = open_dept(e->name, NULL);
    const citygrid_plugin *d = pm_descriptor(m);
    ck_assert_str_eq(d->name, e->name);
    ck_assert_str_eq(d->department, e->name);
    ck_assert_str_eq(d->department_zh, e->zh);
    ck_assert_str_eq(d->version, "1.0.0");
    ck_assert_uint_eq(d->struct_size, sizeof(citygrid_plugin));
    ck_assert_ptr_nonnull(d->categories);
    size_t n = 0;
    for (; d->categories[n]; n++) {
        ck_assert_ptr_nonnull(e->categories[n]);
        ck_assert_str_eq(d->categories[n], e->categories[n]);
    }
    ck_assert_ptr_null(e->categories[n]);
    citygrid_abi abi = pm_plugin_abi(m);
    ck_assert_uint_eq(abi.major, CITYGRID_ABI_MAJOR);
    ck_assert_uint_eq(abi.minor, CITYGRID_ABI_MINOR);
    /* Hidden visibility: the shared code is not exported. */
    ck_assert_ptr_null(pm_symbol(m, "dept_take"));
    ck_assert_ptr_null(pm_symbol(m, "dept_json_extra_string"));
    pm_close(m);
}
END_TEST

START_TEST(test_takes_case_to_queue)
{
    const dept_expect *e = &depts[_i];
    plugin_mock *m = open_dept(e->name, NULL);
    ck_assert_int_eq(handle(m, e->plain_category, 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_n_actions(m), 4);
    ck_assert_str_eq(action_type(m, 0), "accept");
    ck_assert_str_eq(pm_action_at(m, 0)->case_id, "C00000001");
    ck_assert_str_eq(action_type(m, 1), "assign");
    char *queue = tu_sprintf("queue:%s", e->name);
    ck_assert_str_eq(pm_action_at(m, 1)->assignee, queue);
    ck_assert_str_eq(action_type(m, 2), "deadline");
    ck_assert_int_eq(pm_action_at(m, 2)->at, REPORTED_AT + 24 * 3600);
    ck_assert_str_eq(action_type(m, 3), "note");
    char *note = tu_sprintf("%s accepted; assigned to %s", e->zh, queue);
    ck_assert_str_eq(pm_action_at(m, 3)->text, note);
    free(note);
    free(queue);
    pm_close(m);
}
END_TEST

START_TEST(test_picks_least_busy_member)
{
    const dept_expect *e = &depts[_i];
    plugin_mock *m = open_dept(e->name, NULL);
    const char *members =
        "[{\"id\":\"m3\",\"name\":\"王五\",\"role\":\"professional\",\"open_cases\":1},"
        " {\"id\":\"m2\",\"name\":\"李四\",\"role\":\"professional\",\"open_cases\":0},"
        " {\"id\":\"m1\",\"name\":\"张三\",\"role\":\"professional\",\"open_cases\":0},"
        " {\"id\":\"m0\",\"name\":\"赵六\",\"role\":\"professional\",\"open_cases\":5}]";
    ck_assert_int_eq(handle(m, e->plain_category, 24, 0, members, NULL), CITYGRID_OK);
    const pm_action *assign = pm_find(m, "assign");
    ck_assert_ptr_nonnull(assign);
    ck_assert_str_eq(assign->assignee, "m1");
    ck_assert_uint_eq(pm_count(m, "assign"), 1);
    ck_assert_ptr_nonnull(note_with(m, "assigned to m1 (张三)"));
    pm_close(m);
}
END_TEST

START_TEST(test_bad_case_is_refused)
{
    const dept_expect *e = &depts[_i];
    plugin_mock *m = open_dept(e->name, NULL);
    citygrid_case c = {.struct_size = sizeof c, .id = "", .dispatch_id = "", .category = "",
                       .department = "", .grid = "", .description = "", .source = "",
                       .level = "", .reporter = "", .json = ""};
    ck_assert_int_eq(pm_handle(m, &c), CITYGRID_E_INVALID);
    ck_assert_uint_eq(pm_n_actions(m), 0);
    c.id = "C00000009";
    c.struct_size = sizeof c - sizeof c.json; /* a host older than ABI 1.0 */
    ck_assert_int_eq(pm_handle(m, &c), CITYGRID_E_INVALID);
    ck_assert_uint_eq(pm_n_actions(m), 0);
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ shared rules */

START_TEST(test_member_without_id_is_skipped)
{
    plugin_mock *m = open_dept("enforcement", NULL);
    const char *members = "[{\"id\":\"\",\"name\":\"nobody\",\"open_cases\":0}]";
    ck_assert_int_eq(handle(m, "posting", 24, 0, members, NULL), CITYGRID_OK);
    ck_assert_str_eq(pm_find(m, "assign")->assignee, "queue:enforcement");
    pm_close(m);
}
END_TEST

START_TEST(test_queue_setting)
{
    plugin_mock *m = open_dept("enforcement", "{\"queue\":\"zone-1\"}");
    ck_assert_int_eq(handle(m, "posting", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_str_eq(pm_find(m, "assign")->assignee, "queue:zone-1");
    pm_close(m);

    m = open_dept("sanitation", "{\"queue\":\"queue:night-shift\"}");
    ck_assert_int_eq(handle(m, "sanitation", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_str_eq(pm_find(m, "assign")->assignee, "queue:night-shift");
    pm_close(m);

    ck_assert_int_eq(init_result("enforcement", "{\"queue\":\"\"}"), CITYGRID_E_INVALID);
    ck_assert_int_eq(init_result("market", "{\"queue\":\"queue:\"}"), CITYGRID_E_INVALID);
    ck_assert_int_eq(init_result("market", "{\"queue\":\"a\\nb\"}"), CITYGRID_E_INVALID);
    /* The host takes assignees of up to 63 bytes: "queue:" + 57. */
    char *longest = tu_sprintf("{\"queue\":\"%057d\"}", 0);
    char *too_long = tu_sprintf("{\"queue\":\"%058d\"}", 0);
    m = open_dept("police", longest);
    ck_assert_int_eq(handle(m, "illegal_parking", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(strlen(pm_find(m, "assign")->assignee), 63);
    pm_close(m);
    ck_assert_int_eq(init_result("police", too_long), CITYGRID_E_INVALID);
    free(longest);
    free(too_long);
}
END_TEST

START_TEST(test_deadline_rounds_up_to_the_second)
{
    plugin_mock *m = open_dept("enforcement", NULL);
    ck_assert_int_eq(handle(m, "posting", 0.5, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 1800);
    ck_assert_int_eq(handle(m, "posting", 0.1, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 360); /* float noise adds nothing */
    ck_assert_int_eq(handle(m, "posting", 0.0001, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 1); /* 0.36 s rounds up */
    ck_assert_int_eq(handle(m, "posting", 1.0 / 7.0, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 515); /* 514.29 s */
    pm_close(m);
}
END_TEST

START_TEST(test_no_sla_means_no_deadline)
{
    plugin_mock *m = open_dept("municipal", NULL);
    ck_assert_int_eq(handle(m, "landscaping", 0, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_uint_eq(pm_count(m, "deadline"), 0);
    ck_assert_int_eq(handle(m, "landscaping", -3, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "deadline"), 0);
    pm_close(m);
}
END_TEST

START_TEST(test_unknown_reported_at_counts_from_now)
{
    plugin_mock *m = open_dept("volunteer", NULL);
    pm_set_now(m, 1800000000);
    const char *json = "{\"id\":\"C00000005\",\"category\":\"posting\",\"sla_hours\":2}";
    ck_assert_int_eq(pm_handle_json(m, json, 1), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), 1800000000 + 7200);
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ penalties */

static const char *const penalty_transferors[] = {"municipal", "sanitation"};

START_TEST(test_penalty_goes_to_enforcement)
{
    const char *name = penalty_transferors[_i];
    plugin_mock *m = open_dept(name, NULL);
    const char *category = strcmp(name, "municipal") == 0 ? "municipal_facility" : "sanitation";
    ck_assert_int_eq(handle(m, category, 24, 1, "[{\"id\":\"m1\",\"open_cases\":0}]", NULL),
                     CITYGRID_OK);
    ck_assert_uint_eq(pm_n_actions(m), 1);
    ck_assert_uint_eq(pm_count(m, "transfer"), 1);
    ck_assert_uint_eq(pm_count(m, "accept"), 0);
    const pm_action *t = pm_find(m, "transfer");
    ck_assert_str_eq(t->department, "enforcement");
    ck_assert_ptr_nonnull(strstr(t->text, "administrative penalty"));
    ck_assert_ptr_nonnull(strstr(t->text, "综合行政执法"));
    pm_close(m);
}
END_TEST

START_TEST(test_penalty_department_setting)
{
    plugin_mock *m = open_dept("municipal", "{\"penalty_department\":\"enforcement_zone1\"}");
    ck_assert_int_eq(handle(m, "landscaping", 24, 1, NULL, NULL), CITYGRID_OK);
    ck_assert_str_eq(pm_find(m, "transfer")->department, "enforcement_zone1");
    pm_close(m);

    ck_assert_int_eq(init_result("municipal", "{\"penalty_department\":\"municipal\"}"),
                     CITYGRID_E_INVALID);
    ck_assert_int_eq(init_result("sanitation", "{\"penalty_department\":\"Bad Code\"}"),
                     CITYGRID_E_INVALID);
    ck_assert_int_eq(init_result("sanitation", "{\"penalty_department\":\"\"}"),
                     CITYGRID_E_INVALID);
    /* The host takes transfer departments of up to 31 bytes. */
    ck_assert_int_eq(init_result("sanitation",
                                 "{\"penalty_department\":\"enforcement_zone_with_a_long_name\"}"),
                     CITYGRID_E_INVALID);
}
END_TEST

START_TEST(test_enforcement_notes_pending_penalty)
{
    plugin_mock *m = open_dept("enforcement", NULL);
    ck_assert_int_eq(handle(m, "illegal_building", 72, 1, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_uint_eq(pm_count(m, "transfer"), 0);
    ck_assert_ptr_nonnull(note_with(m, "penalty decision pending: to be recorded before handling"));
    ck_assert_int_eq(handle(m, "illegal_building", 72, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_ptr_null(note_with(m, "penalty decision pending"));
    pm_close(m);
}
END_TEST

START_TEST(test_penalty_at_penalty_department_is_kept)
{
    /* A municipal-category case routed to enforcement's code must not bounce. */
    plugin_mock *m = open_dept("municipal", NULL);
    char *json = dispatch("C00000007", "landscaping", "enforcement", 24, 1, NULL, NULL);
    ck_assert_int_eq(pm_handle_json(m, json, 1), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "transfer"), 0);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    free(json);
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ police */

START_TEST(test_police_traffic_safety_cap)
{
    plugin_mock *m = open_dept("police", NULL);
    ck_assert_int_eq(handle(m, "traffic_safety", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 2 * 3600);
    ck_assert_int_eq(handle(m, "traffic_safety", 1, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 3600);
    ck_assert_int_eq(handle(m, "traffic_safety", 0, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 2 * 3600);
    ck_assert_int_eq(handle(m, "illegal_parking", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 24 * 3600);
    pm_close(m);
}
END_TEST

START_TEST(test_police_cap_setting)
{
    plugin_mock *m = open_dept("police", "{\"traffic_safety_max_hours\":4}");
    ck_assert_int_eq(handle(m, "traffic_safety", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 4 * 3600);
    pm_close(m);

    m = open_dept("police", "{\"traffic_safety_max_hours\":1.5}");
    ck_assert_int_eq(handle(m, "traffic_safety", 24, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_int_eq(deadline_of(m), REPORTED_AT + 5400);
    pm_close(m);

    ck_assert_int_eq(init_result("police", "{\"traffic_safety_max_hours\":0}"),
                     CITYGRID_E_INVALID);
    ck_assert_int_eq(init_result("police", "{\"traffic_safety_max_hours\":-1.5}"),
                     CITYGRID_E_INVALID);
}
END_TEST

/* ------------------------------------------------------------ market */

START_TEST(test_market_links_valid_licence)
{
    plugin_mock *m = open_dept("market", NULL);
    ck_assert_int_eq(handle(m, "six_small_trades", 48, 0, NULL,
                            "{\"shop\":\"小吃店\",\"licence_no\":\"91331102MA2A1B2C3D\"}"),
                     CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_ptr_nonnull(note_with(m, "business licence 91331102MA2A1B2C3D linked"));
    ck_assert_ptr_null(note_with(m, "not a valid"));

    /* An escaped key still names the same member. */
    ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL,
                            "{\"licence\\u005fno\":\"91331102MA2A1B2C3D\"}"),
                     CITYGRID_OK);
    ck_assert_ptr_nonnull(note_with(m, "linked"));
    pm_close(m);
}
END_TEST

/* ABI 1.4: the licence is looked up in "companies" through the host; the
 * registered company is noted, an unknown code says so, and a registry
 * that no plugin serves never fails the case. */
START_TEST(test_market_asks_the_registry)
{
    plugin_mock *m = open_dept("market", NULL);
    ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL,
                            "{\"licence_no\":\"91331102MA2A1B2C3D\"}"),
                     CITYGRID_OK);
    ck_assert_ptr_nonnull(note_with(m, "business registry not checked"));
    ck_assert_uint_eq(pm_count(m, "accept"), 1);

    ck_assert_int_eq(pm_set_source_answer(m, "companies",
        "{\"fields\":[\"credit_code\",\"name\",\"status\",\"address\",\"legal_rep\"],"
        "\"rows\":[[\"91331102MA2A1B2C3X\",\"别家\",\"存续\",\"丽水\",\"李**\"],"
        "[\"91331102MA2A1B2C3D\",\"丽水市莲都区小吃店\",\"存续\",\"丽水市莲都区\",\"王**\"]]}"),
        0);
    ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL,
                            "{\"licence_no\":\"91331102MA2A1B2C3D\"}"),
                     CITYGRID_OK);
    ck_assert_ptr_nonnull(note_with(m, "registered company: 丽水市莲都区小吃店"));
    ck_assert_ptr_null(note_with(m, "别家"));

    ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL,
                            "{\"licence_no\":\"91331102MA2A1B2C4E\"}"),
                     CITYGRID_OK);
    ck_assert_ptr_nonnull(note_with(m, "is not in the business registry"));
    pm_close(m);
}
END_TEST

START_TEST(test_market_notes_invalid_licence)
{
    static const char *const bad[] = {
        "{\"licence_no\":\"12345\"}",                 /* too short */
        "{\"licence_no\":\"91331102ma2a1b2c3d\"}",    /* lower case */
        "{\"licence_no\":\"91331102MA2A1B2C3D0\"}",   /* 19 characters */
        "{\"licence_no\":913311021234567890}",        /* not a string */
        "{\"licence_no\":\"9133110 MA2A1B2C3D\"}",    /* a space */
        "{\"licence_no\":\"\"}",
    };
    plugin_mock *m = open_dept("market", NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL, bad[i]), CITYGRID_OK);
        ck_assert_uint_eq(pm_count(m, "accept"), 1);
        ck_assert_msg(note_with(m, "not a valid unified social credit code") != NULL,
                      "no invalid-licence note for %s", bad[i]);
        ck_assert_ptr_null(note_with(m, "linked;"));
    }
    ck_assert_int_eq(handle(m, "food_hygiene", 48, 0, NULL, bad[0]), CITYGRID_OK);
    ck_assert_ptr_nonnull(note_with(m, "\"12345\""));
    pm_close(m);
}
END_TEST

START_TEST(test_market_ignores_licence_outside_extra)
{
    plugin_mock *m = open_dept("market", NULL);
    /* Only extra.licence_no counts: not a top-level key, not text inside a
     * string, not a nested object's member. */
    const char *json =
        "{\"id\":\"C00000003\",\"category\":\"food_hygiene\",\"sla_hours\":48,"
        "\"reported_at\":1700000000,\"licence_no\":\"91331102MA2A1B2C3D\","
        "\"description\":\"\\\"extra\\\":{\\\"licence_no\\\":\\\"91331102MA2A1B2C3D\\\"}\","
        "\"extra\":{\"shop\":{\"licence_no\":\"91331102MA2A1B2C3D\"}}}";
    ck_assert_int_eq(pm_handle_json(m, json, 1), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_uint_eq(pm_count(m, "note"), 1); /* only "who took it" */
    ck_assert_ptr_null(note_with(m, "licence"));
    pm_close(m);
}
END_TEST

START_TEST(test_market_survives_malformed_json)
{
    static const char *const broken[] = {
        "{\"id\":\"C00000004\",\"extra\":{\"licence_no\":\"9133",
        "{\"id\":\"C00000004\",\"extra\":{\"licence_no\":\"91331102MA2A1B2C3D\\x\"}}",
        "{\"extra\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "{\"id\" \"C00000004\"}",
        "not json at all",
        "",
    };
    plugin_mock *m = open_dept("market", NULL);
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        citygrid_case c = {.struct_size = sizeof c, .id = "C00000004", .dispatch_id = "D1",
                           .category = "food_hygiene", .department = "market", .grid = "",
                           .description = "", .source = "", .level = "grid", .reporter = "",
                           .sla_hours = 48, .reported_at = REPORTED_AT, .attempt = 1,
                           .json = broken[i]};
        ck_assert_int_eq(pm_handle(m, &c), CITYGRID_OK);
        ck_assert_uint_eq(pm_count(m, "accept"), 1);
        ck_assert_ptr_null(note_with(m, "linked"));
    }
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ volunteer */

START_TEST(test_volunteer_accepts_what_it_is_given)
{
    plugin_mock *m = open_dept("volunteer", NULL);
    static const char *const categories[] = {"posting", "landscaping", "some_local_category"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(handle(m, categories[i], 8, 0, NULL, NULL), CITYGRID_OK);
        ck_assert_uint_eq(pm_count(m, "accept"), 1);
        ck_assert_str_eq(pm_find(m, "assign")->assignee, "queue:volunteer");
        ck_assert_ptr_nonnull(note_with(m, "志愿者 accepted"));
    }
    /* A penalty is not the volunteer's call, but it does not refuse the case. */
    ck_assert_int_eq(handle(m, "posting", 8, 1, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ the host contract */

START_TEST(test_case_action_outside_its_case_is_state)
{
    plugin_mock *m = open_dept("enforcement", NULL);
    const citygrid_host *h = pm_host(m);
    citygrid_plugin_ctx *ctx = pm_ctx(m);
    ck_assert_int_eq(h->case_accept(ctx, "C00000001"), CITYGRID_E_STATE);
    ck_assert_int_eq(h->case_note(ctx, "C00000001", "x"), CITYGRID_E_STATE);
    pm_close(m);

    /* From inside handle(), an action on another case id is refused too. */
    m = open_at("tests/plugins", "echo");
    ck_assert_int_eq(pm_init(m, "{\"probe_other_case\":true}"), CITYGRID_OK);
    ck_assert_int_eq(handle(m, "posting", 1, 0, NULL, NULL), CITYGRID_OK);
    char *expect = tu_sprintf("probe other case: %d", CITYGRID_E_STATE);
    ck_assert_ptr_nonnull(note_with(m, expect));
    free(expect);
    for (size_t i = 0; i < pm_n_actions(m); i++)
        ck_assert_str_eq(pm_action_at(m, i)->case_id, "C00000001");
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ test plugins */

START_TEST(test_echo_accepts)
{
    plugin_mock *m = open_at("tests/plugins", "echo");
    ck_assert_str_eq(pm_descriptor(m)->name, "echo");
    ck_assert_str_eq(pm_descriptor(m)->department, "echo-test");
    ck_assert_int_eq(pm_init(m, NULL), CITYGRID_OK);
    ck_assert_int_eq(handle(m, "anything", 1, 0, NULL, NULL), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_ptr_nonnull(note_with(m, "attempt 1"));
    pm_close(m);
}
END_TEST

START_TEST(test_echo_retry_first)
{
    plugin_mock *m = open_at("tests/plugins", "echo");
    ck_assert_int_eq(pm_init(m, "{\"retry_first\":true}"), CITYGRID_OK);
    char *d1 = dispatch("C00000001", "posting", "echo-test", 1, 0, NULL, NULL);
    char *d2 = dispatch("C00000002", "posting", "echo-test", 1, 0, NULL, NULL);
    ck_assert_int_eq(pm_handle_json(m, d1, 1), CITYGRID_E_RETRY);
    ck_assert_uint_eq(pm_n_actions(m), 0);
    ck_assert_int_eq(pm_handle_json(m, d1, 2), CITYGRID_OK);
    ck_assert_uint_eq(pm_count(m, "accept"), 1);
    ck_assert_ptr_nonnull(note_with(m, "attempt 2"));
    ck_assert_int_eq(pm_handle_json(m, d2, 1), CITYGRID_E_RETRY);
    ck_assert_int_eq(pm_handle_json(m, d1, 3), CITYGRID_OK);
    ck_assert_int_eq(pm_handle_json(m, d2, 2), CITYGRID_OK);
    free(d1);
    free(d2);
    pm_close(m);
}
END_TEST

START_TEST(test_broken_test_plugins_are_refused)
{
    char err[512];
    static const struct { const char *name, *reason; } refused[] = {
        {"abi_major2", "plugin ABI 2.0"},
        {"abi_newer_minor", "plugin ABI 1."},
        {"no_entry", CITYGRID_PLUGIN_DESCRIBE_SYMBOL},
    };
    for (size_t i = 0; i < 3; i++) {
        char *path = tu_plugin_path("tests/plugins", refused[i].name);
        err[0] = '\0';
        ck_assert_ptr_null(pm_open(path, err, sizeof err));
        ck_assert_msg(strstr(err, refused[i].reason) != NULL, "%s: %s", refused[i].name, err);
        free(path);
    }
    plugin_mock *m = open_at("tests/plugins", "init_fails");
    ck_assert_int_eq(pm_init(m, NULL), CITYGRID_E_INVALID);
    ck_assert(pm_log_contains(m, "refusing to start"));
    pm_close(m);
}
END_TEST

/* ------------------------------------------------------------ runner */

static Suite *plugins_suite(void)
{
    Suite *s = suite_create("plugins");
    TCase *tc = tcase_create("departments");
    tcase_add_loop_test(tc, test_descriptor, 0, N_DEPTS);
    tcase_add_loop_test(tc, test_takes_case_to_queue, 0, N_DEPTS);
    tcase_add_loop_test(tc, test_picks_least_busy_member, 0, N_DEPTS);
    tcase_add_loop_test(tc, test_bad_case_is_refused, 0, N_DEPTS);
    tcase_add_test(tc, test_member_without_id_is_skipped);
    tcase_add_test(tc, test_queue_setting);
    tcase_add_test(tc, test_deadline_rounds_up_to_the_second);
    tcase_add_test(tc, test_no_sla_means_no_deadline);
    tcase_add_test(tc, test_unknown_reported_at_counts_from_now);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_penalty_goes_to_enforcement, 0, 2);
    tcase_add_test(tc, test_penalty_department_setting);
    tcase_add_test(tc, test_enforcement_notes_pending_penalty);
    tcase_add_test(tc, test_penalty_at_penalty_department_is_kept);
    tcase_add_test(tc, test_police_traffic_safety_cap);
    tcase_add_test(tc, test_police_cap_setting);
    tcase_add_test(tc, test_market_links_valid_licence);
    tcase_add_test(tc, test_market_asks_the_registry);
    tcase_add_test(tc, test_market_notes_invalid_licence);
    tcase_add_test(tc, test_market_ignores_licence_outside_extra);
    tcase_add_test(tc, test_market_survives_malformed_json);
    tcase_add_test(tc, test_volunteer_accepts_what_it_is_given);
    suite_add_tcase(s, tc);

    tc = tcase_create("host");
    tcase_add_test(tc, test_case_action_outside_its_case_is_state);
    tcase_add_test(tc, test_echo_accepts);
    tcase_add_test(tc, test_echo_retry_first);
    tcase_add_test(tc, test_broken_test_plugins_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(plugins_suite());
}
