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

int cg_api_list_viewer(cg_api_ctx *ctx, const char *grid, const char *what, const char **viewer)
{
    cg_scope sc;
    if (load(ctx, &sc) < 0)
        return -1;
    cg_result r;
    cg_status rc = cg_scope_reads_routine(&sc, grid, what, &r);
    int all = sc.admin;
    cg_scope_free(&sc);
    if (rc != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
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
    cg_result r;
    cg_status rc = cg_scope_reads_routine(&sc, grid ? grid : "", what, &r);
    cg_scope_free(&sc);
    if (rc != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return -1;
    }
    return 0;
}
