/*
 * police.c — the 公安/交警 (community police / traffic police) department
 * plugin: public order, traffic safety, illegal parking. A traffic-safety
 * hazard cannot wait for a long category SLA, so its deadline is capped at
 * setting "traffic_safety_max_hours" (default 2). See README.md beside this
 * file.
 */
#include <citygrid/plugin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dept.h"

#define TRAFFIC_SAFETY_MAX_HOURS_DEFAULT 2.0

static const char *const police_categories[] = {
    "traffic_safety", "illegal_parking", NULL,
};

typedef struct police_rules {
    double traffic_safety_max_hours;
} police_rules;

static const citygrid_plugin police_plugin;

static int read_rules(dept *d)
{
    police_rules *r = calloc(1, sizeof *r);
    if (!r)
        return CITYGRID_E_NOMEM;
    r->traffic_safety_max_hours = dept_setting_number(d, "traffic_safety_max_hours",
                                                      TRAFFIC_SAFETY_MAX_HOURS_DEFAULT);
    if (!isfinite(r->traffic_safety_max_hours) || !(r->traffic_safety_max_hours > 0)) {
        d->host->log(d->ctx, CITYGRID_LOG_ERROR,
                     "setting \"traffic_safety_max_hours\" must be a positive number of hours");
        free(r);
        return CITYGRID_E_INVALID;
    }
    dept_set_own(d, r, free);
    return CITYGRID_OK;
}

/* Hours allowed for this case: the category's SLA, except that traffic
 * safety never gets more than the cap (nor an unset SLA). */
static double police_sla_hours(const police_rules *r, const citygrid_case *c)
{
    if (!c->category || strcmp(c->category, "traffic_safety") != 0)
        return c->sla_hours;
    if (!(c->sla_hours > 0) || c->sla_hours > r->traffic_safety_max_hours)
        return r->traffic_safety_max_hours;
    return c->sla_hours;
}

static int police_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    int rc = dept_init(ctx, host, &police_plugin);
    if (rc != CITYGRID_OK)
        return rc;
    rc = read_rules(dept_of(ctx));
    if (rc != CITYGRID_OK)
        dept_shutdown(ctx);
    return rc;
}

static int police_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    const police_rules *r = d->own;
    /* Injuries make a traffic-safety case a joint task at once (several
     * departments: police, health, the road's owner). First, so that the
     * capped deadline below is the one that stays. */
    int injuries = 0;
    if (d->host->case_extra_bool(ctx, c, "injuries", &injuries) != CITYGRID_OK)
        injuries = 0; /* absent, or not a bool: no injuries were reported */
    if (c->category && strcmp(c->category, "traffic_safety") == 0 && injuries) {
        rc = d->host->case_escalate(ctx, c->id, "joint",
                                    "有人员受伤，升级为联合处置; injuries: joint handling");
        if (rc != CITYGRID_OK)
            return rc;
    }
    return dept_take(d, c, dept_deadline_after(d, c, police_sla_hours(r, c)));
}

static const citygrid_plugin police_plugin =
    DEPT_PLUGIN_DESCRIPTOR("police", "公安/交警", police_categories, police_init,
                           police_handle, dept_on_event);

CITYGRID_PLUGIN_DEFINE(police_plugin)
