/*
 * datahub.c — the city big-data bureau's (大数据局) data-source plugin: it
 * serves persons, vehicles, companies, offenders, property_owners and
 * cameras (catalog.c) from its OWN SQLite file (store.c), which it fills on
 * first start from the synthetic contrib/lishui/sources.sql. It handles no
 * cases: a source-only plugin (plugin.h, ABI 1.4).
 *
 * The core decides who may ask, masks what goes out and audits every
 * query; this plugin only finds rows. A city connects its real registries
 * by writing a plugin like this one over them (plugins/README.md).
 *
 * Settings (the plugin's group in plugins.d/datahub.cfg):
 *   database  the SQLite file (created when missing); relative paths are
 *             relative to the working directory of the process it runs in
 *   sql       the script that fills an empty file ("" : none, the file
 *             must already have the six tables)
 */
#include <citygrid/plugin.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "store.h"

#ifndef DATAHUB_SQL_DEFAULT
#define DATAHUB_SQL_DEFAULT "contrib/lishui/sources.sql"
#endif
#define DEFAULT_RADIUS_M 500.0
#define MAX_RADIUS_M 20000.0

typedef struct datahub {
    citygrid_plugin_ctx *ctx;
    const citygrid_host *host;
    dh_store *store;
    struct datahub *next;
} datahub;

/* shutdown() and query() get only the context, and the host table is where
 * user_data lives: so the instances are found by context here (several may
 * run in one process, e.g. two starts during a hot release in thread mode). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static datahub *registry;

static datahub *find(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&registry_lock);
    datahub *d = registry;
    while (d && d->ctx != ctx)
        d = d->next;
    pthread_mutex_unlock(&registry_lock);
    return d;
}

static const char *const no_categories[] = {NULL};

static int datahub_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    const char *db = host->setting_string(ctx, "database", "datahub.sqlite");
    const char *sql = host->setting_string(ctx, "sql", DATAHUB_SQL_DEFAULT);
    char err[512];
    datahub *d = calloc(1, sizeof *d);
    if (!d)
        return CITYGRID_E_NOMEM;
    d->ctx = ctx;
    d->host = host;
    d->store = dh_store_open(db, sql, err, sizeof err);
    if (!d->store) {
        host->log(ctx, CITYGRID_LOG_ERROR, "cannot open the data sources: %s", err);
        free(d);
        return CITYGRID_E_INVALID;
    }
    pthread_mutex_lock(&registry_lock);
    d->next = registry;
    registry = d;
    pthread_mutex_unlock(&registry_lock);
    host->log(ctx, CITYGRID_LOG_INFO, "serving 6 data sources from %s", db);
    return CITYGRID_OK;
}

static void datahub_shutdown(citygrid_plugin_ctx *ctx)
{
    pthread_mutex_lock(&registry_lock);
    datahub **link = &registry;
    while (*link && (*link)->ctx != ctx)
        link = &(*link)->next;
    datahub *d = *link;
    if (d)
        *link = d->next;
    pthread_mutex_unlock(&registry_lock);
    if (!d)
        return;
    dh_store_close(d->store);
    free(d);
}

/* Nothing is dispatched to a plugin without categories; a case that a
 * misconfiguration routes here is refused (and ends as a dead letter that
 * an admin sees), not silently taken. */
static int datahub_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    (void)ctx;
    (void)c;
    return CITYGRID_E_INVALID;
}

typedef struct answer {
    datahub *d;
    const citygrid_query *q;
    int rc;
} answer;

static int take_row(void *arg, const char *const *values)
{
    answer *a = arg;
    int rc = a->d->host->query_row(a->d->ctx, a->q, values);
    if (rc == CITYGRID_E_STATE)
        return 1; /* the answer holds max_rows rows */
    if (rc != CITYGRID_OK) {
        a->rc = rc;
        return 1;
    }
    return 0;
}

static int datahub_query(citygrid_plugin_ctx *ctx, const citygrid_query *q)
{
    datahub *d = find(ctx);
    const dh_source *src = d ? dh_source_find(q->source) : NULL;
    if (!src)
        return CITYGRID_E_INVALID;
    dh_find f = {.q = q->q, .has_point = q->has_point, .lat = q->lat, .lon = q->lon,
                 .radius_m = q->radius_m, .max_rows = q->max_rows};
    if (f.has_point && !(f.radius_m > 0))
        f.radius_m = DEFAULT_RADIUS_M;
    if (f.radius_m > MAX_RADIUS_M)
        f.radius_m = MAX_RADIUS_M;
    answer a = {.d = d, .q = q, .rc = CITYGRID_OK};
    char err[512];
    if (dh_store_find(d->store, src, &f, take_row, &a, err, sizeof err) < 0) {
        /* The file is unreadable now (locked, removed, corrupt): the caller
         * gets 503 and may ask again. */
        d->host->log(ctx, CITYGRID_LOG_ERROR, "query %s on %s: %s", q->id, q->source, err);
        return CITYGRID_E_RETRY;
    }
    return a.rc;
}

static const citygrid_plugin datahub_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = "datahub",
    .version = "1.0.0",
    .department = "datahub",
    .department_zh = "大数据局",
    .categories = no_categories,
    .init = datahub_init,
    .handle = datahub_handle,
    .shutdown = datahub_shutdown,
    .sources = dh_source_list,
    .query = datahub_query,
};

CITYGRID_PLUGIN_DEFINE(datahub_plugin)
