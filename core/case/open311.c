/*
 * open311.c — Open311's keys, status mapping, request listing, contact
 * details and updates feed (open311.h). Main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "case/open311.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "case/case_columns.h"
#include "lib/log.h"
#include "lib/timeutil.h"

/* ---- keys ---------------------------------------------------------------- */

int cg_o311_name_valid(const char *name)
{
    size_t n = 0;
    if (!name)
        return 0;
    for (; name[n]; n++) {
        char c = name[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n >= 1 && n <= CG_O311_NAME_MAX;
}

void cg_o311_source_of(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s", CG_O311_SOURCE_PREFIX, name);
}

static void key_digest(const char *key, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
}

/* One statement on the write connection under the store lock (the batch
 * may own the connection on its writer thread otherwise). SQLITE_DONE, or
 * the step's code. */
static int write_one(cg_store *st, sqlite3_stmt *s)
{
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s)
        sqlite3_reset(s);
    return rc;
}

cg_status cg_o311_key_create(cg_store *st, const char *name, char api_key[CG_O311_KEY_HEX_LEN + 1],
                             cg_result *r)
{
    api_key[0] = 0;
    if (!cg_o311_name_valid(name))
        return cg_fail(r, CG_E_INVALID, "invalid_field",
                       "'name' must be 1 to %d characters of a-z, 0-9, '_' and '-'", CG_O311_NAME_MAX);
    if (sodium_init() < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "no random source");
    unsigned char raw[CG_O311_KEY_HEX_LEN / 2];
    char key[CG_O311_KEY_HEX_LEN + 1], digest[crypto_hash_sha256_BYTES * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(key, sizeof key, raw, sizeof raw);
    key_digest(key, digest);

    cg_store_lock(st);
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO open311_keys(name, key_hash, created_at) VALUES (?1, ?2, ?3)"
        " ON CONFLICT(name) DO NOTHING");
    if (s) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, digest, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, cg_now_ms());
    }
    int rc = write_one(st, s);
    int changed = rc == SQLITE_DONE ? sqlite3_changes(st->db) : 0;
    cg_store_unlock(st);
    if (rc != SQLITE_DONE) {
        sodium_memzero(key, sizeof key);
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "the key was not stored");
    }
    if (!changed) {
        sodium_memzero(key, sizeof key);
        return cg_fail(r, CG_E_CONFLICT, "key_exists",
                       "a key named '%s' exists or existed; a name is never reused", name);
    }
    memcpy(api_key, key, sizeof key);
    sodium_memzero(key, sizeof key);
    return CG_OK;
}

cg_status cg_o311_key_revoke(cg_store *st, const char *name, cg_result *r)
{
    cg_store_lock(st);
    sqlite3_stmt *s = cg_store_stmt(st,
        "UPDATE open311_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL");
    if (s) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, cg_now_ms());
    }
    int rc = write_one(st, s);
    int changed = rc == SQLITE_DONE ? sqlite3_changes(st->db) : 0;
    cg_store_unlock(st);
    if (rc != SQLITE_DONE)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "the key was not revoked");
    if (!changed)
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no live key named '%.64s'", name);
    return CG_OK;
}

json_t *cg_o311_keys_list(cg_store *st)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT name, created_at, revoked_at FROM open311_keys ORDER BY created_at, name");
    if (!s)
        return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char source[CG_O311_SOURCE_MAX];
        cg_o311_source_of(col_text(s, 0), source, sizeof source);
        json_array_append_new(items, json_pack("{s:s, s:s, s:o, s:o}", "name", col_text(s, 0),
                                               "source", source, "created_at", iso_or_null(s, 1),
                                               "revoked_at", iso_or_null(s, 2)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:o}", "items", items);
}

int cg_o311_key_lookup(cg_store *st, const char *api_key, char name[CG_O311_NAME_MAX + 1])
{
    name[0] = 0;
    if (!api_key || strlen(api_key) != CG_O311_KEY_HEX_LEN)
        return 0;
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
    key_digest(api_key, digest);
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT name FROM open311_keys WHERE key_hash = ?1 AND revoked_at IS NULL");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, digest, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(name, CG_O311_NAME_MAX + 1, "%s", col_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- statuses ------------------------------------------------------------ */

const char *cg_o311_status(const char *case_status)
{
    return case_status && (!strcmp(case_status, "closed") || !strcmp(case_status, "cancelled"))
               ? "closed"
               : "open";
}

const char *cg_o311_update_status(const char *action, const char *to_status, const char *note,
                                  const char *case_status)
{
    const char *to = to_status ? to_status : case_status;
    if (!action)
        return cg_o311_status(to);
    if (!strcmp(action, "cancel"))
        return note && !strncmp(note, "duplicate of ", 13) ? "duplicate" : "closed";
    if (to && !strcmp(to, "cancelled"))
        return "closed";
    if (to && !strcmp(to, "closed"))
        return "fixed";        /* a review passed: the problem is gone */
    if (to && !strcmp(to, "accepted"))
        return !strcmp(action, "accept") ? "action_scheduled" : "in_progress";
    if (to && !strcmp(to, "handled"))
        return "in_progress";  /* done on the ground, waiting for review */
    return "open";             /* reported, dispatched, reopened */
}

void cg_o311_datetime(int64_t unix_ms, char *buf, size_t len)
{
    char iso[48];
    cg_time_iso(unix_ms, iso, sizeof iso);
    /* "....:37.123+08:00" -> "....:37+08:00" */
    char *dot = strchr(iso, '.');
    if (dot) {
        char *zone = dot + 1;
        while (*zone >= '0' && *zone <= '9')
            zone++;
        memmove(dot, zone, strlen(zone) + 1);
    }
    snprintf(buf, len, "%s", iso);
}

static json_t *datetime_or_null(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    char buf[48];
    cg_o311_datetime(sqlite3_column_int64(s, i), buf, sizeof buf);
    return json_string(buf);
}

/* ---- service definitions ------------------------------------------------- */

static const char *const yes_no[] = {"true", "是", "false", "否", NULL};
static const char *const trades[] = {"eatery", "小餐饮", "food_shop", "小食品店", "hotel", "小旅馆",
                                     "salon", "美容美发", "bath", "洗浴", "internet_venue",
                                     "网吧及娱乐场所", NULL};

static const cg_o311_attr attr_needs_penalty = {
    "needs_penalty", "singlevaluelist", 0, "是否需要行政处罚（转综合行政执法）", "是 / 否",
    yes_no, CG_O311_TO_NEEDS_PENALTY, 0};
static const cg_o311_attr attr_licence_no = {
    "licence_no", "string", 0, "经营者统一社会信用代码（营业执照）", "18 位统一社会信用代码",
    NULL, CG_O311_TO_EXTRA_STRING, 18};
static const cg_o311_attr attr_injuries = {
    "injuries", "singlevaluelist", 0, "是否有人员受伤", "是 / 否", yes_no,
    CG_O311_TO_EXTRA_BOOL, 0};
static const cg_o311_attr attr_trades = {
    "trade_types", "multivaluelist", 0, "涉及的六小行业类型（可多选）", "可多选", trades,
    CG_O311_TO_EXTRA_LIST, 0};

size_t cg_o311_attributes(const char *category, const char *department, const cg_o311_attr **out,
                          size_t max)
{
    size_t n = 0;
#define ADD(a) do { if (n < max) out[n++] = &(a); } while (0)
    if (!strcmp(department, "enforcement") || !strcmp(department, "municipal") ||
        !strcmp(department, "sanitation") || !strcmp(department, "market"))
        ADD(attr_needs_penalty);
    if (!strcmp(department, "market"))
        ADD(attr_licence_no);
    if (!strcmp(category, "six_small_trades"))
        ADD(attr_trades);
    if (!strcmp(department, "police"))
        ADD(attr_injuries);
#undef ADD
    return n;
}

/* ---- requests ------------------------------------------------------------ */

/* History actions whose note is for the public: a status change's reason,
 * a citizen's comment. Department notes (they name staff), dispatch and
 * transfer notes (department codes) and assign notes (member ids) are
 * never shown. */
#define PUBLIC_NOTE_TERM                                                             \
    "(action = 'handle' OR action = 'review' OR action = 'cancel' OR action = 'reopen'" \
    " OR action = 'postpone' OR action = 'comment')"

static json_t *status_notes(cg_store *st, const char *case_id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT note FROM case_history WHERE case_id = ?1 AND note IS NOT NULL AND note <> ''"
        " AND " PUBLIC_NOTE_TERM " ORDER BY id DESC LIMIT 1");
    if (!s)
        return json_null();
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_TRANSIENT);
    json_t *v = sqlite3_step(s) == SQLITE_ROW ? json_string(col_text(s, 0)) : json_null();
    sqlite3_reset(s);
    return v ? v : json_null();
}

/* extra.media_url, if the report had one. */
static json_t *media_url_of(const char *extra)
{
    json_t *x = extra ? json_loads(extra, 0, NULL) : NULL;
    json_t *m = json_object_get(x, "media_url");
    json_t *v = json_is_string(m) ? json_string(json_string_value(m)) : json_null();
    json_decref(x);
    return v;
}

#define REQUEST_COLUMNS                                                                  \
    "id, status, category, description, department, created_at, updated_at, expected_at," \
    " has_location, lat, lon, extra, source"

static json_t *request_json(cg_store *st, sqlite3_stmt *s)
{
    char id[32];
    snprintf(id, sizeof id, "%s", col_text(s, 0));
    int located = sqlite3_column_int(s, 8) != 0;
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
        "service_request_id", id,
        "status", cg_o311_status(col_text(s, 1)),
        "status_notes", status_notes(st, id),
        "service_code", col_text(s, 2),
        "description", col_text(s, 3) ? col_text(s, 3) : "",
        "department", col_text(s, 4),
        "requested_datetime", datetime_or_null(s, 5),
        "updated_datetime", datetime_or_null(s, 6),
        "expected_datetime", datetime_or_null(s, 7),
        "lat", located ? json_real(sqlite3_column_double(s, 9)) : json_null(),
        "long", located ? json_real(sqlite3_column_double(s, 10)) : json_null(),
        "media_url", media_url_of(col_text(s, 11)),
        "source", col_text(s, 12) ? col_text(s, 12) : "");
}

static int status_matches(const char *case_status, int want)
{
    if (want == CG_O311_ANY)
        return 1;
    int closed = !strcmp(cg_o311_status(case_status), "closed");
    return want == CG_O311_CLOSED ? closed : !closed;
}

/* The public feed shows what citizens' platforms reported through Open311,
 * never the grid's own patrol or internal reports: those name places, shops
 * and people that the city has not published. */
#define PUBLIC_TERM "substr(source, 1, 8) = '" CG_O311_SOURCE_PREFIX "'"

json_t *cg_o311_requests(cg_store *st, const cg_o311_filter *f)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    if (f->n_ids > 0) {
        for (size_t i = 0; i < f->n_ids; i++) {
            sqlite3_stmt *s = cg_store_read_stmt(st,
                "SELECT " REQUEST_COLUMNS " FROM cases WHERE id = ?1 AND " PUBLIC_TERM);
            if (!s)
                goto fail;
            sqlite3_bind_text(s, 1, f->ids[i], -1, SQLITE_TRANSIENT);
            int rc = sqlite3_step(s);
            json_t *r = NULL;
            if (rc == SQLITE_ROW && status_matches(col_text(s, 1), f->status))
                r = request_json(st, s);
            sqlite3_reset(s);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                goto fail;
            if (r)
                json_array_append_new(out, r);
        }
        return out;
    }
    /* The status filter is an OR chain over the open/closed sets (see
     * OPEN_STATUS_TERM): ?4 = 0 any, 1 open (incl. handled), 2 closed. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " REQUEST_COLUMNS " FROM cases"
        " WHERE created_at >= ?2 AND created_at < ?3 AND (?1 IS NULL OR category = ?1)"
        " AND " PUBLIC_TERM
        " AND (?4 = 0 OR (?4 = 2) = (status = 'closed' OR status = 'cancelled'))"
        " ORDER BY created_at DESC, seq DESC LIMIT ?5");
    if (!s)
        goto fail;
    if (f->category)
        sqlite3_bind_text(s, 1, f->category, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, f->start_ms);
    sqlite3_bind_int64(s, 3, f->end_ms);
    sqlite3_bind_int(s, 4, f->status);
    sqlite3_bind_int(s, 5, f->limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(out, request_json(st, s));
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        goto fail;
    return out;
fail:
    json_decref(out);
    return NULL;
}

json_t *cg_o311_contact(cg_store *st, const char *case_id, const char *source)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT k.contact FROM case_contacts k JOIN cases c ON c.id = k.case_id"
        " WHERE k.case_id = ?1 AND c.source = ?2");
    if (!s || !source)
        return NULL;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, source, -1, SQLITE_TRANSIENT);
    json_t *v = sqlite3_step(s) == SQLITE_ROW ? json_loads(col_text(s, 0), 0, NULL) : NULL;
    sqlite3_reset(s);
    if (v && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

/* ---- the updates feed ---------------------------------------------------- */

json_t *cg_o311_updates(cg_store *st, const char *source, int64_t start_ms, int64_t end_ms,
                        int limit)
{
    /* A status change is a row whose status differs from the one before it
     * (an escalation keeps the status: not an update); a comment is a
     * citizen's. Each row's status is the one its case had then: that of
     * the last status-changing row up to it (ph). Department notes name
     * staff and stay internal. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT h.id, h.case_id, h.action, h.note, h.at, ph.action, ph.to_status, ph.note"
        " FROM cases c JOIN case_history h ON h.case_id = c.id"
        " LEFT JOIN case_history ph ON ph.id = (SELECT max(h2.id) FROM case_history h2"
        "   WHERE h2.case_id = h.case_id AND h2.id <= h.id AND h2.to_status IS NOT NULL)"
        " WHERE c.source = ?1 AND h.at >= ?2 AND h.at < ?3"
        " AND ((h.to_status IS NOT NULL AND h.from_status IS NOT h.to_status)"
        "      OR h.action = 'comment')"
        " ORDER BY h.id LIMIT ?4");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, source, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, start_ms);
    sqlite3_bind_int64(s, 3, end_ms);
    sqlite3_bind_int(s, 4, limit);
    json_t *out = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *action = col_text(s, 2), *note = col_text(s, 3);
        int public_note = note && *note &&
                          (!strcmp(action, "handle") || !strcmp(action, "review") ||
                           !strcmp(action, "cancel") || !strcmp(action, "reopen") ||
                           !strcmp(action, "comment"));
        char update_id[32];
        snprintf(update_id, sizeof update_id, "%" PRId64, (int64_t)sqlite3_column_int64(s, 0));
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:s, s:n}",
            "update_id", update_id,
            "service_request_id", col_text(s, 1),
            "status", cg_o311_update_status(col_text(s, 5), col_text(s, 6), col_text(s, 7), NULL),
            "updated_datetime", datetime_or_null(s, 4),
            "description", public_note ? note : "",
            "media_url"));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int cg_o311_case_source(cg_store *st, const char *case_id, char *out, size_t outlen)
{
    out[0] = '\0';
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT source FROM cases WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        snprintf(out, outlen, "%s", col_text(s, 0) ? col_text(s, 0) : "");
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int64_t cg_o311_last_update_id(cg_store *st, const char *case_id, const char *actor)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT max(id) FROM case_history WHERE case_id = ?1 AND actor = ?2");
    if (!s)
        return 0;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, actor, -1, SQLITE_TRANSIENT);
    int64_t id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return id;
}
