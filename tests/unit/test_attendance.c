/*
 * test_attendance.c — the pure rules of attendance: check-in
 * distances, city days and ISO weeks in Asia/Shanghai (a point at 23:59 and
 * one at 00:01 city time), the patrol-day rule on a hand-worked track, and
 * the rota's alternation.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "routine/attendance.h"
#include "lib/citydate.h"
#include "conf/config.h"
#include "routine/patrols.h"
#include "support/testutil.h"
#include "lib/timeutil.h"
#include "support/run_suite.h"

static int64_t iso_ms(const char *text)
{
    int64_t ms = 0;
    ck_assert_msg(cg_time_parse_iso(text, &ms) == 0, "bad time %s", text);
    return ms;
}

static int32_t date(const char *text)
{
    int32_t d = 0;
    ck_assert_msg(cg_day_parse(text, &d) == 0, "bad date %s", text);
    return d;
}

START_TEST(checkin_distance_against_the_radius)
{
    double d;
    /* At the office. */
    ck_assert_int_eq(cg_checkin_within(28.455478, 119.928065, 28.455478, 119.928065, 200, &d), 1);
    ck_assert(d < 0.001);
    /* 0.001 degree of latitude: 2*pi*6371008.8/360/1000 = 111.195 m. */
    ck_assert_int_eq(cg_checkin_within(28.455478, 119.928065, 28.456478, 119.928065, 200, &d), 1);
    ck_assert_msg(d > 111.1 && d < 111.3, "%f", d);
    /* 0.18 degree north: 20 015 m, refused. */
    ck_assert_int_eq(cg_checkin_within(28.455478, 119.928065, 28.635478, 119.928065, 200, &d), 0);
    ck_assert_msg(d > 20000 && d < 20030, "%f", d);
    /* Just at the radius counts. */
    ck_assert_int_eq(cg_checkin_within(0, 0, 0.001, 0, 111.2, &d), 1);
    ck_assert_int_eq(cg_checkin_within(0, 0, 0.001, 0, 111.1, &d), 0);
}
END_TEST

START_TEST(city_days_turn_at_midnight_in_shanghai)
{
    /* 23:59 and 00:01 city time are different days, though both are the
     * same UTC day (15:59Z and 16:01Z). */
    int32_t a = cg_city_day(iso_ms("2026-03-01T23:59:00+08:00"));
    int32_t b = cg_city_day(iso_ms("2026-03-02T00:01:00+08:00"));
    ck_assert_int_eq(a, date("2026-03-01"));
    ck_assert_int_eq(b, date("2026-03-02"));
    ck_assert_int_eq(cg_city_day(iso_ms("2026-03-01T15:59:00Z")), a);
    ck_assert_int_eq(cg_city_day(iso_ms("2026-03-01T16:01:00Z")), b);
    ck_assert(cg_city_day_start_ms(b) == iso_ms("2026-03-02T00:00:00+08:00"));
    char buf[CG_DATE_SIZE];
    cg_day_format(date("2024-02-29"), buf, sizeof buf);
    ck_assert_str_eq(buf, "2024-02-29");
    int32_t d;
    ck_assert_int_eq(cg_day_parse("2026-02-29", &d), -1);
    ck_assert_int_eq(cg_day_parse("2026-2-28", &d), -1);
    int n;
    ck_assert_int_eq(cg_month_parse("2024-02", &d, &n), 0);
    ck_assert_int_eq(n, 29);
    ck_assert_int_eq(d, date("2024-02-01"));
    ck_assert_int_eq(cg_month_parse("2024-13", &d, &n), -1);
    ck_assert_int_eq(cg_day_weekday(date("1970-01-01")), 4);
    ck_assert_int_eq(cg_day_weekday(date("2026-01-05")), 1);
}
END_TEST

START_TEST(iso_weeks_at_the_turn_of_the_year)
{
    int32_t monday;
    /* 2026-01-01 is a Thursday: week 1 starts Monday 2025-12-29. */
    ck_assert_int_eq(cg_iso_week_parse("2026-W01", &monday), 0);
    ck_assert_int_eq(monday, date("2025-12-29"));
    /* 2020 has 53 weeks (it began on a Wednesday, a leap year); 2021 not. */
    ck_assert_int_eq(cg_iso_week_parse("2020-W53", &monday), 0);
    ck_assert_int_eq(monday, date("2020-12-28"));
    ck_assert_int_eq(cg_iso_week_parse("2021-W53", &monday), -1);
    ck_assert_int_eq(cg_iso_week_parse("2021-W00", &monday), -1);
    ck_assert_int_eq(cg_iso_week_parse("2021-53", &monday), -1);
    int y, w;
    /* Sunday 2026-01-04 23:59 city time is still week 1 of 2026; Monday
     * 00:01 is week 2, though in UTC both are on Sunday. */
    cg_iso_week_of(cg_city_day(iso_ms("2026-01-04T23:59:00+08:00")), &y, &w);
    ck_assert_int_eq(y, 2026);
    ck_assert_int_eq(w, 1);
    cg_iso_week_of(cg_city_day(iso_ms("2026-01-05T00:01:00+08:00")), &y, &w);
    ck_assert_int_eq(y, 2026);
    ck_assert_int_eq(w, 2);
    /* Sunday 2025-12-28 23:59 is in 2025-W52; 00:01 on the 29th in 2026-W01. */
    cg_iso_week_of(cg_city_day(iso_ms("2025-12-28T23:59:00+08:00")), &y, &w);
    ck_assert_int_eq(y, 2025);
    ck_assert_int_eq(w, 52);
    cg_iso_week_of(cg_city_day(iso_ms("2025-12-29T00:01:00+08:00")), &y, &w);
    ck_assert_int_eq(y, 2026);
    ck_assert_int_eq(w, 1);
    /* 2027-01-01 (a Friday) belongs to 2026-W53. */
    cg_iso_week_of(date("2027-01-01"), &y, &w);
    ck_assert_int_eq(y, 2026);
    ck_assert_int_eq(w, 53);
}
END_TEST

static cg_track_pt pt(const char *at, int inside)
{
    cg_track_pt p = {.at_ms = iso_ms(at), .inside = inside};
    return p;
}

START_TEST(patrol_time_on_a_hand_worked_track)
{
    /* 08:00 in, 08:10 in (+10), 08:15 out (-), 08:20 in (-, the pair
     * 08:15-08:20 has an outside end), 08:30 in (+10), 09:00 in (gap 30 >
     * max 10: not joined), 09:05 in (+5): 25 minutes. */
    cg_track_pt track[] = {
        pt("2026-03-02T08:00:00+08:00", 1), pt("2026-03-02T08:10:00+08:00", 1),
        pt("2026-03-02T08:15:00+08:00", 0), pt("2026-03-02T08:20:00+08:00", 1),
        pt("2026-03-02T08:30:00+08:00", 1), pt("2026-03-02T09:00:00+08:00", 1),
        pt("2026-03-02T09:05:00+08:00", 1),
    };
    cg_day_ms out[14];
    size_t n = cg_patrol_inside_time(NULL, track, 7, 10 * 60000, out, 14);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(out[0].day, date("2026-03-02"));
    ck_assert(out[0].ms == 25 * 60000);
    /* Sent in two requests: the first point of the second joins the last of
     * the first, and the sum is the same. */
    n = cg_patrol_inside_time(NULL, track, 4, 10 * 60000, out, 14);
    ck_assert_uint_eq(n, 1);
    int64_t first = out[0].ms;
    n = cg_patrol_inside_time(&track[3], track + 4, 3, 10 * 60000, out, 14);
    ck_assert_uint_eq(n, 1);
    ck_assert(first + out[0].ms == 25 * 60000);
}
END_TEST

START_TEST(patrol_time_across_midnight_is_split)
{
    cg_track_pt track[] = {
        pt("2026-03-01T23:55:00+08:00", 1), pt("2026-03-01T23:59:00+08:00", 1),
        pt("2026-03-02T00:01:00+08:00", 1), pt("2026-03-02T00:06:00+08:00", 1),
    };
    cg_day_ms out[8];
    size_t n = cg_patrol_inside_time(NULL, track, 4, 10 * 60000, out, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(out[0].day, date("2026-03-01"));
    ck_assert(out[0].ms == 5 * 60000); /* 23:55-23:59 and 23:59-24:00 */
    ck_assert_int_eq(out[1].day, date("2026-03-02"));
    ck_assert(out[1].ms == 6 * 60000); /* 00:00-00:01 and 00:01-00:06 */
}
END_TEST

START_TEST(the_rota_alternates_across_month_ends)
{
    int32_t first;
    int n;
    ck_assert_int_eq(cg_month_parse("2026-01", &first, &n), 0);
    const char *prev = NULL;
    for (int32_t d = first; d < first + n + 28; d++) { /* into February */
        const char *who = cg_rota_person(d, "L", "I");
        ck_assert_ptr_nonnull(who);
        if (prev)
            ck_assert_str_ne(who, prev);
        prev = who;
    }
    /* 2026-01-01 is day 20454: even, the leader. */
    ck_assert_str_eq(cg_rota_person(date("2026-01-01"), "L", "I"), "L");
    ck_assert_str_eq(cg_rota_person(date("2026-01-02"), "L", "I"), "I");
    /* One of them missing: the other every day; none: nobody. */
    ck_assert_str_eq(cg_rota_person(date("2026-01-01"), "", "I"), "I");
    ck_assert_str_eq(cg_rota_person(date("2026-01-02"), "L", NULL), "L");
    ck_assert_ptr_null(cg_rota_person(date("2026-01-02"), NULL, ""));
}
END_TEST

START_TEST(row_ids_round_trip)
{
    char buf[32];
    cg_row_id_format("CK", 42, buf, sizeof buf);
    ck_assert_str_eq(buf, "CK00000042");
    ck_assert(cg_row_id_parse("CK", buf) == 42);
    ck_assert(cg_row_id_parse("PT", buf) == 0);
    ck_assert(cg_row_id_parse("CK", "CK") == 0);
    ck_assert(cg_row_id_parse("CK", "CK12x") == 0);
}
END_TEST

START_TEST(the_attendance_config_group)
{
    char *dir = tu_tempdir("attendance-cfg");
    char *path = tu_sprintf("%s/c.cfg", dir);
    char err[512];
    cg_config cfg;
    ck_assert_int_eq(tu_write_file(path, "listen = \"127.0.0.1:1\";\n"), 0);
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), 0);
    ck_assert(cfg.attendance.checkin_radius_m == 200.0);
    ck_assert_int_eq(cfg.attendance.patrol_min_minutes, 30);
    ck_assert_int_eq(cfg.attendance.patrol_days_per_week, 2);
    cg_config_free(&cfg);
    ck_assert_int_eq(tu_write_file(path, "attendance = { checkin_radius_m = 150.5;\n"
                                         "  patrol_min_minutes = 45; patrol_days_per_week = 3; };\n"), 0);
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), 0);
    ck_assert(cfg.attendance.checkin_radius_m == 150.5);
    ck_assert_int_eq(cfg.attendance.patrol_min_minutes, 45);
    ck_assert_int_eq(cfg.attendance.patrol_days_per_week, 3);
    cg_config_free(&cfg);
    /* Wrong values and unknown keys name the file and line. */
    ck_assert_int_eq(tu_write_file(path, "attendance = {\n  patrol_days_per_week = 8;\n};\n"), 0);
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "c.cfg:2:") && strstr(err, "patrol_days_per_week"), "%s", err);
    ck_assert_int_eq(tu_write_file(path, "attendance = {\n  checkin_radius_m = -1.0;\n};\n"), 0);
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "c.cfg:2:") && strstr(err, "checkin_radius_m"), "%s", err);
    ck_assert_int_eq(tu_write_file(path, "attendance = {\n\n  radius = 1.0;\n};\n"), 0);
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "c.cfg:3:") && strstr(err, "radius"), "%s", err);
    tu_rmrf(dir);
    free(path);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attendance");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, checkin_distance_against_the_radius);
    tcase_add_test(tc, city_days_turn_at_midnight_in_shanghai);
    tcase_add_test(tc, iso_weeks_at_the_turn_of_the_year);
    tcase_add_test(tc, patrol_time_on_a_hand_worked_track);
    tcase_add_test(tc, patrol_time_across_midnight_is_split);
    tcase_add_test(tc, the_rota_alternates_across_month_ends);
    tcase_add_test(tc, row_ids_round_trip);
    tcase_add_test(tc, the_attendance_config_group);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
