/*
 * zap.c — the ZAP handler for CURVE links (see zap.h).
 *
 * Request (RFC 27): version "1.0", request id, domain, address, routing id,
 * mechanism, then credentials (CURVE: the client's 32-byte public key).
 * Reply: version, request id, status code ("200" / "400"), status text,
 * user id, metadata (empty).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wire/zap.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "lib/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES_MAX 8
#define ZAP_DRAIN_BUDGET 64

typedef struct zap_entry {
    char key[41];
    char department[64];
} zap_entry;

struct cg_zap {
    void *sock;
    struct event *ev;
    zap_entry *entries;
    size_t n;
    unsigned long long refused, allowed;
};

static const zap_entry *lookup(const cg_zap *zap, const char *key)
{
    for (size_t i = 0; i < zap->n; i++)
        if (strcmp(zap->entries[i].key, key) == 0)
            return &zap->entries[i];
    return NULL;
}

static void reply(cg_zap *zap, const zmq_msg_t *request_id, const char *code, const char *text,
                  const char *user_id)
{
    zmq_send(zap->sock, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap->sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id),
             ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap->sock, code, strlen(code), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap->sock, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap->sock, user_id, strlen(user_id), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send(zap->sock, "", 0, ZMQ_DONTWAIT);
}

static int frame_is(zmq_msg_t *m, const char *s)
{
    return zmq_msg_size(m) == strlen(s) && memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/* Read one request (all its frames) and answer it. 0 handled, -1 nothing waiting. */
static int handle_one(cg_zap *zap)
{
    zmq_msg_t parts[ZAP_FRAMES_MAX];
    size_t n = 0, total = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch, *m = n < ZAP_FRAMES_MAX ? &parts[n] : &scratch;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, zap->sock, total == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(m);
            for (size_t i = 0; i < n; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        more = zmq_msg_more(m);
        total++;
        if (m == &scratch)
            zmq_msg_close(m);
        else
            n++;
    }
    char address[64] = "?";
    if (n >= 4)
        snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&parts[3]),
                 (const char *)zmq_msg_data(&parts[3]));
    if (n < 6 || !frame_is(&parts[0], "1.0")) {
        CG_WARN("zap", "malformed ZAP request (%zu frames) refused", total);
        zmq_msg_t empty; /* a REP socket must answer every request */
        zmq_msg_init(&empty);
        reply(zap, n >= 2 ? &parts[1] : &empty, "400", "malformed request", "");
        zmq_msg_close(&empty);
        zap->refused++;
    } else if (frame_is(&parts[5], "NULL")) {
        /* inproc/ipc plugins on this host: no CURVE on those endpoints. */
        reply(zap, &parts[1], "200", "OK", "");
    } else if (frame_is(&parts[5], "CURVE") && n >= 7 && zmq_msg_size(&parts[6]) == 32) {
        char key[41];
        zmq_z85_encode(key, zmq_msg_data(&parts[6]), 32);
        const zap_entry *e = lookup(zap, key);
        if (e) {
            zap->allowed++;
            CG_INFO("zap", "remote plugin link from %s with the key of department %s", address,
                    e->department);
            reply(zap, &parts[1], "200", "OK", e->department);
        } else {
            zap->refused++;
            CG_WARN("zap", "remote plugin link from %s refused: unknown public key %s (not in "
                    "bus.clients)", address, key);
            reply(zap, &parts[1], "400", "unknown key", "");
        }
    } else {
        zap->refused++;
        CG_WARN("zap", "link from %s refused: mechanism %.*s is not allowed", address,
                (int)zmq_msg_size(&parts[5]), (const char *)zmq_msg_data(&parts[5]));
        reply(zap, &parts[1], "400", "mechanism not allowed", "");
    }
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    cg_zap *zap = arg;
    for (int budget = ZAP_DRAIN_BUDGET; budget > 0; budget--) {
        int events = 0;
        size_t len = sizeof events;
        if (zmq_getsockopt(zap->sock, ZMQ_EVENTS, &events, &len) < 0 || !(events & ZMQ_POLLIN))
            return;
        if (handle_one(zap) < 0)
            return;
    }
    event_active(zap->ev, EV_READ, 0); /* budget used up: come back later */
}

cg_zap *cg_zap_start(struct event_base *base, void *zmq_ctx, const cg_zap_client *clients,
                     size_t n_clients, char *err, size_t errlen)
{
    cg_zap *zap = calloc(1, sizeof *zap);
    if (!zap || !(zap->entries = calloc(n_clients ? n_clients : 1, sizeof *zap->entries))) {
        snprintf(err, errlen, "zap: out of memory");
        free(zap);
        return NULL;
    }
    for (size_t i = 0; i < n_clients; i++) {
        snprintf(zap->entries[i].key, sizeof zap->entries[i].key, "%s", clients[i].public_key);
        snprintf(zap->entries[i].department, sizeof zap->entries[i].department, "%s",
                 clients[i].department);
    }
    zap->n = n_clients;
    zap->sock = zmq_socket(zmq_ctx, ZMQ_REP);
    int zero = 0;
    if (!zap->sock || zmq_setsockopt(zap->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(zap->sock, ZAP_ENDPOINT) != 0) {
        snprintf(err, errlen, "zap: cannot bind %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        cg_zap_free(zap);
        return NULL;
    }
    int fd = -1;
    size_t fdlen = sizeof fd;
    if (zmq_getsockopt(zap->sock, ZMQ_FD, &fd, &fdlen) != 0 ||
        !(zap->ev = event_new(base, fd, EV_READ | EV_PERSIST, on_read, zap)) ||
        event_add(zap->ev, NULL) != 0) {
        snprintf(err, errlen, "zap: cannot watch the socket");
        cg_zap_free(zap);
        return NULL;
    }
    event_active(zap->ev, EV_READ, 0); /* edge-triggered: look once now */
    CG_INFO("zap", "ZAP handler on %s with %zu department key(s)", ZAP_ENDPOINT, n_clients);
    return zap;
}

void cg_zap_free(cg_zap *zap)
{
    if (!zap)
        return;
    if (zap->ev)
        event_free(zap->ev);
    if (zap->sock)
        zmq_close(zap->sock);
    free(zap->entries);
    free(zap);
}

unsigned long long cg_zap_refused(const cg_zap *zap) { return zap ? zap->refused : 0; }
unsigned long long cg_zap_allowed(const cg_zap *zap) { return zap ? zap->allowed : 0; }
