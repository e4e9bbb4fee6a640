/*
 * test_abi.c — the ABI promise, proven with real .so files through the mock
 * host (tests/support/plugin_mock.c): a plugin built against the frozen 1.0
 * header handles cases on today's host, the host table only ever grew at its
 * end, a newer minor is refused with both versions named, and the 1.1
 * additions (log_enabled, CITYGRID_HOST_HAS, CITYGRID_PLUGIN_DEFINE_ABI)
 * behave as plugin.h says.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <citygrid/plugin.h>

#include "support/plugin_mock.h"
#include "support/testutil.h"

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

START_TEST(host_table_grew_only_at_its_end)
{
    /* 1.1 appended one pointer after `now`, the last 1.0 member. */
    ck_assert_uint_eq(offsetof(citygrid_host, log_enabled),
                      offsetof(citygrid_host, now) + sizeof(((citygrid_host *)0)->now));
    /* 1.2 appended three after log_enabled, the last 1.1 member. */
    ck_assert_uint_eq(offsetof(citygrid_host, case_escalate),
                      offsetof(citygrid_host, log_enabled) + sizeof(((citygrid_host *)0)->log_enabled));
    ck_assert_uint_eq(sizeof(citygrid_host),
                      offsetof(citygrid_host, case_link) + sizeof(((citygrid_host *)0)->case_link));
    /* on_event took one pointer of the descriptor's reserved room. */
    ck_assert_uint_eq(offsetof(citygrid_plugin, reserved),
                      offsetof(citygrid_plugin, on_event) + sizeof(void (*)(void)));
    ck_assert_uint_eq(sizeof(((citygrid_plugin *)0)->reserved), 7 * sizeof(void *));
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
    tcase_add_test(tc, host_table_grew_only_at_its_end);
    tcase_add_test(tc, log_enabled_follows_the_level);
    tcase_add_test(tc, newer_minor_is_refused_naming_both);
    tcase_add_test(tc, define_abi_answers_the_chosen_minor);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
