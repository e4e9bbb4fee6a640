/*
 * deadletter.h — deliveries the bus gave up on (bus.max_attempts failed
 * attempts: a case that crashes or keeps failing its plugin).
 *
 * A dead letter moves the outbox row into the `dead_letters` table with the
 * reason, and writes a "dead_letter" history row on the case (actor
 * "system", status unchanged), all in one group-committed transaction. The
 * dispatch is then not delivered again, not even after a restart (it is no
 * longer in the outbox). Main thread only.
 */
#ifndef CG_DEADLETTER_H
#define CG_DEADLETTER_H

#include "host/app.h"
#include "store/store.h"

/* The bus's on_dead_letter handler; arg: the cg_app. */
void cg_deadletter_on_bus(void *arg, const char *dispatch_id, const char *department,
                          const char *reason);

/* Store side (inside a cg_batch transaction): move the outbox row of
 * dispatch_id to dead_letters and record it in the case's history.
 * 0 ok (also when the row is already gone: nothing to do), -1 err. */
int cg_deadletter_write(cg_store *st, const char *dispatch_id, const char *reason,
                        int64_t now_ms, char *err, size_t errlen);

/* How many dead letters a department has (all of them when department is
 * NULL); -1 on a read error. */
long long cg_deadletter_count(cg_store *st, const char *department);

#endif
