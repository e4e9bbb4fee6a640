/*
 * access.c — a caller's access to a data source (access.h).
 */
#include "sources/access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct assignment {
    char grid[CG_GRID_CODE_SIZE];
    char role[16];
    char department[32];
} assignment;

/* The caller's assignments (read connection). -1 on error. */
static long load_assignments(cg_store *st, const cg_principal *who, assignment **out)
{
    *out = NULL;
    sqlite3_stmt *s = cg_store_read_stmt(
        st, "SELECT a.grid, a.role, coalesce(a.department, m.department, '') FROM assignments a"
            " JOIN members m ON m.id = a.member_id WHERE a.member_id = ?1 ORDER BY a.grid");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, who->member_id, -1, SQLITE_STATIC);
    long n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            assignment *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = grown;
        }
        assignment *a = &(*out)[n++];
        snprintf(a->grid, sizeof a->grid, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(a->role, sizeof a->role, "%s", (const char *)sqlite3_column_text(s, 1));
        snprintf(a->department, sizeof a->department, "%s",
                 (const char *)sqlite3_column_text(s, 2));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

static int matches(const cg_source_rule *rule, const assignment *a)
{
    return strcmp(rule->role, a->role) == 0 &&
           (strcmp(rule->department, "*") == 0 || strcmp(rule->department, a->department) == 0);
}

/* "professional（police）" or "fulltime": a role as the refusal names it. */
static void append_role(char *buf, size_t len, const char *role, const char *department)
{
    size_t used = strlen(buf);
    if (used + 1 >= len)
        return;
    int has_dept = department && *department && strcmp(department, "*") != 0;
    char one[80];
    snprintf(one, sizeof one, "%s%s%s%s", role, has_dept ? "（" : "", has_dept ? department : "",
             has_dept ? "）" : "");
    if (strstr(buf, one))
        return;
    snprintf(buf + used, len - used, "%s%s", used ? "、" : "", one);
}

static cg_status refuse(const cg_source_policy *p, const assignment *as, long n,
                        const char *source, cg_result *r)
{
    char needed[160] = "", have[120] = "";
    for (size_t i = 0; i < p->n_rules; i++)
        if (strcmp(p->rules[i].source, source) == 0)
            append_role(needed, sizeof needed, p->rules[i].role, p->rules[i].department);
    for (long i = 0; i < n; i++)
        append_role(have, sizeof have, as[i].role, as[i].department);
    if (!*needed)
        return cg_fail(r, CG_E_FORBIDDEN, "source_forbidden",
                       "数据源 %s 未向任何岗位开放查询", source);
    return cg_fail(r, CG_E_FORBIDDEN, "source_forbidden",
                   "无权查询数据源 %s：需要岗位 %s；你的岗位：%s", source, needed,
                   *have ? have : "无（未在任何网格任职）");
}

cg_status cg_source_access_for(cg_store *st, const cg_source_policy *p, const cg_principal *who,
                               const char *source, cg_source_access *out, cg_result *r)
{
    memset(out, 0, sizeof *out);
    assignment *as;
    long n = load_assignments(st, who, &as);
    if (n < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    const cg_source_rule *rule = NULL;
    for (size_t i = 0; i < p->n_rules && !rule; i++) {
        if (strcmp(p->rules[i].source, source) != 0)
            continue;
        for (long j = 0; j < n && !rule; j++)
            if (matches(&p->rules[i], &as[j])) {
                rule = &p->rules[i];
                snprintf(out->role, sizeof out->role, "%s", as[j].role);
                snprintf(out->department, sizeof out->department, "%s", as[j].department);
            }
    }
    if (!rule) {
        cg_status rc = refuse(p, as, n, source, r);
        free(as);
        return rc;
    }
    out->rule = rule;
    out->grids = calloc((size_t)n, sizeof *out->grids);
    if (!out->grids) {
        free(as);
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    }
    for (long j = 0; j < n; j++)
        if (matches(rule, &as[j]) &&
            (out->n_grids == 0 || strcmp(out->grids[out->n_grids - 1], as[j].grid) != 0))
            memcpy(out->grids[out->n_grids++], as[j].grid, CG_GRID_CODE_SIZE);
    free(as);
    return CG_OK;
}

void cg_source_access_free(cg_source_access *a)
{
    if (!a)
        return;
    free(a->grids);
    a->grids = NULL;
    a->n_grids = 0;
}

int cg_source_access_covers(cg_store *st, const cg_source_access *a, double lat, double lon)
{
    char code[CG_GRID_CODE_SIZE];
    int found = cg_grids_locate(st, lat, lon, code);
    if (found <= 0)
        return found;
    for (size_t i = 0; i < a->n_grids; i++)
        if (strcmp(a->grids[i], code) == 0)
            return 1;
    return 0;
}
