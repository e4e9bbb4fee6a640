/*
 * patrols.h — patrols and the weekly patrol rule.
 *
 * A member starts a patrol in a grid they serve; their terminal sends track
 * points (time, position), in time order; the patrol ends. Each point is
 * marked inside or outside the patrol's grid when it arrives (grids.h
 * locate: the same border rule as case reports). The time between two
 * consecutive points of a patrol that are both inside, and at most
 * `max_gap` apart (a longer gap means the track was lost), counts as time in
 * the grid; an interval that crosses a city midnight is split between the
 * two days. patrol_days keeps that time per member, grid and city day, added
 * to as points arrive: a day is a patrol day when it reaches
 * attendance.patrol_min_minutes, and a member meets the weekly rule in a
 * grid with attendance.patrol_days_per_week such days in an ISO week.
 *
 * Threading: cg_patrol_start/append/end write with cg_store_stmt inside a
 * cg_batch apply; the reads use cg_store_read_stmt on the main thread.
 */
#ifndef CG_PATROLS_H
#define CG_PATROLS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "routine/attendance.h"
#include "lib/result.h"
#include "store/store.h"

#define CG_PATROL_MAX_POINTS 500 /* per request */

typedef struct cg_track_pt {
    int64_t at_ms;
    double lat, lon;
    int inside; /* in the patrol's grid */
} cg_track_pt;

typedef struct cg_day_ms {
    int32_t day; /* citydate.h */
    int64_t ms;
} cg_day_ms;

/* ---- pure -------------------------------------------------------------- */

/* The time inside the grid that the points add, per city day: `prev` is the
 * patrol's last stored point (NULL for the first request), pts[0..n) the new
 * ones in strictly increasing time. Writes at most 2 * n entries (distinct
 * days, ascending) to out (cap >= 2 * n) and returns how many. max_gap_ms
 * must be below a day. */
size_t cg_patrol_inside_time(const cg_track_pt *prev, const cg_track_pt *pts, size_t n,
                             int64_t max_gap_ms, cg_day_ms *out, size_t cap);

/* ---- reads (main thread) ----------------------------------------------- */

/* The patrol's member and grid: 1 found, 0 not, -1 error. */
int cg_patrol_owner(cg_store *st, long long id, char member[CG_MEMBER_ID_SIZE],
                    char grid[CG_GRID_CODE_SIZE]);
/* {"id","member","grid","started_at","ended_at"|null,"points","inside_minutes"}, or NULL. */
json_t *cg_patrol_get(cg_store *st, long long id);

typedef struct cg_compliance_query {
    int32_t monday;          /* the ISO week */
    int min_minutes;         /* a patrol day */
    int required_days;       /* per grid and week */
    const char *grid, *member; /* NULL: any */
    const char *viewer;      /* non-NULL: only grids this member serves */
    const char *after_member, *after_grid; /* cursor, or NULL */
    int limit;
} cg_compliance_query;
/* For every member and every grid they serve (by member, grid):
 * {"week","from","to","min_minutes","required","items":[{"member","name",
 * "grid","roles":[...],"patrol_days":n,"days":["YYYY-MM-DD",...],"met":bool}],
 * "next":cursor|null}. Cursor text "MEMBER/GRID". NULL on error. */
json_t *cg_patrol_compliance(cg_store *st, const cg_compliance_query *q);

/* ---- writes (inside a cg_batch apply) ---------------------------------- */

/* A new patrol: CG_OK and *id its row id, or the refusal in why. */
cg_status cg_patrol_start(cg_store *st, const char *member, const char *grid, int64_t started_ms,
                          long long *id, cg_result *why);
/* Append points (marked inside/outside already) sent by `member`:
 * CG_E_NOT_FOUND no such patrol, CG_E_FORBIDDEN another member's,
 * CG_E_CONFLICT patrol_ended, CG_E_UNPROCESSABLE out_of_order when pts[0]
 * is not after the last stored point or before the start. */
cg_status cg_patrol_append(cg_store *st, long long id, const char *member, const cg_track_pt *pts,
                           size_t n, int64_t max_gap_ms, cg_result *why);
/* End it (the refusals of cg_patrol_append but out_of_order). */
cg_status cg_patrol_end(cg_store *st, long long id, const char *member, int64_t now_ms,
                        cg_result *why);

#endif
