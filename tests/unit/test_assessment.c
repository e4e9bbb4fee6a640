/*
 * test_assessment.c — the monthly indicators (core/routine/assessment.c) on a small
 * fixture whose answers are worked out by hand below, with the edges: a
 * grid with no cases due (null rates), a postponed case (out of the timely
 * denominator), a member in two grids (bundled score = mean of the grids'),
 * a case handled at 23:59 on the last day of the month vs one at 00:01 the
 * next day in Asia/Shanghai, a rework, a reopen and a duplicate
 * (effectiveness against the month before). The workflow steps go through
 * cg_cases_apply_change, so the per-case facts it keeps (handled_at,
 * reopens, duplicates) are tested too. Plus the config group and CSV.
 *
 * The fixture (month 2026-03, "today" 2026-04-15, every weight 1,
 * grid_share 0.3, 2 patrol days per week, 30 minutes a patrol day):
 *   grids G1, G2, G3; L1 leader of G1, P fulltime in G1 and G2, E
 *   professional (enforcement) in G1, L2 leader of G2, Q fulltime in G3.
 *   case  grid src      reporter  resp dept   due (deadline, +08:00)   outcome
 *   c1    G1   patrol   P         P    munic  03-03 09:00              handled 03-02, closed, rated 5
 *   c2    G1   citizen  -         P    munic  03-06 10:00              handled 03-07 (late), closed, rated 3
 *   c3    G1   patrol   L1        P    munic  03-20 10:00 (postponed)  accepted
 *   c4    G1   hotline  -         E    enf    03-31 23:59:30           handled 03-31 23:59:00 (on time)
 *   c5    G1   patrol   E         E    enf    04-01 00:00:30 (April)   handled 04-01 00:01 (late)
 *   c6    G1   citizen  -         P    munic  03-14 12:00              handled, rework, handled,
 *                                                                      closed, reopened -> dispatched
 *   c7    G1   citizen  -         -    munic  -                        cancelled as duplicate of c1
 *   c8    G1   camera   -         E    sanit  03-21 10:00, 1 misroute  handled 03-21 08:00, closed
 *   c9    G2   patrol   P         L2   munic  03-09 10:00              handled 03-08, closed, rated 4
 *   c10   G2   patrol   L2        -    munic  none: reported 03-25     handled on site
 *   c11   G1   citizen  -         P    munic  02-11 (February)         closed, rework 2
 *   Patrol days (>= 30 min): P/G1 03-02, 03-03, 03-04 (week 1: 3, capped
 *   at 2), 03-10 (week 2: 1) -> 3; P/G2 03-17, 03-18 -> 2 (03-19 has 10
 *   minutes only; 03-30 is in an April week). March's ISO weeks are those
 *   with their Thursday in March: 03-05, 12, 19, 26 -> 4 weeks, 8 days
 *   required per member and grid. Rota: G1 03-02 and 03-03 to L1, checked
 *   in on 03-02 only.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routine/assessment.h"
#include "case/cases.h"
#include "lib/citydate.h"
#include "conf/config.h"
#include "store/store.h"
#include "support/testutil.h"
#include "lib/timeutil.h"
#include "support/run_suite.h"

#define G1 "33110200100101"
#define G2 "33110200100102"
#define G3 "33110200100103"

static char *dir;
static cg_store *st;
static cg_assess_conf conf;
static long long next_seq = 1;

static int64_t t(const char *iso)
{
    int64_t ms = 0;
    ck_assert_msg(cg_time_parse_iso(iso, &ms) == 0, "bad time %s", iso);
    return ms;
}

static void exec(const char *sql)
{
    ck_assert_msg(cg_store_exec(st, sql) == 0, "%s: %s", sql, sqlite3_errmsg(st->db));
}

/* A case row as the intake and the workflow leave it. deadline/handled
 * NULL: none. */
static void add_case(const char *id, const char *grid, const char *dep, const char *source,
                     const char *reporter, const char *assignee, const char *status,
                     const char *reported, const char *deadline, const char *handled,
                     int postponed, int rating, int misroutes, int rework, int on_site)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db,
        "INSERT INTO cases(seq, id, category, department, grid, source, reporter, status, level,"
        " assignee, created_at, updated_at, expected_at, handled_at, postponed, satisfaction,"
        " misroutes, rework, handled_on_site, sla_hours)"
        " VALUES (?1, ?2, 'road_damage', ?3, ?4, ?5, ?6, ?7, 'grid', ?8, ?9, ?9, ?10, ?11, ?12,"
        " ?13, ?14, ?15, ?16, 24)", -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_int64(s, 1, next_seq++);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, dep, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, source, -1, SQLITE_STATIC);
    if (reporter)
        sqlite3_bind_text(s, 6, reporter, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, status, -1, SQLITE_STATIC);
    if (assignee)
        sqlite3_bind_text(s, 8, assignee, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, t(reported));
    if (deadline)
        sqlite3_bind_int64(s, 10, t(deadline));
    if (handled)
        sqlite3_bind_int64(s, 11, t(handled));
    sqlite3_bind_int(s, 12, postponed);
    if (rating)
        sqlite3_bind_int(s, 13, rating);
    sqlite3_bind_int(s, 14, misroutes);
    sqlite3_bind_int(s, 15, rework);
    sqlite3_bind_int(s, 16, on_site);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

/* One workflow step through the store's real write path. */
static void step(const char *id, const char *action, const char *from, const char *to,
                 const char *at, int rework, const char *link)
{
    cg_case_change ch = {.case_id = id, .actor = "P", .action = action, .expect_status = from,
                         .to_status = to, .rework_inc = rework, .link_case = link,
                         .set_handled_by = !strcmp(action, "handle")};
    cg_dispatch out = {0};
    int has_out = 0;
    char err[256] = "";
    ck_assert_msg(cg_cases_apply_change(st, &ch, t(at), &out, &has_out, err, sizeof err) ==
                      CG_OK, "%s %s: %s", action, id, err);
    cg_dispatch_clear(&out);
}

static void setup(void)
{
    dir = tu_tempdir("assessment");
    char *path = tu_sprintf("%s/citygrid.db", dir), err[256];
    ck_assert_msg(cg_store_open(path, &st, err, sizeof err) == 0, "%s", err);
    free(path);
    cg_assess_conf_init(&conf, NULL);
    next_seq = 1;
    exec("INSERT INTO places(code, level, parent, name_zh) VALUES"
         " ('331102', 'district', NULL, 'D'), ('331102001', 'subdistrict', '331102', 'S'),"
         " ('331102001001', 'community', '331102001', 'C');"
         "INSERT INTO grids(code, name, type, district, subdistrict, community, office_lat,"
         " office_lon, geometry) VALUES"
         " ('" G1 "', 'g1', 'community', '331102', '331102001', '331102001001', 28.4, 119.9, '{}'),"
         " ('" G2 "', 'g2', 'community', '331102', '331102001', '331102001001', 28.4, 119.9, '{}'),"
         " ('" G3 "', 'g3', 'community', '331102', '331102001', '331102001001', 28.4, 119.9, '{}');"
         "INSERT INTO members(id, name, created_at) VALUES ('L1', 'Leader One', 0),"
         " ('P', 'Pat', 0), ('E', 'Enf', 0), ('L2', 'Leader Two', 0), ('Q', 'Quiet', 0);"
         "INSERT INTO assignments(member_id, grid, role, department) VALUES"
         " ('L1', '" G1 "', 'leader', NULL), ('P', '" G1 "', 'fulltime', NULL),"
         " ('P', '" G2 "', 'fulltime', NULL), ('E', '" G1 "', 'professional', 'enforcement'),"
         " ('L2', '" G2 "', 'leader', NULL), ('Q', '" G3 "', 'fulltime', NULL);");
    add_case("c1", G1, "municipal", "patrol", "P", "P", "closed", "2026-03-02T09:00:00+08:00",
             "2026-03-03T09:00:00+08:00", "2026-03-02T15:00:00+08:00", 0, 5, 0, 0, 0);
    add_case("c2", G1, "municipal", "citizen", NULL, "P", "closed", "2026-03-05T10:00:00+08:00",
             "2026-03-06T10:00:00+08:00", "2026-03-07T10:00:00+08:00", 0, 3, 0, 0, 0);
    add_case("c3", G1, "municipal", "patrol", "L1", "P", "accepted", "2026-03-10T10:00:00+08:00",
             "2026-03-20T10:00:00+08:00", NULL, 1, 0, 0, 0, 0);
    add_case("c4", G1, "enforcement", "hotline", NULL, "E", "accepted",
             "2026-03-31T08:00:00+08:00", "2026-03-31T23:59:30+08:00", NULL, 0, 0, 0, 0, 0);
    add_case("c5", G1, "enforcement", "patrol", "E", "E", "accepted",
             "2026-03-31T20:00:00+08:00", "2026-04-01T00:00:30+08:00", NULL, 0, 0, 0, 0, 0);
    add_case("c6", G1, "municipal", "citizen", NULL, "P", "accepted", "2026-03-12T12:00:00+08:00",
             "2026-03-14T12:00:00+08:00", NULL, 0, 0, 0, 0, 0);
    add_case("c7", G1, "municipal", "citizen", NULL, NULL, "dispatched",
             "2026-03-03T08:00:00+08:00", "2026-03-04T08:00:00+08:00", NULL, 0, 0, 0, 0, 0);
    add_case("c8", G1, "sanitation", "camera", NULL, "E", "closed", "2026-03-20T10:00:00+08:00",
             "2026-03-21T10:00:00+08:00", "2026-03-21T08:00:00+08:00", 0, 0, 1, 0, 0);
    add_case("c9", G2, "municipal", "patrol", "P", "L2", "closed", "2026-03-08T10:00:00+08:00",
             "2026-03-09T10:00:00+08:00", "2026-03-08T12:00:00+08:00", 0, 4, 0, 0, 0);
    add_case("c10", G2, "municipal", "patrol", "L2", NULL, "handled",
             "2026-03-25T10:00:00+08:00", NULL, NULL, 0, 0, 0, 0, 1);
    add_case("c11", G1, "municipal", "citizen", NULL, "P", "closed", "2026-02-10T10:00:00+08:00",
             "2026-02-11T10:00:00+08:00", "2026-02-11T09:00:00+08:00", 0, 0, 0, 2, 0);
    /* The month boundary: 23:59 on March 31 and 00:01 on April 1, city
     * time (15:59Z and 16:01Z, both March 31 in UTC). */
    step("c4", "handle", "accepted", "handled", "2026-03-31T23:59:00+08:00", 0, NULL);
    step("c5", "handle", "accepted", "handled", "2026-04-01T00:01:00+08:00", 0, NULL);
    /* c6: handled, rejected (rework), handled, closed, reopened. */
    step("c6", "handle", "accepted", "handled", "2026-03-13T10:00:00+08:00", 0, NULL);
    step("c6", "review", "handled", "accepted", "2026-03-13T11:00:00+08:00", 1, NULL);
    step("c6", "handle", "accepted", "handled", "2026-03-13T18:00:00+08:00", 0, NULL);
    step("c6", "review", "handled", "closed", "2026-03-13T19:00:00+08:00", 0, NULL);
    step("c6", "reopen", "closed", "dispatched", "2026-03-15T09:00:00+08:00", 0, NULL);
    /* c7 is a duplicate report of c1: c1.duplicates = 1. */
    step("c7", "cancel", "dispatched", "cancelled", "2026-03-03T09:00:00+08:00", 0, "c1");
    exec("INSERT INTO patrol_days(member, grid, day, inside_ms) VALUES"
         " ('P', '" G1 "', '2026-03-02', 2400000), ('P', '" G1 "', '2026-03-03', 1800000),"
         " ('P', '" G1 "', '2026-03-04', 3600000), ('P', '" G1 "', '2026-03-10', 1900000),"
         " ('P', '" G2 "', '2026-03-17', 2400000), ('P', '" G2 "', '2026-03-18', 2400000),"
         " ('P', '" G2 "', '2026-03-19', 600000), ('P', '" G2 "', '2026-03-30', 2400000);"
         "INSERT INTO duty_rota(grid, day, member, updated_at) VALUES"
         " ('" G1 "', '2026-03-02', 'L1', 0), ('" G1 "', '2026-03-03', 'L1', 0);"
         "INSERT INTO checkins(member, grid, at, day, lat, lon, distance_m) VALUES"
         " ('L1', '" G1 "', 0, '2026-03-02', 28.4, 119.9, 3.0);");
}

static void teardown(void)
{
    cg_store_close(st);
    tu_rmrf(dir);
    free(dir);
}

static int32_t day(const char *text)
{
    int32_t d;
    ck_assert(cg_day_parse(text, &d) == 0);
    return d;
}

static json_t *monthly(const char *month, cg_assess_by by)
{
    int32_t first;
    int n;
    ck_assert(cg_month_parse(month, &first, &n) == 0);
    char err[256] = "";
    json_t *r = cg_assess_monthly(st, &conf, first, n, by, day("2026-04-15"), err, sizeof err);
    ck_assert_msg(r != NULL, "%s", err);
    return r;
}

static json_t *row_of(json_t *report, const char *key, const char *id)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(report, "items"), i, row)
        if (!strcmp(json_string_value(json_object_get(row, key)), id))
            return row;
    ck_abort_msg("no row %s", id);
    return NULL;
}

static long long count(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    ck_assert_msg(json_is_integer(v), "%s is not a count", key);
    return json_integer_value(v);
}

static void assert_rate(json_t *row, const char *key, double expect)
{
    json_t *v = json_object_get(row, key);
    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    ck_assert_msg(fabs(json_number_value(v) - expect) < 1e-4, "%s = %f, expected %f", key,
                  json_number_value(v), expect);
}

static void assert_null(json_t *row, const char *key)
{
    ck_assert_msg(json_is_null(json_object_get(row, key)), "%s should be null", key);
}

START_TEST(facts_kept_by_the_workflow)
{
    /* handled_at at the verb's time, the rework, reopen and duplicate counts. */
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, "SELECT id, handled_at, rework, reopens, duplicates"
                                                " FROM cases WHERE id IN ('c1','c4','c6') ORDER BY id",
                                        -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW); /* c1 */
    ck_assert_int_eq(sqlite3_column_int(s, 4), 1);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW); /* c4 */
    ck_assert(sqlite3_column_int64(s, 1) == t("2026-03-31T23:59:00+08:00"));
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW); /* c6: the second handle */
    ck_assert(sqlite3_column_int64(s, 1) == t("2026-03-13T18:00:00+08:00"));
    ck_assert_int_eq(sqlite3_column_int(s, 2), 1);
    ck_assert_int_eq(sqlite3_column_int(s, 3), 1);
    sqlite3_finalize(s);
}
END_TEST

START_TEST(grid_indicators_by_hand)
{
    json_t *r = monthly("2026-03", CG_ASSESS_BY_GRID);
    ck_assert_str_eq(json_string_value(json_object_get(r, "month")), "2026-03");
    ck_assert_str_eq(json_string_value(json_object_get(r, "by")), "grid");
    json_t *g1 = row_of(r, "grid", G1);
    /* Reported in March, not cancelled: c1..c6, c8 = 7; by patrol c1, c3,
     * c5 = 3 -> 3/7. */
    ck_assert_int_eq(count(g1, "cases"), 7);
    ck_assert_int_eq(count(g1, "patrol_found"), 3);
    assert_rate(g1, "patrol_discovery_rate", 3.0 / 7);
    /* Due in March: c1, c2, c3, c4, c6, c8 = 6 (c5 is due in April, c7 is
     * cancelled, c11 was due in February). Not postponed: 5 (c3 out). On
     * time: c1, c4 (23:59:00 <= 23:59:30), c8 = 3 (c2 late, c6 reopened)
     * -> 3/5. Closed: c1, c2, c8 -> 3/6. */
    ck_assert_int_eq(count(g1, "due"), 6);
    ck_assert_int_eq(count(g1, "due_not_postponed"), 5);
    ck_assert_int_eq(count(g1, "handled_on_time"), 3);
    assert_rate(g1, "timely_disposal_rate", 0.6);
    ck_assert_int_eq(count(g1, "closed"), 3);
    assert_rate(g1, "closure_rate", 0.5);
    /* Rated closed cases: c1 5, c2 3 -> 4.0 (c8 unrated). */
    ck_assert_int_eq(count(g1, "rated"), 2);
    assert_rate(g1, "satisfaction", 4.0);
    /* Received by transfer or at joint level: c8, on time -> 1/1. */
    ck_assert_int_eq(count(g1, "coordination_received"), 1);
    assert_rate(g1, "coordination", 1.0);
    /* Problems: c1 duplicate 1 + c6 rework 1 + reopen 1 = 3; February: c11
     * rework 2 -> 0.5 + (2 - 3) / (2 * 3) = 1/3. */
    ck_assert_int_eq(count(g1, "problems"), 3);
    ck_assert_int_eq(count(g1, "rework"), 1);
    ck_assert_int_eq(count(g1, "reopens"), 1);
    ck_assert_int_eq(count(g1, "duplicates"), 1);
    ck_assert_int_eq(count(g1, "problems_prev"), 2);
    assert_rate(g1, "effectiveness", 1.0 / 3);
    /* Attendance: duty 1 of 2 (L1 checked in on 03-02 only); patrol L1 0,
     * P 3 (2 + 1), E 0 of 8 each -> (1 + 3) / (2 + 24) = 4/26. */
    ck_assert_int_eq(count(g1, "duty_days_required"), 2);
    ck_assert_int_eq(count(g1, "duty_days_met"), 1);
    ck_assert_int_eq(count(g1, "patrol_days_required"), 24);
    ck_assert_int_eq(count(g1, "patrol_days_met"), 3);
    assert_rate(g1, "attendance_rate", 4.0 / 26);
    /* Score: 100 * mean(3/7, 0.6, 0.5, (4-1)/4, 4/26, 1, 1/3) = 53.80. */
    assert_rate(g1, "score", 53.80);

    json_t *g2 = row_of(r, "grid", G2);
    /* c9 and c10 (on site, no deadline: due when reported, on time). */
    ck_assert_int_eq(count(g2, "due"), 2);
    assert_rate(g2, "timely_disposal_rate", 1.0);
    assert_rate(g2, "closure_rate", 0.5);
    assert_rate(g2, "patrol_discovery_rate", 1.0);
    assert_null(g2, "coordination");
    assert_rate(g2, "effectiveness", 1.0); /* no problems in either month */
    assert_rate(g2, "attendance_rate", 2.0 / 16);
    /* 100 * mean(1, 1, 0.5, 0.75, 0.125, 1) = 72.92 (coordination left out). */
    assert_rate(g2, "score", 72.92);

    /* No cases due: every case rate null (not 0, not 1); attendance 0/8. */
    json_t *g3 = row_of(r, "grid", G3);
    ck_assert_int_eq(count(g3, "due"), 0);
    assert_null(g3, "patrol_discovery_rate");
    assert_null(g3, "timely_disposal_rate");
    assert_null(g3, "closure_rate");
    assert_null(g3, "satisfaction");
    assert_null(g3, "coordination");
    assert_null(g3, "effectiveness");
    assert_rate(g3, "attendance_rate", 0.0);
    assert_rate(g3, "score", 0.0);
    json_decref(r);
}
END_TEST

START_TEST(member_in_two_grids_bundled)
{
    json_t *r = monthly("2026-03", CG_ASSESS_BY_MEMBER);
    json_t *p = row_of(r, "member", "P");
    ck_assert_str_eq(json_string_value(json_object_get(p, "role")), "fulltime");
    ck_assert_int_eq(json_array_size(json_object_get(p, "grids")), 2);
    /* Patrol finds c1 and c9 of the 7 + 2 cases of G1 and G2 -> 2/9. */
    ck_assert_int_eq(count(p, "patrol_found"), 2);
    ck_assert_int_eq(count(p, "cases"), 9);
    assert_rate(p, "patrol_discovery_rate", 2.0 / 9);
    /* Responsible for c1, c2, c3 (postponed), c6: timely c1 of 3 -> 1/3;
     * closed c1, c2 of 4 -> 0.5; ratings 5, 3 -> 4. */
    ck_assert_int_eq(count(p, "due"), 4);
    assert_rate(p, "timely_disposal_rate", 1.0 / 3);
    assert_rate(p, "closure_rate", 0.5);
    assert_rate(p, "satisfaction", 4.0);
    assert_null(p, "coordination");
    /* 3 problems now, 2 (c11) in February -> 1/3. */
    assert_rate(p, "effectiveness", 1.0 / 3);
    /* Patrol days: 3 in G1 + 2 in G2 of 16 -> 5/16. */
    assert_rate(p, "attendance_rate", 5.0 / 16);
    /* Own: 100 * mean(2/9, 1/3, 0.5, 0.75, 5/16, 1/3) = 40.86; grids: the
     * mean of G1 53.796 and G2 72.917 = 63.356; score = 0.7 * 40.856 +
     * 0.3 * 63.356 = 47.61. */
    assert_rate(p, "own_score", 40.86);
    assert_rate(p, "grid_score", 63.36);
    assert_rate(p, "score", 47.61);

    /* E: c4 (on time, handled) and c8 (on time, closed, transferred); c5
     * is April's. Own 100 * mean(1/7, 1, 0.5, 0, 1, 1) = 60.71; score =
     * 0.7 * 60.714 + 0.3 * 53.796 = 58.64. */
    json_t *e = row_of(r, "member", "E");
    ck_assert_str_eq(json_string_value(json_object_get(e, "role")), "professional");
    ck_assert_int_eq(count(e, "due"), 2);
    assert_rate(e, "timely_disposal_rate", 1.0);
    assert_null(e, "satisfaction");
    assert_rate(e, "coordination", 1.0);
    assert_rate(e, "score", 58.64);
    json_decref(r);
}
END_TEST

START_TEST(month_boundary_in_city_time)
{
    /* April: only c5 is due (00:00:30 on April 1), handled at 00:01 ->
     * late; c4 (23:59 on March 31) belongs to March. */
    json_t *r = monthly("2026-04", CG_ASSESS_BY_GRID);
    json_t *g1 = row_of(r, "grid", G1);
    ck_assert_int_eq(count(g1, "due"), 1);
    ck_assert_int_eq(count(g1, "handled_on_time"), 0);
    assert_rate(g1, "timely_disposal_rate", 0.0);
    ck_assert_int_eq(count(g1, "cases"), 0); /* c5 was reported in March */
    /* March's problems (3) are April's previous month. */
    ck_assert_int_eq(count(g1, "problems_prev"), 3);
    json_decref(r);
}
END_TEST

START_TEST(department_rows)
{
    json_t *r = monthly("2026-03", CG_ASSESS_BY_DEPARTMENT);
    json_t *enf = row_of(r, "department", "enforcement");
    /* c4 and c5 reported (c5 by patrol); c4 due and on time, not closed;
     * E's patrol days 0 of 8. */
    ck_assert_int_eq(count(enf, "cases"), 2);
    ck_assert_int_eq(count(enf, "patrol_found"), 1);
    ck_assert_int_eq(count(enf, "due"), 1);
    assert_rate(enf, "timely_disposal_rate", 1.0);
    assert_rate(enf, "closure_rate", 0.0);
    ck_assert_int_eq(count(enf, "patrol_days_required"), 8);
    json_t *mun = row_of(r, "department", "municipal");
    /* c1, c2, c3, c6 (G1) + c9, c10 (G2) due. */
    ck_assert_int_eq(count(mun, "due"), 6);
    json_decref(r);
}
END_TEST

START_TEST(annual_and_commendations)
{
    char err[256];
    json_t *a = cg_assess_annual(st, &conf, 2026, day("2026-04-15"), err, sizeof err);
    ck_assert_msg(a != NULL, "%s", err);
    /* January to April began by April 15: 4 months. */
    ck_assert_int_eq(json_array_size(json_object_get(a, "months")), 4);
    json_t *p = row_of(a, "member", "P");
    /* P's months: January (no cases; patrol 0 of 8 -> own 0, grids 0 ->
     * score 0), February, March 47.61, April: each month has a score. */
    ck_assert_int_eq(count(p, "months_counted"), 4);
    ck_assert(json_is_number(json_object_get(p, "score")));
    json_t *c = cg_assess_commendations(a, 1);
    /* One per role present: leader, fulltime, professional. */
    json_t *items = json_object_get(c, "items");
    ck_assert_int_eq(json_array_size(items), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "role")),
                     "leader");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(items, 0), "rank")), 1);
    json_decref(c);
    json_decref(a);
}
END_TEST

START_TEST(csv_has_bom_and_header)
{
    json_t *r = monthly("2026-03", CG_ASSESS_BY_MEMBER);
    size_t len = 0;
    char *csv = cg_assess_csv(json_object_get(r, "items"), &len);
    ck_assert(csv != NULL);
    ck_assert(len > 3 && memcmp(csv, "\xEF\xBB\xBF", 3) == 0);
    /* The header in Chinese, in the keys' order; a key without a label as is. */
    const char *header = "成员编号,姓名,中文名称,主要岗位,岗位,所在网格,所属部门,巡查发现率,";
    ck_assert_msg(strncmp(csv + 3, header, strlen(header)) == 0, "%.200s", csv + 3);
    /* 5 members + the header, CRLF each. */
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += csv[i] == '\n';
    ck_assert_int_eq(lines, 6);
    ck_assert(strstr(csv, "\r\nE,Enf,") != NULL);
    free(csv);
    json_decref(r);
}
END_TEST

START_TEST(config_group_and_errors)
{
    char *d = tu_tempdir("assesscfg"), err[512];
    char *path = tu_sprintf("%s/a.cfg", d);
    cg_config cfg;
    tu_write_file(path, "assessment = { weights = { closure_rate = 2.0; satisfaction = 0; };\n"
                        "  grid_share = 0.5; commend_top = 5; };\n");
    ck_assert_msg(cg_config_load(path, &cfg, err, sizeof err) == 0, "%s", err);
    cg_assess_conf c;
    cg_assess_conf_init(&c, &cfg);
    ck_assert(c.weights[CG_IND_CLOSURE] == 2.0 && c.weights[CG_IND_SATISFACTION] == 0 &&
              c.weights[CG_IND_TIMELY] == 1.0);
    ck_assert(c.grid_share == 0.5 && c.commend_top == 5);
    cg_config_free(&cfg);
    tu_write_file(path, "assessment = {\n  grid_share = 1.5; };\n");
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "a.cfg:2:") && strstr(err, "grid_share"), "%s", err);
    tu_write_file(path, "assessment = { weights = {\n speed = 1.0; }; };\n");
    ck_assert_int_eq(cg_config_load(path, &cfg, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "a.cfg:2:") && strstr(err, "speed"), "%s", err);
    free(path);
    tu_rmrf(d);
    free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("assessment");
    TCase *tc = tcase_create("fixture");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, facts_kept_by_the_workflow);
    tcase_add_test(tc, grid_indicators_by_hand);
    tcase_add_test(tc, member_in_two_grids_bundled);
    tcase_add_test(tc, month_boundary_in_city_time);
    tcase_add_test(tc, department_rows);
    tcase_add_test(tc, annual_and_commendations);
    tcase_add_test(tc, csv_has_bom_and_header);
    suite_add_tcase(s, tc);
    TCase *cf = tcase_create("config");
    tcase_add_test(cf, config_group_and_errors);
    suite_add_tcase(s, cf);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
