/*
 * app.h — the daemon's parts, wired together by main.c. One instance; every
 * field is used only by the main (libevent) thread.
 */
#ifndef CG_APP_H
#define CG_APP_H

#include <stdint.h>
#include "conf/config.h"

struct event_base;
struct cg_catalog;
struct cg_store;
struct cg_batch;
struct cg_bus;
struct cg_plugins;
struct cg_http;
struct cg_supervisor;
struct cg_deadlines;
struct cg_sourceq;
struct cg_source_policy;

typedef struct cg_app {
    struct event_base *base;
    cg_config *config;
    struct cg_catalog *catalog;
    struct cg_store *store;
    struct cg_batch *batch;
    struct cg_bus *bus;
    struct cg_plugins *plugins;
    struct cg_http *http;
    void *zmq_ctx;
    int64_t started_ms;
    const char *version;
    struct cg_supervisor *supervisor; /* process-mode plugin hosts (NULL: none) */
    struct cg_deadlines *deadlines;   /* the escalation timer (deadlines.h; NULL: none) */
    struct cg_source_policy *source_policy; /* who may query what (sources/policy.h) */
    struct cg_sourceq *sources;       /* data-source queries (sources/query.h; NULL: none) */
} cg_app;

#endif
