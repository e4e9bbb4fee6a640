/*
 * flow.c — a case's way from report to department and back (see flow.h).
 *
 * Order matters for "nothing acknowledged is lost": the client's 201 and the
 * bus delivery both wait for the batch's COMMIT; the plugin's ACK waits for
 * the COMMIT of its result. A crash between any two steps leaves the outbox
 * row in place, and cg_flow_resume() delivers it again after a restart.
 */
#include "host/flow.h"

#include <stdlib.h>
#include <string.h>

#include "store/batch.h"
#include "people/catalog.h"
#include "host/deadlines.h"
#include "host/peer_query.h"
#include "lib/log.h"
#include "case/subscribe.h"
#include "lib/timeutil.h"

/* ---------------------------------------------------------------- events */

json_t *cg_flow_event_json(const char *kind, const char *verb, const char *from, const char *to,
                           const char *actor, const char *level, const char *note,
                           int64_t now_ms)
{
#define OR_EMPTY(s) ((s) ? (s) : "")
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", OR_EMPTY(kind), "verb",
                     OR_EMPTY(verb), "from", OR_EMPTY(from), "to", OR_EMPTY(to), "actor",
                     OR_EMPTY(actor), "level", OR_EMPTY(level), "note", OR_EMPTY(note), "at",
                     (json_int_t)(now_ms / 1000));
#undef OR_EMPTY
}

/* ---------------------------------------------------------------- reports */

typedef struct pending_case {
    cg_app *app;
    cg_new_case nc;            /* strings below are owned copies */
    char *strings[7];
    cg_flow_case_stored stored;
    void *arg;
    char case_id[32];
    cg_dispatch dispatch;
    int dispatched;
    json_t *case_json;          /* for `stored`, built with the write */
    int64_t due_ms;             /* the deadline it was stored with (0: none) */
    /* The subscribers told of the report (nc.subscribers points here). */
    const char *subs[CG_SUBSCRIBERS_MAX];
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX];
} pending_case;

static const char *keep(pending_case *pc, int slot, const char *s)
{
    pc->strings[slot] = strdup(s ? s : "");
    return pc->strings[slot];
}

static int insert_case(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_case *pc = arg;
    int64_t now_ms = cg_now_ms();
    if (cg_cases_insert(st, &pc->nc, now_ms, pc->case_id, &pc->dispatch, &pc->dispatched, err,
                        errlen) < 0)
        return -1;
    /* Here rather than after the commit: the JSON is ready the moment the
     * reply can go. If the commit fails, case_committed drops it. */
    pc->case_json = cg_cases_new_json(&pc->nc, pc->case_id, now_ms);
    if (!pc->nc.handled_on_site)
        pc->due_ms = cg_cases_deadline_after(now_ms, pc->nc.sla_hours);
    return 0;
}

static void case_committed(void *arg, int status, const char *err)
{
    pending_case *pc = arg;
    if (status == 0 && pc->dispatched)
        cg_bus_enqueue(pc->app->bus, &pc->dispatch);
    for (size_t i = 0; i < pc->nc.n_subscribers; i++) {
        if (status == 0 && pc->sub_out[i].payload)
            cg_bus_enqueue(pc->app->bus, &pc->sub_out[i]);
        cg_dispatch_clear(&pc->sub_out[i]);
    }
    json_decref(pc->nc.sub_event);
    if (status == 0)
        cg_deadlines_note(pc->app->deadlines, pc->due_ms);
    if (status != 0)
        CG_ERROR("flow", "case not stored: %s", err ? err : "unknown error");
    json_t *c = status == 0 ? pc->case_json : NULL;
    if (status != 0)
        json_decref(pc->case_json);
    pc->stored(pc->arg, status, status == 0 ? pc->case_id : NULL, c, err);
    cg_dispatch_clear(&pc->dispatch);
    for (int i = 0; i < 7; i++)
        free(pc->strings[i]);
    json_decref(pc->nc.extra);
    json_decref(pc->nc.contact);
    free(pc);
}

void cg_flow_submit_case(cg_app *app, const cg_new_case *nc, cg_flow_case_stored stored,
                         void *arg)
{
    pending_case *pc = calloc(1, sizeof *pc);
    if (!pc) {
        CG_ERROR("flow", "case not stored: out of memory");
        stored(arg, -1, NULL, NULL, "out of memory");
        return;
    }
    pc->app = app;
    pc->stored = stored;
    pc->arg = arg;
    pc->nc = *nc;
    pc->nc.category = keep(pc, 0, nc->category);
    pc->nc.department = keep(pc, 1, nc->department);
    pc->nc.grid = keep(pc, 2, nc->grid);
    pc->nc.description = keep(pc, 3, nc->description);
    pc->nc.source = keep(pc, 4, nc->source);
    pc->nc.reporter = keep(pc, 5, nc->reporter);
    pc->nc.request_key = nc->request_key ? keep(pc, 6, nc->request_key) : NULL;
    pc->nc.extra = nc->extra ? json_deep_copy(nc->extra) : NULL;
    pc->nc.contact = nc->contact ? json_deep_copy(nc->contact) : NULL;
    pc->nc.sub_event = NULL;
    pc->nc.subscribers = pc->subs;
    pc->nc.n_subscribers = 0;
    pc->nc.subscriber_out = pc->sub_out;
    if (cg_subscribe_any(app->config)) {
        /* Looked up here: the batch's writer thread must not read the catalog. */
        size_t n = cg_subscribers(app->config, app->catalog, pc->nc.department, "transition",
                                  "grid", pc->subs, CG_SUBSCRIBERS_MAX);
        const char *actor = pc->nc.reporter && *pc->nc.reporter ? pc->nc.reporter
                                                                 : pc->nc.source;
        pc->nc.sub_event = n ? cg_flow_event_json("transition", "report", "",
                                                  pc->nc.handled_on_site ? "handled" : "dispatched",
                                                  actor, "grid", pc->nc.description, cg_now_ms())
                             : NULL;
        pc->nc.n_subscribers = pc->nc.sub_event ? n : 0;
    }
    cg_batch_submit(app->batch, insert_case, case_committed, pc);
}

/* ---------------------------------------------------------------- results */

/* What a result that escalates sets off (cg_result_escalation), looked up
 * on the main thread; allocated only for such results. */
typedef struct result_escalation {
    cg_result_escalation esc;
    cg_case_row row;
    const char *subs[3][CG_SUBSCRIBERS_MAX];
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX];
} result_escalation;

typedef struct pending_result {
    cg_app *app;
    char plugin[64];
    char dispatch_id[64];
    json_t *actions;
    cg_dispatch next;
    int has_next;
    int outcome;
    /* Transfer targets the catalog knows, looked up on the main thread: the
     * apply may run on the batch's writer thread, which must not read the
     * catalog. NULL-terminated, borrowed from actions. */
    const char **known_departments;
    /* The escalation timer after commit: the earliest deadline action
     * (ms, 0: none), or a full re-arm when the result escalates. */
    int64_t deadline_ms;
    int escalates;
    result_escalation *esc;    /* NULL unless the result escalates */
} pending_result;

static int department_known(void *arg, const char *code)
{
    pending_result *pr = arg;
    for (const char **d = pr->known_departments; d && *d; d++)
        if (!strcmp(*d, code))
            return 1;
    return 0;
}

/* Main thread: which transfer targets in actions exist (see known_departments). */
static const char **known_transfer_targets(const cg_catalog *cat, json_t *actions)
{
    size_t n = json_array_size(actions), k = 0;
    const char **known = calloc(n + 1, sizeof *known);
    if (!known)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(actions, i);
        const char *type = json_string_value(json_object_get(a, "type"));
        const char *dep = json_string_value(json_object_get(a, "department"));
        if (type && dep && !strcmp(type, "transfer") && cg_catalog_department(cat, dep))
            known[k++] = dep;
    }
    return known;
}

/* Main thread, for a result with an `escalate` action: the case (through
 * its outbox row), the subscribers of an escalation of it to each level and
 * its city body, as the workflow verbs and the timer have them (deadlines.h).
 * NULL when the outbox row is gone (a redelivered result: nothing to do). */
static result_escalation *escalation_context(cg_app *app, const char *dispatch_id)
{
    char case_id[32] = "";
    sqlite3_stmt *s = cg_store_read_stmt(app->store, "SELECT case_id FROM outbox WHERE id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, dispatch_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(case_id, sizeof case_id, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    result_escalation *re = case_id[0] ? calloc(1, sizeof *re) : NULL;
    if (!re || cg_cases_read_row(app->store, case_id, &re->row) != 1) {
        free(re);
        return NULL;
    }
    re->esc.department = re->row.department;
    re->esc.city_body = cg_deadlines_city_body(app, &re->row);
    re->esc.subscriber_out = re->sub_out;
    if (cg_subscribe_any(app->config)) {
        static const char *const levels[3] = {"community", "joint", "city"};
        for (int l = 0; l < 3; l++) {
            re->esc.n_subscribers[l] = cg_subscribers(app->config, app->catalog,
                                                      re->row.department, "escalation",
                                                      levels[l], re->subs[l], CG_SUBSCRIBERS_MAX);
            re->esc.subscribers[l] = re->subs[l];
        }
    }
    return re;
}

static int apply_result(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_result *pr = arg;
    pr->outcome = cg_cases_apply_result_esc(st, pr->dispatch_id, pr->plugin, pr->actions,
                                            cg_now_ms(), department_known, pr,
                                            pr->esc ? &pr->esc->esc : NULL, &pr->next,
                                            &pr->has_next, err, errlen);
    return pr->outcome == CG_APPLY_ERROR ? -1 : 0;
}

static void result_committed(void *arg, int status, const char *err)
{
    pending_result *pr = arg;
    if (status == 0) {
        if (pr->escalates)
            cg_deadlines_rearm(pr->app->deadlines);
        else
            cg_deadlines_note(pr->app->deadlines, pr->deadline_ms);
        cg_bus_complete(pr->app->bus, pr->dispatch_id);
        if (pr->has_next)
            cg_bus_enqueue(pr->app->bus, &pr->next);
        for (size_t i = 0; pr->esc && i < CG_SUBSCRIBERS_MAX; i++)
            if (pr->esc->sub_out[i].payload)
                cg_bus_enqueue(pr->app->bus, &pr->esc->sub_out[i]);
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
    for (size_t i = 0; pr->esc && i < CG_SUBSCRIBERS_MAX; i++)
        cg_dispatch_clear(&pr->esc->sub_out[i]);
    free(pr->esc);
    free(pr->known_departments);
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
    const char **known = pr ? known_transfer_targets(app->catalog, actions) : NULL;
    if (!pr || !known) {
        CG_ERROR("flow", "%s: result from plugin %s: out of memory", dispatch_id, plugin);
        free(pr);
        json_decref(doc);
        cg_bus_retry(app->bus, dispatch_id, "out of memory");
        return;
    }
    pr->app = app;
    pr->known_departments = known;
    snprintf(pr->plugin, sizeof pr->plugin, "%s", plugin);
    snprintf(pr->dispatch_id, sizeof pr->dispatch_id, "%s", dispatch_id);
    pr->actions = json_incref(actions);
    json_decref(doc);
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a) {
        const char *type = json_string_value(json_object_get(a, "type"));
        if (type && !strcmp(type, "escalate"))
            pr->escalates = 1;
        if (type && !strcmp(type, "deadline")) {
            int64_t ms = (int64_t)(json_number_value(json_object_get(a, "at")) * 1000.0);
            if (ms > 0 && (!pr->deadline_ms || ms < pr->deadline_ms))
                pr->deadline_ms = ms;
        }
    }
    if (pr->escalates)
        pr->esc = escalation_context(app, dispatch_id);
    cg_batch_submit(app->batch, apply_result, result_committed, pr);
}

static int on_ready(void *arg, const cg_bus_peer_info *peer, char *why, size_t whylen)
{
    cg_app *app = arg;
    /* A data-source plugin (ABI 1.4) may name a bureau the catalog does not
     * know: no category routes to it, so it only ever gets queries. */
    if (!cg_catalog_department(app->catalog, peer->department) && peer->n_sources == 0) {
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
    .on_peer_query = cg_peer_query,
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
