/*
 * intake.c — see intake.h.
 */
#include "host/intake.h"

#include <stdlib.h>

#include "case/duplicates.h"
#include "case/report.h"
#include "case/scope.h"
#include "host/flow.h"
#include "lib/timeutil.h"

typedef struct pending_intake {
    cg_app *app;
    cg_intake_done done;
    void *arg;
} pending_intake;

static void case_stored(void *arg, int status, const char *case_id, json_t *c, const char *why)
{
    pending_intake *pi = arg;
    cg_app *app = pi->app;
    cg_intake_done done = pi->done;
    void *done_arg = pi->arg;
    free(pi);
    cg_result r;
    cg_result_clear(&r);
    if (status != 0 || !case_id) {
        json_decref(c);
        cg_fail(&r, CG_E_INTERNAL, "internal_error", "the case was not stored: %.160s",
                why ? why : "unknown error");
        done(done_arg, &r, NULL, NULL);
        return;
    }
    /* The case is committed: c was built from the report as it was stored
     * (no read back). Without it, the client must still learn its id. */
    if (!c)
        c = json_pack("{s:s}", "id", case_id);
    else if (app->config) /* after COMMIT, on the read connection: see duplicates.h */
        cg_duplicates_annotate(app->store, c, app->config->duplicates.radius_m,
                               app->config->duplicates.window_hours, cg_now_ms());
    done(done_arg, &r, case_id, c);
}

cg_status cg_intake_report(cg_app *app, const cg_principal *who, json_t *body,
                           cg_intake_done done, void *arg, cg_result *r)
{
    cg_new_case nc;
    cg_status st = cg_case_report_parse(body, app->catalog, &nc, r);
    if (st != CG_OK)
        return st;
    nc.reporter = who->member_id;
    char grid[CG_GRID_CODE_SIZE]; /* nc.grid points here: located, checked, in scope */
    st = cg_scope_report_grid(app->store, who, &nc, grid, r);
    pending_intake *pi = st == CG_OK ? malloc(sizeof *pi) : NULL;
    if (st == CG_OK && !pi)
        st = cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    if (st != CG_OK) {
        json_decref(nc.extra);
        return st;
    }
    *pi = (pending_intake){app, done, arg};
    /* Copies nc; may call back before returning: pi belongs to it from here. */
    cg_flow_submit_case(app, &nc, case_stored, pi);
    json_decref(nc.extra);
    return CG_OK;
}
