/*
 * api_workflow.c — POST /v1/cases/{id}/actions: the workflow's verbs
 * (API.md). Main thread only.
 *
 * The handler reads the body, hands it to host/actions.h (which decides
 * with case/verbs.h, one function per verb, and applies the change in one
 * batch item) and answers after COMMIT: 200 with the case, or the refusal.
 * A verb not allowed in the case's status (also one that lost a race) is
 * 409 invalid_transition with the case's "status" in the error.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "host/actions.h"

typedef struct pending_reply {
    cg_http_deferred deferred;
    cg_app *app;
} pending_reply;

/* The refusal; an invalid_transition also names the case's status. */
static void reply_refusal(struct evhttp_request *req, const cg_result *r, const char *status)
{
    if (r->status != CG_E_CONFLICT || strcmp(r->code, "invalid_transition") != 0 || !status[0]) {
        cg_http_reply_result(req, r);
        return;
    }
    json_t *e = cg_http_error_json(r->code, r->message);
    json_object_set_new(json_object_get(e, "error"), "status", json_string(status));
    cg_http_reply_json(req, cg_http_status_of(r->status), e);
}

static void action_done(void *arg, const cg_result *r, const char *case_id,
                        const char *current_status)
{
    pending_reply *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    if (req && r->status == CG_OK) {
        json_t *c = cg_cases_get(p->app->store, case_id);
        cg_http_reply_json(req, 200, c ? c : json_pack("{s:s}", "id", case_id));
    } else if (req) {
        reply_refusal(req, r, current_status);
    }
    free(p);
}

void cg_api_cases_action(cg_api_ctx *ctx)
{
    json_t *body = cg_api_body(ctx);
    if (!body)
        return;
    pending_reply *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    p->app = ctx->app;
    /* Parked first: the batch may call back before cg_actions_take returns. */
    cg_http_defer(ctx->http, &p->deferred, ctx->req);
    cg_result r;
    char status[16];
    if (cg_actions_take(ctx->app, ctx->who, ctx->params->value[0], body, action_done, p, status,
                        &r) != CG_OK) {
        reply_refusal(cg_http_undefer(&p->deferred), &r, status);
        free(p);
    }
    json_decref(body);
}
