/*
 * test_sessions.c — integration: tokens end. A login's token expires after
 * http.session_ttl (2 s here) while a terminal token (terminal_token_ttl)
 * lives on (each case has its own daemon); DELETE /v1/sessions ends the caller's own token (204, then 401);
 * DELETE /v1/members/{id}/tokens (an admin or the member) ends all of a
 * member's tokens, and nobody else may; a new password set for a member
 * ends every token they had, and so does deactivating them ("active":
 * false), which also refuses their logins.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS};
    ta_start(&D, &opt, NULL, 0);
}

/* Sessions of 2 s: whether one is still alive when first used depends on
 * the machine's load, so only its end is asserted. */
static void setup_short(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS,
                      .extra_config = "http = { session_ttl = 2; terminal_token_ttl = 3600; };\n"};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

static int status_with(const char *token)
{
    hc_response r = ta_get("/v1/categories", token);
    int s = r.status;
    hc_response_free(&r);
    return s;
}

/* Log in as `login`; the token (malloc'd). */
static char *login_as(const char *login, const char *password)
{
    json_t *b = json_pack("{s:s, s:s}", "login", login, "password", password);
    char *text = json_dumps(b, JSON_COMPACT);
    json_t *j = ta_expect_call("POST", "/v1/sessions", NULL, text, 200);
    char *token = strdup(ta_str(j, "token"));
    json_decref(j);
    free(text);
    json_decref(b);
    return token;
}

START_TEST(logout_and_expiry)
{
    char *pw = ta_admin_password(&D);
    char *a = login_as("admin", pw), *b = login_as("admin", pw);
    EXPECT(status_with(a) == 200 && status_with(b) == 200, "fresh sessions refused");
    ta_expect_status("DELETE", "/v1/sessions", a, NULL, 204);
    EXPECT(status_with(a) == 401, "a revoked session still works");
    EXPECT(status_with(b) == 200, "revoking one session ended another");
    ta_expect_status("DELETE", "/v1/sessions", a, NULL, 401);
    free(a);
    free(b);
    free(pw);
}
END_TEST

/* A session ends session_ttl after its login; the bootstrap token (a
 * terminal-class token, one hour here) lives on. */
START_TEST(session_expiry)
{
    char *pw = ta_admin_password(&D);
    char *b = login_as("admin", pw);
    long long deadline = ta_mono_ms() + 60000;
    while (status_with(b) == 200 && ta_mono_ms() < deadline)
        ta_sleep_ms(200);
    EXPECT(status_with(b) == 401, "a session outlived session_ttl");
    EXPECT(status_with(D.token) == 200, "the admin's bootstrap token expired with the session");
    free(b);
    free(pw);
}
END_TEST

START_TEST(revoke_member_tokens)
{
    /* M00151 leads grid 33110200100101, M00159 the neighbouring one. */
    char *leader = ta_token_for("M00151"), *other = ta_token_for("M00159");
    char *second = ta_token_for("M00151");
    EXPECT(status_with(leader) == 200 && status_with(second) == 200, "issued tokens refused");
    /* Not another member: 403, and nothing revoked. */
    ta_expect_status("DELETE", "/v1/members/M00151/tokens", other, NULL, 403);
    EXPECT(status_with(leader) == 200, "a refused revocation revoked");
    ta_expect_status("DELETE", "/v1/members/M09999999/tokens", D.token, NULL, 404);
    /* The member themself: every token of theirs ends. */
    ta_expect_status("DELETE", "/v1/members/M00151/tokens", leader, NULL, 204);
    EXPECT(status_with(leader) == 401 && status_with(second) == 401, "tokens survived revocation");
    EXPECT(status_with(other) == 200, "another member's token was revoked");
    /* An admin for someone else. */
    ta_expect_status("DELETE", "/v1/members/M00159/tokens", D.token, NULL, 204);
    EXPECT(status_with(other) == 401, "the admin's revocation did not end the token");
    free(leader);
    free(other);
    free(second);
}
END_TEST

START_TEST(password_change_revokes)
{
    char *t1 = ta_token_for("M00153"), *t2 = ta_token_for("M00153");
    ta_expect_status("PATCH", "/v1/members/M00153", D.token,
                     "{\"login\":\"m00153\",\"password\":\"a long new password\"}", 200);
    EXPECT(status_with(t1) == 401 && status_with(t2) == 401,
           "tokens outlived the member's password change");
    char *fresh = login_as("m00153", "a long new password");
    EXPECT(status_with(fresh) == 200, "a login after the change does not work");
    free(t1);
    free(t2);
    free(fresh);
}
END_TEST

/* Deactivating a member ends every token of theirs and refuses their
 * logins (the right password included); the member cannot do it to
 * themself; reactivating lets them log in again, the old tokens stay dead. */
START_TEST(deactivation_revokes)
{
    ta_expect_status("PATCH", "/v1/members/M00153", D.token,
                     "{\"login\":\"m00153\",\"password\":\"a long new password\"}", 200);
    char *terminal = ta_token_for("M00153");
    char *session = login_as("m00153", "a long new password");
    EXPECT(status_with(terminal) == 200 && status_with(session) == 200, "fresh tokens refused");
    ta_expect_status("PATCH", "/v1/members/M00153", session, "{\"active\":false}", 403);
    ta_expect_status("PATCH", "/v1/members/M00153", D.token, "{\"active\":\"no\"}", 400);
    EXPECT(status_with(session) == 200, "a refused deactivation changed something");
    json_t *m = ta_expect_call("PATCH", "/v1/members/M00153", D.token, "{\"active\":false}", 200);
    EXPECT(json_is_false(json_object_get(m, "active")), "the member still shows active");
    json_decref(m);
    EXPECT(status_with(terminal) == 401 && status_with(session) == 401,
           "tokens outlived the member's deactivation");
    ta_expect_status("POST", "/v1/sessions", NULL,
                     "{\"login\":\"m00153\",\"password\":\"a long new password\"}", 401);
    /* A token issued to a deactivated member opens nothing either. */
    char *late = ta_token_for("M00153");
    EXPECT(status_with(late) == 401, "a deactivated member's new token works");
    m = ta_expect_call("PATCH", "/v1/members/M00153", D.token, "{\"active\":true}", 200);
    EXPECT(json_is_true(json_object_get(m, "active")), "the member still shows inactive");
    json_decref(m);
    EXPECT(status_with(terminal) == 401 && status_with(session) == 401,
           "reactivation brought revoked tokens back");
    char *again = login_as("m00153", "a long new password");
    EXPECT(status_with(again) == 200, "a reactivated member cannot log in");
    free(terminal);
    free(session);
    free(late);
    free(again);
}
END_TEST

/* The /metrics counter of a name, or -1. */
static long long metric(const char *name)
{
    hc_response r = ta_get("/metrics", D.token);
    EXPECT(r.status == 200, "/metrics: %d", r.status);
    long long v = -1;
    char *want = tu_sprintf("\n%s ", name);
    const char *at = strstr(r.body, want);
    if (at)
        v = atoll(at + strlen(want));
    free(want);
    hc_response_free(&r);
    return v;
}

/* Wrong passwords: 401 five times, then 429 with Retry-After, the delays
 * growing; while held, even the right password from that address gets 429;
 * each failure is logged without the password. How many attempts fit in a
 * delay depends on the machine's speed, so the test fails on until it is
 * held for at least 4 s (waiting out shorter holds), and only then tries
 * the right password. */
START_TEST(failed_logins_throttled)
{
    const char *wrong = "{\"login\":\"admin\",\"password\":\"Wr0ng-secret-guess\"}";
    for (int i = 0; i < 5; i++)
        ta_expect_status("POST", "/v1/sessions", NULL, wrong, 401);
    int held = 0, throttled = 0;
    long long deadline = ta_mono_ms() + 120000;
    while (held < 4 && ta_mono_ms() < deadline) {
        hc_response r = ta_post("/v1/sessions", NULL, wrong);
        char *after = hc_header(&r, "Retry-After");
        EXPECT(r.status == 401 || (r.status == 429 && after && atoi(after) >= 1 &&
                                   strstr(r.body, "too_many_attempts")),
               "a failed login: %d Retry-After %s %s", r.status, after ? after : "-", r.body);
        if (r.status == 429) {
            throttled++;
            held = atoi(after);
            if (held < 4)
                ta_sleep_ms(held * 1000);
        }
        hc_response_free(&r);
        free(after);
    }
    EXPECT(throttled > 0 && held >= 4, "failed logins were never held for long (%d)", held);
    EXPECT(metric("citygrid_login_throttled_total") >= throttled,
           "citygrid_login_throttled_total is %lld after %d refusals",
           metric("citygrid_login_throttled_total"), throttled);
    EXPECT(metric("citygrid_login_failures_total") >= 5, "citygrid_login_failures_total: %lld",
           metric("citygrid_login_failures_total"));
    char *pw = ta_admin_password(&D);
    char *right = tu_sprintf("{\"login\":\"admin\",\"password\":\"%s\"}", pw);
    ta_expect_status("POST", "/v1/sessions", NULL, right, 429);
    char *log = tu_read_file(D.log_path);
    EXPECT(log && strstr(log, "failed login for 'admin' from 127.0.0.1") &&
               !strstr(log, "Wr0ng-secret-guess") && !strstr(log, pw),
           "the log misses the failures or shows a password");
    free(log);
    free(right);
    free(pw);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sessions");
    ta_add_case(s, "logout", logout_and_expiry, setup, teardown, 120);
    ta_add_case(s, "expiry", session_expiry, setup_short, teardown, 120);
    ta_add_case(s, "revoke_member", revoke_member_tokens, setup, teardown, 60);
    ta_add_case(s, "password", password_change_revokes, setup, teardown, 60);
    ta_add_case(s, "throttle", failed_logins_throttled, setup, teardown, 120);
    ta_add_case(s, "deactivate", deactivation_revokes, setup, teardown, 60);
    return ta_run(s);
}
