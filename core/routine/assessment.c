/*
 * assessment.c — the monthly indicators, scores, annual evaluation and
 * commendations (assessment.h; formulas in README.md "Assessment").
 *
 * One report is computed for the whole city at once: every case due in the
 * month or the month before is read once from the cases_by_due index range,
 * every case reported in the month once from cases_by_created, and each is
 * added to the counters of its grid, its responsible member and its
 * department (hash maps from id to row). Rows are then turned into rates
 * and scores. Cost: linear in the cases of two months, not in all cases.
 */
#include "routine/assessment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/citydate.h"
#include "lib/csv.h"
#include "lib/errbuf.h"

const char *const cg_assess_keys[CG_IND_N] = {
    "patrol_discovery_rate", "timely_disposal_rate", "closure_rate", "satisfaction",
    "attendance_rate",       "coordination",         "effectiveness",
};

/* The counts beside the rates (row keys, in this order). */
enum {
    K_CASES,          /* cases reported in the month (grid; member: their grids' sum) */
    K_PATROL_FOUND,   /* of those, found by patrol (member: reported by them) */
    K_DUE,            /* cases due in the month */
    K_DUE_TIMELY,     /* of those, not postponed: the timely denominator */
    K_ON_TIME,        /* of those, handled by the deadline */
    K_CLOSED,         /* due and closed */
    K_RATED,          /* closed with a rating */
    K_RATING_SUM,
    K_DUTY_REQUIRED,
    K_DUTY_MET,
    K_PATROL_REQUIRED,
    K_PATROL_MET,
    K_COORD_RECEIVED, /* due, transferred or joint/city level */
    K_COORD_MET,      /* of those, handled by the deadline */
    K_REWORK,
    K_REOPENS,
    K_DUPLICATES,
    K_PROBLEMS,       /* rework + reopens + duplicates of the cases due */
    K_DUE_PREV,
    K_PROBLEMS_PREV,
    K_N
};
static const char *const count_keys[K_N] = {
    "cases", "patrol_found", "due", "due_not_postponed", "handled_on_time", "closed", "rated",
    "rating_sum", "duty_days_required", "duty_days_met", "patrol_days_required",
    "patrol_days_met", "coordination_received", "coordination_met", "rework", "reopens",
    "duplicates", "problems", "due_prev", "problems_prev",
};

static const char *const role_names[] = {"leader", "instructor", "fulltime", "professional",
                                         "optional"};
#define N_ROLES 5

void cg_assess_conf_init(cg_assess_conf *c, const cg_config *cfg)
{
    cg_config defaults;
    if (!cfg) { /* the schema's defaults (conf/config.c), as for an empty file */
        cg_config_defaults(&defaults);
        cg_assess_conf_init(c, &defaults);
        cg_config_free(&defaults);
        return;
    }
    memset(c, 0, sizeof *c);
    for (int i = 0; i < CG_IND_N; i++)
        c->weights[i] = cfg->assessment.weights[i];
    c->grid_share = cfg->assessment.grid_share;
    c->commend_top = cfg->assessment.commend_top;
    c->patrol_days_per_week = cfg->attendance.patrol_days_per_week;
    c->patrol_min_minutes = cfg->attendance.patrol_min_minutes;
}

int cg_assess_by_parse(const char *text)
{
    if (!text)
        return -1;
    if (!strcmp(text, "member"))
        return CG_ASSESS_BY_MEMBER;
    if (!strcmp(text, "grid"))
        return CG_ASSESS_BY_GRID;
    if (!strcmp(text, "department"))
        return CG_ASSESS_BY_DEPARTMENT;
    return -1;
}

const char *cg_assess_by_name(cg_assess_by by)
{
    return by == CG_ASSESS_BY_GRID ? "grid" : by == CG_ASSESS_BY_DEPARTMENT ? "department" : "member";
}

/* ---------------------------------------------------------------- id maps */

/* Open addressing from a string to a row index; keys are copied. */
typedef struct strmap {
    char **keys;
    int *vals;
    size_t cap, n;
} strmap;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void strmap_free(strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int strmap_get(const strmap *m, const char *key)
{
    if (!m->cap || !key)
        return -1;
    for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return -1;
        if (!strcmp(m->keys[i], key))
            return m->vals[i];
    }
}

/* 0 ok, -1 no memory. The key must not be present yet. */
static int strmap_put(strmap *m, const char *key, int val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        strmap bigger = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(int)), cap, 0};
        if (!bigger.keys || !bigger.vals) {
            free(bigger.keys);
            free(bigger.vals);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = hash_str(m->keys[i]) & (cap - 1);
            while (bigger.keys[j])
                j = (j + 1) & (cap - 1);
            bigger.keys[j] = m->keys[i];
            bigger.vals[j] = m->vals[i];
            bigger.n++;
        }
        free(m->keys);
        free(m->vals);
        *m = bigger;
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->keys[j])
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = copy;
    m->vals[j] = val;
    m->n++;
    return 0;
}

/* ---------------------------------------------------------------- rows */

typedef struct row {
    char *id;
    char *name, *name_zh;       /* members */
    unsigned roles;             /* members: bit per role_names[] */
    int *grids;                 /* members: indexes into the grid rows */
    size_t n_grids;
    char **deps;                /* members: departments served for */
    size_t n_deps;
    long long k[K_N];
    double value[CG_IND_N];
    int has[CG_IND_N];
    int has_own, has_grid_part, has_score;
    double own, grid_part, score;
} row;

typedef struct rowset {
    row *rows;
    size_t n, cap;
    strmap index;
} rowset;

static void rowset_free(rowset *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        row *r = &rs->rows[i];
        free(r->id);
        free(r->name);
        free(r->name_zh);
        free(r->grids);
        for (size_t j = 0; j < r->n_deps; j++)
            free(r->deps[j]);
        free(r->deps);
    }
    free(rs->rows);
    strmap_free(&rs->index);
    memset(rs, 0, sizeof *rs);
}

/* The row of `id`, added when `add`; -1 when absent (or no memory). */
static int rowset_find(rowset *rs, const char *id, int add)
{
    if (!id || !*id)
        return -1;
    int i = strmap_get(&rs->index, id);
    if (i >= 0 || !add)
        return i;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        row *nr = realloc(rs->rows, cap * sizeof *nr);
        if (!nr)
            return -1;
        rs->rows = nr;
        rs->cap = cap;
    }
    row *r = &rs->rows[rs->n];
    memset(r, 0, sizeof *r);
    r->id = strdup(id);
    if (!r->id || strmap_put(&rs->index, id, (int)rs->n) < 0) {
        free(r->id);
        return -1;
    }
    return (int)rs->n++;
}

static int add_int(int **list, size_t *n, int v)
{
    for (size_t i = 0; i < *n; i++)
        if ((*list)[i] == v)
            return 0;
    int *nl = realloc(*list, (*n + 1) * sizeof **list);
    if (!nl)
        return -1;
    nl[(*n)++] = v;
    *list = nl;
    return 0;
}

static int add_str(char ***list, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], s))
            return 0;
    char **nl = realloc(*list, (*n + 1) * sizeof **list);
    if (!nl)
        return -1;
    *list = nl;
    if (!(nl[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

/* One member's service in one grid: the patrol rule is counted per pair. */
typedef struct pair {
    int member, grid;
    char *department;           /* professional/optional: whom for; else NULL */
    int week_days[6];           /* patrol days per counted week */
} pair;

typedef struct report {
    rowset members, grids, deps;
    pair *pairs;
    size_t n_pairs, cap_pairs;
    strmap pair_index;          /* "member\x1fgrid" */
} report;

static void report_free(report *r)
{
    rowset_free(&r->members);
    rowset_free(&r->grids);
    rowset_free(&r->deps);
    for (size_t i = 0; i < r->n_pairs; i++)
        free(r->pairs[i].department);
    free(r->pairs);
    strmap_free(&r->pair_index);
}

static const char *col(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static int step_error(cg_store *st, sqlite3_stmt *s, int rc, const char *what, char *err,
                      size_t errlen)
{
    if (s)
        sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    cg_set_err(err, errlen, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->rdb));
    return -1;
}

static int role_bit(const char *role)
{
    for (int i = 0; role && i < N_ROLES; i++)
        if (!strcmp(role, role_names[i]))
            return i;
    return -1;
}

/* Every grid, and every member with an assignment (their roles, grids,
 * departments, one pair per member and grid). */
static int load_people(cg_store *st, report *rp, char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT code FROM grids ORDER BY code");
    int rc;
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot read the grids", st->path);
        return -1;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (rowset_find(&rp->grids, col(s, 0), 1) < 0) {
            sqlite3_reset(s);
            cg_set_err(err, errlen, "out of memory");
            return -1;
        }
    if (step_error(st, s, rc, "reading the grids", err, errlen) < 0)
        return -1;
    s = cg_store_read_stmt(st,
        "SELECT a.member_id, a.grid, a.role, a.department, m.name, m.name_zh"
        " FROM assignments a JOIN members m ON m.id = a.member_id");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot read the assignments", st->path);
        return -1;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int g = rowset_find(&rp->grids, col(s, 1), 0);
        int m = rowset_find(&rp->members, col(s, 0), 1);
        if (g < 0 || m < 0)
            continue;
        row *mr = &rp->members.rows[m];
        if (!mr->name) {
            mr->name = strdup(col(s, 4) ? col(s, 4) : "");
            mr->name_zh = col(s, 5) ? strdup(col(s, 5)) : NULL;
        }
        int bit = role_bit(col(s, 2));
        if (bit >= 0)
            mr->roles |= 1u << bit;
        const char *dep = col(s, 3);
        if (add_int(&mr->grids, &mr->n_grids, g) < 0 ||
            (dep && *dep && add_str(&mr->deps, &mr->n_deps, dep) < 0))
            goto nomem;
        char key[160];
        snprintf(key, sizeof key, "%s\x1f%s", col(s, 0), col(s, 1));
        int p = strmap_get(&rp->pair_index, key);
        if (p < 0) {
            if (rp->n_pairs == rp->cap_pairs) {
                size_t cap = rp->cap_pairs ? rp->cap_pairs * 2 : 256;
                pair *np = realloc(rp->pairs, cap * sizeof *np);
                if (!np)
                    goto nomem;
                rp->pairs = np;
                rp->cap_pairs = cap;
            }
            p = (int)rp->n_pairs;
            memset(&rp->pairs[p], 0, sizeof rp->pairs[p]);
            rp->pairs[p].member = m;
            rp->pairs[p].grid = g;
            if (strmap_put(&rp->pair_index, key, p) < 0)
                goto nomem;
            rp->n_pairs++;
        }
        if (dep && *dep && !rp->pairs[p].department)
            rp->pairs[p].department = strdup(dep);
        if (dep && *dep && rowset_find(&rp->deps, dep, 1) < 0)
            goto nomem;
    }
    return step_error(st, s, rc, "reading the assignments", err, errlen);
nomem:
    sqlite3_reset(s);
    cg_set_err(err, errlen, "out of memory");
    return -1;
}

/* ---------------------------------------------------------------- cases */

static int64_t month_start_ms(int32_t first_day) { return cg_city_day_start_ms(first_day); }

/* The first day of the month before the month starting at first_day. */
static int32_t previous_month(int32_t first_day)
{
    int y, m, d;
    cg_day_to_civil(first_day - 1, &y, &m, &d);
    return cg_day_from_civil(y, m, 1);
}

/* Add one due case to a row: month 1 = the report's month, 0 = the one
 * before (only its problems count, for effectiveness). */
typedef struct due_case {
    int postponed, on_time, closed, rating, coordination;
    long long rework, reopens, duplicates;
} due_case;

static void add_due(row *r, int month, const due_case *c)
{
    long long problems = c->rework + c->reopens + c->duplicates;
    if (month == 0) {
        r->k[K_DUE_PREV]++;
        r->k[K_PROBLEMS_PREV] += problems;
        return;
    }
    r->k[K_DUE]++;
    if (!c->postponed) {
        r->k[K_DUE_TIMELY]++;
        r->k[K_ON_TIME] += c->on_time;
    }
    if (c->closed) {
        r->k[K_CLOSED]++;
        if (c->rating > 0) {
            r->k[K_RATED]++;
            r->k[K_RATING_SUM] += c->rating;
        }
    }
    if (c->coordination) {
        r->k[K_COORD_RECEIVED]++;
        r->k[K_COORD_MET] += c->on_time;
    }
    r->k[K_REWORK] += c->rework;
    r->k[K_REOPENS] += c->reopens;
    r->k[K_DUPLICATES] += c->duplicates;
    r->k[K_PROBLEMS] += problems;
}

/* The expression of the index cases_by_due (migrations.c), term for term. */
#define DUE_AT "coalesce(expected_at, created_at)"

static int scan_due(cg_store *st, report *rp, int32_t first_day, int n_days, char *err,
                    size_t errlen)
{
    int64_t prev_start = month_start_ms(previous_month(first_day));
    int64_t start = month_start_ms(first_day), end = month_start_ms(first_day + n_days);
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT grid, department, coalesce(assignee, handled_by), status, postponed,"
        " handled_at, expected_at, satisfaction, misroutes, level, rework, reopens, duplicates,"
        " handled_on_site, created_at, " DUE_AT
        " FROM cases WHERE " DUE_AT " >= ?1 AND " DUE_AT " < ?2 AND status <> 'cancelled'");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot prepare the due cases", st->path);
        return -1;
    }
    sqlite3_bind_int64(s, 1, prev_start);
    sqlite3_bind_int64(s, 2, end);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *status = col(s, 3), *level = col(s, 9);
        int handled = status && (!strcmp(status, "handled") || !strcmp(status, "closed"));
        int has_deadline = sqlite3_column_type(s, 6) != SQLITE_NULL;
        int64_t deadline = sqlite3_column_int64(s, 6);
        int64_t handled_at = sqlite3_column_type(s, 5) != SQLITE_NULL ? sqlite3_column_int64(s, 5)
                             : sqlite3_column_int(s, 13) ? sqlite3_column_int64(s, 14)
                                                         : -1;
        due_case c = {
            .postponed = sqlite3_column_int(s, 4) != 0,
            .on_time = handled && handled_at >= 0 && (!has_deadline || handled_at <= deadline),
            .closed = status && !strcmp(status, "closed"),
            .rating = sqlite3_column_int(s, 7),
            .coordination = sqlite3_column_int64(s, 8) > 0 ||
                            (level && (!strcmp(level, "joint") || !strcmp(level, "city"))),
            .rework = sqlite3_column_int64(s, 10),
            .reopens = sqlite3_column_int64(s, 11),
            .duplicates = sqlite3_column_int64(s, 12),
        };
        int month = sqlite3_column_int64(s, 15) >= start ? 1 : 0;
        int g = rowset_find(&rp->grids, col(s, 0), 0);
        int m = rowset_find(&rp->members, col(s, 2), 0);
        int d = rowset_find(&rp->deps, col(s, 1), 1);
        if (g >= 0)
            add_due(&rp->grids.rows[g], month, &c);
        if (m >= 0)
            add_due(&rp->members.rows[m], month, &c);
        if (d >= 0)
            add_due(&rp->deps.rows[d], month, &c);
    }
    return step_error(st, s, rc, "reading the due cases", err, errlen);
}

static int scan_reported(cg_store *st, report *rp, int32_t first_day, int n_days, char *err,
                         size_t errlen)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT grid, department, reporter, source = 'patrol' FROM cases"
        " WHERE created_at >= ?1 AND created_at < ?2 AND status <> 'cancelled'");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot prepare the reported cases", st->path);
        return -1;
    }
    sqlite3_bind_int64(s, 1, month_start_ms(first_day));
    sqlite3_bind_int64(s, 2, month_start_ms(first_day + n_days));
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int patrol = sqlite3_column_int(s, 3);
        int g = rowset_find(&rp->grids, col(s, 0), 0);
        int d = rowset_find(&rp->deps, col(s, 1), 1);
        if (g >= 0) {
            rp->grids.rows[g].k[K_CASES]++;
            rp->grids.rows[g].k[K_PATROL_FOUND] += patrol;
        }
        if (d >= 0) {
            rp->deps.rows[d].k[K_CASES]++;
            rp->deps.rows[d].k[K_PATROL_FOUND] += patrol;
        }
        int m = patrol ? rowset_find(&rp->members, col(s, 2), 0) : -1;
        if (m >= 0)
            rp->members.rows[m].k[K_PATROL_FOUND]++;
    }
    return step_error(st, s, rc, "reading the reported cases", err, errlen);
}

/* ---------------------------------------------------------------- attendance */

static void add_duty(row *r, int met)
{
    r->k[K_DUTY_REQUIRED]++;
    r->k[K_DUTY_MET] += met;
}

/* Rota days of the month before `today`, met with a check-in by that person
 * in that grid on that day. */
static int scan_duty(cg_store *st, report *rp, int32_t first_day, int n_days, int32_t today,
                     char *err, size_t errlen)
{
    int32_t last = first_day + n_days < today ? first_day + n_days : today; /* exclusive */
    if (last <= first_day)
        return 0;
    char from[CG_DATE_SIZE], to[CG_DATE_SIZE];
    cg_day_format(first_day, from, sizeof from);
    cg_day_format(last, to, sizeof to);
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT r.grid, r.member, EXISTS (SELECT 1 FROM checkins c WHERE c.member = r.member"
        "   AND c.grid = r.grid AND c.day = r.day)"
        " FROM duty_rota r WHERE r.day >= ?1 AND r.day < ?2");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot prepare the rota", st->path);
        return -1;
    }
    sqlite3_bind_text(s, 1, from, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int met = sqlite3_column_int(s, 2);
        int g = rowset_find(&rp->grids, col(s, 0), 0);
        int m = rowset_find(&rp->members, col(s, 1), 0);
        if (g >= 0)
            add_duty(&rp->grids.rows[g], met);
        if (m >= 0)
            add_duty(&rp->members.rows[m], met);
    }
    return step_error(st, s, rc, "reading the rota", err, errlen);
}

/* The ISO weeks of the month: those whose Thursday is in it (so each week
 * belongs to exactly one month), counted once over (Sunday before today).
 * Their Mondays into mondays[] (at most 5); returns how many. */
static int month_weeks(int32_t first_day, int n_days, int32_t today, int32_t mondays[6])
{
    int n = 0;
    for (int32_t d = first_day; d < first_day + n_days; d++) {
        if (cg_day_weekday(d) != 4)
            continue;
        int32_t monday = d - 3;
        if (monday + 6 < today && n < 6)
            mondays[n++] = monday;
    }
    return n;
}

static int scan_patrols(cg_store *st, const cg_assess_conf *c, report *rp, int32_t first_day,
                        int n_days, int32_t today, char *err, size_t errlen)
{
    int32_t mondays[6];
    int n_weeks = month_weeks(first_day, n_days, today, mondays);
    int per_week = c->patrol_days_per_week > 0 ? c->patrol_days_per_week : 0;
    if (n_weeks > 0 && per_week > 0) {
        char from[CG_DATE_SIZE], to[CG_DATE_SIZE];
        cg_day_format(mondays[0], from, sizeof from);
        cg_day_format(mondays[n_weeks - 1] + 7, to, sizeof to);
        sqlite3_stmt *s = cg_store_read_stmt(st,
            "SELECT member, grid, day FROM patrol_days"
            " WHERE day >= ?1 AND day < ?2 AND inside_ms >= ?3");
        if (!s) {
            cg_set_err(err, errlen, "%s: cannot prepare the patrol days", st->path);
            return -1;
        }
        sqlite3_bind_text(s, 1, from, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, (int64_t)c->patrol_min_minutes * 60000);
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            char key[160];
            snprintf(key, sizeof key, "%s\x1f%s", col(s, 0), col(s, 1));
            int p = strmap_get(&rp->pair_index, key);
            int32_t day;
            if (p < 0 || cg_day_parse(col(s, 2), &day) < 0)
                continue;
            for (int w = 0; w < n_weeks; w++)
                if (day >= mondays[w] && day < mondays[w] + 7)
                    rp->pairs[p].week_days[w]++;
        }
        if (step_error(st, s, rc, "reading the patrol days", err, errlen) < 0)
            return -1;
    }
    for (size_t i = 0; i < rp->n_pairs; i++) {
        pair *p = &rp->pairs[i];
        long long required = (long long)per_week * n_weeks, met = 0;
        for (int w = 0; w < n_weeks; w++)
            met += p->week_days[w] < per_week ? p->week_days[w] : per_week;
        row *targets[3] = {&rp->members.rows[p->member], &rp->grids.rows[p->grid], NULL};
        int d = p->department ? rowset_find(&rp->deps, p->department, 0) : -1;
        if (d >= 0)
            targets[2] = &rp->deps.rows[d];
        for (int t = 0; t < 3; t++) {
            if (!targets[t])
                continue;
            targets[t]->k[K_PATROL_REQUIRED] += required;
            targets[t]->k[K_PATROL_MET] += met;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- rates */

static void set_value(row *r, int i, long long num, long long den)
{
    r->has[i] = den > 0;
    r->value[i] = den > 0 ? (double)num / (double)den : 0;
}

static void compute_rates(row *r)
{
    set_value(r, CG_IND_DISCOVERY, r->k[K_PATROL_FOUND], r->k[K_CASES]);
    set_value(r, CG_IND_TIMELY, r->k[K_ON_TIME], r->k[K_DUE_TIMELY]);
    set_value(r, CG_IND_CLOSURE, r->k[K_CLOSED], r->k[K_DUE]);
    set_value(r, CG_IND_SATISFACTION, r->k[K_RATING_SUM], r->k[K_RATED]);
    set_value(r, CG_IND_ATTENDANCE, r->k[K_DUTY_MET] + r->k[K_PATROL_MET],
              r->k[K_DUTY_REQUIRED] + r->k[K_PATROL_REQUIRED]);
    set_value(r, CG_IND_COORDINATION, r->k[K_COORD_MET], r->k[K_COORD_RECEIVED]);
    /* Repeat problems against the previous month: 1 none in either, 0.5 as
     * many, 1 all gone, 0 new ones after none (README "Assessment"). */
    long long p = r->k[K_PROBLEMS], q = r->k[K_PROBLEMS_PREV];
    r->has[CG_IND_EFFECTIVENESS] = r->k[K_DUE] > 0;
    if (r->k[K_DUE] > 0)
        r->value[CG_IND_EFFECTIVENESS] =
            p == 0 && q == 0 ? 1.0 : 0.5 + (double)(q - p) / (2.0 * (double)(p > q ? p : q));
}

/* The own score, 0..100: the weighted mean of the indicators the row has,
 * satisfaction scaled from 1..5 to 0..1. */
static void compute_own_score(row *r, const cg_assess_conf *c)
{
    double sum = 0, wsum = 0;
    for (int i = 0; i < CG_IND_N; i++) {
        if (!r->has[i] || !(c->weights[i] > 0))
            continue;
        double v = i == CG_IND_SATISFACTION ? (r->value[i] - 1.0) / 4.0 : r->value[i];
        sum += c->weights[i] * v;
        wsum += c->weights[i];
    }
    r->has_own = wsum > 0;
    r->own = wsum > 0 ? 100.0 * sum / wsum : 0;
    r->has_score = r->has_own;
    r->score = r->own;
}

static void compute_report(report *rp, const cg_assess_conf *c)
{
    rowset *sets[3] = {&rp->grids, &rp->deps, &rp->members};
    /* A member's "cases" is the sum over their grids (the discovery
     * denominator: all cases in the grids they serve). */
    for (size_t i = 0; i < rp->members.n; i++) {
        row *m = &rp->members.rows[i];
        for (size_t j = 0; j < m->n_grids; j++)
            m->k[K_CASES] += rp->grids.rows[m->grids[j]].k[K_CASES];
    }
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < sets[s]->n; i++) {
            compute_rates(&sets[s]->rows[i]);
            compute_own_score(&sets[s]->rows[i], c);
        }
    /* Bundled: (1 - share) * own + share * the mean score of their grids. */
    double share = c->grid_share < 0 ? 0 : c->grid_share > 1 ? 1 : c->grid_share;
    for (size_t i = 0; i < rp->members.n; i++) {
        row *m = &rp->members.rows[i];
        double sum = 0;
        int n = 0;
        for (size_t j = 0; j < m->n_grids; j++) {
            const row *g = &rp->grids.rows[m->grids[j]];
            if (g->has_score) {
                sum += g->score;
                n++;
            }
        }
        m->has_grid_part = n > 0;
        m->grid_part = n ? sum / n : 0;
        m->has_score = m->has_own || m->has_grid_part;
        m->score = !m->has_own ? m->grid_part
                   : !m->has_grid_part ? m->own
                                       : (1 - share) * m->own + share * m->grid_part;
    }
}

static int build_report(cg_store *st, const cg_assess_conf *c, int32_t first_day, int n_days,
                        int32_t today, report *rp, char *err, size_t errlen)
{
    memset(rp, 0, sizeof *rp);
    if (load_people(st, rp, err, errlen) < 0 ||
        scan_due(st, rp, first_day, n_days, err, errlen) < 0 ||
        scan_reported(st, rp, first_day, n_days, err, errlen) < 0 ||
        scan_duty(st, rp, first_day, n_days, today, err, errlen) < 0 ||
        scan_patrols(st, c, rp, first_day, n_days, today, err, errlen) < 0) {
        report_free(rp);
        return -1;
    }
    compute_report(rp, c);
    return 0;
}

/* ---------------------------------------------------------------- JSON */

static json_t *rounded(double v, double scale) { return json_real(round(v * scale) / scale); }

static int cmp_rows(const void *a, const void *b)
{
    return strcmp((*(const row *const *)a)->id, (*(const row *const *)b)->id);
}

static const char *main_role(unsigned roles)
{
    for (int i = 0; i < N_ROLES; i++)
        if (roles & (1u << i))
            return role_names[i];
    return NULL;
}

static void add_member_fields(json_t *o, const report *rp, const row *r)
{
    json_t *roles = json_array(), *grids = json_array(), *deps = json_array();
    for (int i = 0; i < N_ROLES; i++)
        if (r->roles & (1u << i))
            json_array_append_new(roles, json_string(role_names[i]));
    for (size_t i = 0; i < r->n_grids; i++)
        json_array_append_new(grids, json_string(rp->grids.rows[r->grids[i]].id));
    for (size_t i = 0; i < r->n_deps; i++)
        json_array_append_new(deps, json_string(r->deps[i]));
    const char *role = main_role(r->roles);
    json_object_set_new(o, "name", json_string(r->name ? r->name : ""));
    json_object_set_new(o, "name_zh", r->name_zh ? json_string(r->name_zh) : json_null());
    json_object_set_new(o, "role", role ? json_string(role) : json_null());
    json_object_set_new(o, "roles", roles);
    json_object_set_new(o, "grids", grids);
    json_object_set_new(o, "departments", deps);
}

static json_t *row_json(const report *rp, const row *r, cg_assess_by by)
{
    json_t *o = json_object();
    json_object_set_new(o, cg_assess_by_name(by), json_string(r->id));
    if (by == CG_ASSESS_BY_MEMBER)
        add_member_fields(o, rp, r);
    for (int i = 0; i < CG_IND_N; i++)
        json_object_set_new(o, cg_assess_keys[i], r->has[i] ? rounded(r->value[i], 1e4)
                                                            : json_null());
    json_object_set_new(o, "score", r->has_score ? rounded(r->score, 1e2) : json_null());
    if (by == CG_ASSESS_BY_MEMBER) {
        json_object_set_new(o, "own_score", r->has_own ? rounded(r->own, 1e2) : json_null());
        json_object_set_new(o, "grid_score", r->has_grid_part ? rounded(r->grid_part, 1e2)
                                                              : json_null());
    }
    for (int k = 0; k < K_N; k++)
        json_object_set_new(o, count_keys[k], json_integer(r->k[k]));
    return o;
}

static json_t *rows_json(const report *rp, const rowset *rs, cg_assess_by by)
{
    const row **sorted = malloc((rs->n ? rs->n : 1) * sizeof *sorted);
    json_t *items = json_array();
    if (!sorted || !items) {
        free(sorted);
        json_decref(items);
        return NULL;
    }
    for (size_t i = 0; i < rs->n; i++)
        sorted[i] = &rs->rows[i];
    qsort(sorted, rs->n, sizeof *sorted, cmp_rows);
    for (size_t i = 0; i < rs->n; i++)
        json_array_append_new(items, row_json(rp, sorted[i], by));
    free(sorted);
    return items;
}

static void month_text(int32_t first_day, char buf[12])
{
    int y, m, d;
    cg_day_to_civil(first_day, &y, &m, &d);
    snprintf(buf, 12, "%04d-%02d", y, m);
}

json_t *cg_assess_monthly(cg_store *st, const cg_assess_conf *c, int32_t first_day, int n_days,
                          cg_assess_by by, int32_t today, char *err, size_t errlen)
{
    report rp;
    if (build_report(st, c, first_day, n_days, today, &rp, err, errlen) < 0)
        return NULL;
    const rowset *rs = by == CG_ASSESS_BY_GRID ? &rp.grids
                       : by == CG_ASSESS_BY_DEPARTMENT ? &rp.deps
                                                       : &rp.members;
    json_t *items = rows_json(&rp, rs, by);
    report_free(&rp);
    if (!items) {
        cg_set_err(err, errlen, "out of memory");
        return NULL;
    }
    char month[12];
    month_text(first_day, month);
    return json_pack("{s:s, s:s, s:o}", "month", month, "by", cg_assess_by_name(by), "items",
                     items);
}

/* ---------------------------------------------------------------- annual */

static int cmp_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *cg_assess_annual(cg_store *st, const cg_assess_conf *c, int year, int32_t today,
                         char *err, size_t errlen)
{
    json_t *by_member = json_object(), *months = json_array();
    for (int m = 1; m <= 12; m++) {
        int32_t first = cg_day_from_civil(year, m, 1);
        if (first > today)
            break;
        int n_days = cg_day_from_civil(m == 12 ? year + 1 : year, m == 12 ? 1 : m + 1, 1) - first;
        report rp;
        if (build_report(st, c, first, n_days, today, &rp, err, errlen) < 0) {
            json_decref(by_member);
            json_decref(months);
            return NULL;
        }
        char month[12];
        month_text(first, month);
        json_array_append_new(months, json_string(month));
        for (size_t i = 0; i < rp.members.n; i++) {
            const row *r = &rp.members.rows[i];
            json_t *o = json_object_get(by_member, r->id);
            if (!o) {
                /* Name, roles and grids as of today's assignments. */
                o = json_object();
                json_object_set_new(o, "member", json_string(r->id));
                add_member_fields(o, &rp, r);
                json_object_set_new(o, "monthly", json_array());
                json_object_set_new(by_member, r->id, o);
            }
            json_array_append_new(json_object_get(o, "monthly"),
                json_pack("{s:s, s:o}", "month", month,
                          "score", r->has_score ? rounded(r->score, 1e2) : json_null()));
        }
        report_free(&rp);
    }
    /* Items sorted by member id: the object's keys, sorted. */
    size_t n = json_object_size(by_member), i = 0;
    const char **ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        json_decref(by_member);
        json_decref(months);
        cg_set_err(err, errlen, "out of memory");
        return NULL;
    }
    const char *key;
    json_t *o;
    json_object_foreach(by_member, key, o)
        ids[i++] = key;
    qsort(ids, n, sizeof *ids, cmp_strings);
    json_t *items = json_array();
    for (i = 0; i < n; i++) {
        o = json_object_get(by_member, ids[i]);
        json_t *monthly = json_object_get(o, "monthly"), *mo;
        size_t j;
        double sum = 0;
        int counted = 0;
        json_array_foreach(monthly, j, mo) {
            json_t *sc = json_object_get(mo, "score");
            if (json_is_number(sc)) {
                sum += json_number_value(sc);
                counted++;
            }
        }
        json_object_set_new(o, "months_counted", json_integer(counted));
        json_object_set_new(o, "score", counted ? rounded(sum / counted, 1e2) : json_null());
        json_array_append(items, o);
    }
    free(ids);
    json_decref(by_member);
    return json_pack("{s:i, s:s, s:o, s:o}", "year", year, "by", "member", "months", months,
                     "items", items);
}

/* ---------------------------------------------------------------- commendations */

static int cmp_annual(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double sx = json_number_value(json_object_get(x, "score"));
    double sy = json_number_value(json_object_get(y, "score"));
    if (sx != sy)
        return sx > sy ? -1 : 1;
    json_int_t mx = json_integer_value(json_object_get(x, "months_counted"));
    json_int_t my = json_integer_value(json_object_get(y, "months_counted"));
    if (mx != my)
        return mx > my ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "member")),
                  json_string_value(json_object_get(y, "member")));
}

json_t *cg_assess_commendations(const json_t *annual, int top)
{
    json_t *all = json_object_get(annual, "items");
    size_t n = json_array_size(all);
    json_t **cands = malloc((n ? n : 1) * sizeof *cands);
    json_t *items = json_array();
    if (!cands || !items) {
        free(cands);
        json_decref(items);
        return NULL;
    }
    for (int r = 0; r < N_ROLES; r++) {
        size_t k = 0, i;
        json_t *o;
        json_array_foreach(all, i, o) {
            const char *role = json_string_value(json_object_get(o, "role"));
            if (role && !strcmp(role, role_names[r]) && json_is_number(json_object_get(o, "score")))
                cands[k++] = o;
        }
        qsort(cands, k, sizeof *cands, cmp_annual);
        for (size_t j = 0; j < k && (int)j < top; j++)
            json_array_append_new(items, json_pack("{s:s, s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:O}",
                "role", role_names[r], "rank", (json_int_t)(j + 1),
                "member", json_object_get(cands[j], "member"),
                "name", json_object_get(cands[j], "name"),
                "name_zh", json_object_get(cands[j], "name_zh"),
                "score", json_object_get(cands[j], "score"),
                "months_counted", json_object_get(cands[j], "months_counted"),
                "grids", json_object_get(cands[j], "grids"),
                "departments", json_object_get(cands[j], "departments")));
    }
    free(cands);
    return json_pack("{s:O, s:i, s:o}", "year", json_object_get(annual, "year"), "top", top,
                     "items", items);
}

/* ---------------------------------------------------------------- CSV */

typedef struct buf {
    char *p;
    size_t n, cap;
    int failed;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* One string cell, quoted and formula-neutralised by cg_csv_cell. */
static void csv_field(buf *b, const char *s)
{
    char *cell = cg_csv_cell(s);
    if (!cell) {
        b->failed = 1;
        return;
    }
    buf_str(b, cell);
    free(cell);
}

static void csv_value(buf *b, json_t *v)
{
    char num[64];
    if (json_is_string(v)) {
        csv_field(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        buf_str(b, num);
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.10g", json_real_value(v));
        buf_str(b, num);
    } else if (json_is_true(v) || json_is_false(v)) {
        buf_str(b, json_is_true(v) ? "true" : "false");
    } else if (json_is_array(v)) {
        buf joined = {0};
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (i)
                buf_str(&joined, ";");
            if (json_is_string(e))
                buf_str(&joined, json_string_value(e));
        }
        csv_field(b, joined.p ? joined.p : "");
        b->failed |= joined.failed;
        free(joined.p);
    }
    /* null: an empty field */
}

/* The CSV header in Chinese: a spreadsheet is read by people; the JSON keys
 * stay the machine's names. A key not listed here is written as it is. */
static const struct {
    const char *key, *zh;
} csv_labels[] = {
    {"member", "成员编号"}, {"grid", "网格编码"}, {"department", "部门"},
    {"name", "姓名"}, {"name_zh", "中文名称"}, {"role", "主要岗位"}, {"roles", "岗位"},
    {"grids", "所在网格"}, {"departments", "所属部门"},
    {"patrol_discovery_rate", "巡查发现率"}, {"timely_disposal_rate", "及时处置率"},
    {"closure_rate", "结案率"}, {"satisfaction", "满意度"}, {"attendance_rate", "出勤率"},
    {"coordination", "协同配合"}, {"effectiveness", "管理成效"},
    {"score", "综合得分"}, {"own_score", "个人得分"}, {"grid_score", "网格得分"},
    {"cases", "上报案件数"}, {"patrol_found", "巡查发现数"}, {"due", "到期案件数"},
    {"due_not_postponed", "到期未延期数"}, {"handled_on_time", "按时处置数"},
    {"closed", "结案数"}, {"rated", "评价数"}, {"rating_sum", "评分合计"},
    {"duty_days_required", "应值班天数"}, {"duty_days_met", "实际值班天数"},
    {"patrol_days_required", "应巡查天数"}, {"patrol_days_met", "实际巡查天数"},
    {"coordination_received", "收到协同数"}, {"coordination_met", "完成协同数"},
    {"rework", "返工数"}, {"reopens", "重新打开数"}, {"duplicates", "重复上报数"},
    {"problems", "问题数"}, {"due_prev", "上月到期数"}, {"problems_prev", "上月问题数"},
    {"rank", "名次"}, {"months_counted", "计入月数"}, {"monthly", "各月得分"},
    {"year", "年度"}, {"month", "月份"},
};

static const char *csv_label(const char *key)
{
    for (size_t i = 0; i < sizeof csv_labels / sizeof csv_labels[0]; i++)
        if (!strcmp(csv_labels[i].key, key))
            return csv_labels[i].zh;
    return key;
}

char *cg_assess_csv(const json_t *items, size_t *len)
{
    buf b = {0};
    buf_str(&b, "\xEF\xBB\xBF"); /* UTF-8 BOM */
    json_t *first = json_array_get(items, 0);
    const char *key;
    json_t *v;
    int i = 0;
    json_object_foreach(first, key, v) {
        if (i++)
            buf_str(&b, ",");
        csv_field(&b, csv_label(key));
    }
    buf_str(&b, "\r\n");
    size_t r;
    json_t *o;
    json_array_foreach(items, r, o) {
        i = 0;
        json_object_foreach(first, key, v) {
            if (i++)
                buf_str(&b, ",");
            csv_value(&b, json_object_get(o, key));
        }
        buf_str(&b, "\r\n");
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.n;
    return b.p;
}
