/*
 * cases.h — cases, their history and their dispatch outbox in SQLite.
 *
 * Write functions run inside a cg_batch transaction (they do not BEGIN or
 * COMMIT themselves), on the thread that runs the batch's apply functions;
 * inside a batch item they rely on the item's SAVEPOINT, so an apply must
 * return -1 when one of them fails. Called outside any transaction (tests,
 * tools) each is a transaction of its own. Read functions run between
 * batches on the thread that owns the store. Every state change writes a
 * history row in the same transaction.
 *
 * The outbox: a case sent to a department has one outbox row until that
 * department's plugin result is committed; the row and the case change are in
 * one transaction, so a dispatch is never lost and never applied twice.
 */
#ifndef CG_CASES_H
#define CG_CASES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lib/result.h"
#include "store/store.h"
#include "wire/dispatch.h"

/* A validated report, ready to store. Strings are borrowed. */
typedef struct cg_new_case {
    const char *category;
    const char *department;   /* routed owner (catalog) */
    const char *grid;         /* "" when unknown */
    const char *description;
    const char *source;       /* "patrol" by default */
    const char *reporter;     /* member id of the caller */
    double lat, lon;
    int has_location;
    int needs_penalty;
    int handled_on_site;      /* straight to `handled`, no dispatch */
    double sla_hours;
    json_t *extra;            /* other fields from the report (borrowed, may be NULL) */
    /* How to reach the person who reported it (Open311's email, names,
     * phone; borrowed, may be NULL): stored apart (case_contacts), never in
     * the case JSON nor the dispatch. */
    json_t *contact;
    /* Subscribers (subscribe.h) told of the new case, as with
     * cg_case_change: a copy of sub_event (borrowed) as an event = 2 outbox
     * row to each of subscribers[0..n_subscribers), written in the case's
     * transaction into subscriber_out[i] (the caller's, zeroed; enqueue after
     * COMMIT, then clear). n_subscribers 0: none. */
    json_t *sub_event;
    const char *const *subscribers;
    size_t n_subscribers;
    cg_dispatch *subscriber_out;
    /* The request that reported it, when it must never report twice (a
     * signed inbound request: its signature), or NULL. Stored in
     * request_keys in the case's transaction; a key stored already refuses
     * the insert (err CG_CASES_REQUEST_SEEN). Keys older than
     * request_keep_s seconds are dropped in the same write. */
    const char *request_key;
    int64_t request_keep_s;
} cg_new_case;


/* Insert case + history ("report", and "dispatch" unless handled on site) +
 * outbox row + the subscribers' copies. Fills case_id; *dispatched=1 and *out filled when an outbox row
 * was written. 0 ok, -1 error (err). */
int cg_cases_insert(cg_store *st, const cg_new_case *nc, int64_t now_ms, char case_id[32],
                    cg_dispatch *out, int *dispatched, char *err, size_t errlen);

/* The insert's err when its request_key is stored already. */
#define CG_CASES_REQUEST_SEEN "request already received"

/* 1 if a case was reported by the request `key` (cg_new_case.request_key)
 * at or after since_s (unix s), 0 if not, -1 on a storage fault. The thread
 * that owns st (the read connection: the main thread). */
int cg_cases_request_seen(cg_store *st, const char *key, int64_t since_s);

/* The case as the API shows it (like cg_cases_get) right after
 * cg_cases_insert(nc, now_ms) stored it as case_id: built from the report,
 * without reading the database. Any thread; new reference (NULL: no memory). */
json_t *cg_cases_new_json(const cg_new_case *nc, const char *case_id, int64_t now_ms);

/* Outcome of applying a plugin's result. Not a cg_status: nobody refuses a
 * result (a plugin gets no answer but the ACK), and DUPLICATE is no error
 * but a redelivery that is acknowledged again without writing; only ERROR
 * rolls the batch item back. */
enum { CG_APPLY_DONE = 0, CG_APPLY_DUPLICATE = 1, CG_APPLY_ERROR = -1 };

/* Apply a plugin RESULT for `dispatch_id`: its `actions` array (accept,
 * assign, deadline, transfer, note; see core/wire/PROTOCOL.md) in order, then
 * delete the outbox row. Actor in history: "plugin:NAME". A transfer moves the
 * case to the new department and writes a new outbox row, returned in *next
 * (*has_next=1). Returns CG_APPLY_DUPLICATE, writing nothing, when the outbox
 * row is already gone (a redelivered result). `valid_department` says whether
 * a transfer target exists. */
int cg_cases_apply_result(cg_store *st, const char *dispatch_id, const char *plugin,
                          json_t *actions, int64_t now_ms,
                          int (*valid_department)(void *arg, const char *code), void *vd_arg,
                          cg_dispatch *next, int *has_next, char *err, size_t errlen);

/* What an `escalate` action in a result sets off besides the level,
 * decided on the main thread (the apply may run on the writer thread, which
 * must not read the catalog or config). For the case of `department` (the
 * lists are ignored when the case is no longer that department's):
 * subscribers[L][0..n_subscribers[L]) are the subscriber departments
 * (subscribe.h) of an escalation to level L (0 community, 1 joint, 2 city);
 * city_body the body a case reaching `city` records (citybody.h; NULL: none).
 * When the result raises the level, the apply writes, in the result's
 * transaction, one event = 2 outbox row per subscriber of the level reached,
 * with an "escalation" event (actor "plugin:NAME"), into subscriber_out
 * (room for the longest list, zeroed by the caller; payload NULL when none;
 * the caller enqueues them after COMMIT and clears them). */
typedef struct cg_result_escalation {
    const char *department;
    const char *const *subscribers[3];
    size_t n_subscribers[3];
    const char *city_body;
    cg_dispatch *subscriber_out;
} cg_result_escalation;

/* cg_cases_apply_result, with what an escalation sets off (esc may be NULL:
 * then exactly cg_cases_apply_result). */
int cg_cases_apply_result_esc(cg_store *st, const char *dispatch_id, const char *plugin,
                              json_t *actions, int64_t now_ms,
                              int (*valid_department)(void *arg, const char *code), void *vd_arg,
                              const cg_result_escalation *esc, cg_dispatch *next, int *has_next,
                              char *err, size_t errlen);

/* The case as the API shows it (API.md), with `history`. NULL if unknown.
 * Caller owns the reference. */
json_t *cg_cases_get(cg_store *st, const char *case_id);

typedef struct cg_case_filter {
    const char *grid, *status, *department, *assignee, *level;
    int64_t since_ms;         /* 0: no bound (reported at or after) */
    int overdue;              /* 1: only open cases past expected_at */
    int64_t now_ms;
    int limit;                /* 1..1000 */
    const char *cursor;       /* opaque, from a previous page's `next` */
} cg_case_filter;
/* {"items": [...], "next": cursor|null}, newest first. NULL on a bad cursor. */
json_t *cg_cases_list(cg_store *st, const cg_case_filter *f);

/* Every outbox row, oldest first, for the bus after a restart. The callback
 * takes ownership of d->payload. */
int cg_outbox_load(cg_store *st, void (*cb)(void *arg, cg_dispatch *d), void *arg);
long long cg_outbox_count(cg_store *st);
long long cg_cases_count(cg_store *st);

/* ---- the workflow (workflow.h has the rules) ------------------- */

/* now_ms + sla_hours (fractions allowed) in ms; 0 when sla_hours is not
 * positive. The deadline of a dispatch, and of each escalation level. */
int64_t cg_cases_deadline_after(int64_t now_ms, double sla_hours);

/* What the workflow needs of a case, read on the main thread (read
 * connection). Strings are copies ("" when NULL in the row). */
typedef struct cg_case_row {
    char id[32], status[16], level[16], department[32], grid[16];
    char assignee[64], reporter[64], handled_by[64];
    char category[64];
    char requires[128];     /* comma list of what `handle` must carry */
    double sla_hours;
    int64_t expected_at;    /* 0: none */
} cg_case_row;
/* 1 found, 0 no such case, -1 error. */
int cg_cases_read_row(cg_store *st, const char *case_id, cg_case_row *out);

/* One workflow step as the store applies it: every field is decided on the
 * main thread (workflow.c, scope) and only written here, in ONE batch item:
 * the case UPDATE, its history row(s), and at most one outbox row (a new
 * dispatch, or an event for the plugin). Strings are borrowed until the
 * apply returns. */
typedef struct cg_case_change {
    const char *case_id;
    const char *actor;          /* member id, "system" */
    const char *action;         /* history action: the verb, or e.g. "reopen" */
    const char *note;           /* history note, may be NULL */
    /* What the caller saw: the apply refuses (CG_E_CONFLICT) when the
     * row no longer has it. expect_level NULL: not checked. */
    const char *expect_status, *expect_department, *expect_level;
    const char *to_status;      /* NULL: unchanged */
    const char *department;     /* NULL: unchanged */
    int set_assignee;           /* 1: assignee := assignee (NULL clears) */
    const char *assignee;
    int rework_inc, misroute_inc;
    const char *level;          /* NULL: unchanged */
    int64_t expected_at;        /* > 0: the new deadline */
    int postponed;              /* 1: mark postponed */
    int timer;                  /* CG_TIMER_*: the next automatic escalation */
    int satisfaction;           /* 1..5; 0: unchanged */
    int set_handled_by;         /* 1: handled_by := actor */
    json_t *fulfil;             /* object merged into extra; clears `requires` */
    /* A second history row after the first (e.g. "rate" then "reopen"). */
    const char *action2, *note2, *to_status2;
    int new_dispatch;           /* a new outbox row to the (new) department */
    json_t *event;              /* else, when not NULL: an event outbox row */
    const char *link_case;      /* also a "duplicate" history row on that case */
    const char *link_note;
    /* Escalation details (NULL: unchanged): the city body a case
     * reaching `city` goes to (citybody.h), and the departments a joint task
     * convenes as JSON array text, e.g. ["market","enforcement"]. */
    const char *city_body;
    const char *joint_departments;
    /* Subscribers (subscribe.h): a copy of sub_event (borrowed; the same
     * payload as the owner's event) as an outbox row of its own (event = 2)
     * to each of subscribers[0..n_subscribers); the rows written are put in
     * subscriber_out[i] (the caller's array of n_subscribers, zeroed by the
     * caller; payload NULL when none; freed again when the apply fails), to
     * enqueue after COMMIT and then clear. */
    json_t *sub_event;
    const char *const *subscribers;
    size_t n_subscribers;
    cg_dispatch *subscriber_out;
} cg_case_change;
enum { CG_TIMER_KEEP = 0, CG_TIMER_CLEAR = 1, CG_TIMER_SET = 2 /* = the (new) expected_at */ };
/* Apply ch (see cases.h's header comment for transactions). *out / *has_out
 * get the outbox row written (the caller enqueues it after COMMIT). CG_OK;
 * CG_E_CONFLICT when the case no longer is what the caller saw (nothing
 * written; err says so); CG_E_INTERNAL with err for a storage fault. err
 * stays a buffer: it is the batch item's reason (store/batch.h). */
cg_status cg_cases_apply_change(cg_store *st, const cg_case_change *ch, int64_t now_ms,
                                cg_dispatch *out, int *has_out, char *err, size_t errlen);

/* Escalation timer support (deadlines.c), main thread, read connection:
 * the smallest escalate_at of any case (0: none), and the cases due at
 * now_ms (escalate_at <= now_ms), oldest first, at most max; both walk the
 * partial index cases_by_escalate_at. */
int64_t cg_cases_next_escalation(cg_store *st);
size_t cg_cases_due_escalations(cg_store *st, int64_t now_ms, cg_case_row *rows, size_t max);

#endif
