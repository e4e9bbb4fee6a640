/* test_catalog.c — the plan's departments and categories, and the admin's
 * routes over them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "people/catalog.h"
#include "support/run_suite.h"

static const char *const plan_categories[] = {
    "municipal_facility", "landscaping", "sanitation", "traffic_safety", "eco_environment",
    "food_hygiene", "six_small_trades", "street_stall", "outside_shop_trading", "posting",
    "graffiti", "splashing", "dumping", "stringing", "hanging", "illegal_structure",
    "illegal_building", "illegal_parking", "illegal_placement", NULL};

START_TEST(builtins_follow_the_plan)
{
    char err[256];
    cg_catalog *cat = cg_catalog_new(NULL, err, sizeof err);
    ck_assert_ptr_nonnull(cat);
    ck_assert_uint_eq(cg_catalog_n_categories(cat), 19);
    for (int i = 0; plan_categories[i]; i++) {
        const cg_category *c = cg_catalog_category(cat, plan_categories[i]);
        ck_assert_msg(c != NULL, "missing %s", plan_categories[i]);
        ck_assert(c->sla_hours > 0);
        ck_assert(strlen(c->name_zh) > 0);
    }
    ck_assert_str_eq(cg_catalog_route(cat, "municipal_facility"), "municipal");
    ck_assert_str_eq(cg_catalog_route(cat, "landscaping"), "municipal");
    ck_assert_str_eq(cg_catalog_route(cat, "sanitation"), "sanitation");
    ck_assert_str_eq(cg_catalog_route(cat, "traffic_safety"), "police");
    ck_assert_str_eq(cg_catalog_route(cat, "illegal_parking"), "police");
    ck_assert_str_eq(cg_catalog_route(cat, "food_hygiene"), "market");
    ck_assert_str_eq(cg_catalog_route(cat, "six_small_trades"), "market");
    ck_assert_str_eq(cg_catalog_route(cat, "street_stall"), "enforcement");
    ck_assert_str_eq(cg_catalog_route(cat, "graffiti"), "enforcement");
    ck_assert_ptr_null(cg_catalog_route(cat, "no_such_thing"));
    int mandatory = 0;
    for (size_t i = 0; i < cg_catalog_n_departments(cat); i++)
        mandatory += cg_catalog_department_at(cat, i)->mandatory;
    ck_assert_int_eq(mandatory, 5);
    ck_assert_str_eq(cg_catalog_department(cat, "sanitation")->name_zh, "环卫");
    cg_catalog_free(cat);
}
END_TEST

START_TEST(eco_goes_to_eco_only_while_its_plugin_runs)
{
    char err[256];
    cg_catalog *cat = cg_catalog_new(NULL, err, sizeof err);
    ck_assert_str_eq(cg_catalog_route(cat, "eco_environment"), "enforcement");
    cg_catalog_set_plugin(cat, "eco", "eco");
    ck_assert_str_eq(cg_catalog_route(cat, "eco_environment"), "eco");
    cg_catalog_set_plugin(cat, "eco", NULL);
    ck_assert_str_eq(cg_catalog_route(cat, "eco_environment"), "enforcement");
    cg_catalog_free(cat);
}
END_TEST

START_TEST(routes_reroute_and_add)
{
    cg_route_conf routes[] = {
        {.category = "landscaping", .department = "enforcement", .sla_hours = 0.25},
        {.category = "graffiti", .department = "echo-test", .sla_hours = -1},
        {.category = "noise", .department = "municipal", .sla_hours = -1, .name_zh = "噪声"},
    };
    cg_config cfg = {.routes = routes, .n_routes = 3};
    char err[256];
    cg_catalog *cat = cg_catalog_new(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(cat);
    ck_assert_str_eq(cg_catalog_route(cat, "landscaping"), "enforcement");
    ck_assert(cg_catalog_category(cat, "landscaping")->sla_hours == 0.25);
    /* An integrator's department: known, optional, enforcement until its plugin runs. */
    ck_assert_ptr_nonnull(cg_catalog_department(cat, "echo-test"));
    ck_assert_int_eq(cg_catalog_department(cat, "echo-test")->mandatory, 0);
    ck_assert_str_eq(cg_catalog_route(cat, "graffiti"), "enforcement");
    cg_catalog_set_plugin(cat, "echo-test", "echo");
    ck_assert_str_eq(cg_catalog_route(cat, "graffiti"), "echo-test");
    ck_assert_uint_eq(cg_catalog_n_categories(cat), 20);
    ck_assert_str_eq(cg_catalog_category(cat, "noise")->name_zh, "噪声");
    ck_assert(cg_catalog_category(cat, "noise")->sla_hours > 0);
    cg_catalog_free(cat);
}
END_TEST

START_TEST(new_category_without_department_is_refused)
{
    cg_route_conf routes[] = {{.category = "noise", .sla_hours = -1, .file = "x.cfg", .line = 7}};
    cg_config cfg = {.routes = routes, .n_routes = 1};
    char err[256] = "";
    ck_assert_ptr_null(cg_catalog_new(&cfg, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "x.cfg:7:"));
    ck_assert_ptr_nonnull(strstr(err, "noise"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("catalog");
    TCase *tc = tcase_create("catalog");
    tcase_add_test(tc, builtins_follow_the_plan);
    tcase_add_test(tc, eco_goes_to_eco_only_while_its_plugin_runs);
    tcase_add_test(tc, routes_reroute_and_add);
    tcase_add_test(tc, new_category_without_department_is_refused);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
