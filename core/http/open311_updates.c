/*
 * open311_updates.c — FixMyStreet's servicerequestupdates extension
 * (open311.h): GET lists every status change and public note of the cases
 * the asking key reported; POST adds a citizen's comment, or reopens a
 * closed case, on one of that key's own cases. Main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/open311.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "case/cases.h"
#include "host/actions.h"
#include "host/deadlines.h"
#include "http/open311_form.h"
#include "lib/timeutil.h"
#include "store/batch.h"
#include "wire/bus.h"

#define UPDATES_WINDOW_MS (90LL * 24 * 3600 * 1000)
#define UPDATES_MAX 1000
#define UPDATE_TEXT_MAX_CHARS 4000

void cg_o311_updates_get(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = {.query = ctx->query, .form = NULL};
    char name[CG_O311_NAME_MAX + 1], source[CG_O311_SOURCE_MAX];
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0 || cg_o311_check_key(ctx, fmt, &p, 1, name) < 0)
        return;
    int64_t start = 0, end = 0;
    int has_start, has_end;
    if (cg_o311_param_time(ctx, fmt, &p, "start_date", &start, &has_start) < 0 ||
        cg_o311_param_time(ctx, fmt, &p, "end_date", &end, &has_end) < 0)
        return;
    if (!has_end)
        end = has_start ? start + UPDATES_WINDOW_MS : cg_now_ms() + 1;
    if (!has_start)
        start = end - UPDATES_WINDOW_MS;
    if (end <= start || end - start > UPDATES_WINDOW_MS) {
        cg_o311_error(ctx->req, fmt, 400, "end_date must be after start_date and at most 90 days later");
        return;
    }
    cg_o311_source_of(name, source, sizeof source);
    json_t *list = cg_o311_updates(ctx->app->store, source, start, end, UPDATES_MAX);
    if (!list) {
        cg_o311_error(ctx->req, fmt, 500, "the updates could not be read");
        return;
    }
    cg_o311_reply(ctx->req, fmt, 200, "service_request_updates", list);
}

/* ---- POST: a citizen's comment, or a reopen ------------------------------
 * status OPEN on a closed or cancelled case reopens it (the workflow's
 * reopen: dispatched to its department again, with a new deadline); any
 * other update is a comment in the history (status CLOSED: the citizen says
 * it is solved; staff decide). Both by actor "open311:NAME", only on that
 * key's own cases (403 otherwise). Both are heard like a workflow verb
 * (host/actions.h): the owning plugin gets a comment as an event (a reopen
 * as its new dispatch), subscribers such as a bridge get a copy of either. */

typedef struct pending_update {
    cg_http_deferred deferred;
    cg_app *app;
    cg_o311_format fmt;
    cg_case_change ch;
    int outcome, has_out;
    cg_dispatch out;
    const char *subs[CG_SUBSCRIBERS_MAX];
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX];
    char case_id[32], actor[CG_O311_SOURCE_MAX], action[16], expect_status[16],
        expect_department[32], to_status[16];
    char *note;
} pending_update;

static int apply_update(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_update *p = arg;
    p->outcome = cg_cases_apply_change(st, &p->ch, cg_now_ms(), &p->out, &p->has_out, err, errlen);
    return p->outcome == CG_OK ? 0 : -1;
}

static void update_committed(void *arg, int status, const char *err)
{
    pending_update *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    if (status == 0 && p->has_out)
        cg_bus_enqueue(p->app->bus, &p->out);
    cg_dispatch_clear(&p->out);
    for (size_t i = 0; i < p->ch.n_subscribers; i++) {
        if (status == 0 && p->sub_out[i].payload)
            cg_bus_enqueue(p->app->bus, &p->sub_out[i]);
        cg_dispatch_clear(&p->sub_out[i]);
    }
    json_decref(p->ch.event);
    json_decref(p->ch.sub_event);
    if (status == 0)
        cg_deadlines_rearm(p->app->deadlines);
    if (req) {
        if (status == 0) {
            char id[32];
            snprintf(id, sizeof id, "%lld",
                     (long long)cg_o311_last_update_id(p->app->store, p->case_id, p->actor));
            cg_o311_reply(req, p->fmt, 201, "service_request_updates",
                          json_pack("[{s:s}]", "update_id", id));
        } else if (p->outcome == CG_E_CONFLICT) {
            cg_o311_error(req, p->fmt, 409, "service request %s changed meanwhile; try again",
                          p->case_id);
        } else {
            cg_o311_error(req, p->fmt, 500, "the update was not stored: %.160s", err ? err : "unknown");
        }
    }
    free(p->note);
    free(p);
}

void cg_o311_updates_post(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_form form;
    if (cg_o311_read_form(ctx, fmt, &form) < 0)
        return;
    cg_o311_params p = {.query = NULL, .form = &form};
    char name[CG_O311_NAME_MAX + 1], source[CG_O311_SOURCE_MAX], case_source[64];
    pending_update *pu = NULL;
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0 || cg_o311_check_key(ctx, fmt, &p, 1, name) < 0)
        goto done;
    cg_o311_source_of(name, source, sizeof source);
    const char *id = cg_o311_param(&p, "service_request_id");
    const char *status = cg_o311_param(&p, "status");
    const char *text = cg_o311_param(&p, "description");
    const char *media = cg_o311_param(&p, "media_url");
    if (!id) {
        cg_o311_error(ctx->req, fmt, 400, "service_request_id is required");
        goto done;
    }
    if (status && strcasecmp(status, "open") && strcasecmp(status, "closed")) {
        cg_o311_error(ctx->req, fmt, 400, "status must be OPEN or CLOSED");
        goto done;
    }
    if (text && cg_utf8_chars(text) > UPDATE_TEXT_MAX_CHARS) {
        cg_o311_error(ctx->req, fmt, 400, "description is longer than %d characters",
                      UPDATE_TEXT_MAX_CHARS);
        goto done;
    }
    if (media && (strncmp(media, "http://", 7) && strncmp(media, "https://", 8))) {
        cg_o311_error(ctx->req, fmt, 400, "media_url must be an http(s) URL");
        goto done;
    }
    cg_case_row row;
    int found = strlen(id) < sizeof row.id ? cg_cases_read_row(ctx->app->store, id, &row) : 0;
    if (found < 0 || (found == 1 && cg_o311_case_source(ctx->app->store, id, case_source,
                                                        sizeof case_source) < 0)) {
        cg_o311_error(ctx->req, fmt, 500, "the service request could not be read");
        goto done;
    }
    if (found == 0) {
        cg_o311_error(ctx->req, fmt, 404, "no service request '%.40s'", id);
        goto done;
    }
    if (strcmp(case_source, source) != 0) {
        cg_o311_error(ctx->req, fmt, 403, "service request %s was not reported with this api_key", row.id);
        goto done;
    }
    int closed = !strcmp(row.status, "closed") || !strcmp(row.status, "cancelled");
    int reopen = status && !strcasecmp(status, "open") && closed;
    if (!reopen && !text && !media) {
        cg_o311_error(ctx->req, fmt, 400, "an update needs a description (or status OPEN to reopen a closed request)");
        goto done;
    }
    pu = calloc(1, sizeof *pu);
    if (!pu) {
        cg_o311_error(ctx->req, fmt, 500, "out of memory");
        goto done;
    }
    pu->app = ctx->app;
    pu->fmt = fmt;
    snprintf(pu->case_id, sizeof pu->case_id, "%s", row.id);
    snprintf(pu->actor, sizeof pu->actor, "%s", source);
    snprintf(pu->expect_status, sizeof pu->expect_status, "%s", row.status);
    snprintf(pu->expect_department, sizeof pu->expect_department, "%s", row.department);
    if (asprintf(&pu->note, "%s%s%s%s%s",
                 status && !strcasecmp(status, "closed") && !closed ? "市民反馈已解决; " : "",
                 text ? text : "", text && media ? " " : "", media ? "media: " : "",
                 media ? media : "") < 0) {
        pu->note = NULL;
        free(pu);
        pu = NULL;
        cg_o311_error(ctx->req, fmt, 500, "out of memory");
        goto done;
    }
    cg_case_change *ch = &pu->ch;
    ch->case_id = pu->case_id;
    ch->actor = pu->actor;
    ch->expect_status = pu->expect_status;
    ch->expect_department = pu->expect_department;
    ch->note = *pu->note ? pu->note : NULL;
    if (reopen) {
        snprintf(pu->action, sizeof pu->action, "reopen");
        snprintf(pu->to_status, sizeof pu->to_status, "dispatched");
        ch->to_status = pu->to_status;
        ch->new_dispatch = 1;
        ch->set_assignee = 1;
        ch->expected_at = cg_cases_deadline_after(cg_now_ms(), row.sla_hours);
        ch->timer = ch->expected_at ? CG_TIMER_SET : CG_TIMER_CLEAR;
    } else {
        snprintf(pu->action, sizeof pu->action, "comment");
    }
    ch->action = pu->action;
    cg_actions_add_events(ctx->app, ch, &row, "transition", pu->action,
                          reopen ? pu->to_status : row.status, pu->subs, pu->sub_out);
    cg_http_defer(ctx->http, &pu->deferred, ctx->req);
    cg_batch_submit(ctx->app->batch, apply_update, update_committed, pu);
done:
    cg_form_free(&form);
}
