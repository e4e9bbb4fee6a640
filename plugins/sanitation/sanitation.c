/*
 * sanitation.c — the 环卫 (environmental sanitation) department plugin:
 * sanitation facilities and cleaning. As for municipal, the plan sends a
 * violation that needs an administrative penalty to enforcement (setting
 * "penalty_department"). See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include "../common/dept.h"

static const char *const sanitation_categories[] = {
    "sanitation", NULL,
};

static const citygrid_plugin sanitation_plugin;

static int sanitation_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    int rc = dept_init(ctx, host, &sanitation_plugin);
    if (rc != CITYGRID_OK)
        return rc;
    rc = dept_read_penalty_department(dept_of(ctx));
    if (rc != CITYGRID_OK)
        dept_shutdown(ctx);
    return rc;
}

static int sanitation_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    if (dept_transfer_for_penalty(d, c, &rc))
        return rc;
    return dept_take(d, c, dept_deadline_after(d, c, c->sla_hours));
}

static const citygrid_plugin sanitation_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "sanitation",
    .version = "1.0.0",
    .department = "sanitation",
    .department_zh = "环卫",
    .categories = sanitation_categories,
    .init = sanitation_init,
    .handle = sanitation_handle,
    .shutdown = dept_shutdown,
    .on_event = dept_on_event,
};

CITYGRID_PLUGIN_DEFINE(sanitation_plugin)
