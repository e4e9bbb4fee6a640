/*
 * test_escalation.c — the escalation details and subscriptions, pure
 * parts: the `subscribe` and `escalation.city` config (good files load,
 * mistakes are refused with file:line), which city body a case goes to, and
 * which plugins' departments get a copy of an event.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "case/cases.h"
#include "people/catalog.h"
#include "case/citybody.h"
#include "conf/config.h"
#include "store/store.h"
#include "case/subscribe.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir;

static void setup(void) { dir = tu_tempdir("escalation"); }
static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static int load(const char *text, cg_config *cfg, char *err, size_t errlen)
{
    char *path = tu_sprintf("%s/main.cfg", dir);
    ck_assert_int_eq(tu_write_file(path, text), 0);
    int rc = cg_config_load(path, cfg, err, errlen);
    free(path);
    return rc;
}

static void expect_error(const char *text, const char *needle1, const char *needle2)
{
    cg_config cfg;
    char err[1024] = "";
    ck_assert_int_eq(load(text, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, needle1), "error '%s' lacks '%s'", err, needle1);
    ck_assert_msg(!needle2 || strstr(err, needle2), "error '%s' lacks '%s'", err, needle2);
}

#define PLUGIN(extra) "plugins = ( { name = \"volunteer\"; path = \"v.so\"; " extra " } );\n"

START_TEST(config_reads_subscribe_and_city_routes)
{
    cg_config cfg;
    char err[1024] = "";
    int rc = load(PLUGIN("subscribe = [ \"escalation\", \"joint\", \"city\" ];")
                  "escalation = { city = { default = \"civilisation_office\";\n"
                  "  routes = ( { category = \"illegal_building\"; body = \"district_government\"; },\n"
                  "             { district = \"devzone\"; body = \"zone_committee\"; } ); }; };\n",
                  &cfg, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_uint_eq(cfg.plugins[0].n_subscribe, 3);
    ck_assert_str_eq(cfg.plugins[0].subscribe[1], "joint");
    ck_assert_int_eq(cfg.plugins[0].subscribe_line, 1);
    ck_assert_str_eq(cfg.escalation.city_default, "civilisation_office");
    ck_assert_uint_eq(cfg.escalation.n_city_routes, 2);
    ck_assert_str_eq(cfg.escalation.city_routes[1].district, "devzone");
    ck_assert_ptr_null(cfg.escalation.city_routes[1].category);
    ck_assert_int_eq(cfg.escalation.city_routes[1].line, 4);
    cg_config_free(&cfg);

    /* nothing said: no subscriptions, the bureau by default */
    ck_assert_int_eq(load(PLUGIN(""), &cfg, err, sizeof err), 0);
    ck_assert_uint_eq(cfg.plugins[0].n_subscribe, 0);
    ck_assert_int_eq(cg_subscribe_any(&cfg), 0);
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", "devzone"), "city_enforcement_bureau");
    cg_config_free(&cfg);
}
END_TEST

START_TEST(config_refuses_bad_subscribe_and_bodies)
{
    expect_error(PLUGIN("subscribe = \"all\";"), "main.cfg:1:", "non-empty list");
    expect_error(PLUGIN("subscribe = [ ];"), "main.cfg:1:", "non-empty list");
    expect_error(PLUGIN("subscribe = [ \"all\", \"joint\" ];"), "main.cfg:1:", "no other terms");
    expect_error(PLUGIN("subscribe = [ \"Joint!\" ];"), "subscribe[0]", NULL);
    expect_error(PLUGIN("subscribe = [ \"joint\", \"joint\" ];"), "twice", NULL);
    expect_error(PLUGIN("subscribe = [ 3 ];"), "subscribe[0]", NULL);
    expect_error("\nescalation = { city = { default = \"mayor\"; }; };\n", "main.cfg:2:",
                 "zone_committee");
    expect_error("escalation = { city = { routes = ( { category = \"posting\"; } ); }; };\n",
                 "main.cfg:1:", "needs a 'body'");
    expect_error("escalation = { city = {\n routes = ( { body = \"zone_committee\"; } ); }; };\n",
                 "main.cfg:2:", "'category', a 'district' or both");
    expect_error("escalation = { town = { }; };\n", "main.cfg:1:", "unknown setting 'town'");
    expect_error("escalation = { city = { routes = ( { district = \"x\"; body = \"b\"; } ); }; };\n",
                 "main.cfg:1:", "civilisation_office");
}
END_TEST

START_TEST(city_body_first_matching_route)
{
    cg_city_route_conf routes[] = {
        {.category = "illegal_building", .body = "district_government"},
        {.district = "devzone", .body = "zone_committee"},
        {.category = "posting", .district = "liandu", .body = "civilisation_office"},
    };
    cg_config cfg = {.escalation = {.city_default = "city_enforcement_bureau",
                                    .city_routes = routes, .n_city_routes = 3}};
    ck_assert_str_eq(cg_city_body_for(&cfg, "illegal_building", "devzone"), "district_government");
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", "devzone"), "zone_committee");
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", "liandu"), "civilisation_office");
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", "jinyun"), "city_enforcement_bureau");
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", ""), "city_enforcement_bureau");
    ck_assert_str_eq(cg_city_body_for(&cfg, "posting", NULL), "city_enforcement_bureau");
    ck_assert_str_eq(cg_city_body_for(NULL, "posting", NULL), CG_CITY_BODY_DEFAULT);
    ck_assert_str_eq(cg_city_body_zh("zone_committee"), "开发区管委会");
    ck_assert_str_eq(cg_city_body_zh("civilisation_office"), "市文明办");
    ck_assert_str_eq(cg_city_body_zh("district_government"), "区政府");
    ck_assert_str_eq(cg_city_body_zh("city_enforcement_bureau"), "市综合行政执法局");
    ck_assert_ptr_null(cg_city_body_zh("mayor"));
    ck_assert_ptr_null(cg_city_body_zh(NULL));
}
END_TEST

static cg_plugin_conf plugin_with(char **terms, size_t n)
{
    cg_plugin_conf p = {.name = "volunteer", .enabled = 1, .subscribe = terms, .n_subscribe = n,
                        .file = "v.cfg", .line = 1, .subscribe_line = 7};
    return p;
}

START_TEST(matching_widens_within_a_sort_and_narrows_across)
{
    char *esc_joint_city[] = {"escalation", "joint", "city"};
    cg_plugin_conf p = plugin_with(esc_joint_city, 3);
    ck_assert(cg_subscribe_matches(&p, "police", "escalation", "joint"));
    ck_assert(cg_subscribe_matches(&p, "market", "escalation", "city"));
    ck_assert(!cg_subscribe_matches(&p, "police", "escalation", "community"));
    ck_assert(!cg_subscribe_matches(&p, "police", "transition", "joint"));

    char *all[] = {"all"};
    p = plugin_with(all, 1);
    ck_assert(cg_subscribe_matches(&p, "police", "transition", "grid"));

    char *deps[] = {"market", "police"};
    p = plugin_with(deps, 2);
    ck_assert(cg_subscribe_matches(&p, "police", "transition", "grid"));
    ck_assert(!cg_subscribe_matches(&p, "sanitation", "escalation", "city"));

    p = plugin_with(NULL, 0);
    ck_assert(!cg_subscribe_matches(&p, "police", "transition", "grid"));
    ck_assert(!cg_subscribe_matches(NULL, "police", "transition", "grid"));
}
END_TEST

START_TEST(subscribers_are_running_plugins_other_than_the_owner)
{
    char *all[] = {"all"}, *joint[] = {"joint"}, *bogus[] = {"nowhere"};
    cg_plugin_conf plugins[3] = {plugin_with(all, 1), plugin_with(joint, 1), plugin_with(NULL, 0)};
    plugins[1].name = "police";
    plugins[2].name = "market";
    cg_config cfg = {.plugins = plugins, .n_plugins = 3};
    char err[512];
    cg_catalog *cat = cg_catalog_new(&cfg, err, sizeof err);
    ck_assert_msg(cat != NULL, "%s", err);
    ck_assert_int_eq(cg_subscribe_any(&cfg), 1);
    const char *out[CG_SUBSCRIBERS_MAX];
    /* no plugin serves a department yet: nobody to copy to */
    ck_assert_uint_eq(cg_subscribers(&cfg, cat, "market", "transition", "joint", out, 16), 0);
    cg_catalog_set_plugin(cat, "volunteer", "volunteer");
    cg_catalog_set_plugin(cat, "police", "police");
    cg_catalog_set_plugin(cat, "market", "market");
    size_t n = cg_subscribers(&cfg, cat, "market", "transition", "joint", out, 16);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(out[0], "volunteer");
    ck_assert_str_eq(out[1], "police");
    /* the owner never gets a copy of its own event */
    n = cg_subscribers(&cfg, cat, "police", "transition", "joint", out, 16);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0], "volunteer");
    ck_assert_uint_eq(cg_subscribers(&cfg, cat, "market", "transition", "grid", out, 16), 1);
    ck_assert_uint_eq(cg_subscribers(&cfg, cat, "market", "transition", "joint", out, 1), 1);
    /* a disabled plugin subscribes to nothing */
    plugins[0].enabled = 0;
    plugins[1].enabled = 0;
    ck_assert_int_eq(cg_subscribe_any(&cfg), 0);
    ck_assert_uint_eq(cg_subscribers(&cfg, cat, "market", "transition", "joint", out, 16), 0);

    /* startup check: department codes must exist */
    ck_assert_int_eq(cg_subscribe_check(&cfg, cat, err, sizeof err), 0);
    plugins[2] = plugin_with(bogus, 1);
    ck_assert_int_eq(cg_subscribe_check(&cfg, cat, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "v.cfg:7:") && strstr(err, "'nowhere'"), "%s", err);

    cg_city_route_conf route = {.category = "no_such_thing", .body = "zone_committee",
                                .file = "main.cfg", .line = 9};
    cfg.escalation.city_routes = &route;
    cfg.escalation.n_city_routes = 1;
    ck_assert_int_eq(cg_city_routes_check(&cfg, cat, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "main.cfg:9:") && strstr(err, "no_such_thing"), "%s", err);
    route.category = "posting";
    ck_assert_int_eq(cg_city_routes_check(&cfg, cat, err, sizeof err), 0);
    cg_catalog_free(cat);
}
END_TEST

/* The store's side: a change with escalation details and subscribers writes
 * the columns and one event row per subscriber, each with its own dispatch
 * id; a subscriber may answer only with notes, once. */
START_TEST(store_writes_details_and_subscriber_copies)
{
    char *db = tu_sprintf("%s/citygrid.db", dir);
    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_msg(cg_store_open(db, &st, err, sizeof err) == 0, "open: %s", err);
    cg_new_case nc = {.category = "food_hygiene", .department = "market", .grid = "",
                      .reporter = "M1", .sla_hours = 1};
    char id[32];
    cg_dispatch d;
    int dispatched;
    ck_assert_int_eq(cg_cases_insert(st, &nc, 1000, id, &d, &dispatched, err, sizeof err), 0);
    cg_dispatch_clear(&d);

    const char *subs[] = {"volunteer", "police"};
    cg_dispatch outs[2];
    json_t *ev = json_pack("{s:s, s:s}", "kind", "escalation", "verb", "escalate");
    cg_case_change ch = {.case_id = id, .actor = "M2", .action = "escalate",
                         .expect_status = "dispatched", .level = "joint",
                         .joint_departments = "[\"market\",\"police\"]",
                         .city_body = "zone_committee", .sub_event = ev,
                         .subscribers = subs, .n_subscribers = 2, .subscriber_out = outs};
    cg_dispatch out;
    int has_out = 0;
    ck_assert_int_eq(cg_cases_apply_change(st, &ch, 2000, &out, &has_out, err, sizeof err),
                     CG_OK);
    ck_assert_int_eq(has_out, 0); /* no owner event asked for */
    ck_assert_str_eq(outs[0].department, "volunteer");
    ck_assert_str_eq(outs[1].department, "police");
    ck_assert_str_ne(outs[0].id, outs[1].id);
    ck_assert_int_eq(cg_outbox_count(st), 3);
    for (int i = 0; i < 2; i++) {
        json_t *p = json_loads(outs[i].payload, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(p, "dispatch_id")), outs[i].id);
        ck_assert_str_eq(json_string_value(json_object_get(p, "department")), "market");
        ck_assert(json_equal(json_object_get(p, "event"), ev));
        json_decref(p);
    }
    json_t *c = cg_cases_get(st, id);
    ck_assert_str_eq(json_string_value(json_object_get(c, "city_body")), "zone_committee");
    ck_assert_uint_eq(json_array_size(json_object_get(c, "joint_departments")), 2);
    size_t history = json_array_size(json_object_get(c, "history"));
    json_decref(c);

    /* a subscriber may not move the case ... */
    json_t *escalate = json_loads("[{\"type\":\"escalate\",\"level\":\"city\"}]", 0, NULL);
    cg_dispatch next;
    int has_next;
    ck_assert_int_eq(cg_cases_apply_result(st, outs[0].id, "volunteer", escalate, 3000, NULL,
                                           NULL, &next, &has_next, err, sizeof err),
                     CG_APPLY_ERROR);
    ck_assert_msg(strstr(err, "only answer an event with notes"), "%s", err);
    /* ... but notes, once */
    json_t *note = json_loads("[{\"type\":\"note\",\"text\":\"seen\"}]", 0, NULL);
    ck_assert_int_eq(cg_cases_apply_result(st, outs[0].id, "volunteer", note, 3000, NULL, NULL,
                                           &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_int_eq(cg_cases_apply_result(st, outs[0].id, "volunteer", note, 3000, NULL, NULL,
                                           &next, &has_next, err, sizeof err),
                     CG_APPLY_DUPLICATE);
    c = cg_cases_get(st, id);
    json_t *h = json_object_get(c, "history");
    ck_assert_uint_eq(json_array_size(h), history + 1);
    json_t *last = json_array_get(h, history);
    ck_assert_str_eq(json_string_value(json_object_get(last, "actor")), "plugin:volunteer");
    ck_assert_str_eq(json_string_value(json_object_get(c, "level")), "joint");
    json_decref(c);
    ck_assert_int_eq(cg_outbox_count(st), 2);

    json_decref(escalate);
    json_decref(note);
    json_decref(ev);
    cg_dispatch_clear(&outs[0]);
    cg_dispatch_clear(&outs[1]);
    cg_store_close(st);
    free(db);
}
END_TEST

/* A plugin's own result that escalates (police: injuries) tells the
 * subscribers of the level it reaches, once, and records the city body of a
 * case raised to city; a result that does not escalate writes no copies. */
START_TEST(result_escalation_tells_subscribers_and_records_the_city_body)
{
    char *db = tu_sprintf("%s/citygrid.db", dir);
    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_msg(cg_store_open(db, &st, err, sizeof err) == 0, "open: %s", err);
    cg_new_case nc = {.category = "traffic_safety", .department = "police", .grid = "",
                      .reporter = "M1", .sla_hours = 1};
    char id[32];
    cg_dispatch d;
    int dispatched;
    ck_assert_int_eq(cg_cases_insert(st, &nc, 1000, id, &d, &dispatched, err, sizeof err), 0);

    const char *joint_subs[] = {"volunteer"};
    const char *city_subs[] = {"volunteer", "market"};
    cg_dispatch outs[2];
    memset(outs, 0, sizeof outs);
    cg_result_escalation esc = {.department = "police",
                                .subscribers = {NULL, joint_subs, city_subs},
                                .n_subscribers = {0, 1, 2},
                                .city_body = "district_government",
                                .subscriber_out = outs};
    json_t *accept = json_loads("[{\"type\":\"accept\"},{\"type\":\"escalate\","
                                "\"level\":\"joint\",\"reason\":\"injuries\"}]", 0, NULL);
    cg_dispatch next;
    int has_next;
    ck_assert_int_eq(cg_cases_apply_result_esc(st, d.id, "police", accept, 2000, NULL, NULL, &esc,
                                               &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_msg(outs[0].payload && !outs[1].payload, "one copy for joint");
    ck_assert_str_eq(outs[0].department, "volunteer");
    json_t *p = json_loads(outs[0].payload, 0, NULL);
    json_t *ev = json_object_get(p, "event");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "kind")), "escalation");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "level")), "joint");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "actor")), "plugin:police");
    ck_assert_str_eq(json_string_value(json_object_get(ev, "to")), "accepted");
    ck_assert_msg(strstr(json_string_value(json_object_get(ev, "note")), "injuries"), "note");
    ck_assert_str_eq(json_string_value(json_object_get(p, "dispatch_id")), outs[0].id);
    json_decref(p);
    ck_assert_int_eq(cg_outbox_count(st), 1); /* the copy; the dispatch is answered */
    json_t *c = cg_cases_get(st, id);
    ck_assert(json_is_null(json_object_get(c, "city_body")));
    json_decref(c);
    cg_dispatch_clear(&outs[0]);

    /* the owner's event answered with an escalation to city: body and copies */
    cg_case_change ch = {.case_id = id, .actor = "M2", .action = "handle",
                         .expect_status = "accepted", .to_status = "accepted",
                         .event = json_pack("{s:s}", "kind", "transition")};
    cg_dispatch evd;
    int has_ev = 0;
    ck_assert_int_eq(cg_cases_apply_change(st, &ch, 2500, &evd, &has_ev, err, sizeof err),
                     CG_OK);
    ck_assert_int_eq(has_ev, 1);
    json_t *city = json_loads("[{\"type\":\"escalate\",\"level\":\"city\"}]", 0, NULL);
    ck_assert_int_eq(cg_cases_apply_result_esc(st, evd.id, "police", city, 3000, NULL, NULL, &esc,
                                               &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_msg(outs[0].payload && outs[1].payload, "two copies for city");
    ck_assert_str_eq(outs[1].department, "market");
    c = cg_cases_get(st, id);
    ck_assert_str_eq(json_string_value(json_object_get(c, "city_body")), "district_government");
    json_t *h = json_object_get(c, "history");
    const char *last = json_string_value(json_object_get(
        json_array_get(h, json_array_size(h) - 1), "note"));
    ck_assert_msg(strstr(last, "city body: district_government"), "%s", last);
    json_decref(c);
    cg_dispatch_clear(&outs[0]);
    cg_dispatch_clear(&outs[1]);

    /* a note-only result: no copies */
    json_t *note = json_loads("[{\"type\":\"note\",\"text\":\"ok\"}]", 0, NULL);
    cg_dispatch again;
    int has_again = 0;
    json_decref(ch.event);
    ch = (cg_case_change){.case_id = id, .actor = "M2", .action = "handle",
                          .expect_status = "accepted", .event = json_pack("{s:s}", "k", "t")};
    ck_assert_int_eq(cg_cases_apply_change(st, &ch, 3500, &again, &has_again, err, sizeof err),
                     CG_OK);
    long long before = cg_outbox_count(st);
    ck_assert_int_eq(cg_cases_apply_result_esc(st, again.id, "police", note, 4000, NULL, NULL,
                                               &esc, &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_msg(!outs[0].payload && !outs[1].payload, "copies without an escalation");
    ck_assert_int_eq(cg_outbox_count(st), before - 1);

    json_decref(ch.event);
    json_decref(note);
    json_decref(city);
    json_decref(accept);
    cg_dispatch_clear(&again);
    cg_dispatch_clear(&evd);
    cg_dispatch_clear(&d);
    cg_store_close(st);
    free(db);
}
END_TEST

static Suite *escalation_suite(void)
{
    Suite *s = suite_create("escalation");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_reads_subscribe_and_city_routes);
    tcase_add_test(tc, config_refuses_bad_subscribe_and_bodies);
    tcase_add_test(tc, store_writes_details_and_subscriber_copies);
    tcase_add_test(tc, result_escalation_tells_subscribers_and_records_the_city_body);
    suite_add_tcase(s, tc);
    tc = tcase_create("rules");
    tcase_add_test(tc, city_body_first_matching_route);
    tcase_add_test(tc, matching_widens_within_a_sort_and_narrows_across);
    tcase_add_test(tc, subscribers_are_running_plugins_other_than_the_owner);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(escalation_suite());
}
