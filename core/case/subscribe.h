/*
 * subscribe.h — plugins that follow other departments' cases.
 *
 * A plugin's config group may say `subscribe = [ ... ]`: besides the events
 * of its own department's cases (always sent), it then gets a copy of each
 * workflow event (a verb by a person, an automatic escalation; the same
 * payload as the owner's, core/wire/PROTOCOL.md) of other departments' cases that
 * match: the report of a new case too (verb "report", kind "transition", level
 * "grid": host/flow.c), and an Open311 citizen's comment or reopen (verbs
 * "comment", "reopen": http/open311_updates.c through host/actions.h). A
 * plugin's own result (accept, handle, notes by "plugin:NAME") is not
 * copied; an escalation it causes is. Terms:
 *   "all"                       every event;
 *   "transition", "escalation"  events of that kind;
 *   "grid", "community", "joint", "city"  events whose case is at that level
 *                               after the step;
 *   a department code           events of that department's cases.
 * Terms of one sort widen (OR), sorts narrow (AND): [ "escalation", "joint",
 * "city" ] = escalations to joint or city, of any department.
 *
 * Each copy is an outbox row of its own (event = 2, its own dispatch id, so
 * durable and idempotent like any delivery); the subscriber may answer only
 * with notes (history rows by "plugin:NAME"): the case is not its to move.
 *
 * Cost: cg_subscribe_any() is a loop over the configured plugins; callers
 * build and write nothing more when it says 0.
 *
 * cg_subscribe_matches / cg_subscribe_any: pure, any thread.
 * cg_subscribers / cg_subscribe_check read the catalog: main thread.
 */
#ifndef CG_SUBSCRIBE_H
#define CG_SUBSCRIBE_H

#include <stddef.h>
#include "people/catalog.h"
#include "conf/config.h"

/* Most subscriber departments one event is copied to. */
#define CG_SUBSCRIBERS_MAX 16

/* Does p's subscription take an event of a `department` case, of `kind`,
 * with the case at `level` after the step? 0 when p subscribes to nothing. */
int cg_subscribe_matches(const cg_plugin_conf *p, const char *department, const char *kind,
                         const char *level);

/* 1 if an enabled plugin subscribes to anything, else 0. */
int cg_subscribe_any(const cg_config *cfg);

/* The departments served (per the catalog) by enabled plugins whose
 * subscription takes the event, other than `department` (the owner gets its
 * own event), each once, at most max. Returns how many; out[] point into the
 * catalog. A subscribing plugin that serves no department now (it failed to
 * load) gets nothing. */
size_t cg_subscribers(const cg_config *cfg, const cg_catalog *cat, const char *department,
                      const char *kind, const char *level, const char **out, size_t max);

/* At startup: every department code in a `subscribe` list is a department
 * of the catalog. 0 ok; -1 with "FILE:LINE: ..." in err. */
int cg_subscribe_check(const cg_config *cfg, const cg_catalog *cat, char *err, size_t errlen);

/* What a term is: 0 "all", 1 a kind, 2 a level, 3 (anything else) a
 * department code. config.c checks the shape, cg_subscribe_check the code. */
int cg_subscribe_term_sort(const char *term);

#endif
