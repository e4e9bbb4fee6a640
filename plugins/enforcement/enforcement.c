/*
 * enforcement.c — the 综合行政执法 (comprehensive administrative law
 * enforcement) department plugin: road stalls, outside-shop trading and the
 * ten disorders, plus eco_environment when no eco plugin runs (the core
 * routes it here; it is not in our default list). Penalties are decided
 * here, so cases other departments transfer for a penalty end up here too.
 * See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include "../common/dept.h"

static const char *const enforcement_categories[] = {
    "street_stall", "outside_shop_trading", "posting", "graffiti", "splashing",
    "dumping", "stringing", "hanging", "illegal_structure", "illegal_building",
    "illegal_placement", NULL,
};

static const citygrid_plugin enforcement_plugin;

/* A penalty must be decided before the case is handled: the core refuses
 * the handle verb until it carries "penalty_decision" (ABI 1.2
 * case_require), and the note says why. */
static int require_penalty_decision(dept *d, const citygrid_case *c)
{
    if (!c->needs_penalty)
        return CITYGRID_OK;
    int rc = d->host->case_require(d->ctx, c->id, "penalty_decision");
    if (rc != CITYGRID_OK)
        return rc;
    return dept_note(d, c, "处罚决定待定：处置前须记录; "
                           "penalty decision pending: to be recorded before handling");
}

static int enforcement_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    return dept_init(ctx, host, &enforcement_plugin);
}

static int enforcement_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    return dept_handle_taking(ctx, c, require_penalty_decision);
}

static const citygrid_plugin enforcement_plugin =
    DEPT_PLUGIN_DESCRIPTOR("enforcement", "综合行政执法", enforcement_categories, enforcement_init,
                           enforcement_handle, dept_on_event);

CITYGRID_PLUGIN_DEFINE(enforcement_plugin)
