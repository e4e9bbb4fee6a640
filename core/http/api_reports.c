/*
 * api_reports.c — the assessment's reports (assessment.h):
 *   GET /v1/reports/monthly?month=YYYY-MM&by=member|grid|department&format=json|csv
 *   GET /v1/reports/annual?year=YYYY&by=member&format=json|csv
 *   GET /v1/reports/commendations?year=YYYY&format=json|csv
 * Main thread only (reads with the read connection).
 *
 * The report is computed for the whole city (assessment.c) and then cut to
 * the caller's scope (scope.h):
 *  - admin: every row;
 *  - a department-level account: by=department its own row, by=member the
 *    members who serve for its department; by=grid is refused (403: a
 *    grid's row mixes every department's cases);
 *  - a member: by=member their own row and, in grids they lead or instruct,
 *    the rows of that grid's members; by=grid the grids they serve;
 *    by=department is refused (403).
 * The annual evaluation is cut like by=member. The commendation list is the
 * published honour roll: every signed-in caller sees all of it.
 * format=csv answers text/csv; charset=utf-8 starting with a UTF-8 BOM.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "routine/assessment.h"
#include "lib/citydate.h"
#include "case/scope.h"
#include "lib/timeutil.h"

static int list_has(json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return 1;
    return 0;
}

/* May the caller see this member row (assessment.h's member fields)? */
static int sees_member_row(const cg_scope *sc, json_t *row)
{
    if (sc->admin)
        return 1;
    json_t *grids = json_object_get(row, "grids");
    if (sc->department_account)
        return list_has(json_object_get(row, "departments"), sc->department);
    const char *id = json_string_value(json_object_get(row, "member"));
    if (id && !strcmp(id, sc->member_id))
        return 1;
    size_t i;
    json_t *g;
    json_array_foreach(grids, i, g)
        if (json_is_string(g) && cg_scope_manages(sc, json_string_value(g)))
            return 1;
    return 0;
}

static int sees_row(const cg_scope *sc, cg_assess_by by, json_t *row)
{
    if (sc->admin)
        return 1;
    switch (by) {
    case CG_ASSESS_BY_GRID:
        return !sc->department_account &&
               cg_scope_serves(sc, json_string_value(json_object_get(row, "grid")));
    case CG_ASSESS_BY_DEPARTMENT: {
        const char *d = json_string_value(json_object_get(row, "department"));
        return sc->department_account && d && !strcmp(d, sc->department);
    }
    default:
        return sees_member_row(sc, row);
    }
}

/* Keep only the rows of `report`'s items the caller may see. */
static void cut_to_scope(json_t *report, const cg_scope *sc, cg_assess_by by)
{
    json_t *items = json_object_get(report, "items");
    json_t *kept = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
        if (sees_row(sc, by, row))
            json_array_append(kept, row);
    json_object_set_new(report, "items", kept);
}

/* Answer the report as JSON, or its items as CSV (file name `name`). */
static void reply_report(cg_api_ctx *ctx, json_t *report, int csv, const char *name)
{
    if (!csv) {
        cg_http_reply_json(ctx->req, 200, report);
        return;
    }
    size_t len = 0;
    char *text = cg_assess_csv(json_object_get(report, "items"), &len);
    json_decref(report);
    struct evbuffer *out = evbuffer_new();
    if (!text || !out || evbuffer_add(out, text, len) < 0) {
        free(text);
        if (out)
            evbuffer_free(out);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    free(text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"", name);
    evhttp_add_header(h, "Content-Type", "text/csv; charset=utf-8");
    evhttp_add_header(h, "Content-Disposition", disposition);
    evhttp_send_reply(ctx->req, 200, "OK", out);
    evbuffer_free(out);
}

/* format=json|csv: 0 json, 1 csv, -1 refused (answered). */
static int read_format(cg_api_ctx *ctx)
{
    cg_result err;
    const char *format;
    if (cg_query_string(ctx->query, "format", 8, &format, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return -1;
    }
    if (!format || !strcmp(format, "json"))
        return 0;
    if (!strcmp(format, "csv"))
        return 1;
    cg_http_reply_error(ctx->req, 400, "invalid_field", "'format' must be json or csv");
    return -1;
}

static int load_scope(cg_api_ctx *ctx, cg_scope *sc)
{
    if (cg_scope_load(ctx->app->store, ctx->who, sc) == 0)
        return 0;
    cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
    return -1;
}

void cg_api_reports_monthly(cg_api_ctx *ctx)
{
    cg_result err;
    const char *month, *by_text;
    if (cg_query_string(ctx->query, "month", 7, &month, &err) < 0 ||
        cg_query_string(ctx->query, "by", 16, &by_text, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    int32_t first_day;
    int n_days;
    if (!month || cg_month_parse(month, &first_day, &n_days) < 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'month' must be YYYY-MM");
        return;
    }
    int by = by_text ? cg_assess_by_parse(by_text) : CG_ASSESS_BY_MEMBER;
    if (by < 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field",
                            "'by' must be member, grid or department");
        return;
    }
    int csv = read_format(ctx);
    if (csv < 0)
        return;
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return;
    if (!sc.admin && ((by == CG_ASSESS_BY_GRID && sc.department_account) ||
                      (by == CG_ASSESS_BY_DEPARTMENT && !sc.department_account))) {
        cg_scope_free(&sc);
        cg_http_reply_error(ctx->req, 403, "forbidden", "the report by %s is not in your scope",
                            cg_assess_by_name((cg_assess_by)by));
        return;
    }
    cg_assess_conf conf;
    cg_assess_conf_init(&conf, ctx->app->config);
    char why[256];
    json_t *report = cg_assess_monthly(ctx->app->store, &conf, first_day, n_days,
                                       (cg_assess_by)by, cg_city_day(cg_now_ms()), why, sizeof why);
    if (!report) {
        cg_scope_free(&sc);
        cg_http_reply_error(ctx->req, 500, "internal_error", "%.200s", why);
        return;
    }
    cut_to_scope(report, &sc, (cg_assess_by)by);
    cg_scope_free(&sc);
    char name[64];
    snprintf(name, sizeof name, "assessment-%s-by-%s", month, cg_assess_by_name((cg_assess_by)by));
    reply_report(ctx, report, csv, name);
}

/* ?year=YYYY (1970..9999). 0 ok, -1 answered. */
static int read_year(cg_api_ctx *ctx, long *year)
{
    cg_result err;
    if (cg_query_long(ctx->query, "year", 0, 1970, 9999, year, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return -1;
    }
    if (*year == 0) {
        cg_http_reply_error(ctx->req, 400, "missing_field", "'year' (YYYY) is required");
        return -1;
    }
    return 0;
}

static json_t *annual_for(cg_api_ctx *ctx, long year, cg_assess_conf *conf)
{
    cg_assess_conf_init(conf, ctx->app->config);
    char why[256];
    json_t *annual = cg_assess_annual(ctx->app->store, conf, (int)year, cg_city_day(cg_now_ms()),
                                      why, sizeof why);
    if (!annual)
        cg_http_reply_error(ctx->req, 500, "internal_error", "%.200s", why);
    return annual;
}

void cg_api_reports_annual(cg_api_ctx *ctx)
{
    cg_result err;
    const char *by;
    long year;
    if (read_year(ctx, &year) < 0)
        return;
    if (cg_query_string(ctx->query, "by", 16, &by, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (by && strcmp(by, "member")) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'by' must be member");
        return;
    }
    int csv = read_format(ctx);
    if (csv < 0)
        return;
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return;
    cg_assess_conf conf;
    json_t *annual = annual_for(ctx, year, &conf);
    if (annual) {
        cut_to_scope(annual, &sc, CG_ASSESS_BY_MEMBER);
        /* CSV: one line per member; the months stay in the JSON. */
        json_t *row;
        size_t i;
        if (csv)
            json_array_foreach(json_object_get(annual, "items"), i, row)
                json_object_del(row, "monthly");
        char name[64];
        snprintf(name, sizeof name, "evaluation-%ld", year);
        reply_report(ctx, annual, csv, name);
    }
    cg_scope_free(&sc);
}

void cg_api_reports_commendations(cg_api_ctx *ctx)
{
    long year;
    if (read_year(ctx, &year) < 0)
        return;
    int csv = read_format(ctx);
    if (csv < 0)
        return;
    cg_assess_conf conf;
    json_t *annual = annual_for(ctx, year, &conf);
    if (!annual)
        return;
    json_t *list = cg_assess_commendations(annual, conf.commend_top);
    json_decref(annual);
    if (!list) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "commendations-%ld", year);
    reply_report(ctx, list, csv, name);
}
