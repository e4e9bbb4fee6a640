/*
 * open311_keys.c — the admin API of Open311 keys (API.md):
 * POST /v1/open311/keys {"name"} -> 201 {"name","api_key","source"} (the key
 * is shown this once), GET /v1/open311/keys, DELETE /v1/open311/keys/{name}.
 * Admin accounts only (403 otherwise). Main thread.
 */
#include "http/open311.h"

#include <string.h>

#include <event2/http.h>

static int admin_only(cg_api_ctx *ctx)
{
    if (ctx->who && ctx->who->is_admin)
        return 0;
    cg_http_reply_error(ctx->req, 403, "forbidden", "only an admin manages Open311 keys");
    return -1;
}

void cg_api_open311_keys_create(cg_api_ctx *ctx)
{
    if (admin_only(ctx) < 0)
        return;
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    json_t *name = json_object_get(body, "name");
    if (!json_is_string(name)) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 400, name ? "invalid_field" : "missing_field",
                            "'name' (a string) names the platform the key is for");
        return;
    }
    char key[CG_O311_KEY_HEX_LEN + 1], source[CG_O311_SOURCE_MAX];
    cg_result r;
    if (cg_o311_key_create(ctx->app->store, json_string_value(name), key, &r) != CG_OK) {
        json_decref(body);
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    cg_o311_source_of(json_string_value(name), source, sizeof source);
    json_t *out = json_pack("{s:O, s:s, s:s}", "name", name, "api_key", key, "source", source);
    json_decref(body);
    memset(key, 0, sizeof key);
    cg_http_reply_json(ctx->req, 201, out);
}

void cg_api_open311_keys_list(cg_api_ctx *ctx)
{
    if (admin_only(ctx) < 0)
        return;
    json_t *list = cg_o311_keys_list(ctx->app->store);
    if (!list) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "the keys could not be read");
        return;
    }
    cg_http_reply_json(ctx->req, 200, list);
}

void cg_api_open311_keys_revoke(cg_api_ctx *ctx)
{
    if (admin_only(ctx) < 0)
        return;
    cg_result r;
    if (cg_o311_key_revoke(ctx->app->store, ctx->params->value[0], &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    evhttp_send_reply(ctx->req, 204, "No Content", NULL);
}
