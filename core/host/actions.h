/*
 * actions.h — a workflow verb's way in: the one domain entry point behind
 * POST /v1/cases/{id}/actions. case/verbs.h decides the change (checks in
 * order, one function per verb); this applies it in ONE batch item (the
 * case, its history row(s), at most one outbox row: a new dispatch, or an
 * event for the owning plugin; plus one event row per subscriber), and
 * after COMMIT enqueues those rows on the bus, re-arms the deadline timer
 * and calls back. The apply re-checks the status, department and level it
 * was decided on: a verb that lost a race is refused as invalid_transition.
 *
 * Who hears of a step: the owning plugin sees every step it did not cause
 * itself (a new dispatch is its own notice); subscribers (case/subscribe.h)
 * see every step of the cases they follow, dispatches included.
 *
 * Main thread only.
 */
#ifndef CG_ACTIONS_H
#define CG_ACTIONS_H

#include <jansson.h>
#include "case/cases.h"
#include "case/subscribe.h"
#include "host/app.h"
#include "lib/result.h"
#include "people/auth.h"

/* After the commit, exactly once, on the main thread: r CG_OK (the case
 * changed; read it with cg_cases_get), or r CG_E_CONFLICT
 * "invalid_transition" with the case's status now in current_status (it
 * moved meanwhile), or r CG_E_INTERNAL (not stored). case_id is the case's. */
typedef void (*cg_action_done)(void *arg, const cg_result *r, const char *case_id,
                               const char *current_status);

/* Take the verb in `body` (borrowed) by `who` on case `case_id`. CG_OK: on
 * its way, `done` will be called. Otherwise the refusal is in r (the order
 * and statuses of case/verbs.h), current_status (16 bytes) holds the case's
 * status once it was read, nothing was written and `done` is never called. */
cg_status cg_actions_take(cg_app *app, const cg_principal *who, const char *case_id, json_t *body,
                          cg_action_done done, void *arg, char current_status[16], cg_result *r);

/* Who hears of a change to `row` (as read before it): sets ch->event for
 * the owning plugin (none when ch->new_dispatch: the dispatch is its
 * notice) and the subscribers' copies (ch->sub_event, ch->subscribers,
 * n_subscribers, subscriber_out = sub_out), with ch->actor and ch->note.
 * Used by the verbs and by the changes that come another way (an Open311
 * citizen's comment or reopen), so every change is heard alike. subs and
 * sub_out: the caller's arrays of CG_SUBSCRIBERS_MAX, zeroed, kept until
 * after the commit; the caller owns ch->event and ch->sub_event (decref). */
void cg_actions_add_events(cg_app *app, cg_case_change *ch, const cg_case_row *row,
                           const char *kind, const char *verb, const char *to_status,
                           const char **subs, cg_dispatch *sub_out);

#endif
