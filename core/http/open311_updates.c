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

#include "lib/timeutil.h"

#define UPDATES_WINDOW_MS (90LL * 24 * 3600 * 1000)
#define UPDATES_MAX 1000

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
