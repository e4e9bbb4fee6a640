/*
 * api_scope.c — see api_scope.h.
 */
#include "http/api_scope.h"

#include "case/scope.h"

static int load(cg_api_ctx *ctx, cg_scope *sc)
{
    if (cg_scope_load(ctx->app->store, ctx->who, sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return -1;
    }
    return 0;
}

int cg_api_list_viewer(cg_api_ctx *ctx, const char *grid, const char **viewer)
{
    cg_scope sc;
    if (load(ctx, &sc) < 0)
        return -1;
    int all = sc.admin || sc.department_account;
    int ok = all || !grid || cg_scope_serves(&sc, grid);
    cg_scope_free(&sc);
    if (!ok) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "you do not serve grid %s", grid);
        return -1;
    }
    *viewer = all ? NULL : ctx->who->member_id;
    return 0;
}

int cg_api_sees_grid(cg_api_ctx *ctx, const char *grid, const char *what)
{
    cg_scope sc;
    if (load(ctx, &sc) < 0)
        return -1;
    int ok = sc.admin || sc.department_account || cg_scope_serves(&sc, grid);
    cg_scope_free(&sc);
    if (!ok) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "this %s is not in your grids", what);
        return -1;
    }
    return 0;
}
