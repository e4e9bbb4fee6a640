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
#include "store.h"

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
} cg_new_case;

/* One delivery in the outbox. `payload` is the JSON the plugin receives. */
typedef struct cg_dispatch {
    int64_t seq;              /* outbox row id */
    char id[32];              /* "D00000042": the idempotency key */
    char case_id[32];
    char department[32];
    char *payload;            /* malloc'd, owned by whoever holds the struct */
    unsigned attempts;
} cg_dispatch;
void cg_dispatch_clear(cg_dispatch *d); /* frees payload */

/* Insert case + history ("report", and "dispatch" unless handled on site) +
 * outbox row. Fills case_id; *dispatched=1 and *out filled when an outbox row
 * was written. 0 ok, -1 error (err). */
int cg_cases_insert(cg_store *st, const cg_new_case *nc, int64_t now_ms, char case_id[32],
                    cg_dispatch *out, int *dispatched, char *err, size_t errlen);

/* The case as the API shows it (like cg_cases_get) right after
 * cg_cases_insert(nc, now_ms) stored it as case_id: built from the report,
 * without reading the database. Any thread; new reference (NULL: no memory). */
json_t *cg_cases_new_json(const cg_new_case *nc, const char *case_id, int64_t now_ms);

/* Outcome of applying a plugin's result. */
enum { CG_APPLY_DONE = 0, CG_APPLY_DUPLICATE = 1, CG_APPLY_ERROR = -1 };

/* Apply a plugin RESULT for `dispatch_id`: its `actions` array (accept,
 * assign, deadline, transfer, note; see core/PROTOCOL.md) in order, then
 * delete the outbox row. Actor in history: "plugin:NAME". A transfer moves the
 * case to the new department and writes a new outbox row, returned in *next
 * (*has_next=1). Returns CG_APPLY_DUPLICATE, writing nothing, when the outbox
 * row is already gone (a redelivered result). `valid_department` says whether
 * a transfer target exists. */
int cg_cases_apply_result(cg_store *st, const char *dispatch_id, const char *plugin,
                          json_t *actions, int64_t now_ms,
                          int (*valid_department)(void *arg, const char *code), void *vd_arg,
                          cg_dispatch *next, int *has_next, char *err, size_t errlen);

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

#endif
