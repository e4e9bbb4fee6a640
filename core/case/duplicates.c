/*
 * duplicates.c — likely duplicate reports and their links (see
 * duplicates.h).
 */
#include "case/duplicates.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/geo.h"
#include "lib/log.h"

/* Metres per degree of latitude on geo.h's sphere (pi * R / 180). */
#define METRES_PER_DEGREE 111195.0802
/* Candidates read at most, per report. The band is a few dozen metres wide,
 * so more than this many open cases of one category in it is already a
 * pile-up; then the ten shown are near ones, not necessarily the nearest.
 * The bound keeps every report's check O(1): a street where reports pile up
 * (the intake benchmark's, or a busy market) must not slow intake down as
 * open cases accumulate (measured: with 1000, intake fell from 2.8k to
 * 1.1k req/s within 12 s of load). */
#define SCAN_LIMIT 64

static int nearest_first(const void *a, const void *b)
{
    const cg_duplicate *x = a, *y = b;
    if (x->distance_m != y->distance_m)
        return x->distance_m < y->distance_m ? -1 : 1;
    return strcmp(x->id, y->id); /* ids grow with time: the older first */
}

int cg_duplicates_find(cg_store *st, const char *category, double lat, double lon,
                       double radius_m, int64_t since_ms, const char *self, cg_duplicate *out,
                       size_t max)
{
    if (!(radius_m > 0) || max == 0 || !isfinite(lat) || !isfinite(lon))
        return 0;
    /* The box around the circle, widened a little for rounding. Near the
     * poles cos() goes to 0: cap the longitude span at the whole circle. */
    double dlat = radius_m / METRES_PER_DEGREE * 1.01;
    double c = cos(lat * M_PI / 180.0);
    double dlon = c > 1e-6 ? dlat / c : 360.0;
    /* The WHERE repeats the partial index's term for term (migrations.c
     * cases_open_by_place): only then may the planner use that index. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT id, lat, lon FROM cases INDEXED BY cases_open_by_place"
        " WHERE category = ?1 AND lat BETWEEN ?2 AND ?3 AND lon BETWEEN ?4 AND ?5"
        " AND (status = 'reported' OR status = 'dispatched' OR status = 'accepted')"
        " AND created_at >= ?6 AND id <> ?7 LIMIT 64");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, category, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 2, lat - dlat);
    sqlite3_bind_double(s, 3, lat + dlat);
    sqlite3_bind_double(s, 4, lon - dlon);
    sqlite3_bind_double(s, 5, lon + dlon);
    sqlite3_bind_int64(s, 6, since_ms);
    sqlite3_bind_text(s, 7, self ? self : "", -1, SQLITE_STATIC);
    cg_duplicate found[SCAN_LIMIT];
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < SCAN_LIMIT) {
        double d = cg_geo_haversine_m(lat, lon, sqlite3_column_double(s, 1),
                                      sqlite3_column_double(s, 2));
        if (d > radius_m)
            continue;
        const char *id = (const char *)sqlite3_column_text(s, 0);
        snprintf(found[n].id, sizeof found[n].id, "%s", id ? id : "");
        found[n++].distance_m = d;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        CG_ERROR("duplicates", "%s: looking for duplicates: %s", st->path, sqlite3_errmsg(st->rdb));
        return -1;
    }
    qsort(found, n, sizeof *found, nearest_first);
    if (n > max)
        n = max;
    memcpy(out, found, n * sizeof *out);
    return (int)n;
}

void cg_duplicates_annotate(cg_store *st, json_t *case_json, double radius_m,
                            double window_hours, int64_t now_ms)
{
    json_t *lat = json_object_get(case_json, "lat"), *lon = json_object_get(case_json, "lon");
    const char *category = json_string_value(json_object_get(case_json, "category"));
    const char *id = json_string_value(json_object_get(case_json, "id"));
    json_t *list = json_array();
    if (!list)
        return;
    if (category && json_is_number(lat) && json_is_number(lon) && radius_m > 0) {
        cg_duplicate d[CG_DUPLICATES_MAX];
        int64_t since = now_ms - (int64_t)(window_hours * 3600.0 * 1000.0);
        int n = cg_duplicates_find(st, category, json_number_value(lat), json_number_value(lon),
                                   radius_m, since, id, d, CG_DUPLICATES_MAX);
        if (n < 0) {
            json_decref(list);
            return;
        }
        for (int i = 0; i < n; i++)
            json_array_append_new(list, json_pack("{s:s, s:f}", "id", d[i].id, "distance_m",
                                                  round(d[i].distance_m * 10.0) / 10.0));
    }
    json_object_set_new(case_json, "likely_duplicate_of", list);
}
