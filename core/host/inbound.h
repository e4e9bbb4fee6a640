/*
 * inbound.h — reports from platforms that cannot speak Open311 (the four
 * platforms, i丽水's back office): POST /v1/inbound/{source} with a body
 * like POST /v1/cases, signed like the bridge's webhooks
 * (plugins/bridge/README.md): X-Citygrid-Timestamp (unix seconds) and
 * X-Citygrid-Signature: sha256=HEX(HMAC-SHA256(key, timestamp "." body)),
 * with the source's key from the config (inbound.sources). A timestamp
 * outside inbound.window_s of now is refused (replay), and so is a
 * signature already used within the window: kept with the case it reported
 * (request_keys, in the case's transaction, case/cases.h), so a replay is
 * refused after a restart or a kill -9 too, and however many requests came
 * between. The case gets source
 * "inbound:NAME", no reporter member, and may lie in any grid of the city.
 *
 * Main thread only (the catalog, the read connection, the batch).
 */
#ifndef CG_INBOUND_H
#define CG_INBOUND_H

#include <stdint.h>
#include <jansson.h>
#include "host/app.h"
#include "lib/result.h"

#define CG_INBOUND_SOURCE_PREFIX "inbound:"
#define CG_INBOUND_DEFAULT_WINDOW_S 300

/* Check a request's signature (the read connection): CG_OK, CG_E_NOT_FOUND (no such source
 * configured), CG_E_UNAUTHENTICATED (missing or bad signature, timestamp
 * out of the window, signature replayed). body is the raw bytes signed. */
cg_status cg_inbound_verify(const cg_app *app, const char *source, const char *timestamp,
                            const char *signature, const char *body, size_t body_len,
                            int64_t now_s, cg_result *r);

/* After the commit, exactly once, on the main thread: CG_OK with the case
 * id and the case as the API shows it (new reference), or a CG_E_INTERNAL. */
typedef void (*cg_inbound_done)(void *arg, const cg_result *r, const char *case_id,
                                json_t *case_json);

/* Validate the report (case/report.h), locate its grid (CG_E_UNPROCESSABLE
 * unknown_grid / outside_grids) and submit it with source "inbound:SOURCE"
 * and the request's signature (as verified) as its request key: a replay
 * that raced past cg_inbound_verify is refused by the insert (r
 * CG_E_UNAUTHENTICATED "replayed" in `done`).
 * CG_OK: `done` will be called; else the refusal is in r and nothing was
 * written. */
cg_status cg_inbound_report(cg_app *app, const char *source, const char *signature,
                            json_t *body, cg_inbound_done done, void *arg, cg_result *r);

#endif
