/*
 * deadletter.c — record deliveries the bus gave up on (see deadletter.h).
 */
#include "host/deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/batch.h"
#include "lib/log.h"
#include "lib/timeutil.h"

int cg_deadletter_write(cg_store *st, const char *dispatch_id, const char *reason,
                        int64_t now_ms, char *err, size_t errlen)
{
    /* History first: it reads the case through the outbox row. */
    sqlite3_stmt *hist = cg_store_stmt(st,
        "INSERT INTO case_history (case_id, at, actor, action, from_status, to_status, note) "
        "SELECT c.id, ?2, 'system', 'dead_letter', c.status, c.status, ?3 "
        "FROM outbox o JOIN cases c ON c.id = o.case_id WHERE o.id = ?1");
    sqlite3_stmt *move = cg_store_stmt(st,
        "INSERT INTO dead_letters (id, case_id, department, payload, reason, created_at, dead_at) "
        "SELECT id, case_id, department, payload, ?3, created_at, ?2 FROM outbox WHERE id = ?1");
    sqlite3_stmt *del = cg_store_stmt(st, "DELETE FROM outbox WHERE id = ?1");
    if (!hist || !move || !del) {
        snprintf(err, errlen, "dead letter %s: cannot prepare statements", dispatch_id);
        return -1;
    }
    char note[400];
    snprintf(note, sizeof note, "dispatch %s dead-lettered: %s", dispatch_id, reason);
    sqlite3_stmt *steps[] = {hist, move, del};
    for (size_t i = 0; i < 3; i++) {
        sqlite3_bind_text(steps[i], 1, dispatch_id, -1, SQLITE_TRANSIENT);
        if (i < 2) {
            sqlite3_bind_int64(steps[i], 2, now_ms);
            sqlite3_bind_text(steps[i], 3, i == 0 ? note : reason, -1, SQLITE_TRANSIENT);
        }
        int rc = sqlite3_step(steps[i]);
        if (rc != SQLITE_DONE) {
            snprintf(err, errlen, "dead letter %s: %s", dispatch_id,
                     sqlite3_errmsg(sqlite3_db_handle(steps[i])));
            sqlite3_reset(steps[i]);
            return -1;
        }
        int changed = sqlite3_changes(sqlite3_db_handle(steps[i]));
        sqlite3_reset(steps[i]);
        if (i == 0 && changed == 0) {
            CG_INFO("deadletter", "%s: no outbox row any more (already applied)", dispatch_id);
            return 0;
        }
    }
    return 0;
}

typedef struct pending_dead {
    char id[64];
    char reason[256];
} pending_dead;

static int apply_dead(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_dead *pd = arg;
    return cg_deadletter_write(st, pd->id, pd->reason, cg_now_ms(), err, errlen);
}

static void dead_committed(void *arg, int status, const char *err)
{
    pending_dead *pd = arg;
    if (status == 0)
        CG_NOTICE("deadletter", "%s recorded as dead letter: %s", pd->id, pd->reason);
    else /* the outbox row stays: it is delivered again after a restart */
        CG_ERROR("deadletter", "%s: dead letter not recorded: %s", pd->id, err ? err : "?");
    free(pd);
}

void cg_deadletter_on_bus(void *arg, const char *dispatch_id, const char *department,
                          const char *reason)
{
    cg_app *app = arg;
    pending_dead *pd = calloc(1, sizeof *pd);
    if (!pd) {
        CG_ERROR("deadletter", "%s: out of memory", dispatch_id);
        return;
    }
    snprintf(pd->id, sizeof pd->id, "%s", dispatch_id);
    snprintf(pd->reason, sizeof pd->reason, "%s", reason ? reason : "failed");
    cg_batch_submit(app->batch, apply_dead, dead_committed, pd);
}

long long cg_deadletter_count(cg_store *st, const char *department)
{
    sqlite3_stmt *q = department
        ? cg_store_read_stmt(st, "SELECT COUNT(*) FROM dead_letters WHERE department = ?1")
        : cg_store_read_stmt(st, "SELECT COUNT(*) FROM dead_letters");
    if (!q)
        return -1;
    if (department)
        sqlite3_bind_text(q, 1, department, -1, SQLITE_TRANSIENT);
    long long n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q);
    return n;
}
