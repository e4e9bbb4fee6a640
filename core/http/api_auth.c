/*
 * api_auth.c — POST /v1/sessions (log in, get a token) and
 * POST /v1/members/{id}/tokens (an admin, or the leader of every grid the
 * member serves, issues a terminal's token: people/members.h).
 * Main thread only, except login_verify, which runs on the worker pool
 * (host/workers.h) and touches only its own login_job.
 */
#include "http/api.h"
#include "lib/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "http/client_addr.h"
#include "http/http.h"
#include "http/login_throttle.h"
#include "host/workers.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include "routine/attendance.h"
#include "people/auth.h"
#include "people/members.h"

#define LOGIN_MAX 128
#define PASSWORD_MAX 1024  /* argon2 takes any length; this only bounds the work */
#define LABEL_MAX 64
#define TERMINAL_MAX 63 /* members.terminal_id, as the roster import allows */
#define TERMINAL_LABEL_SIZE (sizeof "terminal:" + TERMINAL_MAX)

/* A required, non-empty string field of at most max bytes; NULL with err. */
static const char *string_field(json_t *body, const char *key, size_t max, cg_result *err)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) {
        cg_fail(err, CG_E_INVALID, "missing_field", "missing field '%s'", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'%s' must be a non-empty string of at most %zu bytes",
                key, max);
        return NULL;
    }
    return json_string_value(v);
}

/* A login for the log: printable ASCII kept, anything else as '?', so that
 * a login cannot forge log lines. */
static void printable(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7F ? s[i] : '?';
    out[i] = 0;
}

/* One login between the handler and its answer: parked while argon2id runs
 * on the worker pool (host/workers.h). */
typedef struct login_job {
    cg_http_deferred deferred;
    cg_app *app;
    cg_auth_attempt attempt;
    char login[LOGIN_MAX + 1];
    char shown[LOGIN_MAX + 1];
    char address[CG_CLIENT_ADDR_MAX];
} login_job;

static void login_job_free(login_job *job)
{
    cg_auth_attempt_clear(&job->attempt);
    free(job);
}

/* Pool thread: argon2id only; touches nothing but the attempt. */
static void login_verify(void *arg)
{
    login_job *job = arg;
    cg_auth_login_verify(&job->attempt);
}

/* Main thread: the verdict, the token, the answer. */
static void login_verified(void *arg, int ran)
{
    login_job *job = arg;
    struct evhttp_request *req = cg_http_undefer(&job->deferred);
    if (!req || !ran) {
        /* The server is gone (or going): nobody to answer. */
        cg_login_throttle_abandoned(job->login, job->address);
        if (req)
            cg_http_reply_error(req, 503, "shutting_down", "the server is stopping");
        login_job_free(job);
        return;
    }
    cg_principal who;
    char token[CG_TOKEN_HEX_LEN + 1];
    memset(&who, 0, sizeof who);
    if (cg_auth_login_finish(job->app->store, &job->attempt, &who, token) < 0) {
        cg_login_throttle_failed(job->login, job->address, cg_monotonic_ms());
        cg_metrics_count(CG_M_LOGIN_FAILURES);
        /* Never the password: not even its length. */
        CG_WARN("auth", "failed login for '%s' from %s", job->shown, job->address);
        cg_http_reply_error(req, 401, "invalid_credentials", "wrong login or password");
        login_job_free(job);
        return;
    }
    cg_login_throttle_succeeded(job->login, job->address);
    cg_http_reply_json(req, 200,
                       json_pack("{s:s, s:{s:s, s:s, s:s, s:b}}", "token", token, "member", "id",
                                 who.member_id, "name", who.name, "department", who.department,
                                 "is_admin", who.is_admin));
    memset(token, 0, sizeof token);
    login_job_free(job);
}

/* {"login","password"} -> 200 {"token","member":{"id","name","department","is_admin"}}
 * The throttle answers 429 before any argon2 work; the password check runs
 * on the worker pool and the request waits, parked, for its verdict. */
void cg_api_sessions_create(cg_api_ctx *ctx)
{
    cg_result err;
    json_t *body;
    const char *login, *password;
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0 ||
        !(login = string_field(body, "login", LOGIN_MAX, &err)) ||
        !(password = string_field(body, "password", PASSWORD_MAX, &err))) {
        json_decref(body);
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    login_job *job = calloc(1, sizeof *job);
    if (!job) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    job->app = ctx->app;
    snprintf(job->login, sizeof job->login, "%s", login);
    /* The socket's, or what a trusted reverse proxy says (client_addr.h). */
    cg_http_client_address(ctx->app->config ? &ctx->app->config->http : NULL, ctx->req,
                           job->address, sizeof job->address);
    printable(login, job->shown, sizeof job->shown);
    int wait = cg_login_throttle_begin(login, job->address, cg_monotonic_ms());
    if (wait > 0) {
        json_decref(body);
        cg_metrics_count(CG_M_LOGIN_THROTTLED);
        char after[16];
        snprintf(after, sizeof after, "%d", wait);
        evhttp_add_header(evhttp_request_get_output_headers(ctx->req), "Retry-After", after);
        CG_WARN("auth", "login for '%s' from %s refused: too many failures (retry after %d s)",
                job->shown, job->address, wait);
        cg_http_reply_error(ctx->req, 429, "too_many_attempts",
                            "too many failed logins; try again in %d seconds", wait);
        login_job_free(job);
        return;
    }
    int began = cg_auth_login_begin(ctx->app->store, login, password, &job->attempt);
    /* The body holds the password: gone before anything waits. */
    json_decref(body);
    if (began < 0) {
        cg_login_throttle_abandoned(job->login, job->address);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot check the login");
        login_job_free(job);
        return;
    }
    cg_http_defer(ctx->http, &job->deferred, ctx->req);
    if (cg_workers_submit(cg_http_workers(ctx->http), login_verify, login_verified, job) < 0) {
        /* The pool's queue is full: a flood of logins from many addresses.
         * Refused cheaply, no argon2, not counted as a failure. */
        struct evhttp_request *req = cg_http_undefer(&job->deferred);
        cg_login_throttle_abandoned(job->login, job->address);
        login_job_free(job);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        cg_http_reply_error(req, 503, "busy", "too many logins at once; try again in a second");
    }
}

/* May the caller issue `member` a token? 0 yes; else the HTTP status with
 * err. The rule is the members domain's (people/members.h). */
static int may_issue(cg_api_ctx *ctx, const char *member, cg_result *err)
{
    cg_result r;
    if (cg_members_may_issue_token(ctx->app->store, ctx->who, member, &r) == CG_OK)
        return 0;
    *err = r;
    return err->status;
}

/* The optional "terminal" must be the member's registered terminal_id: it is
 * then recorded as the token's label "terminal:ID" (label holds
 * TERMINAL_LABEL_SIZE). A member that does not exist: 404. 0
 * ok (label untouched when no terminal is named); else the status with err. */
static int terminal_label(cg_api_ctx *ctx, json_t *body, const char *member, char *label,
                          cg_result *err)
{
    const char *named = NULL;
    if (body && json_object_get(body, "terminal") &&
        !(named = string_field(body, "terminal", TERMINAL_MAX, err)))
        return err->status;
    if (named && json_object_get(body, "label"))
        return cg_fail(err, CG_E_INVALID, "invalid_field",
                       "give 'label' or 'terminal', not both: the terminal is the token's label");
    char registered[TERMINAL_MAX + 1];
    int found = cg_member_terminal(ctx->app->store, member, registered, sizeof registered);
    if (found < 0)
        return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the member");
    if (found == 0)
        return cg_fail(err, CG_E_NOT_FOUND, "not_found", "no member '%.64s'", member);
    if (!named)
        return 0;
    if (!registered[0] || strcmp(named, registered) != 0)
        return cg_fail(err, CG_E_UNPROCESSABLE, "terminal_mismatch",
                       registered[0] ? "terminal '%.63s' is not %.64s's registered terminal"
                                     : "terminal '%.63s': %.64s has no registered terminal",
                       named, member);
    snprintf(label, TERMINAL_LABEL_SIZE, "terminal:%s", named);
    return 0;
}

/* An admin, or the member's grid leader. Body optional: {"label"} or
 * {"terminal"} (the member's registered terminal_id). -> 201 {"token"} */
void cg_api_member_token(cg_api_ctx *ctx)
{
    cg_result err;
    json_t *body = NULL;
    const char *member = ctx->params->value[0];
    const char *label = "terminal";
    char terminal[TERMINAL_LABEL_SIZE] = "";
    if (may_issue(ctx, member, &err) != 0 ||
        cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 0, &body, &err) < 0 ||
        (body && json_object_get(body, "label") && !(label = string_field(body, "label", LABEL_MAX, &err))) ||
        terminal_label(ctx, body, member, terminal, &err) != 0) {
        json_decref(body);
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (terminal[0])
        label = terminal;
    char token[CG_TOKEN_HEX_LEN + 1];
    int rc = cg_auth_issue_token(ctx->app->store, member, label, token);
    json_decref(body);
    if (rc < 0) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no member '%.64s'", member);
        return;
    }
    cg_http_reply_json(ctx->req, 201, json_pack("{s:s}", "token", token));
    memset(token, 0, sizeof token);
}

/* DELETE /v1/sessions: the caller's own token ends now -> 204. */
void cg_api_sessions_delete(cg_api_ctx *ctx)
{
    char token[CG_TOKEN_HEX_LEN + 64];
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(ctx->req), "Authorization");
    if (!h || cg_http_bearer_token(h, token, sizeof token) < 0 ||
        cg_auth_revoke_token(ctx->app->store, token) < 0) {
        memset(token, 0, sizeof token);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot revoke the token");
        return;
    }
    memset(token, 0, sizeof token);
    CG_INFO("auth", "%s ended a session", ctx->who->member_id);
    evhttp_send_reply(ctx->req, 204, "No Content", NULL);
}

/* DELETE /v1/members/{id}/tokens: an admin or the member themself revokes
 * every token of the member (a lost terminal, a leak) -> 204. */
void cg_api_member_tokens_delete(cg_api_ctx *ctx)
{
    const char *member = ctx->params->value[0];
    if (!ctx->who->is_admin && strcmp(ctx->who->member_id, member) != 0) {
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            "only an administrator or %.64s themself may revoke their tokens", member);
        return;
    }
    char terminal[128];
    if (cg_member_terminal(ctx->app->store, member, terminal, sizeof terminal) == 0) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no member '%.64s'", member);
        return;
    }
    int n = cg_auth_revoke_member(ctx->app->store, member);
    if (n < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot revoke the tokens");
        return;
    }
    CG_NOTICE("auth", "%s revoked %d tokens of %s", ctx->who->member_id, n, member);
    evhttp_send_reply(ctx->req, 204, "No Content", NULL);
}
