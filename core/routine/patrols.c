/*
 * patrols.c — see patrols.h.
 */
#include "routine/patrols.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/citydate.h"
#include "store/paging.h"
#include "lib/timeutil.h"

/* ---------------------------------------------------------------- pure */

static void add_ms(cg_day_ms *out, size_t *n, size_t cap, int32_t day, int64_t ms)
{
    for (size_t i = *n; i-- > 0;)
        if (out[i].day == day) {
            out[i].ms += ms;
            return;
        }
    if (*n == cap)
        return; /* cannot happen with cap >= 2 * n (each interval spans <= 2 days) */
    /* Keep ascending: intervals come in time order, so a new day is the last. */
    out[*n].day = day;
    out[*n].ms = ms;
    (*n)++;
}

size_t cg_patrol_inside_time(const cg_track_pt *prev, const cg_track_pt *pts, size_t n,
                             int64_t max_gap_ms, cg_day_ms *out, size_t cap)
{
    size_t used = 0;
    const cg_track_pt *a = prev;
    for (size_t i = 0; i < n; a = &pts[i++]) {
        const cg_track_pt *b = &pts[i];
        if (!a || !a->inside || !b->inside)
            continue;
        int64_t gap = b->at_ms - a->at_ms;
        if (gap <= 0 || gap > max_gap_ms)
            continue;
        int32_t da = cg_city_day(a->at_ms), db = cg_city_day(b->at_ms);
        if (da == db) {
            add_ms(out, &used, cap, da, gap);
        } else {
            /* Across midnight: each day gets its own part. */
            int64_t midnight = cg_city_day_start_ms(db);
            add_ms(out, &used, cap, da, midnight - a->at_ms);
            add_ms(out, &used, cap, db, b->at_ms - midnight);
        }
    }
    return used;
}

/* ---------------------------------------------------------------- reads */

int cg_patrol_owner(cg_store *st, long long id, char member[CG_MEMBER_ID_SIZE],
                    char grid[CG_GRID_CODE_SIZE])
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT member, grid FROM patrols WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(member, CG_MEMBER_ID_SIZE, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(grid, CG_GRID_CODE_SIZE, "%s", (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

json_t *cg_patrol_get(cg_store *st, long long id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT member, grid, started_at, ended_at, n_points, inside_ms FROM patrols WHERE id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, id);
    json_t *p = NULL;
    if (sqlite3_step(s) == SQLITE_ROW) {
        char pid[32], started[40], ended[40];
        cg_row_id_format("PT", id, pid, sizeof pid);
        cg_time_iso(sqlite3_column_int64(s, 2), started, sizeof started);
        int has_end = sqlite3_column_type(s, 3) != SQLITE_NULL;
        if (has_end)
            cg_time_iso(sqlite3_column_int64(s, 3), ended, sizeof ended);
        p = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:f}", "id", pid, "member",
                      (const char *)sqlite3_column_text(s, 0), "grid",
                      (const char *)sqlite3_column_text(s, 1), "started_at", started, "ended_at",
                      has_end ? json_string(ended) : json_null(), "points",
                      (json_int_t)sqlite3_column_int64(s, 4), "inside_minutes",
                      (double)sqlite3_column_int64(s, 5) / 60000.0);
    }
    sqlite3_reset(s);
    return p;
}

/* A comma-separated list as a JSON array of strings. */
static json_t *split_list(const char *text)
{
    json_t *a = json_array();
    while (text && *text) {
        const char *comma = strchr(text, ',');
        size_t n = comma ? (size_t)(comma - text) : strlen(text);
        json_array_append_new(a, json_stringn(text, n));
        text = comma ? comma + 1 : NULL;
    }
    return a;
}

/* One compliance row per (member, grid); counts the rows that met the week. */
struct compliance_tally {
    int required_days;
    int met;
};

static json_t *compliance_row(sqlite3_stmt *s, void *ctx)
{
    struct compliance_tally *tally = ctx;
    json_t *days = split_list((const char *)sqlite3_column_text(s, 4));
    int count = (int)json_array_size(days), met = count >= tally->required_days;
    tally->met += met;
    return json_pack("{s:s, s:s, s:s, s:o, s:i, s:o, s:b}", "member",
                     (const char *)sqlite3_column_text(s, 0), "name",
                     (const char *)sqlite3_column_text(s, 1), "grid",
                     (const char *)sqlite3_column_text(s, 2), "roles",
                     split_list((const char *)sqlite3_column_text(s, 3)), "patrol_days", count,
                     "days", days, "met", met);
}

/* The cursor is "member/grid" of the last row, as the query's row-value key. */
static void compliance_cursor(sqlite3_stmt *s, void *ctx, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", (const char *)sqlite3_column_text(s, 0),
             (const char *)sqlite3_column_text(s, 2));
}

json_t *cg_patrol_compliance(cg_store *st, const cg_compliance_query *q)
{
    char from[CG_DATE_SIZE], to[CG_DATE_SIZE], week[16];
    int iso_year, iso_week;
    cg_day_format(q->monday, from, sizeof from);
    cg_day_format(q->monday + 6, to, sizeof to);
    cg_iso_week_of(q->monday, &iso_year, &iso_week);
    snprintf(week, sizeof week, "%04d-W%02d", iso_year, iso_week);
    /* One row per (member, grid) of assignments; its patrol days come from
     * patrol_days' primary key (member, grid, day): a range scan each. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT a.member_id, coalesce(m.name, ''), a.grid, group_concat(a.role),"
        " (SELECT group_concat(day) FROM (SELECT pd.day FROM patrol_days pd"
        "   WHERE pd.member = a.member_id AND pd.grid = a.grid AND pd.day >= ?1 AND pd.day <= ?2"
        "   AND pd.inside_ms >= ?3 ORDER BY pd.day))"
        " FROM assignments a LEFT JOIN members m ON m.id = a.member_id"
        " WHERE (?4 IS NULL OR a.grid = ?4) AND (?5 IS NULL OR a.member_id = ?5)"
        " AND (?6 IS NULL OR a.grid IN (SELECT grid FROM member_grids WHERE member_id = ?6))"
        " AND (a.member_id, a.grid) > (?7, ?8)"
        " GROUP BY a.member_id, a.grid ORDER BY a.member_id, a.grid LIMIT ?9");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)q->min_minutes * 60000);
    if (q->grid)
        sqlite3_bind_text(s, 4, q->grid, -1, SQLITE_STATIC);
    if (q->member)
        sqlite3_bind_text(s, 5, q->member, -1, SQLITE_STATIC);
    if (q->viewer)
        sqlite3_bind_text(s, 6, q->viewer, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, q->after_member ? q->after_member : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, q->after_grid ? q->after_grid : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 9, q->limit + 1);
    struct compliance_tally tally = {q->required_days, 0};
    cg_page_spec spec = {.row = compliance_row, .ctx = &tally, .cursor = compliance_cursor};
    json_t *page = cg_page_collect_spec(s, q->limit, &spec);
    if (!page)
        return NULL;
    json_t *out = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "week", week, "from", from, "to", to,
                            "min_minutes", q->min_minutes, "required", q->required_days, "met",
                            tally.met);
    json_object_update(out, page); /* "items", "next" after the summary */
    json_decref(page);
    return out;
}

/* ---------------------------------------------------------------- writes */

cg_status cg_patrol_start(cg_store *st, const char *member, const char *grid, int64_t started_ms,
                          long long *id, cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st, "INSERT INTO patrols(member, grid, started_at) VALUES (?1, ?2, ?3)");
    if (s) {
        sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, grid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, started_ms);
    }
    cg_status rc = cg_store_step(st, s, "the patrol", why);
    if (rc != CG_OK)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    return CG_OK;
}

typedef struct patrol_row {
    char member[CG_MEMBER_ID_SIZE];
    char grid[CG_GRID_CODE_SIZE];
    int64_t started_at;
    int ended;
    long long n_points;
    int has_last;
    cg_track_pt last;
} patrol_row;

/* Load the patrol for a change by `member`: CG_OK, or the refusal in why. */
static cg_status load_for_change(cg_store *st, long long id, const char *member, patrol_row *p,
                                 cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT member, grid, started_at, ended_at IS NOT NULL, n_points, last_at, last_inside"
        " FROM patrols WHERE id = ?1");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read the patrol");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(p, 0, sizeof *p);
        snprintf(p->member, sizeof p->member, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(p->grid, sizeof p->grid, "%s", (const char *)sqlite3_column_text(s, 1));
        p->started_at = sqlite3_column_int64(s, 2);
        p->ended = sqlite3_column_int(s, 3);
        p->n_points = sqlite3_column_int64(s, 4);
        p->has_last = sqlite3_column_type(s, 5) != SQLITE_NULL;
        p->last.at_ms = sqlite3_column_int64(s, 5);
        p->last.inside = sqlite3_column_int(s, 6);
    }
    sqlite3_reset(s);
    char pid[32];
    cg_row_id_format("PT", id, pid, sizeof pid);
    if (rc == SQLITE_DONE)
        return cg_fail(why, CG_E_NOT_FOUND, "not_found", "no patrol %s", pid);
    if (rc != SQLITE_ROW)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "no patrol %s", pid);
    if (strcmp(p->member, member) != 0)
        return cg_fail(why, CG_E_FORBIDDEN, "forbidden", "patrol %s is %s's, not yours", pid, p->member);
    if (p->ended)
        return cg_fail(why, CG_E_CONFLICT, "patrol_ended", "patrol %s has ended", pid);
    return CG_OK;
}

cg_status cg_patrol_append(cg_store *st, long long id, const char *member, const cg_track_pt *pts,
                           size_t n, int64_t max_gap_ms, cg_result *why)
{
    patrol_row p;
    cg_status rc = load_for_change(st, id, member, &p, why);
    if (rc != CG_OK)
        return rc;
    if (n == 0)
        return CG_OK;
    char at[40];
    if (p.has_last && pts[0].at_ms <= p.last.at_ms) {
        cg_time_iso(p.last.at_ms, at, sizeof at);
        return cg_fail(why, CG_E_UNPROCESSABLE, "out_of_order",
                       "'points[0]': not after the patrol's last point (%s)", at);
    }
    if (pts[0].at_ms < p.started_at) {
        cg_time_iso(p.started_at, at, sizeof at);
        return cg_fail(why, CG_E_UNPROCESSABLE, "out_of_order",
                       "'points[0]': before the patrol started (%s)", at);
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s = cg_store_stmt(st,
            "INSERT INTO patrol_points(patrol, seq, at, lat, lon, inside) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        if (s) {
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_int64(s, 2, p.n_points + (long long)i);
            sqlite3_bind_int64(s, 3, pts[i].at_ms);
            sqlite3_bind_double(s, 4, pts[i].lat);
            sqlite3_bind_double(s, 5, pts[i].lon);
            sqlite3_bind_int(s, 6, pts[i].inside);
        }
        rc = cg_store_step(st, s, "the track", why);
        if (rc != CG_OK)
            return rc;
    }
    cg_day_ms *days = calloc(2 * n, sizeof *days);
    if (!days)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "out of memory");
    size_t nd = cg_patrol_inside_time(p.has_last ? &p.last : NULL, pts, n, max_gap_ms, days, 2 * n);
    int64_t total = 0;
    for (size_t i = 0; i < nd && rc == CG_OK; i++) {
        char date[CG_DATE_SIZE];
        cg_day_format(days[i].day, date, sizeof date);
        total += days[i].ms;
        sqlite3_stmt *s = cg_store_stmt(st,
            "INSERT INTO patrol_days(member, grid, day, inside_ms) VALUES (?1, ?2, ?3, ?4)"
            " ON CONFLICT(member, grid, day) DO UPDATE SET inside_ms = inside_ms + excluded.inside_ms");
        if (s) {
            sqlite3_bind_text(s, 1, p.member, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, p.grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, date, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, days[i].ms);
        }
        rc = cg_store_step(st, s, "the patrol days", why);
    }
    free(days);
    if (rc != CG_OK)
        return rc;
    sqlite3_stmt *s = cg_store_stmt(st,
        "UPDATE patrols SET n_points = n_points + ?2, last_at = ?3, last_inside = ?4,"
        " inside_ms = inside_ms + ?5 WHERE id = ?1");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, (long long)n);
        sqlite3_bind_int64(s, 3, pts[n - 1].at_ms);
        sqlite3_bind_int(s, 4, pts[n - 1].inside);
        sqlite3_bind_int64(s, 5, total);
    }
    return cg_store_step(st, s, "the patrol", why);
}

cg_status cg_patrol_end(cg_store *st, long long id, const char *member, int64_t now_ms,
                        cg_result *why)
{
    patrol_row p;
    cg_status rc = load_for_change(st, id, member, &p, why);
    if (rc != CG_OK)
        return rc;
    /* A track uploaded after the fact may end later than the clock says. */
    int64_t end = p.has_last && p.last.at_ms > now_ms ? p.last.at_ms : now_ms;
    sqlite3_stmt *s = cg_store_stmt(st, "UPDATE patrols SET ended_at = ?2 WHERE id = ?1");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, end);
    }
    return cg_store_step(st, s, "the patrol", why);
}
