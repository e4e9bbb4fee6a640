/*
 * flow.h — how a case moves between intake, the store and the bus:
 * a report is stored (case + history + outbox in one group-committed
 * transaction) and then queued on the bus; a plugin's result is committed and
 * only then acknowledged; a transfer's new dispatch is queued after commit.
 * Main thread only.
 */
#ifndef CG_FLOW_H
#define CG_FLOW_H

#include "host/app.h"
#include "case/cases.h"
#include "wire/bus.h"

/* An event as a plugin's on_event() sees it (core/wire/PROTOCOL.md):
 * {"kind","verb","from","to","actor","level","note","at"} (at: unix s).
 * NULL strings become "". New reference (NULL: no memory). Any thread. */
json_t *cg_flow_event_json(const char *kind, const char *verb, const char *from, const char *to,
                           const char *actor, const char *level, const char *note,
                           int64_t now_ms);

/* Called after the case is committed (status 0, case_id set) or refused
 * (status -1, err says why; nothing was written), with the stored case as
 * the API shows it (cg_cases_new_json: built while storing, so the reply
 * needs no read). case_json is a new reference for the callback (NULL when
 * refused or out of memory). */
typedef void (*cg_flow_case_stored)(void *arg, int status, const char *case_id,
                                    json_t *case_json, const char *err);
/* Copies nc (a validated report: host/intake.c); the store write happens in
 * this loop turn's batch. Subscribers (case/subscribe.h) whose subscription
 * takes a "transition" of the case's department at level "grid" get the
 * report as an event (verb "report", from "" to the case's first status),
 * in the same transaction; the owner gets its dispatch. */
void cg_flow_submit_case(cg_app *app, const cg_new_case *nc, cg_flow_case_stored done,
                         void *arg);

/* The bus handlers that apply plugin results (arg: the cg_app). */
extern const cg_bus_handlers cg_flow_bus_handlers;

/* After a restart: queue every outbox row on the bus again. */
int cg_flow_resume(cg_app *app);

#endif
