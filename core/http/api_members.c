/*
 * api_members.c — POST /v1/members, GET /v1/members/{id},
 * PATCH /v1/members/{id}. Main thread only.
 *
 * The handlers read the body, call the members domain (people/members.h:
 * validation, the rules of who may change what, the SQL) and answer. A write
 * goes through cg_batch (group commit) and is answered from the done
 * callback, after COMMIT; the apply runs wherever the batch applies and
 * touches only its own cg_member_write and the store. A new password is
 * hashed first, on the worker pool (host/workers.h: argon2id must not hold
 * up the loop); hash_password touches only its own job.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "host/workers.h"
#include "http/http.h"
#include "store/batch.h"
#include "people/members.h"

typedef struct member_job {
    cg_http_deferred deferred;
    cg_app *app;
    cg_member_write *w;
    cg_result refusal; /* why the apply refused, for the reply */
    int hash_failed;   /* set on the pool thread */
} member_job;

static void job_free(member_job *job)
{
    cg_member_write_free(job->w);
    free(job);
}

static int apply_member(cg_store *st, void *arg, char *err, size_t errlen)
{
    member_job *job = arg;
    if (cg_members_apply(st, job->w, &job->refusal) == CG_OK)
        return 0;
    snprintf(err, errlen, "%s", job->refusal.message);
    return -1;
}

static void member_written(void *arg, int status, const char *why)
{
    member_job *job = arg;
    struct evhttp_request *req = cg_http_undefer(&job->deferred);
    if (req) {
        if (status != 0) {
            if (job->refusal.status != CG_OK)
                cg_http_reply_result(req, &job->refusal);
            else
                cg_http_reply_error(req, 500, "internal_error", "not stored: %.200s", why ? why : "?");
        } else {
            json_t *m = cg_members_get_json(job->app->store, job->w->id);
            if (!m)
                m = json_pack("{s:s}", "id", job->w->id);
            if (job->w->create) {
                char location[128];
                snprintf(location, sizeof location, "/v1/members/%s", job->w->id);
                evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
            }
            cg_http_reply_json(req, job->w->create ? 201 : 200, m);
        }
    }
    job_free(job);
}

/* Pool thread: argon2id of the new password; touches only the write. */
static void hash_password(void *arg)
{
    member_job *job = arg;
    job->hash_failed = cg_members_hash_password(job->w) < 0;
}

/* Main thread: hashed, now the write joins the next batch. */
static void password_hashed(void *arg, int ran)
{
    member_job *job = arg;
    if (!ran || job->hash_failed || !job->deferred.req) {
        struct evhttp_request *req = cg_http_undefer(&job->deferred);
        if (req)
            cg_http_reply_error(req, ran ? 500 : 503, ran ? "internal_error" : "shutting_down",
                                ran ? "cannot hash the password" : "the server is stopping");
        job_free(job);
        return;
    }
    cg_batch_submit(job->app->batch, apply_member, member_written, job);
}

static void submit_write(cg_api_ctx *ctx, int create)
{
    cg_result err;
    cg_result r;
    json_t *body = NULL;
    member_job *job = calloc(1, sizeof *job);
    if (job)
        job->w = cg_member_write_new(create, create ? NULL : ctx->params->value[0]);
    if (!job || !job->w) {
        free(job);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    job->app = ctx->app;
    cg_result_clear(&r);
    if (cg_members_write_begin(ctx->app->store, ctx->who, job->w, &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
    } else if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
    } else if (cg_members_write_prepare(ctx->app->store, ctx->app->catalog, ctx->who, body, job->w,
                                        &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
    } else {
        cg_http_defer(ctx->http, &job->deferred, ctx->req);
        if (!job->w->has_password) {
            cg_batch_submit(ctx->app->batch, apply_member, member_written, job);
        } else if (cg_workers_submit(cg_http_workers(ctx->http), hash_password, password_hashed,
                                     job) < 0) {
            struct evhttp_request *req = cg_http_undefer(&job->deferred);
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
            cg_http_reply_error(req, 503, "busy", "too many passwords being checked; try again in a second");
            job_free(job);
        }
        job = NULL; /* the callbacks' now */
    }
    json_decref(body);
    if (job)
        job_free(job);
}

void cg_api_members_create(cg_api_ctx *ctx)
{
    submit_write(ctx, 1);
}

void cg_api_members_patch(cg_api_ctx *ctx)
{
    submit_write(ctx, 0);
}

void cg_api_members_get(cg_api_ctx *ctx)
{
    cg_result r;
    json_t *m = NULL;
    if (cg_members_read(ctx->app->store, ctx->who, ctx->params->value[0], &m, &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    cg_http_reply_json(ctx->req, 200, m);
}
