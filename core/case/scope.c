/*
 * scope.c — see scope.h.
 */
#include "case/scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cg_scope_load(cg_store *st, const cg_principal *who, cg_scope *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->member_id, sizeof out->member_id, "%s", who->member_id);
    snprintf(out->department, sizeof out->department, "%s", who->department);
    out->admin = who->is_admin;
    if (out->admin)
        return 0;
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT department_account FROM members WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, who->member_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        out->department_account = sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    /* One row per grid served, whether they manage and lead it: the
     * member_grids view (store/migrations.c) is where that rule is written. */
    s = cg_store_read_stmt(st,
        "SELECT grid, manages, leads FROM member_grids WHERE member_id = ?1 ORDER BY grid");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, who->member_id, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->n_grids == cap) {
            cap = cap ? cap * 2 : 8;
            void *g = realloc(out->grids, cap * sizeof *out->grids);
            void *m = g ? realloc(out->manages, cap) : NULL;
            if (g)
                out->grids = g;
            if (m)
                out->manages = m;
            void *l = m ? realloc(out->leads, cap) : NULL;
            if (!l) {
                sqlite3_reset(s);
                cg_scope_free(out);
                return -1;
            }
            out->leads = l;
        }
        const char *code = (const char *)sqlite3_column_text(s, 0);
        snprintf(out->grids[out->n_grids], CG_GRID_CODE_SIZE, "%s", code ? code : "");
        out->manages[out->n_grids] = (unsigned char)sqlite3_column_int(s, 1);
        out->leads[out->n_grids++] = (unsigned char)sqlite3_column_int(s, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        cg_scope_free(out);
        return -1;
    }
    out->grid_ptrs = calloc(out->n_grids ? out->n_grids : 1, sizeof *out->grid_ptrs);
    if (!out->grid_ptrs) {
        cg_scope_free(out);
        return -1;
    }
    for (size_t i = 0; i < out->n_grids; i++)
        out->grid_ptrs[i] = out->grids[i];
    return 0;
}

void cg_scope_free(cg_scope *sc)
{
    free(sc->grids);
    free(sc->manages);
    free(sc->grid_ptrs);
    free(sc->leads);
    sc->grids = NULL;
    sc->manages = NULL;
    sc->leads = NULL;
    sc->grid_ptrs = NULL;
    sc->n_grids = 0;
}

static long grid_index(const cg_scope *sc, const char *grid)
{
    if (!grid || !*grid)
        return -1;
    for (size_t i = 0; i < sc->n_grids; i++)
        if (strcmp(sc->grids[i], grid) == 0)
            return (long)i;
    return -1;
}

int cg_scope_serves(const cg_scope *sc, const char *grid)
{
    return sc->admin || grid_index(sc, grid) >= 0;
}

int cg_scope_manages(const cg_scope *sc, const char *grid)
{
    long i = grid_index(sc, grid);
    return sc->admin || (i >= 0 && sc->manages[i]);
}

cg_status cg_scope_reads_routine(const cg_scope *sc, const char *grid, const char *what,
                                 cg_result *r)
{
    if (sc->admin)
        return CG_OK;
    if (sc->department_account)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "a department account does not read a grid's %s", what);
    if (grid && !cg_scope_serves(sc, grid))
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "this %s is not in your grids (%s)", what,
                       grid);
    return CG_OK;
}

int cg_scope_manages_any(const cg_scope *sc)
{
    for (size_t i = 0; i < sc->n_grids; i++)
        if (sc->manages[i])
            return 1;
    return sc->admin;
}

int cg_scope_leads(const cg_scope *sc, const char *grid)
{
    long i = grid_index(sc, grid);
    return sc->admin || (i >= 0 && sc->leads[i]);
}

int cg_scope_leads_member(cg_store *st, const cg_scope *sc, const char *member)
{
    if (sc->admin)
        return 1;
    /* The member's grids are what their own scope would serve. */
    cg_principal them;
    memset(&them, 0, sizeof them);
    snprintf(them.member_id, sizeof them.member_id, "%s", member);
    cg_scope theirs;
    if (cg_scope_load(st, &them, &theirs) < 0)
        return -1;
    int yes = 0;
    for (size_t i = 0; i < theirs.n_grids && !yes; i++)
        yes = cg_scope_leads(sc, theirs.grids[i]);
    cg_scope_free(&theirs);
    return yes;
}

int cg_scope_sees_case(const cg_scope *sc, const char *grid, const char *department,
                       const char *reporter)
{
    if (sc->admin)
        return 1;
    if (sc->department_account && department && strcmp(department, sc->department) == 0)
        return 1;
    if (reporter && strcmp(reporter, sc->member_id) == 0)
        return 1;
    return grid_index(sc, grid) >= 0;
}

int cg_scope_sees_member(const cg_scope *sc, const char *member_id, const char *const *grids,
                         size_t n)
{
    if (sc->admin || strcmp(member_id, sc->member_id) == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (grid_index(sc, grids[i]) >= 0)
            return 1;
    return 0;
}

/* Case ids are "C%08lld" of their seq: newest first = larger seq first. */
static long long case_seq(json_t *c)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    return id && id[0] == 'C' ? strtoll(id + 1, NULL, 10) : 0;
}

static int newest_first(const void *a, const void *b)
{
    long long x = case_seq(*(json_t *const *)a), y = case_seq(*(json_t *const *)b);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A list that failed: a cursor we did not give out, or a storage fault. */
static cg_status list_failed(const cg_case_filter *f, cg_result *err)
{
    if (f->cursor)
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'cursor' is not a cursor this server gave out");
    return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot list cases");
}

static cg_status merged_list(cg_store *st, const cg_scope *sc, const cg_case_filter *f, json_t **page,
                       cg_result *err)
{
    int limit = f->limit < 1 ? 100 : f->limit > 1000 ? 1000 : f->limit;
    json_t **all = NULL;
    size_t n = 0;
    int more = 0;
    json_t *pages = json_array();
    for (size_t i = 0; i < sc->n_grids; i++) {
        cg_case_filter one = *f;
        one.grid = sc->grids[i];
        one.limit = limit;
        json_t *p = cg_cases_list(st, &one);
        if (!p) {
            json_decref(pages);
            free(all);
            return list_failed(f, err);
        }
        json_array_append_new(pages, p);
        more |= json_is_string(json_object_get(p, "next"));
        json_t *items = json_object_get(p, "items");
        json_t **grown = realloc(all, (n + json_array_size(items) + 1) * sizeof *all);
        if (!grown) {
            json_decref(pages);
            free(all);
            return cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
        }
        all = grown;
        for (size_t k = 0; k < json_array_size(items); k++)
            all[n++] = json_array_get(items, k);
    }
    qsort(all, n, sizeof *all, newest_first);
    json_t *items = json_array();
    for (size_t k = 0; k < n && k < (size_t)limit; k++)
        json_array_append(items, all[k]);
    json_t *next = json_null();
    if ((more || n > (size_t)limit) && json_array_size(items) > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", case_seq(json_array_get(items, json_array_size(items) - 1)));
        json_decref(next);
        next = json_string(buf);
    }
    free(all);
    json_decref(pages);
    *page = json_pack("{s:o, s:o}", "items", items, "next", next);
    return CG_OK;
}

cg_status cg_scope_cases_list(cg_store *st, const cg_scope *sc, const cg_case_filter *f, json_t **page,
                        cg_result *err)
{
    cg_case_filter mine = *f;
    *page = NULL;
    if (!sc->admin && sc->department_account) {
        if (f->department && *f->department && strcmp(f->department, sc->department) != 0)
            return cg_fail(err, CG_E_FORBIDDEN, "forbidden", "a department account sees only %s cases",
                           sc->department);
        mine.department = sc->department;
    } else if (!sc->admin) {
        if (f->grid && *f->grid) {
            if (!cg_scope_serves(sc, f->grid))
                return cg_fail(err, CG_E_FORBIDDEN, "forbidden", "you do not serve grid %.20s", f->grid);
        } else if (sc->n_grids == 0)
            return cg_fail(err, CG_E_FORBIDDEN, "forbidden", "you serve no grid"); else if (sc->n_grids > 1) {
            return merged_list(st, sc, f, page, err);
        } else {
            mine.grid = sc->grids[0];
        }
    }
    *page = cg_cases_list(st, &mine);
    if (!*page) {
        return list_failed(f, err);
    }
    return CG_OK;
}

/* ---------------------------------------------------------------- cases */

cg_status cg_scope_report_grid(cg_store *st, const cg_principal *who, cg_new_case *nc,
                         char grid[CG_GRID_CODE_SIZE], cg_result *err)
{
    grid[0] = 0;
    if (nc->grid && *nc->grid) {
        int ex = cg_grids_exists(st, nc->grid);
        if (ex != 1) {
            if (ex < 0)
                return cg_fail(err, CG_E_INTERNAL, "internal_error", "'grid': no grid %.20s", nc->grid);
            return cg_fail(err, CG_E_UNPROCESSABLE, "unknown_grid", "'grid': no grid %.20s", nc->grid);
        }
        snprintf(grid, CG_GRID_CODE_SIZE, "%s", nc->grid);
    } else if (nc->has_location) {
        int rc = cg_grids_locate(st, nc->lat, nc->lon, grid);
        if (rc < 0)
            return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the grid boxes");
        if (rc == 0)
            return cg_fail(err, CG_E_UNPROCESSABLE, "outside_grids",
                           "the point lat %.6f, lon %.6f is outside every grid", nc->lat, nc->lon);
    }
    nc->grid = grid;
    if (who->is_admin)
        return CG_OK; /* the hot path: no query */
    cg_scope sc;
    if (cg_scope_load(st, who, &sc) < 0)
        return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    int ok = sc.department_account || cg_scope_serves(&sc, grid);
    cg_scope_free(&sc);
    if (!ok)
        return cg_fail(err, CG_E_FORBIDDEN, "forbidden", "you may report only in the grids you serve, not %s",
                       grid[0] ? grid : "(none)");
    return CG_OK;
}

cg_status cg_scope_case_visible(cg_store *st, const cg_principal *who, json_t *c, cg_result *err)
{
    if (who->is_admin)
        return CG_OK;
    cg_scope sc;
    if (cg_scope_load(st, who, &sc) < 0)
        return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    int ok = cg_scope_sees_case(&sc, json_string_value(json_object_get(c, "grid")),
                                json_string_value(json_object_get(c, "department")),
                                json_string_value(json_object_get(c, "reporter")));
    cg_scope_free(&sc);
    if (!ok)
        return cg_fail(err, CG_E_FORBIDDEN, "forbidden", "case %.32s is outside your grids",
                       json_string_value(json_object_get(c, "id")));
    return CG_OK;
}

cg_status cg_scope_cases_for(cg_store *st, const cg_principal *who, const cg_case_filter *f,
                       json_t **page, cg_result *err)
{
    cg_scope sc;
    if (cg_scope_load(st, who, &sc) < 0)
        return cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    cg_status rc = cg_scope_cases_list(st, &sc, f, page, err);
    cg_scope_free(&sc);
    return rc;
}
