/*
 * api_meetings.c — grid meetings and their tasks:
 *   POST /v1/meetings            {"grid","date","chair","attendees","study_topic",
 *                                 "briefings","work_report","problems",
 *                                 "tasks":[{"title","claimed_by"}]} -> 201 meeting
 *   GET  /v1/meetings?grid=&limit=&cursor=
 *   GET  /v1/meetings/{id}
 *   GET  /v1/tasks?assignee=&status=&grid=&limit=&cursor=
 *   POST /v1/tasks/{id}/done     the assignee, the grid's leader or an administrator
 * Main thread only; writes through cg_batch (api_write.h).
 *
 * Scope: a meeting is recorded by the grid's leader or instructor or an
 * administrator; meetings and tasks are visible to the members of their
 * grid (and a task to its assignee), department-level accounts and
 * administrators.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_scope.h"
#include "http/api_write.h"
#include "routine/meetings.h"
#include "case/scope.h"
#include "lib/timeutil.h"

static int load_scope(cg_api_ctx *ctx, cg_scope *sc)
{
    if (cg_scope_load(ctx->app->store, ctx->who, sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- writes */

typedef struct meeting_job {
    cg_write_job job;
    cg_meeting_new m;
    long long id;
    char by[CG_MEMBER_ID_SIZE];
    int is_admin;
} meeting_job;

static void meeting_job_free(cg_write_job *job)
{
    meeting_job *j = (meeting_job *)job;
    cg_meeting_new_free(&j->m);
    free(j);
}

static cg_status meeting_apply(cg_store *st, cg_write_job *job)
{
    meeting_job *j = (meeting_job *)job;
    return cg_meeting_store(st, &j->m, &j->id, &job->refusal);
}

static json_t *meeting_answer(cg_write_job *job, int *status)
{
    meeting_job *j = (meeting_job *)job;
    json_t *m = cg_meeting_get(job->app->store, j->id);
    *status = 201;
    return m ? m : json_object();
}

void cg_api_meetings_create(cg_api_ctx *ctx)
{
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    meeting_job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    cg_result r;
    cg_status rc = cg_meeting_parse(body, &j->m, &r);
    json_decref(body);
    if (rc != CG_OK) {
        free(j);
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    cg_scope sc;
    if (load_scope(ctx, &sc) < 0) {
        meeting_job_free(&j->job);
        return;
    }
    int may = sc.admin || cg_scope_manages(&sc, j->m.grid);
    int exists = cg_grids_exists(ctx->app->store, j->m.grid);
    cg_scope_free(&sc);
    if (exists <= 0 || !may) {
        if (exists < 0)
            cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the grid");
        else if (!exists)
            cg_http_reply_error(ctx->req, 422, "unknown_grid", "no grid '%s'", j->m.grid);
        else
            cg_http_reply_error(ctx->req, 403, "forbidden",
                                "only the leader or instructor of grid %s records its meetings",
                                j->m.grid);
        meeting_job_free(&j->job);
        return;
    }
    snprintf(j->m.created_by, sizeof j->m.created_by, "%s", ctx->who->member_id);
    j->m.now_ms = cg_now_ms();
    j->job.apply = meeting_apply;
    j->job.answer = meeting_answer;
    j->job.release = meeting_job_free;
    cg_write_submit(ctx, &j->job);
}

static cg_status task_done_apply(cg_store *st, cg_write_job *job)
{
    meeting_job *j = (meeting_job *)job;
    return cg_task_done(st, j->id, j->by, j->is_admin, j->m.now_ms, &job->refusal);
}

static json_t *task_answer(cg_write_job *job, int *status)
{
    meeting_job *j = (meeting_job *)job;
    json_t *t = cg_task_get(job->app->store, j->id);
    *status = 200;
    return t ? t : json_object();
}

void cg_api_tasks_done(cg_api_ctx *ctx)
{
    long long id = cg_row_id_parse("TK", ctx->params->value[0]);
    if (id <= 0) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no task '%.32s'", ctx->params->value[0]);
        return;
    }
    meeting_job *j = calloc(1, sizeof *j);
    if (!j) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    j->id = id;
    snprintf(j->by, sizeof j->by, "%s", ctx->who->member_id);
    j->is_admin = ctx->who->is_admin;
    j->m.now_ms = cg_now_ms();
    j->job.apply = task_done_apply;
    j->job.answer = task_answer;
    j->job.release = meeting_job_free;
    cg_write_submit(ctx, &j->job);
}

/* ---------------------------------------------------------------- reads */

static int cursor_of(cg_api_ctx *ctx, const char *prefix, long long *before, long *limit)
{
    cg_result err;
    const char *cursor;
    if (cg_query_string(ctx->query, "cursor", 32, &cursor, &err) < 0 ||
        cg_query_long(ctx->query, "limit", 100, 1, 1000, limit, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return -1;
    }
    *before = 0;
    if (cursor && (*before = cg_row_id_parse(prefix, cursor)) <= 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'cursor' is not one this list gave");
        return -1;
    }
    return 0;
}

void cg_api_meetings_list(cg_api_ctx *ctx)
{
    cg_result err;
    const char *grid;
    long long before;
    long limit;
    if (cg_query_string(ctx->query, "grid", 14, &grid, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (cursor_of(ctx, "MT", &before, &limit) < 0)
        return;
    const char *viewer;
    if (cg_api_list_viewer(ctx, grid, "meetings", &viewer) < 0)
        return;
    json_t *page = cg_meetings_list(ctx->app->store, grid, viewer, before, (int)limit);
    if (!page)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read meetings");
    else
        cg_http_reply_json(ctx->req, 200, page);
}

void cg_api_meetings_get(cg_api_ctx *ctx)
{
    long long id = cg_row_id_parse("MT", ctx->params->value[0]);
    json_t *m = id > 0 ? cg_meeting_get(ctx->app->store, id) : NULL;
    if (!m) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no meeting '%.32s'", ctx->params->value[0]);
        return;
    }
    if (cg_api_sees_grid(ctx, json_string_value(json_object_get(m, "grid")), "meeting") < 0) {
        json_decref(m);
        return;
    }
    cg_http_reply_json(ctx->req, 200, m);
}

void cg_api_tasks_list(cg_api_ctx *ctx)
{
    cg_result err;
    cg_task_filter f = {0};
    long limit;
    if (cg_query_string(ctx->query, "assignee", 63, &f.assignee, &err) < 0 ||
        cg_query_string(ctx->query, "status", 8, &f.status, &err) < 0 ||
        cg_query_string(ctx->query, "grid", 14, &f.grid, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (f.status && strcmp(f.status, "open") != 0 && strcmp(f.status, "done") != 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'status' must be open or done");
        return;
    }
    if (cursor_of(ctx, "TK", &f.before, &limit) < 0)
        return;
    f.limit = (int)limit;
    if (cg_api_list_viewer(ctx, NULL, "tasks", &f.viewer) < 0)
        return;
    json_t *page = cg_tasks_list(ctx->app->store, &f);
    if (!page)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read tasks");
    else
        cg_http_reply_json(ctx->req, 200, page);
}
