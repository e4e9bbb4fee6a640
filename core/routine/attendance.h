/*
 * attendance.h — check-ins at the grid office and the duty rota.
 *
 * A check-in is accepted within config `attendance.checkin_radius_m` of the
 * grid's office (great-circle distance, geo.h). The duty rota gives each
 * city day of a month to the grid's leader or its instructor, alternating by
 * the day number (citydate.h), so the alternation runs on across month ends;
 * a day can be given to another member of the grid by hand. A rota day
 * whose person has no check-in in that grid on that day is "missed" once the
 * day is over.
 *
 * Threading: the cg_*_store / cg_rota_fill / cg_rota_set functions write
 * with cg_store_stmt and are meant for a cg_batch apply (any thread owning
 * the store's writer); the others read with cg_store_read_stmt on the main
 * thread. The pure functions are reentrant.
 */
#ifndef CG_ATTENDANCE_H
#define CG_ATTENDANCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "lib/citydate.h"
#include "lib/rowid.h"
#include "people/grids.h"
#include "lib/result.h"
#include "store/store.h"

#define CG_MEMBER_ID_SIZE 64

/* ---- pure -------------------------------------------------------------- */

/* 1 when (lat, lon) is within radius_m of the office, else 0; the distance
 * in metres in *distance_m either way. */
int cg_checkin_within(double office_lat, double office_lon, double lat, double lon,
                      double radius_m, double *distance_m);

/* Who is on duty on `day`: the leader on even day numbers, the instructor on
 * odd ones; when one of them is missing (NULL or ""), the other every day.
 * NULL when both are missing. */
const char *cg_rota_person(int32_t day, const char *leader, const char *instructor);

/* ---- reads (main thread) ----------------------------------------------- */

/* The grid's office: 1 found, 0 no such grid, -1 error. */
int cg_grid_office(cg_store *st, const char *grid, double *lat, double *lon);
/* Does the member serve the grid (any role)? 1/0, -1 error. */
int cg_member_serves(cg_store *st, const char *member, const char *grid);
/* The member's terminal_id into buf ("" when none): 1 member found, 0 not, -1 error. */
int cg_member_terminal(cg_store *st, const char *member, char *buf, size_t len);

typedef struct cg_checkin_filter {
    const char *grid, *member; /* NULL: any */
    const char *viewer;        /* non-NULL: only grids this member serves */
    int64_t since_ms, until_ms;/* [since, until) */
    long long before_id;       /* cursor: ids below this (0: none) */
    int limit;
} cg_checkin_filter;
/* {"items":[check-in...],"next":cursor|null}, newest first. NULL on error. */
json_t *cg_checkins_list(cg_store *st, const cg_checkin_filter *f);
/* One check-in as the API shows it (new reference), or NULL. */
json_t *cg_checkin_get(cg_store *st, long long id);

/* The rota of days [first_day, first_day + n_days) of a grid:
 * {"grid","month"?,"items":[{"date","member","name","checked_in","missed"}]}
 * where missed = not checked in and the day is before `today`. */
json_t *cg_rota_list(cg_store *st, const char *grid, int32_t first_day, int n_days,
                     int32_t today);

/* ---- writes (inside a cg_batch apply) ---------------------------------- */

typedef struct cg_checkin {
    char member[CG_MEMBER_ID_SIZE];
    char grid[CG_GRID_CODE_SIZE];
    char terminal[CG_MEMBER_ID_SIZE]; /* "" when not named */
    int64_t at_ms;
    double lat, lon, distance_m;
} cg_checkin;
/* Insert; CG_OK and *id the new row, or the refusal in why (CG_E_CONFLICT
 * for a constraint, CG_E_INTERNAL). */
cg_status cg_checkin_store(cg_store *st, const cg_checkin *c, long long *id, cg_result *why);

/* Give every day of [first_day, first_day + n_days) without a rota entry to
 * cg_rota_person(); existing entries (and hand edits) are kept. *created:
 * the days added. Else the refusal in why (CG_E_UNPROCESSABLE
 * no_duty_staff when the grid has neither a leader nor an instructor). */
cg_status cg_rota_fill(cg_store *st, const char *grid, int32_t first_day, int n_days,
                       const char *by, int64_t now_ms, int *created, cg_result *why);
/* Put `member` (who must serve the grid: else CG_E_UNPROCESSABLE
 * not_in_grid) on duty on `day`, whether or not the day had an entry. */
cg_status cg_rota_set(cg_store *st, const char *grid, int32_t day, const char *member,
                      const char *by, int64_t now_ms, cg_result *why);


#endif
