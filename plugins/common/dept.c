/*
 * dept.c — the code every department plugin shares (see dept.h).
 *
 * Why a registry instead of one static host pointer: handle() only gets the
 * ctx, and two instances of the same .so (a hot reload dlopens the same file
 * while the old instance drains) would overwrite each other's static. A small
 * locked list keyed by ctx keeps each instance's host table and settings.
 */
#include "dept.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A deadline further away than ten years is a configuration mistake. */
#define DEPT_MAX_HOURS (24.0 * 366.0 * 10.0)
/* Float noise (0.1 h * 3600 = 360.00000000000006) must not add a second. */
#define DEPT_SECOND_EPSILON 1e-6
#define DEPT_NOTE_MAX 1024

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static dept *registry;

/* ------------------------------------------------------------ helpers */

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* Department codes: the loader's alphabet [a-z0-9_-], at most as long as
 * the host takes in a transfer. */
static int valid_code(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char ch = s[n];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
            return 0;
    }
    return n >= 1 && n < DEPT_CODE_MAX;
}

/* Cut `buf` (of length len) back to a whole UTF-8 sequence. */
static void utf8_trim_tail(char *buf, size_t len)
{
    size_t i = len;
    while (i > 0 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
    if (len - (i - 1) < need)
        buf[i - 1] = '\0';
}

/* Well-formed UTF-8 (no overlongs, no surrogates): the host refuses
 * anything else, so a setting that is not would fail every case. */
static int utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char c = *p;
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) { p++; continue; }
        if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return 0;
        p++;
        for (size_t i = 0; i < n; i++, p++) {
            if (*p < (i == 0 ? lo : 0x80) || *p > (i == 0 ? hi : 0xBF))
                return 0; /* also stops at the NUL */
        }
    }
    return 1;
}

/* ------------------------------------------------------------ lifecycle */

static dept *registry_find_locked(citygrid_plugin_ctx *ctx)
{
    for (dept *d = registry; d; d = d->next)
        if (d->ctx == ctx)
            return d;
    return NULL;
}

dept *dept_of(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&registry_lock);
    dept *d = registry_find_locked(ctx);
    pthread_mutex_unlock(&registry_lock);
    return d;
}

/* "queue" setting: "zone-1" means "queue:zone-1"; "queue:zone-1" is kept. */
static int read_queue_setting(dept *d)
{
    const char *q = d->host->setting_string(d->ctx, "queue", NULL);
    if (!q) {
        snprintf(d->queue, sizeof d->queue, "queue:%s", d->desc->department);
        return CITYGRID_OK;
    }
    const char *name = strncmp(q, "queue:", 6) == 0 ? q + 6 : q;
    int usable = *name != '\0' && utf8_valid(name);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            usable = 0;
    int n = snprintf(d->queue, sizeof d->queue, "queue:%s", name);
    if (!usable || n < 0 || (size_t)n >= sizeof d->queue) {
        d->host->log(d->ctx, CITYGRID_LOG_ERROR,
                     "setting \"queue\" must be a non-empty UTF-8 name of at most %zu bytes "
                     "without control characters",
                     sizeof d->queue - 7);
        return CITYGRID_E_INVALID;
    }
    return CITYGRID_OK;
}

int dept_init(citygrid_plugin_ctx *ctx, const citygrid_host *host, const citygrid_plugin *desc)
{
    if (!ctx || !host || !desc || !desc->department)
        return CITYGRID_E_INVALID;
    /* Everything this file calls exists in the table of this header's minor
     * (1.3: department_names), which the plugin answers. */
    if (host->size < sizeof(citygrid_host) || host->abi.major != CITYGRID_ABI_MAJOR) {
        if (host->size >= offsetof(citygrid_host, log) + sizeof host->log && host->log)
            host->log(ctx, CITYGRID_LOG_ERROR, "host table too old or of another major ABI (%u.%u)",
                      host->abi.major, host->abi.minor);
        return CITYGRID_E_INVALID;
    }
    if (dept_of(ctx))
        return CITYGRID_E_STATE;

    dept *d = calloc(1, sizeof *d);
    if (!d)
        return CITYGRID_E_NOMEM;
    d->ctx = ctx;
    d->host = host;
    d->desc = desc;
    snprintf(d->penalty_department, sizeof d->penalty_department, "enforcement");
    int rc = read_queue_setting(d);
    if (rc != CITYGRID_OK) {
        free(d);
        return rc;
    }

    pthread_mutex_lock(&registry_lock);
    d->next = registry;
    registry = d;
    pthread_mutex_unlock(&registry_lock);
    host->log(ctx, CITYGRID_LOG_INFO, "%s %s (%s) ready; unassigned cases go to %s",
              str_or_empty(desc->name), str_or_empty(desc->version),
              str_or_empty(desc->department_zh), d->queue);
    return CITYGRID_OK;
}

int dept_read_penalty_department(dept *d)
{
    const char *code = d->host->setting_string(d->ctx, "penalty_department", "enforcement");
    if (!valid_code(code) || strcmp(code, d->desc->department) == 0) {
        d->host->log(d->ctx, CITYGRID_LOG_ERROR,
                     "setting \"penalty_department\" must be another department's code "
                     "([a-z0-9_-]{1,%d}), got \"%s\"", DEPT_CODE_MAX - 1, str_or_empty(code));
        return CITYGRID_E_INVALID;
    }
    snprintf(d->penalty_department, sizeof d->penalty_department, "%s", code);
    return CITYGRID_OK;
}

void dept_set_own(dept *d, void *own, void (*own_free)(void *own))
{
    d->own = own;
    d->own_free = own_free;
}

void dept_shutdown(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&registry_lock);
    dept **link = &registry;
    while (*link && (*link)->ctx != ctx)
        link = &(*link)->next;
    dept *d = *link;
    if (d)
        *link = d->next;
    pthread_mutex_unlock(&registry_lock);
    if (!d)
        return;
    if (d->own_free)
        d->own_free(d->own);
    free(d);
}

/* ------------------------------------------------------------ handling */

int dept_begin(citygrid_plugin_ctx *ctx, const citygrid_case *c, dept **out)
{
    dept *d = dept_of(ctx);
    if (!d)
        return CITYGRID_E_STATE;
    if (!c || c->struct_size < sizeof(citygrid_case) || !c->id || !*c->id) {
        d->host->log(ctx, CITYGRID_LOG_WARNING, "handle() got no case, a case without id, "
                     "or a case struct older than ABI 1.0");
        return CITYGRID_E_INVALID;
    }
    *out = d;
    return CITYGRID_OK;
}

const citygrid_member *dept_pick_member(const citygrid_case *c)
{
    const citygrid_member *best = NULL;
    if (!c->members)
        return NULL;
    for (size_t i = 0; i < c->n_members; i++) {
        const citygrid_member *m = &c->members[i];
        if (!m->id || !*m->id)
            continue;
        if (!best || m->open_cases < best->open_cases ||
            (m->open_cases == best->open_cases && strcmp(m->id, best->id) < 0))
            best = m;
    }
    return best;
}

int64_t dept_deadline_after(const dept *d, const citygrid_case *c, double hours)
{
    if (!isfinite(hours) || !(hours > 0) || hours > DEPT_MAX_HOURS)
        return 0;
    double secs = hours * 3600.0;
    int64_t whole = (int64_t)secs;
    if ((double)whole < secs - DEPT_SECOND_EPSILON)
        whole++;
    int64_t start = c->reported_at > 0 ? c->reported_at : d->host->now(d->ctx);
    return start + whole;
}

int dept_note(dept *d, const citygrid_case *c, const char *fmt, ...)
{
    char text[DEPT_NOTE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CITYGRID_E_INVALID;
    if ((size_t)n >= sizeof text)
        utf8_trim_tail(text, sizeof text - 1);
    return d->host->case_note(d->ctx, c->id, text);
}

int dept_take(dept *d, const citygrid_case *c, int64_t deadline)
{
    const citygrid_host *h = d->host;
    int rc = h->case_accept(d->ctx, c->id);
    if (rc != CITYGRID_OK)
        return rc;

    const citygrid_member *m = dept_pick_member(c);
    const char *assignee = m ? m->id : d->queue;
    rc = h->case_assign(d->ctx, c->id, assignee);
    if (rc != CITYGRID_OK)
        return rc;

    if (deadline > 0) {
        rc = h->case_set_deadline(d->ctx, c->id, deadline);
        if (rc != CITYGRID_OK)
            return rc;
    }

    const char *zh = d->desc->department_zh && *d->desc->department_zh
                         ? d->desc->department_zh : d->desc->department;
    if (m && m->name && *m->name)
        return dept_note(d, c, "%s accepted; assigned to %s (%s)", zh, assignee, m->name);
    return dept_note(d, c, "%s accepted; assigned to %s", zh, assignee);
}

int dept_transfer_for_penalty(dept *d, const citygrid_case *c, int *rc)
{
    *rc = CITYGRID_OK;
    if (!c->needs_penalty)
        return 0;
    /* Never bounce a case back to where it already is. */
    if (strcmp(d->penalty_department, str_or_empty(c->department)) == 0) {
        d->host->log(d->ctx, CITYGRID_LOG_WARNING,
                     "%s needs a penalty but is already at %s: handling it here",
                     c->id, d->penalty_department);
        return 0;
    }
    char reason[256];
    /* The core's catalog names the department (ABI 1.3); its code if not. */
    const char *zh = NULL;
    if (d->host->department_names(d->ctx, d->penalty_department, NULL, &zh) != CITYGRID_OK)
        zh = d->penalty_department;
    snprintf(reason, sizeof reason, "需要行政处罚，移交%s; administrative penalty needed: "
             "transferred to %s", zh, d->penalty_department);
    *rc = d->host->case_transfer(d->ctx, c->id, d->penalty_department, reason);
    return 1;
}

int dept_init_passing_penalties(citygrid_plugin_ctx *ctx, const citygrid_host *host,
                                const citygrid_plugin *desc)
{
    int rc = dept_init(ctx, host, desc);
    if (rc != CITYGRID_OK)
        return rc;
    rc = dept_read_penalty_department(dept_of(ctx));
    if (rc != CITYGRID_OK)
        dept_shutdown(ctx);
    return rc;
}

int dept_handle_passing_penalties(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    if (dept_transfer_for_penalty(d, c, &rc))
        return rc;
    return dept_take(d, c, dept_deadline_after(d, c, c->sla_hours));
}

int dept_handle_taking(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                       int (*after)(dept *d, const citygrid_case *c))
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    rc = dept_take(d, c, dept_deadline_after(d, c, c->sla_hours));
    if (rc == CITYGRID_OK && after)
        rc = after(d, c);
    return rc;
}

int dept_on_event(citygrid_plugin_ctx *ctx, const citygrid_case *c, const citygrid_event *ev)
{
    dept *d;
    int rc = dept_begin(ctx, c, &d);
    if (rc != CITYGRID_OK)
        return rc;
    if (!ev || ev->struct_size < sizeof *ev)
        return CITYGRID_E_INVALID;
    int escalation = strcmp(ev->kind, "escalation") == 0;
    d->host->log(ctx, escalation ? CITYGRID_LOG_NOTICE : CITYGRID_LOG_INFO,
                 "%s: %s by %s (%s -> %s, level %s)%s%s", c->id, ev->verb, ev->actor, ev->from,
                 ev->to, ev->level, *ev->note ? ": " : "", ev->note);
    return CITYGRID_OK;
}

/* ------------------------------------------------------------ settings */

double dept_setting_number(const dept *d, const char *key, double def)
{
    double real = d->host->setting_double(d->ctx, key, NAN);
    if (!isnan(real))
        return real;
    long long whole = d->host->setting_int(d->ctx, key, LLONG_MIN);
    if (whole != LLONG_MIN)
        return (double)whole;
    return def;
}

