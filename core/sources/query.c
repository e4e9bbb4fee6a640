/*
 * query.c — a data-source query from request to audited answer (query.h).
 */
#include "sources/query.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "lib/citydate.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "sources/access.h"
#include "sources/audit.h"
#include "sources/mask.h"

#define SOURCES_LOG "sources"
#define REASON_MAX 500       /* bytes */
#define Q_MAX 200            /* bytes of params.q */
#define PARAMS_MAX 4096      /* bytes of params as JSON */
#define RADIUS_MAX_M 50000.0
#define SPATIAL_OVERFETCH 4  /* a spatial source is asked for more rows: some
                                fall outside the caller's grids */

/* The sources the plan names (API.md), known even while no plugin serves
 * them: GET /v1/sources lists them, a query gets 503 rather than 404. */
static const struct {
    const char *name, *title_zh;
} builtin_sources[] = {
    {"persons", "人口信息"},       {"vehicles", "车辆信息"},
    {"companies", "法人信息"},     {"offenders", "违法当事人"},
    {"property_owners", "违建业主"}, {"cameras", "视频监控"},
};
#define N_BUILTIN (sizeof builtin_sources / sizeof builtin_sources[0])

struct cg_sourceq {
    cg_store *st;
    cg_batch *batch;           /* NULL once closed */
    cg_bus *bus;
    const cg_source_policy *policy;
    const cg_sources_conf *conf;
    struct pending *pending;   /* asked, not yet answered to the caller */
    struct event *purge_timer; /* daily retention purge */
};

typedef struct pending {
    cg_sourceq *q;
    struct pending *prev, *next;
    cg_sourceq_done_fn fn;
    void *arg;
    char member[64], role[16], department[32];
    char *source, *params, *reason, *case_id, *instance;
    json_t *fields;            /* the source's [{"name","class"}] (owned) */
    int spatial;
    cg_source_access access;
    int64_t at;
    /* The outcome, filled when the answer came. */
    const char *outcome;
    json_t *answer;            /* CG_OK: {"items","masked"} */
    json_t *unmasked;          /* field names sent whole (not public) */
    long rows;
    cg_result result;
    long long audit_id;
} pending;

static void on_purge_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cg_sourceq_purge(arg);
}

cg_sourceq *cg_sourceq_new(struct event_base *base, cg_store *st, cg_batch *batch, cg_bus *bus,
                           const cg_source_policy *policy, const cg_sources_conf *conf)
{
    cg_sourceq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->st = st;
    q->batch = batch;
    q->bus = bus;
    q->policy = policy;
    q->conf = conf;
    if (base && conf->retention_days > 0) {
        struct timeval day = {86400, 0};
        q->purge_timer = event_new(base, -1, EV_PERSIST, on_purge_timer, q);
        if (!q->purge_timer || event_add(q->purge_timer, &day) < 0) {
            if (q->purge_timer)
                event_free(q->purge_timer);
            free(q);
            return NULL;
        }
    }
    return q;
}

void cg_sourceq_close(cg_sourceq *q)
{
    if (!q)
        return;
    q->batch = NULL;
    if (q->purge_timer)
        event_free(q->purge_timer);
    q->purge_timer = NULL;
}

static void pending_free(pending *p)
{
    if (!p)
        return;
    if (p->q) {
        if (p->prev)
            p->prev->next = p->next;
        else
            p->q->pending = p->next;
        if (p->next)
            p->next->prev = p->prev;
    }
    free(p->source);
    free(p->params);
    free(p->reason);
    free(p->case_id);
    free(p->instance);
    json_decref(p->fields);
    json_decref(p->answer);
    json_decref(p->unmasked);
    cg_source_access_free(&p->access);
    free(p);
}

void cg_sourceq_free(cg_sourceq *q)
{
    if (!q)
        return;
    /* The bus has called back what it held; anything left was never asked. */
    while (q->pending)
        pending_free(q->pending);
    if (q->purge_timer)
        event_free(q->purge_timer);
    free(q);
}

/* ---- the sources ------------------------------------------------------ */

static int valid_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) || s[n] == '_'))
            return 0;
    return n >= 1 && n <= 31;
}

static const char *builtin_title(const char *name)
{
    for (size_t i = 0; i < N_BUILTIN; i++)
        if (strcmp(builtin_sources[i].name, name) == 0)
            return builtin_sources[i].title_zh;
    return NULL;
}

/* What the live plugins serve: READY's source objects (new reference). */
static json_t *served(cg_sourceq *q)
{
    char *text = q->bus ? cg_bus_sources_json(q->bus) : NULL;
    json_t *all = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return json_is_array(all) ? all : (json_decref(all), json_array());
}

static json_t *find_source(json_t *all, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && strcmp(n, name) == 0)
            return s;
    }
    return NULL;
}

json_t *cg_sourceq_list(cg_sourceq *q, const cg_principal *who)
{
    json_t *all = served(q);
    json_t *names = json_array();
    for (size_t i = 0; i < N_BUILTIN; i++)
        json_array_append_new(names, json_string(builtin_sources[i].name));
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && !builtin_title(n))
            json_array_append_new(names, json_string(n));
    }
    json_t *out = json_array();
    json_t *name;
    json_array_foreach(names, i, name) {
        const char *n = json_string_value(name);
        json_t *desc = find_source(all, n);
        cg_source_access acc;
        cg_result r;
        cg_status rc = cg_source_access_for(q->st, q->policy, who, n, &acc, &r);
        cg_source_access_free(&acc);
        if (rc == CG_E_INTERNAL) {
            json_decref(out);
            out = NULL;
            break;
        }
        const char *title = json_string_value(json_object_get(desc, "title_zh"));
        json_t *fields = json_object_get(desc, "fields");
        fields = fields ? json_incref(fields) : json_array();
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:o, s:b, s:b, s:b}", "name", n, "title_zh",
                           title ? title : builtin_title(n), "fields", fields, "spatial",
                           json_is_true(json_object_get(desc, "spatial")), "available",
                           desc != NULL, "allowed", rc == CG_OK));
    }
    json_decref(names);
    json_decref(all);
    return out;
}

/* ---- the request ------------------------------------------------------ */

/* A string of only spaces (ASCII or U+3000) is no reason. */
static int blank(const char *s)
{
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        else if (strncmp(s, "\xe3\x80\x80", 3) == 0)
            s += 3;
        else
            return 0;
    }
    return 1;
}

static cg_status check_number(json_t *params, const char *key, double min, double max,
                              cg_result *r)
{
    json_t *v = json_object_get(params, key);
    if (v && (!json_is_number(v) || !isfinite(json_number_value(v)) ||
              json_number_value(v) < min || json_number_value(v) > max))
        return cg_fail(r, CG_E_INVALID, "invalid_field", "params.%s must be a number from %g to %g",
                       key, min, max);
    return CG_OK;
}

static cg_status parse_body(json_t *body, const char **reason, const char **case_id,
                            json_t **params, cg_result *r)
{
    if (!json_is_object(body))
        return cg_fail(r, CG_E_INVALID, "body_not_object", "the body must be a JSON object");
    json_t *v = json_object_get(body, "reason");
    if (v && !json_is_string(v))
        return cg_fail(r, CG_E_INVALID, "invalid_field", "reason must be a string");
    *reason = json_string_value(v);
    if (!*reason || blank(*reason))
        return cg_fail(r, CG_E_UNPROCESSABLE, "missing_reason", "查询必须写明事由（reason）");
    if (strlen(*reason) > REASON_MAX)
        return cg_fail(r, CG_E_INVALID, "invalid_field", "reason: at most %d bytes", REASON_MAX);
    v = json_object_get(body, "case");
    *case_id = NULL;
    if (v && !json_is_null(v)) {
        *case_id = json_string_value(v);
        if (!*case_id || !**case_id || strlen(*case_id) > 63)
            return cg_fail(r, CG_E_INVALID, "invalid_field", "case must be a case id");
    }
    *params = json_object_get(body, "params");
    if (!*params)
        *params = json_object();
    else if (!json_is_object(*params))
        return cg_fail(r, CG_E_INVALID, "invalid_field", "params must be an object");
    else
        json_incref(*params);
    v = json_object_get(*params, "q");
    cg_status rc = CG_OK;
    if (v && (!json_is_string(v) || strlen(json_string_value(v)) > Q_MAX))
        rc = cg_fail(r, CG_E_INVALID, "invalid_field", "params.q must be a string of at most %d "
                     "bytes", Q_MAX);
    if (rc == CG_OK)
        rc = check_number(*params, "lat", -90, 90, r);
    if (rc == CG_OK)
        rc = check_number(*params, "lon", -180, 180, r);
    if (rc == CG_OK)
        rc = check_number(*params, "radius_m", 0, RADIUS_MAX_M, r);
    if (rc == CG_OK && !json_object_get(*params, "lat") != !json_object_get(*params, "lon"))
        rc = cg_fail(r, CG_E_INVALID, "invalid_field", "params.lat and params.lon go together");
    if (rc == CG_OK) {
        char *text = json_dumps(*params, JSON_COMPACT);
        if (!text || strlen(text) > PARAMS_MAX)
            rc = cg_fail(r, CG_E_INVALID, "invalid_field", "params: at most %d bytes of JSON",
                         PARAMS_MAX);
        free(text);
    }
    if (rc != CG_OK) {
        json_decref(*params);
        *params = NULL;
    }
    return rc;
}

static long in_flight(const cg_sourceq *q, const char *member)
{
    long n = 0;
    for (const pending *p = q->pending; p; p = p->next)
        n += strcmp(p->member, member) == 0;
    return n;
}

static void on_answer(void *arg, cg_bus_answer_status status, const char *body,
                      const char *instance);

cg_status cg_sourceq_ask(cg_sourceq *q, const cg_principal *who, const char *source,
                         json_t *body, cg_sourceq_done_fn fn, void *arg, cg_result *r)
{
    const char *reason = NULL, *case_id = NULL;
    json_t *params = NULL;
    if (parse_body(body, &reason, &case_id, &params, r) != CG_OK)
        return r->status;
    json_t *all = served(q);
    json_t *desc = valid_name(source) ? find_source(all, source) : NULL;
    pending *p = NULL;
    cg_status rc = CG_OK;
    if (!desc && !(valid_name(source) && builtin_title(source))) {
        rc = cg_fail(r, CG_E_NOT_FOUND, "unknown_source", "没有名为 %.40s 的数据源", source);
        goto out;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        rc = cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
        goto out;
    }
    if ((rc = cg_source_access_for(q->st, q->policy, who, source, &p->access, r)) != CG_OK)
        goto out;
    int64_t now = cg_now_ms();
    long long today = cg_audit_count_since(q->st, who->member_id,
                                           cg_city_day_start_ms(cg_city_day(now)));
    if (today < 0) {
        rc = cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot read the audit");
        goto out;
    }
    if (today + in_flight(q, who->member_id) >= q->conf->daily_limit) {
        rc = cg_fail(r, CG_E_THROTTLED, "daily_limit",
                     "今日查询次数已达上限（%d 次），明日再查", q->conf->daily_limit);
        goto out;
    }
    if (!desc) {
        rc = cg_fail(r, CG_E_UNAVAILABLE, "source_unavailable", "数据源 %s 当前没有插件提供服务",
                     source);
        goto out;
    }
    p->q = q;
    p->fn = fn;
    p->arg = arg;
    snprintf(p->member, sizeof p->member, "%s", who->member_id);
    snprintf(p->role, sizeof p->role, "%s", p->access.role);
    snprintf(p->department, sizeof p->department, "%s", p->access.department);
    p->source = strdup(source);
    p->params = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    p->reason = strdup(reason);
    p->case_id = case_id ? strdup(case_id) : NULL;
    p->fields = json_incref(json_object_get(desc, "fields"));
    p->spatial = json_is_true(json_object_get(desc, "spatial"));
    p->at = now;
    int max_rows = q->conf->max_rows * (p->spatial ? SPATIAL_OVERFETCH : 1);
    json_t *ask = json_pack("{s:s, s:O, s:i, s:I}", "source", source, "params", params,
                            "max_rows", max_rows, "deadline_ms",
                            (json_int_t)(now + q->conf->timeout_ms));
    char *text = ask ? json_dumps(ask, JSON_COMPACT) : NULL;
    json_decref(ask);
    if (!p->source || !p->params || !p->reason || !text || (case_id && !p->case_id) ||
        !json_is_array(p->fields)) {
        free(text);
        p->q = NULL;
        rc = cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
        goto out;
    }
    /* Linked before asking: in_flight counts it, the bus may call back. */
    p->next = q->pending;
    if (p->next)
        p->next->prev = p;
    q->pending = p;
    if (cg_bus_query(q->bus, source, text, q->conf->timeout_ms, on_answer, p) < 0) {
        free(text);
        rc = cg_fail(r, CG_E_UNAVAILABLE, "source_unavailable", "数据源 %s 当前没有插件提供服务",
                     source);
        goto out;
    }
    free(text);
    p = NULL;
out:
    pending_free(p);
    json_decref(params);
    json_decref(all);
    return rc;
}

/* ---- the answer ------------------------------------------------------- */

static double number_of(json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    const char *s = json_string_value(v);
    if (!s || !*s)
        return NAN;
    char *end;
    double d = strtod(s, &end);
    return *end ? NAN : d;
}

static long field_index(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && strcmp(n, name) == 0)
            return (long)i;
    }
    return -1;
}

/* The rows of an "ok" ANSWER, filtered, cut and masked into p->answer. */
static cg_status take_rows(pending *p, json_t *rows, cg_result *r)
{
    const cg_source_rule *rule = p->access.rule;
    json_t *items = json_array(), *masked = json_array();
    p->unmasked = json_array();
    size_t nf = json_array_size(p->fields);
    size_t i;
    json_t *f;
    json_array_foreach(p->fields, i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *klass = json_string_value(json_object_get(f, "class"));
        if (!name || !klass)
            continue;
        if (!cg_source_rule_shows(rule, name, klass))
            json_array_append_new(masked, json_string(name));
        else if (!cg_mask_is_public(klass))
            json_array_append_new(p->unmasked, json_string(name));
    }
    long lat_i = field_index(p->fields, "lat"), lon_i = field_index(p->fields, "lon");
    json_t *row;
    json_array_foreach(rows, i, row) {
        if ((long)json_array_size(items) >= p->q->conf->max_rows)
            break;
        if (!json_is_array(row) || json_array_size(row) != nf)
            continue;
        if (p->spatial) {
            double lat = lat_i >= 0 ? number_of(json_array_get(row, (size_t)lat_i)) : NAN;
            double lon = lon_i >= 0 ? number_of(json_array_get(row, (size_t)lon_i)) : NAN;
            int in = isfinite(lat) && isfinite(lon)
                         ? cg_source_access_covers(p->q->st, &p->access, lat, lon)
                         : 0;
            if (in < 0) {
                json_decref(items);
                json_decref(masked);
                return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot locate a row");
            }
            if (!in)
                continue;
        }
        json_t *item = json_object();
        size_t k;
        json_array_foreach(p->fields, k, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            const char *klass = json_string_value(json_object_get(f, "class"));
            json_t *v = json_array_get(row, k);
            if (!name)
                continue;
            if (json_is_null(v) || !v) {
                json_object_set_new(item, name, json_null());
            } else if (cg_source_rule_shows(rule, name, klass ? klass : "")) {
                json_object_set(item, name, v);
            } else {
                char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
                char *m = cg_mask_value(klass ? klass : "", text ? text : json_string_value(v));
                json_object_set_new(item, name, m ? json_string(m) : json_null());
                free(m);
                free(text);
            }
        }
        json_array_append_new(items, item);
    }
    p->rows = (long)json_array_size(items);
    p->answer = json_pack("{s:o, s:o}", "items", items, "masked", masked);
    return CG_OK;
}

static int audit_apply(cg_store *st, void *arg, char *err, size_t errlen)
{
    pending *p = arg;
    char *unmasked = json_dumps(p->unmasked ? p->unmasked : json_array(), JSON_COMPACT);
    cg_audit_entry e = {.at = p->at, .kind = "query", .member_id = p->member, .role = p->role,
                        .department = p->department, .source = p->source, .params = p->params,
                        .reason = p->reason, .case_id = p->case_id, .outcome = p->outcome,
                        .rows = p->rows, .unmasked = unmasked ? unmasked : "[]",
                        .instance = p->instance ? p->instance : ""};
    cg_result r;
    cg_status rc = cg_audit_append(st, &e, &p->audit_id, &r);
    free(unmasked);
    if (rc != CG_OK) {
        snprintf(err, errlen, "%s", r.message);
        return -1;
    }
    return 0;
}

static void audit_done(void *arg, int status, const char *err)
{
    pending *p = arg;
    if (status != 0) {
        CG_ERROR(SOURCES_LOG, "query of %s by %s not audited: %s", p->source, p->member,
                 err ? err : "?");
        cg_fail(&p->result, CG_E_INTERNAL, "audit_failed",
                "the query could not be audited; its rows are withheld");
        p->fn(p->arg, NULL, &p->result);
    } else if (p->result.status == CG_OK) {
        json_object_set_new(p->answer, "audit_id", json_integer(p->audit_id));
        json_t *answer = p->answer;
        p->answer = NULL;
        p->fn(p->arg, answer, &p->result);
    } else {
        p->fn(p->arg, NULL, &p->result);
    }
    pending_free(p);
}

static void on_answer(void *arg, cg_bus_answer_status status, const char *body,
                      const char *instance)
{
    pending *p = arg;
    p->instance = strdup(instance ? instance : "");
    cg_result_clear(&p->result);
    p->outcome = "ok";
    if (status == CG_BUS_ANSWER_TIMEOUT) {
        p->outcome = "timeout";
        cg_fail(&p->result, CG_E_TIMEOUT, "source_timeout", "数据源 %s 未在 %d 毫秒内答复",
                p->source, p->q->conf->timeout_ms);
    } else if (status != CG_BUS_ANSWER_OK) {
        p->outcome = "unavailable";
        cg_fail(&p->result, CG_E_UNAVAILABLE, "source_unavailable",
                "数据源 %s 的插件已断开", p->source);
    } else {
        json_t *a = json_loads(body ? body : "", 0, NULL);
        const char *st = json_string_value(json_object_get(a, "status"));
        json_t *rows = json_object_get(a, "rows");
        if (st && strcmp(st, "ok") == 0 && json_is_array(rows)) {
            if (take_rows(p, rows, &p->result) != CG_OK)
                p->outcome = "error";
        } else if (st && strcmp(st, "unavailable") == 0) {
            p->outcome = "unavailable";
            cg_fail(&p->result, CG_E_UNAVAILABLE, "source_unavailable",
                    "数据源 %s 暂不可用", p->source);
        } else {
            p->outcome = "error";
            cg_fail(&p->result, CG_E_UNAVAILABLE, "source_error", "数据源 %s 查询出错",
                    p->source);
        }
        json_decref(a);
    }
    if (!p->q->batch) {
        /* Shutting down: nothing is audited, so nothing goes out. */
        cg_fail(&p->result, CG_E_UNAVAILABLE, "shutting_down", "the server is stopping");
        p->fn(p->arg, NULL, &p->result);
        pending_free(p);
        return;
    }
    cg_batch_submit(p->q->batch, audit_apply, audit_done, p);
}

/* ---- retention -------------------------------------------------------- */

typedef struct purge_job {
    int64_t before, now;
    long purged;
} purge_job;

static int purge_apply(cg_store *st, void *arg, char *err, size_t errlen)
{
    purge_job *j = arg;
    cg_result r;
    if (cg_audit_purge(st, j->before, j->now, &j->purged, &r) != CG_OK) {
        snprintf(err, errlen, "%s", r.message);
        return -1;
    }
    return 0;
}

static void purge_done(void *arg, int status, const char *err)
{
    if (status != 0)
        CG_ERROR(SOURCES_LOG, "audit retention purge failed: %s", err ? err : "?");
    free(arg);
}

void cg_sourceq_purge(cg_sourceq *q)
{
    if (!q || !q->batch || q->conf->retention_days <= 0)
        return;
    purge_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->now = cg_now_ms();
    j->before = j->now - (int64_t)q->conf->retention_days * CG_DAY_MS;
    cg_batch_submit(q->batch, purge_apply, purge_done, j);
}
