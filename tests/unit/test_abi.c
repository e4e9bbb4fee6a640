/*
 * test_abi.c — the ABI promise, proven with real .so files through the mock
 * host (tests/support/plugin_mock.c): a plugin built against the frozen 1.0
 * header handles cases on today's host, the host table only ever grew at its
 * end, a newer minor is refused with both versions named, and the 1.1
 * additions (log_enabled, CITYGRID_HOST_HAS, CITYGRID_PLUGIN_DEFINE_ABI)
 * behave as plugin.h says. A plugin built against the frozen 1.2 header
 * works too, and the 1.3 accessors (case_extra_*, department_names) answer
 * with the codes plugin.h promises.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <citygrid/plugin.h>

#include "support/plugin_mock.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static plugin_mock *open_plugin(const char *name)
{
    char *path = tu_plugin_path("tests/plugins", name);
    char err[1024] = "";
    plugin_mock *m = pm_open(path, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    free(path);
    return m;
}

static const char *const a_case =
    "{\"id\":\"C00000007\",\"dispatch_id\":\"D00000007\",\"category\":\"street_stall\","
    "\"department\":\"abi-1-0-test\",\"grid\":\"\",\"lat\":0,\"lon\":0,\"has_location\":false,"
    "\"description\":\"stall on the pavement\",\"source\":\"patrol\",\"level\":\"grid\","
    "\"reporter\":\"M001\",\"needs_penalty\":false,\"sla_hours\":24,\"reported_at\":1700000000,"
    "\"members\":[],\"extra\":{}}";

START_TEST(plugin_built_for_1_0_handles_cases_on_this_host)
{
    plugin_mock *m = open_plugin("abi_1_0");
    ck_assert_uint_eq(pm_plugin_abi(m).major, 1);
    ck_assert_uint_eq(pm_plugin_abi(m).minor, 0);
    ck_assert_int_eq(pm_init(m, NULL), CITYGRID_OK);
    char ready[64];
    snprintf(ready, sizeof ready, "ready on a %d.%d host", CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR);
    ck_assert_msg(pm_log_contains(m, ready), "no '%s' in the log", ready);

    ck_assert_int_eq(pm_handle_json(m, a_case, 1), CITYGRID_OK);
    ck_assert_uint_eq(pm_n_actions(m), 3);
    ck_assert_str_eq(pm_action_at(m, 0)->type, "accept");
    ck_assert_str_eq(pm_action_at(m, 1)->assignee, "queue:abi-1-0");
    /* What the 1.0 plugin saw: today's host, and its own (1.0) table size,
     * which is exactly where the first 1.1 member starts. */
    char note[160];
    snprintf(note, sizeof note, "abi 1.0 plugin: host %d.%d, host table %zu bytes, mine %zu bytes",
             CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR, sizeof(citygrid_host),
             offsetof(citygrid_host, log_enabled));
    ck_assert_str_eq(pm_find(m, "note")->text, note);

    /* A case action outside handle() is still refused, as in 1.0. */
    ck_assert_int_eq(pm_host(m)->case_accept(pm_ctx(m), "C00000007"), CITYGRID_E_STATE);
    pm_close(m);
}
END_TEST

START_TEST(plugin_built_for_1_2_handles_cases_on_this_host)
{
    plugin_mock *m = open_plugin("abi_1_2");
    ck_assert_uint_eq(pm_plugin_abi(m).major, 1);
    ck_assert_uint_eq(pm_plugin_abi(m).minor, 2);
    ck_assert_int_eq(pm_init(m, NULL), CITYGRID_OK);
    ck_assert_int_eq(pm_handle_json(m, a_case, 1), CITYGRID_OK);
    ck_assert_uint_eq(pm_n_actions(m), 3);
    ck_assert_str_eq(pm_action_at(m, 0)->type, "accept");
    ck_assert_str_eq(pm_action_at(m, 1)->type, "link");
    ck_assert_str_eq(pm_action_at(m, 1)->text, "91331102MA2A1B2C3D");
    /* Its table ends where the first 1.3 member starts. */
    char note[160];
    snprintf(note, sizeof note, "abi 1.2 plugin: host %d.%d, host table %zu bytes, mine %zu bytes",
             CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR, sizeof(citygrid_host),
             offsetof(citygrid_host, case_extra_string));
    ck_assert_str_eq(pm_find(m, "note")->text, note);
    /* The descriptor kept its size: 1.4's members came out of the reserve. */
    ck_assert_uint_eq(pm_descriptor(m)->struct_size, sizeof(citygrid_plugin));
    pm_close(m);
}
END_TEST

START_TEST(host_table_grew_only_at_its_end)
{
    /* 1.1 appended one pointer after `now`, the last 1.0 member. */
    ck_assert_uint_eq(offsetof(citygrid_host, log_enabled),
                      offsetof(citygrid_host, now) + sizeof(((citygrid_host *)0)->now));
    /* 1.2 appended three after log_enabled, the last 1.1 member. */
    ck_assert_uint_eq(offsetof(citygrid_host, case_escalate),
                      offsetof(citygrid_host, log_enabled) + sizeof(((citygrid_host *)0)->log_enabled));
    /* 1.3 appended four after case_link, the last 1.2 member. */
    ck_assert_uint_eq(offsetof(citygrid_host, case_extra_string),
                      offsetof(citygrid_host, case_link) + sizeof(((citygrid_host *)0)->case_link));
    ck_assert_uint_eq(offsetof(citygrid_host, query_row),
                      offsetof(citygrid_host, department_names) +
                          sizeof(((citygrid_host *)0)->department_names));
    /* 1.4 appended query_row. */
    ck_assert_uint_eq(offsetof(citygrid_host, source_query),
                      offsetof(citygrid_host, query_row) + sizeof(((citygrid_host *)0)->query_row));
    /* ... and then source_query. */
    ck_assert_uint_eq(sizeof(citygrid_host), offsetof(citygrid_host, source_query) +
                                                 sizeof(((citygrid_host *)0)->source_query));
    /* on_event (1.2), then sources and query (1.4) took pointers of the
     * descriptor's reserved room, which shrank by as much. */
    ck_assert_uint_eq(offsetof(citygrid_plugin, sources),
                      offsetof(citygrid_plugin, on_event) + sizeof(void (*)(void)));
    ck_assert_uint_eq(offsetof(citygrid_plugin, reserved),
                      offsetof(citygrid_plugin, query) + sizeof(void (*)(void)));
    ck_assert_uint_eq(sizeof(((citygrid_plugin *)0)->reserved), 5 * sizeof(void *));
    plugin_mock *m = open_plugin("echo");
    const citygrid_host *h = pm_host(m);
    ck_assert_uint_eq(h->size, sizeof(citygrid_host));
    ck_assert_uint_eq(h->abi.minor, CITYGRID_ABI_MINOR);
    ck_assert(CITYGRID_HOST_HAS(h, now));
    ck_assert(CITYGRID_HOST_HAS(h, log_enabled));
    /* A 1.0 host's table ends where log_enabled would start. */
    citygrid_host old = *h;
    old.size = offsetof(citygrid_host, log_enabled);
    ck_assert(CITYGRID_HOST_HAS(&old, now));
    ck_assert(!CITYGRID_HOST_HAS(&old, log_enabled));
    /* A 1.2 host's table ends where case_extra_string would start. */
    old.size = offsetof(citygrid_host, case_extra_string);
    ck_assert(CITYGRID_HOST_HAS(&old, case_link));
    ck_assert(!CITYGRID_HOST_HAS(&old, case_extra_string));
    ck_assert(!CITYGRID_HOST_HAS(&old, department_names));
    ck_assert(CITYGRID_HOST_HAS(h, department_names));
    pm_close(m);
}
END_TEST

START_TEST(log_enabled_follows_the_level)
{
    plugin_mock *m = open_plugin("echo");
    ck_assert_int_eq(pm_init(m, NULL), CITYGRID_OK);
    const citygrid_host *h = pm_host(m);
    citygrid_plugin_ctx *ctx = pm_ctx(m);
    ck_assert_int_eq(h->log_enabled(ctx, CITYGRID_LOG_DEBUG), 1);
    pm_set_log_level(m, CITYGRID_LOG_WARNING);
    ck_assert_int_eq(h->log_enabled(ctx, CITYGRID_LOG_ERROR), 1);
    ck_assert_int_eq(h->log_enabled(ctx, CITYGRID_LOG_WARNING), 1);
    ck_assert_int_eq(h->log_enabled(ctx, CITYGRID_LOG_INFO), 0);
    ck_assert_int_eq(h->log_enabled(ctx, 99), 0);   /* clamped to debug */
    ck_assert_int_eq(h->log_enabled(ctx, -5), 1);   /* clamped to error */
    /* ... and log() agrees with it. */
    h->log(ctx, CITYGRID_LOG_INFO, "dropped line");
    h->log(ctx, CITYGRID_LOG_WARNING, "kept line");
    ck_assert(!pm_log_contains(m, "dropped line"));
    ck_assert(pm_log_contains(m, "kept line"));
    pm_close(m);
}
END_TEST

/* The echo plugin notes what the 1.3 accessors answered (probe_extra). */
static char *probe_extra(plugin_mock *m, const char *extra)
{
    char *json = tu_sprintf("{\"id\":\"C00000009\",\"dispatch_id\":\"D9\",\"extra\":%s}", extra);
    ck_assert_int_eq(pm_handle_json(m, json, 1), CITYGRID_OK);
    free(json);
    for (size_t i = 0; i < pm_n_actions(m); i++)
        if (!strcmp(pm_action_at(m, i)->type, "note") &&
            !strncmp(pm_action_at(m, i)->text, "extra ", 6))
            return tu_sprintf("%s", pm_action_at(m, i)->text);
    ck_abort_msg("no probe note");
    return NULL;
}

START_TEST(extra_fields_and_department_names)
{
    plugin_mock *m = open_plugin("echo");
    ck_assert_int_eq(pm_init(m, "{\"probe_extra\":true}"), CITYGRID_OK);
    char *got = probe_extra(m, "{\"s\":\"浙K12345\",\"n\":2.5,\"b\":true,\"dept\":\"market\"}");
    ck_assert_str_eq(got, "extra s=浙K12345 rc=0 n=2.5 rc=0 b=1 rc=0 dept=Market regulation/市场监管 rc=0");
    free(got);
    /* Integers are numbers; false is a bool; absent and null are not found. */
    got = probe_extra(m, "{\"n\":7,\"b\":false,\"s\":null,\"dept\":\"no_such\"}");
    char *expect = tu_sprintf("extra s=- rc=%d n=7 rc=0 b=0 rc=0 dept=-/- rc=%d",
                              CITYGRID_E_NOTFOUND, CITYGRID_E_NOTFOUND);
    ck_assert_str_eq(got, expect);
    free(got);
    free(expect);
    /* Another type is invalid, and out stays untouched. */
    got = probe_extra(m, "{\"s\":12,\"n\":\"12\",\"b\":1}");
    expect = tu_sprintf("extra s=- rc=%d n=0 rc=%d b=-1 rc=%d dept=-/- rc=%d", CITYGRID_E_INVALID,
                        CITYGRID_E_INVALID, CITYGRID_E_INVALID, CITYGRID_E_NOTFOUND);
    ck_assert_str_eq(got, expect);
    free(got);
    free(expect);
    /* Only members of "extra" itself; "extra" that is not an object has none. */
    got = probe_extra(m, "[{\"s\":\"x\"}]");
    ck_assert_msg(strstr(got, "s=- rc=-4"), "%s", got);
    free(got);

    /* Outside handle(): CITYGRID_E_STATE; NULL arguments: invalid. */
    const citygrid_host *h = pm_host(m);
    citygrid_plugin_ctx *ctx = pm_ctx(m);
    citygrid_case c = {.struct_size = sizeof c, .id = "C00000009"};
    const char *s = NULL;
    double n;
    int b;
    ck_assert_int_eq(h->case_extra_string(ctx, &c, "s", &s), CITYGRID_E_STATE);
    ck_assert_int_eq(h->case_extra_number(ctx, &c, "n", &n), CITYGRID_E_STATE);
    ck_assert_int_eq(h->case_extra_bool(ctx, &c, "b", &b), CITYGRID_E_STATE);
    ck_assert_int_eq(h->case_extra_string(ctx, &c, NULL, &s), CITYGRID_E_INVALID);
    ck_assert_int_eq(h->case_extra_string(ctx, NULL, "s", &s), CITYGRID_E_INVALID);
    ck_assert_int_eq(h->department_names(ctx, NULL, NULL, NULL), CITYGRID_E_INVALID);
    const char *zh = NULL;
    ck_assert_int_eq(h->department_names(ctx, "sanitation", NULL, &zh), CITYGRID_OK);
    ck_assert_str_eq(zh, "环卫");
    /* Before the core has sent its catalog: not yet. */
    ck_assert_int_eq(pm_set_departments(m, NULL), 0);
    ck_assert_int_eq(h->department_names(ctx, "sanitation", NULL, &zh), CITYGRID_E_STATE);
    pm_close(m);
}
END_TEST

START_TEST(newer_minor_is_refused_naming_both)
{
    char *path = tu_plugin_path("tests/plugins", "abi_newer_minor");
    char err[1024] = "";
    ck_assert_ptr_null(pm_open(path, err, sizeof err));
    char newer[16], mine[16];
    snprintf(newer, sizeof newer, "%d.%d", CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR + 1);
    snprintf(mine, sizeof mine, "%d.%d", CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR);
    ck_assert_msg(strstr(err, newer) && strstr(err, mine), "error '%s'", err);
    free(path);
}
END_TEST

/* CITYGRID_PLUGIN_DEFINE_ABI answers an older minor (compiled here, in this
 * program, exactly as a plugin would). */
static int older_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c) { return CITYGRID_OK; }
static const citygrid_plugin older_plugin = {.struct_size = sizeof(citygrid_plugin),
                                             .name = "older", .version = "1",
                                             .department = "older", .handle = older_handle};
CITYGRID_PLUGIN_DEFINE_ABI(older_plugin, 0)

START_TEST(define_abi_answers_the_chosen_minor)
{
    citygrid_abi offered = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR};
    citygrid_abi answer = citygrid_plugin_abi(1, &offered);
    ck_assert_uint_eq(answer.major, CITYGRID_ABI_MAJOR);
    ck_assert_uint_eq(answer.minor, 0);
    ck_assert_ptr_eq(citygrid_plugin_describe(), &older_plugin);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("abi");
    tcase_add_test(tc, plugin_built_for_1_0_handles_cases_on_this_host);
    tcase_add_test(tc, plugin_built_for_1_2_handles_cases_on_this_host);
    tcase_add_test(tc, host_table_grew_only_at_its_end);
    tcase_add_test(tc, extra_fields_and_department_names);
    tcase_add_test(tc, log_enabled_follows_the_level);
    tcase_add_test(tc, newer_minor_is_refused_naming_both);
    tcase_add_test(tc, define_abi_answers_the_chosen_minor);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
