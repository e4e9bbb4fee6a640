/*
 * test_grids.c — integration: citygridd started with the Lishui dataset
 * (tests/integration/daemon.c points dataset_dir at contrib/lishui): the
 * grid endpoints, locate, staffing gaps, members, scope per endpoint
 * (a member of one grid, a department-level account, the admin), and who
 * may issue a member's terminal token (the admin, the member's grid leader).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "integration/testapi.h"

#define GRID_A "33110200100101" /* M00151 leads it (and serves nothing else) */
#define GRID_B "33110200100102"
#define OFFICE_A_LAT "28.455478"
#define OFFICE_A_LON "119.928065"

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    /* No department plugins: cases stay dispatched, which is all scope needs. */
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

static size_t list_size(const char *path)
{
    int status;
    json_t *j = ta_call("GET", path, D.token, NULL, &status);
    EXPECT(status == 200, "GET %s: %d", path, status);
    size_t n = json_array_size(json_object_get(j, "items"));
    json_decref(j);
    return n;
}

START_TEST(the_registry_lists_gets_and_locates)
{
    EXPECT(list_size("/v1/grids?limit=1000") == 273, "not 273 grids");
    EXPECT(list_size("/v1/grids?type=village&limit=1000") == 93, "not 93 village grids");
    EXPECT(list_size("/v1/grids?type=community&limit=1000") == 180, "not 180 community grids");
    EXPECT(list_size("/v1/grids?subdistrict=331102006&limit=1000") == 66, "not 66 in Nanmingshan");
    EXPECT(list_size("/v1/grids?district=devzone&limit=1000") == 66, "not 66 in the zone");
    EXPECT(list_size("/v1/grids?community=331102001001") == 6, "not 6 in community 001001");
    ta_expect_status("GET", "/v1/grids?type=town", D.token, NULL, 400);

    int status;
    json_t *page = ta_call("GET", "/v1/grids?limit=100", D.token, NULL, &status);
    const char *next = json_string_value(json_object_get(page, "next"));
    EXPECT(next, "no next cursor after 100 of 273");
    char path[128];
    snprintf(path, sizeof path, "/v1/grids?limit=1000&cursor=%s", next);
    json_decref(page);
    EXPECT(list_size(path) == 173, "the second page is not the other 173");

    json_t *g = ta_call("GET", "/v1/grids/" GRID_A, D.token, NULL, &status);
    EXPECT(status == 200, "GET grid: %d", status);
    EXPECT(strcmp(json_string_value(json_object_get(g, "type")), "community") == 0, "type");
    EXPECT(json_array_size(json_object_get(g, "staff")) >= 8, "staff");
    EXPECT(json_is_number(json_object_get(json_object_get(g, "office"), "lat")), "office");
    EXPECT(json_object_get(json_object_get(g, "hierarchy"), "subdistrict"), "hierarchy");
    json_decref(g);
    ta_expect_status("GET", "/v1/grids/33110200100199", D.token, NULL, 404);
    ta_expect_status("GET", "/v1/grids/nonsense", D.token, NULL, 400);

    json_t *l = ta_call("GET", "/v1/grids/locate?lat=" OFFICE_A_LAT "&lon=" OFFICE_A_LON, D.token,
                        NULL, &status);
    EXPECT(status == 200 && strcmp(json_string_value(json_object_get(l, "grid")) ?: "", GRID_A) == 0,
           "locate the office of " GRID_A ": %d", status);
    json_decref(l);
    ta_expect_status("GET", "/v1/grids/locate?lat=30.25&lon=120.17", D.token, NULL, 404);
    ta_expect_status("GET", "/v1/grids/locate?lat=north&lon=120.17", D.token, NULL, 400);
    ta_expect_status("GET", "/v1/grids/locate?lat=28.45", D.token, NULL, 400);
    ta_expect_status("GET", "/v1/grids/locate?lat=28.45&lon=181", D.token, NULL, 400);
    ta_expect_status("GET", "/v1/grids/locate?lat=28.45&lon=119.92", NULL, NULL, 401);

    json_t *gaps = ta_call("GET", "/v1/staffing/gaps", D.token, NULL, &status);
    EXPECT(status == 200 && json_array_size(json_object_get(gaps, "items")) == 0,
           "gaps are not empty for the demo roster: %d", status);
    json_decref(gaps);
}
END_TEST

START_TEST(members_are_created_read_and_patched)
{
    ta_expect_status("POST", "/v1/members", D.token,
                     "{\"id\":\"M90001\",\"name\":\"张测试\",\"department\":\"market\",\"login\":"
                     "\"zhangtest\",\"password\":\"long-enough-1\",\"terminal_id\":\"T90001\","
                     "\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"optional\","
                     "\"department\":\"volunteer\"},{\"grid\":\"" GRID_B "\","
                     "\"role\":\"professional\"}]}", 201);
    int status;
    json_t *m = ta_call("GET", "/v1/members/M90001", D.token, NULL, &status);
    EXPECT(status == 200, "GET member: %d", status);
    EXPECT(json_array_size(json_object_get(m, "assignments")) == 2, "two assignments");
    EXPECT(json_is_true(json_object_get(m, "has_password")), "has_password");
    json_decref(m);
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"zhangtest\",\"password\":\"long-enough-1\"}", 200);

    ta_expect_status("PATCH", "/v1/members/M90001", D.token,
                     "{\"name\":\"张改名\",\"password\":\"another-pass-2\",\"assignments\":[]}", 200);
    m = ta_call("GET", "/v1/members/M90001", D.token, NULL, &status);
    EXPECT(strcmp(json_string_value(json_object_get(m, "name")), "张改名") == 0, "renamed");
    EXPECT(json_array_size(json_object_get(m, "assignments")) == 0, "assignments cleared");
    json_decref(m);
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"zhangtest\",\"password\":\"another-pass-2\"}", 200);

    /* An imported member has no password until one is set. */
    ta_expect_status("PATCH", "/v1/members/M00151", D.token, "{\"password\":\"leader-pass-1\"}",
                     200);
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"xujianjun0151\",\"password\":\"leader-pass-1\"}", 200);

    /* Refusals name the field and change nothing. */
    ta_expect_status("POST", "/v1/members", D.token, "{\"department\":\"market\"}", 400);
    ta_expect_status("POST", "/v1/members", D.token,
                     "{\"name\":\"x\",\"assignments\":[{\"grid\":\"33110200100199\",\"role\":\"fulltime\"}]}", 422);
    ta_expect_status("POST", "/v1/members", D.token,
                     "{\"name\":\"x\",\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"boss\"}]}", 400);
    ta_expect_status("POST", "/v1/members", D.token,
                     "{\"name\":\"x\",\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"leader\"}]}", 409);
    ta_expect_status("POST", "/v1/members", D.token, "{\"name\":\"x\",\"login\":\"zhangtest\"}",
                     409);
    ta_expect_status("POST", "/v1/members", D.token, "{\"name\":\"x\",\"department\":\"nasa\"}",
                     422);
    ta_expect_status("PATCH", "/v1/members/M99999", D.token, "{\"name\":\"x\"}", 404);
    ta_expect_status("GET", "/v1/members/M99999", D.token, NULL, 404);
    /* A generated id when none is given. */
    m = ta_call("POST", "/v1/members", D.token, "{\"name\":\"无编号\"}", &status);
    EXPECT(status == 201 && json_string_value(json_object_get(m, "id"))[0] == 'M', "generated id");
    json_decref(m);
}
END_TEST

START_TEST(a_member_sees_only_their_grids)
{
    char *in_a = ta_report(D.token, "{\"category\":\"street_stall\",\"grid\":\"" GRID_A "\"}", 201);
    char *in_b = ta_report(D.token, "{\"category\":\"street_stall\",\"grid\":\"" GRID_B "\"}", 201);
    char *leader = ta_token_for("M00151");
    char path[128];

    snprintf(path, sizeof path, "/v1/cases/%s", in_a);
    ta_expect_status("GET", path, leader, NULL, 200);
    snprintf(path, sizeof path, "/v1/cases/%s", in_b);
    ta_expect_status("GET", path, leader, NULL, 403);
    ta_expect_status("GET", "/v1/grids/" GRID_A, leader, NULL, 200);
    ta_expect_status("GET", "/v1/grids/" GRID_B, leader, NULL, 403);
    ta_expect_status("GET", "/v1/members/M00152", leader, NULL, 200); /* same grid */
    ta_expect_status("GET", "/v1/members/M00159", leader, NULL, 403); /* B's leader */
    ta_expect_status("GET", "/v1/cases?grid=" GRID_B, leader, NULL, 403);
    ta_expect_status("GET", "/v1/staffing/gaps", leader, NULL, 200);
    /* Reporting: only in the grids they serve. */
    char *mine = ta_report(leader, "{\"category\":\"street_stall\",\"lat\":" OFFICE_A_LAT
                                   ",\"lon\":" OFFICE_A_LON "}", 201);
    free(ta_report(leader, "{\"category\":\"street_stall\",\"grid\":\"" GRID_B "\"}", 403));
    /* A leader staffs their own grid, not another. */
    ta_expect_status("POST", "/v1/members", leader,
                     "{\"name\":\"志愿者\",\"department\":\"volunteer\",\"assignments\":[{\"grid\":\""
                     GRID_A "\",\"role\":\"optional\"}]}", 201);
    ta_expect_status("POST", "/v1/members", leader,
                     "{\"name\":\"志愿者\",\"department\":\"volunteer\",\"assignments\":[{\"grid\":\""
                     GRID_B "\",\"role\":\"optional\"}]}", 403);

    int status;
    json_t *list = ta_call("GET", "/v1/cases", leader, NULL, &status);
    EXPECT(status == 200, "GET /v1/cases as a member: %d", status);
    json_t *items = json_object_get(list, "items");
    EXPECT(json_array_size(items) == 2, "the member sees %zu cases, not their 2",
           json_array_size(items));
    for (size_t i = 0; i < json_array_size(items); i++)
        EXPECT(strcmp(json_string_value(json_object_get(json_array_get(items, i), "grid")), GRID_A) == 0,
               "a case of another grid in the member's list");
    json_decref(list);

    /* Someone serving no grid sees nothing. */
    ta_expect_status("POST", "/v1/members", D.token, "{\"id\":\"M90009\",\"name\":\"无网格\"}", 201);
    char *nobody = ta_token_for("M90009");
    ta_expect_status("GET", "/v1/cases", nobody, NULL, 403);
    ta_expect_status("GET", "/v1/grids", nobody, NULL, 403);
    ta_expect_status("GET", "/v1/staffing/gaps", nobody, NULL, 403);
    snprintf(path, sizeof path, "/v1/cases/%s", in_a);
    ta_expect_status("GET", path, nobody, NULL, 403);
    free(nobody);
    free(mine);
    free(leader);
    free(in_a);
    free(in_b);
}
END_TEST

START_TEST(a_department_account_sees_its_department_city_wide)
{
    ta_expect_status("POST", "/v1/members", D.token,
                     "{\"id\":\"D-POLICE\",\"name\":\"交警大队\",\"department\":\"police\","
                     "\"department_account\":true}", 201);
    char *police = ta_token_for("D-POLICE");
    char *parking = ta_report(D.token, "{\"category\":\"illegal_parking\",\"grid\":\"" GRID_B "\"}", 201);
    char *stall = ta_report(D.token, "{\"category\":\"street_stall\",\"grid\":\"" GRID_B "\"}",
                            201);
    char path[128];
    snprintf(path, sizeof path, "/v1/cases/%s", parking);
    ta_expect_status("GET", path, police, NULL, 200);
    snprintf(path, sizeof path, "/v1/cases/%s", stall);
    ta_expect_status("GET", path, police, NULL, 403);
    ta_expect_status("GET", "/v1/cases?department=enforcement", police, NULL, 403);
    int status;
    json_t *list = ta_call("GET", "/v1/cases", police, NULL, &status);
    json_t *items = json_object_get(list, "items");
    EXPECT(status == 200 && json_array_size(items) == 1 &&
               strcmp(json_string_value(json_object_get(json_array_get(items, 0), "department")),
                      "police") == 0,
           "a police account lists %zu cases", json_array_size(items));
    json_decref(list);

    /* Reporting with lat/lon fills the grid; outside every grid: 422. */
    json_t *c = ta_call("POST", "/v1/cases", D.token,
                        "{\"category\":\"street_stall\",\"lat\":" OFFICE_A_LAT ",\"lon\":" OFFICE_A_LON "}",
                        &status);
    EXPECT(status == 201 && strcmp(json_string_value(json_object_get(c, "grid")) ?: "", GRID_A) == 0,
           "the reported case's grid is not " GRID_A);
    json_decref(c);
    c = ta_call("POST", "/v1/cases", D.token, "{\"category\":\"street_stall\",\"lat\":30.25,\"lon\":120.17}",
                &status);
    EXPECT(status == 422 && strcmp(json_string_value(json_object_get(json_object_get(c, "error"), "code")),
                                   "outside_grids") == 0, "outside: %d", status);
    json_decref(c);
    free(ta_report(D.token, "{\"category\":\"street_stall\",\"grid\":\"33110200100199\"}", 422));
    free(police);
    free(parking);
    free(stall);
}
END_TEST

/* The label of the newest token of `member`, straight from the database
 * (the API never shows it); malloc'd, "" when none. */
static char *newest_token_label(const char *member)
{
    char path[512];
    snprintf(path, sizeof path, "%s/citygrid.db", D.dir);
    sqlite3 *db = NULL;
    EXPECT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *s = NULL;
    EXPECT(sqlite3_prepare_v2(db, "SELECT label FROM tokens WHERE member_id = ?1 ORDER BY rowid DESC"
                                  " LIMIT 1", -1, &s, NULL) == SQLITE_OK, "prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    const char *label = sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    char *out = strdup(label ? label : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

START_TEST(a_grid_leader_issues_tokens_for_their_grids_members)
{
    char *leader = ta_token_for("M00151"); /* the admin issues the leader's own */

    /* For a member of the grid they lead: a working token. */
    json_t *t = ta_expect_call("POST", "/v1/members/M00154/tokens", leader, NULL, 201);
    const char *token = ta_str(t, "token");
    EXPECT(token && strlen(token) == 64, "no token in the leader's answer");
    ta_expect_status("GET", "/v1/grids/" GRID_A, token, NULL, 200);
    ta_expect_status("GET", "/v1/grids/" GRID_B, token, NULL, 403);
    json_decref(t);

    /* Naming the terminal records it; only the registered one is taken. */
    t = ta_expect_call("POST", "/v1/members/M00154/tokens", leader, "{\"terminal\":\"T00154\"}", 201);
    ta_expect_status("GET", "/v1/grids/" GRID_A, ta_str(t, "token"), NULL, 200);
    json_decref(t);
    char *label = newest_token_label("M00154");
    EXPECT(strcmp(label, "terminal:T00154") == 0, "the token's label is '%s'", label);
    free(label);
    json_t *e = ta_expect_call("POST", "/v1/members/M00154/tokens", leader,
                               "{\"terminal\":\"T00155\"}", 422);
    EXPECT(strcmp(ta_error_code(e), "terminal_mismatch") == 0, "code %s", ta_error_code(e));
    json_decref(e);
    ta_expect_status("POST", "/v1/members/M00154/tokens", D.token, "{\"terminal\":\"T99999\"}", 422);
    ta_expect_status("POST", "/v1/members/M00154/tokens", leader, "{\"terminal\":7}", 400);
    ta_expect_status("POST", "/v1/members/M00154/tokens", leader,
                     "{\"terminal\":\"T00154\",\"label\":\"phone\"}", 400);
    label = newest_token_label("M00154");
    EXPECT(strcmp(label, "terminal:T00154") == 0, "a refused request left a token '%s'", label);
    free(label);
    ta_expect_status("POST", "/v1/members/M00154/tokens", D.token, "{\"terminal\":\"T00154\"}", 201);

    /* Not for a member of another grid (M00159 leads GRID_B). */
    e = ta_expect_call("POST", "/v1/members/M00159/tokens", leader, NULL, 403);
    EXPECT(strcmp(ta_error_code(e), "forbidden") == 0, "code %s", ta_error_code(e));
    json_decref(e);

    /* Not by a member who does not lead the grid: its professional, nor its
     * instructor. */
    char *professional = ta_token_for("M00154");
    char *instructor = ta_token_for("M00152");
    ta_expect_status("POST", "/v1/members/M00155/tokens", professional, NULL, 403);
    ta_expect_status("POST", "/v1/members/M00154/tokens", professional, NULL, 403);
    ta_expect_status("POST", "/v1/members/M00155/tokens", instructor, NULL, 403);
    ta_expect_status("POST", "/v1/members/M00151/tokens", instructor, NULL, 403);

    /* An unknown member: 404 for the admin, 403 (not a member of your grid)
     * for a leader; no token at all: 401. */
    ta_expect_status("POST", "/v1/members/M99999/tokens", D.token, NULL, 404);
    ta_expect_status("POST", "/v1/members/M99999/tokens", leader, NULL, 403);
    ta_expect_status("POST", "/v1/members/M00154/tokens", NULL, NULL, 401);
    free(instructor);
    free(professional);
    free(leader);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grids_api");
    TCase *tc = ta_tcase(s, "grids_api", setup, teardown, 60);
    tcase_add_test(tc, the_registry_lists_gets_and_locates);
    tcase_add_test(tc, members_are_created_read_and_patched);
    tcase_add_test(tc, a_member_sees_only_their_grids);
    tcase_add_test(tc, a_department_account_sees_its_department_city_wide);
    tcase_add_test(tc, a_grid_leader_issues_tokens_for_their_grids_members);
    return ta_run(s);
}
