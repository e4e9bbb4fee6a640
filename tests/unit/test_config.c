/* test_config.c — the admin's config: good files load, every mistake is
 * refused with the file, the line and what is wrong. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <citygrid/plugin.h>
#include "conf/config.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir;

static void setup(void) { dir = tu_tempdir("config"); }
static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

/* Write `text` to dir/name and return the path. */
static char *file_with(const char *name, const char *text)
{
    char *path = tu_sprintf("%s/%s", dir, name);
    ck_assert_int_eq(tu_write_file(path, text), 0);
    return path;
}

/* Load text expecting failure; the message must contain each needle. */
static void expect_error(const char *text, const char *const needles[])
{
    char *path = file_with("bad.cfg", text);
    cg_config cfg;
    char err[1024] = "";
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(err, needles[i]) != NULL, "error '%s' lacks '%s'", err, needles[i]);
    free(path);
}

START_TEST(loads_a_full_config)
{
    char *pdir = tu_sprintf("%s/plugins.d", dir);
    mkdir(pdir, 0755);
    char *p1 = tu_sprintf("%s/plugins.d/20-police.cfg", dir);
    tu_write_file(p1, "plugin = { name = \"police\"; path = \"police.so\"; required = true;\n"
                      "  settings = { cap = 2; name = \"交警\"; on = true; ratio = 0.5; list = [1, 2]; }; };\n");
    char *path = file_with("main.cfg",
        "listen = \"0.0.0.0:9090\";\n"
        "state_dir = \"state\";\n"
        "log_level = \"debug\";\n"
        "bus = { heartbeat_ms = 250; lease_ms = 2000; plugin_credit = 8; };\n"
        "http = { max_body_bytes = 2048; };\n"
        "routes = ( { category = \"landscaping\"; department = \"enforcement\"; sla_hours = 0.5; },\n"
        "           { category = \"noise\"; department = \"eco\"; name_zh = \"噪声\"; } );\n"
        "plugins = ( { name = \"sanitation\"; path = \"/opt/s.so\"; enabled = false; mode = \"thread\"; } );\n"
        "plugin_conf_dir = \"plugins.d\";\n");
    cg_config cfg;
    char err[1024] = "";
    ck_assert_msg(cg_config_load(path, &cfg, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(cfg.listen_host, "0.0.0.0");
    ck_assert_int_eq(cfg.listen_port, 9090);
    char *state = tu_sprintf("%s/state", dir);
    char real_state[4096];
    ck_assert_ptr_nonnull(realpath(dir, real_state));
    char *expect_state = tu_sprintf("%s/state", real_state);
    ck_assert_str_eq(cfg.state_dir, expect_state);
    ck_assert_int_eq(cfg.log_level, CITYGRID_LOG_DEBUG);
    ck_assert_int_eq(cfg.bus.heartbeat_ms, 250);
    ck_assert_int_eq(cfg.bus.lease_ms, 2000);
    ck_assert_int_eq(cfg.bus.retry_base_ms, 500); /* default kept */
    ck_assert_int_eq(cfg.bus.plugin_credit, 8);
    ck_assert_uint_eq(cfg.http.max_body_bytes, 2048);
    ck_assert_uint_eq(cfg.n_routes, 2);
    ck_assert_str_eq(cfg.routes[0].department, "enforcement");
    ck_assert(cfg.routes[0].sla_hours == 0.5);
    ck_assert(cfg.routes[1].sla_hours < 0);
    ck_assert_str_eq(cfg.routes[1].name_zh, "噪声");
    ck_assert_uint_eq(cfg.n_plugins, 2);
    ck_assert_str_eq(cfg.plugins[0].name, "sanitation");
    ck_assert_int_eq(cfg.plugins[0].enabled, 0);
    ck_assert_str_eq(cfg.plugins[0].settings_json, "{}");
    ck_assert_str_eq(cfg.plugins[1].name, "police");
    ck_assert_int_eq(cfg.plugins[1].required, 1);
    ck_assert_int_eq(cfg.plugins[1].mode, CG_MODE_THREAD);
    char *expect_plugin = tu_sprintf("%s/plugins.d/police.so", real_state);
    ck_assert_str_eq(cfg.plugins[1].path, expect_plugin);
    ck_assert_int_eq(cfg.plugins[1].line, 1);
    ck_assert_str_eq(cfg.plugins[1].settings_json,
                     "{\"cap\":2,\"name\":\"交警\",\"on\":true,\"ratio\":0.5,\"list\":[1,2]}");
    cg_config_free(&cfg);
    free(state); free(expect_state); free(expect_plugin); free(path); free(p1); free(pdir);
}
END_TEST

START_TEST(defaults_for_an_empty_file)
{
    char *path = file_with("empty.cfg", "# nothing\n");
    cg_config cfg;
    char err[256];
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), 0);
    ck_assert_str_eq(cfg.listen_host, "127.0.0.1");
    ck_assert_int_eq(cfg.listen_port, 8080);
    ck_assert_str_eq(cfg.bus.endpoint, "inproc://citygrid-bus");
    ck_assert_int_eq(cfg.bus.heartbeat_ms, 1000);
    ck_assert_uint_eq(cfg.n_plugins, 0);
    cg_config_free(&cfg);
    free(path);
}
END_TEST

START_TEST(syntax_error_names_file_and_line)
{
    expect_error("listen = \"127.0.0.1:1\";\n\nstate_dir = ;\n",
                 (const char *[]){"bad.cfg:3:", NULL});
}
END_TEST

START_TEST(refuses_each_mistake_with_its_line)
{
    expect_error("lisen = \"x:1\";\n", (const char *[]){"bad.cfg:1:", "unknown setting 'lisen'", NULL});
    expect_error("\nlisten = \"nowhere\";\n", (const char *[]){"bad.cfg:2:", "HOST:PORT", NULL});
    expect_error("listen = \"a:70000\";\n", (const char *[]){"bad.cfg:1:", NULL});
    expect_error("log_level = \"loud\";\n", (const char *[]){"bad.cfg:1:", "loud", NULL});
    expect_error("listen = 8080;\n", (const char *[]){"bad.cfg:1:", "'listen' must be a string", NULL});
    expect_error("plugins = (\n { name = \"a\"; path = \"a.so\"; mode = \"teleport\"; } );\n",
                 (const char *[]){"bad.cfg:2:", "teleport", "thread, process, remote", NULL});
    expect_error("plugins = ( { name = \"a\"; mode = \"remote\"; } );\n",
                 (const char *[]){"bad.cfg:1:", "needs the 'department'", NULL});
    expect_error("plugins = (\n { name = \"a\"; mode = \"remote\"; department = \"market\"; } );\n",
                 (const char *[]){"bad.cfg:2:", "bus.remote_bind", NULL});
    expect_error("bus = { remote_bind = \"tcp://127.0.0.1:1\"; };\n",
                 (const char *[]){"bad.cfg:1:", "server_key", NULL});
    expect_error("bus = {\n server_key = \"nokey.key\"; };\n",
                 (const char *[]){"bad.cfg:2:", "nokey.key", NULL});
    expect_error("bus = { ipc_endpoint = \"tcp://x:1\"; };\n", (const char *[]){"ipc://", NULL});
    expect_error("plugins = ( { name = \"a\"; path = \"a.so\"; enabled = \"yes\"; } );\n",
                 (const char *[]){"'enabled' must be true or false", NULL});
    expect_error("plugins = ( { name = \"a\"; } );\n", (const char *[]){"has no 'path'", NULL});
    expect_error("plugins = ( { path = \"a.so\"; } );\n", (const char *[]){"without a 'name'", NULL});
    expect_error("plugins = ( { name = \"Bad Name\"; path = \"a.so\"; } );\n",
                 (const char *[]){"'Bad Name'", NULL});
    expect_error("plugins = ( { name = \"a\"; path = \"a.so\"; },\n"
                 "            { name = \"a\"; path = \"b.so\"; } );\n",
                 (const char *[]){"bad.cfg:2:", "defined twice", "bad.cfg:1", NULL});
    expect_error("plugins = ( { name = \"a\"; path = \"a.so\"; colour = 1; } );\n",
                 (const char *[]){"unknown setting 'colour'", NULL});
    expect_error("routes = ( { category = \"noise\"; department = \"eco\"; sla_hours = 0; } );\n",
                 (const char *[]){"above 0", NULL});
    expect_error("bus = { heartbeat_ms = 5; };\n", (const char *[]){"between", NULL});
    expect_error("bus = { endpoint = \"tcp://0.0.0.0:1\"; };\n", (const char *[]){"inproc://", NULL});
    expect_error("plugin_conf_dir = \"missing.d\";\n", (const char *[]){"missing.d", NULL});
}
END_TEST

START_TEST(plugin_dir_file_errors_name_that_file)
{
    char *pdir = tu_sprintf("%s/p.d", dir);
    mkdir(pdir, 0755);
    char *f = tu_sprintf("%s/p.d/a.cfg", dir);
    tu_write_file(f, "# a plugin\nplugin = { name = \"a\"; path = \"a.so\"; mode = \"teleport\"; };\n");
    expect_error("plugin_conf_dir = \"p.d\";\n", (const char *[]){"a.cfg:2:", "teleport", NULL});
    tu_write_file(f, "plugin = { name = \"a\";\n");
    expect_error("plugin_conf_dir = \"p.d\";\n", (const char *[]){"a.cfg:", NULL});
    tu_write_file(f, "plugins = 1;\n");
    expect_error("plugin_conf_dir = \"p.d\";\n", (const char *[]){"a.cfg:1:", "unknown setting 'plugins'", NULL});
    free(f);
    free(pdir);
}
END_TEST

START_TEST(missing_file_is_an_error)
{
    cg_config cfg;
    char err[512];
    ck_assert_int_eq(cg_config_load("/nonexistent/citygrid.cfg", &cfg, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/citygrid.cfg"));
}
END_TEST

START_TEST(parses_listen)
{
    char *host;
    int port;
    ck_assert_int_eq(cg_config_parse_listen("[::1]:80", &host, &port), 0);
    ck_assert_str_eq(host, "::1");
    ck_assert_int_eq(port, 80);
    free(host);
    ck_assert_int_eq(cg_config_parse_listen(":80", &host, &port), -1);
    ck_assert_int_eq(cg_config_parse_listen("a:", &host, &port), -1);
    ck_assert_int_eq(cg_config_parse_listen("a:8x", &host, &port), -1);
}
END_TEST

/* The schema's defaults are what an empty file gives, and what modules get
 * without a file (cg_config_defaults): one place declares them. */
START_TEST(defaults_without_a_file_match_an_empty_file)
{
    char *path = file_with("empty.cfg", "");
    cg_config loaded, bare;
    char err[256] = "";
    ck_assert_msg(cg_config_load(path, &loaded, err, sizeof err) == 0, "%s", err);
    cg_config_defaults(&bare);
    ck_assert_str_eq(bare.listen_host, loaded.listen_host);
    ck_assert_int_eq(bare.listen_port, 8080);
    ck_assert_int_eq(bare.log_level, CITYGRID_LOG_INFO);
    ck_assert_str_eq(bare.state_dir, "/var/lib/citygrid");
    ck_assert_str_eq(bare.bus.endpoint, "inproc://citygrid-bus");
    ck_assert_int_eq(bare.bus.lease_ms, 10000);
    ck_assert_int_eq(bare.bus.retry_base_ms, 500);
    ck_assert_int_eq(bare.bus.retry_max_ms, 30000);
    ck_assert_int_eq(bare.bus.plugin_credit, 64);
    ck_assert_int_eq(bare.bus.max_attempts, 5);
    ck_assert_ptr_null(bare.bus.remote_bind);
    ck_assert_uint_eq(bare.http.max_body_bytes, 65536);
    ck_assert(bare.attendance.checkin_radius_m == 200.0);
    ck_assert_int_eq(bare.attendance.patrol_max_gap_minutes, 10);
    ck_assert_uint_eq(bare.evidence.max_photo_bytes, 5242880);
    ck_assert(bare.duplicates.radius_m == 50.0 && bare.duplicates.window_hours == 72.0);
    ck_assert_str_eq(bare.escalation.city_default, "city_enforcement_bureau");
    ck_assert(bare.assessment.grid_share == 0.3 && bare.assessment.commend_top == 3);
    for (int i = 0; i < CG_ASSESS_N_WEIGHTS; i++)
        ck_assert(bare.assessment.weights[i] == 1.0 && loaded.assessment.weights[i] == 1.0);
    ck_assert_int_eq(memcmp(&bare.bus.heartbeat_ms, &loaded.bus.heartbeat_ms,
                            sizeof bare.bus.heartbeat_ms), 0);
    ck_assert_int_eq(memcmp(&bare.attendance, &loaded.attendance, sizeof bare.attendance), 0);
    ck_assert_int_eq(memcmp(&bare.duplicates, &loaded.duplicates, sizeof bare.duplicates), 0);
    ck_assert_int_eq(memcmp(&bare.assessment, &loaded.assessment, sizeof bare.assessment), 0);
    cg_config_free(&bare);
    cg_config_free(&loaded);
    free(path);
}
END_TEST

/* Nested groups and lists of groups are read by the same schema: unknown
 * keys, types, ranges and allowed values are refused on their own line. */
START_TEST(nested_groups_and_lists_refuse_with_their_line)
{
    expect_error("bus = {\n clients = (\n { department = \"m\"; colour = 1; } ); };\n",
                 (const char *[]){"bad.cfg:3:", "unknown setting 'colour' in a bus client", NULL});
    expect_error("assessment = { weights = {\n closure_rate = 2000.0; }; };\n",
                 (const char *[]){"bad.cfg:2:", "'closure_rate' must be between 0 and 1000", NULL});
    expect_error("assessment = { weights = { patrol_discovery_rate = 0; timely_disposal_rate = 0;\n"
                 " closure_rate = 0; satisfaction = 0; attendance_rate = 0; coordination = 0;\n"
                 " effectiveness = 0; }; };\n",
                 (const char *[]){"bad.cfg:1:", "at least one assessment weight", NULL});
    expect_error("http = { max_body_bytes = 1; };\n",
                 (const char *[]){"bad.cfg:1:", "between 1024 and 67108864 (got 1)", NULL});
    expect_error("\nduplicates = { window_hours = 0; };\n",
                 (const char *[]){"bad.cfg:2:", "'window_hours' must be above 0", NULL});
    expect_error("evidence = 5;\n", (const char *[]){"bad.cfg:1:", "evidence must be a group", NULL});
    expect_error("bus = { lease_ms = 1.5; };\n", (const char *[]){"'lease_ms' must be an integer", NULL});
    expect_error("routes = { category = \"x\"; };\n", (const char *[]){"'routes' must be a list", NULL});
    expect_error("escalation = { city = { routes = (\n { district = \"devzone\"; body = \"mayor\"; } ); }; };\n",
                 (const char *[]){"bad.cfg:2:", "body 'mayor' is not one of", "zone_committee", NULL});
}
END_TEST

/* citygrid.cfg(5)'s key reference comes from the same table. */
START_TEST(the_schema_prints_every_key_as_scdoc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ck_assert_int_eq(cg_config_print_schema("scdoc", out), 0);
    fclose(out);
    static const char *const needles[] = {
        "*listen* string", "*bus.heartbeat\\_ms* integer, 20 to 60000; default: 1000.",
        "## bus.clients[]", "*bus.clients[].key*", "*escalation.city.default*",
        "*escalation.city.routes[].body*", "*zone\\_committee*",
        "*assessment.weights.closure\\_rate*", "*plugins[].mode*", "*thread*, *process*, *remote*",
        "*routes[].sla\\_hours*", "*plugin\\_conf\\_dir*", "*attendance.checkin\\_radius\\_m*",
        "above 0 and at most 100000", NULL};
    for (char *line = text; (line = strchr(line, '\n')); line++)
        ck_assert_msg(strcspn(line + 1, "\n") <= 80, "a line over 80 bytes: %.90s", line + 1);
    /* A key's text is one paragraph, wrapped as lines after a tab. */
    char *flat = malloc(len + 1), *o = flat;
    for (const char *p = text; *p; p++)
        if (p[0] == '\n' && p[1] == '\t')
            *o++ = ' ', p++;
        else
            *o++ = *p;
    *o = 0;
    for (int i = 0; needles[i]; i++)
        ck_assert_msg(strstr(flat, needles[i]), "scdoc lacks '%s'", needles[i]);
    free(flat);
    free(text);
    ck_assert_int_eq(cg_config_print_schema("html", stdout), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, loads_a_full_config);
    tcase_add_test(tc, defaults_for_an_empty_file);
    tcase_add_test(tc, syntax_error_names_file_and_line);
    tcase_add_test(tc, refuses_each_mistake_with_its_line);
    tcase_add_test(tc, plugin_dir_file_errors_name_that_file);
    tcase_add_test(tc, missing_file_is_an_error);
    tcase_add_test(tc, parses_listen);
    tcase_add_test(tc, defaults_without_a_file_match_an_empty_file);
    tcase_add_test(tc, nested_groups_and_lists_refuse_with_their_line);
    tcase_add_test(tc, the_schema_prints_every_key_as_scdoc);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
