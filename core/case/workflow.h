/*
 * workflow.h — the closed loop's rules, pure: which verb moves a case from
 * which status to which (the transition table), who may use each verb
 * (from facts about the caller computed elsewhere), and the escalation
 * ladder. No I/O, no state: any thread; unit-tested in
 * tests/unit/test_workflow.c.
 *
 * Statuses (API.md): reported, dispatched, accepted, handled, closed,
 * cancelled. Verbs: dispatch, accept, handle, review (pass|reject),
 * transfer, escalate, postpone, cancel, reopen, rate.
 *
 *   verb       from                              to
 *   dispatch   reported, dispatched              dispatched (to a department)
 *   accept     dispatched                        accepted
 *   handle     accepted                          handled
 *   review     handled                           closed (pass) | accepted (reject, rework+1)
 *   transfer   dispatched, accepted              dispatched (with a department) |
 *                                                reported (without: the leader dispatches)
 *   escalate   reported, dispatched, accepted    (same; level + 1)
 *   postpone   reported, dispatched, accepted    (same; expected_at moved)
 *   cancel     reported, dispatched, accepted,   cancelled
 *              handled
 *   reopen     closed, cancelled                 dispatched (to its department again)
 *   rate       closed                            closed | dispatched (low score, not fixed)
 */
#ifndef CG_WORKFLOW_H
#define CG_WORKFLOW_H

typedef enum cg_wf_verb {
    CG_WF_DISPATCH,
    CG_WF_ACCEPT,
    CG_WF_HANDLE,
    CG_WF_REVIEW,
    CG_WF_TRANSFER,
    CG_WF_ESCALATE,
    CG_WF_POSTPONE,
    CG_WF_CANCEL,
    CG_WF_REOPEN,
    CG_WF_RATE,
    CG_WF_N_VERBS
} cg_wf_verb;

/* The verb named `name`; -1 if none. */
int cg_wf_verb_parse(const char *name);
const char *cg_wf_verb_name(cg_wf_verb v);

/* Details that pick between a verb's outcomes. */
typedef struct cg_wf_choice {
    int review_pass;       /* review: 1 pass, 0 reject */
    int has_department;    /* transfer: a target department was named */
    int reopen_by_rating;  /* rate: a low score with fixed = false */
} cg_wf_choice;

/* The status after `verb` on a case in `status` (a static string), or NULL
 * when the verb is not allowed in that status (HTTP 409). */
const char *cg_wf_next_status(const char *status, cg_wf_verb verb, const cg_wf_choice *choice);

/* A rating reopens the case when it is at most this and fixed is false. */
#define CG_WF_LOW_SATISFACTION 2

/* What is known about the caller relative to one case (computed by the
 * HTTP layer from scope.h and the case row). */
typedef struct cg_wf_actor {
    int admin;
    int manages_grid;   /* leader or instructor of the case's grid */
    int of_department;  /* the department's account, or a professional/optional
                           member of the case's department in the case's grid */
    int is_assignee;
    int is_reporter;
    int is_handler;     /* reported it handled on site, or did `handle` */
    int is_citizen;     /* a citizen-channel account (member department "citizen") */
} cg_wf_actor;

/* 1 if the caller may use the verb on the case, else 0 (HTTP 403):
 *  - admin: every verb;
 *  - dispatch, escalate, postpone (the approval), cancel (also as a
 *    duplicate), reopen: the grid's leader or instructor;
 *  - accept, handle: the assignee or the department (its account, or its
 *    professional / optional member in that grid);
 *  - review: the grid's leader or instructor, but never the handler;
 *  - transfer: the department (as for accept), the assignee, or the grid's
 *    leader or instructor;
 *  - rate: the reporter, or a citizen-channel account. */
int cg_wf_allowed(cg_wf_verb verb, const cg_wf_actor *who);

/* The escalation ladder: grid -> community -> joint -> city. The next level
 * (static string), or NULL at the top or for an unknown level. */
const char *cg_wf_next_level(const char *level);
/* 0..3 for grid..city, -1 unknown. */
int cg_wf_level_rank(const char *level);

#endif
