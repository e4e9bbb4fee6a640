/*
 * plugins.h — the registry of configured plugins: loads the enabled ones
 * (opt-in), refuses duplicates, starts each on its runtime, records what
 * happened for /v1/plugins. Main thread only.
 */
#ifndef CG_PLUGINS_H
#define CG_PLUGINS_H

#include <jansson.h>
#include "config.h"
#include "catalog.h"

struct cg_bus;
typedef struct cg_plugins cg_plugins;

/* Load and start every enabled plugin of cfg in thread mode, connecting to
 * cfg->bus_endpoint in zmq_ctx. A plugin that fails is logged and skipped,
 * unless `required`: then -1 with err. Tells the catalog which department
 * each running plugin serves. */
int cg_plugins_start(const cg_config *cfg, void *zmq_ctx, cg_catalog *catalog,
                     cg_plugins **out, char *err, size_t errlen);
/* Stop every runtime (DISCONNECT, shutdown()) and dlclose. */
void cg_plugins_stop(cg_plugins *ps);

/* [{"name","version","abi","mode","state","department","queue",...}] merged
 * with the bus's live figures. */
json_t *cg_plugins_json(const cg_plugins *ps, const struct cg_bus *bus);
/* Name of the plugin configured for a department's cases, or NULL. */
const char *cg_plugins_for_department(const cg_plugins *ps, const char *department);

#endif
