/*
 * audit.c — the query audit's rows, chain, purge and readers (audit.h).
 */
#include "sources/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "sources/chain.h"

#define AUDIT_LOG "audit"

/* The columns in chain order; canonical() and every reader select them so. */
#define AUDIT_COLUMNS                                                                   \
    "seq, at, kind, member_id, role, department, source, params, reason, case_id, "    \
    "outcome, rows, unmasked, instance, hash"

/* The canonical text of a row: its columns (but the hash) as a compact JSON
 * array, in AUDIT_COLUMNS order. Writing and verifying both go through it. */
static char *canonical(long long seq, const cg_audit_entry *e)
{
    json_t *a = json_pack("[I,I,s,s,s,s,s,s,s,s?,s,I,s,s]", (json_int_t)seq, (json_int_t)e->at,
                          e->kind, e->member_id, e->role, e->department, e->source, e->params,
                          e->reason, e->case_id, e->outcome, (json_int_t)e->rows, e->unmasked,
                          e->instance);
    if (!a)
        return NULL;
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

/* A row of AUDIT_COLUMNS as an entry (pointing into the statement). */
static void entry_of(sqlite3_stmt *s, cg_audit_entry *e)
{
    e->at = sqlite3_column_int64(s, 1);
    e->kind = col_text(s, 2);
    e->member_id = col_text(s, 3);
    e->role = col_text(s, 4);
    e->department = col_text(s, 5);
    e->source = col_text(s, 6);
    e->params = col_text(s, 7);
    e->reason = col_text(s, 8);
    e->case_id = sqlite3_column_type(s, 9) == SQLITE_NULL ? NULL : col_text(s, 9);
    e->outcome = col_text(s, 10);
    e->rows = (long)sqlite3_column_int64(s, 11);
    e->unmasked = col_text(s, 12);
    e->instance = col_text(s, 13);
}

/* The chain's end on the write connection: the last row's seq and hash, else
 * the last purge's (upto, anchor), else (0, genesis). */
static cg_status chain_tail(cg_store *st, long long *seq, char hash[CG_CHAIN_HEX], cg_result *r)
{
    static const char *const sql[] = {
        "SELECT seq, hash FROM query_audit ORDER BY seq DESC LIMIT 1",
        "SELECT upto, anchor FROM audit_purges ORDER BY upto DESC LIMIT 1"};
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *s = cg_store_stmt(st, sql[i]);
        if (!s)
            return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit's end");
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *seq = sqlite3_column_int64(s, 0);
            snprintf(hash, CG_CHAIN_HEX, "%s", col_text(s, 1));
            sqlite3_reset(s);
            return CG_OK;
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit's end: %s",
                           sqlite3_errmsg(st->db));
    }
    *seq = 0;
    snprintf(hash, CG_CHAIN_HEX, "%s", CG_CHAIN_GENESIS);
    return CG_OK;
}

cg_status cg_audit_append(cg_store *st, const cg_audit_entry *e, long long *seq, cg_result *r)
{
    long long last = 0;
    char prev[CG_CHAIN_HEX];
    if (chain_tail(st, &last, prev, r) != CG_OK)
        return r->status;
    long long next = last + 1;
    char *text = canonical(next, e);
    if (!text)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    char hash[CG_CHAIN_HEX];
    cg_chain_hash(prev, text, hash);
    free(text);
    sqlite3_stmt *s = cg_store_stmt(
        st, "INSERT INTO query_audit(" AUDIT_COLUMNS ") VALUES "
            "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)");
    if (s) {
        sqlite3_bind_int64(s, 1, next);
        sqlite3_bind_int64(s, 2, e->at);
        const char *texts[] = {e->kind, e->member_id, e->role, e->department, e->source,
                               e->params, e->reason, e->case_id, e->outcome};
        for (int i = 0; i < 9; i++)
            if (texts[i])
                sqlite3_bind_text(s, 3 + i, texts[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 12, e->rows);
        sqlite3_bind_text(s, 13, e->unmasked, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 14, e->instance, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 15, hash, -1, SQLITE_TRANSIENT);
    }
    cg_status rc = cg_store_step(st, s, "the audit row", r);
    if (rc == CG_OK && seq)
        *seq = next;
    return rc;
}

cg_status cg_audit_purge(cg_store *st, int64_t before_ms, int64_t now_ms, long *purged,
                         cg_result *r)
{
    *purged = 0;
    /* The newest row older than the cut: rows are appended in time order,
     * so everything up to it is older too. A purge row is never purged by
     * the purge that writes it (its `at` is now). */
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT seq, hash, (SELECT count(*) FROM query_audit "
                                        "WHERE seq <= q.seq) FROM query_audit q WHERE at < ?1 "
                                        "ORDER BY seq DESC LIMIT 1");
    if (!s)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit");
    sqlite3_bind_int64(s, 1, before_ms);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        if (rc == SQLITE_DONE)
            return CG_OK;
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit: %s",
                       sqlite3_errmsg(st->db));
    }
    long long upto = sqlite3_column_int64(s, 0);
    char anchor[CG_CHAIN_HEX];
    snprintf(anchor, sizeof anchor, "%s", col_text(s, 1));
    long n = (long)sqlite3_column_int64(s, 2);
    sqlite3_reset(s);

    char params[96];
    snprintf(params, sizeof params, "{\"upto\":%lld,\"before\":%lld}", upto, (long long)before_ms);
    cg_audit_entry e = {.at = now_ms, .kind = "purge", .member_id = "system", .role = "system",
                        .department = "", .source = "", .params = params,
                        .reason = "retention", .case_id = NULL, .outcome = "ok", .rows = n,
                        .unmasked = "[]", .instance = ""};
    if (cg_audit_append(st, &e, NULL, r) != CG_OK)
        return r->status;
    s = cg_store_stmt(st, "INSERT INTO audit_purges(upto, anchor, at) VALUES (?1, ?2, ?3)");
    if (s) {
        sqlite3_bind_int64(s, 1, upto);
        sqlite3_bind_text(s, 2, anchor, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 3, now_ms);
    }
    if (cg_store_step(st, s, "the audit purge", r) != CG_OK)
        return r->status;
    s = cg_store_stmt(st, "DELETE FROM query_audit WHERE seq <= ?1");
    if (s)
        sqlite3_bind_int64(s, 1, upto);
    if (cg_store_step(st, s, "the audit purge", r) != CG_OK)
        return r->status;
    *purged = n;
    CG_NOTICE(AUDIT_LOG, "purged %ld query audit rows (up to #%lld)", n, upto);
    return CG_OK;
}

cg_status cg_audit_verify(cg_store *st, long long *bad_seq, long long *checked, cg_result *r)
{
    *bad_seq = 0;
    *checked = 0;
    char prev[CG_CHAIN_HEX] = CG_CHAIN_GENESIS;
    long long expect = 1;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT upto, anchor FROM audit_purges ORDER BY upto DESC "
                                   "LIMIT 1", -1, &s, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(s) == SQLITE_ROW) {
        expect = sqlite3_column_int64(s, 0) + 1;
        snprintf(prev, sizeof prev, "%s", col_text(s, 1));
    }
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(st->db, "SELECT " AUDIT_COLUMNS " FROM query_audit ORDER BY seq", -1,
                           &s, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(s, 0);
        cg_audit_entry e;
        entry_of(s, &e);
        (*checked)++;
        char *text = canonical(seq, &e);
        char want[CG_CHAIN_HEX];
        cg_chain_hash(prev, text ? text : "", want);
        free(text);
        const char *stored = col_text(s, 14);
        if (seq != expect || strcmp(want, stored) != 0) {
            *bad_seq = seq;
            break;
        }
        snprintf(prev, sizeof prev, "%s", stored);
        expect = seq + 1;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(s);
    return CG_OK;
fail:
    cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit: %s",
            sqlite3_errmsg(st->db));
    sqlite3_finalize(s);
    return CG_E_INTERNAL;
}

long long cg_audit_count_since(cg_store *st, const char *member_id, int64_t since_ms)
{
    sqlite3_stmt *s = cg_store_read_stmt(
        st, "SELECT count(*) FROM query_audit WHERE member_id = ?1 AND at >= ?2 "
            "AND kind = 'query'");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, since_ms);
    long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    return n;
}

int cg_audit_may_read(cg_store *st, const cg_principal *who)
{
    if (!who)
        return 0;
    if (who->is_admin)
        return 1;
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT auditor FROM members WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, who->member_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int ok = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) != 0 : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return ok;
}

/* The page's rows on the read connection, bound; NULL on error. */
static sqlite3_stmt *page_stmt(cg_store *st, long long before, int limit, const char *member,
                               const char *source)
{
    sqlite3_stmt *s = cg_store_read_stmt(
        st, "SELECT " AUDIT_COLUMNS " FROM query_audit WHERE seq < ?1"
            " AND (?2 IS NULL OR member_id = ?2) AND (?3 IS NULL OR source = ?3)"
            " ORDER BY seq DESC LIMIT ?4");
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, before > 0 ? before : INT64_MAX);
    if (member)
        sqlite3_bind_text(s, 2, member, -1, SQLITE_STATIC);
    if (source)
        sqlite3_bind_text(s, 3, source, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, limit + 1);
    return s;
}

json_t *cg_audit_page(cg_store *st, long long before, int limit, const char *member,
                      const char *source)
{
    sqlite3_stmt *s = page_stmt(st, before, limit, member, source);
    if (!s)
        return NULL;
    json_t *items = json_array();
    long long last = 0;
    int rc, n = 0, more = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == limit) {
            more = 1;
            break;
        }
        cg_audit_entry e;
        entry_of(s, &e);
        long long seq = sqlite3_column_int64(s, 0);
        char when[40];
        cg_time_iso(e.at, when, sizeof when);
        json_t *params = json_loads(e.params, 0, NULL);
        json_t *unmasked = json_loads(e.unmasked, 0, NULL);
        json_array_append_new(
            items, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s?, s:s, s:I, "
                             "s:o, s:s, s:s}",
                             "id", (json_int_t)seq, "at", when, "kind", e.kind, "member",
                             e.member_id, "role", e.role, "department", e.department, "source",
                             e.source, "params", params ? params : json_object(), "reason",
                             e.reason, "case", e.case_id, "outcome", e.outcome, "rows",
                             (json_int_t)e.rows, "unmasked",
                             unmasked ? unmasked : json_array(), "instance", e.instance,
                             "hash", col_text(s, 14)));
        last = seq;
        n++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    char next[32];
    snprintf(next, sizeof next, "%lld", last);
    return json_pack("{s:o, s:o}", "items", items, "next",
                     more ? json_string(next) : json_null());
}

/* Append one CSV cell (neutralised, quoted as needed) and a separator. */
static int put_cell(FILE *f, const char *text, int last)
{
    char *cell = cg_csv_cell(text ? text : "");
    if (!cell)
        return -1;
    fputs(cell, f);
    fputs(last ? "\r\n" : ",", f);
    free(cell);
    return 0;
}

char *cg_audit_csv(cg_store *st, long long before, int limit, const char *member,
                   const char *source)
{
    static const char *const header[] = {"序号", "时间", "类型", "查询人", "角色", "部门",
                                         "数据源", "查询参数", "事由", "关联案件", "结果",
                                         "返回行数", "未脱敏字段", "插件实例", "哈希"};
    const size_t n_cols = sizeof header / sizeof header[0];
    sqlite3_stmt *s = page_stmt(st, before, limit, member, source);
    if (!s)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        sqlite3_reset(s);
        return NULL;
    }
    fputs("\xEF\xBB\xBF", f); /* UTF-8 BOM: spreadsheets then read the Chinese right */
    for (size_t i = 0; i < n_cols; i++)
        put_cell(f, header[i], i + 1 == n_cols);
    int n = 0;
    while (n < limit && sqlite3_step(s) == SQLITE_ROW) {
        cg_audit_entry e;
        entry_of(s, &e);
        char seq[24], when[40], rows[24];
        snprintf(seq, sizeof seq, "%lld", (long long)sqlite3_column_int64(s, 0));
        cg_time_iso(e.at, when, sizeof when);
        snprintf(rows, sizeof rows, "%ld", e.rows);
        const char *cells[] = {seq, when, e.kind, e.member_id, e.role, e.department, e.source,
                               e.params, e.reason, e.case_id ? e.case_id : "", e.outcome, rows,
                               e.unmasked, e.instance, col_text(s, 14)};
        for (size_t i = 0; i < n_cols; i++)
            put_cell(f, cells[i], i + 1 == n_cols);
        n++;
    }
    sqlite3_reset(s);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
