/*
 * plugin_mock.c — an in-process citygrid host for plugin unit tests; see
 * plugin_mock.h. It follows include/citygrid/plugin.h's rules, not the
 * daemon's code, so a plugin that passes here relies only on the contract.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "plugin_mock.h"

#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* What the daemon's host accepts (core/wire/runtime.c). */
#define PM_MAX_ASSIGNEE 63
#define PM_MAX_DEPARTMENT 31
#define PM_MAX_TEXT 4000

/* The opaque ctx the plugin sees: it leads back to its mock. */
struct citygrid_plugin_ctx {
    plugin_mock *m;
};

typedef struct pm_timer {
    long long id;
    unsigned ms;
    int repeat;
    citygrid_timer_fn fn;
    void *arg;
} pm_timer;

struct plugin_mock {
    struct citygrid_plugin_ctx ctx;
    void *dl;
    const citygrid_plugin *desc;
    citygrid_abi abi;
    json_t *settings;
    int inited;
    void *user_data;
    int now_set;
    int64_t now;
    char *current_case;              /* id of the case inside handle(), else NULL */
    const citygrid_case *current;    /* the case handed to handle() (ABI 1.3) */
    json_t *current_json;            /* its dispatch JSON parsed, or NULL */
    json_t *departments;             /* code -> {"name","name_zh"} (ABI 1.3) */
    const citygrid_query *query;     /* inside query() (ABI 1.4), else NULL */
    size_t query_fields;
    json_t *rows;                    /* the last query's rows */
    json_t *answers;                 /* source -> {"fields":[...],"rows":[[...]]} for source_query */
    pm_action *actions;
    size_t n_actions, cap_actions;
    pthread_mutex_t log_lock;
    int log_level;                   /* lines above it are dropped (default: debug) */
    char *log;                       /* every logged line, '\n'-separated */
    size_t log_len;
    pm_timer *timers;
    size_t n_timers;
    long long next_timer_id;
};

/* ------------------------------------------------------------ helpers */

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort(); /* a test helper: out of memory is not a case to handle */
    return d;
}

static plugin_mock *mock_of(citygrid_plugin_ctx *ctx)
{
    return ctx ? ctx->m : NULL;
}

static void clear_actions(plugin_mock *m)
{
    for (size_t i = 0; i < m->n_actions; i++) {
        pm_action *a = &m->actions[i];
        free(a->type);
        free(a->case_id);
        free(a->assignee);
        free(a->department);
        free(a->text);
    }
    m->n_actions = 0;
}

static pm_action *add_action(plugin_mock *m, const char *type, const char *case_id)
{
    if (m->n_actions == m->cap_actions) {
        size_t cap = m->cap_actions ? m->cap_actions * 2 : 8;
        pm_action *grown = realloc(m->actions, cap * sizeof *grown);
        if (!grown)
            abort();
        m->actions = grown;
        m->cap_actions = cap;
    }
    pm_action *a = &m->actions[m->n_actions++];
    memset(a, 0, sizeof *a);
    a->type = xstrdup(type);
    a->case_id = xstrdup(case_id);
    return a;
}

/* ------------------------------------------------------------ host: log */

/* ABI 1.1. Clamped as the daemon's host does, so both answer alike. */
static int host_log_enabled(citygrid_plugin_ctx *ctx, int level)
{
    plugin_mock *m = mock_of(ctx);
    if (!m)
        return 0;
    if (level < CITYGRID_LOG_ERROR)
        level = CITYGRID_LOG_ERROR;
    if (level > CITYGRID_LOG_DEBUG)
        level = CITYGRID_LOG_DEBUG;
    return level <= __atomic_load_n(&m->log_level, __ATOMIC_RELAXED);
}

static void host_log(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void host_log(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !fmt || !host_log_enabled(ctx, level))
        return;
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (getenv("PM_LOG"))
        fprintf(stderr, "[%s] <%d> %s\n", m->desc->name, level, line);
    pthread_mutex_lock(&m->log_lock);
    char *grown = realloc(m->log, m->log_len + (size_t)n + 2);
    if (grown) {
        m->log = grown;
        memcpy(m->log + m->log_len, line, (size_t)n);
        m->log_len += (size_t)n;
        m->log[m->log_len++] = '\n';
        m->log[m->log_len] = '\0';
    }
    pthread_mutex_unlock(&m->log_lock);
    free(line);
}

/* ------------------------------------------------------------ host: settings */

static json_t *setting(citygrid_plugin_ctx *ctx, const char *key)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !m->settings || !key)
        return NULL;
    return json_object_get(m->settings, key);
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

/* Strict on purpose: an integer is "another type" for setting_double, the
 * narrowest reading of the contract, so plugins must cope with either. */
static double host_setting_double(citygrid_plugin_ctx *ctx, const char *key, double def)
{
    json_t *v = setting(ctx, key);
    return json_is_real(v) ? json_real_value(v) : def;
}

static int host_setting_bool(citygrid_plugin_ctx *ctx, const char *key, int def)
{
    json_t *v = setting(ctx, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* ------------------------------------------------------------ host: cases */

/* The contract: a case action is valid only inside handle(), for that case.
 * Checked in the daemon's order (runtime.c), so the codes match. */
static int case_check(citygrid_plugin_ctx *ctx, const char *case_id, plugin_mock **out)
{
    plugin_mock *m = mock_of(ctx);
    if (!m)
        return CITYGRID_E_INVALID;
    if (!m->current_case)
        return CITYGRID_E_STATE;
    if (!case_id || !*case_id)
        return CITYGRID_E_INVALID;
    if (strcmp(m->current_case, case_id) != 0)
        return CITYGRID_E_STATE;
    *out = m;
    return CITYGRID_OK;
}

/* The daemon's limits on text it stores: non-empty, at most `max` bytes,
 * valid UTF-8 (jansson refuses anything else). */
static int valid_text(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return 0;
    json_t *probe = json_string(s);
    json_decref(probe);
    return probe != NULL;
}

static int host_case_accept(citygrid_plugin_ctx *ctx, const char *case_id)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc == CITYGRID_OK)
        add_action(m, "accept", case_id);
    return rc;
}

static int host_case_assign(citygrid_plugin_ctx *ctx, const char *case_id, const char *assignee)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!valid_text(assignee, PM_MAX_ASSIGNEE))
        return CITYGRID_E_INVALID;
    add_action(m, "assign", case_id)->assignee = xstrdup(assignee);
    return CITYGRID_OK;
}

static int host_case_set_deadline(citygrid_plugin_ctx *ctx, const char *case_id, int64_t at)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (at <= 0)
        return CITYGRID_E_INVALID;
    add_action(m, "deadline", case_id)->at = at;
    return CITYGRID_OK;
}

static int host_case_transfer(citygrid_plugin_ctx *ctx, const char *case_id,
                              const char *department, const char *reason)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!valid_text(department, PM_MAX_DEPARTMENT) || !valid_text(reason, PM_MAX_TEXT))
        return CITYGRID_E_INVALID;
    pm_action *a = add_action(m, "transfer", case_id);
    a->department = xstrdup(department);
    a->text = xstrdup(reason);
    return CITYGRID_OK;
}

static int host_case_note(citygrid_plugin_ctx *ctx, const char *case_id, const char *text)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!valid_text(text, PM_MAX_TEXT))
        return CITYGRID_E_INVALID;
    add_action(m, "note", case_id)->text = xstrdup(text);
    return CITYGRID_OK;
}

/* ABI 1.2: recorded as "escalate" (department = level, text = reason),
 * "require" (text = what) and "link" (department = kind, text = ref). */
static int host_case_escalate(citygrid_plugin_ctx *ctx, const char *case_id, const char *level,
                              const char *reason)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!level || (strcmp(level, "community") && strcmp(level, "joint") && strcmp(level, "city")))
        return CITYGRID_E_INVALID;
    pm_action *a = add_action(m, "escalate", case_id);
    a->department = xstrdup(level);
    a->text = xstrdup(reason ? reason : "");
    return CITYGRID_OK;
}

static int host_case_require(citygrid_plugin_ctx *ctx, const char *case_id, const char *what)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!valid_text(what, 47))
        return CITYGRID_E_INVALID;
    add_action(m, "require", case_id)->text = xstrdup(what);
    return CITYGRID_OK;
}

static int host_case_link(citygrid_plugin_ctx *ctx, const char *case_id, const char *kind,
                          const char *ref)
{
    plugin_mock *m;
    int rc = case_check(ctx, case_id, &m);
    if (rc != CITYGRID_OK)
        return rc;
    if (!kind || strcmp(kind, "licence") != 0 || !valid_text(ref, 64))
        return CITYGRID_E_INVALID;
    pm_action *a = add_action(m, "link", case_id);
    a->department = xstrdup(kind);
    a->text = xstrdup(ref);
    return CITYGRID_OK;
}

/* ABI 1.3: the case's extra fields, from its dispatch JSON, for that case
 * inside handle() only; the daemon's order of checks and codes. */
static int extra_member(citygrid_plugin_ctx *ctx, const citygrid_case *c, const char *key,
                        const void *out, json_t **v)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !c || !key || !out)
        return CITYGRID_E_INVALID;
    if (!m->current_case || c != m->current)
        return CITYGRID_E_STATE;
    json_t *extra = json_object_get(m->current_json, "extra");
    *v = json_is_object(extra) ? json_object_get(extra, key) : NULL;
    return !*v || json_is_null(*v) ? CITYGRID_E_NOTFOUND : CITYGRID_OK;
}

static int host_case_extra_string(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                                  const char *key, const char **out)
{
    json_t *v;
    int rc = extra_member(ctx, c, key, out, &v);
    if (rc != CITYGRID_OK)
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
    if (rc != CITYGRID_OK)
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
    if (rc != CITYGRID_OK)
        return rc;
    if (!json_is_boolean(v))
        return CITYGRID_E_INVALID;
    *out = json_is_true(v);
    return CITYGRID_OK;
}

/* The daemon hands the catalog over when it takes the plugin, after init():
 * so here too only once init() has returned. */
static int host_department_names(citygrid_plugin_ctx *ctx, const char *code, const char **name,
                                 const char **name_zh)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !code)
        return CITYGRID_E_INVALID;
    if (!m->inited || !m->departments)
        return CITYGRID_E_STATE;
    json_t *d = json_object_get(m->departments, code);
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

/* The built-in departments of core/people/catalog.c, as the daemon's
 * welcome carries them. */
static const char *const builtin_departments =
    "{\"enforcement\":{\"name\":\"Comprehensive administrative enforcement\",\"name_zh\":\"综合行政执法\"},"
    "\"municipal\":{\"name\":\"Municipal works and landscaping\",\"name_zh\":\"市政和园林\"},"
    "\"sanitation\":{\"name\":\"Environmental sanitation\",\"name_zh\":\"环卫\"},"
    "\"market\":{\"name\":\"Market regulation\",\"name_zh\":\"市场监管\"},"
    "\"police\":{\"name\":\"Police and traffic police\",\"name_zh\":\"公安/交警\"},"
    "\"health\":{\"name\":\"Health enforcement\",\"name_zh\":\"卫生健康执法\"},"
    "\"eco\":{\"name\":\"Eco-environment enforcement\",\"name_zh\":\"生态环境执法\"},"
    "\"culture\":{\"name\":\"Culture market enforcement\",\"name_zh\":\"文化市场执法\"},"
    "\"volunteer\":{\"name\":\"Party-member volunteers\",\"name_zh\":\"党员志愿者\"},"
    "\"partner\":{\"name\":\"Partner-unit staff\",\"name_zh\":\"共建单位\"},"
    "\"outsourced\":{\"name\":\"Outsourced service staff\",\"name_zh\":\"外包服务人员\"}}";

int pm_set_departments(plugin_mock *m, const char *departments_json)
{
    json_t *d = departments_json ? json_loads(departments_json, 0, NULL) : NULL;
    if (departments_json && !json_is_object(d)) {
        json_decref(d);
        return -1;
    }
    json_decref(m->departments);
    m->departments = d;
    return 0;
}

/* ABI 1.4: a row of the query being run, with the daemon's checks. */
static int host_query_row(citygrid_plugin_ctx *ctx, const citygrid_query *q,
                          const char *const *values)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !q || !values)
        return CITYGRID_E_INVALID;
    if (!m->query || q != m->query || json_array_size(m->rows) >= q->max_rows)
        return CITYGRID_E_STATE;
    json_t *row = json_array();
    for (size_t i = 0; i < m->query_fields; i++) {
        json_t *v = values[i] ? json_string(values[i]) : json_null();
        if (!v || (values[i] && strlen(values[i]) > PM_MAX_TEXT)) {
            json_decref(v);
            json_decref(row);
            return CITYGRID_E_INVALID;
        }
        json_array_append_new(row, v);
    }
    json_array_append_new(m->rows, row);
    return CITYGRID_OK;
}

int pm_query(plugin_mock *m, const char *source, const char *q, unsigned max_rows)
{
    const citygrid_source *src = NULL;
    for (const citygrid_source *const *s = m->desc->sources; s && *s; s++)
        if (strcmp((*s)->name, source) == 0)
            src = *s;
    if (!src || !m->desc->query)
        return CITYGRID_E_NOTFOUND;
    json_decref(m->rows);
    m->rows = json_array();
    json_t *params = json_pack("{s:s}", "q", q ? q : "");
    char *params_text = json_dumps(params, JSON_COMPACT);
    json_decref(params);
    citygrid_query query = {.struct_size = sizeof query, .id = "Q1", .source = src->name,
                            .q = q ? q : "", .params_json = params_text,
                            .max_rows = max_rows, .deadline_ms = 0};
    m->query = &query;
    m->query_fields = src->n_fields;
    int rc = m->desc->query(&m->ctx, &query);
    m->query = NULL;
    free(params_text);
    return rc;
}

size_t pm_n_rows(const plugin_mock *m) { return json_array_size(m->rows); }

const char *pm_row_value(const plugin_mock *m, size_t row, size_t field)
{
    return json_string_value(json_array_get(json_array_get(m->rows, row), field));
}

/* ------------------------------------------------------------ host: timers, state */

static long long host_timer_add(citygrid_plugin_ctx *ctx, unsigned ms, int repeat,
                                citygrid_timer_fn fn, void *arg)
{
    plugin_mock *m = mock_of(ctx);
    if (!m || !fn)
        return CITYGRID_E_INVALID;
    pm_timer *grown = realloc(m->timers, (m->n_timers + 1) * sizeof *grown);
    if (!grown)
        return CITYGRID_E_NOMEM;
    m->timers = grown;
    pm_timer *t = &m->timers[m->n_timers++];
    *t = (pm_timer){++m->next_timer_id, ms, repeat, fn, arg};
    return t->id;
}

static int remove_timer(plugin_mock *m, long long id)
{
    for (size_t i = 0; i < m->n_timers; i++) {
        if (m->timers[i].id == id) {
            m->timers[i] = m->timers[--m->n_timers];
            return CITYGRID_OK;
        }
    }
    return CITYGRID_E_NOTFOUND;
}

static int host_timer_cancel(citygrid_plugin_ctx *ctx, long long id)
{
    plugin_mock *m = mock_of(ctx);
    return m ? remove_timer(m, id) : CITYGRID_E_INVALID;
}

static void host_set_user_data(citygrid_plugin_ctx *ctx, void *data)
{
    plugin_mock *m = mock_of(ctx);
    if (m)
        m->user_data = data;
}

static void *host_user_data(citygrid_plugin_ctx *ctx)
{
    plugin_mock *m = mock_of(ctx);
    return m ? m->user_data : NULL;
}

static int64_t host_now(citygrid_plugin_ctx *ctx)
{
    plugin_mock *m = mock_of(ctx);
    return m && m->now_set ? m->now : (int64_t)time(NULL);
}

int pm_set_source_answer(plugin_mock *m, const char *source, const char *answer_json)
{
    json_t *a = json_loads(answer_json, 0, NULL);
    if (!json_is_array(json_object_get(a, "fields")) || !json_is_array(json_object_get(a, "rows"))) {
        json_decref(a);
        return -1;
    }
    if (!m->answers)
        m->answers = json_object();
    json_object_set_new(m->answers, source, a);
    return 0;
}

/* ABI 1.4 source_query: inside handle() only (the mock has no events
 * running here), answered from pm_set_source_answer(); a source with no
 * answer set is one no plugin serves. */
static int host_source_query(citygrid_plugin_ctx *ctx, const char *source, const char *q,
                             unsigned max_rows, unsigned timeout_ms,
                             int (*fn)(void *arg, size_t n_fields, const char *const *names,
                                       const char *const *values),
                             void *arg)
{
    plugin_mock *m = mock_of(ctx);
    (void)timeout_ms;
    if (!m || !source || !q || !fn)
        return CITYGRID_E_INVALID;
    if (!m->current_case)
        return CITYGRID_E_STATE;
    json_t *a = json_object_get(m->answers, source);
    if (!a)
        return CITYGRID_E_NOTFOUND;
    json_t *fields = json_object_get(a, "fields"), *rows = json_object_get(a, "rows");
    size_t n = json_array_size(fields);
    const char **names = calloc(n ? n : 1, sizeof *names);
    const char **values = calloc(n ? n : 1, sizeof *values);
    if (!names || !values) {
        free(names);
        free(values);
        return CITYGRID_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        names[i] = json_string_value(json_array_get(fields, i));
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row) {
        if (r >= max_rows)
            break;
        for (size_t i = 0; i < n; i++)
            values[i] = json_string_value(json_array_get(row, i));
        if (fn(arg, n, names, values))
            break;
    }
    free(names);
    free(values);
    return CITYGRID_OK;
}

static const citygrid_host mock_host = {
    .size = sizeof(citygrid_host),
    .abi = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR},
    .log = host_log,
    .setting_string = host_setting_string,
    .setting_int = host_setting_int,
    .setting_double = host_setting_double,
    .setting_bool = host_setting_bool,
    .case_accept = host_case_accept,
    .case_assign = host_case_assign,
    .case_set_deadline = host_case_set_deadline,
    .case_transfer = host_case_transfer,
    .case_note = host_case_note,
    .timer_add = host_timer_add,
    .timer_cancel = host_timer_cancel,
    .set_user_data = host_set_user_data,
    .user_data = host_user_data,
    .now = host_now,
    .log_enabled = host_log_enabled,
    .case_escalate = host_case_escalate,
    .case_require = host_case_require,
    .case_link = host_case_link,
    .case_extra_string = host_case_extra_string,
    .case_extra_number = host_case_extra_number,
    .case_extra_bool = host_case_extra_bool,
    .department_names = host_department_names,
    .query_row = host_query_row,
    .source_query = host_source_query,
};

/* ------------------------------------------------------------ open, close */

static const char *descriptor_problem(const citygrid_plugin *d)
{
    if (!d)
        return "citygrid_plugin_describe() returned NULL";
    if (d->struct_size < sizeof(citygrid_plugin))
        return "descriptor struct_size smaller than ABI 1.0's";
    if (!d->name || !*d->name || !d->version || !*d->version || !d->department ||
        !*d->department)
        return "descriptor lacks name, version or department";
    if (!d->handle)
        return "descriptor has no handle()";
    return NULL;
}

plugin_mock *pm_open(const char *so_path, char *err, size_t errlen)
{
    struct stat st;
    if (!so_path || stat(so_path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (was the plugin built?)",
                 so_path ? so_path : "(null)");
        return NULL;
    }
    void *dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        snprintf(err, errlen, "%s: dlopen: %s", so_path, dlerror());
        return NULL;
    }
    citygrid_plugin_abi_fn abi_fn = (citygrid_plugin_abi_fn)dlsym(dl, CITYGRID_PLUGIN_ABI_SYMBOL);
    citygrid_plugin_describe_fn describe =
        (citygrid_plugin_describe_fn)dlsym(dl, CITYGRID_PLUGIN_DESCRIBE_SYMBOL);
    if (!abi_fn || !describe) {
        snprintf(err, errlen, "%s: missing %s", so_path,
                 !abi_fn ? CITYGRID_PLUGIN_ABI_SYMBOL : CITYGRID_PLUGIN_DESCRIBE_SYMBOL);
        dlclose(dl);
        return NULL;
    }
    citygrid_abi offered = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR};
    citygrid_abi abi = abi_fn(1, &offered);
    if (abi.major != offered.major || abi.minor > offered.minor) {
        snprintf(err, errlen, "%s: plugin ABI %u.%u, mock host speaks %u.%u", so_path,
                 abi.major, abi.minor, offered.major, offered.minor);
        dlclose(dl);
        return NULL;
    }
    const citygrid_plugin *desc = describe();
    const char *problem = descriptor_problem(desc);
    if (problem) {
        snprintf(err, errlen, "%s: %s", so_path, problem);
        dlclose(dl);
        return NULL;
    }
    plugin_mock *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->ctx.m = m;
    m->dl = dl;
    m->desc = desc;
    m->abi = abi;
    m->log_level = CITYGRID_LOG_DEBUG;
    m->departments = json_loads(builtin_departments, 0, NULL);
    pthread_mutex_init(&m->log_lock, NULL);
    return m;
}

void pm_close(plugin_mock *m)
{
    if (!m)
        return;
    if (m->inited && m->desc->shutdown)
        m->desc->shutdown(&m->ctx);
    clear_actions(m);
    free(m->actions);
    free(m->timers);
    free(m->log);
    free(m->current_case);
    json_decref(m->settings);
    json_decref(m->departments);
    json_decref(m->rows);
    json_decref(m->answers);
    pthread_mutex_destroy(&m->log_lock);
    dlclose(m->dl);
    free(m);
}

const citygrid_plugin *pm_descriptor(const plugin_mock *m) { return m->desc; }
citygrid_abi pm_plugin_abi(const plugin_mock *m) { return m->abi; }
const citygrid_host *pm_host(const plugin_mock *m) { (void)m; return &mock_host; }
citygrid_plugin_ctx *pm_ctx(plugin_mock *m) { return &m->ctx; }
void *pm_symbol(const plugin_mock *m, const char *name) { return dlsym(m->dl, name); }
void pm_set_now(plugin_mock *m, int64_t unix_seconds) { m->now = unix_seconds; m->now_set = 1; }
void pm_set_log_level(plugin_mock *m, int level)
{
    __atomic_store_n(&m->log_level, level, __ATOMIC_RELAXED);
}

int pm_init(plugin_mock *m, const char *settings_json)
{
    if (m->inited || m->settings)
        return CITYGRID_E_STATE;
    json_error_t jerr;
    m->settings = json_loads(settings_json ? settings_json : "{}", 0, &jerr);
    if (!json_is_object(m->settings)) {
        json_decref(m->settings);
        m->settings = NULL;
        return CITYGRID_E_INVALID;
    }
    int rc = m->desc->init ? m->desc->init(&m->ctx, &mock_host) : CITYGRID_OK;
    m->inited = rc == CITYGRID_OK;
    return rc;
}

/* ------------------------------------------------------------ handle */

int pm_handle(plugin_mock *m, const citygrid_case *c)
{
    clear_actions(m);
    free(m->current_case);
    m->current_case = c && c->id ? xstrdup(c->id) : NULL;
    m->current = c;
    /* What the daemon's runtime reads extra fields from; unreadable text
     * simply has none (the daemon never dispatches such text). */
    m->current_json = c && c->json ? json_loads(c->json, 0, NULL) : NULL;
    int rc = m->desc->handle(&m->ctx, c);
    free(m->current_case);
    m->current_case = NULL;
    m->current = NULL;
    json_decref(m->current_json);
    m->current_json = NULL;
    return rc;
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static double json_num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : 0.0;
}

int pm_handle_json(plugin_mock *m, const char *dispatch_json, unsigned attempt)
{
    json_error_t jerr;
    json_t *o = json_loads(dispatch_json ? dispatch_json : "", 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        clear_actions(m);
        return CITYGRID_E_INVALID;
    }
    json_t *members = json_object_get(o, "members");
    size_t n = json_is_array(members) ? json_array_size(members) : 0;
    citygrid_member *ms = calloc(n ? n : 1, sizeof *ms);
    if (!ms)
        abort();
    for (size_t i = 0; i < n; i++) {
        json_t *mo = json_array_get(members, i);
        ms[i].id = json_str(mo, "id");
        ms[i].name = json_str(mo, "name");
        ms[i].role = json_str(mo, "role");
        ms[i].open_cases = (int)json_num(mo, "open_cases");
    }
    json_t *reported = json_object_get(o, "reported_at");
    citygrid_case c = {
        .struct_size = sizeof(citygrid_case),
        .id = json_str(o, "id"),
        .dispatch_id = json_str(o, "dispatch_id"),
        .category = json_str(o, "category"),
        .department = json_str(o, "department"),
        .grid = json_str(o, "grid"),
        .description = json_str(o, "description"),
        .source = json_str(o, "source"),
        .level = json_str(o, "level"),
        .reporter = json_str(o, "reporter"),
        .lat = json_num(o, "lat"),
        .lon = json_num(o, "lon"),
        .has_location = json_is_true(json_object_get(o, "has_location")),
        .needs_penalty = json_is_true(json_object_get(o, "needs_penalty")),
        .sla_hours = json_num(o, "sla_hours"),
        .reported_at = json_is_integer(reported) ? (int64_t)json_integer_value(reported)
                                                 : (int64_t)json_num(o, "reported_at"),
        .attempt = attempt,
        .members = ms,
        .n_members = n,
        .json = dispatch_json,
    };
    int rc = pm_handle(m, &c);
    free(ms);
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------ results */

size_t pm_n_actions(const plugin_mock *m) { return m->n_actions; }

const pm_action *pm_action_at(const plugin_mock *m, size_t i)
{
    return i < m->n_actions ? &m->actions[i] : NULL;
}

size_t pm_count(const plugin_mock *m, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_actions; i++)
        n += strcmp(m->actions[i].type, type) == 0;
    return n;
}

const pm_action *pm_find(const plugin_mock *m, const char *type)
{
    for (size_t i = 0; i < m->n_actions; i++)
        if (strcmp(m->actions[i].type, type) == 0)
            return &m->actions[i];
    return NULL;
}

int pm_log_contains(plugin_mock *m, const char *needle)
{
    pthread_mutex_lock(&m->log_lock);
    int found = m->log && strstr(m->log, needle) != NULL;
    pthread_mutex_unlock(&m->log_lock);
    return found;
}

size_t pm_n_timers(const plugin_mock *m) { return m->n_timers; }

int pm_fire_timer(plugin_mock *m, long long timer_id)
{
    for (size_t i = 0; i < m->n_timers; i++) {
        if (m->timers[i].id != timer_id)
            continue;
        pm_timer t = m->timers[i]; /* the callback may add or cancel timers */
        if (!t.repeat)
            remove_timer(m, t.id);
        t.fn(&m->ctx, t.arg);
        return 0;
    }
    return -1;
}
