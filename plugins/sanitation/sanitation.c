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
    return dept_init_passing_penalties(ctx, host, &sanitation_plugin);
}

static const citygrid_plugin sanitation_plugin =
    DEPT_PLUGIN_DESCRIPTOR("sanitation", "环卫", sanitation_categories, sanitation_init,
                           dept_handle_passing_penalties, dept_on_event);

CITYGRID_PLUGIN_DEFINE(sanitation_plugin)
