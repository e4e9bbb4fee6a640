/*
 * cases.c — cases, their history and the dispatch outbox (see cases.h).
 *
 * Atomicity: inside a cg_batch item (st->in_batch_item) the item's own
 * SAVEPOINT undoes a write function that fails (the apply returns -1), so the
 * functions open none of their own; called on their own (tests, tools) they
 * open a SAVEPOINT, which is a transaction by itself. Either way a function
 * that fails leaves nothing written once its caller has rolled back.
 *
 * Ids: a row is inserted with its final seq and "C%08lld" / "D%08lld" id in
 * one statement. The next seq is read from sqlite_sequence once per batch
 * transaction and counted on in memory (nobody else can write while the
 * batch holds the write lock). The seq columns are AUTOINCREMENT, so an id is
 * never handed out twice, not even after the newest outbox row is deleted.
 *
 * Statement count is what limits intake (each one is a VDBE program run on
 * the commit path): a new case is one case INSERT, one multi-row history
 * INSERT and one outbox INSERT; a plugin result is one UPDATE of the case,
 * one history INSERT and the outbox DELETE.
 */
#include "case/cases.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case/case_columns.h"
#include "case/citybody.h"
#include "lib/metrics.h"
#include "lib/errbuf.h"
#include "lib/jsontext.h"
#include "people/grids.h"
#include "lib/log.h"
#include "lib/timeutil.h"

/* ---------------------------------------------------------------- helpers */

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static int run_cached(cg_store *st, const char *sql, char *err, size_t errlen)
{
    return cg_store_step_text(st, cg_store_stmt(st, sql), sql, err, errlen);
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

/* A write function's own atomicity (see the file comment). */
static int write_begin(cg_store *st, char *err, size_t errlen)
{
    return st->in_batch_item ? 0 : savepoint_begin(st, err, errlen);
}

static int write_end(cg_store *st, char *err, size_t errlen)
{
    return st->in_batch_item ? 0 : savepoint_end(st, err, errlen);
}

static void write_abort(cg_store *st)
{
    if (!st->in_batch_item)
        savepoint_abort(st);
}

/* The next seq of cases (outbox = 0) or outbox (outbox = 1). Inside a batch
 * the values read from sqlite_sequence hold until the batch rolls something
 * back (st->write_epoch changes: read them again, so no id is skipped);
 * outside one they are read each time. */
static int next_seq(cg_store *st, int outbox, int64_t *out, char *err, size_t errlen)
{
    if (!st->in_batch_item || st->seq_epoch != st->write_epoch) {
        sqlite3_stmt *s = cg_store_stmt(st,
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'cases'), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)");
        int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
        if (rc == SQLITE_ROW) {
            st->case_seq = sqlite3_column_int64(s, 0);
            st->outbox_seq = sqlite3_column_int64(s, 1);
        }
        if (s)
            sqlite3_reset(s);
        if (rc != SQLITE_ROW) {
            cg_set_err(err, errlen, "%s: cannot read the next ids: %s", st->path,
                    sqlite3_errmsg(st->db));
            return -1;
        }
        st->seq_epoch = st->write_epoch;
    }
    *out = outbox ? ++st->outbox_seq : ++st->case_seq;
    return 0;
}

/* One history row; the case id and time are shared by a write's rows. */
typedef struct history_row {
    const char *actor, *action, *from, *to, *note;
} history_row;

#define HISTORY_INSERT \
    "INSERT INTO case_history(case_id, at, actor, action, from_status, to_status, note) VALUES"
#define HISTORY_VALUES(a, b, c, d, e) "(?1, ?2, ?" #a ", ?" #b ", ?" #c ", ?" #d ", ?" #e ")"
/* history_sql[k - 1] inserts k rows; row j binds ?(3+5j) .. ?(7+5j). */
static const char *const history_sql[] = {
    HISTORY_INSERT HISTORY_VALUES(3, 4, 5, 6, 7),
    HISTORY_INSERT HISTORY_VALUES(3, 4, 5, 6, 7) "," HISTORY_VALUES(8, 9, 10, 11, 12),
    HISTORY_INSERT HISTORY_VALUES(3, 4, 5, 6, 7) "," HISTORY_VALUES(8, 9, 10, 11, 12) ","
        HISTORY_VALUES(13, 14, 15, 16, 17),
    HISTORY_INSERT HISTORY_VALUES(3, 4, 5, 6, 7) "," HISTORY_VALUES(8, 9, 10, 11, 12) ","
        HISTORY_VALUES(13, 14, 15, 16, 17) "," HISTORY_VALUES(18, 19, 20, 21, 22),
};
#define HISTORY_ROWS_PER_INSERT (sizeof history_sql / sizeof history_sql[0])

/* Insert rows in order (their ids keep that order), up to four per statement.
 * The strings are bound SQLITE_STATIC: they must live until this returns. */
static int add_history_rows(cg_store *st, const char *case_id, int64_t at, const history_row *rows,
                            size_t n, char *err, size_t errlen)
{
    while (n > 0) {
        size_t k = n < HISTORY_ROWS_PER_INSERT ? n : HISTORY_ROWS_PER_INSERT;
        sqlite3_stmt *s = cg_store_stmt(st, history_sql[k - 1]);
        if (s) {
            sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, at);
            for (size_t j = 0; j < k; j++) {
                int p = 3 + 5 * (int)j;
                sqlite3_bind_text(s, p, rows[j].actor, -1, SQLITE_STATIC);
                sqlite3_bind_text(s, p + 1, rows[j].action, -1, SQLITE_STATIC);
                bind_text_or_null(s, p + 2, rows[j].from);
                bind_text_or_null(s, p + 3, rows[j].to);
                bind_text_or_null(s, p + 4, rows[j].note);
            }
        }
        if (cg_store_step_text(st, s, "history insert", err, errlen) < 0)
            return -1;
        rows += k;
        n -= k;
    }
    return 0;
}

/* ---------------------------------------------------------------- outbox */

/* The dispatch payload (COMMON.md "Shared formats"). `extra` is borrowed
 * (NULL: {}). `members` are the grid's members of the department, whom the
 * plugin chooses among (grids.c), read in this transaction. Written as text
 * in one pass (no json_t tree: one per report was a tenth of intake's work),
 * the keys in this order, the text json_dumps(JSON_COMPACT) gave for the
 * same object. Returns a malloc'd string or NULL. */
static char *payload_json(cg_store *st, const char *case_id, const char *dispatch_id,
                          const char *category, const char *department, const char *grid,
                          int has_location, double lat, double lon, const char *description, const char *source,
                          const char *level, const char *reporter, int needs_penalty,
                          double sla_hours, int64_t reported_ms, json_t *extra)
{
    cg_jbuf b = {0};
    cg_jbuf_raw(&b, "{\"id\":");
    cg_jbuf_string(&b, case_id);
    cg_jbuf_raw(&b, ",\"dispatch_id\":");
    cg_jbuf_string(&b, dispatch_id);
    cg_jbuf_raw(&b, ",\"category\":");
    cg_jbuf_string(&b, category);
    cg_jbuf_raw(&b, ",\"department\":");
    cg_jbuf_string(&b, department);
    cg_jbuf_raw(&b, ",\"grid\":");
    cg_jbuf_string(&b, grid ? grid : "");
    cg_jbuf_raw(&b, ",\"lat\":");
    cg_jbuf_real(&b, has_location ? lat : 0.0);
    cg_jbuf_raw(&b, ",\"lon\":");
    cg_jbuf_real(&b, has_location ? lon : 0.0);
    cg_jbuf_raw(&b, ",\"has_location\":");
    cg_jbuf_bool(&b, has_location);
    cg_jbuf_raw(&b, ",\"description\":");
    cg_jbuf_string(&b, description);
    cg_jbuf_raw(&b, ",\"source\":");
    cg_jbuf_string(&b, source);
    cg_jbuf_raw(&b, ",\"level\":");
    cg_jbuf_string(&b, level);
    cg_jbuf_raw(&b, ",\"reporter\":");
    cg_jbuf_string(&b, reporter ? reporter : "");
    cg_jbuf_raw(&b, ",\"needs_penalty\":");
    cg_jbuf_bool(&b, needs_penalty);
    cg_jbuf_raw(&b, ",\"sla_hours\":");
    cg_jbuf_real(&b, sla_hours);
    cg_jbuf_raw(&b, ",\"reported_at\":");
    cg_jbuf_int(&b, reported_ms / 1000);
    cg_jbuf_raw(&b, ",\"members\":");
    if (grid && *grid) {
        if (cg_grids_dispatch_members_write(st, grid, department, &b) < 0) {
            cg_jbuf_discard(&b);
            return NULL;
        }
    } else {
        cg_jbuf_raw(&b, "[]");
    }
    cg_jbuf_raw(&b, ",\"extra\":");
    if (json_is_object(extra))
        cg_jbuf_value(&b, extra);
    else
        cg_jbuf_raw(&b, "{}");
    cg_jbuf_raw(&b, "}");
    return cg_jbuf_finish(&b);
}

/* The payload from a case row read with CASE_COLUMNS. */
static char *payload_from_row(cg_store *st, sqlite3_stmt *s, const char *dispatch_id)
{
    const char *extra_text = col_text(s, C_EXTRA);
    json_t *extra = extra_text ? json_loads(extra_text, 0, NULL) : NULL;
    char *text = payload_json(st, col_text(s, C_ID), dispatch_id, col_text(s, C_CATEGORY),
                              col_text(s, C_DEPARTMENT), col_text(s, C_GRID),
                              sqlite3_column_int(s, C_HAS_LOCATION),
                              sqlite3_column_double(s, C_LAT), sqlite3_column_double(s, C_LON),
                              col_text(s, C_DESCRIPTION), col_text(s, C_SOURCE),
                              col_text(s, C_LEVEL), col_text(s, C_REPORTER),
                              sqlite3_column_int(s, C_NEEDS_PENALTY),
                              sqlite3_column_double(s, C_SLA_HOURS),
                              sqlite3_column_int64(s, C_CREATED_AT), extra);
    json_decref(extra);
    return text;
}

/* Write the outbox row of d (seq, id, case_id, department, payload set).
 * Event rows (event = 1 for the owner's, 2 for a subscriber's copy)
 * use their own statement so the intake's statement stays as it was. */
static int outbox_write_kind(cg_store *st, const cg_dispatch *d, int64_t now_ms, int event,
                             char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st, event
        ? "INSERT INTO outbox(seq, id, case_id, department, payload, attempts, created_at, event)"
          " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)"
        : "INSERT INTO outbox(seq, id, case_id, department, payload, attempts, created_at)"
          " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)");
    if (s) {
        sqlite3_bind_int64(s, 1, d->seq);
        sqlite3_bind_text(s, 2, d->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, d->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, d->department, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, d->payload, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 6, now_ms);
        if (event)
            sqlite3_bind_int(s, 7, event);
    }
    return cg_store_step_text(st, s, "outbox insert", err, errlen);
}

static int outbox_write(cg_store *st, const cg_dispatch *d, int64_t now_ms, char *err,
                        size_t errlen)
{
    return outbox_write_kind(st, d, now_ms, 0, err, errlen);
}

/* payload + {"event": event} (event borrowed). NULL on failure. */
static char *with_event(char *payload, json_t *event)
{
    json_t *p = payload ? json_loads(payload, 0, NULL) : NULL;
    free(payload);
    if (!p)
        return NULL;
    json_object_set(p, "event", event);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return text;
}

static int new_dispatch(cg_store *st, const char *case_id, cg_dispatch *d, char *err,
                        size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (next_seq(st, 1, &d->seq, err, errlen) < 0)
        return -1;
    snprintf(d->id, sizeof d->id, "D%08" PRId64, d->seq);
    snprintf(d->case_id, sizeof d->case_id, "%s", case_id);
    return 0;
}

/* A new outbox row for the case's current department (as written in this
 * transaction); fills *out. With `event`, an event row: the payload carries
 * "event" (core/wire/PROTOCOL.md) and the plugin's on_event() gets it. */
static int outbox_insert_event(cg_store *st, const char *case_id, int64_t now_ms, json_t *event,
                               cg_dispatch *out, char *err, size_t errlen)
{
    cg_dispatch d;
    if (new_dispatch(st, case_id, &d, err, errlen) < 0)
        return -1;
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot read case %s", st->path, case_id);
        return -1;
    }
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(d.department, sizeof d.department, "%s", col_text(s, C_DEPARTMENT));
        d.payload = payload_from_row(st, s, d.id);
    }
    sqlite3_reset(s);
    if (d.payload && event)
        d.payload = with_event(d.payload, event);
    if (!d.payload) {
        cg_set_err(err, errlen, "%s: cannot build the dispatch payload of %s", st->path, case_id);
        return -1;
    }
    if (outbox_write_kind(st, &d, now_ms, event != NULL, err, errlen) < 0) {
        free(d.payload);
        return -1;
    }
    *out = d;
    return 0;
}

static int outbox_insert_from_case(cg_store *st, const char *case_id, int64_t now_ms,
                                   cg_dispatch *out, char *err, size_t errlen)
{
    return outbox_insert_event(st, case_id, now_ms, NULL, out, err, errlen);
}

/* The subscribers' copies of ch->sub_event (subscribe.h): the case's payload
 * is built once (as the owner's event payload), each copy gets its own
 * dispatch id and goes to its subscriber's department as an event = 2 row.
 * Fills ch->subscriber_out; on failure frees what it filled. */
static int outbox_insert_copies(cg_store *st, const cg_case_change *ch, int64_t now_ms,
                                char *err, size_t errlen)
{
    cg_dispatch *outs = ch->subscriber_out;
    for (size_t i = 0; outs && i < ch->n_subscribers; i++)
        memset(&outs[i], 0, sizeof outs[i]);
    if (!outs || !ch->sub_event || !ch->n_subscribers)
        return 0;
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1");
    char *text = NULL;
    if (s) {
        sqlite3_bind_text(s, 1, ch->case_id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            text = with_event(payload_from_row(st, s, ""), ch->sub_event);
        sqlite3_reset(s);
    }
    json_t *base = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    int ok = base != NULL;
    if (!ok)
        cg_set_err(err, errlen, "%s: cannot build the event payload of %s", st->path, ch->case_id);
    for (size_t i = 0; ok && i < ch->n_subscribers; i++) {
        cg_dispatch d;
        ok = new_dispatch(st, ch->case_id, &d, err, errlen) == 0;
        if (!ok)
            break;
        snprintf(d.department, sizeof d.department, "%s", ch->subscribers[i]);
        json_object_set_new(base, "dispatch_id", json_string(d.id));
        d.payload = json_dumps(base, JSON_COMPACT);
        ok = d.payload && outbox_write_kind(st, &d, now_ms, 2, err, errlen) == 0;
        if (!ok)
            free(d.payload);
        else
            outs[i] = d;
    }
    json_decref(base);
    if (!ok)
        for (size_t i = 0; i < ch->n_subscribers; i++)
            cg_dispatch_clear(&outs[i]);
    return ok ? 0 : -1;
}

/* The escalation details of ch (cases.h), one statement when there are any. */
static int write_escalation_details(cg_store *st, const cg_case_change *ch, char *err,
                                    size_t errlen)
{
    if (!ch->city_body && !ch->joint_departments)
        return 0;
    sqlite3_stmt *s = cg_store_stmt(st,
        "UPDATE cases SET city_body = coalesce(?2, city_body),"
        " joint_departments = coalesce(?3, joint_departments) WHERE id = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, ch->case_id, -1, SQLITE_STATIC);
        bind_text_or_null(s, 2, ch->city_body);
        bind_text_or_null(s, 3, ch->joint_departments);
    }
    return cg_store_step_text(st, s, "case escalation update", err, errlen);
}

/* ---------------------------------------------------------------- insert */

static int validate_new_case(const cg_new_case *nc, char *err, size_t errlen)
{
    if (!nc->category || !*nc->category) {
        cg_set_err(err, errlen, "a case needs a category");
        return -1;
    }
    if (!nc->department || !*nc->department ||
        strlen(nc->department) >= sizeof ((cg_dispatch *)0)->department) {
        cg_set_err(err, errlen, "a case needs a department code (under 32 bytes)");
        return -1;
    }
    if (nc->has_location && (!isfinite(nc->lat) || !isfinite(nc->lon) || fabs(nc->lat) > 90 ||
                             fabs(nc->lon) > 180)) {
        cg_set_err(err, errlen, "location out of range: %g, %g", nc->lat, nc->lon);
        return -1;
    }
    if (!isfinite(nc->sla_hours) || nc->sla_hours < 0) {
        cg_set_err(err, errlen, "sla_hours must be a number >= 0");
        return -1;
    }
    if (nc->extra && !json_is_object(nc->extra)) {
        cg_set_err(err, errlen, "extra must be a JSON object");
        return -1;
    }
    return 0;
}

/* What a new case's columns hold, from the report (the defaults the INSERT
 * writes, so that the reply and the payload need not read the row back). */
static const char *nc_grid(const cg_new_case *nc) { return nc->grid && *nc->grid ? nc->grid : NULL; }
static const char *nc_description(const cg_new_case *nc)
{
    return nc->description ? nc->description : "";
}
static const char *nc_source(const cg_new_case *nc)
{
    return nc->source && *nc->source ? nc->source : "patrol";
}
static const char *nc_reporter(const cg_new_case *nc)
{
    return nc->reporter && *nc->reporter ? nc->reporter : NULL;
}
static const char *nc_status(const cg_new_case *nc)
{
    return nc->handled_on_site ? "handled" : "dispatched";
}
/* The deadline a dispatched case starts with: now + the category's SLA
 * (cg_cases_deadline_after), so every dispatched case has one even when its
 * plugin sets none; 0 for an on-site case or no SLA. */
static int64_t nc_expected_at(const cg_new_case *nc, int64_t now_ms)
{
    return nc->handled_on_site ? 0 : cg_cases_deadline_after(now_ms, nc->sla_hours);
}

static int insert_case_row(cg_store *st, const cg_new_case *nc, int64_t seq, const char *case_id,
                           int64_t now_ms, char *err, size_t errlen)
{
    char *extra = nc->extra ? cg_json_dumps(nc->extra, JSON_COMPACT) : strdup("{}");
    if (!extra) {
        cg_set_err(err, errlen, "out of memory");
        return -1;
    }
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO cases(seq, id, category, department, grid, lat, lon, has_location,"
        " description, source, reporter, status, level, needs_penalty, handled_on_site,"
        " sla_hours, created_at, updated_at, extra, expected_at, escalate_at, handled_by)"
        " VALUES (?16, ?17, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'grid', ?11,"
        " ?12, ?13, ?14, ?14, ?15, ?18, ?18, ?19)");
    if (s) {
        sqlite3_bind_text(s, 1, nc->category, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, nc->department, -1, SQLITE_STATIC);
        bind_text_or_null(s, 3, nc_grid(nc));
        if (nc->has_location) {
            sqlite3_bind_double(s, 4, nc->lat);
            sqlite3_bind_double(s, 5, nc->lon);
        }
        sqlite3_bind_int(s, 6, nc->has_location ? 1 : 0);
        sqlite3_bind_text(s, 7, nc_description(nc), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, nc_source(nc), -1, SQLITE_STATIC);
        bind_text_or_null(s, 9, nc_reporter(nc));
        sqlite3_bind_text(s, 10, nc_status(nc), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 11, nc->needs_penalty ? 1 : 0);
        sqlite3_bind_int(s, 12, nc->handled_on_site ? 1 : 0);
        sqlite3_bind_double(s, 13, nc->sla_hours);
        sqlite3_bind_int64(s, 14, now_ms);
        sqlite3_bind_text(s, 15, extra, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 16, seq);
        sqlite3_bind_text(s, 17, case_id, -1, SQLITE_STATIC);
        int64_t due = nc_expected_at(nc, now_ms);
        if (due > 0)
            sqlite3_bind_int64(s, 18, due);
        if (nc->handled_on_site)
            bind_text_or_null(s, 19, nc_reporter(nc) ? nc_reporter(nc) : "system");
    }
    int rc = cg_store_step_text(st, s, "case insert", err, errlen);
    free(extra);
    return rc;
}

/* The reporter's contact details (nc->contact), apart from the case row. */
static int insert_contact(cg_store *st, const cg_new_case *nc, const char *case_id, char *err,
                          size_t errlen)
{
    if (!nc->contact)
        return 0;
    char *contact = cg_json_dumps(nc->contact, JSON_COMPACT);
    if (!contact) {
        cg_set_err(err, errlen, "out of memory");
        return -1;
    }
    sqlite3_stmt *s = cg_store_stmt(st, "INSERT INTO case_contacts(case_id, contact) VALUES (?1, ?2)");
    if (s) {
        sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, contact, -1, SQLITE_STATIC);
    }
    int rc = cg_store_step_text(st, s, "contact insert", err, errlen);
    free(contact);
    return rc;
}

/* The request key of a new case (cases.h), and the old keys dropped. */
static int insert_request_key(cg_store *st, const cg_new_case *nc, const char *case_id,
                              int64_t now_ms, char *err, size_t errlen)
{
    if (!nc->request_key || !*nc->request_key)
        return 0;
    int64_t now_s = now_ms / 1000;
    sqlite3_stmt *s = cg_store_stmt(st, "DELETE FROM request_keys WHERE at_s < ?1");
    if (s)
        sqlite3_bind_int64(s, 1, now_s - (nc->request_keep_s > 0 ? nc->request_keep_s : 0));
    if (cg_store_step_text(st, s, "request key expiry", err, errlen) < 0)
        return -1;
    s = cg_store_stmt(st, "INSERT INTO request_keys(key, case_id, at_s) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT(key) DO NOTHING");
    if (s) {
        sqlite3_bind_text(s, 1, nc->request_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, now_s);
    }
    if (cg_store_step_text(st, s, "request key insert", err, errlen) < 0)
        return -1;
    if (sqlite3_changes(st->db) == 0) {
        cg_set_err(err, errlen, "%s", CG_CASES_REQUEST_SEEN);
        return -1;
    }
    return 0;
}

int cg_cases_request_seen(cg_store *st, const char *key, int64_t since_s)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT 1 FROM request_keys WHERE key = ?1 AND at_s >= ?2");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since_s);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The history rows of a new case (COMMON.md): "report", then "handle" or
 * "dispatch". Returns how many. */
static size_t new_case_history(const cg_new_case *nc, history_row rows[2])
{
    const char *reporter = nc_reporter(nc) ? nc_reporter(nc) : "system";
    rows[0] = (history_row){reporter, "report", NULL, "reported", NULL};
    if (nc->handled_on_site)
        rows[1] = (history_row){reporter, "handle", "reported", "handled", NULL};
    else
        rows[1] = (history_row){"system", "dispatch", "reported", "dispatched", nc->department};
    return 2;
}

int cg_cases_insert(cg_store *st, const cg_new_case *nc, int64_t now_ms, char case_id[32],
                    cg_dispatch *out, int *dispatched, char *err, size_t errlen)
{
    *dispatched = 0;
    case_id[0] = 0;
    if (validate_new_case(nc, err, errlen) < 0)
        return -1;
    int64_t seq;
    if (write_begin(st, err, errlen) < 0 || next_seq(st, 0, &seq, err, errlen) < 0) {
        write_abort(st);
        return -1;
    }
    snprintf(case_id, 32, "C%08" PRId64, seq);
    history_row rows[2];
    size_t nrows = new_case_history(nc, rows);
    cg_dispatch d = {0};
    int ok = insert_case_row(st, nc, seq, case_id, now_ms, err, errlen) == 0 &&
             insert_contact(st, nc, case_id, err, errlen) == 0 &&
             insert_request_key(st, nc, case_id, now_ms, err, errlen) == 0 &&
             add_history_rows(st, case_id, now_ms, rows, nrows, err, errlen) == 0;
    if (ok && !nc->handled_on_site) {
        ok = new_dispatch(st, case_id, &d, err, errlen) == 0;
        if (ok) {
            snprintf(d.department, sizeof d.department, "%s", nc->department);
            d.payload = payload_json(st, case_id, d.id, nc->category, nc->department,
                                     nc_grid(nc),
                                     nc->has_location, nc->lat, nc->lon, nc_description(nc),
                                     nc_source(nc), "grid", nc_reporter(nc), nc->needs_penalty,
                                     nc->sla_hours, now_ms, nc->extra);
            if (!d.payload) {
                cg_set_err(err, errlen, "cannot build the dispatch payload of %s", case_id);
                ok = 0;
            }
        }
        ok = ok && outbox_write(st, &d, now_ms, err, errlen) == 0;
    }
    if (ok && nc->n_subscribers) {
        /* After the owner's row: a receiver that follows both sees the
         * report before anything its department does with it. */
        cg_case_change copies = {.case_id = case_id, .sub_event = nc->sub_event,
                                 .subscribers = nc->subscribers,
                                 .n_subscribers = nc->n_subscribers,
                                 .subscriber_out = nc->subscriber_out};
        ok = outbox_insert_copies(st, &copies, now_ms, err, errlen) == 0;
    }
    if (ok)
        ok = write_end(st, err, errlen) == 0;
    if (!ok) {
        for (size_t i = 0; nc->subscriber_out && i < nc->n_subscribers; i++)
            cg_dispatch_clear(&nc->subscriber_out[i]);
        cg_dispatch_clear(&d);
        write_abort(st);
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

json_t *cg_cases_new_json(const cg_new_case *nc, const char *case_id, int64_t now_ms)
{
    char at[40];
    cg_time_iso(now_ms, at, sizeof at);
    history_row rows[2];
    size_t nrows = new_case_history(nc, rows);
    json_t *history = json_array();
    for (size_t i = 0; history && i < nrows; i++)
        json_array_append_new(history, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}",
            "at", at,
            "actor", rows[i].actor,
            "action", rows[i].action,
            "from", rows[i].from ? json_string(rows[i].from) : json_null(),
            "to", rows[i].to ? json_string(rows[i].to) : json_null(),
            "note", rows[i].note ? json_string(rows[i].note) : json_null()));
    const char *grid = nc_grid(nc), *reporter = nc_reporter(nc);
    int64_t due = nc_expected_at(nc, now_ms);
    char due_iso[40];
    if (due > 0)
        cg_time_iso(due, due_iso, sizeof due_iso);
    /* Same keys, order and values as case_json() of the stored row. */
    json_t *c = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:s, s:s, s:o, s:b, s:b,"
                     " s:I, s:f, s:s, s:s, s:o, s:b, s:o, s:o}",
        "id", case_id,
        "category", nc->category,
        "department", nc->department,
        "grid", grid ? json_string(grid) : json_null(),
        "lat", nc->has_location ? json_real(nc->lat) : json_null(),
        "lon", nc->has_location ? json_real(nc->lon) : json_null(),
        "description", nc_description(nc),
        "source", nc_source(nc),
        "reporter", reporter ? json_string(reporter) : json_null(),
        "status", nc_status(nc),
        "level", "grid",
        "assignee", json_null(),
        "needs_penalty", nc->needs_penalty ? 1 : 0,
        "handled_on_site", nc->handled_on_site ? 1 : 0,
        "rework", (json_int_t)0,
        "sla_hours", nc->sla_hours,
        "reported_at", at,
        "updated_at", at,
        "expected_at", due > 0 ? json_string(due_iso) : json_null(),
        "overdue", 0,
        "extra", json_is_object(nc->extra) ? json_deep_copy(nc->extra) : json_object(),
        "history", history);
    if (c) {
        json_incref(history);
        json_object_del(c, "history"); /* history stays last */
        add_workflow_fields(c, 0, 0, 0, NULL, NULL,
                            nc->handled_on_site ? (reporter ? reporter : "system") : NULL);
        add_escalation_fields(c, NULL, NULL);
        json_object_set_new(c, "history", history);
    }
    return c;
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
        cg_set_err(err, errlen, "actions[%zu] (%s): %s", i, type, what);
    else
        cg_set_err(err, errlen, "actions[%zu]: %s", i, what);
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
static int validate_actions(json_t *actions, const char *department, int event,
                            int (*valid_department)(void *, const char *), void *vd_arg,
                            char *err, size_t errlen)
{
    if (!actions)
        return 0;
    if (!json_is_array(actions)) {
        cg_set_err(err, errlen, "actions must be an array");
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
        /* An event (on_event) may note, escalate, require and link; taking
         * or moving the case is for handle() only. */
        if (event && strcmp(type, "note") && strcmp(type, "escalate") && strcmp(type, "require") &&
            strcmp(type, "link"))
            return action_error(err, errlen, i, type, "not allowed in an answer to an event");
        /* A subscriber's copy (event = 2): the case is another department's. */
        if (event == 2 && strcmp(type, "note"))
            return action_error(err, errlen, i, type,
                                "a subscriber may only answer an event with notes");
        if (!strcmp(type, "accept")) {
            continue;
        } else if (!strcmp(type, "escalate")) {
            const char *level = string_field(a, "level");
            static const char *const levels[] = {"community", "joint", "city"};
            int known = 0;
            for (size_t k = 0; level && k < 3; k++)
                known |= !strcmp(level, levels[k]);
            if (!known)
                return action_error(err, errlen, i, type,
                                    "\"level\" must be community, joint or city");
            json_t *reason = json_object_get(a, "reason");
            if (reason && !json_is_string(reason))
                return action_error(err, errlen, i, type, "\"reason\" must be a string");
        } else if (!strcmp(type, "require")) {
            const char *what = string_field(a, "what");
            size_t n_what = what ? strlen(what) : 0;
            int ok = n_what > 0 && n_what < 48;
            for (size_t k = 0; ok && k < n_what; k++)
                ok = (what[k] >= 'a' && what[k] <= 'z') || what[k] == '_' ||
                     (what[k] >= '0' && what[k] <= '9');
            if (!ok)
                return action_error(err, errlen, i, type,
                                    "\"what\" must be a field name [a-z0-9_]{1,47}");
        } else if (!strcmp(type, "link")) {
            const char *kind = string_field(a, "kind"), *ref = string_field(a, "ref");
            if (!kind || strcmp(kind, "licence") != 0)
                return action_error(err, errlen, i, type, "\"kind\" must be \"licence\"");
            if (!ref || !*ref || strlen(ref) > 64)
                return action_error(err, errlen, i, type, "\"ref\" must be 1..64 bytes");
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

static int level_rank(const char *level)
{
    static const char *const levels[] = {"grid", "community", "joint", "city"};
    for (int i = 0; level && i < 4; i++)
        if (!strcmp(level, levels[i]))
            return i;
    return -1;
}

/* Is `item` in the comma list? */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && !strncmp(p, item, n))
            return 1;
        p = comma ? comma + 1 : p + len;
    }
    return 0;
}

/* A case as a result changes it: read before, folded in memory action by
 * action, written once at the end. */
typedef struct case_state {
    char id[32];
    char status_before[16];
    char department_before[32];
    int64_t outbox_seq;        /* the outbox row this result answers */
    const char *status;        /* current: status_before or a literal */
    const char *department;    /* current: department_before or the action's */
    unsigned changed;          /* CHANGED_* */
    const char *assignee;      /* with CHANGED_ASSIGNEE; NULL clears it */
    int64_t expected_at;       /* with CHANGED_EXPECTED */
    int transferred;
    /* Issue 4: escalate, require and link actions, event answers. */
    int event;                 /* the outbox row is an event delivery */
    char outbox_department[32];
    char level_before[16];
    const char *level;         /* with CHANGED_LEVEL */
    double sla_hours;
    char requires[128];        /* with CHANGED_REQUIRES */
    const char *licence_no;    /* with CHANGED_LICENCE */
    const char *city_body;     /* the body a case raised to city goes to (NULL: none) */
    const char *escalate_note; /* the last applied escalation's history note */
} case_state;

enum {
    CHANGED_STATUS = 1, CHANGED_DEPARTMENT = 2, CHANGED_ASSIGNEE = 4, CHANGED_EXPECTED = 8,
    CHANGED_LEVEL = 16, CHANGED_REQUIRES = 32, CHANGED_LICENCE = 64
};

/* "UPDATE cases SET updated_at = ?2[, status = ?3][, department = ?4]
 * [, assignee = ?5][, expected_at = ?6] WHERE id = ?1": only the columns a
 * result changed, so SQLite maintains only their indexes. Built once per
 * combination into static storage (a stable pointer, as cg_store_stmt
 * needs); only the thread that writes (cg_batch's) calls it. */
static const char *case_update_sql(unsigned changed)
{
    static char sql[128][256];
    /* A deadline also arms the escalation timer (deadlines.c). */
    static const char *const sets[] = {", status = ?3", ", department = ?4", ", assignee = ?5",
                                       ", expected_at = ?6, escalate_at = ?6", ", level = ?7",
                                       ", requires = ?8", ", licence_no = ?9"};
    char *q = sql[changed & 127];
    if (!*q) {
        size_t n = (size_t)snprintf(q, sizeof sql[0], "UPDATE cases SET updated_at = ?2");
        for (unsigned i = 0; i < 7; i++)
            if (changed & (1u << i))
                n += (size_t)snprintf(q + n, sizeof sql[0] - n, "%s", sets[i]);
        snprintf(q + n, sizeof sql[0] - n, " WHERE id = ?1");
    }
    return q;
}

/* History rows of a result, with room for the texts they point to. */
typedef struct result_row {
    history_row row;
    char text[512];
} result_row;

/* Fold one validated action into cs; adds its history row (if any) to rows. */
static void fold_action(case_state *cs, json_t *a, const char *actor, int64_t now_ms,
                        result_row *rows, size_t *nrows)
{
    const char *type = string_field(a, "type");
    result_row *r = &rows[*nrows];
    if (!strcmp(type, "accept")) {
        if (strcmp(cs->status, "dispatched") != 0)
            return; /* accepted earlier in this result */
        r->row = (history_row){actor, "accept", cs->status, "accepted", NULL};
        cs->status = "accepted";
        cs->changed |= CHANGED_STATUS;
    } else if (!strcmp(type, "assign")) {
        cs->assignee = string_field(a, "assignee");
        cs->changed |= CHANGED_ASSIGNEE;
        r->row = (history_row){actor, "assign", NULL, NULL, cs->assignee};
    } else if (!strcmp(type, "deadline")) {
        cs->expected_at = (int64_t)(json_number_value(json_object_get(a, "at")) * 1000.0);
        cs->changed |= CHANGED_EXPECTED;
        cg_time_iso(cs->expected_at, r->text, sizeof r->text);
        r->row = (history_row){actor, "deadline", NULL, NULL, r->text};
    } else if (!strcmp(type, "transfer")) {
        const char *to = string_field(a, "department");
        const char *reason = string_field(a, "reason");
        if (reason && *reason)
            snprintf(r->text, sizeof r->text, "%s -> %s: %s", cs->department, to, reason);
        else
            snprintf(r->text, sizeof r->text, "%s -> %s", cs->department, to);
        r->row = (history_row){actor, "transfer", cs->status, "dispatched", r->text};
        /* The old department's assignee does not follow the case. */
        cs->status = "dispatched";
        cs->department = to;
        cs->assignee = NULL;
        cs->changed |= CHANGED_STATUS | CHANGED_DEPARTMENT | CHANGED_ASSIGNEE;
        cs->transferred = 1;
    } else if (!strcmp(type, "note")) {
        r->row = (history_row){actor, "note", NULL, NULL, string_field(a, "text")};
    } else if (!strcmp(type, "escalate")) {
        const char *to = string_field(a, "level"), *reason = string_field(a, "reason");
        if (!is_open_status(cs->status) || !strcmp(to, cs->level) ||
            level_rank(to) < level_rank(cs->level)) {
            snprintf(r->text, sizeof r->text, "escalation to %s ignored: case is %s at %s", to,
                     cs->status, cs->level);
            r->row = (history_row){actor, "note", NULL, NULL, r->text};
        } else {
            int n = snprintf(r->text, sizeof r->text, "%s -> %s%s%s", cs->level, to,
                             reason && *reason ? ": " : "", reason ? reason : "");
            if (!strcmp(to, "city") && cs->city_body && n >= 0 && (size_t)n < sizeof r->text)
                snprintf(r->text + n, sizeof r->text - (size_t)n, "; city body: %s (%s)",
                                  cs->city_body,
                         cg_city_body_zh(cs->city_body) ? cg_city_body_zh(cs->city_body) : "?");
            r->row = (history_row){actor, "escalate", cs->status, cs->status, r->text};
            cs->escalate_note = r->text;
            cs->level = to;
            cs->changed |= CHANGED_LEVEL;
            cg_metrics_escalation(to);
            /* Each level gets the category's SLA again. */
            int64_t due = cg_cases_deadline_after(now_ms, cs->sla_hours);
            if (due > 0) {
                cs->expected_at = due;
                cs->changed |= CHANGED_EXPECTED;
            }
        }
    } else if (!strcmp(type, "require")) {
        const char *what = string_field(a, "what");
        if (!list_has(cs->requires, what)) {
            size_t len = strlen(cs->requires);
            snprintf(cs->requires + len, sizeof cs->requires - len, "%s%s", len ? "," : "", what);
            cs->changed |= CHANGED_REQUIRES;
        }
        snprintf(r->text, sizeof r->text, "handling must record %s", what);
        r->row = (history_row){actor, "require", NULL, NULL, r->text};
    } else if (!strcmp(type, "link")) {
        cs->licence_no = string_field(a, "ref");
        cs->changed |= CHANGED_LICENCE;
        snprintf(r->text, sizeof r->text, "licence %s", cs->licence_no);
        r->row = (history_row){actor, "link", NULL, NULL, r->text};
    } else {
        return;
    }
    (*nrows)++;
}

/* Write the folded case: one UPDATE. */
static int write_case_state(cg_store *st, const case_state *cs, int64_t now_ms, char *err,
                            size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st, case_update_sql(cs->changed));
    if (s) {
        sqlite3_bind_text(s, 1, cs->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now_ms);
        if (cs->changed & CHANGED_STATUS)
            sqlite3_bind_text(s, 3, cs->status, -1, SQLITE_STATIC);
        if (cs->changed & CHANGED_DEPARTMENT)
            sqlite3_bind_text(s, 4, cs->department, -1, SQLITE_STATIC);
        if (cs->changed & CHANGED_ASSIGNEE)
            bind_text_or_null(s, 5, cs->assignee);
        if (cs->changed & CHANGED_EXPECTED)
            sqlite3_bind_int64(s, 6, cs->expected_at);
        if (cs->changed & CHANGED_LEVEL)
            sqlite3_bind_text(s, 7, cs->level, -1, SQLITE_STATIC);
        if (cs->changed & CHANGED_REQUIRES)
            sqlite3_bind_text(s, 8, cs->requires, -1, SQLITE_STATIC);
        if (cs->changed & CHANGED_LICENCE)
            sqlite3_bind_text(s, 9, cs->licence_no, -1, SQLITE_STATIC);
    }
    return cg_store_step_text(st, s, "case update", err, errlen);
}

/* A plugin that raises its case to `joint` (e.g. police, for injuries)
 * convenes what the timer would: the case's department and enforcement,
 * unless departments were named already. */
static int write_plugin_joint(cg_store *st, const case_state *cs, char *err, size_t errlen)
{
    if (!(cs->changed & CHANGED_LEVEL) || strcmp(cs->level, "joint") != 0)
        return 0;
    sqlite3_stmt *s = cg_store_stmt(st,
        "UPDATE cases SET joint_departments = coalesce(joint_departments,"
        " CASE WHEN department = 'enforcement' THEN json_array(department)"
        " ELSE json_array(department, 'enforcement') END) WHERE id = ?1");
    if (s)
        sqlite3_bind_text(s, 1, cs->id, -1, SQLITE_STATIC);
    return cg_store_step_text(st, s, "joint departments update", err, errlen);
}

/* Find the outbox row and its case. 1 found, 0 no such outbox row, -1 error. */
static int load_dispatch(cg_store *st, const char *dispatch_id, case_state *cs, char *err,
                         size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT c.id, c.status, c.department, o.seq, o.event, o.department, c.level,"
        " c.sla_hours, c.requires FROM outbox o JOIN cases c ON c.id = o.case_id WHERE o.id = ?1");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot read the outbox", st->path);
        return -1;
    }
    sqlite3_bind_text(s, 1, dispatch_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(cs, 0, sizeof *cs);
        snprintf(cs->id, sizeof cs->id, "%s", col_text(s, 0));
        snprintf(cs->status_before, sizeof cs->status_before, "%s", col_text(s, 1));
        snprintf(cs->department_before, sizeof cs->department_before, "%s", col_text(s, 2));
        cs->outbox_seq = sqlite3_column_int64(s, 3);
        cs->event = sqlite3_column_int(s, 4);
        snprintf(cs->outbox_department, sizeof cs->outbox_department, "%s", col_text(s, 5));
        snprintf(cs->level_before, sizeof cs->level_before, "%s", col_text(s, 6));
        cs->sla_hours = sqlite3_column_double(s, 7);
        snprintf(cs->requires, sizeof cs->requires, "%s", col_text(s, 8) ? col_text(s, 8) : "");
        cs->status = cs->status_before;
        cs->department = cs->department_before;
        cs->level = cs->level_before;
    } else if (rc != SQLITE_DONE) {
        cg_set_err(err, errlen, "%s: outbox lookup failed: %s", st->path, sqlite3_errmsg(st->db));
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* What a result's escalation sets off (cg_result_escalation): the city body
 * and the subscribers' event copies, written in the result's transaction.
 * The copies land in esc->subscriber_out (cleared again on failure). */
static int write_result_escalation(cg_store *st, const case_state *cs,
                                   const cg_result_escalation *esc, const char *actor,
                                   int64_t now_ms, char *err, size_t errlen)
{
    if (!esc || !(cs->changed & CHANGED_LEVEL))
        return 0;
    cg_case_change ch = {.case_id = cs->id};
    if (!strcmp(cs->level, "city"))
        ch.city_body = cs->city_body;
    if (write_escalation_details(st, &ch, err, errlen) < 0)
        return -1;
    int l = level_rank(cs->level) - 1;
    if (l < 0 || l > 2 || !esc->n_subscribers[l] || !esc->subscriber_out ||
        strcmp(cs->department_before, esc->department ? esc->department : "") != 0)
        return 0;
    ch.sub_event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "escalation",
                             "verb", "escalate", "from", cs->status_before, "to", cs->status,
                             "actor", actor, "level", cs->level, "note",
                             cs->escalate_note ? cs->escalate_note : "", "at",
                             (json_int_t)(now_ms / 1000));
    if (!ch.sub_event) {
        cg_set_err(err, errlen, "out of memory");
        return -1;
    }
    ch.subscribers = esc->subscribers[l];
    ch.n_subscribers = esc->n_subscribers[l];
    ch.subscriber_out = esc->subscriber_out;
    int rc = outbox_insert_copies(st, &ch, now_ms, err, errlen);
    json_decref(ch.sub_event);
    return rc;
}

static void clear_result_escalation(const cg_result_escalation *esc)
{
    size_t most = 0;
    for (int l = 0; esc && l < 3; l++)
        most = esc->n_subscribers[l] > most ? esc->n_subscribers[l] : most;
    for (size_t i = 0; esc && esc->subscriber_out && i < most; i++)
        cg_dispatch_clear(&esc->subscriber_out[i]);
}

int cg_cases_apply_result(cg_store *st, const char *dispatch_id, const char *plugin,
                          json_t *actions, int64_t now_ms,
                          int (*valid_department)(void *arg, const char *code), void *vd_arg,
                          cg_dispatch *next, int *has_next, char *err, size_t errlen)
{
    return cg_cases_apply_result_esc(st, dispatch_id, plugin, actions, now_ms, valid_department,
                                     vd_arg, NULL, next, has_next, err, errlen);
}

int cg_cases_apply_result_esc(cg_store *st, const char *dispatch_id, const char *plugin,
                              json_t *actions, int64_t now_ms,
                              int (*valid_department)(void *arg, const char *code), void *vd_arg,
                              const cg_result_escalation *esc, cg_dispatch *next, int *has_next,
                              char *err, size_t errlen)
{
    *has_next = 0;
    case_state cs;
    int found = load_dispatch(st, dispatch_id, &cs, err, errlen);
    if (found < 0)
        return CG_APPLY_ERROR;
    if (found == 0)
        return CG_APPLY_DUPLICATE;
    if (validate_actions(actions, cs.department, cs.event, valid_department, vd_arg, err,
                         errlen) < 0)
        return CG_APPLY_ERROR;

    if (esc)
        cs.city_body = esc->city_body;

    char actor[96];
    snprintf(actor, sizeof actor, "plugin:%s", plugin ? plugin : "?");
    size_t n = json_array_size(actions);
    result_row *rows = malloc((n ? n : 1) * sizeof *rows);
    history_row *hist = malloc((n ? n : 1) * sizeof *hist);
    if (!rows || !hist) {
        free(rows);
        free(hist);
        cg_set_err(err, errlen, "out of memory");
        return CG_APPLY_ERROR;
    }
    size_t nrows = 0;
    if (cs.event) {
        /* An answer to an event: applied whatever the status (each action
         * checks what it needs). */
        for (size_t i = 0; i < n; i++)
            fold_action(&cs, json_array_get(actions, i), actor, now_ms, rows, &nrows);
    } else if (strcmp(cs.status, "dispatched") != 0 ||
               strcmp(cs.department, cs.outbox_department) != 0) {
        /* Cancelled, closed, transferred or moved on while the plugin worked
         * on it. */
        if (strcmp(cs.status, "dispatched") != 0)
            snprintf(rows[0].text, sizeof rows[0].text, "result ignored: case is %s", cs.status);
        else
            snprintf(rows[0].text, sizeof rows[0].text, "result ignored: case is now with %s",
                     cs.department);
        rows[0].row = (history_row){actor, "note", NULL, NULL, rows[0].text};
        nrows = 1;
    } else {
        for (size_t i = 0; i < n; i++)
            fold_action(&cs, json_array_get(actions, i), actor, now_ms, rows, &nrows);
    }
    for (size_t i = 0; i < nrows; i++)
        hist[i] = rows[i].row;

    cg_dispatch fresh = {0};
    int ok = write_begin(st, err, errlen) == 0;
    if (ok)
        ok = write_case_state(st, &cs, now_ms, err, errlen) == 0 &&
             write_plugin_joint(st, &cs, err, errlen) == 0 &&
             add_history_rows(st, cs.id, now_ms, hist, nrows, err, errlen) == 0 &&
             write_result_escalation(st, &cs, esc, actor, now_ms, err, errlen) == 0 &&
             (!cs.transferred ||
              outbox_insert_from_case(st, cs.id, now_ms, &fresh, err, errlen) == 0);
    if (ok) {
        sqlite3_stmt *s = cg_store_stmt(st, "DELETE FROM outbox WHERE seq = ?1");
        if (s)
            sqlite3_bind_int64(s, 1, cs.outbox_seq);
        ok = cg_store_step_text(st, s, "outbox delete", err, errlen) == 0;
    }
    if (ok)
        ok = write_end(st, err, errlen) == 0;
    free(rows);
    free(hist);
    if (!ok) {
        cg_dispatch_clear(&fresh);
        clear_result_escalation(esc);
        write_abort(st);
        return CG_APPLY_ERROR;
    }
    if (cs.transferred) {
        *next = fresh;
        *has_next = 1;
    }
    return CG_APPLY_DONE;
}

/* ---------------------------------------------------------------- workflow */

int64_t cg_cases_deadline_after(int64_t now_ms, double sla_hours)
{
    if (!isfinite(sla_hours) || !(sla_hours > 0) || sla_hours > 24.0 * 366 * 100)
        return 0;
    int64_t ms = (int64_t)ceil(sla_hours * 3600000.0);
    return now_ms + (ms > 0 ? ms : 1);
}

static void copy_col(char *dst, size_t n, sqlite3_stmt *s, int i)
{
    const char *t = col_text(s, i);
    snprintf(dst, n, "%s", t ? t : "");
}

#define ROW_COLUMNS                                                                     \
    "id, status, level, department, grid, assignee, reporter, handled_by, category, " \
    "requires, sla_hours, expected_at"

static void fill_row(sqlite3_stmt *s, cg_case_row *out)
{
    memset(out, 0, sizeof *out);
    copy_col(out->id, sizeof out->id, s, 0);
    copy_col(out->status, sizeof out->status, s, 1);
    copy_col(out->level, sizeof out->level, s, 2);
    copy_col(out->department, sizeof out->department, s, 3);
    copy_col(out->grid, sizeof out->grid, s, 4);
    copy_col(out->assignee, sizeof out->assignee, s, 5);
    copy_col(out->reporter, sizeof out->reporter, s, 6);
    copy_col(out->handled_by, sizeof out->handled_by, s, 7);
    copy_col(out->category, sizeof out->category, s, 8);
    copy_col(out->requires, sizeof out->requires, s, 9);
    out->sla_hours = sqlite3_column_double(s, 10);
    out->expected_at = sqlite3_column_type(s, 11) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 11);
}

int cg_cases_read_row(cg_store *st, const char *case_id, cg_case_row *out)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT " ROW_COLUMNS " FROM cases WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        fill_row(s, out);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int64_t cg_cases_next_escalation(cg_store *st)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT escalate_at FROM cases WHERE escalate_at IS NOT NULL ORDER BY escalate_at LIMIT 1");
    if (!s)
        return 0;
    int64_t at = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return at;
}

size_t cg_cases_due_escalations(cg_store *st, int64_t now_ms, cg_case_row *rows, size_t max)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " ROW_COLUMNS " FROM cases WHERE escalate_at IS NOT NULL AND escalate_at <= ?1"
        " ORDER BY escalate_at LIMIT ?2");
    if (!s)
        return 0;
    sqlite3_bind_int64(s, 1, now_ms);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t n = 0;
    while (n < max && sqlite3_step(s) == SQLITE_ROW)
        fill_row(s, &rows[n++]);
    sqlite3_reset(s);
    return n;
}

/* Does the row (writer connection, inside the transaction) still look as the
 * caller saw it? 1 yes, 0 no, -1 error. */
static int change_still_valid(cg_store *st, const cg_case_change *ch, char *err, size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT status, department, level FROM cases WHERE id = ?1");
    if (!s) {
        cg_set_err(err, errlen, "%s: cannot read case %s", st->path, ch->case_id);
        return -1;
    }
    sqlite3_bind_text(s, 1, ch->case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s), same = 0;
    if (rc == SQLITE_ROW) {
        const char *status = col_text(s, 0), *dep = col_text(s, 1), *level = col_text(s, 2);
        same = (!ch->expect_status || (status && !strcmp(status, ch->expect_status))) &&
               (!ch->expect_department || (dep && !strcmp(dep, ch->expect_department))) &&
               (!ch->expect_level || (level && !strcmp(level, ch->expect_level)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        cg_set_err(err, errlen, "%s: reading case %s: %s", st->path, ch->case_id,
                sqlite3_errmsg(st->db));
        return -1;
    }
    return same;
}

/* One statement for every verb: each column keeps its value unless the
 * change names it (verbs are human-paced; the intake path does not use it). */
static int write_change(cg_store *st, const cg_case_change *ch, int64_t now_ms, char *err,
                        size_t errlen)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "UPDATE cases SET updated_at = ?2,"
        " status = coalesce(?3, status),"
        " department = coalesce(?4, department),"
        " assignee = CASE WHEN ?5 THEN ?6 ELSE assignee END,"
        " rework = rework + ?7,"
        " misroutes = misroutes + ?8,"
        " level = coalesce(?9, level),"
        " expected_at = coalesce(?10, expected_at),"
        " postponed = max(postponed, ?11),"
        " escalate_at = CASE ?12 WHEN 1 THEN NULL WHEN 2 THEN coalesce(?10, expected_at)"
        "   ELSE escalate_at END,"
        " satisfaction = coalesce(?13, satisfaction),"
        " handled_by = coalesce(?14, handled_by),"
        " extra = CASE WHEN ?15 IS NULL THEN extra ELSE json_patch(coalesce(extra, '{}'), ?15) END,"
        " requires = CASE WHEN ?15 IS NULL THEN requires ELSE NULL END"
        " WHERE id = ?1");
    char *fulfil = ch->fulfil ? json_dumps(ch->fulfil, JSON_COMPACT) : NULL;
    if (s) {
        const char *to = ch->to_status2 ? ch->to_status2 : ch->to_status;
        sqlite3_bind_text(s, 1, ch->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now_ms);
        bind_text_or_null(s, 3, to);
        bind_text_or_null(s, 4, ch->department);
        sqlite3_bind_int(s, 5, ch->set_assignee ? 1 : 0);
        bind_text_or_null(s, 6, ch->assignee);
        sqlite3_bind_int(s, 7, ch->rework_inc);
        sqlite3_bind_int(s, 8, ch->misroute_inc);
        bind_text_or_null(s, 9, ch->level);
        if (ch->expected_at > 0)
            sqlite3_bind_int64(s, 10, ch->expected_at);
        sqlite3_bind_int(s, 11, ch->postponed ? 1 : 0);
        sqlite3_bind_int(s, 12, ch->timer);
        if (ch->satisfaction > 0)
            sqlite3_bind_int(s, 13, ch->satisfaction);
        bind_text_or_null(s, 14, ch->set_handled_by ? ch->actor : NULL);
        bind_text_or_null(s, 15, fulfil);
    }
    int rc = cg_store_step_text(st, s, "case update", err, errlen);
    free(fulfil);
    return rc;
}

/* The assessment's per-case facts (migration "assessment", assessment.h),
 * in the verb's transaction: handled_at when the case becomes handled,
 * reopens + 1 on a reopen (also the one a low rating makes), duplicates + 1
 * on the case a cancelled duplicate points at. Only verbs that change one of
 * them run a statement. */
static int write_assessment_facts(cg_store *st, const cg_case_change *ch, int64_t now_ms,
                                  char *err, size_t errlen)
{
    const char *to = ch->to_status2 ? ch->to_status2 : ch->to_status;
    int handled = to && !strcmp(to, "handled");
    int reopened = !strcmp(ch->action, "reopen") || (ch->action2 && !strcmp(ch->action2, "reopen"));
    if (handled || reopened) {
        sqlite3_stmt *s = cg_store_stmt(st,
            "UPDATE cases SET handled_at = CASE WHEN ?2 THEN ?3 ELSE handled_at END,"
            " reopens = reopens + ?4 WHERE id = ?1");
        if (s) {
            sqlite3_bind_text(s, 1, ch->case_id, -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 2, handled);
            sqlite3_bind_int64(s, 3, now_ms);
            sqlite3_bind_int(s, 4, reopened);
        }
        if (cg_store_step_text(st, s, "case assessment update", err, errlen) < 0)
            return -1;
    }
    if (ch->link_case) {
        sqlite3_stmt *s = cg_store_stmt(st, "UPDATE cases SET duplicates = duplicates + 1 WHERE id = ?1");
        if (s)
            sqlite3_bind_text(s, 1, ch->link_case, -1, SQLITE_STATIC);
        if (cg_store_step_text(st, s, "duplicate count update", err, errlen) < 0)
            return -1;
    }
    return 0;
}

cg_status cg_cases_apply_change(cg_store *st, const cg_case_change *ch, int64_t now_ms,
                                cg_dispatch *out, int *has_out, char *err, size_t errlen)
{
    *has_out = 0;
    if (!ch || !ch->case_id || !ch->actor || !ch->action) {
        cg_set_err(err, errlen, "a change needs a case, an actor and an action");
        return CG_E_INTERNAL;
    }
    if (write_begin(st, err, errlen) < 0)
        return CG_E_INTERNAL;
    int valid = change_still_valid(st, ch, err, errlen);
    if (valid <= 0) {
        write_abort(st);
        if (valid == 0)
            cg_set_err(err, errlen, "case %s changed meanwhile", ch->case_id);
        return valid == 0 ? CG_E_CONFLICT : CG_E_INTERNAL;
    }
    const char *from = ch->expect_status;
    const char *to = ch->to_status ? ch->to_status : from;
    history_row rows[2] = {{ch->actor, ch->action, from, to, ch->note}};
    size_t nrows = 1;
    if (ch->action2) {
        rows[1] = (history_row){ch->actor, ch->action2, to,
                                ch->to_status2 ? ch->to_status2 : to, ch->note2};
        nrows = 2;
    }
    cg_dispatch d = {0};
    int ok = write_change(st, ch, now_ms, err, errlen) == 0 &&
             write_assessment_facts(st, ch, now_ms, err, errlen) == 0 &&
             add_history_rows(st, ch->case_id, now_ms, rows, nrows, err, errlen) == 0;
    if (ok && ch->link_case) {
        history_row link = {ch->actor, "duplicate", NULL, NULL, ch->link_note};
        ok = add_history_rows(st, ch->link_case, now_ms, &link, 1, err, errlen) == 0;
    }
    if (ok && (ch->new_dispatch || ch->event)) {
        ok = outbox_insert_event(st, ch->case_id, now_ms, ch->new_dispatch ? NULL : ch->event,
                                 &d, err, errlen) == 0;
    }
    if (ok)
        ok = write_escalation_details(st, ch, err, errlen) == 0;
    if (ok)
        ok = outbox_insert_copies(st, ch, now_ms, err, errlen) == 0;
    if (ok)
        ok = write_end(st, err, errlen) == 0;
    if (!ok) {
        cg_dispatch_clear(&d);
        for (size_t i = 0; ch->subscriber_out && i < ch->n_subscribers; i++)
            cg_dispatch_clear(&ch->subscriber_out[i]);
        write_abort(st);
        return CG_E_INTERNAL;
    }
    if (d.payload) {
        *out = d;
        *has_out = 1;
    }
    if (ch->level && !strcmp(ch->action, "escalate"))
        cg_metrics_escalation(ch->level);
    return CG_OK;
}

/* ---------------------------------------------------------------- outbox */

int cg_outbox_load(cg_store *st, void (*cb)(void *arg, cg_dispatch *d), void *arg)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
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
    sqlite3_stmt *s = cg_store_read_stmt(st, sql);
    if (!s)
        return -1;
    long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

long long cg_outbox_count(cg_store *st) { return count_rows(st, "SELECT count(*) FROM outbox"); }
long long cg_cases_count(cg_store *st) { return count_rows(st, "SELECT count(*) FROM cases"); }
