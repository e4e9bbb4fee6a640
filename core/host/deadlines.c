/*
 * deadlines.c — the escalation timer (see deadlines.h).
 */
#include "host/deadlines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "store/batch.h"
#include "wire/bus.h"
#include "case/cases.h"
#include "people/catalog.h"
#include "case/citybody.h"
#include "lib/log.h"
#include "case/subscribe.h"
#include "case/verbs.h"
#include "lib/timeutil.h"
#include "case/workflow.h"

#define ROUND_MAX 64 /* cases escalated per firing; the rest fire at once after */

struct cg_deadlines {
    cg_app *app;
    struct event *timer;
    int64_t armed_for;        /* 0: not armed */
    unsigned in_flight;       /* escalations submitted, not yet committed */
    unsigned long long escalated;
};

typedef struct escalation {
    cg_deadlines *dl;
    cg_case_change ch;
    cg_case_row row;
    char level[16], note[320];
    char *joint;              /* joint_departments, malloc'd */
    int outcome;
    cg_dispatch out;
    int has_out;
    const char *subs[CG_SUBSCRIBERS_MAX];
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX];
} escalation;

static void arm(cg_deadlines *dl, int64_t due_ms)
{
    int64_t now = cg_now_ms();
    int64_t wait = due_ms > now ? due_ms - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000)};
    evtimer_add(dl->timer, &tv);
    dl->armed_for = due_ms;
}

void cg_deadlines_note(cg_deadlines *dl, int64_t due_ms)
{
    if (!dl || due_ms <= 0 || dl->in_flight)
        return; /* a round in progress re-arms from the index when done */
    if (!dl->armed_for || due_ms < dl->armed_for)
        arm(dl, due_ms);
}

void cg_deadlines_rearm(cg_deadlines *dl)
{
    if (!dl || dl->in_flight)
        return;
    int64_t next = cg_cases_next_escalation(dl->app->store);
    if (next > 0) {
        arm(dl, next);
    } else {
        evtimer_del(dl->timer);
        dl->armed_for = 0;
    }
}

static int apply_escalation(cg_store *st, void *arg, char *err, size_t errlen)
{
    escalation *e = arg;
    e->outcome = cg_cases_apply_change(st, &e->ch, cg_now_ms(), &e->out, &e->has_out, err, errlen);
    /* A case that moved meanwhile is simply not escalated: not an error. */
    return e->outcome == CG_E_INTERNAL ? -1 : 0;
}

static void escalation_done(void *arg, int status, const char *err)
{
    escalation *e = arg;
    cg_deadlines *dl = e->dl;
    if (status == 0 && e->outcome == CG_OK) {
        dl->escalated++;
        if (e->has_out)
            cg_bus_enqueue(dl->app->bus, &e->out);
        for (size_t i = 0; i < e->ch.n_subscribers; i++)
            if (e->sub_out[i].payload)
                cg_bus_enqueue(dl->app->bus, &e->sub_out[i]);
        CG_NOTICE("deadlines", "%s overdue: %s", e->row.id, e->note);
    } else if (status != 0) {
        CG_ERROR("deadlines", "%s: escalation not stored: %s", e->row.id, err ? err : "?");
    }
    cg_dispatch_clear(&e->out);
    for (size_t i = 0; i < CG_SUBSCRIBERS_MAX; i++)
        cg_dispatch_clear(&e->sub_out[i]);
    json_decref(e->ch.event);
    json_decref(e->ch.sub_event);
    free(e->joint);
    free(e);
    if (--dl->in_flight == 0)
        cg_deadlines_rearm(dl);
}

static void escalate_one(cg_deadlines *dl, const cg_case_row *row, int64_t now)
{
    escalation *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->dl = dl;
    e->row = *row;
    cg_case_change *ch = &e->ch;
    ch->case_id = e->row.id;
    ch->actor = "system";
    ch->expect_status = e->row.status;
    ch->expect_department = e->row.department;
    ch->expect_level = e->row.level;
    char due[40];
    cg_time_iso(row->expected_at, due, sizeof due);
    const char *next = cg_wf_next_level(row->level);
    if (next) {
        snprintf(e->level, sizeof e->level, "%s", next);
        snprintf(e->note, sizeof e->note, "overdue since %s: %s -> %s", due, row->level, next);
        ch->action = "escalate";
        ch->level = e->level;
        ch->expected_at = cg_cases_deadline_after(now, row->sla_hours);
        ch->timer = ch->expected_at ? CG_TIMER_SET : CG_TIMER_CLEAR;
        /* What the new level records. */
        size_t len = strlen(e->note);
        if (!strcmp(next, "joint") && (e->joint = cg_case_default_joint(row->department))) {
            ch->joint_departments = e->joint;
            snprintf(e->note + len, sizeof e->note - len, "; convened: %s", e->joint);
        } else if (!strcmp(next, "city")) {
            ch->city_body = cg_deadlines_city_body(dl->app, row);
            snprintf(e->note + len, sizeof e->note - len, "; city body: %s (%s)", ch->city_body,
                     cg_city_body_zh(ch->city_body));
        }
    } else {
        snprintf(e->note, sizeof e->note, "overdue since %s at level %s: no higher level", due,
                 row->level);
        ch->action = "overdue";
        ch->timer = CG_TIMER_CLEAR;
    }
    ch->note = e->note;
    const cg_department *d = cg_catalog_department(dl->app->catalog, row->department);
    const char *level = next ? next : row->level;
    size_t n_subs = cg_deadlines_subscribers(dl->app, ch, row->department, "escalation", level,
                                             e->subs, e->sub_out);
    if ((d && d->plugin) || n_subs)
        ch->event = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", "escalation",
                              "verb", ch->action, "from", row->status, "to", row->status,
                              "actor", "system", "level", next ? next : row->level, "note",
                              e->note, "at", (json_int_t)(now / 1000));
    if (n_subs && ch->event)
        ch->sub_event = json_incref(ch->event);
    if (!(d && d->plugin) && ch->event) {
        json_decref(ch->event); /* only the subscribers' copy: the owner has no plugin */
        ch->event = NULL;
    }
    dl->in_flight++;
    cg_batch_submit(dl->app->batch, apply_escalation, escalation_done, e);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cg_deadlines *dl = arg;
    dl->armed_for = 0;
    if (dl->in_flight)
        return; /* the round in progress re-arms */
    int64_t now = cg_now_ms();
    cg_case_row rows[ROUND_MAX];
    size_t n = cg_cases_due_escalations(dl->app->store, now, rows, ROUND_MAX);
    for (size_t i = 0; i < n; i++)
        escalate_one(dl, &rows[i], now);
    if (dl->in_flight == 0)
        cg_deadlines_rearm(dl);
}

cg_deadlines *cg_deadlines_new(cg_app *app)
{
    cg_deadlines *dl = calloc(1, sizeof *dl);
    if (!dl)
        return NULL;
    dl->app = app;
    dl->timer = evtimer_new(app->base, on_timer, dl);
    if (!dl->timer) {
        free(dl);
        return NULL;
    }
    cg_deadlines_rearm(dl);
    if (dl->armed_for)
        CG_INFO("deadlines", "next escalation check armed from the table");
    return dl;
}

void cg_deadlines_free(cg_deadlines *dl)
{
    if (!dl)
        return;
    event_free(dl->timer);
    free(dl);
}

unsigned long long cg_deadlines_escalated(const cg_deadlines *dl)
{
    return dl ? dl->escalated : 0;
}

/* ---------------------------------------------------------------- details */

const char *cg_deadlines_city_body(cg_app *app, const cg_case_row *row)
{
    return cg_case_city_body(app->store, app->config, row);
}

size_t cg_deadlines_subscribers(cg_app *app, cg_case_change *ch, const char *department,
                                const char *kind, const char *level, const char **subs,
                                cg_dispatch *outs)
{
    if (!cg_subscribe_any(app->config))
        return 0;
    size_t n = cg_subscribers(app->config, app->catalog, department, kind, level, subs,
                              CG_SUBSCRIBERS_MAX);
    if (n) {
        memset(outs, 0, CG_SUBSCRIBERS_MAX * sizeof *outs);
        ch->subscribers = subs;
        ch->n_subscribers = n;
        ch->subscriber_out = outs;
    }
    return n;
}
