/*
 * store.h — the SQLite database: WAL, synchronous=FULL, foreign keys on,
 * versioned migrations (PRAGMA user_version), cached prepared statements.
 *
 * Two connections, both the main thread's. `db` writes: cg_batch's
 * transactions run on it, and a write outside them holds cg_store_lock().
 * `rdb` reads (cg_store_read_stmt): WAL lets it read the last commit while
 * a batch is open on `db`.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <sqlite3.h>

#include "lib/result.h"

typedef struct cg_store {
    sqlite3 *db;
    char *path;
    struct cg_stmt_cache *stmts;
    sqlite3 *rdb;                      /* main thread reads (query_only) */
    struct cg_stmt_cache *read_stmts;
    pthread_mutex_t write_lock;        /* cg_store_lock() */
    /* Set by cg_batch while an item's apply runs inside the item's own
     * SAVEPOINT: write functions then need no savepoint of their own (a
     * failing item is rolled back whole by the batch). */
    int in_batch_item;
    /* Changed by cg_batch at each BEGIN and each rolled-back item: lets a
     * writer cache what holds while it is unchanged (e.g. the next
     * AUTOINCREMENT values: no other connection can write while the batch
     * holds the write lock). */
    unsigned long long write_epoch;
    /* cases.c: the last seq handed out for cases / outbox, valid inside a
     * batch item while seq_epoch == write_epoch. */
    unsigned long long seq_epoch;
    long long case_seq, outbox_seq;
} cg_store;

/* Open (creating) the database and run pending migrations, each in its own
 * transaction. -1 with a message on failure. */
int cg_store_open(const char *path, cg_store **out, char *err, size_t errlen);
void cg_store_close(cg_store *st);

/* The schema version after migrations; the newest this build knows. */
int cg_store_schema_version(cg_store *st);
int cg_store_latest_version(void);

/* A prepared statement for this SQL text, prepared once and reset/unbound
 * before it is returned. `sql` must be a string literal (cached by pointer).
 * NULL on a prepare error (logged). Do not finalize it. */
sqlite3_stmt *cg_store_stmt(cg_store *st, const char *sql);

/* A prepared statement for READS on the main (libevent) thread: HTTP
 * handlers, token lookups. Same rules as cg_store_stmt. It runs on the read
 * connection `rdb` and sees the last COMMIT (never a batch in progress).
 * It cannot write (query_only): all writes go through cg_batch (or, in a
 * separate process such as an admin tool, through its own cg_store). */
sqlite3_stmt *cg_store_read_stmt(cg_store *st, const char *sql);

/* Exclusive use of the write connection `db` (and cg_store_stmt) outside a
 * cg_batch transaction (cg_batch holds it for each of its own), so that a
 * direct write never lands inside an open batch. Not recursive. */
void cg_store_lock(cg_store *st);
void cg_store_unlock(cg_store *st);

/* Run SQL with no result rows (BEGIN, COMMIT, ...). 0 ok, -1 error (logged). */
int cg_store_exec(cg_store *st, const char *sql);

/* The one step helper for a statement that returns no rows (INSERT, UPDATE,
 * DELETE) on the write connection: steps `s` once and resets it. CG_OK when
 * it ran to the end; else fills r with "cannot store WHAT: <SQLite's
 * message>" and returns CG_E_CONFLICT ("conflict") when a constraint refused
 * the row (UNIQUE, CHECK, foreign key, ...), CG_E_INTERNAL
 * ("internal_error") for anything else. `s` NULL (cg_store_stmt failed to
 * prepare) is CG_E_INTERNAL. The thread that owns `db` calls it. */
cg_status cg_store_step(cg_store *st, sqlite3_stmt *s, const char *what, cg_result *r);
/* The same for code that reports errors as text (a cg_batch apply's err):
 * 0, or -1 with cg_store_step's message in err. */
int cg_store_step_text(cg_store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen);

#endif
