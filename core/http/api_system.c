/*
 * api_system.c — GET /v1/health (no auth: for load balancers and probes)
 * and GET /v1/plugins. Main thread only.
 */
#include "http/api.h"

#include "host/plugins.h"

/* cg_plugins_json as an array, never NULL. */
static json_t *plugins_array(cg_app *app)
{
    json_t *list = app->plugins ? cg_plugins_json(app->plugins, app->bus) : NULL;
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    return list;
}

static json_t *string_or_null(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_incref(v) : json_null();
}

/* {"status":"ok","version",...,"plugins":[{"name","version","state"}]} */
void cg_api_health(cg_api_ctx *ctx)
{
    json_t *all = plugins_array(ctx->app), *brief = json_array(), *p;
    size_t i;
    json_array_foreach(all, i, p) {
        json_array_append_new(brief, json_pack("{s:o, s:o, s:o}", "name", string_or_null(p, "name"),
                                               "version", string_or_null(p, "version"),
                                               "state", string_or_null(p, "state")));
    }
    json_decref(all);
    cg_http_reply_json(ctx->req, 200,
                       json_pack("{s:s, s:s, s:o}", "status", "ok", "version",
                                 ctx->app->version ? ctx->app->version : "unknown", "plugins", brief));
}

/* [{"name","version","abi","mode","state","pid"?,"queue",...}] */
void cg_api_plugins(cg_api_ctx *ctx)
{
    cg_http_reply_json(ctx->req, 200, plugins_array(ctx->app));
}
