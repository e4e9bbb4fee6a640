/*
 * health.c — the 卫生健康执法 (health enforcement) department plugin for
 * citygrid: a template for a new optional-member department, built out of
 * tree against the installed SDK (<citygrid/plugin.h>, nothing else).
 *
 * It owns no category by default. An admin routes categories to department
 * "health" in citygrid.cfg, for example a new one:
 *   routes = ( { category = "public_toilet_hygiene"; department = "health";
 *                sla_hours = 24.0; name = "Public toilet hygiene";
 *                name_zh = "公厕卫生"; } );
 *
 * handle(): accept; assign to the grid's `professional` member of this
 * department with the fewest open cases (ties: the smaller id), else to any
 * member of it, else to the queue; set the deadline reported_at + hours
 * (the case's sla_hours, or the `deadline_hours` setting when > 0); note
 * what was done, and that evidence is needed when a penalty is due.
 *
 * Settings (the plugin's `settings = { ... }` group):
 *   queue           string  "queue:health"  where unassigned cases wait
 *   deadline_hours  number  0               > 0 overrides every case's SLA
 *
 * Threading and ownership, as plugin.h says: every callback of an instance
 * runs on that instance's one thread; a hot reload runs a second instance
 * of this same .so on another thread while the first drains, so per-instance
 * state is kept in a small locked list keyed by ctx, never in a plain static.
 * Strings in a case are the host's and valid only during handle(): this file
 * keeps none of them.
 */
#include <citygrid/plugin.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_QUEUE_MAX 64    /* the host takes assignees of up to 63 bytes */
#define HEALTH_NOTE_MAX 512

typedef struct health {
    citygrid_plugin_ctx *ctx;
    const citygrid_host *host;
    char queue[HEALTH_QUEUE_MAX];
    double deadline_hours;     /* 0: use the case's sla_hours */
    struct health *next;
} health;

static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static health *health_instances;

/* The instance of `ctx`, or NULL. An instance is only removed by its own
 * shutdown(), on its own thread, so the pointer stays valid for the caller. */
static health *health_of(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&health_lock);
    health *h = health_instances;
    while (h && h->ctx != ctx)
        h = h->next;
    pthread_mutex_unlock(&health_lock);
    return h;
}

/* A number setting given as 24 or as 24.0 in the config. */
static double setting_number(const citygrid_host *host, citygrid_plugin_ctx *ctx,
                             const char *key, double def)
{
    double d = host->setting_double(ctx, key, NAN);
    if (!isnan(d))
        return d;
    const long long missing = -0x7fffffffffffffffLL;
    long long i = host->setting_int(ctx, key, missing);
    return i == missing ? def : (double)i;
}

static int health_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    /* The core loads us only when its table holds everything this header
     * declares; checking anyway costs nothing and catches a broken host. */
    if (!ctx || !host || host->size < sizeof(citygrid_host) ||
        host->abi.major != CITYGRID_ABI_MAJOR)
        return CITYGRID_E_INVALID;
    if (health_of(ctx))
        return CITYGRID_E_STATE;

    const char *queue = host->setting_string(ctx, "queue", "queue:health");
    double hours = setting_number(host, ctx, "deadline_hours", 0.0);
    if (!queue || !*queue || strlen(queue) >= HEALTH_QUEUE_MAX) {
        host->log(ctx, CITYGRID_LOG_ERROR, "setting queue must be 1 to %d bytes",
                  HEALTH_QUEUE_MAX - 1);
        return CITYGRID_E_INVALID;
    }
    if (!(hours >= 0.0 && hours <= 24.0 * 366)) {
        host->log(ctx, CITYGRID_LOG_ERROR, "setting deadline_hours must be 0 to 8784, not %g",
                  hours);
        return CITYGRID_E_INVALID;
    }

    health *h = calloc(1, sizeof *h);
    if (!h)
        return CITYGRID_E_NOMEM;
    h->ctx = ctx;
    h->host = host;
    snprintf(h->queue, sizeof h->queue, "%s", queue);
    h->deadline_hours = hours;
    pthread_mutex_lock(&health_lock);
    h->next = health_instances;
    health_instances = h;
    pthread_mutex_unlock(&health_lock);
    host->log(ctx, CITYGRID_LOG_INFO, "卫生健康执法 ready (queue %s, deadline %s)", h->queue,
              hours > 0 ? "from settings" : "from each category's SLA");
    return CITYGRID_OK;
}

/* The member to assign: a professional (health inspector) of this
 * department with the fewest open cases, else any member; ties go to the
 * smaller id so the choice does not depend on the list's order. NULL: none. */
static const citygrid_member *pick_member(const citygrid_case *c)
{
    const citygrid_member *best = NULL;
    int best_pro = 0;
    for (size_t i = 0; c->members && i < c->n_members; i++) {
        const citygrid_member *m = &c->members[i];
        if (!m->id || !*m->id)
            continue;
        int pro = m->role && strcmp(m->role, "professional") == 0;
        if (!best || pro > best_pro ||
            (pro == best_pro && (m->open_cases < best->open_cases ||
                                 (m->open_cases == best->open_cases &&
                                  strcmp(m->id, best->id) < 0)))) {
            best = m;
            best_pro = pro;
        }
    }
    return best;
}

/* Hours to whole seconds, rounded up; float noise (0.1 h * 3600 =
 * 360.00000000000006) must not add a second. */
static int64_t hours_to_seconds(double hours)
{
    double s = hours * 3600.0;
    int64_t whole = (int64_t)s;
    return (double)whole < s - 1e-6 ? whole + 1 : whole;
}

static int health_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    health *h = health_of(ctx);
    if (!h)
        return CITYGRID_E_STATE;
    if (!c || !c->id || !*c->id)
        return CITYGRID_E_INVALID;
    const citygrid_host *host = h->host;

    /* log_enabled (ABI 1.1): skip the work for a line nobody will read. */
    if (host->log_enabled(ctx, CITYGRID_LOG_DEBUG))
        host->log(ctx, CITYGRID_LOG_DEBUG, "%s (%s, attempt %u): %zu candidate(s) in grid %s",
                  c->id, c->category, c->attempt, c->n_members, *c->grid ? c->grid : "-");

    const citygrid_member *m = pick_member(c);
    const char *assignee = m ? m->id : h->queue;
    double hours = h->deadline_hours > 0 ? h->deadline_hours : c->sla_hours;
    int64_t from = c->reported_at > 0 ? c->reported_at : host->now(ctx);

    int rc = host->case_accept(ctx, c->id);
    if (rc == CITYGRID_OK)
        rc = host->case_assign(ctx, c->id, assignee);
    if (rc == CITYGRID_OK && hours > 0)
        rc = host->case_set_deadline(ctx, c->id, from + hours_to_seconds(hours));
    if (rc == CITYGRID_OK) {
        char note[HEALTH_NOTE_MAX];
        snprintf(note, sizeof note, "卫生健康执法 accepted; assigned to %s%s%s", assignee,
                 m && m->name && *m->name ? " " : "", m && m->name ? m->name : "");
        rc = host->case_note(ctx, c->id, note);
    }
    if (rc == CITYGRID_OK && c->needs_penalty)
        rc = host->case_note(ctx, c->id,
                             "penalty due: record on-site evidence for the health penalty decision");
    /* Any error: the core discards every action above and counts a failed
     * attempt, so nothing is half-done. */
    return rc;
}

static void health_shutdown(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&health_lock);
    health **link = &health_instances;
    while (*link && (*link)->ctx != ctx)
        link = &(*link)->next;
    health *h = *link;
    if (h)
        *link = h->next;
    pthread_mutex_unlock(&health_lock);
    free(h);
}

/* Categories owned by default: none (an optional-member department). */
static const char *const health_categories[] = {NULL};

static const citygrid_plugin health_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "health",
    .version = "1.0.0",
    .department = "health",
    .department_zh = "卫生健康执法",
    .categories = health_categories,
    .init = health_init,
    .handle = health_handle,
    .shutdown = health_shutdown,
};

/* Exports citygrid_plugin_abi() (answering this header's ABI) and
 * citygrid_plugin_describe(): the only two visible symbols. */
CITYGRID_PLUGIN_DEFINE(health_plugin)
