/*
 * municipal.c — the 市政和园林 (municipal facilities, parks and greening)
 * department plugin. The plan: a violation that needs an administrative
 * penalty is reported or transferred to enforcement, so such a case is
 * transferred (setting "penalty_department") instead of accepted.
 * See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include "../common/dept.h"

static const char *const municipal_categories[] = {
    "municipal_facility", "landscaping", NULL,
};

static const citygrid_plugin municipal_plugin;

static int municipal_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    return dept_init_passing_penalties(ctx, host, &municipal_plugin);
}

static const citygrid_plugin municipal_plugin =
    DEPT_PLUGIN_DESCRIPTOR("municipal", "市政和园林", municipal_categories, municipal_init,
                           dept_handle_passing_penalties, dept_on_event);

CITYGRID_PLUGIN_DEFINE(municipal_plugin)
