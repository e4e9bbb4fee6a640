/*
 * api_plugins.c — POST /v1/plugins/{name}/reload|enable|disable (admin).
 *
 * reload: load the plugin's configured .so again as a new instance beside
 * the running one; the bus sends new work to it once it says READY and the
 * old instance is unloaded when it holds nothing (plugins.h). The answer
 * comes when the new instance has started (thread mode: its init() ran;
 * process mode: its host process was started), not when the hand-over ends:
 * GET /v1/plugins shows "draining" until then.
 * enable/disable switch a plugin at run time only (the config file is not
 * written): disable lets it finish what it holds, then unloads it; its
 * department's cases wait in the outbox meanwhile. Main thread only.
 */
#include "http/api.h"

#include <stdio.h>

#include "host/plugins.h"

typedef enum { OP_RELOAD, OP_ENABLE, OP_DISABLE } plugin_op;

static void control(cg_api_ctx *ctx, plugin_op op)
{
    if (!ctx->who || !ctx->who->is_admin) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "only an admin may control plugins");
        return;
    }
    const char *name = ctx->params->n ? ctx->params->value[0] : "";
    if (!ctx->app->plugins) {
        cg_http_reply_error(ctx->req, 503, "unavailable", "no plugin registry");
        return;
    }
    char instance[64] = "";
    cg_result r;
    cg_status rc;
    switch (op) {
    case OP_RELOAD:
        rc = cg_plugins_reload(ctx->app->plugins, name, instance, &r);
        break;
    case OP_ENABLE:
        rc = cg_plugins_enable(ctx->app->plugins, name, instance, &r);
        break;
    default:
        rc = cg_plugins_disable(ctx->app->plugins, name, &r);
        break;
    }
    if (rc != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    static const char *const done[] = {"reloaded", "enabled", "disabled"};
    cg_http_reply_json(ctx->req, 200,
                       json_pack("{s:s, s:s, s:o}", "name", name, "result", done[op], "instance",
                                 instance[0] ? json_string(instance) : json_null()));
}

void cg_api_plugin_reload(cg_api_ctx *ctx) { control(ctx, OP_RELOAD); }
void cg_api_plugin_enable(cg_api_ctx *ctx) { control(ctx, OP_ENABLE); }
void cg_api_plugin_disable(cg_api_ctx *ctx) { control(ctx, OP_DISABLE); }
