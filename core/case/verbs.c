/*
 * verbs.c — see verbs.h: the facts about the caller, one function per verb,
 * the table, and cg_verb_prepare that runs the checks in order.
 */
#include "case/verbs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case/citybody.h"
#include "case/evidence.h"
#include "case/scope.h"
#include "lib/timeutil.h"

/* What a verb's function sees; it fills a->ch (and the strings in a). */
typedef struct verb_ctx {
    cg_store *st;
    const cg_catalog *cat;
    const cg_config *cfg;
    const cg_principal *who;
    json_t *body;
    const cg_case_row *row;
    int64_t now;
    const char *note; /* the request's "note", NULL when none */
    char *text;       /* the history note the verb writes ("" keeps `note`) */
    size_t text_size;
} verb_ctx;

typedef cg_status (*verb_fn)(const verb_ctx *c, cg_verb_action *a, cg_result *r);

static const char *body_string(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *sep(const char *note)
{
    return note ? ": " : "";
}

/* ---------------------------------------------------------------- the verbs */

static cg_status verb_dispatch(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const char *dep = body_string(c->body, "department");
    if (dep && !cg_catalog_department(c->cat, dep))
        return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_department", "no department '%.32s'", dep);
    snprintf(a->department, sizeof a->department, "%s", dep ? dep : c->row->department);
    a->ch.department = a->department;
    a->ch.set_assignee = 1;
    a->ch.new_dispatch = 1;
    a->ch.timer = CG_TIMER_SET;
    if (!c->row->expected_at)
        a->ch.expected_at = cg_cases_deadline_after(c->now, c->row->sla_hours);
    snprintf(c->text, c->text_size, "%s%s%s", a->department, sep(c->note), c->note ? c->note : "");
    return CG_OK;
}

static cg_status verb_accept(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    (void)r;
    const char *who = body_string(c->body, "assignee");
    if (!who && !c->who->is_admin && !c->row->assignee[0])
        who = c->who->member_id;
    if (who) {
        snprintf(a->assignee, sizeof a->assignee, "%s", who);
        a->ch.set_assignee = 1;
        a->ch.assignee = a->assignee;
    }
    return CG_OK;
}

static cg_status verb_handle(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    /* What the department's plugin said handling must record (case_require). */
    const char *list = c->row->requires;
    json_t *fulfil = NULL;
    while (*list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(n < 63 ? n : 63), list);
        json_t *v = json_object_get(c->body, key);
        if (!v || json_is_null(v)) {
            json_decref(fulfil);
            return cg_fail(r, CG_E_UNPROCESSABLE, "missing_requirement",
                           "this case must be handled with '%s' (asked by the %s plugin)", key,
                           c->row->department);
        }
        if (!fulfil)
            fulfil = json_object();
        json_object_set(fulfil, key, v);
        list = comma ? comma + 1 : list + n;
    }
    a->ch.fulfil = fulfil;
    a->ch.set_handled_by = 1;
    a->ch.timer = CG_TIMER_CLEAR;
    return CG_OK;
}

static cg_status verb_review(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const char *result = body_string(c->body, "result");
    const char *note = c->note;
    if (result && !strcmp(result, "pass")) {
        const cg_category *cat = cg_catalog_category(c->cat, c->row->category);
        if (cat && cat->requires_after_photo &&
            cg_evidence_has_after_photo(c->st, c->row->id) != 1)
            return cg_fail(r, CG_E_UNPROCESSABLE, "after_photo_required",
                           "a %s case passes review only with an \"after\" photo",
                           c->row->category);
        a->ch.timer = CG_TIMER_CLEAR;
        snprintf(c->text, c->text_size, "pass%s%s", sep(note), note ? note : "");
    } else {
        a->ch.rework_inc = 1;
        a->ch.timer = CG_TIMER_SET; /* back to work: the deadline counts again */
        snprintf(c->text, c->text_size, "reject (rework)%s%s", sep(note), note ? note : "");
    }
    return CG_OK;
}

static cg_status verb_transfer(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const char *dep = body_string(c->body, "department");
    const char *reason = body_string(c->body, "reason") ? body_string(c->body, "reason") : c->note;
    if (!reason || !*reason)
        return cg_fail(r, CG_E_UNPROCESSABLE, "missing_field", "a transfer needs a 'reason'");
    if (dep && !cg_catalog_department(c->cat, dep))
        return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_department", "no department '%.32s'", dep);
    if (dep && !strcmp(dep, c->row->department))
        return cg_fail(r, CG_E_UNPROCESSABLE, "same_department", "the case is already with %s", dep);
    if (dep) {
        snprintf(a->department, sizeof a->department, "%s", dep);
        a->ch.department = a->department;
        a->ch.new_dispatch = 1;
    }
    a->ch.set_assignee = 1;
    a->ch.misroute_inc = 1;
    snprintf(c->text, c->text_size, "%s -> %s: %.*s (misroute)", c->row->department,
             dep ? dep : "grid leader", CG_VERB_NOTE_MAX, reason);
    return CG_OK;
}

/* The departments a joint task convenes, from "departments" (checked, each
 * once) into `named` (a JSON array) and `convened` (comma text). */
static cg_status named_departments(const verb_ctx *c, json_t *named, char *convened, size_t size,
                                   cg_result *r)
{
    json_t *deps = json_object_get(c->body, "departments");
    if (deps && !json_is_array(deps))
        return cg_fail(r, CG_E_INVALID, "invalid_field",
                       "'departments' must be an array of department codes");
    size_t i;
    json_t *d;
    json_array_foreach(deps, i, d) {
        if (!json_is_string(d) || !cg_catalog_department(c->cat, json_string_value(d)))
            return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_department",
                           "'departments' must list department codes");
        int twice = 0;
        for (size_t k = 0; k < json_array_size(named); k++)
            twice |= json_equal(json_array_get(named, k), d);
        if (twice)
            continue;
        json_array_append(named, d);
        size_t len = strlen(convened);
        snprintf(convened + len, size - len, "%s%s", len ? "," : "", json_string_value(d));
    }
    return CG_OK;
}

static cg_status verb_escalate(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const cg_case_row *row = c->row;
    const char *next = cg_wf_next_level(row->level);
    const char *reason = body_string(c->body, "reason") ? body_string(c->body, "reason") : c->note;
    if (!next) /* at the top: not a move this case can make now */
        return cg_fail(r, CG_E_CONFLICT, "invalid_transition",
                       "'escalate' is not allowed on a case that is %s", row->status);
    if (!reason || !*reason)
        return cg_fail(r, CG_E_UNPROCESSABLE, "missing_field", "an escalation needs a 'reason'");
    /* A joint task records which departments are convened: those the
     * leader names, else the case's department and enforcement. */
    char convened[256] = "";
    json_t *named = json_array();
    if (named_departments(c, named, convened, sizeof convened, r) != CG_OK) {
        json_decref(named);
        return r->status;
    }
    if (!strcmp(next, "joint"))
        a->joint = json_array_size(named) ? json_dumps(named, JSON_COMPACT)
                                          : cg_case_default_joint(row->department);
    json_decref(named);
    if (!strcmp(next, "joint") && !convened[0] && a->joint)
        snprintf(convened, sizeof convened, "%s", a->joint);
    a->ch.joint_departments = a->joint;
    if (!strcmp(next, "city"))
        a->ch.city_body = cg_case_city_body(c->st, c->cfg, row);
    snprintf(a->level, sizeof a->level, "%s", next);
    a->ch.level = a->level;
    a->ch.expect_level = a->expect_level;
    a->ch.expected_at = cg_cases_deadline_after(c->now, row->sla_hours);
    a->ch.timer = a->ch.expected_at ? CG_TIMER_SET : CG_TIMER_KEEP;
    snprintf(c->text, c->text_size, "%s -> %s: %.*s%s%s", row->level, next, CG_VERB_NOTE_MAX,
             reason, convened[0] ? "; convened: " : "", convened);
    if (a->ch.city_body) {
        size_t len = strlen(c->text);
        snprintf(c->text + len, c->text_size - len, "; city body: %s (%s)", a->ch.city_body,
                 cg_city_body_zh(a->ch.city_body));
    }
    return CG_OK;
}

static cg_status verb_postpone(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const char *until = body_string(c->body, "until");
    int64_t at = 0;
    if (!until || cg_time_parse_iso(until, &at) < 0)
        return cg_fail(r, CG_E_INVALID, "invalid_field",
                       "'until' must be an ISO 8601 time such as 2026-01-01T00:00:00+08:00");
    if (at <= c->now || (c->row->expected_at && at <= c->row->expected_at))
        return cg_fail(r, CG_E_UNPROCESSABLE, "invalid_field",
                       "'until' must be later than now and than the current deadline");
    a->ch.expected_at = at;
    a->ch.postponed = 1;
    a->ch.timer = CG_TIMER_SET;
    char iso[40];
    cg_time_iso(at, iso, sizeof iso);
    snprintf(c->text, c->text_size, "until %s%s%.*s", iso, sep(c->note), CG_VERB_NOTE_MAX,
             c->note ? c->note : "");
    return CG_OK;
}

static cg_status verb_cancel(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    const char *dup = body_string(c->body, "duplicate_of");
    if (json_object_get(c->body, "duplicate_of") && !dup)
        return cg_fail(r, CG_E_INVALID, "invalid_field", "'duplicate_of' must be a case id");
    if (dup) {
        cg_case_row other;
        if (strlen(dup) >= sizeof other.id || !strcmp(dup, c->row->id) ||
            cg_cases_read_row(c->st, dup, &other) != 1)
            return cg_fail(r, CG_E_UNPROCESSABLE, "unknown_case",
                           "'duplicate_of' must name another existing case");
        snprintf(a->link_case, sizeof a->link_case, "%s", dup);
        a->ch.link_case = a->link_case;
        char link[128];
        snprintf(link, sizeof link, "%s cancelled as a duplicate of this case", c->row->id);
        a->link_note = strdup(link);
        a->ch.link_note = a->link_note;
        snprintf(c->text, c->text_size, "duplicate of %s%s%.*s", dup, sep(c->note),
                 CG_VERB_NOTE_MAX, c->note ? c->note : "");
    }
    a->ch.timer = CG_TIMER_CLEAR;
    return CG_OK;
}

/* Back to its department with a fresh deadline (`reopen`, a low rating). */
static void redispatch(const verb_ctx *c, cg_verb_action *a)
{
    a->ch.new_dispatch = 1;
    a->ch.set_assignee = 1;
    a->ch.expected_at = cg_cases_deadline_after(c->now, c->row->sla_hours);
    a->ch.timer = a->ch.expected_at ? CG_TIMER_SET : CG_TIMER_CLEAR;
}

static cg_status verb_reopen(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    (void)r;
    redispatch(c, a);
    return CG_OK;
}

static cg_status verb_rate(const verb_ctx *c, cg_verb_action *a, cg_result *r)
{
    json_t *sat = json_object_get(c->body, "satisfaction"), *fixed = json_object_get(c->body, "fixed");
    if (!json_is_integer(sat) || json_integer_value(sat) < 1 || json_integer_value(sat) > 5)
        return cg_fail(r, CG_E_INVALID, "invalid_field", "'satisfaction' must be an integer 1..5");
    if (fixed && !json_is_boolean(fixed))
        return cg_fail(r, CG_E_INVALID, "invalid_field", "'fixed' must be true or false");
    a->ch.satisfaction = (int)json_integer_value(sat);
    if (a->ch.satisfaction <= CG_WF_LOW_SATISFACTION && json_is_false(fixed)) {
        /* "rate" keeps the case closed, then a "reopen" row moves it. */
        snprintf(a->to_status, sizeof a->to_status, "closed");
        snprintf(a->action2, sizeof a->action2, "reopen");
        snprintf(a->to_status2, sizeof a->to_status2, "dispatched");
        a->ch.action2 = a->action2;
        a->ch.to_status2 = a->to_status2;
        a->ch.note2 = "low satisfaction, not fixed";
        redispatch(c, a);
    }
    snprintf(c->text, c->text_size, "satisfaction %d%s%s%.*s", a->ch.satisfaction,
             json_is_false(fixed) ? ", not fixed" : "", sep(c->note), CG_VERB_NOTE_MAX,
             c->note ? c->note : "");
    return CG_OK;
}

/* The table: one function per verb, indexed by cg_wf_verb. */
static const verb_fn verb_table[CG_WF_N_VERBS] = {
    [CG_WF_DISPATCH] = verb_dispatch, [CG_WF_ACCEPT] = verb_accept,
    [CG_WF_HANDLE] = verb_handle,     [CG_WF_REVIEW] = verb_review,
    [CG_WF_TRANSFER] = verb_transfer, [CG_WF_ESCALATE] = verb_escalate,
    [CG_WF_POSTPONE] = verb_postpone, [CG_WF_CANCEL] = verb_cancel,
    [CG_WF_REOPEN] = verb_reopen,     [CG_WF_RATE] = verb_rate,
};

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

/* ---------------------------------------------------------------- prepare */

/* Step 1: the verb, the note, and what picks between the verb's outcomes. */
static cg_status parse_shape(json_t *body, int *verb, cg_wf_choice *choice, cg_result *r)
{
    const char *action = body_string(body, "action");
    *verb = cg_wf_verb_parse(action);
    json_t *note = json_object_get(body, "note");
    if (*verb < 0)
        return cg_fail(r, CG_E_INVALID, action ? "unknown_action" : "missing_field",
                       "'action' must be one of dispatch, accept, handle, review, "
                       "transfer, escalate, postpone, cancel, reopen, rate");
    if (note && (!json_is_string(note) || json_string_length(note) > CG_VERB_NOTE_MAX))
        return cg_fail(r, CG_E_INVALID, "invalid_field",
                       "'note' must be a string of at most %d bytes", CG_VERB_NOTE_MAX);
    memset(choice, 0, sizeof *choice);
    if (*verb == CG_WF_REVIEW) {
        const char *res = body_string(body, "result");
        if (!res || (strcmp(res, "pass") && strcmp(res, "reject")))
            return cg_fail(r, CG_E_INVALID, "invalid_field", "'result' must be pass or reject");
        choice->review_pass = !strcmp(res, "pass");
    }
    json_t *sat = json_object_get(body, "satisfaction");
    choice->has_department = body_string(body, "department") != NULL;
    choice->reopen_by_rating = json_is_integer(sat) &&
                               json_integer_value(sat) <= CG_WF_LOW_SATISFACTION &&
                               json_is_false(json_object_get(body, "fixed"));
    return CG_OK;
}

/* Step 2 and what steps 3 and 5 need: the case, the facts about the caller
 * and whether the caller sees the case (a citizen-channel account may rate
 * a case it cannot see: `sees` says only what scope.h says). */
static cg_status read_case_and_caller(cg_store *st, const cg_principal *who, const char *case_id,
                                      cg_case_row *row, cg_wf_actor *facts, int *sees,
                                      cg_result *r)
{
    int found = strlen(case_id) < sizeof row->id ? cg_cases_read_row(st, case_id, row) : 0;
    if (found < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read case %.32s", case_id);
    if (found == 0)
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no case '%.64s'", case_id);
    cg_scope sc;
    if (cg_scope_load(st, who, &sc) < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the caller's grids");
    actor_facts(st, &sc, who, row, facts);
    *sees = cg_scope_sees_case(&sc, row->grid, row->department, row->reporter);
    cg_scope_free(&sc);
    return CG_OK;
}

/* Is `verb` a move the case can make now: its status allows it (step 4),
 * and for escalate there is a level above? The choice picks only between
 * outcomes, never whether, so NULL will do. */
static int verb_open_in(const cg_case_row *row, cg_wf_verb verb, const cg_wf_choice *choice)
{
    if (!cg_wf_next_status(row->status, verb, choice))
        return 0;
    return verb != CG_WF_ESCALATE || cg_wf_next_level(row->level) != NULL;
}

/* Steps 2-5: the case, seeing it, the transition, the caller's right. */
static cg_status check_case(cg_store *st, const cg_principal *who, const char *case_id,
                            cg_wf_verb verb, const cg_wf_choice *choice, cg_case_row *row,
                            const char **next, char current_status[16], cg_result *r)
{
    cg_wf_actor facts;
    int sees = 0;
    if (read_case_and_caller(st, who, case_id, row, &facts, &sees, r) != CG_OK)
        return r->status;
    snprintf(current_status, 16, "%s", row->status);
    sees = sees || (verb == CG_WF_RATE && facts.is_citizen);
    if (!sees)
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "case %s is outside your grids", row->id);
    *next = cg_wf_next_status(row->status, verb, choice);
    if (!*next)
        return cg_fail(r, CG_E_CONFLICT, "invalid_transition",
                       "'%s' is not allowed on a case that is %s", cg_wf_verb_name(verb),
                       row->status);
    if (!cg_wf_allowed(verb, &facts))
        return cg_fail(r, CG_E_FORBIDDEN, "forbidden", "you may not %s case %s%s",
                       cg_wf_verb_name(verb), row->id,
                       verb == CG_WF_REVIEW && facts.is_handler ? " (you handled it)" : "");
    return CG_OK;
}

cg_status cg_verbs_usable(cg_store *st, const cg_principal *who, const char *case_id,
                          json_t **out, cg_result *r)
{
    *out = NULL;
    cg_case_row row;
    cg_wf_actor facts;
    int sees = 0;
    if (read_case_and_caller(st, who, case_id, &row, &facts, &sees, r) != CG_OK)
        return r->status;
    json_t *list = json_array();
    if (!list)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    for (int v = 0; v < CG_WF_N_VERBS; v++) {
        /* check_case's checks in its order, and verb_escalate's "a level
         * above" (its 409 comes from the verb's function, step 6). */
        if (!sees && !(v == CG_WF_RATE && facts.is_citizen))
            continue;
        if (verb_open_in(&row, (cg_wf_verb)v, NULL) && cg_wf_allowed((cg_wf_verb)v, &facts))
            json_array_append_new(list, json_string(cg_wf_verb_name((cg_wf_verb)v)));
    }
    *out = list;
    return CG_OK;
}

cg_status cg_verb_prepare(cg_store *st, const cg_catalog *cat, const cg_config *cfg,
                          const cg_principal *who, const char *case_id, json_t *body,
                          cg_verb_action **out, char current_status[16], cg_result *r)
{
    *out = NULL;
    current_status[0] = '\0';
    int verb;
    cg_wf_choice choice;
    cg_case_row row;
    const char *next = NULL;
    if (parse_shape(body, &verb, &choice, r) != CG_OK ||
        check_case(st, who, case_id, (cg_wf_verb)verb, &choice, &row, &next, current_status, r) !=
            CG_OK)
        return r->status;
    cg_verb_action *a = calloc(1, sizeof *a);
    if (!a)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    a->verb = (cg_wf_verb)verb;
    a->row = row;
    a->body = json_incref(body);
    snprintf(a->case_id, sizeof a->case_id, "%s", row.id);
    snprintf(a->actor, sizeof a->actor, "%s", who->member_id);
    snprintf(a->action, sizeof a->action, "%s", cg_wf_verb_name(a->verb));
    snprintf(a->expect_status, sizeof a->expect_status, "%s", row.status);
    snprintf(a->expect_department, sizeof a->expect_department, "%s", row.department);
    snprintf(a->expect_level, sizeof a->expect_level, "%s", row.level);
    snprintf(a->to_status, sizeof a->to_status, "%s", next);
    cg_case_change *ch = &a->ch;
    ch->case_id = a->case_id;
    ch->actor = a->actor;
    ch->action = a->action;
    ch->expect_status = a->expect_status;
    ch->expect_department = a->expect_department;
    ch->to_status = a->to_status;
    char text[CG_VERB_NOTE_MAX + 512];
    text[0] = '\0';
    verb_ctx c = {st, cat, cfg, who, body, &a->row, cg_now_ms(), body_string(body, "note"), text,
                  sizeof text};
    if (verb_table[a->verb](&c, a, r) != CG_OK) {
        cg_verb_action_free(a);
        return r->status;
    }
    if (text[0] || c.note)
        a->note = strdup(text[0] ? text : c.note);
    ch->note = a->note;
    *out = a;
    return CG_OK;
}

void cg_verb_action_free(cg_verb_action *a)
{
    if (!a)
        return;
    free(a->note);
    free(a->link_note);
    free(a->joint);
    for (size_t i = 0; i < CG_SUBSCRIBERS_MAX; i++)
        cg_dispatch_clear(&a->sub_out[i]);
    json_decref(a->ch.sub_event);
    json_decref(a->ch.fulfil);
    json_decref(a->ch.event);
    json_decref(a->body);
    cg_dispatch_clear(&a->out);
    free(a);
}

/* ---------------------------------------------------------------- details */

const char *cg_case_city_body(cg_store *st, const cg_config *cfg, const cg_case_row *row)
{
    char district[64] = "";
    if (row->grid[0]) {
        sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT district FROM grids WHERE code = ?1");
        if (s) {
            sqlite3_bind_text(s, 1, row->grid, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
                snprintf(district, sizeof district, "%s", (const char *)sqlite3_column_text(s, 0));
            sqlite3_reset(s);
        }
    }
    return cg_city_body_for(cfg, row->category, district);
}

char *cg_case_default_joint(const char *department)
{
    json_t *a = json_array();
    if (department && *department)
        json_array_append_new(a, json_string(department));
    if (!department || strcmp(department, "enforcement") != 0)
        json_array_append_new(a, json_string("enforcement"));
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}
