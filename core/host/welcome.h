/*
 * welcome.h — what the core tells a plugin when it takes its READY: the
 * body of that first HEARTBEAT (core/wire/PROTOCOL.md "READY"). Today the
 * department catalog, which the runtime hands out as the host's
 * department_names (ABI 1.3), so no plugin keeps its own copy of the names.
 *
 * Main thread, once at start (the catalog's names do not change while the
 * daemon runs).
 */
#ifndef CG_WELCOME_H
#define CG_WELCOME_H

#include "people/catalog.h"

/* {"departments":{CODE:{"name":"...","name_zh":"..."},...}} as compact JSON
 * text; malloc'd, the caller frees it. NULL when out of memory. */
char *cg_welcome_json(const cg_catalog *cat);

#endif
