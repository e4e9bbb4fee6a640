/*
 * store.c — the datahub's SQLite file (see store.h). Queries are built from
 * the catalog's column names only (static, trusted); what the caller typed
 * is always bound, never pasted into SQL.
 */
#include "store.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 64
#define SQL_MAX 2048
#define SCRIPT_MAX (64 * 1024 * 1024)
#define EARTH_M 6371008.8
#define M_PER_DEG_LAT 111195.0

struct dh_store {
    sqlite3 *db;
};

static int has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = cap <= SCRIPT_MAX ? realloc(buf, cap) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: too big or out of memory", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "cannot read %s", path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Fill an empty file from the script (it brings its own BEGIN and COMMIT,
 * so a failed load leaves nothing half-done). Two instances starting at once
 * on one file: the second's CREATE TABLE fails once the first committed,
 * and the data is there. */
static int load(sqlite3 *db, const char *sql_path, char *err, size_t errlen)
{
    char *script = read_file(sql_path, err, errlen);
    if (!script)
        return -1;
    char *msg = NULL;
    int rc = sqlite3_exec(db, script, NULL, NULL, &msg);
    free(script);
    if (rc == SQLITE_OK)
        return 0;
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (has_table(db, "meta")) {
        sqlite3_free(msg);
        return 0; /* another instance loaded it meanwhile */
    }
    snprintf(err, errlen, "%s: %s", sql_path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

dh_store *dh_store_open(const char *path, const char *sql_path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (!has_table(db, "meta") && sql_path && *sql_path && load(db, sql_path, err, errlen) < 0) {
        sqlite3_close(db);
        return NULL;
    }
    for (const citygrid_source *const *s = dh_source_list; *s; s++)
        if (!has_table(db, (*s)->name)) {
            snprintf(err, errlen, "%s has no table %s (set sql to a script that makes it)", path,
                     (*s)->name);
            sqlite3_close(db);
            return NULL;
        }
    dh_store *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    st->db = db;
    return st;
}

void dh_store_close(dh_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st);
}

static int append(char *buf, size_t cap, size_t *len, const char *fmt, const char *a)
{
    int n = snprintf(buf + *len, cap - *len, fmt, a);
    if (n < 0 || (size_t)n >= cap - *len)
        return -1;
    *len += (size_t)n;
    return 0;
}

/* SELECT the fields; WHERE q in any search column (instr: a substring, no
 * LIKE wildcards to escape); for a point, a bounding box that the exact
 * distance then trims, nearest first. */
static int build_sql(const dh_source *src, const dh_find *f, char *sql, size_t cap)
{
    size_t len = 0;
    const citygrid_source *d = src->desc;
    if (append(sql, cap, &len, "%s", "SELECT ") < 0)
        return -1;
    for (size_t i = 0; i < d->n_fields; i++)
        if (append(sql, cap, &len, i ? ", %s" : "%s", d->fields[i].name) < 0)
            return -1;
    if (append(sql, cap, &len, " FROM %s WHERE 1", d->name) < 0)
        return -1;
    if (f->q && *f->q) {
        if (append(sql, cap, &len, "%s", " AND (0") < 0)
            return -1;
        for (const char *const *c = src->search; *c; c++)
            if (append(sql, cap, &len, " OR instr(%s, :q) > 0", *c) < 0)
                return -1;
        if (append(sql, cap, &len, "%s", ")") < 0)
            return -1;
    }
    if (f->has_point) {
        if (append(sql, cap, &len, "%s",
                   " AND lat BETWEEN :lat0 AND :lat1 AND lon BETWEEN :lon0 AND :lon1"
                   " ORDER BY (lat - :lat) * (lat - :lat) + (lon - :lon) * (lon - :lon) * :k") < 0)
            return -1;
    } else if (append(sql, cap, &len, "%s", " ORDER BY rowid") < 0) {
        return -1;
    }
    return 0;
}

static void bind_double(sqlite3_stmt *st, const char *name, double v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_double(st, i, v);
}

static double distance_m(double lat1, double lon1, double lat2, double lon2)
{
    double p1 = lat1 * M_PI / 180, p2 = lat2 * M_PI / 180;
    double dp = p2 - p1, dl = (lon2 - lon1) * M_PI / 180;
    double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    return 2 * EARTH_M * atan2(sqrt(a), sqrt(1 - a));
}

static int field_index(const citygrid_source *d, const char *name)
{
    for (size_t i = 0; i < d->n_fields; i++)
        if (strcmp(d->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int dh_store_find(dh_store *st, const dh_source *src, const dh_find *f, dh_row_fn fn, void *arg,
                  char *err, size_t errlen)
{
    const citygrid_source *d = src->desc;
    char sql[SQL_MAX];
    int ilat = field_index(d, "lat"), ilon = field_index(d, "lon");
    int spatial = f->has_point && d->spatial && ilat >= 0 && ilon >= 0;
    dh_find eff = *f;
    eff.has_point = spatial;
    if (d->n_fields > MAX_FIELDS || build_sql(src, &eff, sql, sizeof sql) < 0) {
        snprintf(err, errlen, "source %s: too many fields", d->name);
        return -1;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", d->name, sqlite3_errmsg(st->db));
        return -1;
    }
    int qi = sqlite3_bind_parameter_index(stmt, ":q");
    if (qi > 0)
        sqlite3_bind_text(stmt, qi, f->q, -1, SQLITE_STATIC);
    if (spatial) {
        double k = cos(f->lat * M_PI / 180);
        double dlat = f->radius_m / M_PER_DEG_LAT;
        double dlon = dlat / (k > 0.01 ? k : 0.01);
        bind_double(stmt, ":lat0", f->lat - dlat);
        bind_double(stmt, ":lat1", f->lat + dlat);
        bind_double(stmt, ":lon0", f->lon - dlon);
        bind_double(stmt, ":lon1", f->lon + dlon);
        bind_double(stmt, ":lat", f->lat);
        bind_double(stmt, ":lon", f->lon);
        bind_double(stmt, ":k", k * k);
    }
    const char *values[MAX_FIELDS];
    unsigned taken = 0;
    int rc = SQLITE_DONE;
    while (taken < f->max_rows && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (spatial && distance_m(f->lat, f->lon, sqlite3_column_double(stmt, ilat),
                                  sqlite3_column_double(stmt, ilon)) > f->radius_m)
            continue; /* a corner of the box, outside the circle */
        for (size_t i = 0; i < d->n_fields; i++)
            values[i] = (const char *)sqlite3_column_text(stmt, (int)i);
        taken++;
        if (fn(arg, values) != 0)
            break;
    }
    if (taken < f->max_rows && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        snprintf(err, errlen, "%s: %s", d->name, sqlite3_errmsg(st->db));
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}
