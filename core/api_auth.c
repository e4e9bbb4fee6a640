/*
 * api_auth.c — POST /v1/sessions (log in, get a token) and
 * POST /v1/members/{id}/tokens (an admin issues a terminal's token).
 * Main thread only.
 */
#include "api.h"

#include <string.h>

#include "auth.h"

#define LOGIN_MAX 128
#define PASSWORD_MAX 1024  /* argon2 takes any length; this only bounds the work */
#define LABEL_MAX 64

/* A required, non-empty string field of at most max bytes; NULL with err. */
static const char *string_field(json_t *body, const char *key, size_t max, cg_http_error *err)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) {
        cg_http_error_set(err, 400, "missing_field", "missing field '%s'", key);
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        cg_http_error_set(err, 400, "invalid_field", "'%s' must be a non-empty string of at most %zu bytes",
                          key, max);
        return NULL;
    }
    return json_string_value(v);
}

/* {"login","password"} -> 200 {"token","member":{"id","name","department","is_admin"}} */
void cg_api_sessions_create(cg_api_ctx *ctx)
{
    cg_http_error err;
    json_t *body;
    const char *login, *password;
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0 ||
        !(login = string_field(body, "login", LOGIN_MAX, &err)) ||
        !(password = string_field(body, "password", PASSWORD_MAX, &err))) {
        json_decref(body);
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    cg_principal who;
    char token[CG_TOKEN_HEX_LEN + 1];
    memset(&who, 0, sizeof who);
    int rc = cg_auth_login(ctx->app->store, login, password, &who, token);
    json_decref(body);
    if (rc < 0) {
        cg_http_reply_error(ctx->req, 401, "invalid_credentials", "wrong login or password");
        return;
    }
    cg_http_reply_json(ctx->req, 200,
                       json_pack("{s:s, s:{s:s, s:s, s:s, s:b}}", "token", token, "member", "id",
                                 who.member_id, "name", who.name, "department", who.department,
                                 "is_admin", who.is_admin));
    memset(token, 0, sizeof token);
}

/* Admin only. Body optional: {"label"}. -> 201 {"token"} */
void cg_api_member_token(cg_api_ctx *ctx)
{
    cg_http_error err;
    json_t *body = NULL;
    const char *member = ctx->params->value[0];
    const char *label = "terminal";
    if (!ctx->who->is_admin) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "only an administrator may issue tokens");
        return;
    }
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 0, &body, &err) < 0 ||
        (body && json_object_get(body, "label") && !(label = string_field(body, "label", LABEL_MAX, &err)))) {
        json_decref(body);
        cg_http_reply_err(ctx->req, &err);
        return;
    }
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
