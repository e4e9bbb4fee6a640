/*
 * report.h — what a report (POST /v1/cases) may say: its fields, their
 * bounds, and the catalog's meaning of its category. Pure: no I/O, any
 * thread; host/intake.c calls it first, the unit tests and the fuzz target
 * call it directly.
 */
#ifndef CG_REPORT_H
#define CG_REPORT_H

#include <jansson.h>
#include "case/cases.h"
#include "lib/result.h"
#include "people/catalog.h"

/* Bounds of a report's free-form parts. */
#define CG_DESCRIPTION_MAX 2000
#define CG_EXTRA_MAX_KEYS 32
#define CG_EXTRA_MAX_DEPTH 8        /* levels inside one extra value */
#define CG_EXTRA_MAX_BYTES 16384    /* all extras, serialized */

/* Validate a report body against the catalog and fill `out`: category
 * (known: else CG_E_UNPROCESSABLE unknown_category naming it), lat+lon
 * numbers in range and/or grid (14 digits), description (string <= 2000
 * bytes), source (patrol|citizen|camera|hotline|platform|inspection, default
 * patrol), handled_on_site / needs_penalty (booleans); JSON null counts as
 * absent. A malformed field is CG_E_INVALID (missing_field, invalid_field,
 * body_not_object). Every other key goes to out->extra (a NEW object the
 * caller json_decref()s; NULL when there are none). Strings in out borrow
 * from `body` and the catalog; out->reporter is left NULL for the caller.
 * department is cg_catalog_route(category), sla_hours the category's.
 * CG_OK, else the refusal in err and out->extra NULL. */
cg_status cg_case_report_parse(json_t *body, const cg_catalog *cat, cg_new_case *out,
                               cg_result *err);

#endif
