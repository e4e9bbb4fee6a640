/*
 * access.h — what one caller may do with one data source: which rule of the
 * policy (policy.h) lets them, under which of their roles, and in which
 * grids (a spatial source answers only rows inside those grids).
 *
 * A member's roles are their assignments (a role in a grid, with a
 * department for professional and optional members; leaders, instructors
 * and full-time members take their member record's department). The
 * policy's rules are tried in order; the first rule that one of the
 * caller's assignments matches decides, and the grids are every grid where
 * the caller holds an assignment matching that rule. An admin or a
 * department account without assignments has no role in any grid: refused.
 *
 * Main thread (the read connection). A cg_source_access owns its grids.
 */
#ifndef CG_SOURCE_ACCESS_H
#define CG_SOURCE_ACCESS_H

#include <stddef.h>

#include "lib/result.h"
#include "people/auth.h"
#include "people/grids.h"
#include "sources/policy.h"
#include "store/store.h"

typedef struct cg_source_access {
    const cg_source_rule *rule;        /* the rule that allows it */
    char role[16];                     /* the caller's role it matched */
    char department[32];               /* that assignment's department ("" if none) */
    char (*grids)[CG_GRID_CODE_SIZE];  /* where the caller holds that role */
    size_t n_grids;
} cg_source_access;

/* CG_OK and *out; CG_E_FORBIDDEN "source_forbidden" with a message naming
 * the source, the roles and departments that may query it and the caller's
 * own; CG_E_INTERNAL. */
cg_status cg_source_access_for(cg_store *st, const cg_source_policy *p, const cg_principal *who,
                               const char *source, cg_source_access *out, cg_result *r);
void cg_source_access_free(cg_source_access *a);

/* Is (lat, lon) in one of the access's grids? 1 yes, 0 no (also outside
 * every grid), -1 error. */
int cg_source_access_covers(cg_store *st, const cg_source_access *a, double lat, double lon);

#endif
