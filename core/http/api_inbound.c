/*
 * api_inbound.c — POST /v1/inbound/{source}: a report from another platform,
 * signed with its key (host/inbound.h). No bearer token: the signature is
 * the credential. 201 {"id","source","case"} once the case is durable;
 * 401 for a missing, bad, stale or replayed signature, 404 for a source the
 * config does not name, 400/422 as POST /v1/cases. Main thread.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "host/inbound.h"
#include "lib/timeutil.h"

typedef struct pending_inbound_reply {
    cg_http_deferred deferred;
} pending_inbound_reply;

static void inbound_stored(void *arg, const cg_result *r, const char *case_id, json_t *c)
{
    pending_inbound_reply *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    free(p);
    if (!req) {
        json_decref(c);
        return;
    }
    if (r->status != CG_OK) {
        json_decref(c);
        cg_http_reply_result(req, r);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/v1/cases/%s", case_id);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
    cg_http_reply_json(req, 201, json_pack("{s:s, s:o}", "id", case_id, "case", c));
}

void cg_api_inbound(cg_api_ctx *ctx)
{
    const char *source = ctx->params->value[0];
    struct evkeyvalq *h = evhttp_request_get_input_headers(ctx->req);
    struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
    size_t len = evbuffer_get_length(in), max = cg_api_max_body(ctx->app);
    if (len > max) {
        cg_http_reply_error(ctx->req, 413, "body_too_large", "the body is larger than %zu bytes", max);
        return;
    }
    const char *ct = evhttp_find_header(h, "Content-Type");
    if (!ct || !cg_http_is_json_content_type(ct)) {
        cg_http_reply_error(ctx->req, 415, "unsupported_media_type", "the body must be application/json");
        return;
    }
    const char *data = len ? (const char *)evbuffer_pullup(in, -1) : "";
    cg_result r;
    cg_result_clear(&r);
    if (cg_inbound_verify(ctx->app, source, evhttp_find_header(h, "X-Citygrid-Timestamp"),
                          evhttp_find_header(h, "X-Citygrid-Signature"), data, len,
                          cg_now_ms() / 1000, &r) != CG_OK) {
        cg_http_reply_result(ctx->req, &r);
        return;
    }
    cg_result err;
    json_t *body = cg_http_parse_json_body(data, len, max, &err);
    if (!body) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    pending_inbound_reply *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    cg_http_defer(ctx->http, &p->deferred, ctx->req);
    if (cg_inbound_report(ctx->app, source, evhttp_find_header(h, "X-Citygrid-Signature"), body,
                          inbound_stored, p, &r) != CG_OK) {
        cg_http_undefer(&p->deferred);
        free(p);
        cg_http_reply_result(ctx->req, &r);
    }
    json_decref(body);
}
