/*
 * test_members.c — integration: who may change a member (people/members.h,
 * README "Members: who may do what"), on the Lishui dataset.
 *
 * The attack it reproduces: M00001 (market) serves two grids, GRID_A and
 * GRID_B. GRID_A's leader (M00151) used to be able to issue M00001 a token,
 * set M00001's password and log in as them, or rewrite M00001's assignments
 * and drop the GRID_B row, and so reach GRID_B; GRID_A's instructor (M00152)
 * could set the leader's password. Each is now 403 and changes nothing: the
 * member's record (as the admin reads it) and their tokens are as before.
 * What a manager may still do is checked beside it, so the rules are not a
 * blanket refusal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "integration/testapi.h"

#define GRID_A "33110200100101" /* M00151 leads, M00152 instructs */
#define GRID_B "33110200100102" /* M00159 leads */
#define SHARED "M00001"         /* market professional of GRID_A and GRID_B */
#define LOCAL "M00154"          /* enforcement professional of GRID_A only */

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS}; /* no plugins needed */
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* How many tokens `member` holds, straight from the database. */
static long tokens_of(const char *member)
{
    char path[512];
    snprintf(path, sizeof path, "%s/citygrid.db", D.dir);
    sqlite3 *db = NULL;
    EXPECT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK, "open %s", path);
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt *s = NULL;
    EXPECT(sqlite3_prepare_v2(db, "SELECT count(*) FROM tokens WHERE member_id = ?1", -1, &s,
                              NULL) == SQLITE_OK, "prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    long n = sqlite3_step(s) == SQLITE_ROW ? (long)sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* The member as the admin reads it (new reference). */
static json_t *member(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/members/%s", id);
    return ta_expect_call("GET", path, D.token, NULL, 200);
}

/* A request that must be refused with 403 "forbidden" and change nothing
 * about `target` (its record and its tokens). */
static void refused(const char *method, const char *path, const char *token, const char *body,
                    const char *target)
{
    json_t *before = member(target);
    long tokens = tokens_of(target);
    json_t *e = ta_expect_call(method, path, token, body, 403);
    EXPECT(strcmp(ta_error_code(e), "forbidden") == 0, "%s %s: code %s", method, path,
           ta_error_code(e));
    json_decref(e);
    json_t *after = member(target);
    char *a = ta_dump(before), *b = ta_dump(after);
    EXPECT(json_equal(before, after), "%s %s changed %s: %s -> %s", method, path, target, a, b);
    EXPECT(tokens_of(target) == tokens, "%s %s gave %s a token", method, path, target);
    free(a);
    free(b);
    json_decref(before);
    json_decref(after);
}

static void patch_refused(const char *target, const char *token, const char *body)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/members/%s", target);
    refused("PATCH", path, token, body, target);
}

START_TEST(a_leader_cannot_reach_another_grid_through_a_shared_member)
{
    char *leader = ta_token_for("M00151");

    /* A token for the shared member would reach GRID_B. */
    refused("POST", "/v1/members/" SHARED "/tokens", leader, NULL, SHARED);
    refused("POST", "/v1/members/" SHARED "/tokens", leader, "{\"terminal\":\"T00001\"}", SHARED);
    /* So would their password. */
    patch_refused(SHARED, leader, "{\"password\":\"attacker-pass-1\"}");
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"linxiuyu0001\",\"password\":\"attacker-pass-1\"}", 401);
    /* Their assignments in GRID_B: not dropped, not rewritten. */
    patch_refused(SHARED, leader,
                  "{\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"professional\"}]}");
    patch_refused(SHARED, leader,
                  "{\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"professional\"},"
                  "{\"grid\":\"" GRID_B "\",\"role\":\"optional\",\"department\":\"volunteer\"}]}");
    patch_refused(SHARED, leader, "{\"assignments\":[]}");
    /* Nor their record, which reaches GRID_B too. */
    patch_refused(SHARED, leader, "{\"login\":\"taken-over\"}");
    patch_refused(SHARED, leader, "{\"name\":\"改名\"}");

    /* The admin still may, and the member keeps both grids. */
    json_t *t = ta_expect_call("POST", "/v1/members/" SHARED "/tokens", D.token, NULL, 201);
    ta_expect_status("GET", "/v1/grids/" GRID_B, ta_str(t, "token"), NULL, 200);
    json_decref(t);
    json_t *m = member(SHARED);
    EXPECT(json_array_size(json_object_get(m, "assignments")) == 2, "M00001 lost a grid");
    json_decref(m);
    free(leader);
}
END_TEST

START_TEST(a_leader_acts_on_a_shared_member_only_in_their_own_grid)
{
    char *leader = ta_token_for("M00151");
    /* Adding a row in GRID_A while sending GRID_B's row back unchanged. */
    ta_expect_status("PATCH", "/v1/members/" SHARED, leader,
                     "{\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"professional\"},"
                     "{\"grid\":\"" GRID_A "\",\"role\":\"optional\",\"department\":\"volunteer\"},"
                     "{\"grid\":\"" GRID_B "\",\"role\":\"professional\"}]}", 200);
    json_t *m = member(SHARED);
    EXPECT(json_array_size(json_object_get(m, "assignments")) == 3, "not 3 rows");
    json_decref(m);
    /* Dropping the member from GRID_A, keeping GRID_B. */
    ta_expect_status("PATCH", "/v1/members/" SHARED, leader,
                     "{\"assignments\":[{\"grid\":\"" GRID_B "\",\"role\":\"professional\"}]}", 200);
    m = member(SHARED);
    json_t *rows = json_object_get(m, "assignments");
    EXPECT(json_array_size(rows) == 1 &&
               strcmp(ta_text(json_array_get(rows, 0), "grid"), GRID_B) == 0,
           "GRID_B's row is not the one left");
    json_decref(m);
    /* Now outside GRID_A altogether: nothing more for this leader. */
    patch_refused(SHARED, leader,
                  "{\"assignments\":[{\"grid\":\"" GRID_B "\",\"role\":\"professional\"},"
                  "{\"grid\":\"" GRID_A "\",\"role\":\"professional\"}]}");

    /* A member of GRID_A only: the leader edits the record and issues a token. */
    ta_expect_status("PATCH", "/v1/members/" LOCAL, leader, "{\"name\":\"郑改名\"}", 200);
    ta_expect_status("POST", "/v1/members/" LOCAL "/tokens", leader, NULL, 201);
    /* ... but sets no password but their own. */
    patch_refused(LOCAL, leader, "{\"password\":\"leader-sets-1\"}");
    ta_expect_status("PATCH", "/v1/members/M00151", leader, "{\"password\":\"my-own-pass-1\"}", 200);
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"xujianjun0151\",\"password\":\"my-own-pass-1\"}", 200);
    free(leader); /* a new password ended the leader's tokens */
    leader = ta_token_for("M00151");
    /* ... and appoints no leader or instructor. */
    ta_expect_status("POST", "/v1/members", leader,
                     "{\"name\":\"新指导员\",\"assignments\":[{\"grid\":\"" GRID_A "\","
                     "\"role\":\"instructor\"}]}", 403);
    patch_refused(LOCAL, leader,
                  "{\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"instructor\"}]}");
    free(leader);
}
END_TEST

START_TEST(only_an_admin_changes_a_leader_or_an_instructor)
{
    char *instructor = ta_token_for("M00152");
    char *leader = ta_token_for("M00151");
    /* The instructor of GRID_A and its leader. */
    patch_refused("M00151", instructor, "{\"password\":\"instructor-sets-1\"}");
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"xujianjun0151\",\"password\":\"instructor-sets-1\"}", 401);
    patch_refused("M00151", instructor, "{\"name\":\"改名\"}");
    patch_refused("M00151", instructor, "{\"assignments\":[]}");
    refused("POST", "/v1/members/M00151/tokens", instructor, NULL, "M00151");
    /* The leader and their instructor. */
    patch_refused("M00152", leader, "{\"password\":\"leader-sets-2\"}");
    patch_refused("M00152", leader, "{\"terminal_id\":\"T99152\"}");
    patch_refused("M00152", leader, "{\"assignments\":[{\"grid\":\"" GRID_A "\",\"role\":\"fulltime\"}]}");
    refused("POST", "/v1/members/M00152/tokens", leader, NULL, "M00152");
    /* The member themself: name and password; the admin: anything. */
    ta_expect_status("PATCH", "/v1/members/M00152", instructor,
                     "{\"name\":\"毛改名\",\"password\":\"own-password-2\"}", 200);
    free(instructor); /* a new password ended the instructor's tokens */
    instructor = ta_token_for("M00152");
    patch_refused("M00152", instructor, "{\"assignments\":[]}");
    ta_expect_status("PATCH", "/v1/members/M00152", D.token, "{\"terminal_id\":\"T99152\"}", 200);
    ta_expect_status("POST", "/v1/members/M00152/tokens", D.token, NULL, 201);
    free(leader);
    free(instructor);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("members_api");
    TCase *tc = ta_tcase(s, "members_api", setup, teardown, 90);
    tcase_add_test(tc, a_leader_cannot_reach_another_grid_through_a_shared_member);
    tcase_add_test(tc, a_leader_acts_on_a_shared_member_only_in_their_own_grid);
    tcase_add_test(tc, only_an_admin_changes_a_leader_or_an_instructor);
    return ta_run(s);
}
