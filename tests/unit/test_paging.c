/* test_paging.c — the shared keyset-paging loop: at most `limit` items, the
 * cursor of the last item kept, "next" null on the last page, prefixed and
 * bare-decimal cursors, a caller-made cursor, NULL (nothing kept) when a
 * step fails half-way; and the one-row read by id. */
#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/paging.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static sqlite3 *db;

/* Rows id 1..5 with a name; row 4's v makes abs() fail when it is stepped. */
static void setup(void)
{
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v INTEGER);"
                                  "INSERT INTO t VALUES (1,'a',1),(2,'b',2),(3,'c',3),"
                                  "(4,'d',-9223372036854775808),(5,'e',5);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
}

static void teardown(void) { sqlite3_close(db); }

/* Rows with id > after, limit+1 of them, as the contract asks. */
static sqlite3_stmt *listing(long long after, int limit)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, name FROM t WHERE id > ?1 AND id <> 4"
                                            " ORDER BY id LIMIT ?2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int(s, 2, limit + 1);
    return s;
}

static json_t *name_row(sqlite3_stmt *s)
{
    return json_string((const char *)sqlite3_column_text(s, 1));
}

static const char *names(json_t *page, char *buf, size_t len)
{
    size_t i, n = 0;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(json_object_get(page, "items"), i, v)
        n += (size_t)snprintf(buf + n, len - n, "%s", json_string_value(v));
    return buf;
}

START_TEST(full_page_has_a_prefixed_cursor)
{
    sqlite3_stmt *s = listing(0, 2);
    json_t *page = cg_page_collect(s, 2, name_row, 0, "CK");
    ck_assert_ptr_nonnull(page);
    char buf[32];
    ck_assert_str_eq(names(page, buf, sizeof buf), "ab");
    ck_assert_str_eq(json_string_value(json_object_get(page, "next")), "CK00000002");
    /* The statement is reset, not finalized: it runs again from the start. */
    json_decref(page);
    page = cg_page_collect(s, 2, name_row, 0, "CK");
    ck_assert_str_eq(names(page, buf, sizeof buf), "ab");
    json_decref(page);
    sqlite3_finalize(s);
}
END_TEST

START_TEST(last_page_has_null_next)
{
    sqlite3_stmt *s = listing(2, 2); /* 3 and 5 are left: exactly a page */
    json_t *page = cg_page_collect(s, 2, name_row, 0, NULL);
    char buf[32];
    ck_assert_str_eq(names(page, buf, sizeof buf), "ce");
    ck_assert(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    sqlite3_finalize(s);

    s = listing(5, 2); /* nothing left */
    page = cg_page_collect(s, 2, name_row, 0, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 0);
    ck_assert(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    sqlite3_finalize(s);
}
END_TEST

START_TEST(bare_cursor_is_decimal)
{
    sqlite3_stmt *s = listing(1, 1);
    json_t *page = cg_page_collect(s, 1, name_row, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(page, "next")), "2");
    json_decref(page);
    sqlite3_finalize(s);
}
END_TEST

static json_t *counted_row(sqlite3_stmt *s, void *ctx)
{
    ++*(int *)ctx;
    return name_row(s);
}

static void name_cursor(sqlite3_stmt *s, void *ctx, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%lld", (const char *)sqlite3_column_text(s, 1),
             (long long)sqlite3_column_int64(s, 0));
}

START_TEST(caller_made_cursor_and_context)
{
    int rows = 0;
    cg_page_spec spec = {.row = counted_row, .ctx = &rows, .cursor = name_cursor};
    sqlite3_stmt *s = listing(0, 3);
    json_t *page = cg_page_collect_spec(s, 3, &spec);
    ck_assert_int_eq(rows, 3); /* the extra row is never turned into JSON */
    ck_assert_str_eq(json_string_value(json_object_get(page, "next")), "c/3");
    json_decref(page);
    sqlite3_finalize(s);
}
END_TEST

START_TEST(failed_step_gives_null)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, abs(v) FROM t ORDER BY id LIMIT 10", -1, &s,
                                        NULL),
                     SQLITE_OK);
    ck_assert_ptr_null(cg_page_collect(s, 9, name_row, 0, "CK"));
    sqlite3_finalize(s);
}
END_TEST

START_TEST(one_row_by_id_or_null)
{
    char *dir = tu_tempdir("paging"), err[256] = "";
    char *path = tu_sprintf("%s/citygrid.db", dir);
    cg_store *st = NULL;
    ck_assert_msg(cg_store_open(path, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cg_store_exec(st, "INSERT INTO members(id, name, created_at)"
                                       " VALUES ('M1', 'a', 0), ('M2', 'b', 0)"),
                     0);
    const char *sql = "SELECT rowid, name FROM members WHERE rowid = ?1";
    json_t *j = cg_row_by_id(st, sql, 2, name_row);
    ck_assert_str_eq(json_string_value(j), "b");
    json_decref(j);
    ck_assert_ptr_null(cg_row_by_id(st, sql, 99, name_row));
    /* Reused from the statement cache: the earlier run left it reset. */
    j = cg_row_by_id(st, sql, 1, name_row);
    ck_assert_str_eq(json_string_value(j), "a");
    json_decref(j);
    cg_store_close(st);
    tu_rmrf(dir);
    free(dir);
    free(path);
}
END_TEST

static Suite *paging_suite(void)
{
    Suite *su = suite_create("paging");
    TCase *tc = tcase_create("collect");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_page_has_a_prefixed_cursor);
    tcase_add_test(tc, last_page_has_null_next);
    tcase_add_test(tc, bare_cursor_is_decimal);
    tcase_add_test(tc, caller_made_cursor_and_context);
    tcase_add_test(tc, failed_step_gives_null);
    tcase_add_test(tc, one_row_by_id_or_null);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    return tu_run_suite(paging_suite());
}
