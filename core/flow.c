/*
 * flow.c — a case's way from report to department and back (see flow.h).
 *
 * Order matters for "nothing acknowledged is lost": the client's 201 and the
 * bus delivery both wait for the batch's COMMIT; the plugin's ACK waits for
 * the COMMIT of its result. A crash between any two steps leaves the outbox
 * row in place, and cg_flow_resume() delivers it again after a restart.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "catalog.h"
#include "log.h"
#include "timeutil.h"

/* ---------------------------------------------------------------- reports */

typedef struct pending_case {
    cg_app *app;
    cg_new_case nc;            /* strings below are owned copies */
    char *strings[6];
    cg_flow_case_done done;
    void *arg;
    char case_id[32];
    cg_dispatch dispatch;
    int dispatched;
} pending_case;

static const char *keep(pending_case *pc, int slot, const char *s)
{
    pc->strings[slot] = strdup(s ? s : "");
    return pc->strings[slot];
}

static int insert_case(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_case *pc = arg;
    return cg_cases_insert(st, &pc->nc, cg_now_ms(), pc->case_id, &pc->dispatch, &pc->dispatched,
                           err, errlen);
}

static void case_committed(void *arg, int status, const char *err)
{
    pending_case *pc = arg;
    if (status == 0 && pc->dispatched)
        cg_bus_enqueue(pc->app->bus, &pc->dispatch);
    if (status != 0)
        CG_ERROR("flow", "case not stored: %s", err ? err : "unknown error");
    pc->done(pc->arg, status, status == 0 ? pc->case_id : NULL, err);
    cg_dispatch_clear(&pc->dispatch);
    for (int i = 0; i < 6; i++)
        free(pc->strings[i]);
    json_decref(pc->nc.extra);
    free(pc);
}

void cg_flow_submit_case(cg_app *app, const cg_new_case *nc, cg_flow_case_done done, void *arg)
{
    pending_case *pc = calloc(1, sizeof *pc);
    pc->app = app;
    pc->done = done;
    pc->arg = arg;
    pc->nc = *nc;
    pc->nc.category = keep(pc, 0, nc->category);
    pc->nc.department = keep(pc, 1, nc->department);
    pc->nc.grid = keep(pc, 2, nc->grid);
    pc->nc.description = keep(pc, 3, nc->description);
    pc->nc.source = keep(pc, 4, nc->source);
    pc->nc.reporter = keep(pc, 5, nc->reporter);
    pc->nc.extra = nc->extra ? json_deep_copy(nc->extra) : NULL;
    cg_batch_submit(app->batch, insert_case, case_committed, pc);
}

/* ---------------------------------------------------------------- results */

typedef struct pending_result {
    cg_app *app;
    char plugin[64];
    char dispatch_id[64];
    json_t *actions;
    cg_dispatch next;
    int has_next;
    int outcome;
} pending_result;

static int department_exists(void *arg, const char *code)
{
    return cg_catalog_department(arg, code) != NULL;
}

static int apply_result(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_result *pr = arg;
    pr->outcome = cg_cases_apply_result(st, pr->dispatch_id, pr->plugin, pr->actions, cg_now_ms(),
                                        department_exists, pr->app->catalog, &pr->next,
                                        &pr->has_next, err, errlen);
    return pr->outcome == CG_APPLY_ERROR ? -1 : 0;
}

static void result_committed(void *arg, int status, const char *err)
{
    pending_result *pr = arg;
    if (status == 0) {
        cg_bus_complete(pr->app->bus, pr->dispatch_id);
        if (pr->has_next)
            cg_bus_enqueue(pr->app->bus, &pr->next);
        if (pr->outcome == CG_APPLY_DUPLICATE)
            CG_DEBUG("flow", "%s: result from %s was already applied", pr->dispatch_id, pr->plugin);
    } else {
        /* The plugin's answer could not be applied (invalid actions, or the
         * store failed): keep the dispatch and deliver it again later. */
        CG_ERROR("flow", "%s: result from plugin %s refused: %s", pr->dispatch_id, pr->plugin,
                 err ? err : "unknown error");
        cg_bus_retry(pr->app->bus, pr->dispatch_id, err ? err : "result refused");
    }
    cg_dispatch_clear(&pr->next);
    json_decref(pr->actions);
    free(pr);
}

static void on_result(void *arg, const char *plugin, const char *dispatch_id, const char *body)
{
    cg_app *app = arg;
    json_error_t jerr;
    json_t *doc = json_loads(body, 0, &jerr);
    json_t *actions = doc ? json_object_get(doc, "actions") : NULL;
    if (!json_is_array(actions)) {
        CG_ERROR("flow", "%s: result from plugin %s has no actions array", dispatch_id, plugin);
        json_decref(doc);
        cg_bus_retry(app->bus, dispatch_id, "result without an actions array");
        return;
    }
    pending_result *pr = calloc(1, sizeof *pr);
    pr->app = app;
    snprintf(pr->plugin, sizeof pr->plugin, "%s", plugin);
    snprintf(pr->dispatch_id, sizeof pr->dispatch_id, "%s", dispatch_id);
    pr->actions = json_incref(actions);
    json_decref(doc);
    cg_batch_submit(app->batch, apply_result, result_committed, pr);
}

static int on_ready(void *arg, const cg_bus_peer_info *peer, char *why, size_t whylen)
{
    cg_app *app = arg;
    if (!cg_catalog_department(app->catalog, peer->department)) {
        snprintf(why, whylen, "unknown department '%s'", peer->department);
        return -1;
    }
    CG_INFO("flow", "plugin %s %s ready for department %s (credit %u)", peer->name, peer->version,
            peer->department, peer->credit);
    return 0;
}

const cg_bus_handlers cg_flow_bus_handlers = {
    .on_ready = on_ready,
    .on_result = on_result,
};

/* ---------------------------------------------------------------- restart */

static void requeue(void *arg, cg_dispatch *d)
{
    cg_app *app = arg;
    cg_bus_enqueue(app->bus, d);
    cg_dispatch_clear(d);
}

int cg_flow_resume(cg_app *app)
{
    long long n = cg_outbox_count(app->store);
    if (n > 0)
        CG_NOTICE("flow", "%lld dispatch(es) in the outbox from before: delivering them again", n);
    return cg_outbox_load(app->store, requeue, app);
}
