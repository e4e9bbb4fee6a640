/*
 * intake.h — a report's way in: the one domain entry point behind
 * POST /v1/cases. It validates the body against the catalog
 * (case/report.h), locates the grid and checks the reporter's scope
 * (case/scope.h), then hands the case to the group commit (host/flow.h).
 * After COMMIT it flags likely duplicates (case/duplicates.h) and calls
 * back with the case as the API shows it.
 *
 * Main thread only (the catalog, the read connection, the batch's submit).
 */
#ifndef CG_INTAKE_H
#define CG_INTAKE_H

#include <jansson.h>
#include "host/app.h"
#include "lib/result.h"
#include "people/auth.h"

/* After the commit, exactly once, on the main thread: r->status CG_OK with
 * case_id and case_json (a new reference for the callee: the stored case
 * with "likely_duplicate_of" when there are any), or r a CG_E_INTERNAL
 * "internal_error" when the case could not be stored (case_id and
 * case_json NULL; nothing was written). */
typedef void (*cg_intake_done)(void *arg, const cg_result *r, const char *case_id,
                               json_t *case_json);

/* Submit the report `body` (borrowed; not needed after the return) by `who`.
 * CG_OK: it is on its way and `done` will be called, maybe before this
 * returns. Otherwise the refusal is in r, nothing was written and `done` is
 * never called: CG_E_INVALID / CG_E_UNPROCESSABLE for the body
 * (cg_case_report_parse), CG_E_UNPROCESSABLE unknown_grid / outside_grids,
 * CG_E_FORBIDDEN outside the reporter's grids, CG_E_INTERNAL. */
cg_status cg_intake_report(cg_app *app, const cg_principal *who, json_t *body,
                           cg_intake_done done, void *arg, cg_result *r);

#endif
