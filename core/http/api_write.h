/*
 * api_write.h — the common shape of a write endpoint: validate on the main
 * thread, hand an apply function to cg_batch (group commit), answer after
 * COMMIT from the done callback. Used by the attendance, patrol, meeting and
 * device endpoints (api_attendance.c, api_patrols.c, api_meetings.c,
 * api_devices.c).
 *
 * A job is a struct that starts with a cg_write_job (its first member), so
 * the callbacks can cast back to the caller's type.
 *
 * Threading: cg_write_submit, `answer` and `release` run on the main thread;
 * `apply` runs wherever cg_batch applies (maybe its writer thread), and may
 * touch only the job and the store it is given.
 */
#ifndef CG_API_WRITE_H
#define CG_API_WRITE_H

#include <jansson.h>
#include "http/api.h"

typedef struct cg_write_job cg_write_job;

/* Inside the transaction: CG_OK to keep the writes, or a refusal filled in
 * job->refusal (usually by the domain function the apply calls): the item
 * is rolled back and the client gets that error. */
typedef cg_status (*cg_write_apply_fn)(cg_store *st, cg_write_job *job);
/* After COMMIT (main thread): the reply body (new reference) and *status. */
typedef json_t *(*cg_write_answer_fn)(cg_write_job *job, int *status);

struct cg_write_job {
    cg_http_deferred deferred;
    cg_app *app;
    cg_write_apply_fn apply;
    cg_write_answer_fn answer;
    void (*release)(cg_write_job *job); /* frees the job (NULL: free()) */
    cg_result refusal;                  /* set by apply when it refuses */
    json_t *refusal_extra;              /* optional fields added to "error" */
};

/* Park ctx->req and submit the job; the job belongs to the batch from here. */
void cg_write_submit(cg_api_ctx *ctx, cg_write_job *job);

/* Fill job->refusal; returns `status` (for `return cg_write_refuse(...)`). */
cg_status cg_write_refuse(cg_write_job *job, cg_status status, const char *code, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));

/* Send {"error":{"code","message", ...extra}} (extra stolen, may be NULL)
 * with the HTTP status of r->status. */
void cg_reply_error_with(struct evhttp_request *req, const cg_result *r, json_t *extra);

/* The `since`/`until` query parameter as unix ms: 0 and *out = def when
 * absent; a '+' decoded to a space is put back. -1 with err (400). */
int cg_query_time(const struct evkeyvalq *q, const char *name, int64_t def, int64_t *out,
                  cg_result *err);

#endif
