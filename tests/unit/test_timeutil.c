/* test_timeutil.c — ISO 8601 in city time (+08:00) both ways. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timeutil.h"
#include "support/run_suite.h"

START_TEST(formats_in_city_time)
{
    char buf[40];
    cg_time_iso(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "1970-01-01T08:00:00.000+08:00");
    /* 2026-11-26T16:00:00.250Z is midnight of the 27th in Lishui. */
    cg_time_iso(1795708800250LL, buf, sizeof buf);
    ck_assert_str_eq(buf, "2026-11-27T00:00:00.250+08:00");
}
END_TEST

START_TEST(parses_zones_and_fractions)
{
    int64_t ms;
    ck_assert_int_eq(cg_time_parse_iso("2026-11-27T00:00:00.250+08:00", &ms), 0);
    ck_assert_int_eq(ms, 1795708800250LL);
    ck_assert_int_eq(cg_time_parse_iso("2026-11-26T16:00:00Z", &ms), 0);
    ck_assert_int_eq(ms, 1795708800000LL);
    ck_assert_int_eq(cg_time_parse_iso("2026-11-26T11:00:00-05:00", &ms), 0);
    ck_assert_int_eq(ms, 1795708800000LL);
}
END_TEST

START_TEST(round_trips)
{
    char buf[40];
    int64_t back;
    for (int64_t t = 1700000000123LL; t < 1700000000123LL + 86400000LL * 400; t += 86400000LL * 7 + 3601001) {
        cg_time_iso(t, buf, sizeof buf);
        ck_assert_int_eq(cg_time_parse_iso(buf, &back), 0);
        ck_assert_int_eq(back, t);
    }
}
END_TEST

START_TEST(rejects_malformed)
{
    int64_t ms;
    const char *bad[] = {"", "2026-11-26", "2026-11-26T16:00:00", "2026-13-01T00:00:00Z",
                         "2026-11-26T16:00:00+8", "2026-11-26T16:00:00Zjunk",
                         "2026-11-26T25:00:00Z", "2026-11-26T16:00:00.Z", "yesterday", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(cg_time_parse_iso(bad[i], &ms) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(cg_time_parse_iso(NULL, &ms), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timeutil");
    TCase *tc = tcase_create("iso8601");
    tcase_add_test(tc, formats_in_city_time);
    tcase_add_test(tc, parses_zones_and_fractions);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, rejects_malformed);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
