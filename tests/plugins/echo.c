/*
 * echo.c — a well-formed test plugin (name "echo", department "echo-test")
 * that accepts every case: accept, assign "queue:echo-test", and a note
 * naming the dispatch id and attempt, so tests can see each delivery.
 *
 * Settings:
 *   retry_first (bool, false)     the first delivery of each dispatch id
 *                                 returns CITYGRID_E_RETRY, later ones
 *                                 accept: exercises re-delivery.
 *   probe_other_case (bool, false) also try a note on another case id and
 *                                 report the host's answer in a note
 *                                 ("probe other case: -2" is right).
 *   probe_extra (bool, false)     also read the case's extra fields "s"
 *                                 (string), "n" (number), "b" (bool) and
 *                                 the names of department extra "dept"
 *                                 (ABI 1.3), and note each answer:
 *                                 "extra s=<value|-> rc=<code> n=... b=...
 *                                 dept=<name>/<name_zh> rc=<code>".
 *
 * State is kept per ctx in a small locked list: two instances of this .so
 * (a reload test) run on two threads.
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_SEEN_MAX 4096 /* dispatch ids remembered for retry_first */

typedef struct echo {
    citygrid_plugin_ctx *ctx;
    const citygrid_host *host;
    int retry_first;
    int probe_other_case;
    int probe_extra;
    char *seen[ECHO_SEEN_MAX]; /* ring of dispatch ids already refused once */
    size_t seen_next;
    struct echo *next;
} echo;

static pthread_mutex_t echo_lock = PTHREAD_MUTEX_INITIALIZER;
static echo *echo_instances;

static echo *echo_of(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&echo_lock);
    echo *e = echo_instances;
    while (e && e->ctx != ctx)
        e = e->next;
    pthread_mutex_unlock(&echo_lock);
    return e;
}

/* 1 the first time a dispatch id is seen (and remember it), else 0. */
static int first_delivery(echo *e, const char *dispatch_id)
{
    for (size_t i = 0; i < ECHO_SEEN_MAX; i++)
        if (e->seen[i] && strcmp(e->seen[i], dispatch_id) == 0)
            return 0;
    char *copy = strdup(dispatch_id);
    if (!copy)
        return 0; /* cannot remember it: better accept than retry forever */
    free(e->seen[e->seen_next]);
    e->seen[e->seen_next] = copy;
    e->seen_next = (e->seen_next + 1) % ECHO_SEEN_MAX;
    return 1;
}

static int echo_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    if (!host || host->size < sizeof(citygrid_host))
        return CITYGRID_E_INVALID;
    echo *e = calloc(1, sizeof *e);
    if (!e)
        return CITYGRID_E_NOMEM;
    e->ctx = ctx;
    e->host = host;
    e->retry_first = host->setting_bool(ctx, "retry_first", 0);
    e->probe_other_case = host->setting_bool(ctx, "probe_other_case", 0);
    e->probe_extra = host->setting_bool(ctx, "probe_extra", 0);
    pthread_mutex_lock(&echo_lock);
    e->next = echo_instances;
    echo_instances = e;
    pthread_mutex_unlock(&echo_lock);
    host->log(ctx, CITYGRID_LOG_INFO, "echo ready (retry_first=%d)", e->retry_first);
    return CITYGRID_OK;
}

static int echo_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    echo *e = echo_of(ctx);
    if (!e)
        return CITYGRID_E_STATE;
    if (!c || !c->id || !*c->id)
        return CITYGRID_E_INVALID;
    const char *dispatch_id = c->dispatch_id ? c->dispatch_id : "";
    if (e->retry_first && *dispatch_id && first_delivery(e, dispatch_id)) {
        e->host->log(ctx, CITYGRID_LOG_INFO, "echo: %s first delivery, asking for a retry",
                     dispatch_id);
        return CITYGRID_E_RETRY;
    }

    const citygrid_host *h = e->host;
    int rc = h->case_accept(ctx, c->id);
    if (rc == CITYGRID_OK)
        rc = h->case_assign(ctx, c->id, "queue:echo-test");
    if (rc == CITYGRID_OK && e->probe_other_case) {
        char text[64];
        int probe = h->case_note(ctx, "C-not-this-case", "probe");
        snprintf(text, sizeof text, "probe other case: %d", probe);
        rc = h->case_note(ctx, c->id, text);
    }
    if (rc == CITYGRID_OK && e->probe_extra) {
        const char *s = NULL, *code = NULL, *name = NULL, *name_zh = NULL;
        double n = 0;
        int b = -1;
        int rs = h->case_extra_string(ctx, c, "s", &s);
        int rn = h->case_extra_number(ctx, c, "n", &n);
        int rb = h->case_extra_bool(ctx, c, "b", &b);
        if (h->case_extra_string(ctx, c, "dept", &code) != CITYGRID_OK)
            code = "";
        int rd = h->department_names(ctx, code, &name, &name_zh);
        char text[512];
        snprintf(text, sizeof text, "extra s=%s rc=%d n=%g rc=%d b=%d rc=%d dept=%s/%s rc=%d",
                 s ? s : "-", rs, n, rn, b, rb, name ? name : "-", name_zh ? name_zh : "-", rd);
        rc = h->case_note(ctx, c->id, text);
    }
    if (rc == CITYGRID_OK) {
        char text[256];
        snprintf(text, sizeof text, "echo accepted %s (dispatch %s, attempt %u)", c->id,
                 dispatch_id, c->attempt);
        rc = h->case_note(ctx, c->id, text);
    }
    return rc;
}

static void echo_shutdown(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&echo_lock);
    echo **link = &echo_instances;
    while (*link && (*link)->ctx != ctx)
        link = &(*link)->next;
    echo *e = *link;
    if (e)
        *link = e->next;
    pthread_mutex_unlock(&echo_lock);
    if (!e)
        return;
    for (size_t i = 0; i < ECHO_SEEN_MAX; i++)
        free(e->seen[i]);
    free(e);
}

static const citygrid_plugin echo_plugin =
    TEST_PLUGIN_DESCRIPTOR("echo", "1.0.0", "echo-test", "回声测试",
                           .init = echo_init, .handle = echo_handle, .shutdown = echo_shutdown);

CITYGRID_PLUGIN_DEFINE(echo_plugin)
