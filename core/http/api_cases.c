/*
 * api_cases.c — POST /v1/cases, GET /v1/cases, GET /v1/cases/{id} (with
 * the verbs the caller may use on it now). Main thread only.
 *
 * A report is answered 201 only after its group commit (cg_intake_report
 * calls back then), so "201" always means "durably stored".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "case/scope.h"
#include "case/verbs.h"
#include "host/intake.h"
#include "lib/log.h"
#include "lib/timeutil.h"

static const char *const case_statuses[] = {"reported", "dispatched", "accepted", "handled",
                                            "closed", "cancelled"};
static const char *const case_levels[] = {"grid", "community", "joint", "city"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* ---- POST /v1/cases ---------------------------------------------------- */

typedef struct pending_report {
    cg_http_deferred deferred;
} pending_report;

static void report_stored(void *arg, const cg_result *r, const char *case_id, json_t *c)
{
    pending_report *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    free(p);
    if (!req) {
        if (r->status == CG_OK)
            CG_INFO("http", "case %s stored after the HTTP server stopped", case_id);
        json_decref(c);
        return;
    }
    if (r->status != CG_OK) {
        cg_http_reply_result(req, r);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/cases/%s", case_id);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    cg_http_reply_json(req, 201, c);
}

void cg_api_cases_create(cg_api_ctx *ctx)
{
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    pending_report *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    /* Parked first: intake may call back before it returns. */
    cg_http_defer(ctx->http, &p->deferred, ctx->req);
    cg_result r;
    if (cg_intake_report(ctx->app, ctx->who, body, report_stored, p, &r) != CG_OK) {
        cg_http_reply_result(cg_http_undefer(&p->deferred), &r);
        free(p);
    }
    json_decref(body);
}

/* ---- GET /v1/cases ----------------------------------------------------- */

static int parse_since(const struct evkeyvalq *q, int64_t *since_ms, cg_result *err)
{
    const char *text;
    char buf[64];
    *since_ms = 0;
    if (cg_query_string(q, "since", sizeof buf - 1, &text, err) < 0)
        return -1;
    if (!text)
        return 0;
    /* An unencoded "+08:00" in a query string arrives as " 08:00" (form
     * decoding turns '+' into a space); an ISO time has no spaces, so put
     * the '+' back rather than make every client remember %2B. */
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; *p; p++)
        if (*p == ' ')
            *p = '+';
    if (cg_time_parse_iso(buf, since_ms) < 0) {
        cg_fail(err, CG_E_INVALID, "invalid_field",
                "'since' must be an ISO 8601 time such as 2026-01-01T00:00:00+08:00");
        return -1;
    }
    return 0;
}

static int parse_filter(const struct evkeyvalq *q, cg_case_filter *f, cg_result *err)
{
    long limit;
    memset(f, 0, sizeof *f);
    if (cg_query_string(q, "grid", 64, &f->grid, err) < 0 ||
        cg_query_string(q, "status", 32, &f->status, err) < 0 ||
        cg_query_string(q, "department", 32, &f->department, err) < 0 ||
        cg_query_string(q, "assignee", 64, &f->assignee, err) < 0 ||
        cg_query_string(q, "level", 32, &f->level, err) < 0 ||
        cg_query_string(q, "cursor", 256, &f->cursor, err) < 0 ||
        cg_query_long(q, "limit", 100, 1, 1000, &limit, err) < 0 ||
        cg_query_bool(q, "overdue", 0, &f->overdue, err) < 0 || parse_since(q, &f->since_ms, err) < 0)
        return -1;
    if (f->status && !in_list(f->status, case_statuses, COUNT(case_statuses))) {
        cg_fail(err, CG_E_INVALID, "invalid_field",
                "'status' must be one of reported, dispatched, accepted, handled, closed, cancelled");
        return -1;
    }
    if (f->level && !in_list(f->level, case_levels, COUNT(case_levels))) {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'level' must be one of grid, community, joint, city");
        return -1;
    }
    f->limit = (int)limit;
    f->now_ms = cg_now_ms();
    return 0;
}

void cg_api_cases_list(cg_api_ctx *ctx)
{
    cg_case_filter f;
    cg_result err;
    if (parse_filter(ctx->query, &f, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    json_t *page;
    cg_result r;
    if (cg_scope_cases_for(ctx->app->store, ctx->who, &f, &page, &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    cg_http_reply_json(ctx->req, 200, page);
}

/* ---- GET /v1/cases/{id} ------------------------------------------------ */

void cg_api_cases_get(cg_api_ctx *ctx)
{
    const char *id = ctx->params->value[0];
    json_t *c = strlen(id) < 32 ? cg_cases_get(ctx->app->store, id) : NULL;
    if (!c) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no case '%.64s'", id);
        return;
    }
    cg_result r;
    if (cg_scope_case_visible(ctx->app->store, ctx->who, c, &r) != CG_OK) {
        json_decref(c);
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    /* What the caller may do with it now: the console shows these verbs
     * and no others (case/verbs.h decides, as it does on the POST). */
    json_t *verbs;
    if (cg_verbs_usable(ctx->app->store, ctx->who, id, &verbs, &r) != CG_OK) {
        json_decref(c);
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    json_object_set_new(c, "verbs", verbs);
    cg_http_reply_json(ctx->req, 200, c);
}
