/*
 * paging.c — see paging.h.
 */
#include "store/paging.h"

#include <stdio.h>

#include "lib/rowid.h"

json_t *cg_page_collect_spec(sqlite3_stmt *s, int limit, const cg_page_spec *spec)
{
    json_t *items = json_array();
    char next[CG_PAGE_CURSOR_SIZE] = "";
    long long last = 0;
    int rc, n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n++ == limit)
            break; /* the extra row: a next page exists */
        /* Read the cursor before the next step invalidates the columns. */
        if (spec->cursor)
            spec->cursor(s, spec->ctx, next, sizeof next);
        else
            last = sqlite3_column_int64(s, spec->id_column);
        json_array_append_new(items, spec->row(s, spec->ctx));
    }
    int more = rc == SQLITE_ROW;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    if (!spec->cursor) {
        if (spec->id_prefix)
            cg_row_id_format(spec->id_prefix, last, next, sizeof next);
        else
            snprintf(next, sizeof next, "%lld", last);
    }
    return json_pack("{s:o, s:o}", "items", items, "next", more ? json_string(next) : json_null());
}

json_t *cg_row_by_id(cg_store *st, const char *sql, long long id,
                     json_t *(*row)(sqlite3_stmt *))
{
    sqlite3_stmt *s = cg_store_read_stmt(st, sql);
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    json_t *j = sqlite3_step(s) == SQLITE_ROW ? row(s) : NULL;
    sqlite3_reset(s);
    return j;
}

/* A function pointer cannot travel through a void *: wrap it. */
struct plain_row {
    json_t *(*row)(sqlite3_stmt *);
};

static json_t *call_plain_row(sqlite3_stmt *s, void *ctx)
{
    return ((const struct plain_row *)ctx)->row(s);
}

json_t *cg_page_collect(sqlite3_stmt *s, int limit, json_t *(*row)(sqlite3_stmt *),
                        int id_column, const char *id_prefix)
{
    struct plain_row plain = {row};
    cg_page_spec spec = {.row = call_plain_row, .ctx = &plain, .id_column = id_column,
                         .id_prefix = id_prefix};
    return cg_page_collect_spec(s, limit, &spec);
}
