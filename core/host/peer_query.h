/*
 * peer_query.h — a plugin asks a data source through the core (ABI 1.4
 * host source_query, e.g. the market plugin looks up a case's licence in
 * "companies"). The core decides as for a professional member of the
 * asking plugin's department (sources/policy.h), forwards the question to
 * the plugin that serves the source with a deadline, masks the rows the
 * rule does not show whole (sources/mask.h), writes the question to the
 * query audit (sources/audit.h: member "plugin:NAME", the case it was
 * checking) and answers the asker once that row is committed, and logs who
 * asked what for which case.
 *
 * Main thread (the bus's handler).
 */
#ifndef CG_PEER_QUERY_H
#define CG_PEER_QUERY_H

#include "wire/bus.h"

/* The bus handler (cg_bus_handlers.on_peer_query); arg is the cg_app. */
void cg_peer_query(void *arg, const cg_bus_asker *asker, const char *query_id, const char *body);

#endif
