/*
 * scope.h — who may see and do what:
 *  - admin: everything;
 *  - a department-level account (members.department_account = 1): its
 *    department's cases city-wide, and the grid registry (read); not a
 *    grid's routine records (check-ins, rota, patrols, meetings, tasks,
 *    devices: cg_scope_reads_routine), which are the grid's own business;
 *  - a member: the cases, grids and people of the grids they serve;
 *    leaders and instructors manage their grids (staff them, see gaps);
 *  - anything else: refused (CG_E_FORBIDDEN).
 *
 * A cg_scope is loaded per request from the principal with the read
 * connection (cg_store_read_stmt): main thread only. It owns its arrays.
 */
#ifndef CG_SCOPE_H
#define CG_SCOPE_H

#include <stddef.h>
#include <jansson.h>
#include "people/auth.h"
#include "case/cases.h"
#include "people/grids.h"
#include "lib/result.h"
#include "store/store.h"

typedef struct cg_scope {
    int admin;
    int department_account;
    char member_id[64];
    char department[32];
    char (*grids)[CG_GRID_CODE_SIZE]; /* served, sorted */
    unsigned char *manages;           /* per grid: leader or instructor there */
    size_t n_grids;
    const char **grid_ptrs;           /* the codes as a list (for filters) */
    unsigned char *leads;             /* per grid: leader there (not instructor) */
} cg_scope;

/* 0 ok; -1 database error. An admin needs no query. */
int cg_scope_load(cg_store *st, const cg_principal *who, cg_scope *out);
void cg_scope_free(cg_scope *sc);

int cg_scope_serves(const cg_scope *sc, const char *grid);
int cg_scope_manages(const cg_scope *sc, const char *grid);
int cg_scope_manages_any(const cg_scope *sc);
/* Is the scope's member the leader (role `leader`, not instructor) of the grid? */
int cg_scope_leads(const cg_scope *sc, const char *grid);
/* Does the scope's member lead a grid where `member` has any assignment?
 * 1 yes (always for an admin), 0 no (also for an unknown member), -1
 * database error. Loads the member's grids with cg_scope_load. */
int cg_scope_leads_member(cg_store *st, const cg_scope *sc, const char *member);
/* May the caller read a grid's routine records (check-ins, rota, patrols,
 * meetings, tasks, devices) of `grid` (NULL: a list not filtered by grid,
 * which the caller then sees cut to their grids)? CG_OK for an admin and
 * for a member who serves the grid; CG_E_FORBIDDEN for a department account
 * (docs/authz.md: those records carry people's movements and belong to the
 * grid, the department sees its members' work through cases and the
 * assessment) and for a grid the member does not serve, `what` naming the
 * record in the message. */
cg_status cg_scope_reads_routine(const cg_scope *sc, const char *grid, const char *what,
                                 cg_result *r);
/* May see a case of this grid (NULL/"" if none), department and reporter? */
int cg_scope_sees_case(const cg_scope *sc, const char *grid, const char *department,
                       const char *reporter);
/* May see the member whose grids are `grids` (n)? Self, admin, or a shared grid. */
int cg_scope_sees_member(const cg_scope *sc, const char *member_id, const char *const *grids,
                         size_t n);

/* GET /v1/cases within scope: an admin's filter as is; a department account's
 * forced to its department; a member's limited to their grids (one list per
 * grid, merged newest first, with the same cursor semantics as
 * cg_cases_list). CG_OK and *page, or the refusal in err (CG_E_FORBIDDEN
 * outside scope, CG_E_INVALID for a bad cursor, CG_E_INTERNAL). */
cg_status cg_scope_cases_list(cg_store *st, const cg_scope *sc, const cg_case_filter *f,
                              json_t **page, cg_result *err);

/* ---- the case endpoints (api_cases.c), from the principal -------------- */

/* A report's grid (cg_intake_report). With a grid code, that grid must
 * exist (CG_E_UNPROCESSABLE unknown_grid); else its lat/lon is located
 * (CG_E_UNPROCESSABLE outside_grids naming the point). Writes the code into
 * `grid` and points nc->grid at it. Then scope: an admin or a department
 * account may report anywhere, a member only in a grid they serve
 * (CG_E_FORBIDDEN). CG_OK, else the refusal in err. */
cg_status cg_scope_report_grid(cg_store *st, const cg_principal *who, cg_new_case *nc,
                               char grid[CG_GRID_CODE_SIZE], cg_result *err);
/* GET /v1/cases/{id}: CG_OK when `c` (a case JSON) is visible, else
 * CG_E_FORBIDDEN or CG_E_INTERNAL in err. */
cg_status cg_scope_case_visible(cg_store *st, const cg_principal *who, json_t *c, cg_result *err);
/* GET /v1/cases: cg_scope_cases_list for the principal. */
cg_status cg_scope_cases_for(cg_store *st, const cg_principal *who, const cg_case_filter *f,
                             json_t **page, cg_result *err);

#endif
