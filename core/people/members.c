/*
 * members.c — see members.h. Reads use the read connection (main thread);
 * cg_members_apply uses the write connection inside a batch item.
 */
#include "people/members.h"
#include "people/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MIN 8
#define ASSIGNMENTS_MAX 64

static const char *const roles[] = {"leader", "instructor", "fulltime", "professional", "optional"};

/* One grid of the caller, as the member_grids view says. */
struct cg_member_grid {
    char grid[CG_GRID_CODE_SIZE];
    int manages, leads;
};

cg_member_write *cg_member_write_new(int create, const char *id)
{
    cg_member_write *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->create = create;
    /* An id too long to be one stays "": cg_members_write_begin says 404. */
    if (!create && id && strlen(id) <= CG_MEMBER_ID_MAX)
        snprintf(w->id, sizeof w->id, "%s", id);
    return w;
}

void cg_member_write_free(cg_member_write *w)
{
    if (!w)
        return;
    free(w->assignments);
    free(w->current);
    free(w->caller_grids);
    sodium_memzero(w->password_hash, sizeof w->password_hash);
    sodium_memzero(w->password, sizeof w->password);
    free(w);
}

/* ---------------------------------------------------------------- facts */

/* The grids `member` serves, from member_grids. 0 ok, -1 database error. */
static int load_grids(cg_store *st, const char *member, struct cg_member_grid **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT grid, manages, leads FROM member_grids WHERE member_id = ?1 ORDER BY grid");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            struct cg_member_grid *g = realloc(*out, cap * sizeof *g);
            if (!g) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = g;
        }
        struct cg_member_grid *g = &(*out)[(*n)++];
        snprintf(g->grid, sizeof g->grid, "%s", (const char *)sqlite3_column_text(s, 0));
        g->manages = sqlite3_column_int(s, 1);
        g->leads = sqlite3_column_int(s, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

static const struct cg_member_grid *find_grid(const struct cg_member_grid *g, size_t n,
                                              const char *grid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].grid, grid) == 0)
            return &g[i];
    return NULL;
}

static int manages(const cg_member_write *w, const char *grid)
{
    const struct cg_member_grid *g = find_grid(w->caller_grids, w->n_caller_grids, grid);
    return g && g->manages;
}

/* A member's assignment rows. 0 ok, -1 database error. */
static int load_assignments(cg_store *st, const char *member, cg_member_assignment **out,
                            size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT grid, role, department FROM assignments WHERE member_id = ?1 ORDER BY grid, role");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            cg_member_assignment *a = realloc(*out, cap * sizeof *a);
            if (!a) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = a;
        }
        cg_member_assignment *a = &(*out)[(*n)++];
        const char *dep = (const char *)sqlite3_column_text(s, 2);
        snprintf(a->grid, sizeof a->grid, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(a->role, sizeof a->role, "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(a->department, sizeof a->department, "%s", dep ? dep : "");
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

static int is_manager_role(const char *role)
{
    return strcmp(role, "leader") == 0 || strcmp(role, "instructor") == 0;
}

/* A leader or an instructor of any grid: only an admin acts on them. */
static int any_manager_row(const cg_member_assignment *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (is_manager_role(a[i].role))
            return 1;
    return 0;
}

static int same_row(const cg_member_assignment *a, const cg_member_assignment *b)
{
    return strcmp(a->grid, b->grid) == 0 && strcmp(a->role, b->role) == 0 &&
           strcmp(a->department, b->department) == 0;
}

static int has_row(const cg_member_assignment *list, size_t n, const cg_member_assignment *a)
{
    for (size_t i = 0; i < n; i++)
        if (same_row(&list[i], a))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- reads */

json_t *cg_members_get_json(cg_store *st, const char *id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT id, name, name_pinyin, login, department, terminal_id, department_account,"
        " is_admin, password_hash IS NOT NULL, auditor, active FROM members WHERE id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    json_t *m = NULL;
#define TEXT_OR_NULL(i)                                                                 \
    (sqlite3_column_type(s, (i)) == SQLITE_NULL ? json_null()                           \
                                                : json_string((const char *)sqlite3_column_text(s, (i))))
    if (sqlite3_step(s) == SQLITE_ROW)
        m = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b, s:b}", "id",
                      (const char *)sqlite3_column_text(s, 0), "name",
                      (const char *)sqlite3_column_text(s, 1), "name_pinyin", TEXT_OR_NULL(2),
                      "login", TEXT_OR_NULL(3), "department", TEXT_OR_NULL(4), "terminal_id",
                      TEXT_OR_NULL(5), "department_account", sqlite3_column_int(s, 6),
                      "is_admin", sqlite3_column_int(s, 7), "has_password",
                      sqlite3_column_int(s, 8), "auditor", sqlite3_column_int(s, 9),
                      "active", sqlite3_column_int(s, 10));
    sqlite3_reset(s);
    if (!m)
        return NULL;
    s = cg_store_read_stmt(st,
        "SELECT grid, role, department FROM assignments WHERE member_id = ?1 ORDER BY grid, role");
    json_t *list = json_array();
    if (s) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "grid",
                                                  (const char *)sqlite3_column_text(s, 0), "role",
                                                  (const char *)sqlite3_column_text(s, 1),
                                                  "department", TEXT_OR_NULL(2)));
        sqlite3_reset(s);
    }
#undef TEXT_OR_NULL
    json_object_set_new(m, "assignments", list);
    return m;
}

cg_status cg_members_read(cg_store *st, const cg_principal *who, const char *id, json_t **out,
                          cg_result *r)
{
    *out = NULL;
    struct cg_member_grid *mine = NULL;
    size_t n_mine = 0;
    if (!who->is_admin && load_grids(st, who->member_id, &mine, &n_mine) < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    json_t *m = cg_members_get_json(st, id);
    int allowed = m && (who->is_admin || strcmp(id, who->member_id) == 0);
    json_t *list = json_object_get(m, "assignments");
    for (size_t i = 0; m && !allowed && i < json_array_size(list); i++)
        allowed = find_grid(mine, n_mine,
                            json_string_value(json_object_get(json_array_get(list, i), "grid")) ?: "")
                  != NULL;
    free(mine);
    if (!allowed) {
        json_decref(m);
        if (!m && who->is_admin)
            return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no member '%.64s'", id);
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "member '%.64s' is not in your grids", id);
    }
    *out = m;
    return CG_OK;
}

/* ---------------------------------------------------------------- who may */

cg_status cg_members_write_begin(cg_store *st, const cg_principal *who, cg_member_write *w,
                                 cg_result *r)
{
    if (!w->create && !w->id[0])
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no such member");
    if (!who->is_admin && load_grids(st, who->member_id, &w->caller_grids, &w->n_caller_grids) < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    if (!w->create) {
        sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT department FROM members WHERE id = ?1");
        if (!s)
            return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read members");
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            const char *dep = (const char *)sqlite3_column_text(s, 0);
            w->target_exists = 1;
            snprintf(w->current_department, sizeof w->current_department, "%s", dep ? dep : "");
        }
        sqlite3_reset(s);
        if (w->target_exists && load_assignments(st, w->id, &w->current, &w->n_current) < 0)
            return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the member's grids");
        if (!w->target_exists && who->is_admin)
            return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no member '%.64s'", w->id);
    }
    if (who->is_admin)
        return CG_OK;
    int manages_any = 0;
    for (size_t i = 0; i < w->n_caller_grids; i++)
        manages_any |= w->caller_grids[i].manages;
    if (!manages_any && (w->create || strcmp(w->id, who->member_id) != 0))
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only administrators, leaders and instructors manage members");
    if (!w->create && !w->target_exists)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "member '%.64s' is not in your grids", w->id);
    return CG_OK;
}

/* The rules of members.h for what this write changes. */
static cg_status authorize(const cg_principal *who, const cg_member_write *w, cg_result *r)
{
    if (who->is_admin)
        return CG_OK;
    int self = !w->create && strcmp(w->id, who->member_id) == 0;
    int record = w->has_name || w->has_pinyin || w->has_department || w->has_login ||
                 w->has_terminal || w->has_active;
    int only_own_fields = !w->has_department && !w->has_login && !w->has_terminal &&
                          !w->has_account && !w->has_assignments && !w->has_pinyin &&
                          !w->has_auditor && !w->has_active;
    if (self && only_own_fields)
        return CG_OK; /* name and password */
    if (w->has_account)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator sets 'department_account'");
    if (w->has_auditor)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "only an administrator sets 'auditor'");
    /* A manager: the member must be in a grid they manage (or be new). */
    int manages_target = w->create;
    for (size_t i = 0; i < w->n_current; i++)
        manages_target |= manages(w, w->current[i].grid);
    if (!manages_target)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator or a leader or instructor of the member's grid may do this");
    if (w->create && (!w->has_assignments || w->n_assignments == 0))
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "a leader or instructor adds members to the grids they manage: give 'assignments'");
    if (w->has_password)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only the member themself or an administrator sets a password");
    if (any_manager_row(w->current, w->n_current))
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator changes a grid leader's or instructor's record");
    /* The record reaches every grid the member serves. */
    for (size_t i = 0; record && i < w->n_current; i++)
        if (!manages(w, w->current[i].grid))
            return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                           "%s also serves grid %s, which you do not manage: only an administrator "
                           "changes their record", w->id, w->current[i].grid);
    for (size_t i = 0; w->has_assignments && i < w->n_assignments; i++) {
        const cg_member_assignment *a = &w->assignments[i];
        if (!manages(w, a->grid) && !has_row(w->current, w->n_current, a))
            return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                           "'assignments[%zu]': you do not manage grid %s", i, a->grid);
        if (is_manager_role(a->role))
            return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                           "'assignments[%zu]': only an administrator appoints a grid's %s", i,
                           a->role);
    }
    /* Rows in grids the caller does not manage stay as they are. */
    for (size_t i = 0; w->has_assignments && i < w->n_current; i++)
        if (!manages(w, w->current[i].grid) &&
            !has_row(w->assignments, w->n_assignments, &w->current[i]))
            return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                           "you do not manage grid %s: %s's %s assignment there stays as it is",
                           w->current[i].grid, w->id, w->current[i].role);
    return CG_OK;
}

/* How far a caller reaches over a member: whether the caller leads (or,
 * with need_leads 0, manages) at least one grid the member serves, the first
 * grid of theirs where the caller does not, and whether the member is a
 * grid's leader or instructor anywhere. */
typedef struct member_reach {
    int in_one;
    char beyond[CG_GRID_CODE_SIZE]; /* "" when the caller reaches them all */
    int member_manages;
} member_reach;

static cg_status reach_over(cg_store *st, const cg_principal *who, const char *member,
                            int need_leads, member_reach *out, cg_result *r)
{
    memset(out, 0, sizeof *out);
    struct cg_member_grid *mine = NULL;
    size_t n_mine = 0;
    cg_member_assignment *theirs = NULL;
    size_t n_theirs = 0;
    if (load_grids(st, who->member_id, &mine, &n_mine) < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    if (load_assignments(st, member, &theirs, &n_theirs) < 0) {
        free(mine);
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the member's grids");
    }
    for (size_t i = 0; i < n_theirs; i++) {
        const struct cg_member_grid *g = find_grid(mine, n_mine, theirs[i].grid);
        if (g && (need_leads ? g->leads : g->manages))
            out->in_one = 1;
        else if (!out->beyond[0])
            snprintf(out->beyond, sizeof out->beyond, "%s", theirs[i].grid);
    }
    out->member_manages = any_manager_row(theirs, n_theirs);
    free(mine);
    free(theirs);
    return CG_OK;
}

cg_status cg_members_may_issue_token(cg_store *st, const cg_principal *who, const char *member,
                                     cg_result *r)
{
    member_reach reach;
    if (who->is_admin)
        return CG_OK;
    if (reach_over(st, who, member, 1, &reach, r) != CG_OK)
        return r->status;
    if (!reach.in_one)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator or the leader of a grid where %.64s serves may "
                       "issue their token", member);
    if (reach.member_manages)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator issues a token for a grid's leader or instructor");
    if (reach.beyond[0])
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "%.64s also serves grid %s, which you do not lead: only an administrator "
                       "issues their token", member, reach.beyond);
    return CG_OK;
}

cg_status cg_members_may_equip(cg_store *st, const cg_principal *who, const char *member,
                               cg_result *r)
{
    member_reach reach;
    if (who->is_admin)
        return CG_OK;
    if (reach_over(st, who, member, 0, &reach, r) != CG_OK)
        return r->status;
    if (!reach.in_one)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator or the leader or instructor of the holder's grid "
                       "issues and takes back devices");
    if (reach.member_manages)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "only an administrator equips a grid's leader or instructor");
    if (reach.beyond[0])
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden",
                       "%.64s also serves grid %s, which you do not manage: only an administrator "
                       "issues or takes back their devices", member, reach.beyond);
    return CG_OK;
}

/* ---------------------------------------------------------------- the body */

static int valid_id_text(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CG_MEMBER_ID_MAX)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == ',' || *s == '"' || *s == '\'' || *s == '/')
            return 0;
    return 1;
}

/* A string field: absent (0), present (1, copied into out), or -1 with r. */
static int str_field(json_t *body, const char *key, char *out, size_t outlen, int id_like,
                     cg_result *r)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= outlen ||
        strlen(json_string_value(v)) != json_string_length(v) ||
        (id_like && !valid_id_text(json_string_value(v)))) {
        cg_fail(r, CG_E_INVALID, "invalid_field", "'%s' must be a non-empty string of at most "
                "%zu bytes%s", key, outlen - 1,
                id_like ? " without spaces, commas, quotes or slashes" : "");
        return -1;
    }
    snprintf(out, outlen, "%s", json_string_value(v));
    return 1;
}

static cg_status parse_assignments(cg_store *st, const cg_catalog *cat, json_t *list,
                                   cg_member_write *w, cg_result *r)
{
    if (!json_is_array(list) || json_array_size(list) > ASSIGNMENTS_MAX)
        return cg_fail(r, CG_E_INVALID, "invalid_field", "'assignments' must be an array of at "
                       "most %d {\"grid\",\"role\",\"department\"?}", ASSIGNMENTS_MAX);
    size_t n = json_array_size(list);
    w->assignments = calloc(n ? n : 1, sizeof *w->assignments);
    if (!w->assignments)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(list, i);
        cg_member_assignment *as = &w->assignments[i];
        const char *grid = json_string_value(json_object_get(a, "grid"));
        const char *role = json_string_value(json_object_get(a, "role"));
        json_t *dv = json_object_get(a, "department");
        const char *dept = json_string_value(dv);
        /* A professional or optional row serves the member's own department
         * unless it names another. */
        if (!dept && (!dv || json_is_null(dv)))
            dept = w->has_department ? w->department
                   : w->current_department[0] ? w->current_department : NULL;
        if (!json_is_object(a) || !grid || strlen(grid) != 14 || strspn(grid, "0123456789") != 14)
            return cg_fail(r, CG_E_INVALID, "invalid_field",
                           "'assignments[%zu].grid' must be a 14-digit grid code", i);
        int known_role = 0;
        for (size_t k = 0; role && k < sizeof roles / sizeof roles[0]; k++)
            known_role |= strcmp(role, roles[k]) == 0;
        if (!known_role)
            return cg_fail(r, CG_E_INVALID, "invalid_field", "'assignments[%zu].role' must be one "
                           "of leader, instructor, fulltime, professional, optional", i);
        if (dv && !json_is_null(dv) && !dept)
            return cg_fail(r, CG_E_INVALID, "invalid_field",
                           "'assignments[%zu].department' must be a string", i);
        int needs_dept = strcmp(role, "professional") == 0 || strcmp(role, "optional") == 0;
        const cg_department *d = dept ? cg_catalog_department(cat, dept) : NULL;
        if (needs_dept && (!d || (strcmp(role, "professional") == 0 && !d->mandatory)))
            return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_department", "'assignments[%zu]."
                           "department' must name %s department", i,
                           strcmp(role, "professional") == 0 ? "one of the five mandatory" : "a known");
        int exists = cg_grids_exists(st, grid);
        if (exists != 1)
            return cg_fail(r, exists < 0 ? CG_E_INTERNAL : CG_E_UNPROCESSABLE,
                           exists < 0 ? "internal_error" : "unknown_grid",
                           "'assignments[%zu].grid': no grid %s", i, grid);
        snprintf(as->grid, sizeof as->grid, "%s", grid);
        snprintf(as->role, sizeof as->role, "%s", role);
        snprintf(as->department, sizeof as->department, "%s", needs_dept ? dept : "");
        for (size_t k = 0; k < i; k++)
            if (strcmp(w->assignments[k].grid, grid) == 0 && strcmp(w->assignments[k].role, role) == 0)
                return cg_fail(r, CG_E_INVALID, "invalid_field",
                               "'assignments[%zu]' repeats %s of grid %s", i, role, grid);
    }
    w->n_assignments = n;
    w->has_assignments = 1;
    return CG_OK;
}

static cg_status parse_body(cg_store *st, const cg_catalog *cat, json_t *body, cg_member_write *w,
                            cg_result *r)
{
    static const char *const known[] = {"id", "name", "name_pinyin", "department", "login",
                                        "password", "terminal_id", "department_account",
                                        "assignments", "auditor", "active"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok)
            return cg_fail(r, CG_E_INVALID, "invalid_field", "unknown field '%.64s'", key);
    }
    int got;
    char *password = w->password;
    if (w->create && str_field(body, "id", w->id, sizeof w->id, 1, r) < 0)
        return r->status;
    if (!w->create && json_object_get(body, "id"))
        return cg_fail(r, CG_E_INVALID, "invalid_field", "'id' cannot be changed");
    if ((got = str_field(body, "name", w->name, sizeof w->name, 0, r)) < 0)
        return r->status;
    w->has_name = got;
    if (w->create && !w->has_name)
        return cg_fail(r, CG_E_INVALID, "missing_field", "missing field 'name'");
    if ((got = str_field(body, "name_pinyin", w->pinyin, sizeof w->pinyin, 0, r)) < 0)
        return r->status;
    w->has_pinyin = got;
    if ((got = str_field(body, "department", w->department, sizeof w->department, 1, r)) < 0)
        return r->status;
    if ((w->has_department = got) && !cg_catalog_department(cat, w->department))
        return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_department",
                       "'department': no department '%s'", w->department);
    if ((got = str_field(body, "login", w->login, sizeof w->login, 1, r)) < 0)
        return r->status;
    w->has_login = got;
    if ((got = str_field(body, "terminal_id", w->terminal, sizeof w->terminal, 1, r)) < 0)
        return r->status;
    w->has_terminal = got;
    if ((got = str_field(body, "password", password, sizeof w->password, 0, r)) < 0)
        return r->status;
    if (got) {
        if (strlen(password) < PASSWORD_MIN)
            return cg_fail(r, CG_E_INVALID, "invalid_field",
                           "'password' must have at least %d characters", PASSWORD_MIN);
        if (!w->has_login && w->create)
            return cg_fail(r, CG_E_INVALID, "missing_field", "'password' needs a 'login'");
        w->has_password = 1; /* hashed once the rules allow it (prepare) */
    }
    if ((v = json_object_get(body, "department_account"))) {
        if (!json_is_boolean(v))
            return cg_fail(r, CG_E_INVALID, "invalid_field",
                           "'department_account' must be true or false");
        w->has_account = 1;
        w->department_account = json_is_true(v);
    }
    if ((v = json_object_get(body, "auditor"))) {
        if (!json_is_boolean(v))
            return cg_fail(r, CG_E_INVALID, "invalid_field", "'auditor' must be true or false");
        w->has_auditor = 1;
        w->auditor = json_is_true(v);
    }
    if ((v = json_object_get(body, "active"))) {
        if (!json_is_boolean(v))
            return cg_fail(r, CG_E_INVALID, "invalid_field", "'active' must be true or false");
        w->has_active = 1;
        w->active = json_is_true(v);
    }
    if ((v = json_object_get(body, "assignments")) && parse_assignments(st, cat, v, w, r) != CG_OK)
        return r->status;
    return CG_OK;
}

cg_status cg_members_write_prepare(cg_store *st, const cg_catalog *cat, const cg_principal *who,
                                   json_t *body, cg_member_write *w, cg_result *r)
{
    cg_status rc = parse_body(st, cat, body, w, r);
    if (rc == CG_OK)
        rc = authorize(who, w, r);
    /* The password is hashed only for a write the rules allow, and not here:
     * argon2id is slow on purpose (cg_members_hash_password). */
    if (rc != CG_OK)
        sodium_memzero(w->password, sizeof w->password);
    return rc;
}

int cg_members_hash_password(cg_member_write *w)
{
    int rc = 0;
    if (w->has_password)
        rc = cg_auth_hash_password(w->password, w->password_hash, sizeof w->password_hash);
    sodium_memzero(w->password, sizeof w->password);
    return rc;
}

/* ---------------------------------------------------------------- apply */

/* Is a login or terminal taken by a member other than `id`? 1, 0, -1. */
static int taken(cg_store *st, sqlite3_stmt *s, const char *value, const char *id)
{
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

cg_status cg_members_apply(cg_store *st, cg_member_write *w, cg_result *r)
{
    char what[96];
    sqlite3_stmt *s;
    if (w->create && !w->id[0]) {
        /* The next M-number after the largest in use (imported M00001...). */
        s = cg_store_stmt(st, "SELECT 'M' || printf('%05d', coalesce(max(CAST(substr(id, 2) AS INTEGER)), 0) + 1)"
                              " FROM members WHERE id GLOB 'M[0-9]*'");
        if (!s || sqlite3_step(s) != SQLITE_ROW) {
            if (s)
                sqlite3_reset(s);
            return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot choose a member id");
        }
        snprintf(w->id, sizeof w->id, "%s", (const char *)sqlite3_column_text(s, 0));
        sqlite3_reset(s);
    }
    s = cg_store_stmt(st, "SELECT 1 FROM members WHERE id = ?1");
    if (!s)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read members");
    sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
    int exists = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    if (w->create && exists)
        return cg_fail(r, CG_E_CONFLICT, "conflict", "'id': member %s exists already", w->id);
    if (!w->create && !exists)
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no member '%s'", w->id);
    if (w->has_login &&
        taken(st, cg_store_stmt(st, "SELECT 1 FROM members WHERE login = ?1 AND id <> ?2"), w->login,
              w->id))
        return cg_fail(r, CG_E_CONFLICT, "conflict", "'login': '%s' belongs to another member",
                       w->login);
    if (w->has_terminal &&
        taken(st, cg_store_stmt(st, "SELECT 1 FROM members WHERE terminal_id = ?1 AND id <> ?2"),
              w->terminal, w->id))
        return cg_fail(r, CG_E_CONFLICT, "conflict",
                       "'terminal_id': '%s' belongs to another member", w->terminal);
    snprintf(what, sizeof what, "member %s", w->id);
    if (w->create) {
        s = cg_store_stmt(st, "INSERT INTO members(id, name, created_at, updated_at)"
                              " VALUES (?1, ?2, strftime('%s','now') * 1000, strftime('%s','now') * 1000)");
        if (s) {
            sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, w->name, -1, SQLITE_STATIC);
        }
        if (cg_store_step(st, s, what, r) != CG_OK)
            return r->status;
    }
    /* One UPDATE: each column keeps its value unless its flag is set. */
    s = cg_store_stmt(st,
        "UPDATE members SET name = CASE WHEN ?2 THEN ?3 ELSE name END,"
        " name_pinyin = CASE WHEN ?4 THEN ?5 ELSE name_pinyin END,"
        " department = CASE WHEN ?6 THEN ?7 ELSE department END,"
        " login = CASE WHEN ?8 THEN ?9 ELSE login END,"
        " password_hash = CASE WHEN ?10 THEN ?11 ELSE password_hash END,"
        " terminal_id = CASE WHEN ?12 THEN ?13 ELSE terminal_id END,"
        " department_account = CASE WHEN ?14 THEN ?15 ELSE department_account END,"
        " auditor = CASE WHEN ?16 THEN ?17 ELSE auditor END,"
        " active = CASE WHEN ?18 THEN ?19 ELSE active END,"
        " updated_at = strftime('%s','now') * 1000 WHERE id = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, w->has_name);
        sqlite3_bind_text(s, 3, w->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, w->has_pinyin);
        sqlite3_bind_text(s, 5, w->pinyin, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 6, w->has_department);
        sqlite3_bind_text(s, 7, w->department, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 8, w->has_login);
        sqlite3_bind_text(s, 9, w->login, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 10, w->has_password);
        sqlite3_bind_text(s, 11, w->password_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 12, w->has_terminal);
        sqlite3_bind_text(s, 13, w->terminal, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 14, w->has_account);
        sqlite3_bind_int(s, 15, w->department_account);
        sqlite3_bind_int(s, 16, w->has_auditor);
        sqlite3_bind_int(s, 17, w->auditor);
        sqlite3_bind_int(s, 18, w->has_active);
        sqlite3_bind_int(s, 19, w->active);
    }
    if (cg_store_step(st, s, what, r) != CG_OK)
        return r->status;
    /* A new password, or a deactivation, ends every session and terminal
     * token of the member. */
    if (((w->has_password && !w->create) || (w->has_active && !w->active)) &&
        cg_auth_revoke_member_tx(st, w->id, r) != CG_OK)
        return r->status;
    if (!w->has_assignments)
        return CG_OK;
    s = cg_store_stmt(st, "DELETE FROM assignments WHERE member_id = ?1");
    if (s)
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
    if (cg_store_step(st, s, what, r) != CG_OK)
        return r->status;
    for (size_t i = 0; i < w->n_assignments; i++) {
        const cg_member_assignment *a = &w->assignments[i];
        if (strcmp(a->role, "leader") == 0) {
            s = cg_store_stmt(st, "SELECT member_id FROM assignments WHERE grid = ?1 AND role = 'leader'");
            if (!s)
                return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read assignments");
            sqlite3_bind_text(s, 1, a->grid, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW) {
                cg_fail(r, CG_E_CONFLICT, "grid_has_leader",
                        "'assignments[%zu]': grid %s already has a leader (%s)", i, a->grid,
                        (const char *)sqlite3_column_text(s, 0));
                sqlite3_reset(s);
                return r->status;
            }
            sqlite3_reset(s);
        }
        s = cg_store_stmt(st, "INSERT INTO assignments(member_id, grid, role, department)"
                              " VALUES (?1, ?2, ?3, ?4)");
        if (s) {
            sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, a->grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, a->role, -1, SQLITE_STATIC);
            if (a->department[0])
                sqlite3_bind_text(s, 4, a->department, -1, SQLITE_STATIC);
        }
        if (cg_store_step(st, s, what, r) != CG_OK)
            return r->status;
    }
    return CG_OK;
}
