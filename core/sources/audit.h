/*
 * audit.h — the data-source query audit: one row per query that reached a
 * source (who, when, role, source, parameters, reason, case, rows returned,
 * the fields that went out unmasked, which plugin instance answered), in the
 * append-only table query_audit (store/migrations.c: triggers refuse UPDATE
 * and any DELETE but the retention purge's).
 *
 * Every row is chained to the one before it (chain.h): hash = SHA-256(the
 * previous row's hash || the row's canonical text), the canonical text being
 * the row's columns as a compact JSON array in a fixed order (audit.c
 * canonical()). The first row chains to 64 zeros, or, after a purge, to the
 * purge's anchor (the hash of the last row it removed), so that the rows
 * that stay still verify. The purge is itself an audit row (kind "purge").
 *
 * Threads: cg_audit_append and cg_audit_purge run inside a cg_batch item on
 * the write connection (main thread); the readers use the read connection
 * (main thread), except cg_audit_verify, which takes any connection's
 * cg_store (citygridctl opens its own).
 */
#ifndef CG_AUDIT_H
#define CG_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/result.h"
#include "people/auth.h"
#include "store/store.h"

typedef struct cg_audit_entry {
    int64_t at;              /* unix ms */
    const char *kind;        /* "query" or "purge" */
    const char *member_id;
    const char *role;        /* the role the query was allowed under */
    const char *department;  /* "" when none */
    const char *source;
    const char *params;      /* JSON object text */
    const char *reason;
    const char *case_id;     /* NULL: none */
    const char *outcome;     /* ok, timeout, unavailable, error */
    long rows;               /* rows returned to the caller */
    const char *unmasked;    /* JSON array text: non-public fields sent whole */
    const char *instance;    /* the plugin instance that answered ("" if none) */
} cg_audit_entry;

/* Inside a transaction on the write connection: append e, chained to the
 * last row. *seq gets the new row's seq. CG_OK or CG_E_INTERNAL. */
cg_status cg_audit_append(cg_store *st, const cg_audit_entry *e, long long *seq, cg_result *r);

/* Inside a transaction on the write connection: remove the rows older than
 * before_ms (unix ms), recording the purge (audit_purges, anchored on the
 * hash of the last row removed) and appending a "purge" row. *purged gets
 * how many rows went (0: nothing to do, nothing written). */
cg_status cg_audit_purge(cg_store *st, int64_t before_ms, int64_t now_ms, long *purged,
                         cg_result *r);

/* Walk the chain from the start (or the last purge's anchor). CG_OK with
 * *bad_seq = 0 when every row matches; CG_OK with *bad_seq = the first row
 * whose hash does not follow from its text and the row before it (an
 * edited row), or that follows a gap in the seqs (a deleted row).
 * *checked: rows read. CG_E_INTERNAL when reading fails. Uses st's write
 * connection (`db`): call it from a process of its own or with
 * cg_store_lock held. */
cg_status cg_audit_verify(cg_store *st, long long *bad_seq, long long *checked, cg_result *r);

/* Queries a member has made since since_ms (read connection); -1 on error.
 * The daily limit counts these, so a restart does not reset it. */
long long cg_audit_count_since(cg_store *st, const char *member_id, int64_t since_ms);

/* May `who` read the audit? 1: an admin or an auditor (members.auditor),
 * 0: no, -1: error. */
int cg_audit_may_read(cg_store *st, const cg_principal *who);

/* GET /v1/audit/queries: {"items":[...],"next":cursor|null}, newest first,
 * rows with seq < before (0: from the newest), at most limit; filtered by
 * member and source when not NULL. NULL on a read error. */
json_t *cg_audit_page(cg_store *st, long long before, int limit, const char *member,
                      const char *source);

/* The same rows as CSV text (Chinese headers, cells through cg_csv_cell,
 * times in Asia/Shanghai, a UTF-8 BOM first), at most limit rows.
 * malloc'd, NULL on error. */
char *cg_audit_csv(cg_store *st, long long before, int limit, const char *member,
                   const char *source);

#endif
