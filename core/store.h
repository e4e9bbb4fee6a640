/*
 * store.h — the SQLite database: WAL, synchronous=FULL, foreign keys on,
 * versioned migrations (PRAGMA user_version), cached prepared statements.
 * One connection, used only by the main (libevent) thread.
 */
#ifndef CG_STORE_H
#define CG_STORE_H

#include <stddef.h>
#include <sqlite3.h>

typedef struct cg_store {
    sqlite3 *db;
    char *path;
    struct cg_stmt_cache *stmts;
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

/* Run SQL with no result rows (BEGIN, COMMIT, ...). 0 ok, -1 error (logged). */
int cg_store_exec(cg_store *st, const char *sql);

#endif
