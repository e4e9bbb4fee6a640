/*
 * route_access.c — the authorization matrix (see route_access.h and
 * docs/authz.md, which says the same in words). One row per row of
 * cg_api_routes (http.c), in the same order; the four masks are who may act
 * on a resource of their own grid and department, of another department in
 * their grid, of another grid, and of a member shared with another grid.
 */
#include "http/route_access.h"

#include <string.h>

#include <event2/http.h>

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define PATCH EVHTTP_REQ_PATCH
#define DELETE EVHTTP_REQ_DELETE

#define ANYONE CG_AX_ANYONE
#define SIGNED_IN CG_AX_SIGNED_IN
#define ADMIN CG_AX_ADMIN
#define AUDITOR CG_AX_AUDITOR
#define DEPT CG_AX_DEPT
#define STAFF CG_AX_STAFF
#define MANAGERS CG_AX_MANAGERS
#define LEADER CG_AX_LEADER
#define NOBODY CG_AX_NOBODY

/* The same for every target: the route takes no grid's resource. */
#define EVERY(m) {(m), (m), (m), (m)}
/* own grid and department, other department, other grid, shared member */
#define SCOPE(own, dept, grid, shared) {(own), (dept), (grid), (shared)}

/* A case: the grid's staff, the admin, and a department account for its
 * own department's cases city-wide. */
#define CASE_READ SCOPE(ADMIN | DEPT | STAFF, ADMIN | STAFF, ADMIN | DEPT, ADMIN)
/* A grid's routine records (check-ins, rota, patrols, meetings, tasks): the
 * grid's staff and the admin; not a department account. */
#define GRID_ONLY SCOPE(ADMIN | STAFF, ADMIN | STAFF, ADMIN, ADMIN)
/* Who holds which device: the staff of a grid the holder serves. */
#define HOLDER_READ SCOPE(ADMIN | STAFF, ADMIN | STAFF, ADMIN, ADMIN | STAFF)
/* Acting on a member: an admin, or a manager of every grid they serve. */
#define ON_MEMBER SCOPE(ADMIN | MANAGERS, ADMIN | MANAGERS, ADMIN, ADMIN)
/* The grid registry: its staff their grids, an admin or department account
 * every grid. */
#define REGISTRY SCOPE(ADMIN | DEPT | STAFF, ADMIN | DEPT | STAFF, ADMIN | DEPT, ADMIN | DEPT)

const cg_route_access cg_route_access_table[] = {
    {GET, "/v1/health", EVERY(ANYONE), 0},
    {GET, "/metrics", EVERY(ADMIN), 0},
    {POST, "/v1/sessions", EVERY(ANYONE), 0},
    {DELETE, "/v1/sessions", EVERY(SIGNED_IN), 0},
    {GET, "/v1/plugins", EVERY(SIGNED_IN), 0},
    {POST, "/v1/plugins/{name}/reload", EVERY(ADMIN), 0},
    {POST, "/v1/plugins/{name}/enable", EVERY(ADMIN), 0},
    {POST, "/v1/plugins/{name}/disable", EVERY(ADMIN), 0},
    {GET, "/v1/categories", EVERY(SIGNED_IN), 0},
    {GET, "/v1/departments", EVERY(SIGNED_IN), 0},
    /* A credential reaches no further than its issuer: a leader, for a
     * member all of whose grids they lead. */
    {POST, "/v1/members/{id}/tokens", SCOPE(ADMIN | LEADER, ADMIN | LEADER, ADMIN, ADMIN), 0},
    {DELETE, "/v1/members/{id}/tokens", EVERY(ADMIN), 0},
    /* A manager creates staff in the grids they manage. */
    {POST, "/v1/members", ON_MEMBER, 0},
    /* Anyone who shares a grid with them. */
    {GET, "/v1/members/{id}", SCOPE(ADMIN | STAFF, ADMIN | STAFF, ADMIN, ADMIN | STAFF), 0},
    /* The record of a member all of whose grids the manager manages. */
    {PATCH, "/v1/members/{id}", ON_MEMBER, 0},
    {GET, "/v1/grids/locate", EVERY(SIGNED_IN), 0},
    {GET, "/v1/grids", REGISTRY, CG_AX_FILTERED},
    {GET, "/v1/grids/{code}", REGISTRY, 0},
    {GET, "/v1/staffing/gaps", SCOPE(ADMIN | DEPT | MANAGERS, ADMIN | DEPT | MANAGERS, ADMIN | DEPT, ADMIN | DEPT),
     CG_AX_FILTERED},
    /* Anyone serving a grid reports any problem in it; a department
     * account anywhere. */
    {POST, "/v1/cases", REGISTRY, 0},
    {GET, "/v1/cases", CASE_READ, CG_AX_FILTERED},
    {GET, "/v1/cases/{id}", CASE_READ, 0},
    {POST, "/v1/cases/{id}/actions", SCOPE(ADMIN | DEPT | STAFF, ADMIN | STAFF, ADMIN | DEPT, ADMIN), 0},
    {POST, "/v1/cases/{id}/photos", CASE_READ, 0},
    {GET, "/v1/cases/{id}/photos", CASE_READ, 0},
    {GET, "/v1/photos/{sha256}", CASE_READ, 0},
    /* Check-ins at the office of a grid one serves. */
    {POST, "/v1/checkins", SCOPE(STAFF, STAFF, NOBODY, NOBODY), 0},
    {GET, "/v1/checkins", GRID_ONLY, CG_AX_FILTERED},
    {POST, "/v1/grids/{code}/rota", SCOPE(ADMIN | MANAGERS, ADMIN | MANAGERS, ADMIN, ADMIN), 0},
    {GET, "/v1/grids/{code}/rota", GRID_ONLY, 0},
    {PATCH, "/v1/grids/{code}/rota/{date}", SCOPE(ADMIN | MANAGERS, ADMIN | MANAGERS, ADMIN, ADMIN), 0},
    {GET, "/v1/patrols/compliance", GRID_ONLY, CG_AX_FILTERED},
    {POST, "/v1/patrols", SCOPE(STAFF, STAFF, NOBODY, NOBODY), 0},
    {GET, "/v1/patrols/{id}", GRID_ONLY, 0},
    /* Only the patroller adds to and ends their patrol. */
    {POST, "/v1/patrols/{id}/points", EVERY(NOBODY), 0},
    {POST, "/v1/patrols/{id}/end", EVERY(NOBODY), 0},
    {POST, "/v1/meetings", SCOPE(ADMIN | MANAGERS, ADMIN | MANAGERS, ADMIN, ADMIN), 0},
    {GET, "/v1/meetings", GRID_ONLY, CG_AX_FILTERED},
    {GET, "/v1/meetings/{id}", GRID_ONLY, 0},
    {GET, "/v1/tasks", GRID_ONLY, CG_AX_FILTERED},
    /* The member who claimed the task, the grid's leader, or the admin. */
    {POST, "/v1/tasks/{id}/done", SCOPE(ADMIN | LEADER, ADMIN | LEADER, ADMIN, ADMIN), 0},
    {POST, "/v1/devices", ON_MEMBER, 0},
    {GET, "/v1/devices", HOLDER_READ, CG_AX_FILTERED},
    {GET, "/v1/devices/{id}", HOLDER_READ, 0},
    {PATCH, "/v1/devices/{id}", ON_MEMBER, 0},
    /* Cut to the caller's rows (api_reports.c). */
    {GET, "/v1/reports/monthly", EVERY(ADMIN | DEPT | STAFF), CG_AX_FILTERED},
    {GET, "/v1/reports/annual", EVERY(ADMIN | DEPT | STAFF), CG_AX_FILTERED},
    /* The published honour roll: every signed-in caller sees all of it. */
    {GET, "/v1/reports/commendations", EVERY(SIGNED_IN), 0},
    /* The city's map: every grid and its counts, aggregates only, for
     * everyone signed in (docs/authz.md rule 9, case/grid_map.c). */
    {GET, "/v1/grids.geojson", EVERY(SIGNED_IN), 0},
    /* The console's files are public; what it shows comes from the API. */
    {GET, "/", EVERY(ANYONE), 0},
    {GET, "/console/settings.json", EVERY(ANYONE), 0},
    {GET, "/console/{file}", EVERY(ANYONE), 0},
    {GET, "/console/{dir}/{file}", EVERY(ANYONE), 0},
    {GET, "/javascript/{lib}/{file}", EVERY(ANYONE), 0},
    {GET, "/javascript/{lib}/{dir}/{file}", EVERY(ANYONE), 0},
    /* Open311: public reads; writes need a platform's api_key, which no
     * bearer token replaces (open311.c). */
    {GET, "/open311/v2/discovery.xml", EVERY(ANYONE), 0},
    {GET, "/open311/v2/services.xml", EVERY(ANYONE), 0},
    {GET, "/open311/v2/requests.xml", EVERY(ANYONE), 0},
    {POST, "/open311/v2/requests.xml", EVERY(NOBODY), 0},
    {GET, "/open311/v2/servicerequestupdates.xml", EVERY(ANYONE), 0},
    {POST, "/open311/v2/servicerequestupdates.xml", EVERY(NOBODY), 0},
    {GET, "/open311/v2/discovery.json", EVERY(ANYONE), 0},
    {GET, "/open311/v2/services.json", EVERY(ANYONE), 0},
    {GET, "/open311/v2/requests.json", EVERY(ANYONE), 0},
    {POST, "/open311/v2/requests.json", EVERY(NOBODY), 0},
    {GET, "/open311/v2/servicerequestupdates.json", EVERY(ANYONE), 0},
    {POST, "/open311/v2/servicerequestupdates.json", EVERY(NOBODY), 0},
    {GET, "/open311/v2/services/{code}", EVERY(ANYONE), 0},
    {GET, "/open311/v2/requests/{id}", EVERY(ANYONE), 0},
    {GET, "/open311/v2/tokens/{token}", EVERY(ANYONE), 0},
    /* Only a report signed with the source's key (host/inbound.h). */
    {POST, "/v1/inbound/{source}", EVERY(NOBODY), 0},
    {POST, "/v1/open311/keys", EVERY(ADMIN), 0},
    {GET, "/v1/open311/keys", EVERY(ADMIN), 0},
    {DELETE, "/v1/open311/keys/{name}", EVERY(ADMIN), 0},
    /* Data sources (core/sources/policy.h): the list for anyone signed in;
     * a query by the roles the policy names (persons: full-time members and
     * police professionals), rows cut to the caller's grids; the audit for
     * the admin and auditors. */
    {GET, "/v1/sources", EVERY(SIGNED_IN), 0},
    {POST, "/v1/sources/{name}/query", EVERY(CG_AX_FULLTIME | CG_AX_PRO), 0},
    {GET, "/v1/audit/queries", EVERY(ADMIN | AUDITOR), 0},
};
const size_t cg_route_access_n = sizeof cg_route_access_table / sizeof cg_route_access_table[0];

const cg_route_access *cg_route_access_find(int method, const char *pattern)
{
    for (size_t i = 0; i < cg_route_access_n; i++)
        if (cg_route_access_table[i].method == method &&
            !strcmp(cg_route_access_table[i].pattern, pattern))
            return &cg_route_access_table[i];
    return NULL;
}
