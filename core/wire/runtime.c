/*
 * runtime.c — hosts one plugin and speaks CGBP/1 to the core over a DEALER
 * (see runtime.h and core/wire/PROTOCOL.md). Implements the citygrid_host table.
 *
 * Everything except cg_runtime_start/stop runs on the runtime's own thread:
 * the DEALER, the plugin callbacks, the timers and the result cache are only
 * touched there, so nothing here needs a lock except the init handshake.
 * Stopping uses an inproc PAIR pipe polled beside the DEALER, so a stop is
 * seen at once without a busy poll timeout.
 *
 * Each connection gets a fresh random identity: after a reconnect the core
 * sees a new peer (its old deliveries were re-queued when the old one was
 * dropped) and this runtime answers re-deliveries from its result cache
 * without calling handle() again.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wire/runtime.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "lib/log.h"
#include "lib/jsontext.h"
#include "wire/handshake.h"
#include "wire/protocol.h"
#include "lib/timeutil.h"

#define DRAIN_BUDGET 256
#define RT_HWM 10000
#define CORE_SILENT_BEATS 3
#define MAX_RECONNECT_DELAY_MS 30000
#define RUN_MODE_POLL_MS 100  /* cg_runtime_run: how often *stop is looked at */
#define MAX_TEXT_BYTES 4000   /* note / transfer reason */
#define REFUSAL_REPEAT_MS 60000 /* a refused key is said again this often */

struct citygrid_plugin_ctx {
    struct cg_runtime *rt;
};

typedef struct rt_timer {
    struct rt_timer *next;
    long long id;
    int64_t due;
    unsigned interval;
    int repeat;
    citygrid_timer_fn fn;
    void *arg;
} rt_timer;

/* An ok RESULT kept until the core ACKs it (hash by id + oldest-first list). */
typedef struct cached_result {
    struct cached_result *hnext, *newer, *older;
    char id[64];
    char *body;
    size_t len;
} cached_result;

struct cg_runtime {
    citygrid_plugin_ctx ctx;
    citygrid_host host;
    const citygrid_plugin *plugin;
    char name[64];            /* log component */
    char *endpoint, *mode;
    char instance[64];
    char curve_server[41], curve_public[41], curve_secret[41]; /* "" : no CURVE */
    json_t *settings;         /* object; strings handed out stay valid until free */
    citygrid_abi abi;
    unsigned credit;
    int heartbeat_ms;

    void *zctx;
    int own_zctx;
    void *sock;               /* DEALER, NULL while waiting to reconnect */
    void *watch;              /* CURVE only: the DEALER's handshake monitor (handshake.h) */
    unsigned failed_handshakes; /* in a row, since the last one that succeeded */
    int64_t failure_said_at;  /* when the last failure was logged (monotonic ms) */
    void *stop_tx, *stop_rx;  /* PAIR pipe (thread mode) */
    char stop_endpoint[96];
    volatile int *stop_flag;  /* run mode */
    pthread_t thread;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int init_state;           /* 0 pending, 1 ok, -1 failed */
    char init_err[160];

    void *user_data;
    int in_handle;
    int in_event;             /* on_event(): only note/escalate/require/link */
    const char *handling_case;
    const citygrid_case *handling;  /* the case handed to the callback */
    json_t *handling_extra;   /* its "extra" object (borrowed), or NULL */
    json_t *departments;      /* code -> {"name","name_zh"} from the core's welcome */
    const citygrid_query *querying;   /* inside query() (ABI 1.4), else NULL */
    const citygrid_source *query_source;
    json_t *rows;             /* the answer being built */
    json_t *old_departments;  /* replaced catalogs: their strings stay valid until shutdown */
    json_t *actions;

    rt_timer *timers;
    long long next_timer_id;

    cached_result **buckets;
    size_t n_buckets, n_cached, max_cached;
    cached_result *oldest, *newest;

    int64_t last_heard, next_beat, reconnect_at;
    /* source_query(): messages that came while the plugin waited for its
     * ANSWER, handled in order once the callback is over. */
    cg_msg *deferred;
    size_t n_deferred, cap_deferred;
    unsigned long long next_ask;
    int reconnect_delay_ms;
    unsigned connections;
};

/* ------------------------------------------------------------- host: log, settings */

static void host_log(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    if (!fmt)
        return;
    if (level < CITYGRID_LOG_ERROR)
        level = CITYGRID_LOG_ERROR;
    if (level > CITYGRID_LOG_DEBUG)
        level = CITYGRID_LOG_DEBUG;
    va_list ap;
    va_start(ap, fmt);
    cg_vlog(level, ctx && ctx->rt ? ctx->rt->name : "plugin", fmt, ap);
    va_end(ap);
}

static json_t *setting(citygrid_plugin_ctx *ctx, const char *key)
{
    if (!ctx || !key)
        return NULL;
    return json_object_get(ctx->rt->settings, key);
}

static const char *host_setting_string(citygrid_plugin_ctx *ctx, const char *key, const char *def)
{
    json_t *v = setting(ctx, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

static long long host_setting_int(citygrid_plugin_ctx *ctx, const char *key, long long def)
{
    json_t *v = setting(ctx, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

static double host_setting_double(citygrid_plugin_ctx *ctx, const char *key, double def)
{
    json_t *v = setting(ctx, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

static int host_setting_bool(citygrid_plugin_ctx *ctx, const char *key, int def)
{
    json_t *v = setting(ctx, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* ------------------------------------------------------------- host: case actions */

static int valid_text(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

/* Actions are only for the case being handled, on the runtime's thread. */
static int case_check(citygrid_plugin_ctx *ctx, const char *case_id)
{
    if (!ctx)
        return CITYGRID_E_INVALID;
    if (!ctx->rt->in_handle)
        return CITYGRID_E_STATE;
    if (!case_id || !*case_id)
        return CITYGRID_E_INVALID;
    if (strcmp(case_id, ctx->rt->handling_case) != 0)
        return CITYGRID_E_STATE;
    return CITYGRID_OK;
}

static int add_action(citygrid_plugin_ctx *ctx, json_t *action)
{
    if (!action) /* json_pack refuses invalid UTF-8 */
        return CITYGRID_E_INVALID;
    return json_array_append_new(ctx->rt->actions, action) == 0 ? CITYGRID_OK : CITYGRID_E_NOMEM;
}

/* Taking or moving a case is for handle() only, not for on_event(). */
static int take_check(citygrid_plugin_ctx *ctx, const char *case_id)
{
    int rc = case_check(ctx, case_id);
    return rc ? rc : ctx->rt->in_event ? CITYGRID_E_STATE : CITYGRID_OK;
}

static int host_case_accept(citygrid_plugin_ctx *ctx, const char *case_id)
{
    int rc = take_check(ctx, case_id);
    return rc ? rc : add_action(ctx, json_pack("{s:s}", "type", "accept"));
}

static int host_case_assign(citygrid_plugin_ctx *ctx, const char *case_id, const char *assignee)
{
    int rc = take_check(ctx, case_id);
    if (rc)
        return rc;
    if (!valid_text(assignee, 63))
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s}", "type", "assign", "assignee", assignee));
}

static int host_case_set_deadline(citygrid_plugin_ctx *ctx, const char *case_id, int64_t at)
{
    int rc = take_check(ctx, case_id);
    if (rc)
        return rc;
    if (at <= 0)
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:I}", "type", "deadline", "at", (json_int_t)at));
}

static int host_case_transfer(citygrid_plugin_ctx *ctx, const char *case_id,
                              const char *department, const char *reason)
{
    int rc = take_check(ctx, case_id);
    if (rc)
        return rc;
    if (!valid_text(department, 31) || !valid_text(reason, MAX_TEXT_BYTES))
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s, s:s}", "type", "transfer", "department",
                                     department, "reason", reason));
}

static int host_case_note(citygrid_plugin_ctx *ctx, const char *case_id, const char *text)
{
    int rc = case_check(ctx, case_id);
    if (rc)
        return rc;
    if (!valid_text(text, MAX_TEXT_BYTES))
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s}", "type", "note", "text", text));
}

/* ABI 1.2 (see plugin.h). The core validates again when it applies them. */
static int host_case_escalate(citygrid_plugin_ctx *ctx, const char *case_id, const char *level,
                              const char *reason)
{
    int rc = case_check(ctx, case_id);
    if (rc)
        return rc;
    if (!level || (strcmp(level, "community") && strcmp(level, "joint") && strcmp(level, "city")) ||
        (reason && strlen(reason) > MAX_TEXT_BYTES))
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s, s:s}", "type", "escalate", "level", level,
                                     "reason", reason ? reason : ""));
}

static int host_case_require(citygrid_plugin_ctx *ctx, const char *case_id, const char *what)
{
    int rc = case_check(ctx, case_id);
    if (rc)
        return rc;
    size_t n = what ? strlen(what) : 0;
    if (n == 0 || n > 47)
        return CITYGRID_E_INVALID;
    for (size_t i = 0; i < n; i++)
        if (!((what[i] >= 'a' && what[i] <= 'z') || (what[i] >= '0' && what[i] <= '9') ||
              what[i] == '_'))
            return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s}", "type", "require", "what", what));
}

static int host_case_link(citygrid_plugin_ctx *ctx, const char *case_id, const char *kind,
                          const char *ref)
{
    int rc = case_check(ctx, case_id);
    if (rc)
        return rc;
    if (!kind || strcmp(kind, "licence") != 0 || !valid_text(ref, 64))
        return CITYGRID_E_INVALID;
    return add_action(ctx, json_pack("{s:s, s:s, s:s}", "type", "link", "kind", kind, "ref", ref));
}

/* ABI 1.3: the case's extra fields, read from the dispatch already parsed. */
static int extra_member(citygrid_plugin_ctx *ctx, const citygrid_case *c, const char *key,
                        const void *out, json_t **v)
{
    if (!ctx || !c || !key || !out)
        return CITYGRID_E_INVALID;
    cg_runtime *rt = ctx->rt;
    if (!rt->in_handle || c != rt->handling)
        return CITYGRID_E_STATE;
    *v = json_object_get(rt->handling_extra, key);
    return !*v || json_is_null(*v) ? CITYGRID_E_NOTFOUND : CITYGRID_OK;
}

static int host_case_extra_string(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                                  const char *key, const char **out)
{
    json_t *v;
    int rc = extra_member(ctx, c, key, out, &v);
    if (rc)
        return rc;
    if (!json_is_string(v))
        return CITYGRID_E_INVALID;
    *out = json_string_value(v);
    return CITYGRID_OK;
}

static int host_case_extra_number(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                                  const char *key, double *out)
{
    json_t *v;
    int rc = extra_member(ctx, c, key, out, &v);
    if (rc)
        return rc;
    if (!json_is_number(v))
        return CITYGRID_E_INVALID;
    *out = json_number_value(v);
    return CITYGRID_OK;
}

static int host_case_extra_bool(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                                const char *key, int *out)
{
    json_t *v;
    int rc = extra_member(ctx, c, key, out, &v);
    if (rc)
        return rc;
    if (!json_is_boolean(v))
        return CITYGRID_E_INVALID;
    *out = json_is_true(v);
    return CITYGRID_OK;
}

static int host_department_names(citygrid_plugin_ctx *ctx, const char *code, const char **name,
                                 const char **name_zh)
{
    if (!ctx || !code)
        return CITYGRID_E_INVALID;
    if (!ctx->rt->departments)
        return CITYGRID_E_STATE;
    json_t *d = json_object_get(ctx->rt->departments, code);
    const char *en = json_string_value(json_object_get(d, "name"));
    const char *zh = json_string_value(json_object_get(d, "name_zh"));
    if (!en || !zh)
        return CITYGRID_E_NOTFOUND;
    if (name)
        *name = en;
    if (name_zh)
        *name_zh = zh;
    return CITYGRID_OK;
}

/* ABI 1.4: one row of the answer to the query being run. */
static int host_query_row(citygrid_plugin_ctx *ctx, const citygrid_query *q,
                          const char *const *values)
{
    if (!ctx || !q || !values)
        return CITYGRID_E_INVALID;
    cg_runtime *rt = ctx->rt;
    if (!rt->querying || q != rt->querying || json_array_size(rt->rows) >= q->max_rows)
        return CITYGRID_E_STATE;
    json_t *row = json_array();
    if (!row)
        return CITYGRID_E_NOMEM;
    for (size_t i = 0; i < rt->query_source->n_fields; i++) {
        json_t *v = values[i] ? json_string(values[i]) : json_null(); /* NULL: not UTF-8 */
        if (!v || (values[i] && strlen(values[i]) > MAX_TEXT_BYTES)) {
            json_decref(v);
            json_decref(row);
            return CITYGRID_E_INVALID;
        }
        json_array_append_new(row, v);
    }
    return json_array_append_new(rt->rows, row) == 0 ? CITYGRID_OK : CITYGRID_E_NOMEM;
}

/* The core's answer to READY may carry its department catalog (CGBP/1,
 * PROTOCOL.md "READY"). A catalog handed out before stays alive: the plugin
 * may hold its strings until shutdown. */
static void take_welcome(cg_runtime *rt, const cg_msg *m)
{
    if (!m->body_len)
        return;
    json_t *o = json_loadb(m->body, m->body_len, 0, NULL);
    json_t *deps = json_object_get(o, "departments");
    if (json_is_object(deps) && !json_equal(deps, rt->departments)) {
        if (rt->departments) {
            if (!rt->old_departments)
                rt->old_departments = json_array();
            json_array_append_new(rt->old_departments, rt->departments);
        }
        rt->departments = json_incref(deps);
    }
    json_decref(o);
}

/* ------------------------------------------------------------- host: timers, misc */

static long long host_timer_add(citygrid_plugin_ctx *ctx, unsigned ms, int repeat,
                                citygrid_timer_fn fn, void *arg)
{
    if (!ctx || !fn || (repeat && ms == 0))
        return CITYGRID_E_INVALID;
    rt_timer *t = calloc(1, sizeof *t);
    if (!t)
        return CITYGRID_E_NOMEM;
    cg_runtime *rt = ctx->rt;
    t->id = ++rt->next_timer_id;
    t->due = cg_monotonic_ms() + ms;
    t->interval = ms;
    t->repeat = repeat != 0;
    t->fn = fn;
    t->arg = arg;
    t->next = rt->timers;
    rt->timers = t;
    return t->id;
}

static int host_timer_cancel(citygrid_plugin_ctx *ctx, long long id)
{
    if (!ctx || id <= 0)
        return CITYGRID_E_INVALID;
    for (rt_timer **pp = &ctx->rt->timers; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id) {
            rt_timer *t = *pp;
            *pp = t->next;
            free(t);
            return CITYGRID_OK;
        }
    return CITYGRID_E_NOTFOUND;
}

static void host_set_user_data(citygrid_plugin_ctx *ctx, void *data)
{
    if (ctx)
        ctx->rt->user_data = data;
}

static void *host_user_data(citygrid_plugin_ctx *ctx) { return ctx ? ctx->rt->user_data : NULL; }

static int64_t host_now(citygrid_plugin_ctx *ctx) { return cg_now_ms() / 1000; }

/* ABI 1.1. Clamped like host_log(), so the answer matches what log() does. */
static int host_log_enabled(citygrid_plugin_ctx *ctx, int level)
{
    if (level < CITYGRID_LOG_ERROR)
        level = CITYGRID_LOG_ERROR;
    if (level > CITYGRID_LOG_DEBUG)
        level = CITYGRID_LOG_DEBUG;
    return level <= cg_log_level();
}

/* ------------------------------------------------------------- host: asking a source */

#define ASK_MIN_MS 100
#define ASK_MAX_MS 5000
#define ASK_MAX_ROWS 100
#define MAX_DEFERRED 4096

static void defer(cg_runtime *rt, cg_msg *m)
{
    if (rt->n_deferred == rt->cap_deferred) {
        size_t cap = rt->cap_deferred ? rt->cap_deferred * 2 : 16;
        cg_msg *d = cap <= MAX_DEFERRED ? realloc(rt->deferred, cap * sizeof *d) : NULL;
        if (!d) {
            /* The core re-sends a dispatch after its lease and a query's
             * asker has a deadline: dropping loses nothing for good. */
            CG_WARN(rt->name, "%s %s dropped while the plugin waited for a source",
                    cg_msg_type_name(m->type), m->id);
            cg_msg_clear(m);
            return;
        }
        rt->deferred = d;
        rt->cap_deferred = cap;
    }
    rt->deferred[rt->n_deferred++] = *m; /* takes the body */
}

static void on_core_message(cg_runtime *rt, const cg_msg *m);
static void link_send(cg_runtime *rt, cg_msg_type type, const char *id, const char *body,
                      size_t len);

/* Wait on the link for the ANSWER `id` until `deadline` (monotonic ms),
 * beating meanwhile; everything else is deferred (ACKs and HEARTBEATs are
 * taken at once: they call no plugin code). The ANSWER's JSON, or NULL. */
static json_t *await_answer(cg_runtime *rt, const char *id, int64_t deadline)
{
    while (rt->sock) {
        int64_t now = cg_monotonic_ms();
        if (now >= deadline)
            return NULL;
        if (now >= rt->next_beat) {
            link_send(rt, CG_MSG_HEARTBEAT, "", "", 0);
            rt->next_beat = now + rt->heartbeat_ms;
        }
        int64_t wake = deadline < rt->next_beat ? deadline : rt->next_beat;
        zmq_pollitem_t item = {.socket = rt->sock, .events = ZMQ_POLLIN};
        int rc = zmq_poll(&item, 1, (long)(wake > now ? wake - now : 0));
        if (rc < 0 && errno != EINTR)
            return NULL;
        if (rc <= 0)
            continue;
        for (;;) {
            cg_msg m;
            const char *why = NULL;
            int r = cg_msg_recv(rt->sock, NULL, NULL, &m, ZMQ_DONTWAIT, &why);
            if (r == -1)
                break;
            rt->last_heard = cg_monotonic_ms();
            if (r == -2)
                continue;
            if (m.type == CG_MSG_ANSWER && strcmp(m.id, id) == 0) {
                json_t *o = json_loadb(m.body, m.body_len, 0, NULL);
                cg_msg_clear(&m);
                return o;
            }
            if (m.type == CG_MSG_ANSWER) { /* an earlier ask's, after its deadline */
                cg_msg_clear(&m);
            } else if (m.type == CG_MSG_ACK || m.type == CG_MSG_HEARTBEAT) {
                on_core_message(rt, &m);
                cg_msg_clear(&m);
            } else {
                defer(rt, &m);
            }
        }
    }
    return NULL;
}

static int host_source_query(citygrid_plugin_ctx *ctx, const char *source, const char *q,
                             unsigned max_rows, unsigned timeout_ms,
                             int (*fn)(void *arg, size_t n_fields, const char *const *names,
                                       const char *const *values),
                             void *arg)
{
    if (!ctx || !source || !*source || !fn || strlen(source) > 31 || (q && strlen(q) > 200))
        return CITYGRID_E_INVALID;
    cg_runtime *rt = ctx->rt;
    if (!rt->in_handle)
        return CITYGRID_E_STATE;
    if (!rt->sock)
        return CITYGRID_E_RETRY;
    unsigned wait = timeout_ms < ASK_MIN_MS ? ASK_MIN_MS : timeout_ms > ASK_MAX_MS ? ASK_MAX_MS
                                                                                   : timeout_ms;
    char id[32];
    snprintf(id, sizeof id, "A%llu", ++rt->next_ask);
    json_t *body = json_pack("{s:s, s:{s:s}, s:i, s:i, s:s}", "source", source, "params", "q",
                             q ? q : "", "max_rows",
                             (int)(max_rows == 0 || max_rows > ASK_MAX_ROWS ? ASK_MAX_ROWS
                                                                            : max_rows),
                             "timeout_ms", (int)wait, "case",
                             rt->handling_case ? rt->handling_case : "");
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return CITYGRID_E_INVALID; /* not UTF-8 */
    link_send(rt, CG_MSG_QUERY, id, text, strlen(text));
    free(text);
    /* The core answers at its own deadline (wait); a little more here for
     * that answer to travel. */
    json_t *a = await_answer(rt, id, cg_monotonic_ms() + wait + 500);
    if (!a)
        return CITYGRID_E_RETRY;
    const char *status = json_string_value(json_object_get(a, "status"));
    int rc = CITYGRID_E_RETRY;
    if (status && strcmp(status, "ok") == 0) {
        json_t *names = json_object_get(a, "fields"), *rows = json_object_get(a, "rows");
        size_t n = json_array_size(names);
        const char *nv[64], *vv[64];
        rc = CITYGRID_OK;
        for (size_t i = 0; i < n && i < 64; i++)
            nv[i] = json_string_value(json_array_get(names, i));
        size_t ri;
        json_t *row;
        json_array_foreach(rows, ri, row) {
            if (n == 0 || n > 64 || json_array_size(row) != n)
                break;
            for (size_t i = 0; i < n; i++)
                vv[i] = json_string_value(json_array_get(row, i));
            if (fn(arg, n, nv, vv) != 0)
                break;
        }
    } else if (status && (strcmp(status, "refused") == 0 || strcmp(status, "not_found") == 0)) {
        rc = CITYGRID_E_NOTFOUND;
    }
    json_decref(a);
    return rc;
}

/* Messages deferred by a source_query(), in the order they came. */
static void run_deferred(cg_runtime *rt)
{
    while (rt->n_deferred > 0) {
        cg_msg m = rt->deferred[0];
        memmove(rt->deferred, rt->deferred + 1, (rt->n_deferred - 1) * sizeof *rt->deferred);
        rt->n_deferred--;
        on_core_message(rt, &m);
        cg_msg_clear(&m);
    }
}

static void fill_host(citygrid_host *h)
{
    memset(h, 0, sizeof *h);
    h->size = sizeof *h;
    h->abi.major = CITYGRID_ABI_MAJOR;
    h->abi.minor = CITYGRID_ABI_MINOR;
    h->log = host_log;
    h->setting_string = host_setting_string;
    h->setting_int = host_setting_int;
    h->setting_double = host_setting_double;
    h->setting_bool = host_setting_bool;
    h->case_accept = host_case_accept;
    h->case_assign = host_case_assign;
    h->case_set_deadline = host_case_set_deadline;
    h->case_transfer = host_case_transfer;
    h->case_note = host_case_note;
    h->timer_add = host_timer_add;
    h->timer_cancel = host_timer_cancel;
    h->set_user_data = host_set_user_data;
    h->user_data = host_user_data;
    h->now = host_now;
    h->log_enabled = host_log_enabled;
    h->case_escalate = host_case_escalate;
    h->case_require = host_case_require;
    h->case_link = host_case_link;
    h->case_extra_string = host_case_extra_string;
    h->case_extra_number = host_case_extra_number;
    h->case_extra_bool = host_case_extra_bool;
    h->department_names = host_department_names;
    h->query_row = host_query_row;
    h->source_query = host_source_query;
}

/* Run what is due. A repeating timer is re-armed before its callback so the
 * callback may cancel it; the guard stops a callback that keeps adding
 * zero-delay timers from starving the socket. */
static void run_timers(cg_runtime *rt)
{
    int64_t now = cg_monotonic_ms();
    for (int guard = 0; guard < 1000; guard++) {
        rt_timer *t = NULL;
        for (rt_timer *x = rt->timers; x; x = x->next)
            if (x->due <= now && (!t || x->due < t->due))
                t = x;
        if (!t)
            return;
        citygrid_timer_fn fn = t->fn;
        void *arg = t->arg;
        if (t->repeat)
            t->due = now + t->interval;
        else
            host_timer_cancel(&rt->ctx, t->id);
        fn(&rt->ctx, arg);
    }
}

static int64_t next_timer_due(const cg_runtime *rt, int64_t fallback)
{
    int64_t due = fallback;
    for (const rt_timer *t = rt->timers; t; t = t->next)
        if (t->due < due)
            due = t->due;
    return due;
}

/* ------------------------------------------------------------- result cache */

static size_t hash_id(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static cached_result *cache_find(const cg_runtime *rt, const char *id)
{
    for (cached_result *c = rt->buckets[hash_id(id) % rt->n_buckets]; c; c = c->hnext)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

static void cache_drop(cg_runtime *rt, cached_result *c)
{
    for (cached_result **pp = &rt->buckets[hash_id(c->id) % rt->n_buckets]; *pp;
         pp = &(*pp)->hnext)
        if (*pp == c) {
            *pp = c->hnext;
            break;
        }
    if (c->older)
        c->older->newer = c->newer;
    else
        rt->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        rt->newest = c->older;
    rt->n_cached--;
    free(c->body);
    free(c);
}

/* Takes ownership of body. */
static void cache_put(cg_runtime *rt, const char *id, char *body, size_t len)
{
    cached_result *c = calloc(1, sizeof *c);
    if (!c) {
        free(body);
        return;
    }
    /* The core holds at most `credit` un-ACKed deliveries per peer, so with
     * max_cached >= 2 * credit an eviction only drops an already lost ACK. */
    while (rt->n_cached >= rt->max_cached && rt->oldest)
        cache_drop(rt, rt->oldest);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->body = body;
    c->len = len;
    size_t b = hash_id(id) % rt->n_buckets;
    c->hnext = rt->buckets[b];
    rt->buckets[b] = c;
    c->older = rt->newest;
    if (rt->newest)
        rt->newest->newer = c;
    else
        rt->oldest = c;
    rt->newest = c;
    rt->n_cached++;
}

/* ------------------------------------------------------------- the link to the core */

static void link_send(cg_runtime *rt, cg_msg_type type, const char *id, const char *body,
                      size_t len)
{
    if (!rt->sock)
        return;
    /* Never block the plugin's thread: a full pipe drops the message, and the
     * core's lease brings the delivery back (answered from the cache). */
    if (cg_msg_send(rt->sock, NULL, 0, type, id, body, len, ZMQ_DONTWAIT) < 0) {
        /* After a failed handshake the reason was said plainly already;
         * "not sent" would only repeat its consequence. */
        if (rt->failed_handshakes)
            CG_DEBUG(rt->name, "%s %s not sent: %s", cg_msg_type_name(type), id ? id : "",
                     zmq_strerror(errno));
        else
            CG_WARN(rt->name, "%s %s not sent: %s", cg_msg_type_name(type), id ? id : "",
                    zmq_strerror(errno));
    }
}

/* ABI 1.4: a plugin answering 1.4+ with sources and query(). */
static int serves_sources(const cg_runtime *rt)
{
    return rt->abi.major == 1 && rt->abi.minor >= 4 && rt->plugin->sources && rt->plugin->query;
}

static const citygrid_source *find_source(const citygrid_plugin *pl, const char *name)
{
    for (const citygrid_source *const *s = pl->sources; s && *s; s++)
        if ((*s)->name && strcmp((*s)->name, name) == 0)
            return *s;
    return NULL;
}

/* READY's "sources": what the core may ask, and how sensitive each field is. */
static json_t *sources_json(const citygrid_plugin *pl)
{
    json_t *all = json_array();
    for (const citygrid_source *const *s = pl->sources; s && *s; s++) {
        json_t *fields = json_array();
        for (size_t i = 0; i < (*s)->n_fields; i++)
            json_array_append_new(fields, json_pack("{s:s?, s:s?}", "name", (*s)->fields[i].name,
                                                    "class", (*s)->fields[i].sensitivity));
        json_array_append_new(all, json_pack("{s:s?, s:s?, s:b, s:o}", "name", (*s)->name,
                                             "title_zh", (*s)->title_zh, "spatial",
                                             (*s)->spatial != 0, "fields", fields));
    }
    return all;
}

static char *ready_body(const cg_runtime *rt)
{
    const citygrid_plugin *pl = rt->plugin;
    json_t *cats = json_array();
    for (const char *const *c = pl->categories; c && *c; c++)
        json_array_append_new(cats, json_string(*c));
    char abi[16];
    snprintf(abi, sizeof abi, "%u.%u", (unsigned)rt->abi.major, (unsigned)rt->abi.minor);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s}",
                          "name", rt->name, "version", pl->version ? pl->version : "",
                          "department", pl->department ? pl->department : "",
                          "department_zh", pl->department_zh ? pl->department_zh : "",
                          "categories", cats, "abi", abi, "mode", rt->mode,
                          "pid", (json_int_t)getpid(), "credit", (json_int_t)rt->credit,
                          "instance", rt->instance);
    json_t *sources = serves_sources(rt) ? sources_json(pl) : NULL;
    if (o && sources)
        json_object_set_new(o, "sources", sources);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* A handshake's outcome, said plainly on this side: a refusal at once and
 * then every REFUSAL_REPEAT_MS while libzmq keeps retrying, its end once. */
static void on_handshake(cg_runtime *rt, const cg_handshake_event *ev)
{
    char text[640];
    int64_t now = cg_monotonic_ms();
    cg_handshake_describe(ev, rt->curve_public, rt->plugin->department, text, sizeof text);
    if (ev->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        if (rt->failed_handshakes)
            CG_NOTICE(rt->name, "%s (after %u failed handshakes)", text, rt->failed_handshakes);
        else
            CG_DEBUG(rt->name, "%s", text);
        rt->failed_handshakes = 0;
        return;
    }
    rt->failed_handshakes++;
    if (rt->failed_handshakes == 1 || now - rt->failure_said_at >= REFUSAL_REPEAT_MS) {
        if (rt->failed_handshakes == 1)
            CG_ERROR(rt->name, "%s", text);
        else
            CG_ERROR(rt->name, "%s (%u failed handshakes so far)", text, rt->failed_handshakes);
        rt->failure_said_at = now;
    }
}

static void watch_drain(cg_runtime *rt)
{
    cg_handshake_event ev;
    int rc;
    while (rt->watch && (rc = cg_handshake_read(rt->watch, &ev)) != 0) {
        if (rc < 0) {
            CG_WARN(rt->name, "handshake monitor failed: %s", zmq_strerror(errno));
            cg_handshake_unwatch(rt->sock, rt->watch);
            rt->watch = NULL;
            return;
        }
        on_handshake(rt, &ev);
    }
}

static void link_close(cg_runtime *rt, int linger)
{
    if (!rt->sock)
        return;
    if (rt->watch) {
        watch_drain(rt); /* an outcome already known is still said */
        cg_handshake_unwatch(rt->sock, rt->watch);
        rt->watch = NULL;
    }
    zmq_setsockopt(rt->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(rt->sock);
    rt->sock = NULL;
}

static void link_open(cg_runtime *rt)
{
    int64_t now = cg_monotonic_ms();
    void *s = zmq_socket(rt->zctx, ZMQ_DEALER);
    if (!s) {
        CG_ERROR(rt->name, "cannot create a DEALER: %s", zmq_strerror(errno));
        rt->reconnect_at = now + rt->reconnect_delay_ms;
        return;
    }
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
        rnd = (uint64_t)cg_now_ms() ^ (uint64_t)(uintptr_t)rt;
    char identity[128];
    int ilen = snprintf(identity, sizeof identity, "%.40s-%ld-%016" PRIx64 "-%u", rt->name,
                        (long)getpid(), rnd, ++rt->connections);
    int zero = 0, hwm = RT_HWM;
    zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, (size_t)ilen);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (rt->curve_server[0] &&
        (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, rt->curve_server, 40) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, rt->curve_public, 40) != 0 ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, rt->curve_secret, 40) != 0)) {
        CG_ERROR(rt->name, "cannot set the CURVE keys: %s", zmq_strerror(errno));
        zmq_close(s);
        rt->reconnect_at = now + rt->reconnect_delay_ms;
        return;
    }
    void *watch = NULL;
    if (rt->curve_server[0]) {
        /* Watched before connect, so the first handshake is seen too. */
        char tag[96];
        snprintf(tag, sizeof tag, "%p-%u", (void *)rt, rt->connections);
        watch = cg_handshake_watch(rt->zctx, s, tag);
        if (!watch)
            CG_WARN(rt->name, "cannot watch the handshakes with %s (%s): a refused key will "
                    "show only as silence", rt->endpoint, zmq_strerror(errno));
    }
    if (zmq_connect(s, rt->endpoint) != 0) {
        CG_ERROR(rt->name, "cannot connect to %s: %s", rt->endpoint, zmq_strerror(errno));
        cg_handshake_unwatch(s, watch);
        zmq_close(s);
        rt->reconnect_at = now + rt->reconnect_delay_ms;
        return;
    }
    rt->sock = s;
    rt->watch = watch;
    rt->last_heard = now;
    rt->next_beat = now + rt->heartbeat_ms;
    char *body = ready_body(rt);
    link_send(rt, CG_MSG_READY, "", body, body ? strlen(body) : 0);
    free(body);
    CG_DEBUG(rt->name, "READY sent to %s as %s", rt->endpoint, identity);
}

/* The core said DISCONNECT or went silent: drop this identity, come back later. */
static void link_reset(cg_runtime *rt, int delay_ms)
{
    link_close(rt, 0);
    rt->reconnect_at = cg_monotonic_ms() + delay_ms;
}

/* ------------------------------------------------------------- DISPATCH */

static const char *str_member(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t int_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : (int64_t)json_number_value(v);
}

static void send_result(cg_runtime *rt, const char *id, int code, json_t *actions)
{
    const char *status = code == CITYGRID_OK ? "ok" : code == CITYGRID_E_RETRY ? "retry" : "error";
    /* Actions only count with "ok": the core applies none of a failed handle(). */
    json_t *acts = code == CITYGRID_OK && actions ? json_incref(actions) : json_array();
    json_t *o = json_pack("{s:s, s:i, s:o}", "status", status, "code", code, "actions", acts);
    if (o && code != CITYGRID_OK) {
        char why[96];
        if (code == CITYGRID_E_RETRY)
            snprintf(why, sizeof why, "plugin asked to retry later");
        else
            snprintf(why, sizeof why, "handle failed: code %d", code);
        json_object_set_new(o, "error", json_string(why));
    }
    char *text = o ? cg_json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        CG_ERROR(rt->name, "RESULT %s: out of memory", id);
        return;
    }
    size_t len = strlen(text);
    link_send(rt, CG_MSG_RESULT, id, text, len);
    if (code == CITYGRID_OK)
        cache_put(rt, id, text, len); /* answered again on a re-delivery */
    else
        free(text);
}

static void on_dispatch(cg_runtime *rt, const cg_msg *m)
{
    cached_result *cached = cache_find(rt, m->id);
    if (cached) {
        CG_DEBUG(rt->name, "%s delivered again: answering from the cache", m->id);
        link_send(rt, CG_MSG_RESULT, m->id, cached->body, cached->len);
        return;
    }
    json_error_t jerr;
    json_t *o = json_loadb(m->body, m->body_len, 0, &jerr);
    if (!json_is_object(o)) {
        CG_ERROR(rt->name, "%s: payload is not a JSON object", m->id);
        json_decref(o);
        send_result(rt, m->id, CITYGRID_E_INVALID, NULL);
        return;
    }
    json_t *jm = json_object_get(o, "members");
    size_t n_members = json_is_array(jm) ? json_array_size(jm) : 0;
    citygrid_member *members = n_members ? calloc(n_members, sizeof *members) : NULL;
    if (n_members && !members)
        n_members = 0;
    for (size_t i = 0; i < n_members; i++) {
        json_t *x = json_array_get(jm, i);
        members[i].id = str_member(x, "id");
        members[i].name = str_member(x, "name");
        members[i].role = str_member(x, "role");
        members[i].open_cases = (int)int_member(x, "open_cases");
    }
    json_int_t attempt = json_integer_value(json_object_get(o, "attempt"));
    citygrid_case c = {
        .struct_size = sizeof c,
        .id = str_member(o, "id"),
        .dispatch_id = m->id,
        .category = str_member(o, "category"),
        .department = str_member(o, "department"),
        .grid = str_member(o, "grid"),
        .description = str_member(o, "description"),
        .source = str_member(o, "source"),
        .level = str_member(o, "level"),
        .reporter = str_member(o, "reporter"),
        .lat = json_number_value(json_object_get(o, "lat")),
        .lon = json_number_value(json_object_get(o, "lon")),
        .has_location = json_is_true(json_object_get(o, "has_location")),
        .needs_penalty = json_is_true(json_object_get(o, "needs_penalty")),
        .sla_hours = json_number_value(json_object_get(o, "sla_hours")),
        .reported_at = int_member(o, "reported_at"),
        .attempt = attempt > 0 ? (unsigned)attempt : 1,
        .members = members,
        .n_members = n_members,
        .json = m->body,
    };

    /* An event delivery (ABI 1.2, core/wire/PROTOCOL.md): on_event() when the
     * plugin has it and answers 1.2+, else acknowledged with no actions. */
    json_t *ev = json_object_get(o, "event");
    int event = json_is_object(ev);
    int wants_events = (rt->abi.major == 1 && rt->abi.minor >= 2) && rt->plugin->on_event;
    citygrid_event e = {
        .struct_size = sizeof e,
        .kind = str_member(ev, "kind"),
        .verb = str_member(ev, "verb"),
        .from = str_member(ev, "from"),
        .to = str_member(ev, "to"),
        .actor = str_member(ev, "actor"),
        .level = str_member(ev, "level"),
        .note = str_member(ev, "note"),
        .at = int_member(ev, "at"),
    };

    rt->actions = json_array();
    rt->handling_case = c.id;
    rt->handling = &c;
    rt->handling_extra = json_is_object(json_object_get(o, "extra")) ? json_object_get(o, "extra")
                                                                     : NULL;
    rt->in_handle = 1;
    rt->in_event = event;
    int rc = !rt->actions ? CITYGRID_E_NOMEM
             : !event     ? rt->plugin->handle(&rt->ctx, &c)
             : wants_events ? rt->plugin->on_event(&rt->ctx, &c, &e)
                            : CITYGRID_OK;
    rt->in_handle = 0;
    rt->in_event = 0;
    rt->handling_case = NULL;
    rt->handling = NULL;
    rt->handling_extra = NULL;
    send_result(rt, m->id, rc, rt->actions);
    json_decref(rt->actions);
    rt->actions = NULL;
    free(members);
    json_decref(o);
}

/* ------------------------------------------------------------- QUERY (ABI 1.4) */

static void send_answer(cg_runtime *rt, const char *id, int code, json_t *rows)
{
    const char *status = code == CITYGRID_OK ? "ok" : code == CITYGRID_E_RETRY ? "unavailable"
                                                                              : "error";
    json_t *o = json_pack("{s:s, s:i, s:o}", "status", status, "code", code, "rows",
                          code == CITYGRID_OK && rows ? json_incref(rows) : json_array());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text)
        link_send(rt, CG_MSG_ANSWER, id, text, strlen(text));
    free(text);
}

static void on_query(cg_runtime *rt, const cg_msg *m)
{
    json_t *o = json_loadb(m->body, m->body_len, 0, NULL);
    const char *source = json_string_value(json_object_get(o, "source"));
    const citygrid_source *src = source && serves_sources(rt) ? find_source(rt->plugin, source)
                                                              : NULL;
    json_int_t deadline = json_integer_value(json_object_get(o, "deadline_ms"));
    if (!src || src->struct_size < sizeof(citygrid_source) || !src->n_fields) {
        send_answer(rt, m->id, CITYGRID_E_NOTFOUND, NULL);
        json_decref(o);
        return;
    }
    /* Nobody waits any more: do not spend the plugin's time on it. */
    if (deadline > 0 && cg_now_ms() > deadline) {
        CG_DEBUG(rt->name, "%s arrived after its deadline: dropped", m->id);
        json_decref(o);
        return;
    }
    json_t *params = json_object_get(o, "params");
    if (!json_is_object(params))
        params = NULL;
    char *params_text = params ? json_dumps(params, JSON_COMPACT) : strdup("{}");
    json_t *lat = json_object_get(params, "lat"), *lon = json_object_get(params, "lon");
    json_t *radius = json_object_get(params, "radius_m");
    json_int_t max_rows = json_integer_value(json_object_get(o, "max_rows"));
    const char *text = json_string_value(json_object_get(params, "q"));
    citygrid_query q = {
        .struct_size = sizeof q,
        .id = m->id,
        .source = src->name,
        .q = text ? text : "",
        .lat = json_number_value(lat),
        .lon = json_number_value(lon),
        .radius_m = json_is_number(radius) ? json_number_value(radius) : 0,
        .has_point = json_is_number(lat) && json_is_number(lon),
        .params_json = params_text ? params_text : "{}",
        .max_rows = max_rows > 0 && max_rows <= 10000 ? (unsigned)max_rows : 100,
        .deadline_ms = deadline,
    };
    rt->rows = json_array();
    rt->querying = &q;
    rt->query_source = src;
    int rc = rt->rows ? rt->plugin->query(&rt->ctx, &q) : CITYGRID_E_NOMEM;
    rt->querying = NULL;
    rt->query_source = NULL;
    send_answer(rt, m->id, rc, rt->rows);
    json_decref(rt->rows);
    rt->rows = NULL;
    free(params_text);
    json_decref(o);
}

/* ------------------------------------------------------------- the loop */

static void on_core_message(cg_runtime *rt, const cg_msg *m)
{
    switch (m->type) {
    case CG_MSG_DISPATCH:
        rt->reconnect_delay_ms = rt->heartbeat_ms;
        on_dispatch(rt, m);
        break;
    case CG_MSG_QUERY:
        on_query(rt, m);
        break;
    case CG_MSG_ACK: {
        cached_result *c = cache_find(rt, m->id);
        if (c)
            cache_drop(rt, c);
        break;
    }
    case CG_MSG_HEARTBEAT: /* also the core's "READY taken", with its catalog */
        rt->reconnect_delay_ms = rt->heartbeat_ms;
        take_welcome(rt, m);
        break;
    case CG_MSG_DISCONNECT: {
        json_t *o = json_loadb(m->body, m->body_len, 0, NULL);
        const char *reason = json_string_value(json_object_get(o, "reason"));
        CG_WARN(rt->name, "core said DISCONNECT: %s; reconnecting in %d ms",
                reason ? reason : "(no reason)", rt->reconnect_delay_ms);
        json_decref(o);
        link_reset(rt, rt->reconnect_delay_ms);
        /* Back off while the core keeps refusing; a HEARTBEAT resets it. */
        rt->reconnect_delay_ms = rt->reconnect_delay_ms * 2 > MAX_RECONNECT_DELAY_MS
                                     ? MAX_RECONNECT_DELAY_MS
                                     : rt->reconnect_delay_ms * 2;
        break;
    }
    default:
        CG_WARN(rt->name, "unexpected %s from the core ignored", cg_msg_type_name(m->type));
        break;
    }
}

static void drain(cg_runtime *rt)
{
    for (int budget = DRAIN_BUDGET; budget > 0 && rt->sock; budget--) {
        cg_msg m;
        const char *why = NULL;
        int rc = cg_msg_recv(rt->sock, NULL, NULL, &m, ZMQ_DONTWAIT, &why);
        if (rc == -1)
            return;
        rt->last_heard = cg_monotonic_ms();
        if (rc == -2) {
            CG_WARN(rt->name, "malformed message from the core ignored: %s", why);
            continue;
        }
        on_core_message(rt, &m);
        cg_msg_clear(&m);
    }
}

static int stop_requested(cg_runtime *rt)
{
    return rt->stop_flag && *rt->stop_flag;
}

static void heartbeat(cg_runtime *rt)
{
    int64_t now = cg_monotonic_ms();
    if (!rt->sock) {
        if (now >= rt->reconnect_at)
            link_open(rt);
        return;
    }
    if (now - rt->last_heard > (int64_t)CORE_SILENT_BEATS * rt->heartbeat_ms) {
        if (rt->failed_handshakes) /* its reason was said (on_handshake) */
            CG_DEBUG(rt->name, "no link for %d beats: reconnecting", CORE_SILENT_BEATS);
        else
            CG_WARN(rt->name, "core silent for %d beats: reconnecting", CORE_SILENT_BEATS);
        link_reset(rt, 0);
        link_open(rt);
        return;
    }
    if (now >= rt->next_beat) {
        link_send(rt, CG_MSG_HEARTBEAT, "", "", 0);
        rt->next_beat = now + rt->heartbeat_ms;
    }
}

static void runtime_loop(cg_runtime *rt)
{
    link_open(rt);
    while (!stop_requested(rt)) {
        run_deferred(rt);
        int64_t now = cg_monotonic_ms();
        int64_t wake = rt->sock ? rt->next_beat : rt->reconnect_at;
        if (rt->sock && rt->last_heard + (int64_t)CORE_SILENT_BEATS * rt->heartbeat_ms + 1 < wake)
            wake = rt->last_heard + (int64_t)CORE_SILENT_BEATS * rt->heartbeat_ms + 1;
        wake = next_timer_due(rt, wake);
        long timeout = wake > now ? (long)(wake - now) : 0;
        if (rt->stop_flag && timeout > RUN_MODE_POLL_MS)
            timeout = RUN_MODE_POLL_MS;
        zmq_pollitem_t items[3];
        int n = 0, sock_at = -1, stop_at = -1, watch_at = -1;
        if (rt->stop_rx) {
            items[n] = (zmq_pollitem_t){.socket = rt->stop_rx, .events = ZMQ_POLLIN};
            stop_at = n++;
        }
        if (rt->sock) {
            items[n] = (zmq_pollitem_t){.socket = rt->sock, .events = ZMQ_POLLIN};
            sock_at = n++;
        }
        if (rt->watch) {
            items[n] = (zmq_pollitem_t){.socket = rt->watch, .events = ZMQ_POLLIN};
            watch_at = n++;
        }
        int rc = zmq_poll(items, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            CG_ERROR(rt->name, "poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (stop_at >= 0 && (items[stop_at].revents & ZMQ_POLLIN))
            break;
        if (watch_at >= 0 && (items[watch_at].revents & ZMQ_POLLIN))
            watch_drain(rt);
        if (sock_at >= 0 && (items[sock_at].revents & ZMQ_POLLIN))
            drain(rt);
        run_timers(rt);
        heartbeat(rt);
    }
}

/* ------------------------------------------------------------- lifecycle */

static void runtime_free(cg_runtime *rt)
{
    if (!rt)
        return;
    while (rt->timers)
        host_timer_cancel(&rt->ctx, rt->timers->id);
    while (rt->oldest)
        cache_drop(rt, rt->oldest);
    free(rt->buckets);
    for (size_t i = 0; i < rt->n_deferred; i++)
        cg_msg_clear(&rt->deferred[i]);
    free(rt->deferred);
    json_decref(rt->settings);
    json_decref(rt->departments);
    json_decref(rt->old_departments);
    free(rt->endpoint);
    free(rt->mode);
    explicit_bzero(rt->curve_secret, sizeof rt->curve_secret);
    pthread_mutex_destroy(&rt->mu);
    pthread_cond_destroy(&rt->cv);
    if (rt->own_zctx && rt->zctx)
        zmq_ctx_term(rt->zctx);
    free(rt);
}

static cg_runtime *runtime_new(const cg_runtime_options *opt, char *err, size_t errlen)
{
    if (!opt || !opt->plugin || !opt->plugin->handle || !opt->endpoint) {
        snprintf(err, errlen, "runtime: missing plugin, handle() or endpoint");
        return NULL;
    }
    cg_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "runtime: out of memory");
        return NULL;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->cv, NULL);
    rt->ctx.rt = rt;
    fill_host(&rt->host);
    rt->plugin = opt->plugin;
    snprintf(rt->name, sizeof rt->name, "%s", opt->plugin->name ? opt->plugin->name : "plugin");
    rt->abi = opt->abi;
    rt->credit = opt->credit ? opt->credit : 64;
    rt->heartbeat_ms = opt->heartbeat_ms > 0 ? opt->heartbeat_ms : 1000;
    rt->reconnect_delay_ms = rt->heartbeat_ms;
    rt->max_cached = rt->credit * 2 > 1024 ? rt->credit * 2 : 1024;
    rt->n_buckets = 1024;
    rt->buckets = calloc(rt->n_buckets, sizeof *rt->buckets);
    rt->endpoint = strdup(opt->endpoint);
    rt->mode = strdup(opt->mode && *opt->mode ? opt->mode : "thread");
    if (opt->instance && *opt->instance) {
        snprintf(rt->instance, sizeof rt->instance, "%s", opt->instance);
    } else {
        uint64_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
            rnd = (uint64_t)cg_now_ms() ^ (uint64_t)(uintptr_t)rt;
        snprintf(rt->instance, sizeof rt->instance, "%.40s-%016" PRIx64, rt->name, rnd);
    }
    if (opt->curve_server_key) {
        if (!opt->curve_public_key || !opt->curve_secret_key ||
            strlen(opt->curve_server_key) != 40 || strlen(opt->curve_public_key) != 40 ||
            strlen(opt->curve_secret_key) != 40) {
            snprintf(err, errlen, "runtime: CURVE needs the server key and this host's "
                     "public and secret keys (Z85, 40 characters each)");
            runtime_free(rt);
            return NULL;
        }
        memcpy(rt->curve_server, opt->curve_server_key, 41);
        memcpy(rt->curve_public, opt->curve_public_key, 41);
        memcpy(rt->curve_secret, opt->curve_secret_key, 41);
    }
    if (!rt->buckets || !rt->endpoint || !rt->mode) {
        snprintf(err, errlen, "runtime: out of memory");
        runtime_free(rt);
        return NULL;
    }
    if (opt->settings_json && *opt->settings_json) {
        json_error_t jerr;
        rt->settings = json_loads(opt->settings_json, 0, &jerr);
        if (!json_is_object(rt->settings)) {
            snprintf(err, errlen, "%s: settings are not a JSON object%s%s", rt->name,
                     rt->settings ? "" : ": ", rt->settings ? "" : jerr.text);
            runtime_free(rt);
            return NULL;
        }
    } else {
        rt->settings = json_object();
    }
    rt->zctx = opt->zmq_ctx;
    if (!rt->zctx) {
        rt->zctx = zmq_ctx_new();
        rt->own_zctx = 1;
        if (!rt->zctx) {
            snprintf(err, errlen, "runtime: cannot create a ZeroMQ context");
            runtime_free(rt);
            return NULL;
        }
    }
    return rt;
}

static int call_init(cg_runtime *rt)
{
    int code = rt->plugin->init ? rt->plugin->init(&rt->ctx, &rt->host) : CITYGRID_OK;
    if (code != CITYGRID_OK)
        snprintf(rt->init_err, sizeof rt->init_err, "init failed: code %d", code);
    return code;
}

/* After the loop: say goodbye, let the plugin clean up, close the link. */
static void runtime_finish(cg_runtime *rt)
{
    if (rt->sock) {
        const char *bye = "{\"reason\":\"plugin stopping\"}";
        link_send(rt, CG_MSG_DISCONNECT, "", bye, strlen(bye));
    }
    if (rt->plugin->shutdown)
        rt->plugin->shutdown(&rt->ctx);
    link_close(rt, 200); /* time for the DISCONNECT to leave on ipc/tcp */
    if (rt->stop_rx) {
        zmq_close(rt->stop_rx);
        rt->stop_rx = NULL;
    }
}

static void signal_init(cg_runtime *rt, int state)
{
    pthread_mutex_lock(&rt->mu);
    rt->init_state = state;
    pthread_cond_signal(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}

static void *runtime_thread(void *arg)
{
    cg_runtime *rt = arg;
    int zero = 0;
    rt->stop_rx = zmq_socket(rt->zctx, ZMQ_PAIR);
    if (!rt->stop_rx || zmq_connect(rt->stop_rx, rt->stop_endpoint) != 0) {
        snprintf(rt->init_err, sizeof rt->init_err, "cannot connect the control pipe: %s",
                 zmq_strerror(errno));
        if (rt->stop_rx)
            zmq_close(rt->stop_rx);
        rt->stop_rx = NULL;
        signal_init(rt, -1);
        return NULL;
    }
    zmq_setsockopt(rt->stop_rx, ZMQ_LINGER, &zero, sizeof zero);
    /* init() before READY: no case arrives before the plugin is ready. */
    if (call_init(rt) != CITYGRID_OK) {
        zmq_close(rt->stop_rx);
        rt->stop_rx = NULL;
        signal_init(rt, -1);
        return NULL;
    }
    signal_init(rt, 1);
    runtime_loop(rt);
    runtime_finish(rt);
    return NULL;
}

cg_runtime *cg_runtime_start(const cg_runtime_options *opt, char *err, size_t errlen)
{
    cg_runtime *rt = runtime_new(opt, err, errlen);
    if (!rt)
        return NULL;
    int zero = 0;
    /* A serial beside the address: a runtime started right after another
     * was freed may get the same address while ZeroMQ still holds the old
     * inproc name (its close is asynchronous): bind would fail EADDRINUSE. */
    static unsigned long serial;
    unsigned long n = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
    snprintf(rt->stop_endpoint, sizeof rt->stop_endpoint, "inproc://citygrid-runtime-%p-%lu",
             (void *)rt, n);
    rt->stop_tx = zmq_socket(rt->zctx, ZMQ_PAIR);
    if (!rt->stop_tx || zmq_setsockopt(rt->stop_tx, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(rt->stop_tx, rt->stop_endpoint) != 0) {
        snprintf(err, errlen, "%s: cannot create the control pipe: %s", rt->name,
                 zmq_strerror(errno));
        if (rt->stop_tx)
            zmq_close(rt->stop_tx);
        runtime_free(rt);
        return NULL;
    }
    if (pthread_create(&rt->thread, NULL, runtime_thread, rt) != 0) {
        snprintf(err, errlen, "%s: cannot start a thread", rt->name);
        zmq_close(rt->stop_tx);
        runtime_free(rt);
        return NULL;
    }
    char tname[16];
    snprintf(tname, sizeof tname, "cg-%.12s", rt->name);
    pthread_setname_np(rt->thread, tname);

    pthread_mutex_lock(&rt->mu);
    while (rt->init_state == 0)
        pthread_cond_wait(&rt->cv, &rt->mu);
    int ok = rt->init_state > 0;
    pthread_mutex_unlock(&rt->mu);
    if (!ok) {
        pthread_join(rt->thread, NULL);
        snprintf(err, errlen, "%s", rt->init_err);
        zmq_close(rt->stop_tx);
        runtime_free(rt);
        return NULL;
    }
    return rt;
}

void cg_runtime_stop(cg_runtime *rt)
{
    if (!rt)
        return;
    /* Blocking send is fine: the thread's end was connected before init. */
    zmq_send(rt->stop_tx, "STOP", 4, 0);
    pthread_join(rt->thread, NULL);
    zmq_close(rt->stop_tx);
    runtime_free(rt);
}

int cg_runtime_run(const cg_runtime_options *opt, volatile int *stop, char *err, size_t errlen)
{
    static volatile int never = 0;
    cg_runtime *rt = runtime_new(opt, err, errlen);
    if (!rt)
        return -1;
    rt->stop_flag = stop ? stop : &never;
    if (call_init(rt) != CITYGRID_OK) {
        snprintf(err, errlen, "%s", rt->init_err);
        runtime_free(rt);
        return -1;
    }
    runtime_loop(rt);
    runtime_finish(rt);
    runtime_free(rt);
    return 0;
}
