/*
 * api_cases.c — POST /v1/cases, GET /v1/cases, GET /v1/cases/{id}, and the
 * pure validation of a report (cg_case_request_parse). Main thread only.
 *
 * A report is answered 201 only after its group commit (cg_flow_submit_case
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

#include "case/duplicates.h"
#include "host/flow.h"
#include "lib/log.h"
#include "case/scope.h"
#include "lib/timeutil.h"

static const char *const case_sources[] = {"patrol", "citizen", "camera", "hotline", "platform",
                                           "inspection"};
static const char *const case_statuses[] = {"reported", "dispatched", "accepted", "handled",
                                            "closed", "cancelled"};
static const char *const case_levels[] = {"grid", "community", "joint", "city"};
/* Keys the report itself defines; every other key is kept in `extra`. */
static const char *const report_keys[] = {"category", "lat", "lon", "grid", "description",
                                          "source", "handled_on_site", "needs_penalty"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define GRID_CODE_DIGITS 14

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* A present, non-null member (JSON null counts as absent). */
static json_t *field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int is_grid_code(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n == GRID_CODE_DIGITS;
}

/* Nesting depth of a value (a scalar is 1), counting no further than limit+1. */
static int json_depth(json_t *v, int limit)
{
    int deepest = 0;
    if (limit < 0)
        return 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    }
    return 1 + deepest;
}

static int parse_location(json_t *body, cg_new_case *out, cg_http_error *err)
{
    json_t *lat = field(body, "lat"), *lon = field(body, "lon"), *grid = field(body, "grid");
    if (lat || lon) {
        if (!lat || !lon) {
            cg_http_error_set(err, 400, "missing_field", "'%s' is required together with '%s'",
                              lat ? "lon" : "lat", lat ? "lat" : "lon");
            return -1;
        }
        if (!json_is_number(lat) || !(json_number_value(lat) >= -90 && json_number_value(lat) <= 90)) {
            cg_http_error_set(err, 400, "invalid_field", "'lat' must be a number from -90 to 90");
            return -1;
        }
        if (!json_is_number(lon) || !(json_number_value(lon) >= -180 && json_number_value(lon) <= 180)) {
            cg_http_error_set(err, 400, "invalid_field", "'lon' must be a number from -180 to 180");
            return -1;
        }
        out->lat = json_number_value(lat);
        out->lon = json_number_value(lon);
        out->has_location = 1;
    }
    if (grid) {
        if (!json_is_string(grid) || !is_grid_code(json_string_value(grid))) {
            cg_http_error_set(err, 400, "invalid_field", "'grid' must be a %d-digit grid code string",
                              GRID_CODE_DIGITS);
            return -1;
        }
        out->grid = json_string_value(grid);
    }
    if (!out->has_location && !grid) {
        cg_http_error_set(err, 400, "missing_field", "a report needs 'lat/lon or grid'");
        return -1;
    }
    return 0;
}

static int parse_optional(json_t *body, cg_new_case *out, cg_http_error *err)
{
    json_t *v;
    if ((v = field(body, "description"))) {
        if (!json_is_string(v) || json_string_length(v) > CG_DESCRIPTION_MAX) {
            cg_http_error_set(err, 400, "invalid_field",
                              "'description' must be a string of at most %d bytes", CG_DESCRIPTION_MAX);
            return -1;
        }
        out->description = json_string_value(v);
    }
    if ((v = field(body, "source"))) {
        if (!json_is_string(v) || !in_list(json_string_value(v), case_sources, COUNT(case_sources))) {
            cg_http_error_set(err, 400, "invalid_field",
                              "'source' must be one of patrol, citizen, camera, hotline, platform, inspection");
            return -1;
        }
        out->source = json_string_value(v);
    }
    if ((v = field(body, "handled_on_site"))) {
        if (!json_is_boolean(v)) {
            cg_http_error_set(err, 400, "invalid_field", "'handled_on_site' must be true or false");
            return -1;
        }
        out->handled_on_site = json_is_true(v);
    }
    if ((v = field(body, "needs_penalty"))) {
        if (!json_is_boolean(v)) {
            cg_http_error_set(err, 400, "invalid_field", "'needs_penalty' must be true or false");
            return -1;
        }
        out->needs_penalty = json_is_true(v);
    }
    return 0;
}

/* Everything the report does not define, within bounds; NULL if none. */
static int collect_extra(json_t *body, json_t **extra, cg_http_error *err)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    *extra = NULL;
    json_object_foreach(body, key, v) {
        if (in_list(key, report_keys, COUNT(report_keys)))
            continue;
        if (++n > CG_EXTRA_MAX_KEYS) {
            cg_http_error_set(err, 400, "invalid_field", "at most %d extra fields are kept; '%.64s' is one too many",
                              CG_EXTRA_MAX_KEYS, key);
            goto fail;
        }
        if (json_depth(v, CG_EXTRA_MAX_DEPTH) > CG_EXTRA_MAX_DEPTH) {
            cg_http_error_set(err, 400, "invalid_field", "'%.64s' is nested more than %d levels deep",
                              key, CG_EXTRA_MAX_DEPTH);
            goto fail;
        }
        if (!*extra && !(*extra = json_object()))
            goto nomem;
        if (json_object_set(*extra, key, v) < 0)
            goto nomem;
    }
    if (*extra && json_dumpb(*extra, NULL, 0, JSON_COMPACT) > CG_EXTRA_MAX_BYTES) {
        cg_http_error_set(err, 400, "invalid_field", "the extra fields take more than %d bytes",
                          CG_EXTRA_MAX_BYTES);
        goto fail;
    }
    return 0;
nomem:
    cg_http_error_set(err, 500, "internal_error", "out of memory");
fail:
    json_decref(*extra);
    *extra = NULL;
    return -1;
}

int cg_case_request_parse(json_t *body, const cg_catalog *cat, cg_new_case *out,
                          cg_http_error *err)
{
    memset(out, 0, sizeof *out);
    out->grid = "";
    out->description = "";
    out->source = "patrol";
    if (!json_is_object(body)) {
        cg_http_error_set(err, 400, "body_not_object", "request body must be a JSON object");
        return err->status;
    }
    json_t *category = field(body, "category");
    if (!category) {
        cg_http_error_set(err, 400, "missing_field", "missing field 'category'");
        return err->status;
    }
    if (!json_is_string(category)) {
        cg_http_error_set(err, 400, "invalid_field", "'category' must be a string");
        return err->status;
    }
    if (parse_location(body, out, err) < 0 || parse_optional(body, out, err) < 0)
        return err->status;

    /* Shape first (400), then meaning (422). */
    const char *code = json_string_value(category);
    const cg_category *c = cat ? cg_catalog_category(cat, code) : NULL;
    const char *department = c ? cg_catalog_route(cat, code) : NULL;
    if (!c || !department) {
        cg_http_error_set(err, 422, "unknown_category", "unknown category '%.64s'", code);
        return err->status;
    }
    out->category = c->code;
    out->department = department;
    out->sla_hours = c->sla_hours;
    if (collect_extra(body, &out->extra, err) < 0)
        return err->status;
    return 0;
}

/* ---- POST /v1/cases ---------------------------------------------------- */

typedef struct pending_report {
    cg_http_deferred deferred;
    cg_app *app;
} pending_report;

static void report_stored(void *arg, int status, const char *case_id, json_t *c,
                          const char *why)
{
    pending_report *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    cg_app *app = p->app;
    free(p);
    if (!req) {
        if (status == 0)
            CG_INFO("http", "case %s stored after the HTTP server stopped", case_id);
        json_decref(c);
        return;
    }
    if (status != 0 || !case_id) {
        cg_http_reply_error(req, 500, "internal_error", "the case was not stored: %.160s",
                            why ? why : "unknown error");
        return;
    }
    /* The case is committed: c was built from the report as it was stored
     * (no read back). Without it, the client must still learn its id. */
    if (!c)
        c = json_pack("{s:s}", "id", case_id);
    else if (app->config) /* after COMMIT, on the read connection: see duplicates.h */
        cg_duplicates_annotate(app->store, c, app->config->duplicate_radius_m,
                               app->config->duplicate_window_hours, cg_now_ms());
    char location[96];
    snprintf(location, sizeof location, "/v1/cases/%s", case_id);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    cg_http_reply_json(req, 201, c);
}

void cg_api_cases_create(cg_api_ctx *ctx)
{
    cg_http_error err;
    json_t *body;
    cg_new_case nc;
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0) {
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    if (cg_case_request_parse(body, ctx->app->catalog, &nc, &err) != 0) {
        json_decref(body);
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    nc.reporter = ctx->who->member_id;
    char grid[CG_GRID_CODE_SIZE]; /* nc.grid points here: located, checked, in scope */
    if (cg_scope_report_grid(ctx->app->store, ctx->who, &nc, grid, &err) != 0) {
        json_decref(nc.extra);
        json_decref(body);
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    pending_report *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(nc.extra);
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    p->app = ctx->app;
    cg_http_defer(ctx->http, &p->deferred, ctx->req);
    /* May call back before returning: p belongs to the callback from here. */
    cg_flow_submit_case_json(ctx->app, &nc, report_stored, p);
    json_decref(nc.extra);
    json_decref(body);
}

/* ---- GET /v1/cases ----------------------------------------------------- */

static int parse_since(const struct evkeyvalq *q, int64_t *since_ms, cg_http_error *err)
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
        cg_http_error_set(err, 400, "invalid_field",
                          "'since' must be an ISO 8601 time such as 2026-01-01T00:00:00+08:00");
        return -1;
    }
    return 0;
}

static int parse_filter(const struct evkeyvalq *q, cg_case_filter *f, cg_http_error *err)
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
        cg_http_error_set(err, 400, "invalid_field",
                          "'status' must be one of reported, dispatched, accepted, handled, closed, cancelled");
        return -1;
    }
    if (f->level && !in_list(f->level, case_levels, COUNT(case_levels))) {
        cg_http_error_set(err, 400, "invalid_field", "'level' must be one of grid, community, joint, city");
        return -1;
    }
    f->limit = (int)limit;
    f->now_ms = cg_now_ms();
    return 0;
}

void cg_api_cases_list(cg_api_ctx *ctx)
{
    cg_case_filter f;
    cg_http_error err;
    if (parse_filter(ctx->query, &f, &err) < 0) {
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    json_t *page;
    if (cg_scope_cases_for(ctx->app->store, ctx->who, &f, &page, &err) != 0) {
        cg_http_reply_err(ctx->req, &err);
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
    cg_http_error err;
    if (cg_scope_case_visible(ctx->app->store, ctx->who, c, &err) != 0) {
        json_decref(c);
        cg_http_reply_err(ctx->req, &err);
        return;
    }
    cg_http_reply_json(ctx->req, 200, c);
}
