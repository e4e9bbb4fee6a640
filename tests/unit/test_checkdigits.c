/*
 * test_checkdigits.c — the check characters of plugins/datahub/codes.c
 * (GB 11643 ID numbers, GB 32100 credit codes) against the standards' own
 * examples and single-character errors, and every code of the synthetic
 * sources in contrib/lishui/sources.sql: the generator and the C code agree.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugins/datahub/codes.h"
#include "support/run_suite.h"
#include "support/testutil.h"

START_TEST(id_numbers)
{
    /* The example of GB 11643-1999 itself, and a check digit 4. */
    ck_assert_int_eq(dh_id_check_char("11010519491231002"), 'X');
    ck_assert(dh_id_valid("11010519491231002X"));
    ck_assert(dh_id_valid("440524188001010014"));
    ck_assert(!dh_id_valid("11010519491231002x")); /* upper case X only */
    ck_assert(!dh_id_valid("110105194912310021"));
    ck_assert(!dh_id_valid("440524188001010015"));
    ck_assert(!dh_id_valid("44052418800101001"));   /* 17 */
    ck_assert(!dh_id_valid("4405241880010100144")); /* 19 */
    ck_assert(!dh_id_valid("44052418800A010014"));
    ck_assert(!dh_id_valid(""));
    ck_assert(!dh_id_valid(NULL));
    ck_assert_int_eq(dh_id_check_char("1101051949"), 0);
    /* Every single-digit change of a valid number is caught. */
    char s[] = "11010519491231002X";
    for (int i = 0; i < 17; i++) {
        char keep = s[i];
        s[i] = keep == '9' ? '0' : (char)(keep + 1);
        ck_assert_msg(!dh_id_valid(s), "changed digit %d not caught: %s", i, s);
        s[i] = keep;
    }
    ck_assert(dh_id_valid(s));
}
END_TEST

START_TEST(credit_codes)
{
    ck_assert_int_eq(dh_uscc_check_char("91350100M000100Y4"), '3');
    ck_assert(dh_uscc_valid("91350100M000100Y43"));
    ck_assert(dh_uscc_valid("91110108551385082Q"));
    ck_assert(!dh_uscc_valid("91350100M000100Y44"));
    ck_assert(!dh_uscc_valid("91350100m000100Y43")); /* lower case */
    ck_assert(!dh_uscc_valid("91350100I000100Y43")); /* I is not in the alphabet */
    ck_assert(!dh_uscc_valid("91350100M000100Y4"));
    ck_assert(!dh_uscc_valid(NULL));
    ck_assert_int_eq(dh_uscc_check_char("9135010"), 0);
    /* A check value of 31 - 0 wraps to '0', never past the alphabet. */
    char s[19] = "00000000000000000";
    ck_assert_int_eq(dh_uscc_check_char(s), '0');
}
END_TEST

static sqlite3 *open_sources(void)
{
    char *path = tu_src_path("contrib/lishui/sources.sql");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    free(path);
    char *text = malloc(1 << 20);
    ck_assert_ptr_nonnull(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    ck_assert(feof(f));
    fclose(f);
    text[n] = '\0';
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    char *err = NULL;
    ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, &err) == SQLITE_OK, "sources.sql: %s", err);
    free(text);
    return db;
}

/* Runs `sql` (one text column) and checks every value with `valid`;
 * returns how many rows there were. */
static int check_column(sqlite3 *db, const char *sql, int (*valid)(const char *))
{
    sqlite3_stmt *st = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        ck_assert_msg(v && valid(v), "%s: %s is not valid", sql, v ? v : "NULL");
        rows++;
    }
    sqlite3_finalize(st);
    return rows;
}

static int lishui_id(const char *s) { return dh_id_valid(s) && strncmp(s, "3311", 4) == 0; }
static int lishui_code(const char *s) { return dh_uscc_valid(s) && strncmp(s + 2, "3311", 4) == 0; }
static int is_yes(const char *s) { return strcmp(s, "yes") == 0; }
static int zhe_k(const char *s) { return strncmp(s, "浙K", strlen("浙K")) == 0; }

START_TEST(synthetic_sources)
{
    sqlite3 *db = open_sources();
    ck_assert_int_gt(check_column(db, "SELECT id_number FROM persons", lishui_id), 100);
    ck_assert_int_gt(check_column(db, "SELECT owner_id_number FROM vehicles", lishui_id), 50);
    ck_assert_int_gt(check_column(db, "SELECT owner_id_number FROM property_owners", lishui_id), 50);
    ck_assert_int_gt(check_column(db, "SELECT plate FROM vehicles", zhe_k), 50);
    ck_assert_int_gt(check_column(db, "SELECT credit_code FROM companies", lishui_code), 50);
    ck_assert_int_gt(check_column(db, "SELECT party_id_number FROM offenders WHERE party_type = '个人'",
                                  lishui_id), 10);
    ck_assert_int_gt(check_column(db, "SELECT party_id_number FROM offenders WHERE party_type = '单位'",
                                  lishui_code), 5);
    /* Clearly marked: the file says so in a table a reader of the .sqlite sees. */
    ck_assert_int_eq(check_column(db, "SELECT value FROM meta WHERE key = 'synthetic'", is_yes), 1);
    sqlite3_close(db);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checkdigits");
    TCase *tc = tcase_create("codes");
    tcase_add_test(tc, id_numbers);
    tcase_add_test(tc, credit_codes);
    tcase_add_test(tc, synthetic_sources);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
