/* test_gridcode.c — CJ/T 213 grid codes: good ones split into their parts,
 * every malformed one is refused with a reason that says what is wrong. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gridcode.h"
#include "support/run_suite.h"

static const char *const liandu[] = {"331102", NULL};

START_TEST(accepts_and_splits_a_good_code)
{
    char reason[160] = "";
    ck_assert_msg(cg_gridcode_validate("33110200100302", liandu, reason, sizeof reason) == 0, "%s",
                  reason);
    cg_gridcode_parts p;
    ck_assert_int_eq(cg_gridcode_split("33110200100302", &p), 0);
    ck_assert_str_eq(p.county, "331102");
    ck_assert_str_eq(p.subdistrict, "001");
    ck_assert_str_eq(p.community, "003");
    ck_assert_str_eq(p.grid, "02");
    ck_assert_str_eq(p.subdistrict_code, "331102001");
    ck_assert_str_eq(p.community_code, "331102001003");
    ck_assert_int_eq(p.grid_no, 2);
    /* Village codes (2xx) and the highest grid number are fine too. */
    ck_assert_int_eq(cg_gridcode_validate("33110200620101", liandu, NULL, 0), 0);
    ck_assert_int_eq(cg_gridcode_validate("33110299999999", liandu, NULL, 0), 0);
    ck_assert_int_eq(cg_gridcode_split("33110299999999", &p), 0);
    ck_assert_int_eq(p.grid_no, 99);
}
END_TEST

START_TEST(county_list_is_the_callers)
{
    const char *const two[] = {"331102", "331121", NULL};
    ck_assert_int_eq(cg_gridcode_validate("33112100100101", two, NULL, 0), 0);
    ck_assert_int_eq(cg_gridcode_validate("33112100100101", liandu, NULL, 0), -1);
    /* No list: any county but 000000. */
    ck_assert_int_eq(cg_gridcode_validate("11010100100101", NULL, NULL, 0), 0);
    const char *const empty[] = {NULL};
    ck_assert_int_eq(cg_gridcode_validate("11010100100101", empty, NULL, 0), 0);
    ck_assert_int_eq(cg_gridcode_validate("00000000100101", NULL, NULL, 0), -1);
}
END_TEST

START_TEST(refuses_malformed_codes_with_a_reason)
{
    static const struct {
        const char *code, *needle;
    } bad[] = {
        {"", "0 bytes"},
        {"3311020010030", "13 bytes"},
        {"331102001003021", "15 bytes"},
        {"3311020010030a", "digits only"},
        {"33110200100 02", "digits only"},
        {"+3311020010030", "digits only"},
        {"33110300100302", "county 331103"},
        {"33110200000302", "subdistrict part 000"},
        {"33110200100002", "community/village part 000"},
        {"33110200100300", "grid number"},
        {"３３１１０２００１００３０２", "ASCII digits"}, /* full-width digits: not ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char reason[160] = "";
        ck_assert_msg(cg_gridcode_validate(bad[i].code, liandu, reason, sizeof reason) == -1,
                      "accepted '%s'", bad[i].code);
        ck_assert_msg(strstr(reason, bad[i].needle) != NULL, "reason for '%s' is '%s'", bad[i].code,
                      reason);
    }
    char reason[160] = "";
    ck_assert_int_eq(cg_gridcode_validate(NULL, liandu, reason, sizeof reason), -1);
    ck_assert_ptr_nonnull(strstr(reason, "missing"));
    /* A tiny reason buffer is truncated, never overrun. */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    ck_assert_int_eq(cg_gridcode_validate("abc", liandu, tiny, sizeof tiny), -1);
    ck_assert_int_eq(tiny[7], '\0');
}
END_TEST

START_TEST(split_refuses_what_is_not_14_digits)
{
    cg_gridcode_parts p;
    ck_assert_int_eq(cg_gridcode_split("3311020010030", &p), -1);
    ck_assert_int_eq(cg_gridcode_split("3311020010030x", &p), -1);
    ck_assert_int_eq(cg_gridcode_split(NULL, &p), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gridcode");
    TCase *tc = tcase_create("codes");
    tcase_add_test(tc, accepts_and_splits_a_good_code);
    tcase_add_test(tc, county_list_is_the_callers);
    tcase_add_test(tc, refuses_malformed_codes_with_a_reason);
    tcase_add_test(tc, split_refuses_what_is_not_14_digits);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
