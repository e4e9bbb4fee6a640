/*
 * grids.c — locate, the grid JSON, the list, the staffing gaps and the
 * dispatch members (see grids.h).
 *
 * The geometry cache: an open-addressing table from grid_parts.id to the
 * parsed shape of its grid (shared by the grid's parts, reference-counted).
 * Part ids are never reused across imports (dataset.c), so an entry is
 * either right or never asked for again; the table is simply dropped when
 * it fills up with dead entries, when the store changes, or on
 * cg_grids_invalidate().
 */
#include "people/grids.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/geo.h"
#include "lib/log.h"

const char *const cg_mandatory_roles[CG_MANDATORY_ROLES] = {
    "leader", "instructor", "fulltime", "professional:enforcement", "professional:municipal",
    "professional:sanitation", "professional:market", "professional:police"};

/* ---------------------------------------------------------------- cache */

typedef struct grid_shape {
    int refs;
    char code[CG_GRID_CODE_SIZE];
    cg_geo_shape shape;
} grid_shape;

typedef struct part_entry {
    int64_t id;       /* 0: empty slot */
    int part;
    grid_shape *grid;
} part_entry;

static struct {
    const cg_store *owner; /* the store the entries came from */
    sqlite3 *owner_db;
    part_entry *slots;
    size_t cap, used;
} cache;

#define CACHE_MAX 65536 /* parts; a whole province's grids fit */

static void shape_unref(grid_shape *g)
{
    if (g && --g->refs == 0) {
        cg_geo_shape_free(&g->shape);
        free(g);
    }
}

void cg_grids_invalidate(void)
{
    for (size_t i = 0; i < cache.cap; i++)
        if (cache.slots[i].id)
            shape_unref(cache.slots[i].grid);
    free(cache.slots);
    memset(&cache, 0, sizeof cache);
}

static size_t slot_of(int64_t id, size_t cap)
{
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 20) & (cap - 1);
}

static part_entry *cache_find(int64_t id)
{
    if (!cache.cap)
        return NULL;
    for (size_t i = slot_of(id, cache.cap);; i = (i + 1) & (cache.cap - 1)) {
        if (cache.slots[i].id == id)
            return &cache.slots[i];
        if (!cache.slots[i].id)
            return NULL;
    }
}

static int cache_put(int64_t id, int part, grid_shape *g)
{
    if ((cache.used + 1) * 2 > cache.cap) {
        if (cache.cap >= CACHE_MAX) {
            /* Full of parts from earlier imports: start again. */
            const cg_store *owner = cache.owner;
            sqlite3 *db = cache.owner_db;
            cg_grids_invalidate();
            cache.owner = owner;
            cache.owner_db = db;
        }
        size_t ncap = cache.cap ? cache.cap * 2 : 1024;
        part_entry *old = cache.slots;
        size_t ocap = cache.cap;
        part_entry *fresh = calloc(ncap, sizeof *fresh);
        if (!fresh)
            return -1;
        cache.slots = fresh;
        cache.cap = ncap;
        for (size_t i = 0; i < ocap; i++) {
            if (!old[i].id)
                continue;
            size_t j = slot_of(old[i].id, ncap);
            while (fresh[j].id)
                j = (j + 1) & (ncap - 1);
            fresh[j] = old[i];
        }
        free(old);
    }
    size_t j = slot_of(id, cache.cap);
    while (cache.slots[j].id && cache.slots[j].id != id)
        j = (j + 1) & (cache.cap - 1);
    if (cache.slots[j].id) {
        shape_unref(cache.slots[j].grid);
        cache.used--;
    }
    cache.slots[j] = (part_entry){.id = id, .part = part, .grid = g};
    g->refs++;
    cache.used++;
    return 0;
}

/* Parse the grid that part `id` belongs to and cache all its parts. */
static part_entry *cache_load(cg_store *st, int64_t id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT g.code, g.geometry FROM grid_parts p JOIN grids g ON g.code = p.grid WHERE p.id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    grid_shape *g = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *code = (const char *)sqlite3_column_text(s, 0);
        json_t *geom = json_loads((const char *)sqlite3_column_text(s, 1), 0, NULL);
        char why[256];
        g = calloc(1, sizeof *g);
        if (g && code && geom && cg_geo_shape_from_geojson(geom, &g->shape, why, sizeof why) == 0) {
            snprintf(g->code, sizeof g->code, "%s", code);
        } else {
            CG_ERROR("grids", "grid %s: stored geometry unusable: %s", code ? code : "?",
                     geom ? why : "not JSON");
            free(g);
            g = NULL;
        }
        json_decref(geom);
    }
    sqlite3_reset(s);
    if (!g)
        return NULL;
    g->refs = 1; /* ours until the parts hold it */
    s = cg_store_read_stmt(st, "SELECT id, part FROM grid_parts WHERE grid = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, g->code, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(s) == SQLITE_ROW) {
            int part = sqlite3_column_int(s, 1);
            if (part >= 0 && (size_t)part < g->shape.n_polys)
                cache_put(sqlite3_column_int64(s, 0), part, g);
        }
        sqlite3_reset(s);
    }
    shape_unref(g);
    return cache_find(id);
}

int cg_grids_locate(cg_store *st, double lat, double lon, char code[CG_GRID_CODE_SIZE])
{
    code[0] = 0;
    cg_geo_pt p;
    if (cg_geo_snap(lon, lat, &p) < 0)
        return 0;
    if (cache.owner != st || cache.owner_db != st->db) {
        cg_grids_invalidate();
        cache.owner = st;
        cache.owner_db = st->db;
    }
    /* R*Tree boxes are stored as 32-bit floats rounded outwards: a superset. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT id FROM grid_boxes WHERE min_lon <= ?1 AND max_lon >= ?1"
        " AND min_lat <= ?2 AND max_lat >= ?2");
    if (!s)
        return -1;
    sqlite3_bind_double(s, 1, lon);
    sqlite3_bind_double(s, 2, lat);
    int64_t ids[64];
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < 64)
        ids[n++] = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    /* Tiles never overlap (imports are checked), so at most one part holds
     * the point; should two, the smaller code wins, every time. */
    for (size_t i = 0; i < n; i++) {
        part_entry *e = cache_find(ids[i]);
        if (!e)
            e = cache_load(st, ids[i]);
        if (!e)
            continue;
        if (cg_geo_polygon_contains_pt(&e->grid->shape.polys[e->part], p) &&
            (!code[0] || strcmp(e->grid->code, code) < 0))
            snprintf(code, CG_GRID_CODE_SIZE, "%s", e->grid->code);
    }
    return code[0] ? 1 : 0;
}

/* ---------------------------------------------------------------- JSON */

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

static json_t *col_or_null(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null() : json_string(col_text(s, i));
}

int cg_grids_exists(cg_store *st, const char *code)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT 1 FROM grids WHERE code = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The columns grid_json() reads, in this order: the grid and its three
 * places above, and the city above the district. */
#define GRID_SELECT                                                                          \
    "SELECT g.code, g.name, g.type, g.office_lat, g.office_lon, g.external_id,"             \
    " d.code, d.level, d.name_zh, d.name_en, s.code, s.name_zh, s.name_en,"                 \
    " c.code, c.level, c.name_zh, c.name_en, y.code, y.name_zh, y.name_en"                  \
    " FROM grids g JOIN places d ON d.code = g.district JOIN places s ON s.code = g.subdistrict" \
    " JOIN places c ON c.code = g.community LEFT JOIN places y ON y.code = d.parent"

static json_t *place(const char *code, const char *level, const char *zh, const char *en)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "code", code, "level", level, "name_zh", zh,
                     "name_en", en);
}

static json_t *grid_json(sqlite3_stmt *s)
{
    json_t *hier = json_object();
    if (sqlite3_column_type(s, 17) != SQLITE_NULL)
        json_object_set_new(hier, "city", place(col_text(s, 17), "city", col_text(s, 18),
                                                 col_text(s, 19)));
    json_object_set_new(hier, "district", place(col_text(s, 6), col_text(s, 7), col_text(s, 8),
                                                col_text(s, 9)));
    json_object_set_new(hier, "subdistrict", place(col_text(s, 10), "subdistrict",
                                                   col_text(s, 11), col_text(s, 12)));
    json_object_set_new(hier, "community", place(col_text(s, 13), col_text(s, 14),
                                                 col_text(s, 15), col_text(s, 16)));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:{s:f, s:f}, s:o}", "code",
                     col_text(s, 0), "name", col_text(s, 1), "type", col_text(s, 2), "district",
                     col_text(s, 6), "subdistrict", col_text(s, 10), "community", col_text(s, 13),
                     "hierarchy", hier, "office", "lat", sqlite3_column_double(s, 3), "lon",
                     sqlite3_column_double(s, 4), "external_id", col_or_null(s, 5));
}

static json_t *staff_json(cg_store *st, const char *code)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT m.id, m.name, a.role, coalesce(a.department, m.department)"
        " FROM assignments a JOIN members m ON m.id = a.member_id WHERE a.grid = ?1"
        " ORDER BY CASE a.role WHEN 'leader' THEN 0 WHEN 'instructor' THEN 1"
        " WHEN 'fulltime' THEN 2 WHEN 'professional' THEN 3 ELSE 4 END, a.department, m.id");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    json_t *staff = json_array();
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(staff, json_pack("{s:s, s:s, s:s, s:o}", "id", col_text(s, 0),
                                               "name", col_text(s, 1), "role", col_text(s, 2),
                                               "department", col_or_null(s, 3)));
    sqlite3_reset(s);
    return staff;
}

json_t *cg_grids_get(cg_store *st, const char *code)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, GRID_SELECT " WHERE g.code = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, code, -1, SQLITE_STATIC);
    json_t *g = sqlite3_step(s) == SQLITE_ROW ? grid_json(s) : NULL;
    sqlite3_reset(s);
    if (g) {
        json_t *staff = staff_json(st, code);
        json_object_set_new(g, "staff", staff ? staff : json_array());
    }
    return g;
}

static int in_only(const char *code, const char *const *only, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(only[i], code) == 0)
            return 1;
    return 0;
}

json_t *cg_grids_list(cg_store *st, const cg_grid_filter *f)
{
    int limit = f->limit < 1 ? 100 : f->limit > 1000 ? 1000 : f->limit;
    /* Unused filters bind NULL and drop out; 273 (or a few thousand) rows
     * need no per-filter SQL. */
    sqlite3_stmt *s = cg_store_read_stmt(st, GRID_SELECT
        " WHERE (?1 IS NULL OR g.district = ?1) AND (?2 IS NULL OR g.subdistrict = ?2)"
        " AND (?3 IS NULL OR g.community = ?3) AND (?4 IS NULL OR g.type = ?4)"
        " AND (?5 IS NULL OR g.code > ?5) ORDER BY g.code");
    if (!s)
        return NULL;
    const char *vals[5] = {f->district, f->subdistrict, f->community, f->type, f->cursor};
    for (int i = 0; i < 5; i++)
        if (vals[i] && *vals[i])
            sqlite3_bind_text(s, i + 1, vals[i], -1, SQLITE_STATIC);
    json_t *items = json_array();
    json_t *next = json_null();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (f->only && !in_only(col_text(s, 0), f->only, f->n_only))
            continue;
        if ((int)json_array_size(items) == limit) {
            json_t *last = json_array_get(items, (size_t)limit - 1);
            json_decref(next);
            next = json_string(json_string_value(json_object_get(last, "code")));
            break;
        }
        json_array_append_new(items, grid_json(s));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(items);
        json_decref(next);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

/* ---------------------------------------------------------------- gaps */

static int role_index(const char *role, const char *dept)
{
    char key[64];
    if (strcmp(role, "professional") == 0)
        snprintf(key, sizeof key, "professional:%s", dept ? dept : "");
    else
        snprintf(key, sizeof key, "%s", role);
    for (int i = 0; i < CG_MANDATORY_ROLES; i++)
        if (strcmp(key, cg_mandatory_roles[i]) == 0)
            return i;
    return -1;
}

json_t *cg_grids_gaps(cg_store *st, const char *const *only, size_t n_only)
{
    /* Both in code order: a merge, one pass over each table. */
    sqlite3_stmt *g = cg_store_read_stmt(st, "SELECT code, name FROM grids ORDER BY code");
    if (!g)
        return NULL;
    json_t *items = json_array();
    size_t examined = 0;
    int rc;
    /* The assignments statement is stepped alongside the grids one. */
    sqlite3_stmt *a = cg_store_read_stmt(st,
        "SELECT grid, role, department FROM assignments WHERE role <> 'optional' ORDER BY grid");
    if (!a) {
        sqlite3_reset(g);
        json_decref(items);
        return NULL;
    }
    int arc = sqlite3_step(a);
    while ((rc = sqlite3_step(g)) == SQLITE_ROW) {
        const char *code = col_text(g, 0);
        unsigned have = 0;
        while (arc == SQLITE_ROW && strcmp(col_text(a, 0), code) < 0)
            arc = sqlite3_step(a);
        while (arc == SQLITE_ROW && strcmp(col_text(a, 0), code) == 0) {
            int k = role_index(col_text(a, 1), (const char *)sqlite3_column_text(a, 2));
            if (k >= 0)
                have |= 1u << k;
            arc = sqlite3_step(a);
        }
        if (only && !in_only(code, only, n_only))
            continue;
        examined++;
        if (have == (1u << CG_MANDATORY_ROLES) - 1)
            continue;
        json_t *missing = json_array();
        for (int k = 0; k < CG_MANDATORY_ROLES; k++)
            if (!(have & (1u << k)))
                json_array_append_new(missing, json_string(cg_mandatory_roles[k]));
        json_array_append_new(items, json_pack("{s:s, s:s, s:o}", "grid", code, "name",
                                               col_text(g, 1), "missing", missing));
    }
    sqlite3_reset(g);
    sqlite3_reset(a);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:o, s:I, s:n}", "items", items, "grids", (json_int_t)examined, "next");
}

/* ---------------------------------------------------------------- dispatch */

/* Open: assigned and not yet handled, in every grid they serve; kept up to
 * date by triggers (migration "members' open-case counters"). In member
 * order straight from assignments_for_dispatch (no sort). */
static const char dispatch_members_sql[] =
    "SELECT m.id, m.name, a.role, coalesce(o.n, 0)"
    " FROM assignments a JOIN members m ON m.id = a.member_id"
    " LEFT JOIN member_open_cases o ON o.member_id = m.id"
    " WHERE a.grid = ?1 AND a.department = ?2 AND a.role IN ('professional','optional')"
    " ORDER BY a.member_id"; /* = m.id */

static sqlite3_stmt *dispatch_members_stmt(cg_store *st, const char *grid, const char *department)
{
    sqlite3_stmt *s = cg_store_stmt(st, dispatch_members_sql);
    if (s) {
        sqlite3_bind_text(s, 1, grid ? grid : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, department ? department : "", -1, SQLITE_STATIC);
    }
    return s;
}

json_t *cg_grids_dispatch_members(cg_store *st, const char *grid, const char *department)
{
    sqlite3_stmt *s = dispatch_members_stmt(st, grid, department);
    if (!s)
        return NULL;
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I}", "id", col_text(s, 0),
                                              "name", col_text(s, 1), "role", col_text(s, 2),
                                              "open_cases", (json_int_t)sqlite3_column_int64(s, 3)));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(list);
        return NULL;
    }
    return list;
}

int cg_grids_dispatch_members_write(cg_store *st, const char *grid, const char *department,
                                    cg_jbuf *out)
{
    sqlite3_stmt *s = dispatch_members_stmt(st, grid, department);
    if (!s)
        return -1;
    cg_jbuf_raw(out, "[");
    int rc, first = 1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cg_jbuf_raw(out, first ? "{\"id\":" : ",{\"id\":");
        first = 0;
        cg_jbuf_string(out, col_text(s, 0));
        cg_jbuf_raw(out, ",\"name\":");
        cg_jbuf_string(out, col_text(s, 1));
        cg_jbuf_raw(out, ",\"role\":");
        cg_jbuf_string(out, col_text(s, 2));
        cg_jbuf_raw(out, ",\"open_cases\":");
        cg_jbuf_int(out, sqlite3_column_int64(s, 3));
        cg_jbuf_raw(out, "}");
    }
    sqlite3_reset(s);
    cg_jbuf_raw(out, "]");
    return rc == SQLITE_DONE ? 0 : -1;
}
