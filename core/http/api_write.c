/*
 * api_write.c — see api_write.h.
 */
#include "http/api_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/batch.h"
#include "lib/timeutil.h"

static int apply_job(cg_store *st, void *arg, char *err, size_t errlen)
{
    cg_write_job *job = arg;
    if (job->apply(st, job) == CG_OK)
        return 0;
    if (job->refusal.status == CG_OK)
        cg_write_refuse(job, CG_E_INTERNAL, "internal_error", "not stored");
    snprintf(err, errlen, "%s", job->refusal.message);
    return -1;
}

static void job_done(void *arg, int status, const char *why)
{
    cg_write_job *job = arg;
    struct evhttp_request *req = cg_http_undefer(&job->deferred);
    if (req) {
        if (status != 0 && job->refusal.status != CG_OK) {
            cg_reply_error_with(req, &job->refusal, job->refusal_extra);
            job->refusal_extra = NULL;
        } else if (status != 0) {
            cg_http_reply_error(req, 500, "internal_error", "not stored: %.200s", why ? why : "?");
        } else {
            int code = 200;
            json_t *body = job->answer ? job->answer(job, &code) : NULL;
            cg_http_reply_json(req, code, body);
        }
    }
    json_decref(job->refusal_extra);
    job->refusal_extra = NULL;
    if (job->release)
        job->release(job);
    else
        free(job);
}

void cg_write_submit(cg_api_ctx *ctx, cg_write_job *job)
{
    job->app = ctx->app;
    cg_http_defer(ctx->http, &job->deferred, ctx->req);
    cg_batch_submit(ctx->app->batch, apply_job, job_done, job);
}

cg_status cg_write_refuse(cg_write_job *job, cg_status status, const char *code, const char *fmt,
                          ...)
{
    va_list ap;
    job->refusal.status = status;
    snprintf(job->refusal.code, sizeof job->refusal.code, "%s", code);
    va_start(ap, fmt);
    vsnprintf(job->refusal.message, sizeof job->refusal.message, fmt, ap);
    va_end(ap);
    return status;
}

void cg_reply_error_with(struct evhttp_request *req, const cg_result *r, json_t *extra)
{
    json_t *body = cg_http_error_json(r->code, r->message);
    if (extra)
        json_object_update(json_object_get(body, "error"), extra);
    json_decref(extra);
    cg_http_reply_json(req, cg_http_status_of(r->status), body);
}

int cg_query_time(const struct evkeyvalq *q, const char *name, int64_t def, int64_t *out,
                  cg_result *err)
{
    const char *text;
    char buf[64];
    *out = def;
    if (cg_query_string(q, name, sizeof buf - 1, &text, err) < 0)
        return -1;
    if (!text)
        return 0;
    /* Form decoding turns an unencoded '+' into a space; an ISO time has none. */
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; *p; p++)
        if (*p == ' ')
            *p = '+';
    if (cg_time_parse_iso(buf, out) < 0) {
        cg_fail(err, CG_E_INVALID, "invalid_field",
                "'%s' must be an ISO 8601 time such as 2026-01-01T00:00:00+08:00", name);
        return -1;
    }
    return 0;
}
