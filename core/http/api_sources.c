/*
 * api_sources.c — data sources (API.md "Data sources"):
 *   GET  /v1/sources                the sources, each with "allowed" for the caller
 *   POST /v1/sources/{name}/query   {"reason","case"?,"params"} -> {"items","masked","audit_id"}
 *   GET  /v1/audit/queries          the query audit (admin, auditor): ?before=&limit=
 *                                   &member=&source=&format=json|csv
 * The query is answered after its audit row is committed (sources/query.h);
 * the request is parked meanwhile, the loop never waits. Main thread only.
 */
#include "http/api.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "sources/audit.h"
#include "sources/query.h"

#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 500
#define AUDIT_CSV_MAX 100000

void cg_api_sources_list(cg_api_ctx *ctx)
{
    if (!ctx->app->sources) {
        cg_http_reply_error(ctx->req, 503, "unavailable", "data sources are not running");
        return;
    }
    json_t *list = cg_sourceq_list(ctx->app->sources, ctx->who);
    if (!list) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    cg_http_reply_json(ctx->req, 200, json_pack("{s:o}", "items", list));
}

typedef struct query_wait {
    cg_http_deferred d;
} query_wait;

static void query_answered(void *arg, json_t *answer, const cg_result *r)
{
    query_wait *w = arg;
    struct evhttp_request *req = cg_http_undefer(&w->d);
    free(w);
    if (!req) {
        json_decref(answer);
        return;
    }
    if (r->status == CG_OK)
        cg_http_reply_json(req, 200, answer);
    else
        cg_http_reply_result(req, r);
}

void cg_api_sources_query(cg_api_ctx *ctx)
{
    if (!ctx->app->sources) {
        cg_http_reply_error(ctx->req, 503, "unavailable", "data sources are not running");
        return;
    }
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    cg_result r;
    query_wait *w = calloc(1, sizeof *w);
    if (!w) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    /* Parked before asking: the answer never comes synchronously, but the
     * request must be on the list that cg_http_free clears. */
    cg_http_defer(ctx->http, &w->d, ctx->req);
    cg_status rc = cg_sourceq_ask(ctx->app->sources, ctx->who, ctx->params->value[0], body,
                                  query_answered, w, &r);
    json_decref(body);
    if (rc != CG_OK) {
        struct evhttp_request *req = cg_http_undefer(&w->d);
        free(w);
        cg_http_reply_result(req, &r);
    }
}

void cg_api_audit_queries(cg_api_ctx *ctx)
{
    int may = cg_audit_may_read(ctx->app->store, ctx->who);
    if (may < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller");
        return;
    }
    if (!may) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "只有管理员和审计员可以查看查询审计");
        return;
    }
    cg_result r;
    long before, limit;
    const char *member, *source, *format;
    if (cg_query_long(ctx->query, "before", 0, 0, LONG_MAX, &before, &r) < 0 ||
        cg_query_long(ctx->query, "limit", AUDIT_PAGE_DEFAULT, 1, AUDIT_PAGE_MAX, &limit, &r) <
            0 ||
        cg_query_string(ctx->query, "member", 63, &member, &r) < 0 ||
        cg_query_string(ctx->query, "source", 31, &source, &r) < 0 ||
        cg_query_string(ctx->query, "format", 8, &format, &r) < 0) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'format' must be json or csv");
        return;
    }
    if (!format || strcmp(format, "json") == 0) {
        json_t *page = cg_audit_page(ctx->app->store, before, (int)limit, member, source);
        if (!page)
            cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the audit");
        else
            cg_http_reply_json(ctx->req, 200, page);
        return;
    }
    /* CSV: the whole selection (up to AUDIT_CSV_MAX rows) unless limit says
     * less: an export, not a page. */
    int rows = evhttp_find_header(ctx->query, "limit") ? (int)limit : AUDIT_CSV_MAX;
    char *text = cg_audit_csv(ctx->app->store, before, rows, member, source);
    struct evbuffer *out = text ? evbuffer_new() : NULL;
    if (!out || evbuffer_add(out, text, strlen(text)) < 0) {
        free(text);
        if (out)
            evbuffer_free(out);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the audit");
        return;
    }
    free(text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    evhttp_add_header(h, "Content-Type", "text/csv; charset=utf-8");
    evhttp_add_header(h, "Content-Disposition", "attachment; filename=\"query-audit.csv\"");
    evhttp_send_reply(ctx->req, 200, "OK", out);
    evbuffer_free(out);
}
