/*
 * api_geojson.c — GET /v1/grids.geojson: every grid of the city, as a
 * GeoJSON FeatureCollection (RFC 7946) with each grid's open and overdue
 * case counts and whether the caller serves it (grid_map.h says why every
 * signed-in caller gets them all). The console's map draws it. Main thread
 * only.
 */
#include "http/api.h"

#include <event2/http.h>

#include "case/grid_map.h"
#include "case/scope.h"
#include "lib/timeutil.h"

void cg_api_grids_geojson(cg_api_ctx *ctx)
{
    cg_scope sc;
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    json_t *fc = cg_grid_map_geojson(ctx->app->store, &sc, cg_now_ms());
    cg_scope_free(&sc);
    if (!fc) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grids");
        return;
    }
    /* Counts change with every case: always ask again. */
    evhttp_add_header(evhttp_request_get_output_headers(ctx->req), "Cache-Control", "no-store");
    cg_http_reply_json(ctx->req, 200, fc);
}
