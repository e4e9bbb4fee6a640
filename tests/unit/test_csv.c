/*
 * test_csv.c — every CSV the project writes is safe to open in a
 * spreadsheet: cg_csv_cell neutralises a cell that would be read as a formula
 * (=, +, -, @, TAB, CR at its start) and quotes what RFC 4180 needs quoted; the
 * assessment CSV and the roster export go through it.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "routine/assessment.h"
#include "support/run_suite.h"

static void expect_cell(const char *in, const char *want)
{
    char *got = cg_csv_cell(in);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(strcmp(got, want) == 0, "cell of [%s]: got [%s], want [%s]", in, got, want);
    free(got);
}

START_TEST(formula_cells_neutralised)
{
    expect_cell("=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"");
    expect_cell("+1+1", "\"'+1+1\"");
    expect_cell("-2+3", "\"'-2+3\"");
    expect_cell("@SUM(A1)", "\"'@SUM(A1)\"");
    expect_cell("\t=1", "\"'\t=1\"");
    expect_cell("\r=1", "\"'\r=1\"");
    expect_cell("=\"a\",b", "\"'=\"\"a\"\",b\"");
    for (const char *p = "=+-@\t\r"; *p; p++) {
        char s[3] = {*p, 'x', 0};
        ck_assert(cg_csv_is_formula(s));
    }
}
END_TEST

START_TEST(plain_cells_unchanged)
{
    expect_cell("", "");
    expect_cell("张三", "张三");
    expect_cell("a=b", "a=b");
    expect_cell("a,b", "\"a,b\"");
    expect_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_cell("two\nlines", "\"two\nlines\"");
    expect_cell(NULL, "");
    ck_assert(!cg_csv_is_formula("a-b"));
}
END_TEST

/* A member who renames themselves to a formula: the monthly CSV carries it
 * as text; a negative number stays a number. */
START_TEST(assessment_csv_carries_no_formula)
{
    json_t *items = json_pack("[{s:s, s:s, s:f}, {s:s, s:s, s:f}]",
                              "member", "M1", "name", "=cmd|' /C calc'!A0", "score", -1.5,
                              "member", "@M2", "name", "+张三", "score", 2.0);
    size_t len = 0;
    char *csv = cg_assess_csv(items, &len);
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strstr(csv, "\r\nM1,\"'=cmd|' /C calc'!A0\",-1.5\r\n") != NULL, "%s", csv);
    ck_assert_msg(strstr(csv, "\r\n\"'@M2\",\"'+张三\",2\r\n") != NULL, "%s", csv);
    /* No line has a cell that starts with a formula character. */
    for (const char *p = csv; (p = strpbrk(p, ",\n")); p++) {
        char c = p[1] == '"' ? p[2] : p[1];
        ck_assert_msg(c != '=' && c != '+' && c != '@', "formula cell at %.20s", p);
    }
    free(csv);
    json_decref(items);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("write");
    tcase_add_test(tc, formula_cells_neutralised);
    tcase_add_test(tc, plain_cells_unchanged);
    tcase_add_test(tc, assessment_csv_carries_no_formula);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
