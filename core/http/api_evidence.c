/*
 * api_evidence.c — photos as evidence (evidence.h):
 *   POST /v1/cases/{id}/photos?stage=before|after   body: the JPEG or PNG bytes
 *        -> 201 {"sha256","stage","bytes","content_type","at","uploader","url","case"}
 *           (200 with the same shape when that photo was already attached
 *           to the case at that stage: nothing new is written)
 *   GET  /v1/cases/{id}/photos   -> {"items":[...], "next": null}
 *   GET  /v1/photos/{sha256}     -> the bytes, with their Content-Type
 * Main thread only; the file write and the record happen in one cg_batch
 * item (api_write.h): the 201 comes after the bytes are synced to disk and
 * the row is committed.
 *
 * Who: whoever may see the case (scope.h) may list its photos and attach
 * "before" photos; "after" photos (the handling's proof) only the assignee,
 * whoever handled it, a member of the case's department, the grid's leader
 * or instructor, or an administrator. A photo's bytes are served to whoever
 * may see any case it is attached to. A closed or cancelled case takes no
 * more photos (409).
 *
 * Refusals, in this order, each changing nothing: 400 stage, 404 case,
 * 403 scope, 409 status, 400 empty body, 413 over evidence.max_photo_bytes,
 * 415 a Content-Type other than image/jpeg or image/png, 415 bytes that are
 * not that image (magic bytes and a header check, evidence.c).
 */
#include "http/api.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http/api_write.h"
#include "case/evidence.h"
#include "lib/log.h"
#include "case/scope.h"
#include "lib/timeutil.h"

static size_t max_photo_bytes(const cg_app *app)
{
    return app->config->evidence.max_photo_bytes;
}

static const char *str(json_t *c, const char *key)
{
    return json_string_value(json_object_get(c, key));
}

static int same(const char *a, const char *b)
{
    return a && b && *a && strcmp(a, b) == 0;
}

/* The case, visible to the caller: 0 and *out (new reference), else the
 * error is answered and -1 returned. `sc` is loaded (free it) on 0. */
static int visible_case(cg_api_ctx *ctx, json_t **out, cg_scope *sc)
{
    const char *id = ctx->params->value[0];
    json_t *c = strlen(id) < 32 ? cg_cases_get(ctx->app->store, id) : NULL;
    if (!c) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no case '%.64s'", id);
        return -1;
    }
    if (cg_scope_load(ctx->app->store, ctx->who, sc) < 0) {
        json_decref(c);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return -1;
    }
    if (!cg_scope_sees_case(sc, str(c, "grid"), str(c, "department"), str(c, "reporter"))) {
        cg_scope_free(sc);
        json_decref(c);
        cg_http_reply_error(ctx->req, 403, "forbidden", "case %.32s is outside your grids", id);
        return -1;
    }
    *out = c;
    return 0;
}

/* "after" photos prove the handling: see the file comment. */
static int may_attach_after(const cg_scope *sc, const cg_principal *who, json_t *c)
{
    if (sc->admin || same(str(c, "assignee"), who->member_id) ||
        same(str(c, "handled_by"), who->member_id) ||
        same(str(c, "department"), who->department) || cg_scope_manages(sc, str(c, "grid")))
        return 1;
    /* Handled on site: the reporter was the handler. */
    return json_is_true(json_object_get(c, "handled_on_site")) &&
           same(str(c, "reporter"), who->member_id);
}

/* ---- POST /v1/cases/{id}/photos ------------------------------------------ */

typedef struct photo_job {
    cg_write_job job;
    char case_id[32];
    char stage[8];
    char uploader[64];
    const char *content_type;     /* static (cg_evidence_mime) */
    char *state_dir;
    unsigned char *data;
    size_t len;
    char sha256[CG_SHA256_HEX_SIZE];
    int inserted;
    int64_t at_ms;
} photo_job;

/* Runs in the batch (maybe on its writer thread): bytes first, then the
 * row, so a committed row always has its file. A file whose row is rolled
 * back stays, harmless: the next upload of that photo finds it. */
static cg_status photo_apply(cg_store *st, cg_write_job *job)
{
    photo_job *j = (photo_job *)job;
    char err[512];
    int created;
    if (cg_evidence_save(j->state_dir, j->data, j->len, j->sha256, &created, err, sizeof err) < 0) {
        CG_ERROR("evidence", "%s: %s", j->case_id, err);
        return cg_write_refuse(job, CG_E_INTERNAL, "storage_error", "the photo could not be stored");
    }
    cg_photo p = {.case_id = j->case_id, .stage = j->stage, .sha256 = j->sha256,
                  .content_type = j->content_type, .bytes = j->len, .uploader = j->uploader};
    if (cg_evidence_record(st, &p, cg_now_ms(), &j->inserted, &j->at_ms, err, sizeof err) < 0)
        return cg_write_refuse(job, CG_E_INTERNAL, "internal_error",
                               "the photo was not recorded: %.200s", err);
    return CG_OK;
}

static json_t *photo_answer(cg_write_job *job, int *status)
{
    photo_job *j = (photo_job *)job;
    json_t *body = cg_evidence_photo_json(j->sha256, j->stage, j->len, j->content_type, j->at_ms,
                                          j->uploader);
    if (body)
        json_object_set_new(body, "case", json_string(j->case_id));
    *status = j->inserted ? 201 : 200;
    return body;
}

static void photo_job_free(photo_job *j)
{
    if (j) {
        free(j->data);
        free(j->state_dir);
        free(j);
    }
}

static void photo_release(cg_write_job *job)
{
    photo_job_free((photo_job *)job);
}

static int case_is_closed(json_t *c)
{
    return same(str(c, "status"), "closed") || same(str(c, "status"), "cancelled");
}

void cg_api_photos_upload(cg_api_ctx *ctx)
{
    cg_result err;
    const char *stage;
    if (cg_query_string(ctx->query, "stage", 8, &stage, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (!stage || (strcmp(stage, "before") != 0 && strcmp(stage, "after") != 0)) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'stage' must be before or after");
        return;
    }
    json_t *c;
    cg_scope sc;
    if (visible_case(ctx, &c, &sc) < 0)
        return;
    int allowed = strcmp(stage, "before") == 0 || may_attach_after(&sc, ctx->who, c);
    cg_scope_free(&sc);
    if (!allowed || case_is_closed(c)) {
        if (!allowed)
            cg_http_reply_error(ctx->req, 403, "forbidden", "only the case's handler, its "
                                "department or the grid's leader may attach an 'after' photo "
                                "to %.32s", str(c, "id"));
        else
            cg_http_reply_error(ctx->req, 409, "conflict", "case %.32s is %s: it takes no more "
                                "photos", str(c, "id"), str(c, "status"));
        json_decref(c);
        return;
    }
    json_decref(c);

    struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
    size_t len = in ? evbuffer_get_length(in) : 0, max = max_photo_bytes(ctx->app);
    photo_job *j = calloc(1, sizeof *j);
    /* Copied only when within the limit: over it, the check answers 413
     * from the length alone. */
    int copy = len > 0 && len <= max, ok = j != NULL;
    if (ok && copy) {
        j->data = malloc(len);
        ok = j->data && evbuffer_copyout(in, j->data, len) == (ev_ssize_t)len;
    }
    if (ok)
        ok = (j->state_dir = strdup(ctx->app->config->state_dir)) != NULL;
    if (!ok) {
        photo_job_free(j);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(ctx->req), "Content-Type");
    cg_photo_kind kind;
    cg_result r;
    if (cg_evidence_check_upload(j->data, len, max, ct, &kind, &r) != CG_OK) {
        photo_job_free(j);
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    snprintf(j->case_id, sizeof j->case_id, "%.31s", ctx->params->value[0]);
    snprintf(j->stage, sizeof j->stage, "%s", stage);
    snprintf(j->uploader, sizeof j->uploader, "%s", ctx->who->member_id);
    j->content_type = cg_evidence_mime(kind);
    j->len = len;
    j->job.apply = photo_apply;
    j->job.answer = photo_answer;
    j->job.release = photo_release;
    cg_write_submit(ctx, &j->job);
}

/* ---- GET /v1/cases/{id}/photos ------------------------------------------- */

void cg_api_photos_list(cg_api_ctx *ctx)
{
    json_t *c;
    cg_scope sc;
    if (visible_case(ctx, &c, &sc) < 0)
        return;
    cg_scope_free(&sc);
    json_decref(c);
    json_t *items = cg_evidence_list(ctx->app->store, ctx->params->value[0]);
    if (!items) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the photos");
        return;
    }
    cg_http_reply_json(ctx->req, 200, json_pack("{s:o, s:n}", "items", items, "next"));
}

/* ---- GET /v1/photos/{sha256} ----------------------------------------------- */

static int scope_sees(void *arg, const char *grid, const char *department, const char *reporter)
{
    return cg_scope_sees_case(arg, grid, department, reporter);
}

void cg_api_photo_get(cg_api_ctx *ctx)
{
    const char *hex = ctx->params->value[0];
    if (!cg_evidence_is_sha256_hex(hex)) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no photo '%.64s'", hex);
        return;
    }
    cg_scope sc;
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    char content_type[32] = "";
    int v = cg_evidence_visible(ctx->app->store, hex, scope_sees, &sc, content_type);
    cg_scope_free(&sc);
    if (v == -1 || v == -2) {
        if (v == -1)
            cg_http_reply_error(ctx->req, 404, "not_found", "no photo '%.64s'", hex);
        else
            cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the photo's cases");
        return;
    }
    if (v == 0) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "the photo belongs to cases outside your grids");
        return;
    }
    char path[4300];
    struct stat sb;
    int fd = cg_evidence_path(ctx->app->config->state_dir, hex, path, sizeof path) == 0
                 ? open(path, O_RDONLY | O_CLOEXEC)
                 : -1;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        CG_ERROR("evidence", "photo %s is recorded but its file %s is missing", hex, path);
        cg_http_reply_error(ctx->req, 500, "internal_error", "the photo's file is missing");
        return;
    }
    struct evbuffer *out = evbuffer_new();
    /* evbuffer_add_file owns fd from here (it closes it, also on failure). */
    if (!out || evbuffer_add_file(out, fd, 0, sb.st_size) < 0) {
        if (!out)
            close(fd);
        evbuffer_free(out);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot send the photo");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(ctx->req);
    char etag[72];
    snprintf(etag, sizeof etag, "\"%.64s\"", hex);
    evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "ETag", etag);
    /* Content-addressed: the bytes under this URL never change. */
    evhttp_add_header(h, "Cache-Control", "private, max-age=31536000, immutable");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_send_reply(ctx->req, 200, "OK", out);
    evbuffer_free(out);
}
