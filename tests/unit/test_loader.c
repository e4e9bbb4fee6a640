/* test_loader.c — the loader refuses what must not run, each time naming the
 * file and the reason; the registry refuses duplicates and failed inits and
 * only stops the daemon for a `required` plugin. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "people/catalog.h"
#include "conf/config.h"
#include "wire/loader.h"
#include "host/plugins.h"
#include "wire/runtime.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static void expect_refused(const char *path, const char *const needles[])
{
    cg_loaded_plugin p;
    char err[1024] = "";
    ck_assert_int_eq(cg_loader_open(path, &p, err, sizeof err), -1);
    ck_assert_ptr_null(p.dl);
    ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name %s", err, path);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(err, needles[i]) != NULL, "error '%s' lacks '%s'", err, needles[i]);
}

START_TEST(abi_rule)
{
    citygrid_abi core = {1, 3};
    ck_assert(cg_abi_compatible(core, (citygrid_abi){1, 0}));
    ck_assert(cg_abi_compatible(core, (citygrid_abi){1, 3}));
    ck_assert(!cg_abi_compatible(core, (citygrid_abi){1, 4}));
    ck_assert(!cg_abi_compatible(core, (citygrid_abi){2, 0}));
    ck_assert(!cg_abi_compatible(core, (citygrid_abi){0, 3}));
}
END_TEST

START_TEST(loads_a_good_plugin)
{
    char *path = tu_plugin_path("tests/plugins", "echo");
    cg_loaded_plugin p;
    char err[1024] = "";
    ck_assert_msg(cg_loader_open(path, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(p.desc->name, "echo");
    ck_assert_int_eq(p.abi.major, CITYGRID_ABI_MAJOR);
    ck_assert_int_eq(p.abi.minor, CITYGRID_ABI_MINOR);
    cg_loader_close(&p);
    ck_assert_ptr_null(p.dl);
    free(path);
}
END_TEST

/* A plugin built against the frozen 1.0 header (tests/plugins/abi-1.0) loads
 * in today's core, says 1.0, and its init() accepts the real host table. */
START_TEST(loads_a_plugin_of_an_older_minor)
{
    ck_assert_int_ge(CITYGRID_ABI_MINOR, 1); /* else this proves nothing */
    char *path = tu_plugin_path("tests/plugins", "abi_1_0");
    cg_loaded_plugin p;
    char err[1024] = "";
    ck_assert_msg(cg_loader_open(path, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(p.desc->name, "abi_1_0");
    ck_assert_int_eq(p.abi.major, 1);
    ck_assert_int_eq(p.abi.minor, 0);

    void *zctx = zmq_ctx_new();
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = "inproc://loader-abi-1-0",
                            .plugin = p.desc, .abi = p.abi, .settings_json = "{}",
                            .mode = "thread", .credit = 1, .heartbeat_ms = 1000};
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    ck_assert_msg(rt != NULL, "init() of the 1.0 plugin on the real host: %s", err);
    cg_runtime_stop(rt);
    zmq_ctx_term(zctx);
    cg_loader_close(&p);
    free(path);
}
END_TEST

START_TEST(refuses_what_must_not_run)
{
    char *dir = tu_tempdir("loader");
    char *missing = tu_sprintf("%s/missing.so", dir);
    expect_refused(missing, (const char *[]){"No such file", NULL});
    expect_refused(dir, (const char *[]){"not a regular file", NULL});
    char *text = tu_sprintf("%s/text.so", dir);
    tu_write_file(text, "not an ELF file\n");
    expect_refused(text, (const char *[]){"dlopen failed", NULL});

    char *no_entry = tu_plugin_path("tests/plugins", "no_entry");
    expect_refused(no_entry, (const char *[]){"missing entry symbol", "citygrid_plugin_describe", NULL});

    char core[16], newer[16];
    snprintf(core, sizeof core, "%d.%d", CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR);
    snprintf(newer, sizeof newer, "%d.%d", CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR + 1);
    char *major2 = tu_plugin_path("tests/plugins", "abi_major2");
    expect_refused(major2, (const char *[]){"incompatible plugin ABI 2.0", core, NULL});
    char *newer_minor = tu_plugin_path("tests/plugins", "abi_newer_minor");
    expect_refused(newer_minor, (const char *[]){"incompatible plugin ABI", newer, core, NULL});

    tu_rmrf(dir);
    free(dir); free(missing); free(text); free(no_entry); free(major2); free(newer_minor);
}
END_TEST

/* A config with the given plugin entries, built in memory. */
static cg_plugin_conf entry(const char *name, char *path, int required)
{
    return (cg_plugin_conf){.name = (char *)name, .path = path, .enabled = 1, .required = required,
                            .mode = CG_MODE_THREAD, .settings_json = "{}", .file = "test.cfg",
                            .line = 1};
}

static cg_config config_with(cg_plugin_conf *plugins, size_t n)
{
    return (cg_config){.bus = {.endpoint = "inproc://loader-test", .heartbeat_ms = 1000,
                               .plugin_credit = 4},
                       .plugins = plugins, .n_plugins = n};
}

START_TEST(registry_refuses_duplicates_and_failed_init)
{
    char *echo = tu_plugin_path("tests/plugins", "echo");
    char *init_fails = tu_plugin_path("tests/plugins", "init_fails");
    char *major2 = tu_plugin_path("tests/plugins", "abi_major2");
    cg_plugin_conf plugins[] = {entry("first", echo, 0), entry("second", echo, 0),
                                entry("broken", init_fails, 0), entry("old", major2, 0)};
    plugins[3].enabled = 0; /* opt-in: never opened */
    cg_config cfg = config_with(plugins, 4);
    void *ctx = zmq_ctx_new();
    char err[512] = "";
    cg_catalog *cat = cg_catalog_new(NULL, err, sizeof err);
    cg_plugins *ps = NULL;
    ck_assert_msg(cg_plugins_start(&cfg, ctx, cat, &ps, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cg_plugins_for_department(ps, "echo-test"), "echo");
    ck_assert_str_eq(cg_catalog_department(cat, "echo-test")->plugin, "echo");

    json_t *list = cg_plugins_json(ps, NULL);
    ck_assert_uint_eq(json_array_size(list), 4);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "state")), "starting");
    json_t *dup = json_array_get(list, 1);
    ck_assert_str_eq(json_string_value(json_object_get(dup, "state")), "failed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(dup, "error")), "duplicate plugin name 'echo'"));
    json_t *broken = json_array_get(list, 2);
    ck_assert_str_eq(json_string_value(json_object_get(broken, "state")), "failed");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(broken, "error")), init_fails));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 3), "state")), "disabled");
    json_decref(list);

    cg_plugins_stop(ps);
    cg_catalog_free(cat);
    zmq_ctx_term(ctx);
    free(echo); free(init_fails); free(major2);
}
END_TEST

START_TEST(required_plugin_failure_stops_startup)
{
    char *missing = tu_sprintf("/nonexistent/plugins/sanitation.so");
    cg_plugin_conf plugins[] = {entry("sanitation", missing, 1)};
    cg_config cfg = config_with(plugins, 1);
    void *ctx = zmq_ctx_new();
    char err[1024] = "";
    cg_catalog *cat = cg_catalog_new(NULL, err, sizeof err);
    cg_plugins *ps = NULL;
    ck_assert_int_eq(cg_plugins_start(&cfg, ctx, cat, &ps, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "required plugin 'sanitation'"));
    ck_assert_ptr_nonnull(strstr(err, missing));
    cg_plugins_stop(ps);
    cg_catalog_free(cat);
    zmq_ctx_term(ctx);
    free(missing);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, abi_rule);
    tcase_add_test(tc, loads_a_good_plugin);
    tcase_add_test(tc, loads_a_plugin_of_an_older_minor);
    tcase_add_test(tc, refuses_what_must_not_run);
    tcase_add_test(tc, registry_refuses_duplicates_and_failed_init);
    tcase_add_test(tc, required_plugin_failure_stops_startup);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
