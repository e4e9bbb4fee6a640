/*
 * api_attendance.c — check-ins and the duty rota:
 *   POST  /v1/checkins                    {"grid","lat","lon","terminal"?}
 *   GET   /v1/checkins?grid=&member=&since=&until=&limit=&cursor=
 *   POST  /v1/grids/{code}/rota?month=YYYY-MM   generate the month
 *   GET   /v1/grids/{code}/rota?month=YYYY-MM
 *   PATCH /v1/grids/{code}/rota/{date}    {"member"}: swap the person
 * Main thread only; writes through cg_batch (api_write.h).
 *
 * The terminal. A check-in must come from a registered terminal: the
 * caller's member must have a terminal_id (members.terminal_id, set when
 * the terminal is issued), and when the request names its terminal (header
 * X-Terminal-Id, or body field "terminal"; both must agree) it must be that
 * one. Tokens for terminals are issued per member (POST
 * /v1/members/{id}/tokens), so the member's registered terminal is the one
 * that holds the token.
 *
 * Scope: a member checks in only in a grid they serve (403 otherwise, with
 * the distance). Lists: an administrator or a department-level account sees
 * every grid, a member the grids they serve. The rota is generated and
 * edited by the grid's leader or instructor or an administrator.
 */
#include "http/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "http/api_scope.h"
#include "http/api_write.h"
#include "routine/attendance.h"
#include "lib/citydate.h"
#include "case/scope.h"
#include "lib/timeutil.h"

static int is_grid_code(const char *s)
{
    if (!s || strlen(s) != 14)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int load_scope(cg_api_ctx *ctx, cg_scope *sc)
{
    if (cg_scope_load(ctx->app->store, ctx->who, sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return -1;
    }
    return 0;
}

static double radius_m(const cg_app *app)
{
    return app->config->attendance.checkin_radius_m;
}

/* ---------------------------------------------------------------- check-in */

typedef struct checkin_job {
    cg_write_job job;
    cg_checkin c;
    double radius_m;
    long long id;
} checkin_job;

static cg_status checkin_apply(cg_store *st, cg_write_job *job)
{
    checkin_job *j = (checkin_job *)job;
    return cg_checkin_store(st, &j->c, &j->id, &job->refusal);
}

static json_t *checkin_answer(cg_write_job *job, int *status)
{
    checkin_job *j = (checkin_job *)job;
    json_t *c = cg_checkin_get(job->app->store, j->id);
    if (!c)
        c = json_object();
    json_object_set_new(c, "radius_m", json_real(j->radius_m));
    *status = 201;
    return c;
}

/* A refusal that tells how far away the terminal was. */
static void refuse_far(cg_api_ctx *ctx, cg_status status, const char *code, double distance,
                       double radius, const char *fmt, const char *grid)
{
    cg_result r;
    cg_fail(&r, status, code, fmt, grid, distance, radius);
    cg_reply_error_with(ctx->req, &r,
                        json_pack("{s:f, s:f, s:s}", "distance_m", round(distance * 10) / 10,
                                  "radius_m", radius, "grid", grid));
}

void cg_api_checkins_create(cg_api_ctx *ctx)
{
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    const char *grid = json_string_value(json_object_get(body, "grid"));
    json_t *jlat = json_object_get(body, "lat"), *jlon = json_object_get(body, "lon");
    json_t *jterm = json_object_get(body, "terminal");
    const char *hterm = evhttp_find_header(evhttp_request_get_input_headers(ctx->req), "X-Terminal-Id");
    const char *named = NULL;
    char registered[CG_MEMBER_ID_SIZE];
    double lat = json_number_value(jlat), lon = json_number_value(jlon);
    if (!is_grid_code(grid)) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'grid' must be a 14-digit grid code");
        goto out;
    }
    if (!json_is_number(jlat) || !json_is_number(jlon) || !isfinite(lat) || !isfinite(lon) ||
        fabs(lat) > 90 || fabs(lon) > 180) {
        cg_http_reply_error(ctx->req, 400, "invalid_field",
                            "'lat' and 'lon' must be numbers in degrees (-90..90, -180..180)");
        goto out;
    }
    if (jterm && !json_is_null(jterm) &&
        (!json_is_string(jterm) || json_string_length(jterm) == 0 || json_string_length(jterm) > 63)) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'terminal' must be a terminal id");
        goto out;
    }
    named = json_string_value(jterm);
    if (hterm && named && strcmp(hterm, named) != 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field",
                            "the X-Terminal-Id header and the 'terminal' field name different terminals");
        goto out;
    }
    if (!named)
        named = hterm;
    double olat, olon;
    int found = cg_grid_office(ctx->app->store, grid, &olat, &olon);
    if (found < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grid");
        goto out;
    }
    if (!found) {
        cg_http_reply_error(ctx->req, 422, "unknown_grid", "no grid '%s'", grid);
        goto out;
    }
    double radius = radius_m(ctx->app), distance;
    int within = cg_checkin_within(olat, olon, lat, lon, radius, &distance);
    int serves = cg_member_serves(ctx->app->store, ctx->who->member_id, grid);
    if (serves < 0 || cg_member_terminal(ctx->app->store, ctx->who->member_id, registered,
                                         sizeof registered) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        goto out;
    }
    if (!serves) {
        refuse_far(ctx, CG_E_FORBIDDEN, "not_your_grid", distance, radius,
                   "you do not serve grid %s (you are %.0f m from its office; radius %.0f m)", grid);
        goto out;
    }
    if (!registered[0]) {
        cg_http_reply_error(ctx->req, 403, "no_terminal",
                            "member %s has no registered terminal (members.terminal_id): "
                            "check-ins come from a registered terminal", ctx->who->member_id);
        goto out;
    }
    if (named && strcmp(named, registered) != 0) {
        cg_http_reply_error(ctx->req, 403, "terminal_mismatch",
                            "terminal '%.63s' is not the one registered to member %s", named,
                            ctx->who->member_id);
        goto out;
    }
    if (!within) {
        refuse_far(ctx, CG_E_UNPROCESSABLE, "too_far",
                   distance, radius, "too far from the office of grid %s: %.0f m away, the radius is %.0f m",
                   grid);
        goto out;
    }
    checkin_job *j = calloc(1, sizeof *j);
    if (!j) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        goto out;
    }
    j->job.apply = checkin_apply;
    j->job.answer = checkin_answer;
    snprintf(j->c.member, sizeof j->c.member, "%s", ctx->who->member_id);
    snprintf(j->c.grid, sizeof j->c.grid, "%s", grid);
    snprintf(j->c.terminal, sizeof j->c.terminal, "%s", registered);
    j->c.at_ms = cg_now_ms();
    j->c.lat = lat;
    j->c.lon = lon;
    j->c.distance_m = round(distance * 10) / 10;
    j->radius_m = radius;
    cg_write_submit(ctx, &j->job);
out:
    json_decref(body);
}

void cg_api_checkins_list(cg_api_ctx *ctx)
{
    cg_result err;
    cg_checkin_filter f = {0};
    const char *cursor = NULL;
    long limit;
    if (cg_query_string(ctx->query, "grid", 14, &f.grid, &err) < 0 ||
        cg_query_string(ctx->query, "member", 63, &f.member, &err) < 0 ||
        cg_query_string(ctx->query, "cursor", 32, &cursor, &err) < 0 ||
        cg_query_long(ctx->query, "limit", 100, 1, 1000, &limit, &err) < 0 ||
        cg_query_time(ctx->query, "since", INT64_MIN, &f.since_ms, &err) < 0 ||
        cg_query_time(ctx->query, "until", INT64_MAX, &f.until_ms, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    f.limit = (int)limit;
    if (cursor && (f.before_id = cg_row_id_parse("CK", cursor)) <= 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'cursor' is not one this list gave");
        return;
    }
    if (cg_api_list_viewer(ctx, f.grid, "check-ins", &f.viewer) < 0)
        return;
    json_t *page = cg_checkins_list(ctx->app->store, &f);
    if (!page)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read check-ins");
    else
        cg_http_reply_json(ctx->req, 200, page);
}

/* ---------------------------------------------------------------- rota */

/* The grid of the path, which must exist; and may the caller manage it
 * (manage = 1) or see it? 0 ok, else answered. */
static int rota_grid(cg_api_ctx *ctx, int manage)
{
    const char *grid = ctx->params->value[0];
    double lat, lon;
    int found = is_grid_code(grid) ? cg_grid_office(ctx->app->store, grid, &lat, &lon) : 0;
    if (found < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grid");
        return -1;
    }
    if (!found) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no grid '%.20s'", grid);
        return -1;
    }
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0)
        return -1;
    cg_result why;
    int ok = manage ? sc.admin || cg_scope_manages(&sc, grid)
                    : cg_scope_reads_routine(&sc, grid, "rota", &why) == CG_OK;
    cg_scope_free(&sc);
    if (!ok && !manage) {
        cg_http_reply_result(ctx->req, &why);
        return -1;
    }
    if (!ok) {
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            manage ? "only the grid's leader or instructor (or an administrator) "
                                     "keeps its rota"
                                   : "you do not serve grid %s", grid);
        return -1;
    }
    return 0;
}

/* ?month=YYYY-MM (default: this month, city time). 0 ok, else answered. */
static int rota_month(cg_api_ctx *ctx, int32_t *first, int *n)
{
    cg_result err;
    const char *month;
    char now[8];
    if (cg_query_string(ctx->query, "month", 7, &month, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return -1;
    }
    if (!month) {
        char today[CG_DATE_SIZE];
        cg_day_format(cg_city_day(cg_now_ms()), today, sizeof today);
        snprintf(now, sizeof now, "%.7s", today);
        month = now;
    }
    if (cg_month_parse(month, first, n) < 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'month' must be YYYY-MM");
        return -1;
    }
    return 0;
}

typedef struct rota_job {
    cg_write_job job;
    char grid[CG_GRID_CODE_SIZE];
    char by[CG_MEMBER_ID_SIZE];
    char member[CG_MEMBER_ID_SIZE];
    int32_t first_day, day;
    int n_days, created;
    int64_t now_ms;
} rota_job;

static cg_status rota_fill_apply(cg_store *st, cg_write_job *job)
{
    rota_job *j = (rota_job *)job;
    return cg_rota_fill(st, j->grid, j->first_day, j->n_days, j->by, j->now_ms, &j->created,
                        &job->refusal);
}

static cg_status rota_set_apply(cg_store *st, cg_write_job *job)
{
    rota_job *j = (rota_job *)job;
    return cg_rota_set(st, j->grid, j->day, j->member, j->by, j->now_ms, &job->refusal);
}

static json_t *rota_answer(cg_write_job *job, int *status)
{
    rota_job *j = (rota_job *)job;
    json_t *r = cg_rota_list(job->app->store, j->grid, j->first_day, j->n_days,
                             cg_city_day(cg_now_ms()));
    if (!r)
        r = json_pack("{s:s}", "grid", j->grid);
    json_object_set_new(r, "created", json_integer(j->created));
    *status = j->created > 0 ? 201 : 200;
    return r;
}

static rota_job *rota_job_new(cg_api_ctx *ctx)
{
    rota_job *j = calloc(1, sizeof *j);
    if (!j) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return NULL;
    }
    snprintf(j->grid, sizeof j->grid, "%.14s", ctx->params->value[0]);
    snprintf(j->by, sizeof j->by, "%s", ctx->who->member_id);
    j->now_ms = cg_now_ms();
    j->job.answer = rota_answer;
    return j;
}

void cg_api_rota_generate(cg_api_ctx *ctx)
{
    int32_t first;
    int n;
    if (rota_grid(ctx, 1) < 0 || rota_month(ctx, &first, &n) < 0)
        return;
    rota_job *j = rota_job_new(ctx);
    if (!j)
        return;
    j->first_day = first;
    j->n_days = n;
    j->job.apply = rota_fill_apply;
    cg_write_submit(ctx, &j->job);
}

void cg_api_rota_get(cg_api_ctx *ctx)
{
    int32_t first;
    int n;
    if (rota_grid(ctx, 0) < 0 || rota_month(ctx, &first, &n) < 0)
        return;
    json_t *r = cg_rota_list(ctx->app->store, ctx->params->value[0], first, n,
                             cg_city_day(cg_now_ms()));
    if (!r)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the rota");
    else
        cg_http_reply_json(ctx->req, 200, r);
}

void cg_api_rota_patch(cg_api_ctx *ctx)
{
    int32_t day;
    if (rota_grid(ctx, 1) < 0)
        return;
    if (cg_day_parse(ctx->params->value[1], &day) < 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "the date must be YYYY-MM-DD");
        return;
    }
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    json_t *m = json_object_get(body, "member");
    if (!json_is_string(m) || json_string_length(m) == 0 || json_string_length(m) >= CG_MEMBER_ID_SIZE) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'member' must be a member id");
        return;
    }
    rota_job *j = rota_job_new(ctx);
    if (j) {
        snprintf(j->member, sizeof j->member, "%s", json_string_value(m));
        j->day = j->first_day = day;
        j->n_days = 1;
        j->job.apply = rota_set_apply;
        j->created = 0;
        cg_write_submit(ctx, &j->job);
    }
    json_decref(body);
}
