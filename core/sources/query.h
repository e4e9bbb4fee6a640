/*
 * query.h — one data-source query from the caller's request to its audited
 * answer (API.md "Data sources"):
 *
 *   1. the body: a reason (required, CG_E_UNPROCESSABLE "missing_reason"),
 *      an optional case id, params {q, lat, lon, radius_m, ...}
 *      (CG_E_INVALID "invalid_field" naming the field);
 *   2. the source must be known (a built-in name or one a live plugin
 *      serves: CG_E_NOT_FOUND "unknown_source");
 *   3. access (access.h: CG_E_FORBIDDEN naming what is missing);
 *   4. the member's daily limit, counted from the audit (so a restart does
 *      not reset it) plus the queries in flight (CG_E_THROTTLED);
 *   5. QUERY on the bus to the newest live plugin serving it (none:
 *      CG_E_UNAVAILABLE "source_unavailable", nothing recorded);
 *   6. the answer: rows outside the caller's grids dropped (spatial
 *      sources), at most sources.max_rows kept, every field the rule does
 *      not show whole masked by its class (mask.h);
 *   7. the audit row written in a cg_batch (audit.h) — also for a timeout
 *      (CG_E_TIMEOUT, after sources.timeout_ms) or a source that failed
 *      (CG_E_UNAVAILABLE) — and only after its COMMIT the caller's answer.
 *
 * Nothing here blocks: the caller's callback runs later from the loop.
 * Main (libevent) thread only.
 */
#ifndef CG_SOURCE_QUERY_H
#define CG_SOURCE_QUERY_H

#include <jansson.h>

#include "conf/config.h"
#include "lib/result.h"
#include "people/auth.h"
#include "sources/policy.h"
#include "store/batch.h"
#include "store/store.h"
#include "wire/bus.h"

typedef struct cg_sourceq cg_sourceq;

struct event_base;

/* The service. policy and conf are borrowed (they outlive it). With a base
 * and a retention, cg_sourceq_purge runs every 24 h. NULL: no memory. */
cg_sourceq *cg_sourceq_new(struct event_base *base, cg_store *st, cg_batch *batch, cg_bus *bus,
                           const cg_source_policy *policy, const cg_sources_conf *conf);
/* Before the batch goes: answers that arrive later are not audited (the
 * caller is told CG_E_UNAVAILABLE). */
void cg_sourceq_close(cg_sourceq *q);
/* After the bus is freed (it calls back what it still holds). */
void cg_sourceq_free(cg_sourceq *q);

/* CG_OK: answer is {"items":[...],"masked":[...],"audit_id":N} (stolen by
 * the callee); otherwise r says why (answer NULL). */
typedef void (*cg_sourceq_done_fn)(void *arg, json_t *answer, const cg_result *r);

/* Steps 1-5 now: a refusal is returned (fn is never called); CG_OK: fn is
 * called exactly once, later. `body` is borrowed. */
cg_status cg_sourceq_ask(cg_sourceq *q, const cg_principal *who, const char *source,
                         json_t *body, cg_sourceq_done_fn fn, void *arg, cg_result *r);

/* GET /v1/sources: the known sources (the built-in names and what live
 * plugins serve), each {"name","title_zh","fields":[{"name","class"}],
 * "spatial","available","allowed"} for `who`. NULL on a read error. */
json_t *cg_sourceq_list(cg_sourceq *q, const cg_principal *who);

/* Audit rows older than sources.retention_days are purged now (a batch
 * item; nothing when retention is 0). The daemon calls it at start and
 * daily. */
void cg_sourceq_purge(cg_sourceq *q);

#endif
