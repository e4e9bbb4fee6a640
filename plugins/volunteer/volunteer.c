/*
 * volunteer.c — the 志愿者 optional-member plugin (party-member volunteers
 * and other optional grid members). It owns no category by default: admins
 * route categories to department "volunteer" in etc/, and it takes whatever
 * it is given. See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include "../common/dept.h"

static const char *const volunteer_categories[] = {NULL};

static const citygrid_plugin volunteer_plugin;

static int volunteer_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    return dept_init(ctx, host, &volunteer_plugin);
}

static int volunteer_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    return dept_take(d, c, dept_deadline_after(d, c, c->sla_hours));
}

static const citygrid_plugin volunteer_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "volunteer",
    .version = "1.0.0",
    .department = "volunteer",
    .department_zh = "志愿者",
    .categories = volunteer_categories,
    .init = volunteer_init,
    .handle = volunteer_handle,
    .shutdown = dept_shutdown,
    .on_event = dept_on_event,
};

CITYGRID_PLUGIN_DEFINE(volunteer_plugin)
