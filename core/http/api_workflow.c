/*
 * api_workflow.c — POST /v1/cases/{id}/actions: the workflow's verbs
 * (API.md, workflow.h). Main thread only.
 *
 * Order of checks (each refusal changes nothing): the body's shape (400),
 * the case (404), may the caller see it (403), is the verb allowed in the
 * case's status (409 invalid_transition with "status"), may the caller use
 * it (403), its arguments' meaning (422). Then ONE batch item writes the
 * case, its history row(s) and at most one outbox row (a new dispatch, or an
 * event for the owning plugin); the reply (200, the case) waits for COMMIT.
 * The item re-checks the status, department and level it was decided on:
 * a verb that lost a race answers 409 too.
 *
 * Rules that are policy, documented here:
 *  - A transfer by a person (the department returning the case, or the
 *    leader re-routing it) counts a misroute; it keeps the case id, history
 *    and deadline (expected_at is NOT restarted; the escalation timer runs
 *    on). Without a "department" it goes back to `reported` for the grid's
 *    leader to `dispatch`.
 *  - Each escalation level (by hand or by the timer, deadlines.c) gets the
 *    category's SLA again: expected_at = now + sla_hours.
 *  - An escalation to `joint` records the departments convened (the case's
 *    "joint_departments"): "departments": [codes] of the request (checked
 *    against the catalog; 400 when not an array, 422 for an unknown code),
 *    else the case's department and enforcement. One to `city` records the
 *    city body (the case's "city_body", citybody.h) by escalation.city in
 *    the config. Both also go into the history note.
 *  - Subscribers (subscribe.h) get a copy of every step's event, dispatches
 *    included; the owner only of steps that do not dispatch anew.
 *  - A postponement is the leader's approval: "until" (ISO time, in the
 *    future) becomes expected_at, the case is marked postponed.
 *  - `rate`: the reporter, or a citizen-channel account (a member whose
 *    department is "citizen", e.g. the 12345 hotline relaying a caller's
 *    rating; it may rate any closed case). satisfaction <= 2 with
 *    "fixed": false reopens the case to its department.
 *  - `reopen` and a reopening rating dispatch the case to its department
 *    again, with a fresh deadline.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "store/batch.h"
#include "wire/bus.h"
#include "case/citybody.h"
#include "host/deadlines.h"
#include "case/evidence.h"
#include "lib/log.h"
#include "case/scope.h"
#include "case/subscribe.h"
#include "lib/timeutil.h"
#include "case/workflow.h"

#define NOTE_MAX 2000

typedef struct pending_action {
    cg_http_deferred deferred;
    cg_app *app;
    cg_case_change ch;
    char case_id[32], actor[64], action[16], action2[16];
    char expect_status[16], expect_department[32], expect_level[16];
    char to_status[16], to_status2[16], department[32], assignee[64], level[16];
    char link_case[32];
    char *note, *note2, *link_note;
    char *joint;                /* joint_departments (JSON text) */
    json_t *body;               /* keeps strings the change borrows */
    int outcome;
    cg_dispatch out;
    int has_out;
    const char *subs[CG_SUBSCRIBERS_MAX];    /* subscribers' departments */
    cg_dispatch sub_out[CG_SUBSCRIBERS_MAX]; /* their event rows, to enqueue */
} pending_action;

static void pending_free(pending_action *p)
{
    free(p->note);
    free(p->note2);
    free(p->link_note);
    free(p->joint);
    for (size_t i = 0; i < CG_SUBSCRIBERS_MAX; i++)
        cg_dispatch_clear(&p->sub_out[i]);
    json_decref(p->ch.sub_event);
    json_decref(p->ch.fulfil);
    json_decref(p->ch.event);
    json_decref(p->body);
    cg_dispatch_clear(&p->out);
    free(p);
}

static int apply_action(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_action *p = arg;
    p->outcome = cg_cases_apply_change(st, &p->ch, cg_now_ms(), &p->out, &p->has_out, err,
                                       errlen);
    return p->outcome == CG_CHANGE_DONE ? 0 : -1;
}

static void reply_invalid_transition(struct evhttp_request *req, const char *verb,
                                     const char *status)
{
    char msg[160];
    snprintf(msg, sizeof msg, "'%s' is not allowed on a case that is %s", verb, status);
    json_t *e = cg_http_error_json("invalid_transition", msg);
    json_object_set_new(json_object_get(e, "error"), "status", json_string(status));
    cg_http_reply_json(req, 409, e);
}

static void action_committed(void *arg, int status, const char *err)
{
    pending_action *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    if (status == 0 && p->has_out)
        cg_bus_enqueue(p->app->bus, &p->out);
    for (size_t i = 0; status == 0 && i < p->ch.n_subscribers; i++)
        if (p->sub_out[i].payload)
            cg_bus_enqueue(p->app->bus, &p->sub_out[i]);
    if (status == 0)
        cg_deadlines_rearm(p->app->deadlines);
    if (req) {
        if (status == 0) {
            json_t *c = cg_cases_get(p->app->store, p->case_id);
            cg_http_reply_json(req, 200, c ? c : json_pack("{s:s}", "id", p->case_id));
        } else if (p->outcome == CG_CHANGE_CONFLICT) {
            cg_case_row row;
            int found = cg_cases_read_row(p->app->store, p->case_id, &row);
            reply_invalid_transition(req, p->action, found == 1 ? row.status : "unknown");
        } else {
            cg_http_reply_error(req, 500, "internal_error", "not stored: %.160s",
                                err ? err : "unknown error");
        }
    }
    pending_free(p);
}

/* ---------------------------------------------------------------- facts */

/* A professional or optional member of `department` in `grid`? */
static int member_of_department_in(cg_store *st, const char *member, const char *grid,
                                   const char *department)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT 1 FROM assignments WHERE member_id = ?1 AND grid = ?2 AND department = ?3"
        " AND (role = 'professional' OR role = 'optional')");
    if (!s)
        return 0;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, department, -1, SQLITE_STATIC);
    int yes = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return yes;
}

static void actor_facts(cg_store *st, const cg_scope *sc, const cg_principal *who,
                        const cg_case_row *row, cg_wf_actor *a)
{
    memset(a, 0, sizeof *a);
    a->admin = who->is_admin;
    a->manages_grid = row->grid[0] && cg_scope_manages(sc, row->grid);
    a->of_department = (sc->department_account && !strcmp(sc->department, row->department)) ||
                       (row->grid[0] && member_of_department_in(st, who->member_id, row->grid,
                                                                row->department));
    a->is_assignee = row->assignee[0] && !strcmp(row->assignee, who->member_id);
    a->is_reporter = row->reporter[0] && !strcmp(row->reporter, who->member_id);
    a->is_handler = row->handled_by[0] && !strcmp(row->handled_by, who->member_id);
    a->is_citizen = !strcmp(who->department, "citizen");
}

/* ---------------------------------------------------------------- body */

static const char *body_string(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int has_plugin(const cg_catalog *cat, const char *department)
{
    const cg_department *d = cg_catalog_department(cat, department);
    return d && d->plugin;
}

/* {"kind","verb","from","to","actor","level","note","at"}: what the plugin's
 * on_event() sees (core/wire/PROTOCOL.md). */
static json_t *event_json(const char *kind, const char *verb, const char *from, const char *to,
                          const char *actor, const char *level, const char *note, int64_t now_ms)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "kind", kind, "verb", verb,
                     "from", from, "to", to, "actor", actor, "level", level, "note",
                     note ? note : "", "at", (json_int_t)(now_ms / 1000));
}

/* Fill the verb's change in p. 0 ok, else the cg_status with err. */
static int build_change(cg_api_ctx *ctx, pending_action *p, cg_wf_verb verb, json_t *body,
                        const cg_case_row *row, cg_result *err)
{
    cg_case_change *ch = &p->ch;
    const cg_catalog *cat = ctx->app->catalog;
    int64_t now = cg_now_ms();
    const char *note = body_string(body, "note");
    char text[NOTE_MAX + 512];
    text[0] = 0;
    switch (verb) {
    case CG_WF_DISPATCH: {
        const char *dep = body_string(body, "department");
        if (dep && !cg_catalog_department(cat, dep)) {
            cg_fail(err, CG_E_UNPROCESSABLE, "unknown_department", "no department '%.32s'", dep);
            return err->status;
        }
        snprintf(p->department, sizeof p->department, "%s", dep ? dep : row->department);
        ch->department = p->department;
        ch->set_assignee = 1;
        ch->new_dispatch = 1;
        ch->timer = CG_TIMER_SET;
        if (!row->expected_at)
            ch->expected_at = cg_cases_deadline_after(now, row->sla_hours);
        snprintf(text, sizeof text, "%s%s%s", p->department, note ? ": " : "", note ? note : "");
        break;
    }
    case CG_WF_ACCEPT: {
        const char *who = body_string(body, "assignee");
        if (!who && !ctx->who->is_admin && !row->assignee[0])
            who = ctx->who->member_id;
        if (who) {
            snprintf(p->assignee, sizeof p->assignee, "%s", who);
            ch->set_assignee = 1;
            ch->assignee = p->assignee;
        }
        break;
    }
    case CG_WF_HANDLE: {
        /* What the department's plugin said handling must record
         * (case_require), e.g. enforcement's penalty_decision. */
        const char *list = row->requires;
        json_t *fulfil = NULL;
        while (*list) {
            const char *comma = strchr(list, ',');
            size_t n = comma ? (size_t)(comma - list) : strlen(list);
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(n < 63 ? n : 63), list);
            json_t *v = json_object_get(body, key);
            if (!v || json_is_null(v)) {
                json_decref(fulfil);
                cg_fail(err, CG_E_UNPROCESSABLE, "missing_requirement",
                                  "this case must be handled with '%s' (asked by the %s plugin)",
                                  key, row->department);
                return err->status;
            }
            if (!fulfil)
                fulfil = json_object();
            json_object_set(fulfil, key, v);
            list = comma ? comma + 1 : list + n;
        }
        ch->fulfil = fulfil;
        ch->set_handled_by = 1;
        ch->timer = CG_TIMER_CLEAR;
        break;
    }
    case CG_WF_REVIEW: {
        const char *result = body_string(body, "result");
        int pass = result && !strcmp(result, "pass");
        if (pass) {
            const cg_category *c = cg_catalog_category(cat, row->category);
            if (c && c->requires_after_photo &&
                cg_evidence_has_after_photo(ctx->app->store, row->id) != 1) {
                cg_fail(err, CG_E_UNPROCESSABLE, "after_photo_required",
                                  "a %s case passes review only with an \"after\" photo",
                                  row->category);
                return err->status;
            }
            ch->timer = CG_TIMER_CLEAR;
            snprintf(text, sizeof text, "pass%s%s", note ? ": " : "", note ? note : "");
        } else {
            ch->rework_inc = 1;
            ch->timer = CG_TIMER_SET; /* back to work: the deadline counts again */
            snprintf(text, sizeof text, "reject (rework)%s%s", note ? ": " : "", note ? note : "");
        }
        break;
    }
    case CG_WF_TRANSFER: {
        const char *dep = body_string(body, "department");
        const char *reason = body_string(body, "reason") ? body_string(body, "reason") : note;
        if (!reason || !*reason) {
            cg_fail(err, CG_E_UNPROCESSABLE, "missing_field", "a transfer needs a 'reason'");
            return err->status;
        }
        if (dep && !cg_catalog_department(cat, dep)) {
            cg_fail(err, CG_E_UNPROCESSABLE, "unknown_department", "no department '%.32s'", dep);
            return err->status;
        }
        if (dep && !strcmp(dep, row->department)) {
            cg_fail(err, CG_E_UNPROCESSABLE, "same_department", "the case is already with %s", dep);
            return err->status;
        }
        if (dep) {
            snprintf(p->department, sizeof p->department, "%s", dep);
            ch->department = p->department;
            ch->new_dispatch = 1;
        }
        ch->set_assignee = 1;
        ch->misroute_inc = 1;
        snprintf(text, sizeof text, "%s -> %s: %.*s (misroute)", row->department,
                 dep ? dep : "grid leader", NOTE_MAX, reason);
        break;
    }
    case CG_WF_ESCALATE: {
        const char *next = cg_wf_next_level(row->level);
        const char *reason = body_string(body, "reason") ? body_string(body, "reason") : note;
        if (!next) {
            cg_fail(err, CG_E_CONFLICT, "top_level", "the case is already at level %s", row->level);
            return err->status;
        }
        if (!reason || !*reason) {
            cg_fail(err, CG_E_UNPROCESSABLE, "missing_field", "an escalation needs a 'reason'");
            return err->status;
        }
        /* A joint task records which departments are convened: those the
         * leader names, else the case's department and enforcement. */
        char convened[256] = "";
        json_t *deps = json_object_get(body, "departments");
        if (deps && !json_is_array(deps)) {
            cg_fail(err, CG_E_INVALID, "invalid_field",
                              "'departments' must be an array of department codes");
            return err->status;
        }
        json_t *named = json_array();
        size_t i;
        json_t *d;
        json_array_foreach(deps, i, d) {
            if (!json_is_string(d) || !cg_catalog_department(cat, json_string_value(d))) {
                json_decref(named);
                cg_fail(err, CG_E_UNPROCESSABLE, "unknown_department",
                                  "'departments' must list department codes");
                return err->status;
            }
            int twice = 0;
            for (size_t k = 0; k < json_array_size(named); k++)
                twice |= json_equal(json_array_get(named, k), d);
            if (twice)
                continue;
            json_array_append(named, d);
            size_t len = strlen(convened);
            snprintf(convened + len, sizeof convened - len, "%s%s", len ? "," : "",
                     json_string_value(d));
        }
        if (!strcmp(next, "joint"))
            p->joint = json_array_size(named) ? json_dumps(named, JSON_COMPACT)
                                              : cg_deadlines_default_joint(row->department);
        json_decref(named);
        if (!strcmp(next, "joint") && !convened[0] && p->joint)
            snprintf(convened, sizeof convened, "%s", p->joint);
        ch->joint_departments = p->joint;
        if (!strcmp(next, "city"))
            ch->city_body = cg_deadlines_city_body(ctx->app, row);
        snprintf(p->level, sizeof p->level, "%s", next);
        ch->level = p->level;
        ch->expect_level = p->expect_level;
        ch->expected_at = cg_cases_deadline_after(now, row->sla_hours);
        ch->timer = ch->expected_at ? CG_TIMER_SET : CG_TIMER_KEEP;
        snprintf(text, sizeof text, "%s -> %s: %.*s%s%s", row->level, next, NOTE_MAX, reason,
                 convened[0] ? "; convened: " : "", convened);
        if (ch->city_body) {
            size_t len = strlen(text);
            snprintf(text + len, sizeof text - len, "; city body: %s (%s)", ch->city_body,
                     cg_city_body_zh(ch->city_body));
        }
        break;
    }
    case CG_WF_POSTPONE: {
        const char *until = body_string(body, "until");
        int64_t at = 0;
        if (!until || cg_time_parse_iso(until, &at) < 0) {
            cg_fail(err, CG_E_INVALID, "invalid_field",
                              "'until' must be an ISO 8601 time such as 2026-01-01T00:00:00+08:00");
            return err->status;
        }
        if (at <= now || (row->expected_at && at <= row->expected_at)) {
            cg_fail(err, CG_E_UNPROCESSABLE, "invalid_field",
                              "'until' must be later than now and than the current deadline");
            return err->status;
        }
        ch->expected_at = at;
        ch->postponed = 1;
        ch->timer = CG_TIMER_SET;
        char iso[40];
        cg_time_iso(at, iso, sizeof iso);
        snprintf(text, sizeof text, "until %s%s%.*s", iso, note ? ": " : "", NOTE_MAX,
                 note ? note : "");
        break;
    }
    case CG_WF_CANCEL: {
        const char *dup = body_string(body, "duplicate_of");
        if (json_object_get(body, "duplicate_of") && !dup) {
            cg_fail(err, CG_E_INVALID, "invalid_field", "'duplicate_of' must be a case id");
            return err->status;
        }
        if (dup) {
            cg_case_row other;
            if (strlen(dup) >= sizeof other.id || !strcmp(dup, row->id) ||
                cg_cases_read_row(ctx->app->store, dup, &other) != 1) {
                cg_fail(err, CG_E_UNPROCESSABLE, "unknown_case",
                                  "'duplicate_of' must name another existing case");
                return err->status;
            }
            snprintf(p->link_case, sizeof p->link_case, "%s", dup);
            ch->link_case = p->link_case;
            char link[128];
            snprintf(link, sizeof link, "%s cancelled as a duplicate of this case", row->id);
            p->link_note = strdup(link);
            ch->link_note = p->link_note;
            snprintf(text, sizeof text, "duplicate of %s%s%.*s", dup, note ? ": " : "", NOTE_MAX,
                     note ? note : "");
        }
        ch->timer = CG_TIMER_CLEAR;
        break;
    }
    case CG_WF_REOPEN:
        ch->new_dispatch = 1;
        ch->set_assignee = 1;
        ch->expected_at = cg_cases_deadline_after(now, row->sla_hours);
        ch->timer = ch->expected_at ? CG_TIMER_SET : CG_TIMER_CLEAR;
        break;
    case CG_WF_RATE: {
        json_t *sat = json_object_get(body, "satisfaction"), *fixed = json_object_get(body, "fixed");
        if (!json_is_integer(sat) || json_integer_value(sat) < 1 || json_integer_value(sat) > 5) {
            cg_fail(err, CG_E_INVALID, "invalid_field", "'satisfaction' must be an integer 1..5");
            return err->status;
        }
        if (fixed && !json_is_boolean(fixed)) {
            cg_fail(err, CG_E_INVALID, "invalid_field", "'fixed' must be true or false");
            return err->status;
        }
        ch->satisfaction = (int)json_integer_value(sat);
        snprintf(text, sizeof text, "satisfaction %d%s%s%.*s", ch->satisfaction,
                 json_is_false(fixed) ? ", not fixed" : "", note ? ": " : "", NOTE_MAX,
                 note ? note : "");
        break;
    }
    default:
        break;
    }
    if (text[0] || note)
        p->note = strdup(text[0] ? text : note);
    ch->note = p->note;
    return 0;
}

/* ---------------------------------------------------------------- handler */

void cg_api_cases_action(cg_api_ctx *ctx)
{
    cg_result err;
    json_t *body = NULL;
    const char *id = ctx->params->value[0];
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return;
    }
    const char *action = body_string(body, "action");
    int verb = cg_wf_verb_parse(action);
    json_t *note = json_object_get(body, "note");
    if (verb < 0 || (note && (!json_is_string(note) || json_string_length(note) > NOTE_MAX))) {
        json_decref(body);
        if (verb < 0)
            cg_http_reply_error(ctx->req, 400, action ? "unknown_action" : "missing_field",
                                "'action' must be one of dispatch, accept, handle, review, "
                                "transfer, escalate, postpone, cancel, reopen, rate");
        else
            cg_http_reply_error(ctx->req, 400, "invalid_field",
                                "'note' must be a string of at most %d bytes", NOTE_MAX);
        return;
    }
    cg_wf_choice choice = {0};
    if (verb == CG_WF_REVIEW) {
        const char *r = body_string(body, "result");
        if (!r || (strcmp(r, "pass") && strcmp(r, "reject"))) {
            json_decref(body);
            cg_http_reply_error(ctx->req, 400, "invalid_field", "'result' must be pass or reject");
            return;
        }
        choice.review_pass = !strcmp(r, "pass");
    }
    choice.has_department = body_string(body, "department") != NULL;
    choice.reopen_by_rating = json_is_integer(json_object_get(body, "satisfaction")) &&
                              json_integer_value(json_object_get(body, "satisfaction")) <=
                                  CG_WF_LOW_SATISFACTION &&
                              json_is_false(json_object_get(body, "fixed"));

    cg_case_row row;
    int found = strlen(id) < sizeof row.id ? cg_cases_read_row(ctx->app->store, id, &row) : 0;
    if (found != 1) {
        json_decref(body);
        if (found < 0)
            cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read case %.32s", id);
        else
            cg_http_reply_error(ctx->req, 404, "not_found", "no case '%.64s'", id);
        return;
    }
    cg_scope sc;
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    cg_wf_actor who;
    actor_facts(ctx->app->store, &sc, ctx->who, &row, &who);
    int sees = cg_scope_sees_case(&sc, row.grid, row.department, row.reporter) ||
               (verb == CG_WF_RATE && who.is_citizen);
    cg_scope_free(&sc);
    if (!sees) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 403, "forbidden", "case %s is outside your grids", row.id);
        return;
    }
    const char *next = cg_wf_next_status(row.status, (cg_wf_verb)verb, &choice);
    if (!next) {
        json_decref(body);
        reply_invalid_transition(ctx->req, cg_wf_verb_name((cg_wf_verb)verb), row.status);
        return;
    }
    if (!cg_wf_allowed((cg_wf_verb)verb, &who)) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 403, "forbidden", "you may not %s case %s%s",
                            cg_wf_verb_name((cg_wf_verb)verb), row.id,
                            verb == CG_WF_REVIEW && who.is_handler ? " (you handled it)" : "");
        return;
    }

    pending_action *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(body);
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    p->app = ctx->app;
    p->body = body;
    snprintf(p->case_id, sizeof p->case_id, "%s", row.id);
    snprintf(p->actor, sizeof p->actor, "%s", ctx->who->member_id);
    snprintf(p->action, sizeof p->action, "%s", cg_wf_verb_name((cg_wf_verb)verb));
    snprintf(p->expect_status, sizeof p->expect_status, "%s", row.status);
    snprintf(p->expect_department, sizeof p->expect_department, "%s", row.department);
    snprintf(p->expect_level, sizeof p->expect_level, "%s", row.level);
    snprintf(p->to_status, sizeof p->to_status, "%s", next);
    cg_case_change *ch = &p->ch;
    ch->case_id = p->case_id;
    ch->actor = p->actor;
    ch->action = p->action;
    ch->expect_status = p->expect_status;
    ch->expect_department = p->expect_department;
    ch->to_status = p->to_status;
    if (verb == CG_WF_RATE && choice.reopen_by_rating) {
        /* "rate" keeps the case closed, then a "reopen" row moves it. */
        snprintf(p->to_status, sizeof p->to_status, "closed");
        snprintf(p->action2, sizeof p->action2, "reopen");
        snprintf(p->to_status2, sizeof p->to_status2, "dispatched");
        ch->action2 = p->action2;
        ch->to_status2 = p->to_status2;
        ch->note2 = "low satisfaction, not fixed";
        ch->new_dispatch = 1;
        ch->set_assignee = 1;
        ch->expected_at = cg_cases_deadline_after(cg_now_ms(), row.sla_hours);
        ch->timer = ch->expected_at ? CG_TIMER_SET : CG_TIMER_CLEAR;
    }
    int rc = build_change(ctx, p, (cg_wf_verb)verb, body, &row, &err);
    if (rc != 0) {
        pending_free(p);
        if (rc == CG_E_CONFLICT && !strcmp(err.code, "top_level"))
            reply_invalid_transition(ctx->req, "escalate", row.status);
        else
            cg_http_reply_result(ctx->req, &err);
        return;
    }
    /* The owning plugin sees every step it did not cause itself (a new
     * dispatch is its own notice); subscribers (subscribe.h) see every step
     * of the cases they follow, dispatches included. */
    const char *dep_after = ch->department ? ch->department : row.department;
    const char *kind = verb == CG_WF_ESCALATE ? "escalation" : "transition";
    const char *level_after = ch->level ? ch->level : row.level;
    int owner_event = !ch->new_dispatch && has_plugin(ctx->app->catalog, dep_after);
    size_t n_subs = cg_deadlines_subscribers(ctx->app, ch, dep_after, kind, level_after, p->subs,
                                             p->sub_out);
    if (owner_event || n_subs) {
        json_t *ev = event_json(kind, p->action, row.status, p->to_status, p->actor, level_after,
                                ch->note, cg_now_ms());
        ch->event = owner_event ? ev : NULL;
        ch->sub_event = !n_subs ? NULL : owner_event ? json_incref(ev) : ev;
    }
    cg_http_defer(ctx->http, &p->deferred, ctx->req);
    cg_batch_submit(ctx->app->batch, apply_action, action_committed, p);
}
