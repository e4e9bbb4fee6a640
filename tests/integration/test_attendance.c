/*
 * test_attendance.c — integration: citygridd with the Lishui
 * dataset; members of grid 33110200100101 (contrib/lishui/roster.csv:
 * M00151 leader, M00152 instructor, M00153 fulltime, M00156 sanitation,
 * M00157 police) check in at the office and 20 km away, keep the duty rota,
 * patrol on two days of last week and show up in the weekly list, hold a
 * grid meeting whose claimed task is tracked, and get devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/citydate.h"
#include "integration/testapi.h"
#include "support/testutil.h"
#include "lib/timeutil.h"

#define GRID_A "33110200100101"
#define GRID_B "33110200100102"
#define OFFICE_A_LAT 28.455478
#define OFFICE_A_LON 119.928065

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

START_TEST(a_member_checks_in_at_the_office_and_is_refused_far_away)
{
    char *leader = ta_token_for("M00151");
    char *body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f}", GRID_A, OFFICE_A_LAT, OFFICE_A_LON);
    json_t *c = ta_expect_call("POST", "/v1/checkins", leader, body, 201);
    EXPECT(strncmp(json_string_value(json_object_get(c, "id")) ?: "", "CK", 2) == 0, "no id");
    EXPECT(json_real_value(json_object_get(c, "distance_m")) < 1.0, "not at the office");
    EXPECT(strcmp(json_string_value(json_object_get(c, "terminal")) ?: "", "T00151") == 0,
           "not from the member's terminal");
    json_decref(c);
    free(body);

    /* Naming the registered terminal is fine; another one is not. */
    body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f,\"terminal\":\"T00151\"}", GRID_A,
                      OFFICE_A_LAT + 0.001, OFFICE_A_LON); /* about 111 m north */
    ta_expect_status("POST", "/v1/checkins", leader, body, 201);
    free(body);
    body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f,\"terminal\":\"T00999\"}", GRID_A,
                      OFFICE_A_LAT, OFFICE_A_LON);
    c = ta_expect_call("POST", "/v1/checkins", leader, body, 403);
    EXPECT(strcmp(ta_error_code(c), "terminal_mismatch") == 0, "not terminal_mismatch");
    json_decref(c);
    free(body);

    /* 20 km north (0.18 degrees of latitude): refused with the distance. */
    body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f}", GRID_A, OFFICE_A_LAT + 0.18, OFFICE_A_LON);
    c = ta_expect_call("POST", "/v1/checkins", leader, body, 422);
    json_t *e = json_object_get(c, "error");
    double d = json_real_value(json_object_get(e, "distance_m"));
    EXPECT(strcmp(ta_error_code(c), "too_far") == 0, "not too_far");
    EXPECT(d > 19900 && d < 20100, "distance %f is not about 20 km", d);
    EXPECT(json_real_value(json_object_get(e, "radius_m")) == 200.0, "radius is not 200");
    json_decref(c);
    free(body);

    /* Not the member's grid: 403, with the distance too. */
    body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f}", GRID_B, OFFICE_A_LAT, OFFICE_A_LON);
    c = ta_expect_call("POST", "/v1/checkins", leader, body, 403);
    EXPECT(strcmp(ta_error_code(c), "not_your_grid") == 0, "not not_your_grid");
    EXPECT(json_is_number(json_object_get(json_object_get(c, "error"), "distance_m")), "no distance");
    json_decref(c);
    free(body);
    ta_expect_status("POST", "/v1/checkins", leader, "{\"grid\":\"" GRID_A "\",\"lat\":\"x\",\"lon\":1}", 400);

    /* The list: two accepted, visible to the grid, not outside it. */
    json_t *page = ta_expect_call("GET", "/v1/checkins?grid=" GRID_A, leader, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 2, "not 2 check-ins");
    json_decref(page);
    page = ta_expect_call("GET", "/v1/checkins?member=M00151&limit=1", D.token, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 1, "limit ignored");
    const char *next = json_string_value(json_object_get(page, "next"));
    EXPECT(next, "no next page");
    char *path = tu_sprintf("/v1/checkins?member=M00151&limit=1&cursor=%s", next);
    json_t *page2 = ta_expect_call("GET", path, D.token, NULL, 200);
    EXPECT(json_array_size(json_object_get(page2, "items")) == 1 &&
               json_is_null(json_object_get(page2, "next")), "second page wrong");
    json_decref(page2);
    json_decref(page);
    free(path);
    ta_expect_status("GET", "/v1/checkins?grid=" GRID_B, leader, NULL, 403);
    free(leader);
}
END_TEST

START_TEST(the_rota_alternates_leader_and_instructor_and_shows_missed_duty)
{
    char *leader = ta_token_for("M00151"), *fulltime = ta_token_for("M00153");
    int32_t today = cg_city_day(cg_now_ms());
    char date[CG_DATE_SIZE], month[8], last_month[8];
    cg_day_format(today, date, sizeof date);
    snprintf(month, sizeof month, "%.7s", date);
    int y, m, d;
    cg_day_to_civil(today, &y, &m, &d);
    cg_day_to_civil(cg_day_from_civil(y, m, 1) - 1, &y, &m, &d);
    snprintf(last_month, sizeof last_month, "%04d-%02d", y, m);

    char *path = tu_sprintf("/v1/grids/%s/rota?month=%s", GRID_A, last_month);
    ta_expect_status("POST", path, fulltime, NULL, 403);
    json_t *r = ta_expect_call("POST", path, leader, NULL, 201);
    json_t *items = json_object_get(r, "items");
    EXPECT(json_array_size(items) == (size_t)d, "not %d days", d);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *who = json_string_value(json_object_get(it, "member"));
        EXPECT(strcmp(who, "M00151") == 0 || strcmp(who, "M00152") == 0, "%s on duty", who);
        if (i > 0)
            EXPECT(strcmp(who, json_string_value(json_object_get(json_array_get(items, i - 1), "member"))) != 0,
                   "day %zu does not alternate", i);
        EXPECT(json_is_true(json_object_get(it, "missed")), "a past day without check-in not missed");
    }
    json_decref(r);
    /* Generating again keeps the days: nothing created. */
    r = ta_expect_call("POST", path, leader, NULL, 200);
    EXPECT(json_integer_value(json_object_get(r, "created")) == 0, "days created twice");
    json_decref(r);
    free(path);

    /* This month: give today to the leader, who checks in: not missed. */
    path = tu_sprintf("/v1/grids/%s/rota?month=%s", GRID_A, month);
    ta_expect_status("POST", path, leader, NULL, 201);
    char *day_path = tu_sprintf("/v1/grids/%s/rota/%s", GRID_A, date);
    ta_expect_status("PATCH", day_path, fulltime, "{\"member\":\"M00151\"}", 403);
    /* M00001 (market) serves A, M00160 does not. */
    ta_expect_status("PATCH", day_path, leader, "{\"member\":\"M00001\"}", 200);
    ta_expect_status("PATCH", day_path, leader, "{\"member\":\"M00160\"}", 422);
    ta_expect_status("PATCH", day_path, leader, "{\"member\":\"M00151\"}", 200);
    char *body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f}", GRID_A, OFFICE_A_LAT, OFFICE_A_LON);
    ta_expect_status("POST", "/v1/checkins", leader, body, 201);
    r = ta_expect_call("GET", path, fulltime, NULL, 200);
    items = json_object_get(r, "items");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        if (strcmp(json_string_value(json_object_get(x, "date")), date) != 0)
            continue;
        seen = 1;
        EXPECT(strcmp(json_string_value(json_object_get(x, "member")), "M00151") == 0, "not swapped");
        EXPECT(json_is_true(json_object_get(x, "checked_in")), "check-in not seen");
        EXPECT(json_is_false(json_object_get(x, "missed")), "today missed");
    }
    EXPECT(seen, "today not in the rota");
    json_decref(r);
    free(body);
    free(day_path);
    free(path);
    free(leader);
    free(fulltime);
}
END_TEST

/* Post a patrol of `minutes` inside grid A on `day` from 09:00 city time,
 * one point every 5 minutes. */
static void patrol(const char *token, int32_t day, int minutes)
{
    char date[CG_DATE_SIZE];
    cg_day_format(day, date, sizeof date);
    char *body = tu_sprintf("{\"grid\":\"%s\",\"started_at\":\"%sT09:00:00+08:00\"}", GRID_A, date);
    json_t *p = ta_expect_call("POST", "/v1/patrols", token, body, 201);
    char *id = strdup(json_string_value(json_object_get(p, "id")));
    json_decref(p);
    free(body);
    json_t *pts = json_array();
    for (int t = 0; t <= minutes; t += 5) {
        char at[40];
        snprintf(at, sizeof at, "%sT%02d:%02d:00+08:00", date, 9 + t / 60, t % 60);
        json_array_append_new(pts, json_pack("{s:s, s:f, s:f}", "at", at, "lat",
                                             OFFICE_A_LAT + 0.0002 * (t % 3), "lon", OFFICE_A_LON));
    }
    json_t *wrapper = json_pack("{s:o}", "points", pts);
    char *points = json_dumps(wrapper, 0);
    json_decref(wrapper);
    char *path = tu_sprintf("/v1/patrols/%s/points", id);
    p = ta_expect_call("POST", path, token, points, 200);
    EXPECT(json_real_value(json_object_get(p, "inside_minutes")) == (double)(minutes / 5 * 5),
           "inside_minutes %f", json_real_value(json_object_get(p, "inside_minutes")));
    json_decref(p);
    /* Sending the same points again is out of order. */
    p = ta_expect_call("POST", path, token, points, 422);
    EXPECT(strcmp(ta_error_code(p), "out_of_order") == 0, "not out_of_order");
    json_decref(p);
    free(path);
    path = tu_sprintf("/v1/patrols/%s/end", id);
    ta_expect_status("POST", path, token, NULL, 200);
    ta_expect_status("POST", path, token, NULL, 409);
    free(path);
    free(points);
    free(id);
}

START_TEST(the_weekly_patrol_list_shows_who_met_the_two_day_rule)
{
    char *leader = ta_token_for("M00151"), *instructor = ta_token_for("M00152");
    int32_t today = cg_city_day(cg_now_ms());
    int32_t monday = today - (cg_day_weekday(today) - 1) - 7; /* last week: all in the past */
    patrol(leader, monday, 35);
    patrol(leader, monday + 1, 30);
    patrol(leader, monday + 2, 10); /* too short */
    patrol(instructor, monday, 40);
    patrol(instructor, monday + 2, 25);

    int iso_year, week;
    cg_iso_week_of(monday, &iso_year, &week);
    char *path = tu_sprintf("/v1/patrols/compliance?week=%04d-W%02d&grid=%s", iso_year, week, GRID_A);
    json_t *list = ta_expect_call("GET", path, instructor, NULL, 200);
    json_t *items = json_object_get(list, "items");
    EXPECT(json_array_size(items) >= 8, "not every member of the grid");
    int checked = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *who = json_string_value(json_object_get(it, "member"));
        json_int_t n = json_integer_value(json_object_get(it, "patrol_days"));
        int met = json_is_true(json_object_get(it, "met"));
        if (strcmp(who, "M00151") == 0) {
            EXPECT(n == 2 && met, "the leader: %d days, met %d", (int)n, met);
            checked++;
        } else if (strcmp(who, "M00152") == 0) {
            EXPECT(n == 1 && !met, "the instructor: %d days, met %d", (int)n, met);
            checked++;
        } else {
            EXPECT(n == 0 && !met, "%s patrolled?", who);
        }
    }
    EXPECT(checked == 2, "leader or instructor missing");
    json_decref(list);
    free(path);
    ta_expect_status("GET", "/v1/patrols/compliance?week=2026-W54", D.token, NULL, 400);
    ta_expect_status("GET", "/v1/patrols/compliance?grid=" GRID_B, leader, NULL, 403);
    /* Not the member's grid; someone else's patrol. */
    ta_expect_status("POST", "/v1/patrols", leader, "{\"grid\":\"" GRID_B "\"}", 403);
    json_t *p = ta_expect_call("POST", "/v1/patrols", leader, "{\"grid\":\"" GRID_A "\"}", 201);
    path = tu_sprintf("/v1/patrols/%s/points", json_string_value(json_object_get(p, "id")));
    ta_expect_status("POST", path, instructor, "{\"points\":[]}", 403);
    ta_expect_status("POST", path, leader, "{\"points\":[]}", 400);
    json_decref(p);
    free(path);
    free(leader);
    free(instructor);
}
END_TEST

START_TEST(a_meetings_claimed_task_is_tracked_and_closed_by_its_assignee)
{
    char *leader = ta_token_for("M00151"), *fulltime = ta_token_for("M00153"),
         *sanitation = ta_token_for("M00156");
    const char *meeting =
        "{\"grid\":\"" GRID_A "\",\"date\":\"2026-03-02\",\"chair\":\"M00151\","
        "\"attendees\":[\"M00152\",\"M00153\",\"M00156\"],\"study_topic\":\"城市管理条例\","
        "\"briefings\":[\"垃圾分类\"],\"work_report\":\"本周巡查 12 次\","
        "\"problems\":[\"占道经营\"],\"tasks\":[{\"title\":\"清理小区垃圾点\",\"claimed_by\":\"M00156\"},"
        "{\"title\":\"走访商户\",\"claimed_by\":\"M00153\"}]}";
    ta_expect_status("POST", "/v1/meetings", fulltime, meeting, 403);
    json_t *m = ta_expect_call("POST", "/v1/meetings", leader, meeting, 201);
    json_t *tasks = json_object_get(m, "tasks");
    EXPECT(json_array_size(tasks) == 2, "not 2 tasks");
    EXPECT(json_array_size(json_object_get(m, "attendees")) == 3, "not 3 attendees");
    char *mid = strdup(json_string_value(json_object_get(m, "id")));
    char *t1 = strdup(json_string_value(json_object_get(json_array_get(tasks, 0), "id")));
    char *t2 = strdup(json_string_value(json_object_get(json_array_get(tasks, 1), "id")));
    json_decref(m);

    /* The rules: the chair leads the grid; attendees and claimers serve it. */
    ta_expect_status("POST", "/v1/meetings", leader,
                     "{\"grid\":\"" GRID_A "\",\"date\":\"2026-03-02\",\"chair\":\"M00153\"}", 422);
    ta_expect_status("POST", "/v1/meetings", leader,
                     "{\"grid\":\"" GRID_A "\",\"date\":\"2026-03-02\",\"chair\":\"M00151\","
                     "\"attendees\":[\"M00160\"]}", 422);
    ta_expect_status("POST", "/v1/meetings", leader,
                     "{\"grid\":\"" GRID_A "\",\"date\":\"2026-02-30\",\"chair\":\"M00151\"}", 400);

    /* Tracked: the assignee sees the open task. */
    json_t *page =
        ta_expect_call("GET", "/v1/tasks?assignee=M00156&status=open", sanitation, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 1, "the open task is not listed");
    json_decref(page);
    char *path = tu_sprintf("/v1/meetings/%s", mid);
    ta_expect_status("GET", path, sanitation, NULL, 200);
    free(path);
    page = ta_expect_call("GET", "/v1/meetings?grid=" GRID_A, fulltime, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 1, "meeting not listed");
    json_decref(page);

    /* Closed by its assignee, not by another member; the leader closes any. */
    path = tu_sprintf("/v1/tasks/%s/done", t1);
    ta_expect_status("POST", path, fulltime, NULL, 403);
    json_t *t = ta_expect_call("POST", path, sanitation, NULL, 200);
    EXPECT(strcmp(json_string_value(json_object_get(t, "status")), "done") == 0, "not done");
    json_decref(t);
    ta_expect_status("POST", path, sanitation, NULL, 409);
    free(path);
    path = tu_sprintf("/v1/tasks/%s/done", t2);
    ta_expect_status("POST", path, leader, NULL, 200);
    free(path);
    page = ta_expect_call("GET", "/v1/tasks?assignee=M00156&status=open", D.token, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 0, "a done task is still open");
    json_decref(page);
    page = ta_expect_call("GET", "/v1/tasks?status=done&grid=" GRID_A, D.token, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 2, "not 2 done tasks");
    json_decref(page);
    free(mid);
    free(t1);
    free(t2);
    free(leader);
    free(fulltime);
    free(sanitation);
}
END_TEST

START_TEST(body_cameras_only_for_enforcement_and_police)
{
    char *fulltime = ta_token_for("M00153");
    json_t *e = ta_expect_call("POST", "/v1/devices", D.token,
                               "{\"type\":\"body_camera\",\"serial\":\"CAM-1\","
                               "\"holder\":\"M00156\"}", 422);
    EXPECT(strcmp(ta_error_code(e), "body_camera_not_allowed") == 0, "sanitation got a camera");
    json_decref(e);
    json_t *d = ta_expect_call("POST", "/v1/devices", D.token,
                               "{\"type\":\"body_camera\",\"serial\":\"CAM-1\","
                               "\"holder\":\"M00157\"}", 201);
    EXPECT(json_is_true(json_object_get(d, "held")), "not held");
    char *path = tu_sprintf("/v1/devices/%s", json_string_value(json_object_get(d, "id")));
    json_decref(d);
    ta_expect_status("POST", "/v1/devices", D.token,
                     "{\"type\":\"body_camera\",\"serial\":\"CAM-1\"}", 409);
    ta_expect_status("POST", "/v1/devices", fulltime,
                     "{\"type\":\"terminal\",\"serial\":\"T-2\",\"holder\":\"M00153\"}", 403);
    /* Hand over to an enforcement member, not to sanitation; return it. */
    ta_expect_status("PATCH", path, D.token, "{\"holder\":\"M00156\"}", 422);
    ta_expect_status("PATCH", path, D.token, "{\"holder\":\"M00154\"}", 200);
    json_t *page = ta_expect_call("GET", "/v1/devices?holder=M00154", D.token, NULL, 200);
    EXPECT(json_array_size(json_object_get(page, "items")) == 1, "the holder's device not listed");
    json_decref(page);
    d = ta_expect_call("PATCH", path, D.token, "{\"returned\":true}", 200);
    EXPECT(json_is_false(json_object_get(d, "held")), "still held");
    json_decref(d);
    ta_expect_status("PATCH", path, D.token, "{\"returned\":true}", 409);
    free(path);

    /* A terminal issued by the grid's leader becomes the member's terminal. */
    char *leader = ta_token_for("M00151");
    ta_expect_status("POST", "/v1/devices", leader,
                     "{\"type\":\"terminal\",\"serial\":\"T-NEW-1\",\"holder\":\"M00153\"}", 201);
    json_t *m = ta_expect_call("GET", "/v1/members/M00153", D.token, NULL, 200);
    EXPECT(strcmp(json_string_value(json_object_get(m, "terminal_id")) ?: "", "T-NEW-1") == 0,
           "terminal not registered");
    json_decref(m);
    char *body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%f,\"lon\":%f,\"terminal\":\"T00153\"}",
                            GRID_A, OFFICE_A_LAT, OFFICE_A_LON);
    ta_expect_status("POST", "/v1/checkins", fulltime, body, 403);
    free(body);
    free(leader);
    free(fulltime);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("attendance");
    TCase *tc = ta_tcase(s, "daemon", setup, teardown, 60);
    tcase_add_test(tc, a_member_checks_in_at_the_office_and_is_refused_far_away);
    tcase_add_test(tc, the_rota_alternates_leader_and_instructor_and_shows_missed_duty);
    tcase_add_test(tc, the_weekly_patrol_list_shows_who_met_the_two_day_rule);
    tcase_add_test(tc, a_meetings_claimed_task_is_tracked_and_closed_by_its_assignee);
    tcase_add_test(tc, body_cameras_only_for_enforcement_and_police);
    return s;
}

int main(void)
{
    return ta_run(suite());
}
