/*
 * verbs.h — the workflow's verbs as a table (the model: Knot DNS's
 * ctl/commands.c): one function per verb fills the case change that verb
 * makes, and a table indexed by cg_wf_verb picks it. cg_verb_prepare is the
 * whole decision behind POST /v1/cases/{id}/actions; host/actions.c applies
 * it in a batch and tells the bus; http/api_workflow.c parses and answers.
 *
 * The order of checks (each refusal changes nothing):
 *  1. the body's shape: CG_E_INVALID (unknown_action, missing_field,
 *     invalid_field);
 *  2. the case: CG_E_NOT_FOUND;
 *  3. may the caller see it (case/scope.h): CG_E_FORBIDDEN;
 *  4. is the verb allowed in the case's status (workflow.h):
 *     CG_E_CONFLICT "invalid_transition", with the case's status;
 *  5. may the caller use it (cg_wf_allowed): CG_E_FORBIDDEN;
 *  6. the verb's own arguments: CG_E_UNPROCESSABLE (and CG_E_INVALID for a
 *     malformed one), by the verb's function.
 *
 * Rules that are policy, kept here with the verbs:
 *  - A transfer by a person (the department returning the case, or the
 *    leader re-routing it) counts a misroute; it keeps the case id, history
 *    and deadline (expected_at is NOT restarted; the escalation timer runs
 *    on). Without a "department" it goes back to `reported` for the grid's
 *    leader to `dispatch`.
 *  - Each escalation level (by hand or by the timer, host/deadlines.c) gets
 *    the category's SLA again: expected_at = now + sla_hours.
 *  - An escalation to `joint` records the departments convened (the case's
 *    "joint_departments"): "departments": [codes] of the request (checked
 *    against the catalog; CG_E_INVALID when not an array,
 *    CG_E_UNPROCESSABLE for an unknown code), else the case's department and
 *    enforcement. One to `city` records the city body (the case's
 *    "city_body", citybody.h) by escalation.city in the config. Both also go
 *    into the history note.
 *  - A postponement is the leader's approval: "until" (ISO time, in the
 *    future, later than the current deadline) becomes expected_at.
 *  - Review passes a category with requires_after_photo only with an
 *    "after" photo (evidence.h).
 *  - `handle` must carry what the department's plugin asked for
 *    (case_require, e.g. enforcement's penalty_decision).
 *  - `cancel` with "duplicate_of" links the other case's history.
 *  - `rate`: the reporter, or a citizen-channel account (department
 *    "citizen", e.g. the 12345 hotline; it may rate any closed case).
 *    satisfaction <= CG_WF_LOW_SATISFACTION with "fixed": false reopens the
 *    case to its department with a fresh deadline, as `reopen` does.
 *
 * Main thread only (the read connection, the catalog, the config).
 */
#ifndef CG_VERBS_H
#define CG_VERBS_H

#include <stdint.h>
#include <jansson.h>

#include "case/cases.h"
#include "case/subscribe.h"
#include "case/workflow.h"
#include "conf/config.h"
#include "lib/result.h"
#include "people/auth.h"
#include "people/catalog.h"
#include "store/store.h"

#define CG_VERB_NOTE_MAX 2000

/* One verb on one case, decided: the change for cg_cases_apply_change and
 * the strings it borrows (owned here), plus room for what the apply writes
 * (the outbox rows to enqueue after COMMIT). */
typedef struct cg_verb_action {
    cg_wf_verb verb;
    cg_case_row row; /* the case as the decision saw it */
    cg_case_change ch;
    char case_id[32], actor[64], action[16], action2[16];
    char expect_status[16], expect_department[32], expect_level[16];
    char to_status[16], to_status2[16], department[32], assignee[64], level[16];
    char link_case[32];
    char *note, *link_note;
    char *joint;  /* joint_departments (JSON text) */
    json_t *body; /* keeps strings the change borrows */
    /* Filled by the apply / by host/actions.c. */
    int outcome;  /* cg_status of cg_cases_apply_change */
    cg_dispatch out;
    int has_out;
    const char *subs[CG_SUBSCRIBERS_MAX];    /* subscribers' departments */
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX]; /* their event rows, to enqueue */
} cg_verb_action;

/* Decide `body` (borrowed: a reference is kept) by `who` on case `case_id`.
 * CG_OK and *out (free with cg_verb_action_free), or the refusal in r (see
 * the order above); `current_status` (16 bytes) gets the case's status once
 * the case was read ("" before), for an "invalid_transition" answer. */
cg_status cg_verb_prepare(cg_store *st, const cg_catalog *cat, const cg_config *cfg,
                          const cg_principal *who, const char *case_id, json_t *body,
                          cg_verb_action **out, char current_status[16], cg_result *r);
void cg_verb_action_free(cg_verb_action *a);

/* The verbs `who` may use on case `case_id` now, for the case page (GET
 * /v1/cases/{id} "verbs"): each verb that checks 3 to 5 above let through
 * (and escalate only below `city`), in the table's order. A verb listed can
 * still be refused by its own arguments (check 6: a missing reason, a date
 * in the past); one left out is refused with 403 or 409. CG_OK and a new
 * JSON array of verb names in *out (empty when none), or the refusal in r
 * (CG_E_NOT_FOUND, CG_E_INTERNAL). */
cg_status cg_verbs_usable(cg_store *st, const cg_principal *who, const char *case_id,
                          json_t **out, cg_result *r);

/* The city body (citybody.h) for a case reaching `city`: by its category and
 * its grid's district. A static or config string. For the verb and the
 * escalation timer alike. */
const char *cg_case_city_body(cg_store *st, const cg_config *cfg, const cg_case_row *row);

/* The departments a joint task convenes when nobody named them: the case's
 * department, then enforcement (once). JSON array text, malloc'd (NULL: no
 * memory). */
char *cg_case_default_joint(const char *department);

#endif
