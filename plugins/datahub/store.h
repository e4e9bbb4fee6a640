/*
 * store.h — the datahub plugin's own SQLite file: opened (and on first use
 * filled from an SQL script, the synthetic contrib/lishui/sources.sql) in
 * init(), read by query(), closed in shutdown(). The core's database never
 * holds any of it.
 *
 * One dh_store per plugin instance, used only on the plugin's thread.
 * Strings handed to the row callback are owned by SQLite and valid during
 * the call only (query_row copies them).
 */
#ifndef DATAHUB_STORE_H
#define DATAHUB_STORE_H

#include <stddef.h>

#include "catalog.h"

typedef struct dh_store dh_store;

/* Open `path` (created when missing). When it has no data yet and `sql_path`
 * is not empty, run that script in it first (a concurrent second instance
 * waits for the first's transaction, then finds the data). NULL with a
 * reason in err when the file cannot be opened, the script fails, or the
 * file lacks a source's table. */
dh_store *dh_store_open(const char *path, const char *sql_path, char *err, size_t errlen);
void dh_store_close(dh_store *st);

/* What to look for: `q` in any of the source's search columns (substring,
 * "" for everything), and for a spatial source with has_point the rows
 * within radius_m of (lat, lon), nearest first. */
typedef struct dh_find {
    const char *q;
    int has_point;
    double lat, lon, radius_m;
    unsigned max_rows;
} dh_find;

/* Called once per row with one value per field of the source (NULL: none).
 * Return 0 to go on, non-zero to stop. */
typedef int (*dh_row_fn)(void *arg, const char *const *values);

/* 0 (every row found went to fn, at most max_rows), or -1 with err set. */
int dh_store_find(dh_store *st, const dh_source *src, const dh_find *f, dh_row_fn fn, void *arg,
                  char *err, size_t errlen);

#endif
