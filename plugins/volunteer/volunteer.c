/*
 * volunteer.c — the 志愿者 optional-member plugin (party-member volunteers
 * and other optional grid members). It owns no category by default: admins
 * route categories to department "volunteer" in etc/, and it takes whatever
 * it is given. See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include <string.h>

#include "../common/dept.h"

static const char *const volunteer_categories[] = {NULL};

static const citygrid_plugin volunteer_plugin;

static int volunteer_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    return dept_init(ctx, host, &volunteer_plugin);
}

static int volunteer_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    return dept_handle_taking(ctx, c, NULL);
}

/* Events: our own cases as every department (dept_on_event). Other
 * departments' cases arrive when etc/plugins.d/volunteer.cfg subscribes
 * (it does to escalations reaching joint or city): a case raised to a joint
 * task or to the city is when the grid's volunteers may be called in, so
 * the plugin says so in the case's history and log. */
static int volunteer_on_event(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                              const citygrid_event *ev)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    if (!ev || ev->struct_size < sizeof *ev)
        return CITYGRID_E_INVALID;
    if (!strcmp(c->department, volunteer_plugin.department))
        return dept_on_event(ctx, c, ev);
    int raised = !strcmp(ev->kind, "escalation") && !strcmp(ev->verb, "escalate") &&
                 (!strcmp(ev->level, "joint") || !strcmp(ev->level, "city"));
    if (!raised)
        return CITYGRID_OK; /* a subscription wider than this rule: nothing to do */
    d->host->log(ctx, CITYGRID_LOG_NOTICE, "%s (%s, grid %s) raised to %s: volunteers on call",
                 c->id, c->department, *c->grid ? c->grid : "-", ev->level);
    return dept_note(d, c, "志愿者 on call: %s case raised to %s; volunteers of grid %s can be "
                     "called in", c->department, ev->level, *c->grid ? c->grid : "(none)");
}

static const citygrid_plugin volunteer_plugin =
    DEPT_PLUGIN_DESCRIPTOR("volunteer", "志愿者", volunteer_categories, volunteer_init,
                           volunteer_handle, volunteer_on_event);

CITYGRID_PLUGIN_DEFINE(volunteer_plugin)
