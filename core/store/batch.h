/*
 * batch.h — group commit. Writers submit work; everything submitted during
 * one turn of the libevent loop is applied in ONE transaction, each item in
 * its own SAVEPOINT (a failing item is rolled back alone), committed with one
 * fsync, and only then are the items' done callbacks called. This is how a
 * 201 can mean "on disk with synchronous=FULL" at high request rates.
 *
 * Main thread only: apply and done both run there (apply inside the
 * transaction, done after COMMIT, in submit order). The flush runs from a
 * low-priority event, after the loop's other ready callbacks (requests, bus
 * messages) have run. (A writer thread was tried and measured; batch.c says
 * why it went.)
 */
#ifndef CG_BATCH_H
#define CG_BATCH_H

#include <stddef.h>
#include "store/store.h"

struct event_base;
typedef struct cg_batch cg_batch;

/* Runs inside the transaction. Return 0 to keep the item's writes, or -1
 * after writing a reason into err (its savepoint is rolled back). */
typedef int (*cg_batch_apply_fn)(cg_store *st, void *arg, char *err, size_t errlen);
/* Runs after COMMIT. status 0: durable; -1: not written (err says why). */
typedef void (*cg_batch_done_fn)(void *arg, int status, const char *err);

/* The base must have been given >= 3 priorities (event_base_priority_init);
 * the flush event uses the lowest. */
cg_batch *cg_batch_new(struct event_base *base, cg_store *st);
/* Flushes what is pending, then frees. */
void cg_batch_free(cg_batch *b);

void cg_batch_submit(cg_batch *b, cg_batch_apply_fn apply, cg_batch_done_fn done, void *arg);
/* Apply and commit everything pending now, and call its done callbacks
 * (tests, shutdown). */
void cg_batch_flush(cg_batch *b);

/* Counters for the benchmark and /v1/health. */
typedef struct cg_batch_stats {
    unsigned long long commits, items, failed_items;
    size_t largest_batch;
} cg_batch_stats;
void cg_batch_get_stats(const cg_batch *b, cg_batch_stats *out);

#endif
