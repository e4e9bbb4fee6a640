/*
 * grid_map.c — see grid_map.h. Two reads: the open cases counted per grid
 * in one GROUP BY (over the partial index of open cases when the planner
 * likes it), then the grids in code order, each joined to its counts. 273
 * grids and their polygons are ~140 kB of JSON: built whole, no paging.
 *
 * Why every caller gets every grid: the map is the city's picture. A
 * grid's outline, name, office and its two counts are public facts about
 * the city, not about anyone (no case, no person, no point is in them), and
 * a leader or a patrolling member needs to see the neighbouring grids as
 * much as their own. What stays scoped is everything behind a click: the
 * grid's page (staff, gaps), its cases and their details.
 */
#include "case/grid_map.h"

#include <string.h>

#include "case/case_columns.h"
#include "lib/log.h"

/* {"GRIDCODE": [open, overdue], ...} over the cases the scope counts. */
static json_t *open_counts(cg_store *st, const cg_scope *sc, int64_t now_ms)
{
    int by_department = !sc->admin && sc->department_account;
    sqlite3_stmt *s = cg_store_read_stmt(st, by_department
        ? "SELECT grid, count(*), sum(expected_at IS NOT NULL AND expected_at < ?1) FROM cases"
          " WHERE " OPEN_STATUS_TERM " AND grid IS NOT NULL AND department = ?2 GROUP BY grid"
        : "SELECT grid, count(*), sum(expected_at IS NOT NULL AND expected_at < ?1) FROM cases"
          " WHERE " OPEN_STATUS_TERM " AND grid IS NOT NULL GROUP BY grid");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, now_ms);
    if (by_department)
        sqlite3_bind_text(s, 2, sc->department, -1, SQLITE_STATIC);
    json_t *counts = json_object();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_object_set_new(counts, (const char *)sqlite3_column_text(s, 0),
                            json_pack("[I, I]", (json_int_t)sqlite3_column_int64(s, 1),
                                      (json_int_t)sqlite3_column_int64(s, 2)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "counting open cases per grid failed");
        json_decref(counts);
        return NULL;
    }
    return counts;
}

json_t *cg_grid_map_geojson(cg_store *st, const cg_scope *sc, int64_t now_ms)
{
    json_t *counts = open_counts(st, sc, now_ms);
    if (!counts)
        return NULL;
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT code, name, type, district, subdistrict, community, office_lon, office_lat,"
        " geometry FROM grids ORDER BY code");
    if (!s) {
        json_decref(counts);
        return NULL;
    }
    int reads_all = sc->admin || sc->department_account;
    json_t *features = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        /* cg_scope_serves says yes to an admin for every grid; "mine" means
         * an assignment there. */
        int mine = !sc->admin && cg_scope_serves(sc, code);
        json_t *geometry = json_loads((const char *)sqlite3_column_text(s, 8), 0, NULL);
        json_t *c = json_object_get(counts, code);
        json_t *props = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[f, f], s:I, s:I, s:b, s:b}",
            "code", code, "name", (const char *)sqlite3_column_text(s, 1),
            "type", (const char *)sqlite3_column_text(s, 2),
            "district", (const char *)sqlite3_column_text(s, 3),
            "subdistrict", (const char *)sqlite3_column_text(s, 4),
            "community", (const char *)sqlite3_column_text(s, 5),
            "office", sqlite3_column_double(s, 6), sqlite3_column_double(s, 7),
            "open", c ? json_integer_value(json_array_get(c, 0)) : (json_int_t)0,
            "overdue", c ? json_integer_value(json_array_get(c, 1)) : (json_int_t)0,
            "mine", mine, "may_open", reads_all || mine);
        if (!geometry || !props) {
            CG_ERROR("store", "grid %s: unreadable geometry", code);
            json_decref(geometry);
            json_decref(props);
            continue;
        }
        json_array_append_new(features, json_pack("{s:s, s:o, s:o}", "type", "Feature",
                                                  "properties", props, "geometry", geometry));
    }
    sqlite3_reset(s);
    json_decref(counts);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "listing grids for the map failed");
        json_decref(features);
        return NULL;
    }
    return json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
}
