/*
 * dataset.c — import and export of the grid registry and the roster (see
 * dataset.h; formats in contrib/lishui/README.md).
 *
 * Re-import semantics (an import is one transaction; a refusal rolls it all
 * back, so nothing changes):
 *  - places.csv is the whole hierarchy: places upsert by code, places no
 *    longer in the file are removed.
 *  - grids.geojson is the whole registry: grids upsert by code (a grid that
 *    stays keeps its staff), grids no longer in the file are removed with
 *    their assignments. Every polygon part gets a new grid_parts id (above
 *    every id used before), so no cached geometry can outlive an import.
 *  - roster.csv upserts members by id (login, name, pinyin, terminal,
 *    department; the password and the admin flag are kept) and replaces the
 *    assignments of every member it names; members it does not name keep
 *    theirs. A member imported without a password cannot log in until an
 *    admin sets one (PATCH /v1/members/{id}) or issues a terminal token.
 *
 * The import holds cg_store_lock() for its transaction (callers must not).
 * Validation happens on the rows as read and against the database inside
 * the import's own transaction (so the roster of an import_dir sees the grids
 * of the same import). Foreign keys are deferred to COMMIT as a backstop.
 */
#include "people/dataset.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/csv.h"
#include "lib/errbuf.h"
#include "lib/geo.h"
#include "lib/gridcode.h"
#include "people/grids.h"
#include "lib/log.h"
#include "lib/timeutil.h"

static const char *const allowed_counties[] = {"331102", NULL};
static const char *const mandatory_departments[] = {"enforcement", "municipal", "sanitation",
                                                    "market", "police", NULL};
static const char *const known_departments[] = {"enforcement", "municipal", "sanitation",
                                                "market", "police", "health", "eco", "culture",
                                                "volunteer", "partner", "outsourced", NULL};
static const char *const roles[] = {"leader", "instructor", "fulltime", "professional", "optional",
                                    NULL};
#define ID_MAX 63

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Ids and logins: printable ASCII without spaces, commas or quotes. */
static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == ',' || *s == '"' || *s == '\'')
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- SQL */

static int exec(cg_store *st, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Takes the write connection (cg_store_lock) for the whole import. */
static int txn_begin(cg_store *st, char *err, size_t errlen)
{
    cg_store_lock(st);
    if (!sqlite3_get_autocommit(st->db)) {
        cg_set_err(err, errlen, "an import cannot run inside another transaction");
        cg_store_unlock(st);
        return -1;
    }
    if (exec(st, "BEGIN IMMEDIATE", err, errlen) < 0) {
        cg_store_unlock(st);
        return -1;
    }
    if (exec(st, "PRAGMA defer_foreign_keys = ON", err, errlen) < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        cg_store_unlock(st);
        return -1;
    }
    return 0;
}

static int txn_end(cg_store *st, int ok, char *err, size_t errlen)
{
    if (ok && exec(st, "COMMIT", err, errlen) == 0) {
        cg_store_unlock(st);
        cg_grids_invalidate();
        return 0;
    }
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    cg_store_unlock(st);
    return -1;
}

/* Level of a place in the database (inside the import's transaction), or
 * NULL when unknown. Copies into buf. */
static const char *place_level(cg_store *st, const char *code, char *buf, size_t len,
                               char *parent, size_t plen)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT level, parent FROM places WHERE code = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    const char *out = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *lv = (const char *)sqlite3_column_text(s, 0);
        const char *pa = (const char *)sqlite3_column_text(s, 1);
        snprintf(buf, len, "%s", lv ? lv : "");
        if (parent)
            snprintf(parent, plen, "%s", pa ? pa : "");
        out = buf;
    }
    sqlite3_reset(s);
    return out;
}

/* ---------------------------------------------------------------- places */

static const char *const place_levels[] = {"city", "district", "zone", "subdistrict", "community",
                                           "village", NULL};

/* The level a parent must have. */
static int parent_fits(const char *level, const char *parent_level)
{
    if (strcmp(level, "district") == 0 || strcmp(level, "zone") == 0)
        return strcmp(parent_level, "city") == 0;
    if (strcmp(level, "subdistrict") == 0)
        return strcmp(parent_level, "district") == 0 || strcmp(parent_level, "zone") == 0;
    return strcmp(parent_level, "subdistrict") == 0; /* community, village */
}

static int import_places(cg_store *st, const char *path, cg_import_report *rep, char *err,
                         size_t errlen)
{
    cg_csv csv;
    char why[512];
    if (cg_csv_load(path, &csv, why, sizeof why) < 0) {
        cg_set_err(err, errlen, "%s", why);
        return -1;
    }
    int c_level = cg_csv_column(&csv, "level"), c_code = cg_csv_column(&csv, "code"),
        c_parent = cg_csv_column(&csv, "parent"), c_zh = cg_csv_column(&csv, "name_zh"),
        c_en = cg_csv_column(&csv, "name_en");
    int rc = -1;
    json_t *codes = json_array();
    if (c_level < 0 || c_code < 0 || c_parent < 0 || c_zh < 0) {
        cg_set_err(err, errlen, "%s: line 1: the header must name the columns level, code, parent, "
                "name_zh (and name_en)", path);
        goto out;
    }
    /* Validate every row against the rows above it: parents come first. */
    json_t *seen = json_object(); /* code -> level */
    for (size_t i = 1; i < csv.n; i++) {
        cg_csv_row *r = &csv.rows[i];
        const char *level = r->f[c_level], *code = r->f[c_code], *parent = r->f[c_parent];
        const char *bad = NULL;
        char reason[160] = "";
        if (!in_list(level, place_levels))
            bad = "level must be one of city, district, zone, subdistrict, community, village";
        else if (!valid_id(code))
            bad = "code must be a non-empty id without spaces or commas";
        else if (json_object_get(seen, code))
            bad = "code is used twice";
        else if (!r->f[c_zh][0])
            bad = "name_zh is empty";
        else if (strcmp(level, "city") == 0 && parent[0])
            bad = "a city has no parent";
        else if (strcmp(level, "subdistrict") == 0 &&
                 (!all_digits(code, 9) || !in_list((char[7]){code[0], code[1], code[2], code[3],
                                                             code[4], code[5], 0},
                                                   allowed_counties) ||
                  strcmp(code + 6, "000") == 0))
            bad = "a subdistrict code is 9 digits: an allowed county (331102) and 001-999";
        else if ((strcmp(level, "community") == 0 || strcmp(level, "village") == 0) &&
                 (!all_digits(code, 12) || strncmp(code, parent, 9) != 0 ||
                  strcmp(code + 9, "000") == 0))
            bad = "a community or village code is 12 digits: its subdistrict's code and 001-999";
        else if (strcmp(level, "city") != 0) {
            const char *plevel = json_string_value(json_object_get(seen, parent));
            if (!parent[0])
                bad = "parent is empty";
            else if (!plevel) {
                snprintf(reason, sizeof reason, "parent '%.40s' is not a place above this row", parent);
                bad = reason;
            } else if (!parent_fits(level, plevel)) {
                snprintf(reason, sizeof reason, "a %s cannot be under a %s", level, plevel);
                bad = reason;
            }
        }
        if (bad) {
            cg_set_err(err, errlen, "%s: line %zu: %s (code '%.40s')", path, r->line, bad, code);
            json_decref(seen);
            goto out;
        }
        json_object_set_new(seen, code, json_string(level));
        json_array_append_new(codes, json_string(code));
    }
    json_decref(seen);

    for (size_t i = 1; i < csv.n; i++) {
        cg_csv_row *r = &csv.rows[i];
        sqlite3_stmt *s = cg_store_stmt(st,
            "INSERT INTO places(code, level, parent, name_zh, name_en) VALUES (?1, ?2, ?3, ?4, ?5)"
            " ON CONFLICT(code) DO UPDATE SET level = excluded.level, parent = excluded.parent,"
            " name_zh = excluded.name_zh, name_en = excluded.name_en");
        if (!s)
            goto db_fail;
        sqlite3_bind_text(s, 1, r->f[c_code], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, r->f[c_level], -1, SQLITE_STATIC);
        if (r->f[c_parent][0])
            sqlite3_bind_text(s, 3, r->f[c_parent], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, r->f[c_zh], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, c_en >= 0 ? r->f[c_en] : "", -1, SQLITE_STATIC);
        if (cg_store_step_text(st, s, "places", why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: line %zu: %s", path, r->line, why);
            goto out;
        }
    }
    rep->places = csv.n - 1;
    rc = 0;
    goto out;
db_fail:
    cg_set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
out:
    /* The codes stay for prune_places (after the grids are written). */
    if (rc == 0) {
        char *text = json_dumps(codes, JSON_COMPACT);
        sqlite3_stmt *s = text ? cg_store_stmt(st,
            "DELETE FROM places WHERE code NOT IN (SELECT value FROM json_each(?1))") : NULL;
        if (s)
            sqlite3_bind_text(s, 1, text, -1, SQLITE_TRANSIENT);
        /* Removal happens now; deferred foreign keys make grids that still
         * point at a removed place fail at COMMIT, and grid validation
         * below refuses them first with a feature number. */
        if (cg_store_step_text(st, s, "removing old places", why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: %s", path, why);
            rc = -1;
        }
        free(text);
    }
    json_decref(codes);
    cg_csv_free(&csv);
    return rc;
}

/* ---------------------------------------------------------------- grids */

typedef struct grid_in {
    size_t feature;         /* 1-based */
    const char *code, *name, *type, *district, *subdistrict, *community, *external_id;
    double office_lon, office_lat;
    cg_geo_shape shape;
    char *geometry;         /* compact GeoJSON text */
} grid_in;

static int by_min_lon(const void *a, const void *b)
{
    const grid_in *x = *(grid_in *const *)a, *y = *(grid_in *const *)b;
    return x->shape.bbox.min_lon < y->shape.bbox.min_lon ? -1
           : x->shape.bbox.min_lon > y->shape.bbox.min_lon ? 1
                                                            : 0;
}

static const char *prop_string(json_t *props, const char *key)
{
    json_t *v = json_object_get(props, key);
    return json_is_string(v) && json_string_length(v) > 0 &&
                   strlen(json_string_value(v)) == json_string_length(v)
               ? json_string_value(v)
               : NULL;
}

/* Check one feature's properties and geometry; fills g. */
static int check_feature(cg_store *st, json_t *f, grid_in *g, json_t *seen, char *why, size_t wl)
{
    json_t *props = json_object_get(f, "properties"), *geom = json_object_get(f, "geometry");
    char reason[256];
    if (!json_is_object(f) || strcmp(json_string_value(json_object_get(f, "type")) ?
                                         json_string_value(json_object_get(f, "type")) : "",
                                     "Feature") != 0) {
        cg_set_err(why, wl, "not a GeoJSON Feature");
        return -1;
    }
    if (!json_is_object(props)) {
        cg_set_err(why, wl, "no properties object");
        return -1;
    }
    if (!(g->code = prop_string(props, "code"))) {
        cg_set_err(why, wl, "property 'code' must be a grid code string");
        return -1;
    }
    if (cg_gridcode_validate(g->code, allowed_counties, reason, sizeof reason) < 0) {
        cg_set_err(why, wl, "code '%.40s': %s", g->code, reason);
        return -1;
    }
    json_t *prev = json_object_get(seen, g->code);
    if (prev) {
        cg_set_err(why, wl, "code %s is used twice (also feature %lld)", g->code,
                (long long)json_integer_value(prev));
        return -1;
    }
    json_object_set_new(seen, g->code, json_integer((json_int_t)g->feature));
    if (!(g->name = prop_string(props, "name"))) {
        cg_set_err(why, wl, "grid %s: property 'name' must be a non-empty string", g->code);
        return -1;
    }
    g->type = prop_string(props, "type");
    if (!g->type || (strcmp(g->type, "community") != 0 && strcmp(g->type, "village") != 0)) {
        cg_set_err(why, wl, "grid %s: property 'type' must be \"community\" or \"village\"", g->code);
        return -1;
    }
    json_t *ext = json_object_get(props, "external_id");
    if (ext && !json_is_null(ext) && !prop_string(props, "external_id")) {
        cg_set_err(why, wl, "grid %s: property 'external_id' must be a string or null", g->code);
        return -1;
    }
    g->external_id = prop_string(props, "external_id");

    /* The hierarchy: the code's prefixes, and places that exist. */
    cg_gridcode_parts parts;
    cg_gridcode_split(g->code, &parts);
    g->district = prop_string(props, "district");
    g->subdistrict = prop_string(props, "subdistrict");
    g->community = prop_string(props, "community");
    if (!g->district || !g->subdistrict || !g->community) {
        cg_set_err(why, wl, "grid %s: properties 'district', 'subdistrict' and 'community' are required",
                g->code);
        return -1;
    }
    if (strcmp(g->subdistrict, parts.subdistrict_code) != 0 ||
        strcmp(g->community, parts.community_code) != 0) {
        cg_set_err(why, wl, "grid %s: its code says subdistrict %s and community %s, the properties "
                "say %.20s and %.20s", g->code, parts.subdistrict_code, parts.community_code,
                g->subdistrict, g->community);
        return -1;
    }
    char lv[32], parent[64];
    if (!place_level(st, g->community, lv, sizeof lv, parent, sizeof parent)) {
        cg_set_err(why, wl, "grid %s: community '%s' is not in places", g->code, g->community);
        return -1;
    }
    const char *want = strcmp(g->type, "village") == 0 ? "village" : "community";
    if (strcmp(lv, want) != 0) {
        cg_set_err(why, wl, "grid %s: a %s grid must be in a %s, %s is a %s", g->code, g->type, want,
                g->community, lv);
        return -1;
    }
    if (strcmp(parent, g->subdistrict) != 0) {
        cg_set_err(why, wl, "grid %s: community %s is not in subdistrict %s", g->code, g->community,
                g->subdistrict);
        return -1;
    }
    if (!place_level(st, g->subdistrict, lv, sizeof lv, parent, sizeof parent) ||
        strcmp(lv, "subdistrict") != 0) {
        cg_set_err(why, wl, "grid %s: subdistrict '%s' is not in places", g->code, g->subdistrict);
        return -1;
    }
    if (strcmp(parent, g->district) != 0) {
        cg_set_err(why, wl, "grid %s: subdistrict %s is not in district %.20s", g->code,
                g->subdistrict, g->district);
        return -1;
    }

    /* Geometry, then the office inside it (a village: inside its first site). */
    if (cg_geo_shape_from_geojson(geom, &g->shape, reason, sizeof reason) < 0) {
        cg_set_err(why, wl, "grid %s: geometry: %s", g->code, reason);
        return -1;
    }
    json_t *office = json_object_get(props, "office");
    cg_geo_pt p;
    if (!json_is_array(office) || json_array_size(office) != 2 ||
        !json_is_number(json_array_get(office, 0)) || !json_is_number(json_array_get(office, 1)) ||
        cg_geo_snap(json_number_value(json_array_get(office, 0)),
                    json_number_value(json_array_get(office, 1)), &p) < 0) {
        cg_set_err(why, wl, "grid %s: property 'office' must be [lon, lat]", g->code);
        return -1;
    }
    g->office_lon = json_number_value(json_array_get(office, 0));
    g->office_lat = json_number_value(json_array_get(office, 1));
    int inside = strcmp(g->type, "village") == 0
                     ? cg_geo_polygon_contains_pt(&g->shape.polys[0], p)
                     : cg_geo_shape_contains_pt(&g->shape, p);
    if (!inside) {
        cg_set_err(why, wl, "grid %s: the office [%.6f, %.6f] is outside its grid%s", g->code,
                g->office_lon, g->office_lat,
                strcmp(g->type, "village") == 0 ? " (a village grid's office is in its first site)" : "");
        return -1;
    }
    g->geometry = json_dumps(geom, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!g->geometry) {
        cg_set_err(why, wl, "out of memory");
        return -1;
    }
    return 0;
}

static int write_grid(cg_store *st, const grid_in *g, int64_t *next_part, char *why, size_t wl)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO grids(code, name, type, district, subdistrict, community, office_lat,"
        " office_lon, external_id, geometry) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT(code) DO UPDATE SET name = excluded.name, type = excluded.type,"
        " district = excluded.district, subdistrict = excluded.subdistrict,"
        " community = excluded.community, office_lat = excluded.office_lat,"
        " office_lon = excluded.office_lon, external_id = excluded.external_id,"
        " geometry = excluded.geometry");
    if (!s)
        return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
    sqlite3_bind_text(s, 1, g->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, g->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, g->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, g->district, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, g->subdistrict, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, g->community, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 7, g->office_lat);
    sqlite3_bind_double(s, 8, g->office_lon);
    if (g->external_id)
        sqlite3_bind_text(s, 9, g->external_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, g->geometry, -1, SQLITE_STATIC);
    if (cg_store_step_text(st, s, "grids", why, wl) < 0)
        return -1;
    for (size_t k = 0; k < g->shape.n_polys; k++) {
        const cg_geo_bbox *b = &g->shape.polys[k].bbox;
        int64_t id = ++*next_part;
        s = cg_store_stmt(st, "INSERT INTO grid_parts(id, grid, part) VALUES (?1, ?2, ?3)");
        if (!s)
            return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, g->code, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)k);
        if (cg_store_step_text(st, s, "grid_parts", why, wl) < 0)
            return -1;
        s = cg_store_stmt(st,
            "INSERT INTO grid_boxes(id, min_lon, max_lon, min_lat, max_lat) VALUES (?1, ?2, ?3, ?4, ?5)");
        if (!s)
            return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_double(s, 2, b->min_lon);
        sqlite3_bind_double(s, 3, b->max_lon);
        sqlite3_bind_double(s, 4, b->min_lat);
        sqlite3_bind_double(s, 5, b->max_lat);
        if (cg_store_step_text(st, s, "grid_boxes", why, wl) < 0)
            return -1;
    }
    return 0;
}

static int64_t max_part_id(cg_store *st)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT coalesce(max(id), 0) FROM grid_parts");
    int64_t v = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    if (s)
        sqlite3_reset(s);
    return v;
}

static int import_grid_file(cg_store *st, const char *path, cg_import_report *rep, char *err,
                            size_t errlen)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        cg_set_err(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -1;
    }
    json_t *features = json_object_get(doc, "features");
    const char *type = json_string_value(json_object_get(doc, "type"));
    if (!type || strcmp(type, "FeatureCollection") != 0 || !json_is_array(features)) {
        cg_set_err(err, errlen, "%s: not a GeoJSON FeatureCollection with a 'features' array", path);
        json_decref(doc);
        return -1;
    }
    size_t n = json_array_size(features);
    grid_in *g = calloc(n ? n : 1, sizeof *g);
    grid_in **order = calloc(n ? n : 1, sizeof *order);
    json_t *seen = json_object(), *codes = json_array();
    char why[768];
    int rc = -1;
    if (!g || !order || !seen || !codes) {
        cg_set_err(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        g[i].feature = i + 1;
        if (check_feature(st, json_array_get(features, i), &g[i], seen, why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: feature %zu: %s", path, i + 1, why);
            goto out;
        }
        order[i] = &g[i];
        json_array_append_new(codes, json_string(g[i].code));
    }
    /* No two grids share area: sweep by west edge, test boxes that meet. */
    qsort(order, n, sizeof *order, by_min_lon);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n && order[j]->shape.bbox.min_lon <= order[i]->shape.bbox.max_lon;
             j++) {
            if (!cg_geo_bbox_intersects(&order[i]->shape.bbox, &order[j]->shape.bbox))
                continue;
            int ov = cg_geo_shapes_overlap(&order[i]->shape, &order[j]->shape);
            if (ov != 0) {
                grid_in *a = order[i]->feature < order[j]->feature ? order[i] : order[j];
                grid_in *b = a == order[i] ? order[j] : order[i];
                cg_set_err(err, errlen, ov < 0 ? "%s: feature %zu: out of memory" :
                        "%s: feature %zu: grid %s overlaps grid %s (feature %zu)",
                        path, b->feature, b->code, a->code, a->feature);
                goto out;
            }
        }
    }
    /* Write: the file is the whole registry. */
    int64_t next_part = max_part_id(st);
    char *text = json_dumps(codes, JSON_COMPACT);
    sqlite3_stmt *s = text ? cg_store_stmt(st,
        "DELETE FROM grids WHERE code NOT IN (SELECT value FROM json_each(?1))") : NULL;
    if (s)
        sqlite3_bind_text(s, 1, text, -1, SQLITE_TRANSIENT);
    free(text);
    if (next_part < 0 || cg_store_step_text(st, s, "removing old grids", why, sizeof why) < 0 ||
        exec(st, "DELETE FROM grid_parts; DELETE FROM grid_boxes;", why, sizeof why) < 0) {
        cg_set_err(err, errlen, "%s: %s", path, why);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (write_grid(st, &g[i], &next_part, why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: feature %zu: %s", path, i + 1, why);
            goto out;
        }
    }
    rep->grids = n;
    rc = 0;
out:
    for (size_t i = 0; g && i < n; i++) {
        cg_geo_shape_free(&g[i].shape);
        free(g[i].geometry);
    }
    free(g);
    free(order);
    json_decref(seen);
    json_decref(codes);
    json_decref(doc);
    return rc;
}

/* ---------------------------------------------------------------- roster */

enum { R_ID, R_LOGIN, R_NAME, R_PINYIN, R_TERMINAL, R_DEPT, R_GRID, R_ROLE, R_COLS };
static const char *const roster_columns[R_COLS] = {"member_id", "login", "name", "name_pinyin",
                                                   "terminal_id", "department", "grid", "role"};

static int grid_exists(cg_store *st, const char *code)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT 1 FROM grids WHERE code = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The leader of a grid in the database who is not among `members` (the
 * members this roster replaces), or "" */
static void other_leader(cg_store *st, const char *grid, json_t *members, char *out, size_t len)
{
    out[0] = 0;
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT member_id FROM assignments WHERE grid = ?1 AND role = 'leader'");
    if (!s)
        return;
    sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(s, 0);
        if (m && !json_object_get(members, m))
            snprintf(out, len, "%s", m);
    }
    sqlite3_reset(s);
}

static const char *roster_row_problem(cg_store *st, const cg_csv_row *r, const int *col,
                                      char *reason, size_t rl)
{
    const char *id = r->f[col[R_ID]], *dept = r->f[col[R_DEPT]], *grid = r->f[col[R_GRID]],
               *role = r->f[col[R_ROLE]], *login = r->f[col[R_LOGIN]],
               *terminal = r->f[col[R_TERMINAL]];
    char why[160];
    if (!valid_id(id))
        return "member_id must be a non-empty id (at most 63 characters, no spaces or commas)";
    if (login[0] && !valid_id(login))
        return "login must be at most 63 characters without spaces or commas";
    if (terminal[0] && !valid_id(terminal))
        return "terminal_id must be at most 63 characters without spaces or commas";
    if (!r->f[col[R_NAME]][0])
        return "name is empty";
    if (dept[0] && !in_list(dept, known_departments)) {
        snprintf(reason, rl, "unknown department '%.32s'", dept);
        return reason;
    }
    if (!in_list(role, roles)) {
        snprintf(reason, rl, "unknown role '%.32s' (leader, instructor, fulltime, professional, optional)",
                 role);
        return reason;
    }
    if (strcmp(role, "professional") == 0 && !in_list(dept, mandatory_departments))
        return "a professional member needs one of the five mandatory departments (enforcement, "
               "municipal, sanitation, market, police)";
    if (strcmp(role, "optional") == 0 && !dept[0])
        return "an optional member needs a department";
    if (cg_gridcode_validate(grid, allowed_counties, why, sizeof why) < 0) {
        snprintf(reason, rl, "grid '%.20s': %s", grid, why);
        return reason;
    }
    int ex = grid_exists(st, grid);
    if (ex != 1) {
        snprintf(reason, rl, ex < 0 ? "cannot read grids" : "unknown grid code %s", grid);
        return reason;
    }
    return NULL;
}

static int write_member(cg_store *st, const cg_csv_row *r, const int *col, int64_t now,
                        char *why, size_t wl)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO members(id, login, name, name_pinyin, terminal_id, department, created_at,"
        " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
        " ON CONFLICT(id) DO UPDATE SET login = excluded.login, name = excluded.name,"
        " name_pinyin = excluded.name_pinyin, terminal_id = excluded.terminal_id,"
        " department = excluded.department, updated_at = excluded.updated_at");
    if (!s)
        return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
    sqlite3_bind_text(s, 1, r->f[col[R_ID]], -1, SQLITE_STATIC);
    if (r->f[col[R_LOGIN]][0])
        sqlite3_bind_text(s, 2, r->f[col[R_LOGIN]], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->f[col[R_NAME]], -1, SQLITE_STATIC);
    if (r->f[col[R_PINYIN]][0])
        sqlite3_bind_text(s, 4, r->f[col[R_PINYIN]], -1, SQLITE_STATIC);
    if (r->f[col[R_TERMINAL]][0])
        sqlite3_bind_text(s, 5, r->f[col[R_TERMINAL]], -1, SQLITE_STATIC);
    if (r->f[col[R_DEPT]][0])
        sqlite3_bind_text(s, 6, r->f[col[R_DEPT]], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, now);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) {
        cg_set_err(why, wl, "member %s: login '%s' or terminal '%s' belongs to another member",
                r->f[col[R_ID]], r->f[col[R_LOGIN]], r->f[col[R_TERMINAL]]);
        return -1;
    }
    if (rc != SQLITE_DONE)
        return cg_set_err(why, wl, "members: %s", sqlite3_errmsg(st->db)), -1;
    s = cg_store_stmt(st, "DELETE FROM assignments WHERE member_id = ?1");
    if (!s)
        return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
    sqlite3_bind_text(s, 1, r->f[col[R_ID]], -1, SQLITE_STATIC);
    return cg_store_step_text(st, s, "assignments", why, wl);
}

static int write_assignment(cg_store *st, const cg_csv_row *r, const int *col, char *why, size_t wl)
{
    const char *role = r->f[col[R_ROLE]];
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO assignments(member_id, grid, role, department) VALUES (?1, ?2, ?3, ?4)");
    if (!s)
        return cg_set_err(why, wl, "%s", sqlite3_errmsg(st->db)), -1;
    sqlite3_bind_text(s, 1, r->f[col[R_ID]], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->f[col[R_GRID]], -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, role, -1, SQLITE_STATIC);
    if (strcmp(role, "professional") == 0 || strcmp(role, "optional") == 0)
        sqlite3_bind_text(s, 4, r->f[col[R_DEPT]], -1, SQLITE_STATIC);
    return cg_store_step_text(st, s, "assignments", why, wl);
}

static int import_roster_file(cg_store *st, const char *path, cg_import_report *rep, char *err,
                              size_t errlen)
{
    cg_csv csv;
    char why[512];
    if (cg_csv_load(path, &csv, why, sizeof why) < 0) {
        cg_set_err(err, errlen, "%s", why);
        return -1;
    }
    int col[R_COLS];
    for (int k = 0; k < R_COLS; k++) {
        if ((col[k] = cg_csv_column(&csv, roster_columns[k])) < 0) {
            cg_set_err(err, errlen, "%s: line 1: the header has no column '%s' (expected "
                    "member_id,login,name,name_pinyin,terminal_id,department,grid,role)",
                    path, roster_columns[k]);
            cg_csv_free(&csv);
            return -1;
        }
    }
    int rc = -1;
    /* member id -> first line; login/terminal -> member id; assignment key
     * -> line; grid -> leader's line. */
    json_t *members = json_object(), *logins = json_object(), *terminals = json_object(),
           *keys = json_object(), *leaders = json_object();
    size_t n_members = 0;
    for (size_t i = 1; i < csv.n; i++) {
        const cg_csv_row *r = &csv.rows[i];
        char reason[256], key[256];
        const char *bad = roster_row_problem(st, r, col, reason, sizeof reason);
        const char *id = r->f[col[R_ID]], *grid = r->f[col[R_GRID]], *role = r->f[col[R_ROLE]];
        if (bad) {
            cg_set_err(err, errlen, "%s: line %zu: %s", path, r->line, bad);
            goto out;
        }
        json_t *first = json_object_get(members, id);
        if (first) {
            const cg_csv_row *f0 = &csv.rows[json_integer_value(first)];
            for (int k = R_LOGIN; k <= R_DEPT; k++) {
                if (strcmp(f0->f[col[k]], r->f[col[k]]) != 0) {
                    cg_set_err(err, errlen, "%s: line %zu: member %s has %s '%.40s' here and '%.40s' "
                            "on line %zu (a person has one %s on all their rows)", path, r->line,
                            id, roster_columns[k], r->f[col[k]], f0->f[col[k]], f0->line,
                            roster_columns[k]);
                    goto out;
                }
            }
        } else {
            json_object_set_new(members, id, json_integer((json_int_t)i));
            n_members++;
            const char *login = r->f[col[R_LOGIN]], *term = r->f[col[R_TERMINAL]];
            json_t *other;
            if (login[0] && (other = json_object_get(logins, login))) {
                cg_set_err(err, errlen, "%s: line %zu: login '%s' is also member %s's", path, r->line,
                        login, json_string_value(other));
                goto out;
            }
            if (term[0] && (other = json_object_get(terminals, term))) {
                cg_set_err(err, errlen, "%s: line %zu: terminal '%s' is also member %s's", path,
                        r->line, term, json_string_value(other));
                goto out;
            }
            if (login[0])
                json_object_set_new(logins, login, json_string(id));
            if (term[0])
                json_object_set_new(terminals, term, json_string(id));
        }
        snprintf(key, sizeof key, "%s|%s|%s", id, grid, role);
        json_t *dup = json_object_get(keys, key);
        if (dup) {
            cg_set_err(err, errlen, "%s: line %zu: member %s is %s of grid %s twice (also line %lld)",
                    path, r->line, id, role, grid, (long long)json_integer_value(dup));
            goto out;
        }
        json_object_set_new(keys, key, json_integer((json_int_t)r->line));
        if (strcmp(role, "leader") == 0) {
            json_t *prev = json_object_get(leaders, grid);
            if (prev) {
                cg_set_err(err, errlen, "%s: line %zu: grid %s has two leaders (%s here, and line %lld)",
                        path, r->line, grid, id, (long long)json_integer_value(prev));
                goto out;
            }
            json_object_set_new(leaders, grid, json_integer((json_int_t)r->line));
        }
    }
    /* A leader kept from before (a member this file does not name) counts too. */
    const char *grid;
    json_t *line;
    json_object_foreach(leaders, grid, line) {
        char other[64];
        other_leader(st, grid, members, other, sizeof other);
        if (other[0]) {
            cg_set_err(err, errlen, "%s: line %lld: grid %s has two leaders (%s already leads it)",
                    path, (long long)json_integer_value(line), grid, other);
            goto out;
        }
    }

    int64_t now = cg_now_ms();
    for (size_t i = 1; i < csv.n; i++) {
        const cg_csv_row *r = &csv.rows[i];
        if ((size_t)json_integer_value(json_object_get(members, r->f[col[R_ID]])) == i &&
            write_member(st, r, col, now, why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: line %zu: %s", path, r->line, why);
            goto out;
        }
    }
    for (size_t i = 1; i < csv.n; i++) {
        if (write_assignment(st, &csv.rows[i], col, why, sizeof why) < 0) {
            cg_set_err(err, errlen, "%s: line %zu: %s", path, csv.rows[i].line, why);
            goto out;
        }
    }
    rep->members = n_members;
    rep->assignments = csv.n - 1;
    rc = 0;
out:
    json_decref(members);
    json_decref(logins);
    json_decref(terminals);
    json_decref(keys);
    json_decref(leaders);
    cg_csv_free(&csv);
    return rc;
}

/* ---------------------------------------------------------------- public */

int cg_dataset_is_empty(cg_store *st)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT EXISTS (SELECT 1 FROM grids)");
    int empty = 1;
    if (s && sqlite3_step(s) == SQLITE_ROW)
        empty = sqlite3_column_int(s, 0) == 0;
    if (s)
        sqlite3_reset(s);
    return empty;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int cg_dataset_import_dir(cg_store *st, const char *dir, cg_import_report *rep, char *err,
                          size_t errlen)
{
    cg_import_report local = {0};
    char *places = join(dir, "places.csv"), *grids = join(dir, "grids.geojson"),
         *roster = join(dir, "roster.csv");
    int ok = places && grids && roster && txn_begin(st, err, errlen) == 0;
    int began = ok;
    if (!places || !grids || !roster)
        cg_set_err(err, errlen, "out of memory");
    ok = ok && import_places(st, places, &local, err, errlen) == 0 &&
         import_grid_file(st, grids, &local, err, errlen) == 0 &&
         import_roster_file(st, roster, &local, err, errlen) == 0;
    int rc = began ? txn_end(st, ok, err, errlen) : -1;
    free(places);
    free(grids);
    free(roster);
    if (rc == 0 && rep)
        *rep = local;
    return rc;
}

int cg_dataset_import_grids(cg_store *st, const char *geojson_path, const char *places_csv,
                            cg_import_report *rep, char *err, size_t errlen)
{
    cg_import_report local = {0};
    if (txn_begin(st, err, errlen) < 0)
        return -1;
    int ok = (!places_csv || import_places(st, places_csv, &local, err, errlen) == 0) &&
             import_grid_file(st, geojson_path, &local, err, errlen) == 0;
    int rc = txn_end(st, ok, err, errlen);
    if (rc == 0 && rep)
        *rep = local;
    return rc;
}

int cg_dataset_import_roster(cg_store *st, const char *csv_path, cg_import_report *rep,
                             char *err, size_t errlen)
{
    cg_import_report local = {0};
    if (txn_begin(st, err, errlen) < 0)
        return -1;
    int ok = import_roster_file(st, csv_path, &local, err, errlen) == 0;
    int rc = txn_end(st, ok, err, errlen);
    if (rc == 0 && rep)
        *rep = local;
    return rc;
}

/* ---------------------------------------------------------------- export */

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

int cg_dataset_export_grids(cg_store *st, FILE *out, char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT code, name, type, district, subdistrict, community, office_lon, office_lat,"
        " external_id, geometry FROM grids ORDER BY code");
    if (!s) {
        cg_set_err(err, errlen, "%s", sqlite3_errmsg(st->db));
        return -1;
    }
    fputs("{\"type\": \"FeatureCollection\",\n \"features\": [", out);
    int rc, first = 1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *geom = json_loads(col_text(s, 9), 0, NULL);
        json_t *props = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[f, f], s:o}", "code",
                                  col_text(s, 0), "name", col_text(s, 1), "type", col_text(s, 2),
                                  "district", col_text(s, 3), "subdistrict", col_text(s, 4),
                                  "community", col_text(s, 5), "office",
                                  sqlite3_column_double(s, 6), sqlite3_column_double(s, 7),
                                  "external_id",
                                  sqlite3_column_type(s, 8) == SQLITE_NULL
                                      ? json_null() : json_string(col_text(s, 8)));
        json_t *f = geom && props ? json_pack("{s:s, s:O, s:O}", "type", "Feature", "properties",
                                              props, "geometry", geom)
                                  : NULL;
        char *text = f ? json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_PRESERVE_ORDER)
                       : NULL;
        json_decref(geom);
        json_decref(props);
        json_decref(f);
        if (!text) {
            sqlite3_reset(s);
            cg_set_err(err, errlen, "grid %s: cannot encode its stored geometry", col_text(s, 0));
            return -1;
        }
        fprintf(out, "%s\n  %s", first ? "" : ",", text);
        first = 0;
        free(text);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        cg_set_err(err, errlen, "reading grids: %s", sqlite3_errmsg(st->db));
        return -1;
    }
    fputs("\n ]}\n", out);
    if (ferror(out)) {
        cg_set_err(err, errlen, "write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* One string cell, quoted and formula-neutralised by cg_csv_cell. -1 when
 * out of memory (the export then fails). */
static int csv_field(FILE *out, const char *v, int last)
{
    char *cell = cg_csv_cell(v);
    if (!cell)
        return -1;
    fputs(cell, out);
    free(cell);
    fputc(last ? '\n' : ',', out);
    return 0;
}

/* Write the header line, then every row of `sql` (ncols text columns) as
 * neutralised CSV cells. `what` names the rows in an error. */
static int export_csv(cg_store *st, FILE *out, const char *sql, const char *header, int ncols,
                      const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, sql);
    if (!s) {
        cg_set_err(err, errlen, "%s", sqlite3_errmsg(st->db));
        return -1;
    }
    fputs(header, out);
    int rc, oom = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        for (int k = 0; k < ncols; k++)
            oom |= csv_field(out, col_text(s, k), k == ncols - 1) < 0;
    sqlite3_reset(s);
    if (oom) {
        cg_set_err(err, errlen, "out of memory");
        return -1;
    }
    if (rc != SQLITE_DONE) {
        cg_set_err(err, errlen, "reading %s: %s", what, sqlite3_errmsg(st->db));
        return -1;
    }
    if (ferror(out)) {
        cg_set_err(err, errlen, "write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int cg_dataset_export_roster(cg_store *st, FILE *out, char *err, size_t errlen)
{
    return export_csv(st, out,
        "SELECT m.id, m.login, m.name, m.name_pinyin, m.terminal_id, m.department, a.grid, a.role"
        " FROM assignments a JOIN members m ON m.id = a.member_id"
        " ORDER BY a.grid, CASE a.role WHEN 'leader' THEN 0 WHEN 'instructor' THEN 1"
        " WHEN 'fulltime' THEN 2 WHEN 'professional' THEN 3 ELSE 4 END, a.department, m.id",
        "member_id,login,name,name_pinyin,terminal_id,department,grid,role\n", R_COLS,
        "the roster", err, errlen);
}

int cg_dataset_export_places(cg_store *st, FILE *out, char *err, size_t errlen)
{
    /* Parents before children, as the import wants them. */
    return export_csv(st, out,
        "SELECT level, code, parent, name_zh, name_en FROM places ORDER BY"
        " CASE level WHEN 'city' THEN 0 WHEN 'district' THEN 1 WHEN 'zone' THEN 1"
        " WHEN 'subdistrict' THEN 2 ELSE 3 END, code",
        "level,code,parent,name_zh,name_en\n", 5, "places", err, errlen);
}
