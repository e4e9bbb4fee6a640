/*
 * api_grids.c — GET /v1/grids, GET /v1/grids/{code}, GET /v1/grids/locate,
 * GET /v1/staffing/gaps. Reads only (cg_store_read_stmt through grids.c);
 * scope from scope.h. Main thread only.
 */
#include "http/api.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "people/grids.h"
#include "case/scope.h"

static int load_scope(cg_api_ctx *ctx, cg_scope *sc)
{
    if (cg_scope_load(ctx->app->store, ctx->who, sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return -1;
    }
    return 0;
}

static int is_code(const char *s)
{
    if (strlen(s) != 14)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* GET /v1/grids?district=&subdistrict=&community=&type=&limit=&cursor= */
void cg_api_grids_list(cg_api_ctx *ctx)
{
    cg_result err;
    cg_grid_filter f = {0};
    long limit;
    if (cg_query_string(ctx->query, "district", 64, &f.district, &err) < 0 ||
        cg_query_string(ctx->query, "subdistrict", 64, &f.subdistrict, &err) < 0 ||
        cg_query_string(ctx->query, "community", 64, &f.community, &err) < 0 ||
        cg_query_string(ctx->query, "type", 16, &f.type, &err) < 0 ||
        cg_query_string(ctx->query, "cursor", 64, &f.cursor, &err) < 0 ||
        cg_query_long(ctx->query, "limit", 100, 1, 1000, &limit, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (f.type && strcmp(f.type, "community") != 0 && strcmp(f.type, "village") != 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'type' must be community or village");
        return;
    }
    f.limit = (int)limit;
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return;
    if (!sc.admin && !sc.department_account) {
        if (sc.n_grids == 0) {
            cg_scope_free(&sc);
            cg_http_reply_error(ctx->req, 403, "forbidden", "you serve no grid");
            return;
        }
        f.only = sc.grid_ptrs;
        f.n_only = sc.n_grids;
    }
    json_t *page = cg_grids_list(ctx->app->store, &f);
    cg_scope_free(&sc);
    if (!page) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot list grids");
        return;
    }
    cg_http_reply_json(ctx->req, 200, page);
}

/* GET /v1/grids/{code} */
void cg_api_grids_get(cg_api_ctx *ctx)
{
    const char *code = ctx->params->value[0];
    if (!is_code(code)) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'code' must be a 14-digit grid code");
        return;
    }
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return;
    int allowed = sc.admin || sc.department_account || cg_scope_serves(&sc, code);
    cg_scope_free(&sc);
    if (!allowed) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "you do not serve grid %s", code);
        return;
    }
    json_t *g = cg_grids_get(ctx->app->store, code);
    if (!g) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no grid %s", code);
        return;
    }
    cg_http_reply_json(ctx->req, 200, g);
}

/* A finite decimal number from the query; 0 ok, -1 after answering 400. */
static int query_number(cg_api_ctx *ctx, const char *name, double min, double max, double *out)
{
    cg_result err;
    const char *text;
    if (cg_query_string(ctx->query, name, 64, &text, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return -1;
    }
    if (!text) {
        cg_http_reply_error(ctx->req, 400, "missing_field", "missing query parameter '%s'", name);
        return -1;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < min || v > max) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'%s' must be a number from %g to %g",
                            name, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* GET /v1/grids/locate?lat=&lon= -> {"grid","lat","lon"}; 404 outside every
 * grid. Any authenticated caller: it tells only which grid a point is in. */
void cg_api_grids_locate(cg_api_ctx *ctx)
{
    double lat, lon;
    if (query_number(ctx, "lat", -90, 90, &lat) < 0 || query_number(ctx, "lon", -180, 180, &lon) < 0)
        return;
    char code[CG_GRID_CODE_SIZE];
    int rc = cg_grids_locate(ctx->app->store, lat, lon, code);
    if (rc < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grid boxes");
        return;
    }
    if (rc == 0) {
        cg_http_reply_error(ctx->req, 404, "outside_grids", "the point %.6f, %.6f is in no grid",
                            lat, lon);
        return;
    }
    cg_http_reply_json(ctx->req, 200, json_pack("{s:s, s:f, s:f}", "grid", code, "lat", lat,
                                                 "lon", lon));
}

/* GET /v1/staffing/gaps: admin and department accounts see every grid,
 * leaders and instructors the grids they manage. */
void cg_api_staffing_gaps(cg_api_ctx *ctx)
{
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return;
    json_t *gaps = NULL;
    if (sc.admin || sc.department_account) {
        gaps = cg_grids_gaps(ctx->app->store, NULL, 0);
    } else if (cg_scope_manages_any(&sc)) {
        const char **managed = calloc(sc.n_grids, sizeof *managed);
        size_t n = 0;
        for (size_t i = 0; managed && i < sc.n_grids; i++)
            if (sc.manages[i])
                managed[n++] = sc.grids[i];
        gaps = managed ? cg_grids_gaps(ctx->app->store, managed, n) : NULL;
        free(managed);
    } else {
        cg_scope_free(&sc);
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            "only leaders, instructors and administrators see staffing gaps");
        return;
    }
    cg_scope_free(&sc);
    if (!gaps) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the staffing");
        return;
    }
    cg_http_reply_json(ctx->req, 200, gaps);
}
