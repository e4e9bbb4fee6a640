/*
 * bus.h — the core's side of the bus: a ZeroMQ ROUTER inside the libevent
 * loop (ZMQ_FD is edge-triggered: ZMQ_EVENTS is read after adding the event
 * and after every send; reads drain with a budget). It tracks plugin peers
 * (READY, heartbeats about every second, dead after 3 missed), and delivers
 * dispatches reliably: per-department queues in memory, credit (a peer holds
 * at most `credit` unanswered dispatches), leases, re-delivery with
 * exponential backoff and the same id after a lease expires, a peer dies or a
 * plugin asks to retry. Sends use ZMQ_ROUTER_MANDATORY + ZMQ_DONTWAIT;
 * EAGAIN/EHOSTUNREACH mean "not delivered, try later".
 *
 * The durable truth is the outbox table (cases.h): the bus only holds copies.
 * A delivery leaves the bus when cg_bus_complete() is called after the
 * plugin's result has been committed; only then is the ACK sent.
 *
 * Main thread only.
 */
#ifndef CG_BUS_H
#define CG_BUS_H

#include <stddef.h>
#include <stdint.h>
#include "wire/dispatch.h"

struct event_base;
typedef struct cg_bus cg_bus;

typedef struct cg_bus_options {
    const char *const *endpoints; /* to bind, e.g. "inproc://citygrid-bus" */
    size_t n_endpoints;
    /* From the config's bus group (conf/config.h cg_bus_conf, where the
     * defaults are): all above 0, else cg_bus_new refuses. */
    int heartbeat_ms;
    int heartbeat_misses;         /* a peer silent this many beats is lost; <= 0: 3 */
    int lease_ms;
    int retry_base_ms;
    int retry_max_ms;             /* raised to retry_base_ms if below it */
    int max_attempts;             /* failed deliveries before dead letter */
    /* NULL: no remote link. */
    const char *remote_endpoint;  /* tcp://ADDR:PORT bound with CURVE (server side) */
    const char *curve_secret_key; /* Z85 secret key of the core (with remote_endpoint) */
    const struct cg_zap_client *clients; /* ZAP allow-list: key -> department */
    size_t n_clients;
    /* JSON sent as the body of the HEARTBEAT that takes a peer (copied; NULL:
     * empty): the core's department catalog {"departments":{CODE:{"name",
     * "name_zh"}}}, which the runtime hands out as department_names. */
    const char *welcome_json;
} cg_bus_options;

/* What a peer said in READY (strings valid during the callback). */
typedef struct cg_bus_peer_info {
    const char *name, *version, *department, *abi, *mode;
    long pid;
    unsigned credit;
    const char *instance;         /* which start of the plugin ("" if not said) */
    size_t n_sources;             /* data sources it serves (ABI 1.4) */
} cg_bus_peer_info;

/* A plugin that asks a data source (ABI 1.4 host source_query). Strings
 * valid during the call only; keep `serial` to answer. */
typedef struct cg_bus_asker {
    unsigned long long serial;
    const char *name, *department, *instance;
} cg_bus_asker;

typedef struct cg_bus_handlers {
    /* A peer said READY. Return 0 to take it, or -1 with a reason in why
     * (the peer gets DISCONNECT with it). May be NULL: all accepted. */
    int (*on_ready)(void *arg, const cg_bus_peer_info *peer, char *why, size_t whylen);
    /* A plugin answered a dispatch. body: the RESULT's JSON (NUL-terminated,
     * valid during the call). The receiver must later call cg_bus_complete()
     * once the result is committed, or cg_bus_retry() if it could not be. */
    void (*on_result)(void *arg, const char *plugin, const char *dispatch_id, const char *body);
    /* A delivery failed bus.max_attempts times: the bus has dropped it and will
     * not send it again. The receiver records it durably (deadletter.c). May
     * be NULL (then it is only logged and stays in the outbox). */
    void (*on_dead_letter)(void *arg, const char *dispatch_id, const char *department,
                           const char *reason);
    /* A peer was dropped because it stopped answering heartbeats (its
     * deliveries already went back to the queue). pid and instance are what
     * its READY said. A hung local host can then be killed (plugins.c). May
     * be NULL. */
    void (*on_peer_silent)(void *arg, const char *instance, long pid, const char *reason);
    /* A plugin asked a data source (QUERY plugin -> core; body: {"source",
     * "params":{"q"}, "max_rows", "timeout_ms", "case"}). The receiver
     * answers exactly once, now or later, with cg_bus_answer_peer(); the
     * plugin waits for it at most timeout_ms. May be NULL: every such
     * question is refused. */
    void (*on_peer_query)(void *arg, const cg_bus_asker *asker, const char *query_id,
                          const char *body);
} cg_bus_handlers;

cg_bus *cg_bus_new(struct event_base *base, void *zmq_ctx, const cg_bus_options *opt,
                   const cg_bus_handlers *handlers, void *arg, char *err, size_t errlen);
/* Sends DISCONNECT to every peer, closes the socket (linger 0 after a short
 * flush). */
void cg_bus_free(cg_bus *bus);

/* Queue a delivery (copied, payload included). Sent as soon as a READY peer of
 * d->department has credit; kept while none does. A second enqueue of an id
 * the bus already holds is ignored. */
void cg_bus_enqueue(cg_bus *bus, const cg_dispatch *d);
/* The result for this id is committed: ACK it to the peer that answered and
 * forget the delivery. Unknown ids are ignored. */
void cg_bus_complete(cg_bus *bus, const char *dispatch_id);
/* The result could not be applied, or the plugin said retry: deliver again
 * after backoff. */
void cg_bus_retry(cg_bus *bus, const char *dispatch_id, const char *reason);

/* Per-peer figures for /v1/plugins and /v1/health. */
typedef struct cg_bus_peer_stats {
    char name[64], version[32], department[32], abi[16], mode[16], state[16];
    long pid;
    size_t queued;            /* waiting for this department */
    size_t in_flight;         /* delivered, not yet completed */
    unsigned long long delivered, completed, redelivered, failures;
    char last_error[160];
    /* Added with the plugin runtime issue. */
    char instance[64];        /* which start of the plugin */
    int draining;             /* a newer instance took over: gets nothing new */
    double latency_p50_ms;    /* DISPATCH sent -> RESULT received, over the last */
    double latency_mean_ms;   /* CG_BUS_LATENCY_WINDOW answers (0: none yet) */
    unsigned long long dead_letters; /* deliveries of its department given up (since start) */
} cg_bus_peer_stats;
#define CG_BUS_LATENCY_WINDOW 128
/* Fills up to max entries, returns how many peers there are. */
size_t cg_bus_stats(const cg_bus *bus, cg_bus_peer_stats *out, size_t max);
/* Deliveries held for a department (queued + in flight). */
size_t cg_bus_pending(const cg_bus *bus, const char *department);
/* 1 if a READY peer serves the department. */
int cg_bus_department_online(const cg_bus *bus, const char *department);

/* Hot release: peers of this instance (now, and if they reconnect) get no
 * new deliveries; what they hold they may still answer. */
void cg_bus_retire(cg_bus *bus, const char *instance);
/* 1 if a live peer of this instance is connected (*in_flight: what it holds,
 * *ready_new: 1 if it is not draining); 0 if none. Out pointers may be NULL. */
int cg_bus_instance_state(const cg_bus *bus, const char *instance, size_t *in_flight,
                          int *active);
/* The process behind this instance died (the supervisor saw it): drop its
 * peers now instead of after 3 missed heartbeats; their deliveries go back
 * to the queue (and count towards dead letter when one was alone). */
void cg_bus_instance_died(cg_bus *bus, const char *instance, const char *reason);
/* ---- Data sources (ABI 1.4, PROTOCOL.md "QUERY") ----
 * A query is a question, not a delivery: not stored, not re-sent, not
 * acknowledged. The asker gets exactly one answer, at the latest when
 * timeout_ms has passed, and the main loop never waits for it. */
typedef enum cg_bus_answer_status {
    CG_BUS_ANSWER_OK,          /* body: the ANSWER's JSON (valid during the call) */
    CG_BUS_ANSWER_TIMEOUT,     /* no answer within timeout_ms (body NULL) */
    CG_BUS_ANSWER_UNAVAILABLE  /* the peer went away, or the bus is closing (body NULL) */
} cg_bus_answer_status;
/* instance: which start of the plugin was asked ("" if it never said). */
typedef void (*cg_bus_answer_fn)(void *arg, cg_bus_answer_status status, const char *body,
                                 const char *instance);
/* Send a QUERY with `body` (JSON text, copied) to the newest live peer that
 * serves `source`. 0: fn will be called once, later, from the loop; -1: no
 * live peer serves it (or out of memory): fn is never called. */
int cg_bus_query(cg_bus *bus, const char *source, const char *body, int timeout_ms,
                 cg_bus_answer_fn fn, void *arg);
/* Send the ANSWER `body` (JSON: {"status":"ok","fields":[...],"rows":[...]}
 * or {"status":"refused"|"not_found"|"timeout"|"unavailable", ...}) for the
 * plugin's question `query_id`. -1 when that peer is gone (or the send
 * failed): nobody waits any more. */
int cg_bus_answer_peer(cg_bus *bus, unsigned long long asker_serial, const char *query_id,
                       const char *body);
/* The sources the live peers serve, as JSON text (malloc'd): READY's
 * "sources" objects plus "plugin" (the first peer's name for each source). */
char *cg_bus_sources_json(const cg_bus *bus);

/* Remote connections refused by the ZAP handler so far. */
unsigned long long cg_bus_refused_links(const cg_bus *bus);

#endif
