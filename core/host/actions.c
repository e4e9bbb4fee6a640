/*
 * actions.c — see actions.h.
 */
#include "host/actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case/verbs.h"
#include "host/deadlines.h"
#include "host/flow.h"
#include "lib/timeutil.h"
#include "store/batch.h"
#include "wire/bus.h"

typedef struct pending_action {
    cg_app *app;
    cg_verb_action *a;
    cg_action_done done;
    void *arg;
} pending_action;

static int apply_action(cg_store *st, void *arg, char *err, size_t errlen)
{
    cg_verb_action *a = ((pending_action *)arg)->a;
    a->outcome = cg_cases_apply_change(st, &a->ch, cg_now_ms(), &a->out, &a->has_out, err, errlen);
    return a->outcome == CG_OK ? 0 : -1;
}

static void action_committed(void *arg, int status, const char *err)
{
    pending_action *p = arg;
    cg_verb_action *a = p->a;
    cg_result r;
    char current[16] = "";
    cg_result_clear(&r);
    if (status == 0) {
        if (a->has_out)
            cg_bus_enqueue(p->app->bus, &a->out);
        for (size_t i = 0; i < a->ch.n_subscribers; i++)
            if (a->sub_out[i].payload)
                cg_bus_enqueue(p->app->bus, &a->sub_out[i]);
        cg_deadlines_rearm(p->app->deadlines);
    } else if (a->outcome == CG_E_CONFLICT) {
        cg_case_row row;
        int found = cg_cases_read_row(p->app->store, a->case_id, &row);
        snprintf(current, sizeof current, "%s", found == 1 ? row.status : "unknown");
        cg_fail(&r, CG_E_CONFLICT, "invalid_transition", "'%s' is not allowed on a case that is %s",
                a->action, current);
    } else {
        cg_fail(&r, CG_E_INTERNAL, "internal_error", "not stored: %.160s",
                err ? err : "unknown error");
    }
    p->done(p->arg, &r, a->case_id, current);
    cg_verb_action_free(a);
    free(p);
}

void cg_actions_add_events(cg_app *app, cg_case_change *ch, const cg_case_row *row,
                           const char *kind, const char *verb, const char *to_status,
                           const char **subs, cg_dispatch *sub_out)
{
    const char *dep_after = ch->department ? ch->department : row->department;
    const char *level_after = ch->level ? ch->level : row->level;
    const cg_department *d = cg_catalog_department(app->catalog, dep_after);
    int owner_event = !ch->new_dispatch && d && d->plugin;
    size_t n_subs = cg_deadlines_subscribers(app, ch, dep_after, kind, level_after, subs, sub_out);
    if (owner_event || n_subs) {
        json_t *ev = cg_flow_event_json(kind, verb, row->status, to_status, ch->actor, level_after,
                                        ch->note, cg_now_ms());
        ch->event = owner_event ? ev : NULL;
        ch->sub_event = !n_subs ? NULL : owner_event ? json_incref(ev) : ev;
    }
}

/* Who hears of this step: the owner's event and the subscribers' copies. */
static void add_events(cg_app *app, cg_verb_action *a)
{
    cg_actions_add_events(app, &a->ch, &a->row,
                          a->verb == CG_WF_ESCALATE ? "escalation" : "transition", a->action,
                          a->to_status, a->subs, a->sub_out);
}

cg_status cg_actions_take(cg_app *app, const cg_principal *who, const char *case_id, json_t *body,
                          cg_action_done done, void *arg, char current_status[16], cg_result *r)
{
    cg_verb_action *a = NULL;
    if (cg_verb_prepare(app->store, app->catalog, app->config, who, case_id, body, &a,
                        current_status, r) != CG_OK)
        return r->status;
    pending_action *p = malloc(sizeof *p);
    if (!p) {
        cg_verb_action_free(a);
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    }
    *p = (pending_action){app, a, done, arg};
    add_events(app, a);
    cg_batch_submit(app->batch, apply_action, action_committed, p);
    return CG_OK;
}
