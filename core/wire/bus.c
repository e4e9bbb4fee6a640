/*
 * bus.c — the core's ROUTER inside the libevent loop (see bus.h and
 * core/wire/PROTOCOL.md).
 *
 * Every delivery the bus holds is in exactly one place:
 *   QUEUED    in its department's FIFO, ready to send;
 *   DELAYED   in the bus's delay list (sorted by not-before time), waiting
 *             out a backoff; one timer wakes for the earliest;
 *   SENT      at a peer, waiting for its RESULT (counts against the peer's
 *             credit; on the lease list);
 *   ANSWERED  its ok RESULT went to on_result, waiting for cg_bus_complete()
 *             (still counts against the answering peer's credit, so a plugin
 *             host never holds more un-ACKed results than its credit, which
 *             bounds its result cache; on the lease list as a safety net).
 * A "ghost" is an ANSWERED record without a payload: an ok RESULT for an id
 * the bus no longer held; it exists only so cg_bus_complete() can ACK it.
 *
 * ZMQ_FD is edge-triggered: ZMQ_EVENTS is read after adding the event and
 * after every send (any zmq call may consume the edge), reads drain with a
 * budget and re-activate the event when more is waiting. The fd is never
 * read or closed here. Leases, heartbeats and lost peers are checked on the
 * heartbeat tick; backoff has its own timer.
 *
 * Poison cases. A delivery counts a FAILED attempt on a retry/error RESULT,
 * a lease expiry, a refused result (cg_bus_retry), and when its peer dies
 * (crash, kill, silence) while holding only that delivery. A peer that dies
 * holding several makes them all SUSPECT: a suspect is then sent only to a
 * peer that holds nothing else being handled, and nothing else goes to that
 * peer until it answers, so a case that crashes its plugin is identified
 * alone and innocent cases in flight with it are not blamed. After
 * max_attempts failed attempts the delivery is given up (dead letter:
 * handlers.on_dead_letter records it) instead of crashing the plugin forever.
 *
 * Hot release. A peer is DRAINING when a newer peer of the same plugin name
 * says READY (a new version took over), or when its instance was retired
 * (cg_bus_retire): it gets no new deliveries and finishes what it holds.
 *
 * Remote links. With remote_endpoint, the ROUTER also binds tcp with CURVE
 * (server side) after the ZAP handler (zap.c) is up; the handler gives each
 * connection the department of its key as User-Id, and a READY naming
 * another department is refused with DISCONNECT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wire/bus.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lib/log.h"
#include "wire/protocol.h"
#include "lib/timeutil.h"
#include "wire/zap.h"

#define BUS_LOG "bus"
#define DRAIN_BUDGET 256
#define BUS_HWM 10000
#define LOST_KEEP_MS (10 * 60 * 1000) /* a lost peer stays visible this long */
#define LOST_KEEP_MAX 64              /* ... and at most this many of them   */
#define MAX_CREDIT 100000
#define MAX_RETIRED 32                /* instances remembered by cg_bus_retire */

typedef enum { D_QUEUED, D_DELAYED, D_SENT, D_ANSWERED } delivery_state;

struct dept;
struct bus_peer;

typedef struct delivery {
    char id[64];
    struct dept *dept;        /* NULL for a ghost */
    char *payload;            /* compact JSON object without "attempt"; NULL: ghost */
    size_t payload_len;
    unsigned attempts;        /* deliveries made so far */
    unsigned failed;          /* failed attempts (see "Poison cases") */
    int suspect;              /* its peer died holding it with others */
    int64_t sent_at;          /* SENT: when, for the latency figures */
    delivery_state state;
    int64_t not_before;       /* DELAYED */
    int64_t lease_until;      /* SENT, ANSWERED */
    struct bus_peer *peer;    /* SENT: holder; ANSWERED: who answered (may be NULL) */
    struct delivery *hnext;   /* hash chain */
    struct delivery *prev, *next; /* the list of its state */
} delivery;

typedef struct dlist {
    delivery *head, *tail;
} dlist;

typedef struct dept {
    struct dept *next;
    char name[32];
    dlist queue;
    size_t waiting;           /* QUEUED + DELAYED */
    size_t held;              /* everything the bus holds for it */
    unsigned long long dead_letters;
} dept;

typedef struct bus_peer {
    struct bus_peer *next;    /* newest READY first */
    unsigned char identity[256];
    size_t identity_len;
    char name[64], version[32], department[32], abi[16], mode[16];
    long pid;
    unsigned credit;
    int lost;
    int send_blocked;         /* EAGAIN (HWM): skip until the next tick */
    int64_t lost_at, last_seen;
    size_t in_flight;         /* SENT + ANSWERED (not ghosts) */
    size_t sent;              /* SENT only: being handled right now */
    size_t suspects_sent;     /* SENT suspects (then nothing else goes to it) */
    unsigned long long delivered, completed, redelivered, failures;
    char last_error[160];
    char instance[64], user_id[64];
    int draining;
    double latencies[CG_BUS_LATENCY_WINDOW]; /* ms, a ring */
    size_t n_latencies, latency_next;
    json_t *sources;          /* the data sources its READY declared (ABI 1.4), or NULL */
    unsigned long long serial; /* unique per READY: cg_bus_answer_peer finds it by this */
} bus_peer;

/* A QUERY sent and not yet answered (ABI 1.4): never stored, never re-sent;
 * its timer answers "timeout" at the deadline, so the asker never waits
 * longer than it said. */
typedef struct pending_query {
    struct pending_query *next;
    struct cg_bus *bus;
    char id[64];
    struct bus_peer *peer;
    struct event *timer;
    cg_bus_answer_fn fn;
    void *arg;
} pending_query;

struct cg_bus {
    struct event_base *base;
    void *sock;
    struct event *read_ev, *heartbeat_ev, *delay_ev;
    cg_bus_options opt;
    cg_bus_handlers handlers;
    void *arg;
    bus_peer *peers;
    dept *depts;
    delivery **buckets;
    size_t n_buckets, n_held;
    dlist delayed;            /* sorted by not_before */
    dlist leased;             /* SENT + ANSWERED, sorted by lease_until */
    int64_t delay_armed_at;   /* not_before the delay timer is set for; 0: none */
    cg_zap *zap;              /* with a remote endpoint */
    char retired[MAX_RETIRED][64];
    size_t retired_next;
    char *welcome;            /* body of the HEARTBEAT that takes a peer ("" : none) */
    pending_query *queries;   /* QUERYs in flight */
    unsigned long long next_query;
    unsigned long long next_peer_serial;
};

/* ------------------------------------------------------------- small lists */

static void dlist_unlink(dlist *l, delivery *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        l->head = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else
        l->tail = d->prev;
    d->prev = d->next = NULL;
}

static void dlist_append(dlist *l, delivery *d)
{
    d->next = NULL;
    d->prev = l->tail;
    if (l->tail)
        l->tail->next = d;
    else
        l->head = d;
    l->tail = d;
}

static void dlist_insert_after(dlist *l, delivery *at, delivery *d)
{
    if (!at) { /* at the head */
        d->prev = NULL;
        d->next = l->head;
        if (l->head)
            l->head->prev = d;
        else
            l->tail = d;
        l->head = d;
        return;
    }
    d->prev = at;
    d->next = at->next;
    if (at->next)
        at->next->prev = d;
    else
        l->tail = d;
    at->next = d;
}

/* ------------------------------------------------------------- id table */

static size_t hash_id(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static delivery *table_find(const cg_bus *bus, const char *id)
{
    for (delivery *d = bus->buckets[hash_id(id) & (bus->n_buckets - 1)]; d; d = d->hnext)
        if (strcmp(d->id, id) == 0)
            return d;
    return NULL;
}

static int table_insert(cg_bus *bus, delivery *d)
{
    if (bus->n_held + 1 > bus->n_buckets) { /* keep chains short: grow at load 1 */
        size_t n = bus->n_buckets * 2;
        delivery **nb = calloc(n, sizeof *nb);
        if (!nb)
            return -1;
        for (size_t i = 0; i < bus->n_buckets; i++)
            for (delivery *e = bus->buckets[i], *next; e; e = next) {
                next = e->hnext;
                size_t b = hash_id(e->id) & (n - 1);
                e->hnext = nb[b];
                nb[b] = e;
            }
        free(bus->buckets);
        bus->buckets = nb;
        bus->n_buckets = n;
    }
    size_t b = hash_id(d->id) & (bus->n_buckets - 1);
    d->hnext = bus->buckets[b];
    bus->buckets[b] = d;
    bus->n_held++;
    return 0;
}

static void table_remove(cg_bus *bus, delivery *d)
{
    delivery **p = &bus->buckets[hash_id(d->id) & (bus->n_buckets - 1)];
    for (; *p; p = &(*p)->hnext)
        if (*p == d) {
            *p = d->hnext;
            bus->n_held--;
            return;
        }
}

/* ------------------------------------------------------------- departments, peers */

static dept *dept_find(const cg_bus *bus, const char *name)
{
    for (dept *p = bus->depts; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

static dept *dept_get(cg_bus *bus, const char *name)
{
    dept *p = dept_find(bus, name);
    if (p)
        return p;
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->next = bus->depts;
    bus->depts = p;
    return p;
}

static bus_peer *peer_find(const cg_bus *bus, const void *identity, size_t len)
{
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && p->identity_len == len && memcmp(p->identity, identity, len) == 0)
            return p;
    return NULL;
}

static int64_t now_ms(void) { return cg_monotonic_ms(); }

/* A send may consume the ZMQ_FD edge for pending input: look again, from
 * on_read in this loop turn (which reads ZMQ_EVENTS). Not ZMQ_EVENTS here:
 * each read of it costs a poll() and a getpid() inside libzmq, and a turn
 * that answers a group commit sends dozens of messages; activating an
 * active event again is free. */
static void check_input(cg_bus *bus)
{
    event_active(bus->read_ev, EV_READ, 0);
}

static int send_msg(cg_bus *bus, const void *identity, size_t identity_len, cg_msg_type type,
                    const char *id, const char *body, size_t body_len)
{
    int rc = cg_msg_send(bus->sock, identity, identity_len, type, id, body, body_len,
                         ZMQ_DONTWAIT);
    int e = errno;
    check_input(bus);
    errno = e;
    return rc;
}

static void send_disconnect(cg_bus *bus, const void *identity, size_t identity_len,
                            const char *reason)
{
    json_t *o = json_pack("{s:s}", "reason", reason ? reason : "");
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (send_msg(bus, identity, identity_len, CG_MSG_DISCONNECT, "", text,
                 text ? strlen(text) : 0) < 0 && errno != EHOSTUNREACH)
        CG_DEBUG(BUS_LOG, "DISCONNECT not sent: %s", zmq_strerror(errno));
    free(text);
    json_decref(o);
}

/* ------------------------------------------------------------- delivery moves */

/* Take d out of its current list and counters (it stays in the table). */
static void detach(cg_bus *bus, delivery *d)
{
    switch (d->state) {
    case D_QUEUED:
        dlist_unlink(&d->dept->queue, d);
        d->dept->waiting--;
        break;
    case D_DELAYED:
        dlist_unlink(&bus->delayed, d);
        d->dept->waiting--;
        break;
    case D_SENT:
    case D_ANSWERED:
        dlist_unlink(&bus->leased, d);
        if (d->peer && d->payload)
            d->peer->in_flight--;
        if (d->peer && d->state == D_SENT) {
            d->peer->sent--;
            if (d->suspect)
                d->peer->suspects_sent--;
        }
        d->peer = NULL;
        break;
    }
}

static void forget(cg_bus *bus, delivery *d)
{
    detach(bus, d);
    table_remove(bus, d);
    if (d->dept)
        d->dept->held--;
    free(d->payload);
    free(d);
}

static void queue_now(delivery *d)
{
    d->state = D_QUEUED;
    dlist_append(&d->dept->queue, d);
    d->dept->waiting++;
}

static void arm_delay_timer(cg_bus *bus)
{
    delivery *first = bus->delayed.head;
    if (!first) {
        event_del(bus->delay_ev);
        bus->delay_armed_at = 0;
        return;
    }
    if (bus->delay_armed_at == first->not_before && event_pending(bus->delay_ev, EV_TIMEOUT, NULL))
        return;
    int64_t wait = first->not_before - now_ms();
    if (wait < 0)
        wait = 0;
    struct timeval tv = {.tv_sec = wait / 1000, .tv_usec = (wait % 1000) * 1000};
    evtimer_add(bus->delay_ev, &tv);
    bus->delay_armed_at = first->not_before;
}

static int64_t backoff_ms(const cg_bus *bus, unsigned attempts)
{
    int64_t delay = bus->opt.retry_base_ms;
    for (unsigned i = 1; i < attempts && delay < bus->opt.retry_max_ms; i++)
        delay *= 2;
    return delay > bus->opt.retry_max_ms ? bus->opt.retry_max_ms : delay;
}

/* Deliver again after retry_base_ms * 2^(attempts-1), capped. d is detached. */
static void queue_later(cg_bus *bus, delivery *d)
{
    d->state = D_DELAYED;
    d->not_before = now_ms() + backoff_ms(bus, d->attempts ? d->attempts : 1);
    delivery *at = bus->delayed.tail;
    while (at && at->not_before > d->not_before)
        at = at->prev;
    dlist_insert_after(&bus->delayed, at, d);
    d->dept->waiting++;
    arm_delay_timer(bus);
}

static void lease(cg_bus *bus, delivery *d, delivery_state state, bus_peer *peer)
{
    d->state = state;
    d->peer = peer;
    d->lease_until = now_ms() + bus->opt.lease_ms;
    dlist_append(&bus->leased, d); /* lease_ms is constant: the list stays sorted */
    if (peer && d->payload)
        peer->in_flight++;
    if (peer && state == D_SENT) {
        peer->sent++;
        if (d->suspect)
            peer->suspects_sent++;
    }
}

/* Give a delivery up: it is not sent again; the receiver records it. d is
 * detached; it is freed here. */
static void dead_letter(cg_bus *bus, delivery *d, const char *reason)
{
    char why[200];
    snprintf(why, sizeof why, "gave up after %u failed attempt(s) of %u: %s", d->failed,
             d->attempts, reason ? reason : "failed");
    CG_ERROR(BUS_LOG, "dispatch %s (%s): dead letter: %s", d->id,
             d->dept ? d->dept->name : "?", why);
    if (d->dept)
        d->dept->dead_letters++;
    char id[64], department[32];
    snprintf(id, sizeof id, "%s", d->id);
    snprintf(department, sizeof department, "%s", d->dept ? d->dept->name : "");
    d->state = D_QUEUED; /* detached: keep forget() from unlinking anything */
    table_remove(bus, d);
    if (d->dept)
        d->dept->held--;
    free(d->payload);
    free(d);
    if (bus->handlers.on_dead_letter)
        bus->handlers.on_dead_letter(bus->arg, id, department, why);
}

/* One failed attempt of a detached delivery: dead letter, or again after backoff. */
static void failed_attempt(cg_bus *bus, delivery *d, const char *reason)
{
    d->failed++;
    if (d->failed >= (unsigned)bus->opt.max_attempts)
        dead_letter(bus, d, reason);
    else
        queue_later(bus, d);
}

static void record_latency(bus_peer *p, const delivery *d)
{
    if (!p || !d || !d->sent_at || d->state != D_SENT)
        return;
    p->latencies[p->latency_next] = (double)(now_ms() - d->sent_at);
    p->latency_next = (p->latency_next + 1) % CG_BUS_LATENCY_WINDOW;
    if (p->n_latencies < CG_BUS_LATENCY_WINDOW)
        p->n_latencies++;
}

static void peer_error(bus_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void peer_error(bus_peer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->last_error, sizeof p->last_error, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------- sending */

static void peer_lost(cg_bus *bus, bus_peer *p, const char *reason);
static void peer_died(cg_bus *bus, bus_peer *p, const char *reason);

/* Newest first; a suspect only to a peer handling nothing, and nothing to a
 * peer handling a suspect. */
static bus_peer *pick_peer(cg_bus *bus, const dept *dp, const delivery *d)
{
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && !p->draining && !p->send_blocked && p->in_flight < p->credit &&
            p->suspects_sent == 0 && (!d->suspect || p->sent == 0) &&
            strcmp(p->department, dp->name) == 0)
            return p;
    return NULL;
}

/* The DISPATCH body: the payload object with "attempt" first. */
static char *dispatch_body(const delivery *d, unsigned attempt, size_t *len)
{
    char head[32];
    int hl = snprintf(head, sizeof head, "{\"attempt\":%u", attempt);
    int empty = d->payload_len <= 2; /* "{}" */
    size_t n = (size_t)hl + (empty ? 1 : 1 + d->payload_len - 1);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, head, (size_t)hl);
    if (empty) {
        s[hl] = '}';
    } else {
        s[hl] = ',';
        memcpy(s + hl + 1, d->payload + 1, d->payload_len - 1);
    }
    s[n] = '\0';
    *len = n;
    return s;
}

/* Send what the department's queue holds while some peer has credit. */
static void pump(cg_bus *bus, dept *dp)
{
    while (dp->queue.head) {
        delivery *d = dp->queue.head;
        bus_peer *p = pick_peer(bus, dp, d);
        if (!p)
            return;
        size_t len = 0;
        char *body = dispatch_body(d, d->attempts + 1, &len);
        if (!body)
            return;
        int rc = send_msg(bus, p->identity, p->identity_len, CG_MSG_DISPATCH, d->id, body, len);
        int e = errno;
        free(body);
        if (rc < 0) {
            if (e == EAGAIN) {
                p->send_blocked = 1; /* its pipe is full: try another, or next tick */
                continue;
            }
            if (e == EHOSTUNREACH) {
                peer_died(bus, p, "unreachable");
                continue;
            }
            CG_WARN(BUS_LOG, "DISPATCH %s to %s failed: %s", d->id, p->name, zmq_strerror(e));
            return;
        }
        detach(bus, d);
        d->attempts++;
        d->sent_at = now_ms();
        p->delivered++;
        if (d->attempts > 1)
            p->redelivered++;
        lease(bus, d, D_SENT, p);
    }
}

static void pump_all(cg_bus *bus)
{
    for (dept *dp = bus->depts; dp; dp = dp->next)
        pump(bus, dp);
}

/* ------------------------------------------------------------- peers */

static void peer_free(cg_bus *bus, bus_peer *p)
{
    for (delivery *d = bus->leased.head; d; d = d->next)
        if (d->peer == p) { /* only ANSWERED ones can still point here */
            if (d->payload)
                p->in_flight--;
            d->peer = NULL;
        }
    for (bus_peer **pp = &bus->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    json_decref(p->sources);
    free(p);
}

/* ------------------------------------------------------------- queries (ABI 1.4) */

/* Take q off the list, stop its timer, answer its asker, free it. */
static void query_finish(cg_bus *bus, pending_query *q, cg_bus_answer_status st,
                         const char *body)
{
    for (pending_query **pp = &bus->queries; *pp; pp = &(*pp)->next)
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    event_free(q->timer);
    char instance[64];
    snprintf(instance, sizeof instance, "%s", q->peer ? q->peer->instance : "");
    cg_bus_answer_fn fn = q->fn;
    void *arg = q->arg;
    free(q);
    fn(arg, st, body, instance);
}

static void on_query_deadline(evutil_socket_t fd, short what, void *arg)
{
    pending_query *q = arg;
    query_finish(q->bus, q, CG_BUS_ANSWER_TIMEOUT, NULL);
}

/* The peer is gone: nobody will answer what it holds. */
static void queries_fail_peer(cg_bus *bus, bus_peer *p)
{
    for (pending_query *q = bus->queries, *next; q; q = next) {
        next = q->next;
        if (q->peer == p)
            query_finish(bus, q, CG_BUS_ANSWER_UNAVAILABLE, NULL);
    }
}

static int peer_serves(const bus_peer *p, const char *source)
{
    size_t i;
    json_t *s;
    json_array_foreach(p->sources, i, s)
        if (strcmp(json_string_value(json_object_get(s, "name")), source) == 0)
            return 1;
    return 0;
}

int cg_bus_query(cg_bus *bus, const char *source, const char *body, int timeout_ms,
                 cg_bus_answer_fn fn, void *arg)
{
    if (!bus || !source || !body || !fn || timeout_ms <= 0)
        return -1;
    /* The newest live peer that serves it (hot release: the new one first). */
    bus_peer *p = bus->peers;
    while (p && (p->lost || p->draining || !peer_serves(p, source)))
        p = p->next;
    if (!p)
        return -1;
    pending_query *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    snprintf(q->id, sizeof q->id, "Q%llu", ++bus->next_query);
    q->bus = bus;
    q->peer = p;
    q->fn = fn;
    q->arg = arg;
    q->timer = evtimer_new(bus->base, on_query_deadline, q);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (!q->timer || evtimer_add(q->timer, &tv) < 0 ||
        send_msg(bus, p->identity, p->identity_len, CG_MSG_QUERY, q->id, body, strlen(body)) < 0) {
        if (q->timer)
            event_free(q->timer);
        free(q);
        return -1;
    }
    q->next = bus->queries;
    bus->queries = q;
    return 0;
}

static void on_answer_msg(cg_bus *bus, bus_peer *p, const cg_msg *m)
{
    for (pending_query *q = bus->queries; q; q = q->next)
        if (q->peer == p && strcmp(q->id, m->id) == 0) {
            query_finish(bus, q, CG_BUS_ANSWER_OK, m->body);
            return;
        }
    /* Late (its deadline passed) or unknown: nobody waits for it. */
    CG_DEBUG(BUS_LOG, "ANSWER %s from %s: nobody waits for it", m->id, p->name);
}

/* A plugin asks a source (host source_query): the host decides and answers
 * through cg_bus_answer_peer; without a handler the bus refuses. */
static void on_peer_query_msg(cg_bus *bus, bus_peer *p, const cg_msg *m)
{
    if (!m->id[0])
        return;
    if (!bus->handlers.on_peer_query) {
        const char *no = "{\"status\":\"refused\",\"reason\":\"this core answers no plugin's "
                         "questions\",\"rows\":[]}";
        send_msg(bus, p->identity, p->identity_len, CG_MSG_ANSWER, m->id, no, strlen(no));
        return;
    }
    cg_bus_asker asker = {.serial = p->serial, .name = p->name, .department = p->department,
                          .instance = p->instance};
    bus->handlers.on_peer_query(bus->arg, &asker, m->id, m->body);
}

int cg_bus_answer_peer(cg_bus *bus, unsigned long long asker_serial, const char *query_id,
                       const char *body)
{
    if (!bus || !query_id || !body)
        return -1;
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (p->serial == asker_serial && !p->lost)
            return send_msg(bus, p->identity, p->identity_len, CG_MSG_ANSWER, query_id, body,
                            strlen(body)) < 0 ? -1 : 0;
    return -1; /* gone meanwhile: nobody waits */
}

char *cg_bus_sources_json(const cg_bus *bus)
{
    json_t *all = json_array();
    json_t *seen = json_object();
    for (const bus_peer *p = bus->peers; p; p = p->next) {
        if (p->lost || p->draining)
            continue;
        size_t i;
        json_t *s;
        json_array_foreach(p->sources, i, s) {
            const char *name = json_string_value(json_object_get(s, "name"));
            if (json_object_get(seen, name))
                continue;
            json_object_set_new(seen, name, json_true());
            json_t *c = json_deep_copy(s);
            json_object_set_new(c, "plugin", json_string(p->name));
            json_array_append_new(all, c);
        }
    }
    char *text = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    json_decref(seen);
    return text;
}

/* The peer is gone: what it held unanswered goes back to the queue at once.
 * Results it already gave stay with the core (the store is committing them).
 * crashed: it died (not a goodbye): what it was handling may have killed it
 * (see "Poison cases"). */
static void peer_gone(cg_bus *bus, bus_peer *p, const char *reason, int crashed)
{
    if (p->lost)
        return;
    p->lost = 1;
    p->lost_at = now_ms();
    CG_NOTICE(BUS_LOG, "plugin %s (%s) lost: %s; %zu in flight", p->name, p->department,
              reason, p->in_flight);
    snprintf(p->last_error, sizeof p->last_error, "lost: %s", reason);
    queries_fail_peer(bus, p);
    int alone = crashed && p->sent == 1;
    for (delivery *d = bus->leased.head, *next; d; d = next) {
        next = d->next;
        if (d->peer == p && d->state == D_SENT) {
            detach(bus, d);
            if (alone) {
                char why[200];
                snprintf(why, sizeof why, "plugin %s died while handling it: %s", p->name, reason);
                d->suspect = 1;
                d->failed++;
                if (d->failed >= (unsigned)bus->opt.max_attempts) {
                    dead_letter(bus, d, why);
                    continue;
                }
            } else if (crashed) {
                d->suspect = 1;
            }
            queue_now(d);
        }
    }
    dept *dp = dept_find(bus, p->department);
    if (dp)
        pump(bus, dp);
}

static void peer_lost(cg_bus *bus, bus_peer *p, const char *reason)
{
    peer_gone(bus, p, reason, 0);
}

static void peer_died(cg_bus *bus, bus_peer *p, const char *reason)
{
    peer_gone(bus, p, reason, 1);
}

static int is_retired(const cg_bus *bus, const char *instance)
{
    if (!instance[0])
        return 0;
    for (size_t i = 0; i < MAX_RETIRED; i++)
        if (strcmp(bus->retired[i], instance) == 0)
            return 1;
    return 0;
}

static void prune_lost(cg_bus *bus, int64_t now)
{
    size_t kept = 0;
    for (bus_peer *p = bus->peers, *next; p; p = next) {
        next = p->next;
        if (!p->lost)
            continue;
        if (now - p->lost_at > LOST_KEEP_MS || ++kept > LOST_KEEP_MAX)
            peer_free(bus, p);
    }
}

static int copy_field(json_t *o, const char *key, char *dst, size_t cap, int required,
                      char *why, size_t whylen)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    if (!s) {
        if (required || v) {
            snprintf(why, whylen, "READY: \"%s\" must be a string", key);
            return -1;
        }
        dst[0] = '\0';
        return 0;
    }
    if (required && !*s) {
        snprintf(why, whylen, "READY: \"%s\" is empty", key);
        return -1;
    }
    if (strlen(s) >= cap) {
        snprintf(why, whylen, "READY: \"%s\" longer than %zu bytes", key, cap - 1);
        return -1;
    }
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* A name the core uses in URLs and config: [a-z0-9_]{1,31}. */
static int source_word(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 31)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

/* READY's "sources" (ABI 1.4): [{"name","title_zh","spatial",
 * "fields":[{"name","class"}]}], at most 32 sources of 64 fields. */
static int parse_sources(json_t *sources, char *why, size_t whylen)
{
    size_t i, j;
    json_t *s, *f;
    if (!json_is_array(sources) || json_array_size(sources) > 32)
        goto bad;
    json_array_foreach(sources, i, s) {
        json_t *fields = json_object_get(s, "fields");
        if (!source_word(json_string_value(json_object_get(s, "name"))) ||
            !json_is_string(json_object_get(s, "title_zh")) || !json_is_array(fields) ||
            json_array_size(fields) == 0 || json_array_size(fields) > 64)
            goto bad;
        json_array_foreach(fields, j, f)
            if (!source_word(json_string_value(json_object_get(f, "name"))) ||
                !source_word(json_string_value(json_object_get(f, "class"))))
                goto bad;
    }
    return 0;
bad:
    snprintf(why, whylen, "READY: \"sources\" must be a list of {name, title_zh, fields: "
             "[{name, class}]} with names [a-z0-9_]{1,31}");
    return -1;
}

static int parse_ready(const cg_msg *m, bus_peer *p, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *o = json_loadb(m->body, m->body_len, 0, &jerr);
    int rc = -1;
    if (!json_is_object(o)) {
        snprintf(why, whylen, "READY: body is not a JSON object");
        goto out;
    }
    if (copy_field(o, "name", p->name, sizeof p->name, 1, why, whylen) < 0 ||
        copy_field(o, "department", p->department, sizeof p->department, 1, why, whylen) < 0 ||
        copy_field(o, "version", p->version, sizeof p->version, 0, why, whylen) < 0 ||
        copy_field(o, "abi", p->abi, sizeof p->abi, 0, why, whylen) < 0 ||
        copy_field(o, "mode", p->mode, sizeof p->mode, 0, why, whylen) < 0 ||
        copy_field(o, "instance", p->instance, sizeof p->instance, 0, why, whylen) < 0)
        goto out;
    json_t *credit = json_object_get(o, "credit");
    json_int_t c = credit ? (json_is_integer(credit) ? json_integer_value(credit) : -1) : 1;
    if (c < 1 || c > MAX_CREDIT) {
        snprintf(why, whylen, "READY: \"credit\" must be an integer 1..%d", MAX_CREDIT);
        goto out;
    }
    p->credit = (unsigned)c;
    json_t *pid = json_object_get(o, "pid");
    p->pid = json_is_integer(pid) ? (long)json_integer_value(pid) : 0;
    json_t *sources = json_object_get(o, "sources");
    if (sources && parse_sources(sources, why, whylen) < 0)
        goto out;
    p->sources = sources ? json_incref(sources) : NULL;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

static void on_ready_msg(cg_bus *bus, const unsigned char *identity, size_t ilen, const cg_msg *m)
{
    bus_peer *old = peer_find(bus, identity, ilen);
    if (old) /* READY again on the same connection: start it over */
        peer_lost(bus, old, "said READY again");

    bus_peer *p = calloc(1, sizeof *p);
    if (!p)
        return;
    memcpy(p->identity, identity, ilen);
    p->identity_len = ilen;
    p->serial = ++bus->next_peer_serial;
    char why[160] = "";
    if (parse_ready(m, p, why, sizeof why) < 0) {
        CG_WARN(BUS_LOG, "peer refused: %s", why);
        send_disconnect(bus, identity, ilen, why);
        free(p);
        return;
    }
    /* A remote link: its key (User-Id from the ZAP handler) names ONE department. */
    snprintf(p->user_id, sizeof p->user_id, "%s", m->user_id);
    if (p->user_id[0] && strcmp(p->user_id, p->department) != 0) {
        snprintf(why, sizeof why, "the key of department '%s' cannot serve department '%s'",
                 p->user_id, p->department);
        CG_WARN(BUS_LOG, "remote plugin %s refused: %s", p->name, why);
        send_disconnect(bus, identity, ilen, why);
        free(p);
        return;
    }
    if (bus->handlers.on_ready) {
        cg_bus_peer_info info = {.name = p->name, .version = p->version,
                                 .department = p->department, .abi = p->abi,
                                 .mode = p->mode, .pid = p->pid, .credit = p->credit,
                                 .instance = p->instance,
                                 .n_sources = json_array_size(p->sources)};
        if (bus->handlers.on_ready(bus->arg, &info, why, sizeof why) != 0) {
            if (!why[0])
                snprintf(why, sizeof why, "refused by the core");
            CG_WARN(BUS_LOG, "plugin %s refused: %s", p->name, why);
            send_disconnect(bus, identity, ilen, why);
            free(p);
            return;
        }
    }
    /* A new READY of the same name replaces the record of a lost one. */
    for (bus_peer *q = bus->peers, *next; q; q = next) {
        next = q->next;
        if (q->lost && strcmp(q->name, p->name) == 0)
            peer_free(bus, q);
    }
    /* Hot release: the newest READY of a plugin takes the new work; older live
     * peers of the same name finish what they hold. */
    for (bus_peer *q = bus->peers; q; q = q->next)
        if (!q->lost && !q->draining && strcmp(q->name, p->name) == 0 &&
            strcmp(q->instance, p->instance) != 0) {
            q->draining = 1;
            CG_NOTICE(BUS_LOG, "plugin %s: instance %s (%s) takes over from %s (%s), which "
                      "finishes its %zu in flight", p->name, p->instance, p->version,
                      q->instance, q->version, q->in_flight);
        }
    p->draining = is_retired(bus, p->instance);
    p->last_seen = now_ms();
    p->next = bus->peers;
    bus->peers = p;
    CG_INFO(BUS_LOG, "plugin %s %s ready for %s (%s, pid %ld, credit %u)", p->name, p->version,
            p->department, p->mode[0] ? p->mode : "?", p->pid, p->credit);
    /* The immediate HEARTBEAT tells the host its READY was taken; its body
     * is the welcome (the department catalog, ABI 1.3's department_names). */
    if (send_msg(bus, p->identity, p->identity_len, CG_MSG_HEARTBEAT, "", bus->welcome,
                 strlen(bus->welcome)) < 0 &&
        errno == EHOSTUNREACH) {
        peer_lost(bus, p, "unreachable");
        return;
    }
    dept *dp = dept_get(bus, p->department);
    if (dp)
        pump(bus, dp);
}

/* ------------------------------------------------------------- results */

static void on_result_msg(cg_bus *bus, bus_peer *p, const cg_msg *m)
{
    json_error_t jerr;
    json_t *o = json_loadb(m->body, m->body_len, 0, &jerr);
    const char *status = json_string_value(json_object_get(o, "status"));
    int ok = status && strcmp(status, "ok") == 0 && json_is_array(json_object_get(o, "actions"));
    delivery *d = table_find(bus, m->id);

    if (!ok) {
        p->failures++;
        if (status && (strcmp(status, "retry") == 0 || strcmp(status, "error") == 0)) {
            const char *text = json_string_value(json_object_get(o, "error"));
            peer_error(p, "%s: %s (code %lld)%s%s", m->id, status,
                       (long long)json_integer_value(json_object_get(o, "code")),
                       text ? ": " : "", text ? text : "");
        } else {
            peer_error(p, "%s: malformed RESULT body", m->id);
        }
        CG_INFO(BUS_LOG, "plugin %s: %s", p->name, p->last_error);
        json_decref(o);
        if (d && d->state == D_SENT && d->peer == p) {
            dept *dp = d->dept;
            record_latency(p, d);
            detach(bus, d);
            d->suspect = 0; /* it answered: it did not kill the plugin */
            failed_attempt(bus, d, p->last_error);
            pump(bus, dp);
        }
        return;
    }
    json_decref(o);

    if (d && d->state == D_ANSWERED) {
        /* Already with the store: this is a duplicate answer. */
        CG_DEBUG(BUS_LOG, "duplicate RESULT %s from %s ignored", m->id, p->name);
        return;
    }
    dept *freed = NULL;
    if (d) {
        if (d->state == D_SENT && d->peer == p) {
            record_latency(p, d);
            if (d->suspect)
                freed = d->dept; /* the peer may take others again */
        }
        if (d->state == D_SENT && d->peer != p)
            freed = d->dept; /* the peer it was sent to gets its credit back */
        else if (d->state == D_QUEUED || d->state == D_DELAYED)
            freed = d->dept;
        detach(bus, d);
        d->suspect = 0; /* after detach: it keeps the peer's suspect count right */
        lease(bus, d, D_ANSWERED, p);
    } else {
        /* Not held (lease ran out and it was completed, or a restart): the store
         * deduplicates; keep a ghost so the ACK can still go out. */
        delivery *g = calloc(1, sizeof *g);
        if (g) {
            snprintf(g->id, sizeof g->id, "%s", m->id);
            if (table_insert(bus, g) == 0)
                lease(bus, g, D_ANSWERED, p);
            else
                free(g);
        }
    }
    /* d may be completed (freed) inside the callback: do not touch it after. */
    if (bus->handlers.on_result)
        bus->handlers.on_result(bus->arg, p->name, m->id, m->body);
    if (freed)
        pump(bus, freed);
}

/* ------------------------------------------------------------- receiving */

static void handle_message(cg_bus *bus, const unsigned char *identity, size_t ilen,
                           const cg_msg *m)
{
    if (m->type == CG_MSG_READY) {
        on_ready_msg(bus, identity, ilen, m);
        return;
    }
    bus_peer *p = peer_find(bus, identity, ilen);
    if (!p) {
        if (m->type != CG_MSG_DISCONNECT)
            send_disconnect(bus, identity, ilen, "send READY first");
        return;
    }
    p->last_seen = now_ms();
    p->send_blocked = 0;
    switch (m->type) {
    case CG_MSG_HEARTBEAT:
        break;
    case CG_MSG_RESULT:
        on_result_msg(bus, p, m);
        break;
    case CG_MSG_ANSWER:
        on_answer_msg(bus, p, m);
        break;
    case CG_MSG_QUERY:
        on_peer_query_msg(bus, p, m);
        break;
    case CG_MSG_DISCONNECT: {
        json_t *o = json_loadb(m->body, m->body_len, 0, NULL);
        const char *reason = json_string_value(json_object_get(o, "reason"));
        char text[128];
        snprintf(text, sizeof text, "said DISCONNECT%s%s", reason ? ": " : "",
                 reason ? reason : "");
        json_decref(o);
        peer_lost(bus, p, text);
        break;
    }
    default: /* DISPATCH and ACK only go core -> plugin */
        send_disconnect(bus, identity, ilen, "unexpected command from a plugin");
        peer_lost(bus, p, "protocol violation");
        break;
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    cg_bus *bus = arg;
    for (int budget = DRAIN_BUDGET; budget > 0; budget--) {
        int events = 0;
        size_t elen = sizeof events;
        if (zmq_getsockopt(bus->sock, ZMQ_EVENTS, &events, &elen) < 0 ||
            !(events & ZMQ_POLLIN))
            return;
        unsigned char identity[256];
        size_t ilen = 0;
        cg_msg m;
        const char *why = NULL;
        int rc = cg_msg_recv(bus->sock, identity, &ilen, &m, ZMQ_DONTWAIT, &why);
        if (rc == -1) {
            if (errno == EAGAIN)
                return;
            CG_WARN(BUS_LOG, "receive failed: %s", zmq_strerror(errno));
            return;
        }
        if (rc == -2) {
            CG_WARN(BUS_LOG, "malformed message: %s", why);
            if (ilen) {
                send_disconnect(bus, identity, ilen, why);
                bus_peer *p = peer_find(bus, identity, ilen);
                if (p)
                    peer_lost(bus, p, why);
            }
            continue;
        }
        handle_message(bus, identity, ilen, &m);
        cg_msg_clear(&m);
    }
    check_input(bus); /* budget used up: come back after others had a turn */
}

/* ------------------------------------------------------------- timers */

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    cg_bus *bus = arg;
    bus->delay_armed_at = 0;
    int64_t now = now_ms();
    while (bus->delayed.head && bus->delayed.head->not_before <= now) {
        delivery *d = bus->delayed.head;
        detach(bus, d);
        queue_now(d);
    }
    arm_delay_timer(bus);
    pump_all(bus);
}

static void expire_leases(cg_bus *bus, int64_t now)
{
    while (bus->leased.head && bus->leased.head->lease_until <= now) {
        delivery *d = bus->leased.head;
        if (!d->payload) { /* a ghost nobody completed */
            forget(bus, d);
            continue;
        }
        bus_peer *p = d->peer;
        if (p) {
            p->failures++;
            peer_error(p, "%s: %s after %d ms", d->id,
                       d->state == D_SENT ? "no RESULT" : "not completed by the core",
                       bus->opt.lease_ms);
            CG_WARN(BUS_LOG, "plugin %s: %s", p->name, p->last_error);
        }
        detach(bus, d);
        failed_attempt(bus, d, "lease expired");
    }
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    cg_bus *bus = arg;
    int64_t now = now_ms();
    int64_t dead_after = (int64_t)bus->opt.heartbeat_ms * bus->opt.heartbeat_misses;
    for (bus_peer *p = bus->peers, *next; p; p = next) {
        next = p->next;
        if (p->lost)
            continue;
        p->send_blocked = 0;
        if (now - p->last_seen > dead_after) {
            peer_died(bus, p, "silent for too long");
            /* p stays in the list (marked lost) until prune_lost. */
            if (bus->handlers.on_peer_silent)
                bus->handlers.on_peer_silent(bus->arg, p->instance, p->pid,
                                             "silent for too long");
            continue;
        }
        if (send_msg(bus, p->identity, p->identity_len, CG_MSG_HEARTBEAT, "", "", 0) < 0 &&
            errno == EHOSTUNREACH)
            peer_died(bus, p, "unreachable");
    }
    expire_leases(bus, now);
    prune_lost(bus, now);
    pump_all(bus);
}

/* ------------------------------------------------------------- public API */

cg_bus *cg_bus_new(struct event_base *base, void *zmq_ctx, const cg_bus_options *opt,
                   const cg_bus_handlers *handlers, void *arg, char *err, size_t errlen)
{
    if (!base || !zmq_ctx || !opt || opt->n_endpoints == 0 || !opt->endpoints) {
        snprintf(err, errlen, "bus: missing event base, context or endpoint");
        return NULL;
    }
    /* The values come from the config; their defaults are its schema's. */
    if (opt->heartbeat_ms <= 0 || opt->lease_ms <= 0 || opt->retry_base_ms <= 0 ||
        opt->retry_max_ms <= 0 || opt->max_attempts <= 0) {
        snprintf(err, errlen, "bus: heartbeat_ms, lease_ms, retry_base_ms, retry_max_ms and "
                 "max_attempts must be above 0 (cg_config_defaults gives the defaults)");
        return NULL;
    }
    cg_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        snprintf(err, errlen, "bus: out of memory");
        return NULL;
    }
    bus->base = base;
    bus->opt = *opt;
    bus->opt.endpoints = NULL; /* not kept */
    if (bus->opt.heartbeat_misses <= 0) /* the protocol's rule, not a config key */
        bus->opt.heartbeat_misses = 3;
    if (bus->opt.retry_max_ms < bus->opt.retry_base_ms)
        bus->opt.retry_max_ms = bus->opt.retry_base_ms;
    bus->opt.remote_endpoint = NULL; /* not kept */
    bus->opt.curve_secret_key = NULL;
    bus->opt.clients = NULL;
    bus->welcome = strdup(opt->welcome_json ? opt->welcome_json : "");
    bus->opt.welcome_json = NULL; /* kept as bus->welcome */
    if (handlers)
        bus->handlers = *handlers;
    bus->arg = arg;
    bus->n_buckets = 64;
    bus->buckets = calloc(bus->n_buckets, sizeof *bus->buckets);

    bus->sock = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    if (!bus->buckets || !bus->sock || !bus->welcome) {
        snprintf(err, errlen, "bus: cannot create the ROUTER: %s", zmq_strerror(errno));
        goto fail;
    }
    int one = 1, zero = 0, hwm = BUS_HWM;
    zmq_setsockopt(bus->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(bus->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(bus->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(bus->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    for (size_t i = 0; i < opt->n_endpoints; i++) {
        if (zmq_bind(bus->sock, opt->endpoints[i]) != 0) {
            snprintf(err, errlen, "bus: cannot bind %s: %s", opt->endpoints[i],
                     zmq_strerror(errno));
            goto fail;
        }
    }
    if (opt->remote_endpoint) {
        /* The handler first: a CURVE server without one takes any client key.
         * Security options are taken by each bind: the endpoints above stay
         * plain (local plugins), this one is CURVE. */
        bus->zap = cg_zap_start(base, zmq_ctx, opt->clients, opt->n_clients, err, errlen);
        if (!bus->zap)
            goto fail;
        if (!opt->curve_secret_key ||
            zmq_setsockopt(bus->sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(bus->sock, ZMQ_CURVE_SECRETKEY, opt->curve_secret_key, 40) != 0 ||
            zmq_setsockopt(bus->sock, ZMQ_ZAP_DOMAIN, "citygrid", 8) != 0) {
            snprintf(err, errlen, "bus: cannot set the CURVE server key: %s",
                     opt->curve_secret_key ? zmq_strerror(errno) : "no key");
            goto fail;
        }
        if (zmq_bind(bus->sock, opt->remote_endpoint) != 0) {
            snprintf(err, errlen, "bus: cannot bind %s: %s", opt->remote_endpoint,
                     zmq_strerror(errno));
            goto fail;
        }
        CG_NOTICE(BUS_LOG, "remote plugins: %s (CURVE, %zu department key(s))",
                  opt->remote_endpoint, opt->n_clients);
    }
    int fd = -1;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(bus->sock, ZMQ_FD, &fd, &fdlen) != 0) {
        snprintf(err, errlen, "bus: ZMQ_FD: %s", zmq_strerror(errno));
        goto fail;
    }
    bus->read_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, bus);
    bus->heartbeat_ev = event_new(base, -1, EV_PERSIST, on_heartbeat, bus);
    bus->delay_ev = evtimer_new(base, on_delay, bus);
    if (!bus->read_ev || !bus->heartbeat_ev || !bus->delay_ev) {
        snprintf(err, errlen, "bus: out of memory");
        goto fail;
    }
    struct timeval hb = {.tv_sec = bus->opt.heartbeat_ms / 1000,
                         .tv_usec = (bus->opt.heartbeat_ms % 1000) * 1000};
    if (event_add(bus->read_ev, NULL) != 0 || event_add(bus->heartbeat_ev, &hb) != 0) {
        snprintf(err, errlen, "bus: cannot add events");
        goto fail;
    }
    /* Edge-triggered: anything that arrived before the event existed would
     * never raise the fd again. */
    check_input(bus);
    return bus;
fail:
    if (bus->read_ev)
        event_free(bus->read_ev);
    if (bus->heartbeat_ev)
        event_free(bus->heartbeat_ev);
    if (bus->delay_ev)
        event_free(bus->delay_ev);
    if (bus->sock)
        zmq_close(bus->sock);
    cg_zap_free(bus->zap);
    free(bus->buckets);
    free(bus->welcome);
    free(bus);
    return NULL;
}

void cg_bus_free(cg_bus *bus)
{
    if (!bus)
        return;
    while (bus->queries)
        query_finish(bus, bus->queries, CG_BUS_ANSWER_UNAVAILABLE, NULL);
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost)
            send_disconnect(bus, p->identity, p->identity_len, "core shutting down");
    event_free(bus->read_ev);
    event_free(bus->heartbeat_ev);
    event_free(bus->delay_ev);
    int linger = 200; /* let the DISCONNECTs out, but never hang the exit */
    zmq_setsockopt(bus->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(bus->sock);
    cg_zap_free(bus->zap);
    for (size_t i = 0; i < bus->n_buckets; i++)
        for (delivery *d = bus->buckets[i], *next; d; d = next) {
            next = d->hnext;
            free(d->payload);
            free(d);
        }
    free(bus->buckets);
    while (bus->peers) {
        bus_peer *p = bus->peers;
        bus->peers = p->next;
        json_decref(p->sources);
        free(p);
    }
    while (bus->depts) {
        dept *dp = bus->depts;
        bus->depts = dp->next;
        free(dp);
    }
    free(bus->welcome);
    free(bus);
}

/* The payload as dispatch_body() needs it: a compact JSON object without
 * "attempt" (the bus's to set on each delivery). The core's payloads are
 * compact objects jansson wrote, without that key: they are copied as they
 * are, which spares a parse and an encode per dispatch. Anything else (text
 * that mentions "attempt" or has \u escapes, which could spell it, or does
 * not look like a compact object) goes through jansson. NULL: refused (logged). */
static char *payload_for_bus(const cg_dispatch *d)
{
    size_t len = strlen(d->payload);
    if (len >= 2 && d->payload[0] == '{' && d->payload[len - 1] == '}' &&
        (len == 2 || d->payload[1] == '"') && !strstr(d->payload, "attempt") &&
        !strstr(d->payload, "\\u")) {
        char *copy = malloc(len + 1);
        if (copy)
            memcpy(copy, d->payload, len + 1);
        else
            CG_ERROR(BUS_LOG, "enqueue %s: out of memory", d->id);
        return copy;
    }
    json_error_t jerr;
    json_t *o = json_loads(d->payload, 0, &jerr);
    if (!json_is_object(o)) {
        CG_ERROR(BUS_LOG, "enqueue refused: dispatch %s payload is not a JSON object (%s)",
                 d->id, o ? "other type" : jerr.text);
        json_decref(o);
        return NULL;
    }
    json_object_del(o, "attempt");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        CG_ERROR(BUS_LOG, "enqueue %s: out of memory", d->id);
    return text;
}

void cg_bus_enqueue(cg_bus *bus, const cg_dispatch *d)
{
    if (!bus || !d)
        return;
    if (!d->id[0] || !d->department[0] || !d->payload) {
        CG_ERROR(BUS_LOG, "enqueue refused: dispatch %s lacks an id, department or payload",
                 d->id[0] ? d->id : "(no id)");
        return;
    }
    if (table_find(bus, d->id))
        return; /* already held: the copy we have is the one in flight */
    char *text = payload_for_bus(d);
    if (!text)
        return;
    delivery *x = calloc(1, sizeof *x);
    dept *dp = dept_get(bus, d->department);
    if (x)
        snprintf(x->id, sizeof x->id, "%s", d->id);
    if (!text || !x || !dp || table_insert(bus, x) != 0) {
        CG_ERROR(BUS_LOG, "enqueue %s: out of memory", d->id);
        free(text);
        free(x);
        return;
    }
    x->dept = dp;
    x->payload = text;
    x->payload_len = strlen(text);
    x->attempts = d->attempts;
    dp->held++;
    queue_now(x);
    pump(bus, dp);
}

void cg_bus_complete(cg_bus *bus, const char *dispatch_id)
{
    if (!bus || !dispatch_id)
        return;
    delivery *d = table_find(bus, dispatch_id);
    if (!d)
        return;
    bus_peer *p = (d->state == D_SENT || d->state == D_ANSWERED) ? d->peer : NULL;
    dept *dp = d->dept;
    if (p) {
        if (d->state == D_ANSWERED)
            p->completed++;
        if (!p->lost && send_msg(bus, p->identity, p->identity_len, CG_MSG_ACK, d->id, "", 0) < 0)
            CG_DEBUG(BUS_LOG, "ACK %s to %s not sent: %s", d->id, p->name, zmq_strerror(errno));
    }
    forget(bus, d);
    if (dp)
        pump(bus, dp); /* its credit is free again */
}

void cg_bus_retry(cg_bus *bus, const char *dispatch_id, const char *reason)
{
    if (!bus || !dispatch_id)
        return;
    delivery *d = table_find(bus, dispatch_id);
    if (!d || d->state == D_QUEUED || d->state == D_DELAYED)
        return;
    bus_peer *p = d->peer;
    if (p) {
        p->failures++;
        peer_error(p, "%s: %s", d->id, reason ? reason : "retry");
    }
    if (!d->payload) {
        /* A ghost: the bus has no payload to send; the outbox row remains and
         * is loaded again when the core restarts. */
        CG_WARN(BUS_LOG, "retry of %s which the bus no longer holds: %s", dispatch_id,
                reason ? reason : "");
        forget(bus, d);
        return;
    }
    dept *dp = d->dept;
    detach(bus, d);
    failed_attempt(bus, d, reason ? reason : "retry");
    pump(bus, dp);
}

size_t cg_bus_stats(const cg_bus *bus, cg_bus_peer_stats *out, size_t max)
{
    size_t n = 0;
    if (!bus)
        return 0;
    for (const bus_peer *p = bus->peers; p; p = p->next, n++) {
        if (n >= max || !out)
            continue;
        cg_bus_peer_stats *s = &out[n];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", p->name);
        snprintf(s->version, sizeof s->version, "%s", p->version);
        snprintf(s->department, sizeof s->department, "%s", p->department);
        snprintf(s->abi, sizeof s->abi, "%s", p->abi);
        snprintf(s->mode, sizeof s->mode, "%s", p->mode);
        snprintf(s->state, sizeof s->state, "%s", p->lost ? "lost" : "ready");
        snprintf(s->last_error, sizeof s->last_error, "%s", p->last_error);
        s->pid = p->pid;
        const dept *dp = dept_find(bus, p->department);
        s->queued = dp ? dp->waiting : 0;
        s->in_flight = p->in_flight;
        s->delivered = p->delivered;
        s->completed = p->completed;
        s->redelivered = p->redelivered;
        s->failures = p->failures;
        snprintf(s->instance, sizeof s->instance, "%s", p->instance);
        s->draining = p->draining;
        if (p->draining && !p->lost)
            snprintf(s->state, sizeof s->state, "draining");
        s->dead_letters = dp ? dp->dead_letters : 0;
        if (p->n_latencies) {
            double sorted[CG_BUS_LATENCY_WINDOW], sum = 0;
            memcpy(sorted, p->latencies, p->n_latencies * sizeof *sorted);
            for (size_t i = 1; i < p->n_latencies; i++) /* insertion sort, <= 128 */
                for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
                    double t = sorted[j];
                    sorted[j] = sorted[j - 1];
                    sorted[j - 1] = t;
                }
            for (size_t i = 0; i < p->n_latencies; i++)
                sum += sorted[i];
            s->latency_p50_ms = sorted[p->n_latencies / 2];
            s->latency_mean_ms = sum / (double)p->n_latencies;
        }
    }
    return n;
}

size_t cg_bus_pending(const cg_bus *bus, const char *department)
{
    if (!bus || !department)
        return 0;
    const dept *dp = dept_find(bus, department);
    return dp ? dp->held : 0;
}

int cg_bus_department_online(const cg_bus *bus, const char *department)
{
    if (!bus || !department)
        return 0;
    for (const bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && strcmp(p->department, department) == 0)
            return 1;
    return 0;
}

void cg_bus_retire(cg_bus *bus, const char *instance)
{
    if (!bus || !instance || !*instance)
        return;
    if (!is_retired(bus, instance)) {
        snprintf(bus->retired[bus->retired_next], sizeof bus->retired[0], "%s", instance);
        bus->retired_next = (bus->retired_next + 1) % MAX_RETIRED;
    }
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && strcmp(p->instance, instance) == 0)
            p->draining = 1;
}

int cg_bus_instance_state(const cg_bus *bus, const char *instance, size_t *in_flight,
                          int *active)
{
    if (!bus || !instance)
        return 0;
    for (const bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && strcmp(p->instance, instance) == 0) {
            if (in_flight)
                *in_flight = p->in_flight;
            if (active)
                *active = !p->draining;
            return 1;
        }
    if (in_flight)
        *in_flight = 0;
    if (active)
        *active = 0;
    return 0;
}

void cg_bus_instance_died(cg_bus *bus, const char *instance, const char *reason)
{
    if (!bus || !instance || !*instance)
        return;
    for (bus_peer *p = bus->peers; p; p = p->next)
        if (!p->lost && strcmp(p->instance, instance) == 0)
            peer_died(bus, p, reason ? reason : "its process died");
}

unsigned long long cg_bus_refused_links(const cg_bus *bus)
{
    return bus ? cg_zap_refused(bus->zap) : 0;
}

void cg_dispatch_clear(cg_dispatch *d)
{
    if (!d)
        return;
    free(d->payload);
    d->payload = NULL;
}
