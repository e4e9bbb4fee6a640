/*
 * api_devices.c — the device registry:
 *   POST  /v1/devices        {"type":"terminal"|"body_camera","serial","holder"?} -> 201
 *   GET   /v1/devices?holder=&type=&limit=&cursor=
 *   GET   /v1/devices/{id}
 *   PATCH /v1/devices/{id}   {"holder":"M..."} hands it over; {"returned":true} returns it
 * Main thread only; writes through cg_batch (api_write.h).
 *
 * Scope: an administrator, or a leader or instructor for the members of the
 * grids they manage, issues and takes back devices; members see the devices
 * of the people of their grids.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_scope.h"
#include "http/api_write.h"
#include "routine/devices.h"
#include "case/scope.h"
#include "people/members.h"
#include "lib/timeutil.h"

typedef struct device_job {
    cg_write_job job;
    cg_device_change c;
    int create;
} device_job;

static cg_status device_apply(cg_store *st, cg_write_job *job)
{
    device_job *j = (device_job *)job;
    if (j->create)
        return cg_device_store(st, &j->c, &j->c.id, &job->refusal);
    return cg_device_update(st, &j->c, &job->refusal);
}

static json_t *device_answer(cg_write_job *job, int *status)
{
    device_job *j = (device_job *)job;
    json_t *d = cg_device_get(job->app->store, j->c.id);
    *status = j->create ? 201 : 200;
    return d ? d : json_object();
}

/* May the caller hand devices to `member` (NULL: nobody), or take them
 * back? CG_OK, or the refusal in err (people/members.h says who may). */
static cg_status may_manage(cg_api_ctx *ctx, const cg_scope *sc, const char *member,
                            cg_result *err)
{
    if (sc->admin)
        return CG_OK;
    if (!member)
        return cg_scope_manages_any(sc) ? CG_OK
                                        : cg_fail(err, CG_E_FORBIDDEN, "forbidden",
                                                  "only an administrator, or a grid's leader or "
                                                  "instructor, issues devices");
    return cg_members_may_equip(ctx->app->store, ctx->who, member, err);
}

static int holder_field(json_t *body, device_job *j, cg_result *err)
{
    json_t *h = json_object_get(body, "holder");
    if (!h)
        return 0;
    if (!json_is_null(h) && (!json_is_string(h) || json_string_length(h) == 0 ||
                             json_string_length(h) >= sizeof j->c.holder)) {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'holder' must be a member id or null");
        return -1;
    }
    j->c.has_holder = 1;
    snprintf(j->c.holder, sizeof j->c.holder, "%s", json_is_string(h) ? json_string_value(h) : "");
    return 0;
}

static void submit(cg_api_ctx *ctx, int create)
{
    cg_result err;
    json_t *body = NULL, *current = NULL;
    cg_scope sc;
    int have_scope = 0;
    device_job *j = calloc(1, sizeof *j);
    if (!j) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    j->create = create;
    j->c.now_ms = cg_now_ms();
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0 ||
        holder_field(body, j, &err) < 0)
        goto bad;
    if (create) {
        const char *type = json_string_value(json_object_get(body, "type"));
        json_t *serial = json_object_get(body, "serial");
        if (!type || (strcmp(type, "terminal") != 0 && strcmp(type, "body_camera") != 0)) {
            cg_fail(&err, CG_E_INVALID, "invalid_field", "'type' must be terminal or body_camera");
            goto bad;
        }
        if (!json_is_string(serial) || json_string_length(serial) == 0 ||
            json_string_length(serial) > CG_SERIAL_MAX) {
            cg_fail(&err, CG_E_INVALID, "invalid_field", "'serial' must be a text of 1 to %d bytes",
                    CG_SERIAL_MAX);
            goto bad;
        }
        snprintf(j->c.type, sizeof j->c.type, "%s", type);
        snprintf(j->c.serial, sizeof j->c.serial, "%s", json_string_value(serial));
    } else {
        j->c.id = cg_row_id_parse("DV", ctx->params->value[0]);
        current = j->c.id > 0 ? cg_device_get(ctx->app->store, j->c.id) : NULL;
        if (!current) {
            cg_fail(&err, CG_E_NOT_FOUND, "not_found", "no device '%.32s'", ctx->params->value[0]);
            goto bad;
        }
        json_t *ret = json_object_get(body, "returned");
        if (ret && !json_is_boolean(ret)) {
            cg_fail(&err, CG_E_INVALID, "invalid_field", "'returned' must be true or false");
            goto bad;
        }
        j->c.returned = json_is_true(ret) || (j->c.has_holder && !j->c.holder[0]);
        if (j->c.returned == (j->c.has_holder && j->c.holder[0])) {
            cg_fail(&err, CG_E_INVALID, "invalid_field",
                    "give either a new 'holder' (hand over) or \"returned\": true");
            goto bad;
        }
    }
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        cg_fail(&err, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
        goto bad;
    }
    have_scope = 1;
    const char *now_holder = json_string_value(json_object_get(current, "holder"));
    if (may_manage(ctx, &sc, j->c.has_holder && j->c.holder[0] ? j->c.holder : NULL, &err) !=
            CG_OK ||
        (now_holder && may_manage(ctx, &sc, now_holder, &err) != CG_OK))
        goto bad;
    j->job.apply = device_apply;
    j->job.answer = device_answer;
    cg_write_submit(ctx, &j->job);
    j = NULL;
    goto out;
bad:
    cg_http_reply_result(ctx->req, &err);
out:
    free(j);
    if (have_scope)
        cg_scope_free(&sc);
    json_decref(body);
    json_decref(current);
}

void cg_api_devices_create(cg_api_ctx *ctx)
{
    submit(ctx, 1);
}

void cg_api_devices_patch(cg_api_ctx *ctx)
{
    submit(ctx, 0);
}

void cg_api_devices_get(cg_api_ctx *ctx)
{
    long long id = cg_row_id_parse("DV", ctx->params->value[0]);
    json_t *d = id > 0 ? cg_device_get(ctx->app->store, id) : NULL;
    if (!d) {
        cg_http_reply_error(ctx->req, 404, "not_found", "no device '%.32s'", ctx->params->value[0]);
        return;
    }
    cg_scope sc;
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        json_decref(d);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    const char *holder = json_string_value(json_object_get(d, "holder"));
    int ok = sc.admin || (holder && strcmp(holder, sc.member_id) == 0);
    for (size_t i = 0; !ok && holder && i < sc.n_grids; i++)
        ok = cg_member_serves(ctx->app->store, holder, sc.grids[i]) == 1;
    cg_scope_free(&sc);
    if (!ok) {
        json_decref(d);
        cg_http_reply_error(ctx->req, 403, "forbidden", "this device is not held in your grids");
        return;
    }
    cg_http_reply_json(ctx->req, 200, d);
}

void cg_api_devices_list(cg_api_ctx *ctx)
{
    cg_result err;
    const char *holder, *type, *cursor;
    long limit;
    long long after = 0;
    if (cg_query_string(ctx->query, "holder", 63, &holder, &err) < 0 ||
        cg_query_string(ctx->query, "type", 16, &type, &err) < 0 ||
        cg_query_string(ctx->query, "cursor", 32, &cursor, &err) < 0 ||
        cg_query_long(ctx->query, "limit", 100, 1, 1000, &limit, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    if (cursor && (after = cg_row_id_parse("DV", cursor)) <= 0) {
        cg_http_reply_error(ctx->req, 400, "invalid_field", "'cursor' is not one this list gave");
        return;
    }
    const char *viewer;
    if (cg_api_list_viewer(ctx, NULL, "devices", &viewer) < 0)
        return;
    json_t *page = cg_devices_list(ctx->app->store, holder, type, viewer, after, (int)limit);
    if (!page)
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read devices");
    else
        cg_http_reply_json(ctx->req, 200, page);
}
