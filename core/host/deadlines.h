/*
 * deadlines.h — overdue cases climb the levels by themselves.
 *
 * The sorted set of deadlines is the database's partial index
 * cases_by_escalate_at (escalate_at = the deadline of an open case; NULL once
 * it is handled, closed or cancelled, or at the top level). In memory the
 * core keeps ONE libevent timer, armed for the smallest escalate_at: it is
 * set at start from an indexed query (so a restart loses no timer), moved
 * earlier cheaply when a new deadline is noted, and re-armed from the index
 * after every escalation round and workflow step. Nothing polls the table.
 *
 * When the timer fires, the cases due (escalate_at <= now, oldest first, a
 * bounded batch) are escalated one level each, grid -> community -> joint ->
 * city, as "system": a history row "escalate", the next level's deadline
 * (expected_at = now + the category's SLA: each level gets the SLA again),
 * and an event for the owning plugin and for subscribers (subscribe.h).
 * Reaching `joint` convenes the case's department and enforcement
 * ("joint_departments"); reaching `city` records the city body
 * ("city_body", by escalation.city in the config, citybody.h). At `city` there is no higher level:
 * the case gets a history row "overdue" and no further timer (it still
 * shows "overdue": true).
 *
 * Main thread only.
 */
#ifndef CG_DEADLINES_H
#define CG_DEADLINES_H

#include <stdint.h>
#include "host/app.h"

typedef struct cg_deadlines cg_deadlines;

/* Arms the timer from the table. NULL on no memory. */
cg_deadlines *cg_deadlines_new(cg_app *app);
void cg_deadlines_free(cg_deadlines *dl);

/* A case got the deadline due_ms (> 0): arm earlier if needed (no query).
 * NULL dl is fine. */
void cg_deadlines_note(cg_deadlines *dl, int64_t due_ms);
/* Re-read the smallest deadline from the index and arm for it. NULL dl is
 * fine. */
void cg_deadlines_rearm(cg_deadlines *dl);

/* Escalations applied since start (tests, health). */
unsigned long long cg_deadlines_escalated(const cg_deadlines *dl);

/* ---- what an escalation records, for the timer and the
 * `escalate` verb alike. Main thread. */
struct cg_case_row;
struct cg_case_change;
struct cg_dispatch;

/* The city body (citybody.h) for the case in `row` reaching `city`:
 * cg_case_city_body (case/verbs.h) with the app's store and config. */
const char *cg_deadlines_city_body(cg_app *app, const struct cg_case_row *row);

/* Copies of an event for subscribers (subscribe.h): when any plugin
 * subscribes, fill ch->subscribers (into subs[CG_SUBSCRIBERS_MAX]),
 * ch->n_subscribers and ch->subscriber_out (= outs, zeroed, of
 * CG_SUBSCRIBERS_MAX) for an event of `kind` on a case of `department` now
 * at `level`. Returns how many (0: nothing to build; no lookups beyond the
 * config when nobody subscribes). The caller sets ch->sub_event when > 0. */
size_t cg_deadlines_subscribers(cg_app *app, struct cg_case_change *ch, const char *department,
                                const char *kind, const char *level, const char **subs,
                                struct cg_dispatch *outs);

#endif
