/*
 * api_scope.h — the scope checks the attendance, patrol, meeting and device
 * read handlers share (api_attendance.c, api_patrols.c, api_meetings.c,
 * api_devices.c): who a listing is for, and whether a fetched row's grid is
 * the caller's. Both answer the request themselves when they refuse.
 *
 * Main thread only (they load a cg_scope with the read connection).
 */
#ifndef CG_API_SCOPE_H
#define CG_API_SCOPE_H

#include "http/api.h"

/* For a listing of `what` filtered by `grid` (NULL: not filtered): 0 with
 * *viewer NULL when the caller sees everything (admin), or the caller's
 * member id (borrowed from ctx->who) to restrict the list to the grids they
 * serve. -1 when answered: 500 if the caller's grids cannot be read, 403 for
 * a department account or a `grid` they do not serve
 * (cg_scope_reads_routine, case/scope.h). */
int cg_api_list_viewer(cg_api_ctx *ctx, const char *grid, const char *what, const char **viewer);

/* May the caller see a `what` of `grid` (admin, or one of their grids; not
 * a department account)? 0 yes; -1 when answered: 500 as above, or 403. */
int cg_api_sees_grid(cg_api_ctx *ctx, const char *grid, const char *what);

#endif
