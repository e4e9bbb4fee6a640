/*
 * duplicates.h — likely duplicate reports: a new report of the same
 * category within a radius of an OPEN case (reported, dispatched, accepted:
 * not handled, closed or cancelled) reported within a time window is flagged
 * in the 201 answer as "likely_duplicate_of": [{"id","distance_m"}, ...],
 * nearest first. Flagging changes nothing; a grid leader decides, and links
 * a duplicate with the workflow verb `cancel` + `duplicate_of`
 * (core/http/api_workflow.c), which writes the link into both histories.
 *
 * Where the check runs: on the main thread right after the report's COMMIT,
 * as one read on the read connection (cg_store_read_stmt), not inside the
 * batch that stores the case. Intake is bounded by the batch's single writer
 * (every statement on its commit path counts), while the main thread's read
 * runs beside it; the partial index cases_open_by_place (category, lat, lon)
 * WHERE open makes it a bounded range scan: category equality, a latitude
 * band of +-radius, the longitude tested from the index, the exact
 * great-circle distance (geo.h) computed for what is left. Closing a case
 * drops it from that index by itself, so nothing else maintains it. Two
 * reports in one batch see each other (both are committed when each reads).
 * A report without lat/lon is not checked.
 */
#ifndef CG_DUPLICATES_H
#define CG_DUPLICATES_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "store/store.h"

#define CG_DUPLICATES_MAX 10 /* at most this many are named in an answer */

typedef struct cg_duplicate {
    char id[32];
    double distance_m;
} cg_duplicate;

/* Open cases of `category` within radius_m metres of (lat, lon), reported at
 * or after since_ms, other than `self` (may be NULL), nearest first (then the
 * older case first); at most max of them in out. Returns how many, or -1 on
 * a database error. Main thread (read connection). */
int cg_duplicates_find(cg_store *st, const char *category, double lat, double lon,
                       double radius_m, int64_t since_ms, const char *self, cg_duplicate *out,
                       size_t max);

/* Add "likely_duplicate_of" to a new case's JSON (as cg_cases_new_json
 * builds it): [] when the case has no location, radius_m is 0 or none is
 * near; left out only on a database error (logged). Main thread. */
void cg_duplicates_annotate(cg_store *st, json_t *case_json, double radius_m,
                            double window_hours, int64_t now_ms);

#endif
