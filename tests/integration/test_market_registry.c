/*
 * test_market_registry.c — integration: a department plugin asks a data
 * source through the core (ABI 1.4 host source_query). The market plugin
 * gets a food-hygiene case with a licence_no, asks "companies" (served by
 * the datahub plugin from its own SQLite file, in thread or process mode)
 * and notes the registered company on the case; a well-formed code that is
 * not registered is noted as such. The company is read from
 * contrib/lishui/sources.sql, so the test follows the generator.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"

#define EXCERPT "%.2500s"
#define GRID_A "33110200100101"
#define LEADER "M00151"
#define WAIT_MS 15000

static td_daemon D;
static char *dir;

static void teardown(void)
{
    td_cleanup(&D);
    if (dir)
        tu_rmrf(dir);
    free(dir);
    dir = NULL;
}

/* A company of the synthetic registry: its code and name (malloc'd). */
static void some_company(char **code, char **name)
{
    char *path = tu_src_path("contrib/lishui/sources.sql");
    char *script = tu_read_file(path);
    EXPECT(script != NULL, "cannot read %s", path);
    sqlite3 *db = NULL;
    EXPECT(sqlite3_open(":memory:", &db) == SQLITE_OK && sqlite3_exec(db, script, NULL, NULL, NULL) ==
               SQLITE_OK, "sources.sql does not load");
    sqlite3_stmt *st = NULL;
    EXPECT(sqlite3_prepare_v2(db, "SELECT credit_code, name FROM companies WHERE status = '存续' "
                                  "ORDER BY rowid LIMIT 1 OFFSET 4", -1, &st, NULL) == SQLITE_OK &&
               sqlite3_step(st) == SQLITE_ROW, "no company");
    *code = strdup((const char *)sqlite3_column_text(st, 0));
    *name = strdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(script);
    free(path);
}

static void start_with_datahub(const char *mode)
{
    memset(&D, 0, sizeof D);
    dir = tu_tempdir("market-registry");
    char *so = tu_plugin_path("plugins/datahub", "datahub");
    char *sql = tu_src_path("contrib/lishui/sources.sql");
    char *extra = tu_sprintf("{ name = \"datahub\"; path = \"%s\"; mode = \"%s\"; settings = { "
                             "database = \"%s/datahub.sqlite\"; sql = \"%s\"; }; }",
                             so, mode, dir, sql);
    td_options opt = {.extra_plugins = extra};
    ta_start(&D, &opt, TA_DEPARTMENT_PLUGINS ",datahub", WAIT_MS);
    free(extra);
    free(sql);
    free(so);
}

/* The note of the market plugin on case `id` that contains `needle`. */
static int has_note(json_t *c, const char *needle)
{
    json_t *h = json_object_get(c, "history");
    size_t i;
    json_t *row;
    json_array_foreach(h, i, row)
        if (!strcmp(ta_text(row, "action"), "note") && strstr(ta_text(row, "note"), needle))
            return 1;
    return 0;
}

static json_t *wait_note(const char *id, const char *needle)
{
    long long end = td_deadline(WAIT_MS);
    for (;;) {
        json_t *c = ta_get_case(id);
        if (has_note(c, needle) || ta_mono_ms() > end)
            return c;
        json_decref(c);
        ta_sleep_ms(50);
    }
}

static void market_notes_the_company(const char *mode)
{
    start_with_datahub(mode);
    char *code, *name;
    some_company(&code, &name);
    char *leader = ta_token_for(LEADER);
    char *body = tu_sprintf("{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A
                            "\",\"description\":\"后厨卫生差\",\"licence_no\":\"%s\"}", code);
    char *known = ta_report(leader, body, 201);
    json_t *c = wait_note(known, name);
    char *text = ta_dump(c);
    EXPECT(has_note(c, name), "%s mode: case %s has no note naming %s: " EXCERPT, mode, known, name,
           text);
    EXPECT(!strcmp(ta_text(c, "licence_no"), code), "licence not linked");
    free(text);
    json_decref(c);

    /* Well formed, not registered: the note says so, the case goes on. */
    char *unknown = ta_report(leader, "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A
                                      "\",\"licence_no\":\"91331102MA2A1B2C3D\"}", 201);
    c = wait_note(unknown, "is not in the business registry");
    text = ta_dump(c);
    EXPECT(has_note(c, "is not in the business registry"), "%s mode: " EXCERPT, mode, text);
    EXPECT(!strcmp(ta_text(c, "status"), "accepted"), "status %s", ta_text(c, "status"));
    free(text);
    json_decref(c);

    /* The plugin's questions are in the audit like a member's: the asker,
     * the source, the case it was checking. */
    json_t *audit = ta_get_json("/v1/audit/queries?member=plugin:market&source=companies");
    json_t *row = ta_find(json_object_get(audit, "items"), "case", known);
    EXPECT(row && !strcmp(ta_text(row, "outcome"), "ok") && !strcmp(ta_text(row, "role"), "professional") &&
               !strcmp(ta_text(row, "department"), "market"),
           "%s mode: no audit row of plugin:market asking companies for case %s", mode, known);
    json_decref(audit);

    /* The core logged who asked what for which case. */
    char *log = td_log(&D);
    char *line = tu_sprintf("plugin market (market) asked companies for case %s", known);
    EXPECT(log && strstr(log, line), "no log line '%s'", line);
    free(line);
    free(log);
    free(unknown);
    free(known);
    free(body);
    free(leader);
    free(code);
    free(name);
}

START_TEST(datahub_in_thread_mode) { market_notes_the_company("thread"); }
END_TEST

START_TEST(datahub_in_process_mode) { market_notes_the_company("process"); }
END_TEST

int main(void)
{
    Suite *s = suite_create("market_registry");
    ta_add_case(s, "thread", datahub_in_thread_mode, NULL, teardown, 90);
    ta_add_case(s, "process", datahub_in_process_mode, NULL, teardown, 90);
    return ta_run(s);
}
