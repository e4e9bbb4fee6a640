/*
 * peer_query.c — a plugin's question to a data source, through the core
 * (see peer_query.h).
 */
#include "host/peer_query.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "host/app.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "sources/audit.h"
#include "sources/mask.h"
#include "store/batch.h"
#include "sources/policy.h"

#define ASK_MAX_ROWS 100
#define ASK_MIN_MS 100
#define ASK_MAX_MS 5000
/* Professional members ask as their department; so does its plugin. */
#define ASKER_ROLE "professional"

typedef struct pending_ask {
    cg_app *app;
    unsigned long long asker;
    char id[64], plugin[64], department[32], source[32], case_id[64];
    const cg_source_rule *rule;
    json_t *fields; /* [{"name","class"}] of the source, as its plugin declared */
    char *params;   /* the question's params, JSON text, for the audit */
    json_t *reply;  /* the masked answer, sent once its audit row is committed */
    char instance[64];
    int64_t at;
} pending_ask;

static void pending_ask_free(pending_ask *pa)
{
    json_decref(pa->fields);
    json_decref(pa->reply);
    free(pa->params);
    free(pa);
}

static void answer(cg_app *app, unsigned long long asker, const char *id, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text)
        cg_bus_answer_peer(app->bus, asker, id, text);
    free(text);
}

static void refuse(cg_app *app, unsigned long long asker, const char *id, const char *status,
                   const char *reason)
{
    CG_NOTICE("sources", "a plugin's question %s: %s (%s)", id, status, reason);
    answer(app, asker, id, json_pack("{s:s, s:s, s:[]}", "status", status, "reason", reason, "rows"));
}

/* The fields the serving plugin declared for `source`, or NULL. */
static json_t *source_fields(cg_app *app, const char *source)
{
    char *text = cg_bus_sources_json(app->bus);
    json_t *all = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    json_t *found = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s) {
        const char *name = json_string_value(json_object_get(s, "name"));
        if (name && strcmp(name, source) == 0) {
            found = json_incref(json_object_get(s, "fields"));
            break;
        }
    }
    json_decref(all);
    return found;
}

/* The rows as the rule lets the asker see them: a field not shown whole is
 * masked by its class. */
static json_t *masked_answer(const pending_ask *pa, json_t *rows)
{
    size_t n = json_array_size(pa->fields);
    json_t *names = json_array(), *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(names, json_object_get(json_array_get(pa->fields, i), "name"));
    size_t ri;
    json_t *row;
    json_array_foreach(rows, ri, row) {
        if (json_array_size(row) != n)
            continue; /* the runtime builds rows of the source's width */
        json_t *copy = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *f = json_array_get(pa->fields, i);
            const char *name = json_string_value(json_object_get(f, "name"));
            const char *klass = json_string_value(json_object_get(f, "class"));
            const char *v = json_string_value(json_array_get(row, i));
            if (!v || cg_source_rule_shows(pa->rule, name, klass)) {
                json_array_append_new(copy, v ? json_string(v) : json_null());
                continue;
            }
            char *m = cg_mask_value(klass, v);
            json_array_append_new(copy, m ? json_string(m) : json_null());
            free(m);
        }
        json_array_append_new(out, copy);
    }
    return json_pack("{s:s, s:o, s:o}", "status", "ok", "fields", names, "rows", out);
}

/* The non-public fields the rule lets the asker see whole, as JSON text. */
static char *unmasked_fields(const pending_ask *pa)
{
    json_t *names = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(pa->fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *klass = json_string_value(json_object_get(f, "class"));
        if (name && klass && !cg_mask_is_public(klass) &&
            cg_source_rule_shows(pa->rule, name, klass))
            json_array_append_new(names, json_string(name));
    }
    char *text = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    return text;
}

/* A plugin's question is audited like a member's: the asker is the plugin
 * ("plugin:NAME"), the reason names the case it was checking. */
static int audit_apply(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending_ask *pa = arg;
    char member[80], reason[256];
    snprintf(member, sizeof member, "plugin:%.63s", pa->plugin);
    snprintf(reason, sizeof reason, "插件核查案件 %.63s; plugin %.63s checking its case",
             pa->case_id[0] ? pa->case_id : "-", pa->plugin);
    char *unmasked = unmasked_fields(pa);
    cg_audit_entry e = {.at = pa->at, .kind = "query", .member_id = member, .role = ASKER_ROLE,
                        .department = pa->department, .source = pa->source,
                        .params = pa->params ? pa->params : "{}", .reason = reason,
                        .case_id = pa->case_id[0] ? pa->case_id : NULL, .outcome = "ok",
                        .rows = (long)json_array_size(json_object_get(pa->reply, "rows")),
                        .unmasked = unmasked ? unmasked : "[]", .instance = pa->instance};
    long long seq = 0;
    cg_result r;
    cg_status rc = cg_audit_append(st, &e, &seq, &r);
    free(unmasked);
    if (rc != CG_OK) {
        snprintf(err, errlen, "%s", r.message);
        return -1;
    }
    return 0;
}

/* Rows go out only once their audit row is durable. */
static void audit_done(void *arg, int status, const char *err)
{
    pending_ask *pa = arg;
    if (status != 0) {
        CG_ERROR("sources", "plugin %s's question to %s not audited: %s", pa->plugin, pa->source,
                 err ? err : "?");
        refuse(pa->app, pa->asker, pa->id, "unavailable", "the question could not be audited");
    } else {
        answer(pa->app, pa->asker, pa->id, pa->reply);
        pa->reply = NULL;
    }
    pending_ask_free(pa);
}

static void on_source_answer(void *arg, cg_bus_answer_status st, const char *body,
                             const char *instance)
{
    pending_ask *pa = arg;
    json_t *a = st == CG_BUS_ANSWER_OK && body ? json_loads(body, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(a, "status"));
    if (a && status && strcmp(status, "ok") == 0) {
        json_t *rows = json_object_get(a, "rows");
        CG_INFO("sources", "plugin %s (%s) asked %s for case %s: %zu row(s) from %s", pa->plugin,
                pa->department, pa->source, pa->case_id[0] ? pa->case_id : "-",
                json_array_size(rows), instance);
        pa->reply = masked_answer(pa, rows);
        snprintf(pa->instance, sizeof pa->instance, "%s", instance ? instance : "");
        json_decref(a);
        cg_batch_submit(pa->app->batch, audit_apply, audit_done, pa);
        return;
    } else {
        const char *why = st == CG_BUS_ANSWER_TIMEOUT ? "timeout" : "unavailable";
        CG_NOTICE("sources", "plugin %s asked %s for case %s: %s", pa->plugin, pa->source,
                  pa->case_id[0] ? pa->case_id : "-", a ? (status ? status : "bad answer") : why);
        refuse(pa->app, pa->asker, pa->id, st == CG_BUS_ANSWER_TIMEOUT ? "timeout" : "unavailable",
               "the source did not answer");
    }
    json_decref(a);
    pending_ask_free(pa);
}

void cg_peer_query(void *arg, const cg_bus_asker *asker, const char *query_id, const char *body)
{
    cg_app *app = arg;
    json_t *o = json_loads(body, 0, NULL);
    const char *source = json_string_value(json_object_get(o, "source"));
    json_t *params = json_object_get(o, "params");
    const char *q = json_string_value(json_object_get(params, "q"));
    const char *case_id = json_string_value(json_object_get(o, "case"));
    json_int_t max_rows = json_integer_value(json_object_get(o, "max_rows"));
    json_int_t timeout = json_integer_value(json_object_get(o, "timeout_ms"));
    if (!source || !*source || strlen(source) > 31 || (case_id && strlen(case_id) > 63)) {
        refuse(app, asker->serial, query_id, "refused", "bad question");
        json_decref(o);
        return;
    }
    const cg_source_rule *rule =
        cg_source_policy_find(cg_source_policy_builtin(), ASKER_ROLE, asker->department, source);
    if (!rule) {
        CG_NOTICE("sources", "plugin %s (%s) may not ask %s: refused", asker->name,
                  asker->department, source);
        refuse(app, asker->serial, query_id, "refused", "the department may not ask this source");
        json_decref(o);
        return;
    }
    pending_ask *pa = calloc(1, sizeof *pa);
    json_t *fields = source_fields(app, source);
    if (!pa || !fields) {
        refuse(app, asker->serial, query_id, "not_found", "no plugin declares this source");
        free(pa);
        json_decref(fields);
        json_decref(o);
        return;
    }
    pa->app = app;
    pa->asker = asker->serial;
    pa->rule = rule;
    pa->fields = fields;
    pa->at = cg_now_ms();
    pa->params = json_is_object(params) ? json_dumps(params, JSON_COMPACT) : strdup("{}");
    snprintf(pa->id, sizeof pa->id, "%s", query_id);
    snprintf(pa->plugin, sizeof pa->plugin, "%s", asker->name);
    snprintf(pa->department, sizeof pa->department, "%s", asker->department);
    snprintf(pa->source, sizeof pa->source, "%s", source);
    snprintf(pa->case_id, sizeof pa->case_id, "%s", case_id ? case_id : "");
    int wait = timeout < ASK_MIN_MS ? ASK_MIN_MS : timeout > ASK_MAX_MS ? ASK_MAX_MS : (int)timeout;
    json_t *fwd = json_pack("{s:s, s:{s:s}, s:I, s:I}", "source", source, "params", "q", q ? q : "",
                            "max_rows",
                            (json_int_t)(max_rows > 0 && max_rows < ASK_MAX_ROWS ? max_rows
                                                                                 : ASK_MAX_ROWS),
                            "deadline_ms", (json_int_t)(cg_now_ms() + wait));
    char *text = fwd ? json_dumps(fwd, JSON_COMPACT) : NULL;
    json_decref(fwd);
    /* pa->source, not `source`: that lives in o. */
    if (!text || cg_bus_query(app->bus, pa->source, text, wait, on_source_answer, pa) < 0) {
        refuse(app, pa->asker, pa->id, "not_found", "no plugin serves this source");
        pending_ask_free(pa);
    }
    json_decref(o);
    free(text);
}
