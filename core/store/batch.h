/*
 * batch.h — group commit. Writers submit work; everything submitted during
 * one turn of the libevent loop is applied in ONE transaction, each item in
 * its own SAVEPOINT (a failing item is rolled back alone), committed with one
 * fsync, and only then are the items' done callbacks called. This is how a
 * 201 can mean "on disk with synchronous=FULL" at high request rates.
 *
 * The API is main thread only. The flush runs from a low-priority event,
 * after the loop's other ready callbacks (requests, bus messages) have run.
 *
 * Threads: by default the flush applies and commits on the main thread. After
 * cg_batch_start_writer() a writer thread owns the store's write connection:
 * the flush hands the items to it, it commits everything handed over while
 * its previous commit ran (one transaction, one fsync), and the main loop
 * calls the done callbacks. So:
 *  - apply runs on the writer thread: it may touch only its own arg and the
 *    store it is given (no app, catalog, bus, HTTP or libevent state; check
 *    such things before submitting and put the answer in arg);
 *  - done always runs on the main thread, after COMMIT, in submit order;
 *  - main-thread reads go through cg_store_read_stmt (the read connection,
 *    which sees the last COMMIT); a main-thread write outside cg_batch must
 *    hold cg_store_lock().
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
/* Flushes what is pending (waiting for the writer), stops the writer
 * thread if any, then frees. */
void cg_batch_free(cg_batch *b);

/* Commit on a writer thread from now on (see above). Call once, after the
 * store's startup writes (migrations, bootstrap). 0 ok, -1 err (the batch
 * keeps committing on the main thread). */
int cg_batch_start_writer(cg_batch *b, char *err, size_t errlen);

void cg_batch_submit(cg_batch *b, cg_batch_apply_fn apply, cg_batch_done_fn done, void *arg);
/* Apply and commit everything pending now, and call its done callbacks
 * (tests, shutdown); with a writer thread, waits for it. */
void cg_batch_flush(cg_batch *b);

/* Counters for the benchmark and /v1/health. */
typedef struct cg_batch_stats {
    unsigned long long commits, items, failed_items;
    size_t largest_batch;
} cg_batch_stats;
void cg_batch_get_stats(const cg_batch *b, cg_batch_stats *out);

#endif
