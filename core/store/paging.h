/*
 * paging.h — one keyset-paging loop for every listing: step a statement,
 * keep at most `limit` rows, and turn the last kept row into the cursor of
 * the next page.
 *
 * The statement must be bound already, be ordered by the key the cursor
 * stands for (the same order the caller's "after/before" condition uses),
 * and select LIMIT limit+1 rows: the extra row only tells that a next page
 * exists and is never returned.
 *
 * Result: a new reference to {"items": [...], "next": cursor or null}, or
 * NULL when a step failed (nothing is kept then). The statement is reset,
 * not finalized: it stays the caller's. Same threading as the statement:
 * call it on the thread that owns the statement's connection.
 */
#ifndef CG_PAGING_H
#define CG_PAGING_H

#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"

/* One row as JSON, as a new reference. */
typedef json_t *(*cg_page_row_fn)(sqlite3_stmt *s, void *ctx);
/* The cursor that resumes after the current row, written into buf. */
typedef void (*cg_page_cursor_fn)(sqlite3_stmt *s, void *ctx, char *buf, size_t len);

typedef struct cg_page_spec {
    cg_page_row_fn row;
    void *ctx;               /* given to row and cursor */
    cg_page_cursor_fn cursor; /* NULL: the integer id_column makes the cursor */
    int id_column;
    const char *id_prefix;   /* "CK" gives cg_row_id_format's "CK00000042";
                                NULL gives the bare decimal "42" */
} cg_page_spec;

/* Longest cursor a cg_page_cursor_fn may write, with its NUL. */
#define CG_PAGE_CURSOR_SIZE 160

json_t *cg_page_collect_spec(sqlite3_stmt *s, int limit, const cg_page_spec *spec);

/* The common case: rows need nothing but the statement, and the cursor is
 * the integer in id_column, formatted with id_prefix (see cg_page_spec). */
json_t *cg_page_collect(sqlite3_stmt *s, int limit, json_t *(*row)(sqlite3_stmt *),
                        int id_column, const char *id_prefix);

/* The one-row counterpart: `sql` (a read, with ?1 the row id) run on the
 * main thread's read connection (cg_store_read_stmt). The row as JSON (new
 * reference), or NULL when there is no such row or reading failed. */
json_t *cg_row_by_id(cg_store *st, const char *sql, long long id,
                     json_t *(*row)(sqlite3_stmt *));

#endif
