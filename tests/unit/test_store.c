/* test_store.c — the SQLite store: migrations, pragmas, versions, the
 * statement cache. */
#include <check.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir, *db_path;

static void setup(void)
{
    dir = tu_tempdir("store");
    db_path = tu_sprintf("%s/citygrid.db", dir);
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
    free(db_path);
}

static cg_store *open_ok(void)
{
    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_msg(cg_store_open(db_path, &st, err, sizeof err) == 0, "open: %s", err);
    ck_assert_ptr_nonnull(st);
    return st;
}

static long long query_int(cg_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static char *query_text(cg_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
}

START_TEST(test_migrates_empty_to_latest)
{
    ck_assert_int_ge(cg_store_latest_version(), 1);
    cg_store *st = open_ok();
    ck_assert_int_eq(cg_store_schema_version(st), cg_store_latest_version());
    const char *tables[] = {"members", "tokens", "cases", "case_history", "outbox"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char *sql = tu_sprintf("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
                               tables[i]);
        ck_assert_msg(query_int(st, sql) == 1, "table %s missing", tables[i]);
        free(sql);
    }
    ck_assert_int_eq(query_int(st, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
                                   "name='case_history_by_case'"), 1);
    cg_store_close(st);
}
END_TEST

START_TEST(test_reopen_keeps_data_and_version)
{
    cg_store *st = open_ok();
    ck_assert_int_eq(cg_store_exec(st, "INSERT INTO members(id, login, name, created_at) "
                                       "VALUES ('m1', 'm1', 'Li Wei', 1)"), 0);
    cg_store_close(st);
    st = open_ok();
    ck_assert_int_eq(cg_store_schema_version(st), cg_store_latest_version());
    ck_assert_int_eq(query_int(st, "SELECT count(*) FROM members WHERE id='m1'"), 1);
    cg_store_close(st);
}
END_TEST

START_TEST(test_pragmas_in_force)
{
    cg_store *st = open_ok();
    char *mode = query_text(st, "PRAGMA journal_mode");
    ck_assert_str_eq(mode, "wal");
    free(mode);
    ck_assert_int_eq(query_int(st, "PRAGMA synchronous"), 2);
    ck_assert_int_eq(query_int(st, "PRAGMA foreign_keys"), 1);
    ck_assert_int_gt(query_int(st, "PRAGMA busy_timeout"), 0);
    /* and they bite: a token for nobody, a status nobody knows */
    ck_assert_int_eq(cg_store_exec(st, "INSERT INTO tokens(token_hash, member_id, created_at) "
                                       "VALUES ('x', 'nobody', 1)"), -1);
    ck_assert_int_eq(cg_store_exec(st, "INSERT INTO cases(id, category, department, status, "
                                       "created_at, updated_at) VALUES ('C1', 'graffiti', "
                                       "'enforcement', 'lost', 1, 1)"), -1);
    ck_assert_int_eq(cg_store_exec(st, "INSERT INTO cases(id, category, department, status, "
                                       "level, created_at, updated_at) VALUES ('C1', 'graffiti', "
                                       "'enforcement', 'reported', 'galaxy', 1, 1)"), -1);
    cg_store_close(st);
}
END_TEST

START_TEST(test_future_version_refused)
{
    cg_store *st = open_ok();
    char *bump = tu_sprintf("PRAGMA user_version=%d", cg_store_latest_version() + 1);
    ck_assert_int_eq(cg_store_exec(st, bump), 0);
    free(bump);
    cg_store_close(st);

    char err[512] = "";
    st = (cg_store *)1;
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), -1);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, db_path) != NULL, "error does not name the file: %s", err);
    ck_assert_msg(strstr(err, "newer") != NULL, "unclear error: %s", err);
}
END_TEST

START_TEST(test_failed_migration_rolls_back)
{
    /* an empty database that already has a clashing table: step 1 fails */
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE outbox(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "migration 1") != NULL && strstr(err, db_path) != NULL, "err: %s",
                  err);
    ck_assert_msg(strstr(err, "outbox") != NULL, "err lacks SQLite's message: %s", err);

    /* nothing of step 1 was kept, and the version did not move */
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sqlite_master WHERE "
                                            "name = 'cases'), (SELECT user_version FROM "
                                            "pragma_user_version)", -1, &s, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(s, 0), 0);
    ck_assert_int_eq(sqlite3_column_int(s, 1), 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_open_error_names_file)
{
    char *bad = tu_sprintf("%s/no/such/dir/citygrid.db", dir);
    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_int_eq(cg_store_open(bad, &st, err, sizeof err), -1);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, bad) != NULL, "error does not name the file: %s", err);
    free(bad);

    /* not a database at all */
    ck_assert_int_eq(tu_write_file(db_path, "this is not an SQLite database, just some text that "
                                            "is long enough to fill a header page............"),
                     0);
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), -1);
    ck_assert_msg(strstr(err, db_path) != NULL, "error does not name the file: %s", err);
}
END_TEST

static unsigned file_mode(const char *path)
{
    struct stat sb;
    ck_assert_msg(stat(path, &sb) == 0, "%s missing", path);
    return (unsigned)(sb.st_mode & 0777);
}

/* The database, its WAL and shared-memory files are 0600 even in a 0755
 * directory under umask 022 (as packaging makes it), and a database left
 * 0644 by an older version is put right. */
START_TEST(test_files_private)
{
    ck_assert_int_eq(chmod(dir, 0755), 0);
    mode_t old = umask(022);
    cg_store *st = open_ok();
    ck_assert_int_eq(sqlite3_exec(st->db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL,
                                  NULL, NULL), SQLITE_OK);
    char *wal = tu_sprintf("%s-wal", db_path), *shm = tu_sprintf("%s-shm", db_path);
    ck_assert_uint_eq(file_mode(db_path), 0600);
    ck_assert_uint_eq(file_mode(wal), 0600);
    ck_assert_uint_eq(file_mode(shm), 0600);
    cg_store_close(st);
    ck_assert_int_eq(chmod(db_path, 0644), 0);
    st = open_ok();
    ck_assert_uint_eq(file_mode(db_path), 0600);
    cg_store_close(st);
    umask(old);
    free(wal);
    free(shm);
}
END_TEST

/* A state directory that others may write to is refused, naming it. */
START_TEST(test_world_writable_dir_refused)
{
    ck_assert_int_eq(chmod(dir, 0777), 0);
    cg_store *st = NULL;
    char err[512] = "";
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), -1);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(err, dir) && strstr(err, "writable by others"), "%s", err);
    ck_assert_int_eq(chmod(dir, 0700), 0);
}
END_TEST

START_TEST(test_stmt_cache)
{
    cg_store *st = open_ok();
    static const char sql[] = "SELECT ?1";
    sqlite3_stmt *a = cg_store_stmt(st, sql);
    ck_assert_ptr_nonnull(a);
    sqlite3_bind_int(a, 1, 42);
    ck_assert_int_eq(sqlite3_step(a), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(a, 0), 42);
    /* same pointer, same statement, reset and unbound */
    sqlite3_stmt *b = cg_store_stmt(st, sql);
    ck_assert_ptr_eq(a, b);
    ck_assert_int_eq(sqlite3_step(b), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_type(b, 0), SQLITE_NULL);
    sqlite3_reset(b);

    /* many distinct statements (forces the table to grow) stay distinct */
    static char texts[200][32];
    for (int i = 0; i < 200; i++) {
        snprintf(texts[i], sizeof texts[i], "SELECT %d", i);
        sqlite3_stmt *s = cg_store_stmt(st, texts[i]);
        ck_assert_ptr_nonnull(s);
    }
    for (int i = 0; i < 200; i++) {
        sqlite3_stmt *s = cg_store_stmt(st, texts[i]);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(s, 0), i);
        sqlite3_reset(s);
    }
    ck_assert_ptr_eq(cg_store_stmt(st, sql), a);

    /* a bad statement: NULL, and nothing cached */
    ck_assert_ptr_null(cg_store_stmt(st, "SELEKT nonsense"));
    ck_assert_int_eq(cg_store_exec(st, "NOT SQL"), -1);
    cg_store_close(st);
}
END_TEST

/* The one step helper: done, a constraint (409's "conflict"), anything else. */
START_TEST(test_step_helper)
{
    cg_store *st = open_ok();
    cg_result r;
    cg_result_clear(&r);
    sqlite3_stmt *s = cg_store_stmt(st, "INSERT INTO members(id, name, created_at) VALUES (?1, 'x', 0)");
    sqlite3_bind_text(s, 1, "M1", -1, SQLITE_STATIC);
    ck_assert_int_eq(cg_store_step(st, s, "member M1", &r), CG_OK);
    ck_assert_int_eq(r.status, CG_OK);
    sqlite3_bind_text(s, 1, "M1", -1, SQLITE_STATIC); /* reset, still bound: bind again anyway */
    ck_assert_int_eq(cg_store_step(st, s, "member M1", &r), CG_E_CONFLICT);
    ck_assert_str_eq(r.code, "conflict");
    ck_assert_msg(strstr(r.message, "cannot store member M1: UNIQUE"), "message: %s", r.message);
    /* Stepped and reset: the statement can run again at once. */
    sqlite3_bind_text(s, 1, "M2", -1, SQLITE_STATIC);
    ck_assert_int_eq(cg_store_step(st, s, "member M2", &r), CG_OK);
    /* A statement that did not prepare, and one that returns rows. */
    ck_assert_int_eq(cg_store_step(st, NULL, "nothing", &r), CG_E_INTERNAL);
    ck_assert_str_eq(r.code, "internal_error");
    ck_assert_int_eq(cg_store_step(st, cg_store_stmt(st, "SELECT 1"), "a row", NULL), CG_E_INTERNAL);
    ck_assert_int_eq(query_int(st, "SELECT count(*) FROM members WHERE id IN ('M1','M2')"), 2);
    cg_store_close(st);
}
END_TEST

/* member_grids: one row per (member, grid), manages for leader or instructor. */
START_TEST(test_member_grids_view)
{
    cg_store *st = open_ok();
    ck_assert_int_eq(cg_store_exec(st,
        "PRAGMA foreign_keys = OFF;" /* no grids table rows needed for the view */
        "INSERT INTO members(id, name, created_at) VALUES ('L', 'l', 0), ('P', 'p', 0);"
        "INSERT INTO assignments(member_id, grid, role, department) VALUES"
        " ('L', 'g1', 'leader', NULL), ('L', 'g1', 'fulltime', NULL), ('L', 'g2', 'instructor', NULL),"
        " ('P', 'g1', 'professional', 'market'), ('P', 'g2', 'professional', 'market');"), 0);
    ck_assert_int_eq(query_int(st, "SELECT count(*) FROM member_grids WHERE member_id = 'L'"), 2);
    ck_assert_int_eq(query_int(st, "SELECT manages * 10 + leads FROM member_grids"
                                   " WHERE member_id = 'L' AND grid = 'g1'"), 11);
    ck_assert_int_eq(query_int(st, "SELECT manages * 10 + leads FROM member_grids"
                                   " WHERE member_id = 'L' AND grid = 'g2'"), 10);
    ck_assert_int_eq(query_int(st, "SELECT sum(manages + leads) FROM member_grids"
                                   " WHERE member_id = 'P'"), 0);
    cg_store_close(st);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_migrates_empty_to_latest);
    tcase_add_test(tc, test_reopen_keeps_data_and_version);
    tcase_add_test(tc, test_pragmas_in_force);
    tcase_add_test(tc, test_future_version_refused);
    tcase_add_test(tc, test_failed_migration_rolls_back);
    tcase_add_test(tc, test_open_error_names_file);
    tcase_add_test(tc, test_stmt_cache);
    tcase_add_test(tc, test_step_helper);
    tcase_add_test(tc, test_member_grids_view);
    tcase_add_test(tc, test_files_private);
    tcase_add_test(tc, test_world_writable_dir_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(store_suite());
}
