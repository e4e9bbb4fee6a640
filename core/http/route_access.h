/*
 * route_access.h — the authorization matrix: for every route of the route
 * table (api.h, cg_api_routes), who may call it and on what. It is the
 * written model that docs/authz.md explains in words and that the generated
 * test (tests/integration/test_authz.c) holds the running daemon to: every
 * route × every role × every target below, any 2xx this table does not allow
 * fails the test. A route of cg_api_routes without a row here fails it too,
 * so a new route gets its row (and its check) the day it is added.
 *
 * The handlers and the domain enforce the rules (people/members.h,
 * case/scope.h, ...); this table does not, it states them. Constant data,
 * read by any thread.
 *
 * Targets: the test's callers all serve one grid A (the leader, instructor,
 * full-time, a professional of each department, an optional member), or
 * none (the admin, a department account, an auditor, anonymous). Each route
 * is called on a resource
 *  - OWN: of grid A and of the caller's department (a leader, instructor,
 *    full-time or optional member: enforcement's); a department account's
 *    "grid" is every grid of its department;
 *  - OTHER_DEPT: of grid A but of another department;
 *  - OTHER_GRID: of a grid the caller does not serve, the caller's department;
 *  - SHARED: the member who serves grid A and grid B (a grid the caller does
 *    not serve), or the resources of grid B reached through them.
 * A route that takes no resource is called the same way for each target;
 * its four masks are then equal.
 */
#ifndef CG_ROUTE_ACCESS_H
#define CG_ROUTE_ACCESS_H

#include <stddef.h>

/* Callers (bits). */
#define CG_AX_ANON       0x001u /* no token */
#define CG_AX_ADMIN      0x002u
#define CG_AX_AUDITOR    0x004u /* reads the query audit (data sources) */
#define CG_AX_DEPT       0x008u /* a department-level account */
#define CG_AX_LEADER     0x010u
#define CG_AX_INSTRUCTOR 0x020u
#define CG_AX_FULLTIME   0x040u
#define CG_AX_PRO        0x080u /* a professional member, each department */
#define CG_AX_OPTIONAL   0x100u

#define CG_AX_MANAGERS (CG_AX_LEADER | CG_AX_INSTRUCTOR)
#define CG_AX_STAFF (CG_AX_MANAGERS | CG_AX_FULLTIME | CG_AX_PRO | CG_AX_OPTIONAL)
#define CG_AX_SIGNED_IN (CG_AX_ADMIN | CG_AX_AUDITOR | CG_AX_DEPT | CG_AX_STAFF)
#define CG_AX_ANYONE (CG_AX_ANON | CG_AX_SIGNED_IN)
#define CG_AX_NOBODY 0u

enum { CG_AX_OWN, CG_AX_OTHER_DEPT, CG_AX_OTHER_GRID, CG_AX_SHARED, CG_AX_N_TARGETS };

/* Flags. */
#define CG_AX_FILTERED 0x1u /* a list cut to the caller: a 2xx on a forbidden
                             * target is fine when it shows none of it */

typedef struct cg_route_access {
    int method;          /* as in cg_route */
    const char *pattern; /* as in cg_route */
    unsigned allow[CG_AX_N_TARGETS]; /* who may, per target */
    unsigned flags;
} cg_route_access;

extern const cg_route_access cg_route_access_table[];
extern const size_t cg_route_access_n;

/* The row of (method, pattern), or NULL. */
const cg_route_access *cg_route_access_find(int method, const char *pattern);

#endif
