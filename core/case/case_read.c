/*
 * case_read.c — reading cases for the API: one case with its history, and
 * the filtered, keyset-paged list (see cases.h). Runs on the main thread
 * through the read connection (cg_store_read_stmt); writes live in cases.c.
 */
#include "case/cases.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case/case_columns.h"
#include "lib/log.h"
#include "store/paging.h"
#include "lib/timeutil.h"

/* Reads use the main thread's read connection (cg_store_read_stmt): they see
 * the last COMMIT, whichever thread writes. */

/* A case as the API shows it, without history. */
static json_t *case_json(sqlite3_stmt *s, int64_t now_ms)
{
    int has_location = sqlite3_column_int(s, C_HAS_LOCATION);
    const char *status = col_text(s, C_STATUS);
    int overdue = is_open_status(status) && sqlite3_column_type(s, C_EXPECTED_AT) != SQLITE_NULL &&
                  sqlite3_column_int64(s, C_EXPECTED_AT) < now_ms;
    const char *extra_text = col_text(s, C_EXTRA);
    json_t *extra = extra_text ? json_loads(extra_text, 0, NULL) : NULL;
    if (!json_is_object(extra)) {
        json_decref(extra);
        extra = json_object();
    }
    json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:s, s:s, s:o, s:b, s:b,"
                     " s:I, s:f, s:o, s:o, s:o, s:b, s:o}",
        "id", col_text(s, C_ID),
        "category", col_text(s, C_CATEGORY),
        "department", col_text(s, C_DEPARTMENT),
        "grid", text_or_null(s, C_GRID),
        "lat", has_location ? json_real(sqlite3_column_double(s, C_LAT)) : json_null(),
        "lon", has_location ? json_real(sqlite3_column_double(s, C_LON)) : json_null(),
        "description", col_text(s, C_DESCRIPTION),
        "source", col_text(s, C_SOURCE),
        "reporter", text_or_null(s, C_REPORTER),
        "status", status,
        "level", col_text(s, C_LEVEL),
        "assignee", text_or_null(s, C_ASSIGNEE),
        "needs_penalty", sqlite3_column_int(s, C_NEEDS_PENALTY),
        "handled_on_site", sqlite3_column_int(s, C_HANDLED_ON_SITE),
        "rework", (json_int_t)sqlite3_column_int64(s, C_REWORK),
        "sla_hours", sqlite3_column_double(s, C_SLA_HOURS),
        "reported_at", iso_or_null(s, C_CREATED_AT),
        "updated_at", iso_or_null(s, C_UPDATED_AT),
        "expected_at", iso_or_null(s, C_EXPECTED_AT),
        "overdue", overdue,
        "extra", extra);
    if (c)
        add_workflow_fields(c, sqlite3_column_int(s, C_POSTPONED),
                            sqlite3_column_int64(s, C_MISROUTES), sqlite3_column_int(s, C_SATISFACTION),
                            col_text(s, C_LICENCE_NO), col_text(s, C_REQUIRES),
                            col_text(s, C_HANDLED_BY));
    if (c)
        add_escalation_fields(c, col_text(s, C_CITY_BODY), col_text(s, C_JOINT_DEPARTMENTS));
    return c;
}

static json_t *history_json(cg_store *st, const char *case_id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT at, actor, action, from_status, to_status, note FROM case_history"
        " WHERE case_id = ?1 ORDER BY id");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    json_t *list = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_array_append_new(list, json_pack("{s:o, s:s, s:s, s:o, s:o, s:o}",
            "at", iso_or_null(s, 0),
            "actor", col_text(s, 1),
            "action", col_text(s, 2),
            "from", text_or_null(s, 3),
            "to", text_or_null(s, 4),
            "note", text_or_null(s, 5)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "%s: reading the history of %s: %s", st->path, case_id,
                 sqlite3_errmsg(st->rdb));
        json_decref(list);
        return NULL;
    }
    return list;
}

json_t *cg_cases_get(cg_store *st, const char *case_id)
{
    if (!case_id)
        return NULL;
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    json_t *c = sqlite3_step(s) == SQLITE_ROW ? case_json(s, cg_now_ms()) : NULL;
    sqlite3_reset(s);
    if (!c)
        return NULL;
    json_t *history = history_json(st, case_id);
    if (!history) {
        json_decref(c);
        return NULL;
    }
    json_object_set_new(c, "history", history);
    return c;
}

/* The cursor is the seq of the last case on the previous page, in decimal.
 * -1 if malformed. */
static int parse_cursor(const char *cursor, int64_t *seq)
{
    if (!cursor || !*cursor) {
        *seq = 0;
        return 0;
    }
    for (const char *p = cursor; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(cursor, &end, 10);
    if (errno || *end || v <= 0)
        return -1;
    *seq = v;
    return 0;
}

static int has(const char *s) { return s && *s; }

static json_t *case_page_row(sqlite3_stmt *s, void *now_ms)
{
    return case_json(s, *(const int64_t *)now_ms);
}

json_t *cg_cases_list(cg_store *st, const cg_case_filter *f)
{
    int64_t after = 0;
    if (parse_cursor(f->cursor, &after) < 0)
        return NULL;
    int limit = f->limit < 1 ? 100 : f->limit > 1000 ? 1000 : f->limit;
    int64_t now_ms = f->now_ms ? f->now_ms : cg_now_ms();

    /* Only the filters in use appear in the SQL, so the planner can pick the
     * matching index (an "?1 IS NULL OR grid = ?1" form defeats it). The
     * parameter numbers are fixed; unused ones are simply not referenced. */
    char sql[1024] = "SELECT " CASE_COLUMNS " FROM cases WHERE 1";
    size_t len = strlen(sql);
#define ADD(cond) len += (size_t)snprintf(sql + len, sizeof sql - len, " AND %s", (cond))
    if (has(f->grid))
        ADD("grid = ?1");
    if (has(f->status))
        ADD("status = ?2");
    if (has(f->department))
        ADD("department = ?3");
    if (has(f->assignee))
        ADD("assignee = ?4");
    if (has(f->level))
        ADD("level = ?5");
    if (f->since_ms > 0)
        ADD("created_at >= ?6");
    if (f->overdue)
        ADD(OPEN_STATUS_TERM " AND expected_at < ?7");
    if (after > 0)
        ADD("seq < ?8");
#undef ADD
    snprintf(sql + len, sizeof sql - len, " ORDER BY seq DESC LIMIT ?9");

    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) != SQLITE_OK) {
        CG_ERROR("store", "%s: cannot prepare the case list: %s", st->path, sqlite3_errmsg(st->rdb));
        sqlite3_finalize(s);
        return NULL;
    }
    sqlite3_bind_text(s, 1, f->grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->department, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, f->assignee, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, f->level, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, f->since_ms);
    sqlite3_bind_int64(s, 7, now_ms);
    sqlite3_bind_int64(s, 8, after);
    sqlite3_bind_int(s, 9, limit + 1); /* one more tells whether a next page exists */

    cg_page_spec spec = {.row = case_page_row, .ctx = &now_ms, .id_column = C_SEQ};
    json_t *page = cg_page_collect_spec(s, limit, &spec);
    if (!page)
        CG_ERROR("store", "%s: listing cases: %s", st->path, sqlite3_errmsg(st->rdb));
    sqlite3_finalize(s);
    return page;
}
