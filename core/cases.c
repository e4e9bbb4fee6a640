/*
 * cases.c — cases, their history and the dispatch outbox (see cases.h).
 *
 * Every write function wraps its statements in its own SAVEPOINT: inside a
 * cg_batch transaction it nests under the batch item's savepoint, and when
 * called on its own (tests, tools) it is a transaction by itself. Either way
 * a function that fails has written nothing.
 *
 * Ids: a row is inserted with a placeholder id, then given "C%08lld" /
 * "D%08lld" from its seq. The seq columns are AUTOINCREMENT, so an id is
 * never handed out twice, not even after the newest outbox row is deleted.
 */
#include "cases.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"

#define PLACEHOLDER_ID "~"

/* The columns case_json() and payload reading expect, in this order. */
#define CASE_COLUMNS                                                                         \
    "seq, id, category, department, grid, lat, lon, has_location, description, source, "  \
    "reporter, status, level, assignee, needs_penalty, handled_on_site, sla_hours, rework, " \
    "created_at, updated_at, expected_at, extra"
enum {
    C_SEQ, C_ID, C_CATEGORY, C_DEPARTMENT, C_GRID, C_LAT, C_LON, C_HAS_LOCATION, C_DESCRIPTION,
    C_SOURCE, C_REPORTER, C_STATUS, C_LEVEL, C_ASSIGNEE, C_NEEDS_PENALTY, C_HANDLED_ON_SITE,
    C_SLA_HOURS, C_REWORK, C_CREATED_AT, C_UPDATED_AT, C_EXPECTED_AT, C_EXTRA
};

/* "Open" = work still to do; must match the partial index in migrations.c. */
#define OPEN_STATUSES "('reported','dispatched','accepted')"

void cg_dispatch_clear(cg_dispatch *d)
{
    if (!d)
        return;
    free(d->payload);
    d->payload = NULL;
}

/* ---------------------------------------------------------------- helpers */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static json_t *text_or_null(sqlite3_stmt *s, int i)
{
    const char *t = col_text(s, i);
    return t ? json_string(t) : json_null();
}

static json_t *iso_or_null(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    char buf[40];
    cg_time_iso(sqlite3_column_int64(s, i), buf, sizeof buf);
    return json_string(buf);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* Step a write statement to completion; resets it either way. */
static int step_done(cg_store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen)
{
    if (!s) {
        set_err(err, errlen, "%s: cannot prepare %s: %s", st->path, what, sqlite3_errmsg(st->db));
        return -1;
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        set_err(err, errlen, "%s: %s failed: %s", st->path, what, sqlite3_errmsg(st->db));
        return -1;
    }
    return 0;
}

static int run_cached(cg_store *st, const char *sql, char *err, size_t errlen)
{
    return step_done(st, cg_store_stmt(st, sql), sql, err, errlen);
}

static int savepoint_begin(cg_store *st, char *err, size_t errlen)
{
    return run_cached(st, "SAVEPOINT cases_write", err, errlen);
}

static int savepoint_end(cg_store *st, char *err, size_t errlen)
{
    return run_cached(st, "RELEASE cases_write", err, errlen);
}

/* Undo everything since savepoint_begin (err already says why). */
static void savepoint_abort(cg_store *st)
{
    char ignored[64];
    /* ROLLBACK TO fails if SQLite already rolled the transaction back. */
    if (!sqlite3_get_autocommit(st->db)) {
        run_cached(st, "ROLLBACK TO cases_write", ignored, sizeof ignored);
        run_cached(st, "RELEASE cases_write", ignored, sizeof ignored);
    }
}

static int is_open_status(const char *status)
{
    return status && (!strcmp(status, "reported") || !strcmp(status, "dispatched") ||
                      !strcmp(status, "accepted"));
}

static int add_history(cg_store *st, const char *case_id, int64_t at, const char *actor,
                       const char *action, const char *from, const char *to, const char *note,
                       char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO case_history(case_id, at, actor, action, from_status, to_status, note)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (s) {
        sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, at);
        sqlite3_bind_text(s, 3, actor, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
        bind_text_or_null(s, 5, from);
        bind_text_or_null(s, 6, to);
        bind_text_or_null(s, 7, note);
    }
    return step_done(st, s, "history insert", err, errlen);
}

/* ---------------------------------------------------------------- outbox */

/* The dispatch payload (COMMON.md "Shared formats") from a case row read
 * with CASE_COLUMNS. Returns a malloc'd string or NULL. */
static char *payload_from_row(sqlite3_stmt *s, const char *dispatch_id)
{
    int has_location = sqlite3_column_int(s, C_HAS_LOCATION);
    const char *grid = col_text(s, C_GRID), *reporter = col_text(s, C_REPORTER);
    const char *extra_text = col_text(s, C_EXTRA);
    json_t *extra = extra_text ? json_loads(extra_text, 0, NULL) : NULL;
    if (!json_is_object(extra)) {
        json_decref(extra);
        extra = json_object();
    }
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:b, s:s, s:s, s:s, s:s, s:b,"
                          " s:f, s:I, s:[], s:o}",
        "id", col_text(s, C_ID),
        "dispatch_id", dispatch_id,
        "category", col_text(s, C_CATEGORY),
        "department", col_text(s, C_DEPARTMENT),
        "grid", grid ? grid : "",
        "lat", has_location ? sqlite3_column_double(s, C_LAT) : 0.0,
        "lon", has_location ? sqlite3_column_double(s, C_LON) : 0.0,
        "has_location", has_location,
        "description", col_text(s, C_DESCRIPTION),
        "source", col_text(s, C_SOURCE),
        "level", col_text(s, C_LEVEL),
        "reporter", reporter ? reporter : "",
        "needs_penalty", sqlite3_column_int(s, C_NEEDS_PENALTY),
        "sla_hours", sqlite3_column_double(s, C_SLA_HOURS),
        "reported_at", (json_int_t)(sqlite3_column_int64(s, C_CREATED_AT) / 1000),
        "members",
        "extra", extra);
    if (!p)
        return NULL;
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

/* A new outbox row for the case's current department; fills *out. */
static int outbox_insert(cg_store *st, const char *case_id, int64_t now_ms, cg_dispatch *out,
                         char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO outbox(id, case_id, department, payload, attempts, created_at)"
        " SELECT '" PLACEHOLDER_ID "', id, department, '', 0, ?2 FROM cases WHERE id = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now_ms);
    }
    if (step_done(st, s, "outbox insert", err, errlen) < 0)
        return -1;
    if (sqlite3_changes(st->db) != 1) {
        set_err(err, errlen, "outbox insert: no case %s", case_id);
        return -1;
    }
    cg_dispatch d = {.seq = sqlite3_last_insert_rowid(st->db)};
    snprintf(d.id, sizeof d.id, "D%08" PRId64, d.seq);
    snprintf(d.case_id, sizeof d.case_id, "%s", case_id);

    s = cg_store_stmt(st, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1");
    if (!s) {
        set_err(err, errlen, "%s: cannot read case %s", st->path, case_id);
        return -1;
    }
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(d.department, sizeof d.department, "%s", col_text(s, C_DEPARTMENT));
        d.payload = payload_from_row(s, d.id);
    }
    sqlite3_reset(s);
    if (!d.payload) {
        set_err(err, errlen, "%s: cannot build the dispatch payload of %s", st->path, case_id);
        return -1;
    }

    s = cg_store_stmt(st, "UPDATE outbox SET id = ?2, payload = ?3 WHERE seq = ?1");
    if (s) {
        sqlite3_bind_int64(s, 1, d.seq);
        sqlite3_bind_text(s, 2, d.id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, d.payload, -1, SQLITE_STATIC);
    }
    if (step_done(st, s, "outbox id update", err, errlen) < 0) {
        free(d.payload);
        return -1;
    }
    *out = d;
    return 0;
}

/* ---------------------------------------------------------------- insert */

static int validate_new_case(const cg_new_case *nc, char *err, size_t errlen)
{
    if (!nc->category || !*nc->category) {
        set_err(err, errlen, "a case needs a category");
        return -1;
    }
    if (!nc->department || !*nc->department ||
        strlen(nc->department) >= sizeof ((cg_dispatch *)0)->department) {
        set_err(err, errlen, "a case needs a department code (under 32 bytes)");
        return -1;
    }
    if (nc->has_location && (!isfinite(nc->lat) || !isfinite(nc->lon) || fabs(nc->lat) > 90 ||
                             fabs(nc->lon) > 180)) {
        set_err(err, errlen, "location out of range: %g, %g", nc->lat, nc->lon);
        return -1;
    }
    if (!isfinite(nc->sla_hours) || nc->sla_hours < 0) {
        set_err(err, errlen, "sla_hours must be a number >= 0");
        return -1;
    }
    if (nc->extra && !json_is_object(nc->extra)) {
        set_err(err, errlen, "extra must be a JSON object");
        return -1;
    }
    return 0;
}

static int insert_case_row(cg_store *st, const cg_new_case *nc, int64_t now_ms, char case_id[32],
                           char *err, size_t errlen)
{
    char *extra = nc->extra ? json_dumps(nc->extra, JSON_COMPACT) : strdup("{}");
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO cases(id, category, department, grid, lat, lon, has_location, description,"
        " source, reporter, status, level, needs_penalty, handled_on_site, sla_hours,"
        " created_at, updated_at, extra)"
        " VALUES ('" PLACEHOLDER_ID "', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'grid', ?11,"
        " ?12, ?13, ?14, ?14, ?15)");
    if (s) {
        sqlite3_bind_text(s, 1, nc->category, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, nc->department, -1, SQLITE_STATIC);
        bind_text_or_null(s, 3, nc->grid && *nc->grid ? nc->grid : NULL);
        if (nc->has_location) {
            sqlite3_bind_double(s, 4, nc->lat);
            sqlite3_bind_double(s, 5, nc->lon);
        }
        sqlite3_bind_int(s, 6, nc->has_location ? 1 : 0);
        sqlite3_bind_text(s, 7, nc->description ? nc->description : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, nc->source && *nc->source ? nc->source : "patrol", -1,
                          SQLITE_STATIC);
        bind_text_or_null(s, 9, nc->reporter && *nc->reporter ? nc->reporter : NULL);
        sqlite3_bind_text(s, 10, nc->handled_on_site ? "handled" : "dispatched", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int(s, 11, nc->needs_penalty ? 1 : 0);
        sqlite3_bind_int(s, 12, nc->handled_on_site ? 1 : 0);
        sqlite3_bind_double(s, 13, nc->sla_hours);
        sqlite3_bind_int64(s, 14, now_ms);
        bind_text_or_null(s, 15, extra);
    }
    int rc = extra ? step_done(st, s, "case insert", err, errlen) : -1;
    if (!extra) {
        set_err(err, errlen, "out of memory");
        if (s)
            sqlite3_reset(s);
    }
    free(extra);
    if (rc < 0)
        return -1;

    int64_t seq = sqlite3_last_insert_rowid(st->db);
    snprintf(case_id, 32, "C%08" PRId64, seq);
    s = cg_store_stmt(st, "UPDATE cases SET id = ?2 WHERE seq = ?1");
    if (s) {
        sqlite3_bind_int64(s, 1, seq);
        sqlite3_bind_text(s, 2, case_id, -1, SQLITE_STATIC);
    }
    return step_done(st, s, "case id update", err, errlen);
}

int cg_cases_insert(cg_store *st, const cg_new_case *nc, int64_t now_ms, char case_id[32],
                    cg_dispatch *out, int *dispatched, char *err, size_t errlen)
{
    *dispatched = 0;
    case_id[0] = 0;
    if (validate_new_case(nc, err, errlen) < 0)
        return -1;
    if (savepoint_begin(st, err, errlen) < 0)
        return -1;
    const char *reporter = nc->reporter && *nc->reporter ? nc->reporter : "system";
    cg_dispatch d = {0};
    int ok = insert_case_row(st, nc, now_ms, case_id, err, errlen) == 0 &&
             add_history(st, case_id, now_ms, reporter, "report", NULL, "reported", NULL, err,
                         errlen) == 0;
    if (ok && nc->handled_on_site) {
        ok = add_history(st, case_id, now_ms, reporter, "handle", "reported", "handled", NULL,
                         err, errlen) == 0;
    } else if (ok) {
        ok = add_history(st, case_id, now_ms, "system", "dispatch", "reported", "dispatched",
                         nc->department, err, errlen) == 0 &&
             outbox_insert(st, case_id, now_ms, &d, err, errlen) == 0;
    }
    if (ok)
        ok = savepoint_end(st, err, errlen) == 0;
    if (!ok) {
        cg_dispatch_clear(&d);
        savepoint_abort(st);
        case_id[0] = 0;
        return -1;
    }
    if (d.payload) {
        *dispatched = 1;
        if (out)
            *out = d;
        else
            cg_dispatch_clear(&d);
    }
    return 0;
}

/* ---------------------------------------------------------------- results */

static int action_error(char *err, size_t errlen, size_t i, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 5, 6)));
static int action_error(char *err, size_t errlen, size_t i, const char *type, const char *fmt,
                        ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (type)
        set_err(err, errlen, "actions[%zu] (%s): %s", i, type, what);
    else
        set_err(err, errlen, "actions[%zu]: %s", i, what);
    return -1;
}

static const char *string_field(json_t *a, const char *key)
{
    json_t *v = json_object_get(a, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Every action is checked before anything is written: a result is applied
 * whole or not at all. A transfer hands the case to another department, so
 * it must come last (nothing after it would be this plugin's business). */
static int validate_actions(json_t *actions, const char *department,
                            int (*valid_department)(void *, const char *), void *vd_arg,
                            char *err, size_t errlen)
{
    if (!actions)
        return 0;
    if (!json_is_array(actions)) {
        set_err(err, errlen, "actions must be an array");
        return -1;
    }
    size_t n = json_array_size(actions);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(actions, i);
        if (!json_is_object(a))
            return action_error(err, errlen, i, NULL, "not an object");
        const char *type = string_field(a, "type");
        if (!type)
            return action_error(err, errlen, i, NULL, "missing \"type\"");
        if (!strcmp(type, "accept")) {
            continue;
        } else if (!strcmp(type, "assign")) {
            json_t *who = json_object_get(a, "assignee");
            if (!who)
                return action_error(err, errlen, i, type, "missing \"assignee\"");
            if (!json_is_string(who) || !*json_string_value(who))
                return action_error(err, errlen, i, type, "\"assignee\" must be a non-empty string");
        } else if (!strcmp(type, "deadline")) {
            json_t *at = json_object_get(a, "at");
            if (!at)
                return action_error(err, errlen, i, type, "missing \"at\"");
            /* unix seconds; the bound keeps at*1000 far from overflow */
            if (!json_is_number(at) || json_number_value(at) <= 0 ||
                json_number_value(at) > 1e11)
                return action_error(err, errlen, i, type, "\"at\" must be unix seconds");
        } else if (!strcmp(type, "transfer")) {
            json_t *dep = json_object_get(a, "department");
            json_t *reason = json_object_get(a, "reason");
            if (!dep)
                return action_error(err, errlen, i, type, "missing \"department\"");
            if (!json_is_string(dep) || !*json_string_value(dep) ||
                strlen(json_string_value(dep)) >= sizeof ((cg_dispatch *)0)->department)
                return action_error(err, errlen, i, type,
                                    "\"department\" must be a department code");
            const char *code = json_string_value(dep);
            if (valid_department && !valid_department(vd_arg, code))
                return action_error(err, errlen, i, type, "unknown department \"%s\"", code);
            if (!strcmp(code, department))
                return action_error(err, errlen, i, type, "the case is already with \"%s\"",
                                    code);
            if (reason && !json_is_string(reason))
                return action_error(err, errlen, i, type, "\"reason\" must be a string");
            if (i + 1 != n)
                return action_error(err, errlen, i, type, "a transfer must be the last action");
        } else if (!strcmp(type, "note")) {
            json_t *text = json_object_get(a, "text");
            if (!text)
                return action_error(err, errlen, i, type, "missing \"text\"");
            if (!json_is_string(text))
                return action_error(err, errlen, i, type, "\"text\" must be a string");
        } else {
            return action_error(err, errlen, i, NULL, "unknown type \"%s\"", type);
        }
    }
    return 0;
}

/* The case fields a result changes, as they are before it. */
typedef struct case_state {
    char id[32];
    char status[16];
    char department[32];
} case_state;

static int set_case_column(cg_store *st, const char *sql, const char *case_id,
                           sqlite3_stmt **s_out)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql);
    if (s)
        sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    *s_out = s;
    return s ? 0 : -1;
}

/* Apply one validated action. */
static int apply_action(cg_store *st, case_state *cs, json_t *a, const char *actor, int64_t now_ms,
                        cg_dispatch *next, int *has_next, char *err, size_t errlen)
{
    const char *type = string_field(a, "type");
    sqlite3_stmt *s;
    if (!strcmp(type, "accept")) {
        if (strcmp(cs->status, "dispatched") != 0)
            return 0; /* accepted earlier in this result */
        set_case_column(st, "UPDATE cases SET status = 'accepted' WHERE id = ?1", cs->id, &s);
        if (step_done(st, s, "accept", err, errlen) < 0 ||
            add_history(st, cs->id, now_ms, actor, "accept", cs->status, "accepted", NULL, err,
                        errlen) < 0)
            return -1;
        snprintf(cs->status, sizeof cs->status, "accepted");
    } else if (!strcmp(type, "assign")) {
        const char *who = string_field(a, "assignee");
        if (set_case_column(st, "UPDATE cases SET assignee = ?2 WHERE id = ?1", cs->id, &s) == 0)
            sqlite3_bind_text(s, 2, who, -1, SQLITE_STATIC);
        if (step_done(st, s, "assign", err, errlen) < 0 ||
            add_history(st, cs->id, now_ms, actor, "assign", NULL, NULL, who, err, errlen) < 0)
            return -1;
    } else if (!strcmp(type, "deadline")) {
        int64_t at_ms = (int64_t)(json_number_value(json_object_get(a, "at")) * 1000.0);
        char iso[40];
        cg_time_iso(at_ms, iso, sizeof iso);
        if (set_case_column(st, "UPDATE cases SET expected_at = ?2 WHERE id = ?1", cs->id, &s) == 0)
            sqlite3_bind_int64(s, 2, at_ms);
        if (step_done(st, s, "deadline", err, errlen) < 0 ||
            add_history(st, cs->id, now_ms, actor, "deadline", NULL, NULL, iso, err, errlen) < 0)
            return -1;
    } else if (!strcmp(type, "transfer")) {
        const char *to = string_field(a, "department");
        const char *reason = string_field(a, "reason");
        char note[512];
        if (reason && *reason)
            snprintf(note, sizeof note, "%s -> %s: %s", cs->department, to, reason);
        else
            snprintf(note, sizeof note, "%s -> %s", cs->department, to);
        /* The old department's assignee does not follow the case. */
        if (set_case_column(st,
                "UPDATE cases SET department = ?2, status = 'dispatched', assignee = NULL"
                " WHERE id = ?1", cs->id, &s) == 0)
            sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
        if (step_done(st, s, "transfer", err, errlen) < 0 ||
            add_history(st, cs->id, now_ms, actor, "transfer", cs->status, "dispatched", note,
                        err, errlen) < 0 ||
            outbox_insert(st, cs->id, now_ms, next, err, errlen) < 0)
            return -1;
        *has_next = 1;
        snprintf(cs->status, sizeof cs->status, "dispatched");
        snprintf(cs->department, sizeof cs->department, "%s", to);
    } else if (!strcmp(type, "note")) {
        if (add_history(st, cs->id, now_ms, actor, "note", NULL, NULL, string_field(a, "text"),
                        err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Find the outbox row and its case. 1 found, 0 no such outbox row, -1 error. */
static int load_dispatch(cg_store *st, const char *dispatch_id, case_state *cs, char *err,
                         size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT c.id, c.status, c.department FROM outbox o JOIN cases c ON c.id = o.case_id"
        " WHERE o.id = ?1");
    if (!s) {
        set_err(err, errlen, "%s: cannot read the outbox", st->path);
        return -1;
    }
    sqlite3_bind_text(s, 1, dispatch_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        snprintf(cs->id, sizeof cs->id, "%s", col_text(s, 0));
        snprintf(cs->status, sizeof cs->status, "%s", col_text(s, 1));
        snprintf(cs->department, sizeof cs->department, "%s", col_text(s, 2));
    } else if (rc != SQLITE_DONE) {
        set_err(err, errlen, "%s: outbox lookup failed: %s", st->path, sqlite3_errmsg(st->db));
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int cg_cases_apply_result(cg_store *st, const char *dispatch_id, const char *plugin,
                          json_t *actions, int64_t now_ms,
                          int (*valid_department)(void *arg, const char *code), void *vd_arg,
                          cg_dispatch *next, int *has_next, char *err, size_t errlen)
{
    *has_next = 0;
    case_state cs;
    int found = load_dispatch(st, dispatch_id, &cs, err, errlen);
    if (found < 0)
        return CG_APPLY_ERROR;
    if (found == 0)
        return CG_APPLY_DUPLICATE;
    if (validate_actions(actions, cs.department, valid_department, vd_arg, err, errlen) < 0)
        return CG_APPLY_ERROR;

    char actor[96];
    snprintf(actor, sizeof actor, "plugin:%s", plugin ? plugin : "?");
    cg_dispatch fresh = {0};
    int got_next = 0;
    if (savepoint_begin(st, err, errlen) < 0)
        return CG_APPLY_ERROR;
    int ok = 1;
    if (strcmp(cs.status, "dispatched") != 0) {
        /* Cancelled, closed or moved on while the plugin worked on it. */
        char note[64];
        snprintf(note, sizeof note, "result ignored: case is %s", cs.status);
        ok = add_history(st, cs.id, now_ms, actor, "note", NULL, NULL, note, err, errlen) == 0;
    } else {
        size_t n = json_array_size(actions);
        for (size_t i = 0; ok && i < n; i++)
            ok = apply_action(st, &cs, json_array_get(actions, i), actor, now_ms, &fresh,
                              &got_next, err, errlen) == 0;
    }
    sqlite3_stmt *s;
    if (ok) {
        if (set_case_column(st, "UPDATE cases SET updated_at = ?2 WHERE id = ?1", cs.id, &s) == 0)
            sqlite3_bind_int64(s, 2, now_ms);
        ok = step_done(st, s, "updated_at", err, errlen) == 0;
    }
    if (ok) {
        s = cg_store_stmt(st, "DELETE FROM outbox WHERE id = ?1");
        if (s)
            sqlite3_bind_text(s, 1, dispatch_id, -1, SQLITE_STATIC);
        ok = step_done(st, s, "outbox delete", err, errlen) == 0;
    }
    if (ok)
        ok = savepoint_end(st, err, errlen) == 0;
    if (!ok) {
        cg_dispatch_clear(&fresh);
        savepoint_abort(st);
        return CG_APPLY_ERROR;
    }
    if (got_next) {
        *next = fresh;
        *has_next = 1;
    }
    return CG_APPLY_DONE;
}

/* ---------------------------------------------------------------- reading */

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
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:s, s:s, s:o, s:b, s:b,"
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
}

static json_t *history_json(cg_store *st, const char *case_id)
{
    sqlite3_stmt *s = cg_store_stmt(st,
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
                 sqlite3_errmsg(st->db));
        json_decref(list);
        return NULL;
    }
    return list;
}

json_t *cg_cases_get(cg_store *st, const char *case_id)
{
    if (!case_id)
        return NULL;
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1");
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
        ADD("status IN " OPEN_STATUSES " AND expected_at < ?7");
    if (after > 0)
        ADD("seq < ?8");
#undef ADD
    snprintf(sql + len, sizeof sql - len, " ORDER BY seq DESC LIMIT ?9");

    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        CG_ERROR("store", "%s: cannot prepare the case list: %s", st->path, sqlite3_errmsg(st->db));
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

    json_t *items = json_array();
    int64_t last_seq = 0;
    int more = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)json_array_size(items) == limit) {
            more = 1;
            break;
        }
        last_seq = sqlite3_column_int64(s, C_SEQ);
        json_array_append_new(items, case_json(s, now_ms));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        CG_ERROR("store", "%s: listing cases: %s", st->path, sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        json_decref(items);
        return NULL;
    }
    sqlite3_finalize(s);
    json_t *next = json_null();
    if (more) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, last_seq);
        json_decref(next);
        next = json_string(buf);
    }
    return json_pack("{s:o, s:o}", "items", items, "next", next);
}

/* ---------------------------------------------------------------- outbox */

int cg_outbox_load(cg_store *st, void (*cb)(void *arg, cg_dispatch *d), void *arg)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT seq, id, case_id, department, payload, attempts FROM outbox ORDER BY seq");
    if (!s)
        return -1;
    /* Read everything first: the callback may use the store. */
    cg_dispatch *rows = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            cg_dispatch *nr = realloc(rows, cap * sizeof *rows);
            if (!nr) {
                rc = SQLITE_NOMEM;
                break;
            }
            rows = nr;
        }
        cg_dispatch *d = &rows[n++];
        memset(d, 0, sizeof *d);
        d->seq = sqlite3_column_int64(s, 0);
        snprintf(d->id, sizeof d->id, "%s", col_text(s, 1));
        snprintf(d->case_id, sizeof d->case_id, "%s", col_text(s, 2));
        snprintf(d->department, sizeof d->department, "%s", col_text(s, 3));
        d->payload = strdup(col_text(s, 4) ? col_text(s, 4) : "{}");
        d->attempts = (unsigned)sqlite3_column_int(s, 5);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "%s: reading the outbox: %s", st->path, sqlite3_errstr(rc));
        for (size_t i = 0; i < n; i++)
            cg_dispatch_clear(&rows[i]);
        free(rows);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        cb(arg, &rows[i]);
    free(rows);
    return 0;
}

static long long count_rows(cg_store *st, const char *sql)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql);
    if (!s)
        return -1;
    long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

long long cg_outbox_count(cg_store *st) { return count_rows(st, "SELECT count(*) FROM outbox"); }
long long cg_cases_count(cg_store *st) { return count_rows(st, "SELECT count(*) FROM cases"); }
