/*
 * api_patrols.c — patrols and the weekly patrol rule:
 *   POST /v1/patrols                 {"grid","started_at"?} -> 201 {"id",...}
 *   POST /v1/patrols/{id}/points     {"points":[{"at","lat","lon"},...]}
 *   POST /v1/patrols/{id}/end
 *   GET  /v1/patrols/{id}
 *   GET  /v1/patrols/compliance?week=YYYY-Www&grid=&member=&limit=&cursor=
 * Main thread only; writes through cg_batch (api_write.h).
 *
 * A terminal that was offline uploads its track later: "started_at" may lie
 * in the past (up to PAST_LIMIT_DAYS), points may not lie in the future
 * (beyond CLOCK_SKEW_MS). Points are marked inside or outside the patrol's
 * grid here, on the main thread (grids.h locate, read connection), before
 * the write; the order against the points already stored is checked in the
 * write itself (patrols.h).
 *
 * Scope: only the member who serves the grid starts a patrol there and only
 * they send its points; a patrol is visible to them, to the members of its
 * grid, department-level accounts and administrators; the compliance list
 * like GET /v1/checkins.
 */
#include "http/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_scope.h"
#include "http/api_write.h"
#include "routine/attendance.h"
#include "lib/citydate.h"
#include "people/grids.h"
#include "routine/patrols.h"
#include "case/scope.h"
#include "lib/timeutil.h"

#define CLOCK_SKEW_MS (5 * 60 * 1000LL)
#define PAST_LIMIT_DAYS 31

static int is_grid_code(const char *s)
{
    if (!s || strlen(s) != 14)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int64_t max_gap_ms(const cg_app *app)
{
    int m = app->config->attendance.patrol_max_gap_minutes;
    return (int64_t)m * 60000;
}

/* An ISO time from a JSON string; 0 ok, -1 not one. */
static int json_time(json_t *v, int64_t *ms)
{
    return json_is_string(v) && cg_time_parse_iso(json_string_value(v), ms) == 0 ? 0 : -1;
}

typedef struct patrol_job {
    cg_write_job job;
    char member[CG_MEMBER_ID_SIZE];
    char grid[CG_GRID_CODE_SIZE];
    long long id;
    int64_t at_ms, max_gap_ms;
    cg_track_pt *pts;
    size_t n;
} patrol_job;

static void patrol_job_free(cg_write_job *job)
{
    patrol_job *j = (patrol_job *)job;
    free(j->pts);
    free(j);
}

static json_t *patrol_answer(cg_write_job *job, int *status)
{
    patrol_job *j = (patrol_job *)job;
    json_t *p = cg_patrol_get(job->app->store, j->id);
    if (!p)
        p = json_object();
    if (j->pts)
        json_object_set_new(p, "accepted", json_integer((json_int_t)j->n));
    *status = 200;
    return p;
}

static patrol_job *job_new(cg_api_ctx *ctx)
{
    patrol_job *j = calloc(1, sizeof *j);
    if (!j) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return NULL;
    }
    snprintf(j->member, sizeof j->member, "%s", ctx->who->member_id);
    j->job.answer = patrol_answer;
    j->job.release = patrol_job_free;
    j->at_ms = cg_now_ms();
    j->max_gap_ms = max_gap_ms(ctx->app);
    return j;
}

/* ---------------------------------------------------------------- start */

static cg_status start_apply(cg_store *st, cg_write_job *job)
{
    patrol_job *j = (patrol_job *)job;
    return cg_patrol_start(st, j->member, j->grid, j->at_ms, &j->id, &job->refusal);
}

static json_t *start_answer(cg_write_job *job, int *status)
{
    json_t *p = patrol_answer(job, status);
    *status = 201;
    return p;
}

void cg_api_patrols_start(cg_api_ctx *ctx)
{
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    const char *grid = json_string_value(json_object_get(body, "grid"));
    json_t *jstart = json_object_get(body, "started_at");
    int64_t now = cg_now_ms(), started = now;
    if (!is_grid_code(grid)) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'grid' must be a 14-digit grid code");
        goto out;
    }
    if (jstart && !json_is_null(jstart) &&
        (json_time(jstart, &started) < 0 || started > now + CLOCK_SKEW_MS ||
         started < now - PAST_LIMIT_DAYS * CG_DAY_MS)) {
        cg_http_reply_error(ctx->req, 422, "invalid_field",
                            "'started_at' must be an ISO 8601 time, not in the future and at most "
                            "%d days ago", PAST_LIMIT_DAYS);
        goto out;
    }
    int exists = cg_grids_exists(ctx->app->store, grid);
    int serves = cg_member_serves(ctx->app->store, ctx->who->member_id, grid);
    if (exists < 0 || serves < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grid");
        goto out;
    }
    if (!exists) {
        cg_http_reply_error(ctx->req, 422, "unknown_grid", "no grid '%s'", grid);
        goto out;
    }
    if (!serves) {
        cg_http_reply_error(ctx->req, 403, "not_your_grid", "you do not serve grid %s", grid);
        goto out;
    }
    patrol_job *j = job_new(ctx);
    if (!j)
        goto out;
    snprintf(j->grid, sizeof j->grid, "%s", grid);
    j->at_ms = started;
    j->job.apply = start_apply;
    j->job.answer = start_answer;
    cg_write_submit(ctx, &j->job);
out:
    json_decref(body);
}

/* ---------------------------------------------------------------- points, end */

/* The path's patrol, which the caller must own. 0 ok, else answered. */
static int own_patrol(cg_api_ctx *ctx, long long *id, char grid[CG_GRID_CODE_SIZE])
{
    char member[CG_MEMBER_ID_SIZE];
    *id = cg_row_id_parse("PT", ctx->params->value[0]);
    int found = *id > 0 ? cg_patrol_owner(ctx->app->store, *id, member, grid) : 0;
    if (found < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the patrol");
        return -1;
    }
    if (!found) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no patrol '%.32s'", ctx->params->value[0]);
        return -1;
    }
    if (strcmp(member, ctx->who->member_id) != 0) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "patrol %.32s is %s's, not yours",
                            ctx->params->value[0], member);
        return -1;
    }
    return 0;
}

static cg_status points_apply(cg_store *st, cg_write_job *job)
{
    patrol_job *j = (patrol_job *)job;
    return cg_patrol_append(st, j->id, j->member, j->pts, j->n, j->max_gap_ms, &job->refusal);
}

/* Parse and mark the points. 0 ok, -1 with err. */
static int parse_points(cg_api_ctx *ctx, json_t *list, const char *grid, patrol_job *j,
                        cg_result *err)
{
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > CG_PATROL_MAX_POINTS) {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'points' must be an array of 1 to %d "
                "{\"at\",\"lat\",\"lon\"}", CG_PATROL_MAX_POINTS);
        return -1;
    }
    j->n = json_array_size(list);
    j->pts = calloc(j->n, sizeof *j->pts);
    if (!j->pts) {
        cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
        return -1;
    }
    int64_t now = cg_now_ms();
    for (size_t i = 0; i < j->n; i++) {
        json_t *p = json_array_get(list, i);
        cg_track_pt *t = &j->pts[i];
        json_t *jlat = json_object_get(p, "lat"), *jlon = json_object_get(p, "lon");
        t->lat = json_number_value(jlat);
        t->lon = json_number_value(jlon);
        if (json_time(json_object_get(p, "at"), &t->at_ms) < 0 || !json_is_number(jlat) ||
            !json_is_number(jlon) || !isfinite(t->lat) || !isfinite(t->lon) ||
            fabs(t->lat) > 90 || fabs(t->lon) > 180) {
            cg_fail(err, CG_E_INVALID, "invalid_field", "'points[%zu]' must be {\"at\": ISO 8601 "
                    "time, \"lat\", \"lon\": degrees}", i);
            return -1;
        }
        if (t->at_ms > now + CLOCK_SKEW_MS) {
            cg_fail(err, CG_E_UNPROCESSABLE, "in_the_future", "'points[%zu]': 'at' is in the future", i);
            return -1;
        }
        if (i > 0 && t->at_ms <= j->pts[i - 1].at_ms) {
            cg_fail(err, CG_E_UNPROCESSABLE, "out_of_order",
                    "'points[%zu]': not after points[%zu] (points go in time order)", i,
                    i - 1);
            return -1;
        }
        char code[CG_GRID_CODE_SIZE];
        int r = cg_grids_locate(ctx->app->store, t->lat, t->lon, code);
        if (r < 0) {
            cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot locate the points");
            return -1;
        }
        t->inside = r == 1 && strcmp(code, grid) == 0;
    }
    return 0;
}

void cg_api_patrols_points(cg_api_ctx *ctx)
{
    long long id;
    char grid[CG_GRID_CODE_SIZE];
    if (own_patrol(ctx, &id, grid) < 0)
        return;
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    patrol_job *j = job_new(ctx);
    if (!j)
        goto out;
    j->id = id;
    cg_result err;
    if (parse_points(ctx, json_object_get(body, "points"), grid, j, &err) < 0) {
        patrol_job_free(&j->job);
        cg_http_reply_result(ctx->req, &err);
        goto out;
    }
    j->job.apply = points_apply;
    cg_write_submit(ctx, &j->job);
out:
    json_decref(body);
}

static cg_status end_apply(cg_store *st, cg_write_job *job)
{
    patrol_job *j = (patrol_job *)job;
    return cg_patrol_end(st, j->id, j->member, j->at_ms, &job->refusal);
}

void cg_api_patrols_end(cg_api_ctx *ctx)
{
    long long id;
    char grid[CG_GRID_CODE_SIZE];
    if (own_patrol(ctx, &id, grid) < 0)
        return;
    patrol_job *j = job_new(ctx);
    if (!j)
        return;
    j->id = id;
    j->job.apply = end_apply;
    cg_write_submit(ctx, &j->job);
}

/* ---------------------------------------------------------------- reads */

void cg_api_patrols_get(cg_api_ctx *ctx)
{
    long long id = cg_row_id_parse("PT", ctx->params->value[0]);
    json_t *p = id > 0 ? cg_patrol_get(ctx->app->store, id) : NULL;
    if (!p) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no patrol '%.32s'", ctx->params->value[0]);
        return;
    }
    if (cg_api_sees_grid(ctx, json_string_value(json_object_get(p, "grid")), "patrol") < 0) {
        json_decref(p);
        return;
    }
    cg_http_reply_json(ctx->req, 200, p);
}

void cg_api_patrols_compliance(cg_api_ctx *ctx)
{
    cg_result err;
    cg_compliance_query q = {0};
    const char *week, *cursor;
    long limit;
    if (cg_query_string(ctx->query, "week", 8, &week, &err) < 0 ||
        cg_query_string(ctx->query, "grid", 14, &q.grid, &err) < 0 ||
        cg_query_string(ctx->query, "member", 63, &q.member, &err) < 0 ||
        cg_query_string(ctx->query, "cursor", 80, &cursor, &err) < 0 ||
        cg_query_long(ctx->query, "limit", 100, 1, 1000, &limit, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    q.limit = (int)limit;
    if (week) {
        if (cg_iso_week_parse(week, &q.monday) < 0) {
            cg_http_reply_error(ctx->req, 400, "invalid_field",
                                "'week' must be an ISO week YYYY-Www that the year has (2026-W05)");
            return;
        }
    } else {
        int32_t today = cg_city_day(cg_now_ms());
        q.monday = today - (cg_day_weekday(today) - 1);
    }
    char after_member[CG_MEMBER_ID_SIZE], after_grid[CG_GRID_CODE_SIZE];
    if (cursor) {
        const char *slash = strchr(cursor, '/');
        if (!slash || slash == cursor || (size_t)(slash - cursor) >= sizeof after_member ||
            strlen(slash + 1) >= sizeof after_grid) {
            cg_http_reply_error(ctx->req, 400, "invalid_field", "'cursor' is not one this list gave");
            return;
        }
        snprintf(after_member, sizeof after_member, "%.*s", (int)(slash - cursor), cursor);
        snprintf(after_grid, sizeof after_grid, "%s", slash + 1);
        q.after_member = after_member;
        q.after_grid = after_grid;
    }
    const cg_config *cfg = ctx->app->config;
    q.min_minutes = cfg->attendance.patrol_min_minutes;
    q.required_days = cfg->attendance.patrol_days_per_week;
    if (cg_api_list_viewer(ctx, q.grid, "patrols", &q.viewer) < 0)
        return;
    json_t *page = cg_patrol_compliance(ctx->app->store, &q);
    if (!page)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read patrol days");
    else
        cg_http_reply_json(ctx->req, 200, page);
}
