/*
 * handshake.c — a socket monitor for CURVE handshakes (see handshake.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wire/handshake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

/* The events watched: the outcome of each handshake, nothing else. */
#define CG_HANDSHAKE_EVENTS                                                            \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |                 \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)

void *cg_handshake_watch(void *zctx, void *sock, const char *tag)
{
    char endpoint[160];
    snprintf(endpoint, sizeof endpoint, "inproc://citygrid-handshake-%.100s", tag ? tag : "");
    if (zmq_socket_monitor(sock, endpoint, CG_HANDSHAKE_EVENTS) != 0)
        return NULL;
    void *watch = zmq_socket(zctx, ZMQ_PAIR);
    int zero = 0;
    if (!watch || zmq_setsockopt(watch, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(watch, endpoint) != 0) {
        int e = errno;
        if (watch)
            zmq_close(watch);
        zmq_socket_monitor(sock, NULL, 0);
        errno = e;
        return NULL;
    }
    return watch;
}

/* Receive one frame into buf (truncated to len); its size, or -1. */
static int recv_frame(void *watch, void *buf, size_t len, int flags, int *more)
{
    int n = zmq_recv(watch, buf, len, flags);
    if (n < 0)
        return -1;
    int m = 0;
    size_t ml = sizeof m;
    zmq_getsockopt(watch, ZMQ_RCVMORE, &m, &ml);
    *more = m;
    return n;
}

int cg_handshake_read(void *watch, cg_handshake_event *ev)
{
    for (;;) {
        unsigned char head[6];
        int more = 0;
        int n = recv_frame(watch, head, sizeof head, ZMQ_DONTWAIT, &more);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (n != (int)sizeof head || !more) {
            /* Not an event's first frame: skip to the next message. */
            char skip[8];
            while (more && recv_frame(watch, skip, sizeof skip, 0, &more) >= 0)
                ;
            continue;
        }
        uint16_t event;
        uint32_t value;
        memcpy(&event, head, sizeof event);
        memcpy(&value, head + 2, sizeof value);
        /* The second frame follows at once (libzmq sends both together). */
        int len = recv_frame(watch, ev->endpoint, sizeof ev->endpoint - 1, 0, &more);
        if (len < 0)
            return -1;
        ev->endpoint[(size_t)len < sizeof ev->endpoint ? (size_t)len : sizeof ev->endpoint - 1] = 0;
        char skip[8];
        while (more && recv_frame(watch, skip, sizeof skip, 0, &more) >= 0)
            ;
        ev->event = event;
        ev->value = value;
        return 1;
    }
}

void cg_handshake_unwatch(void *sock, void *watch)
{
    if (sock && watch)
        zmq_socket_monitor(sock, NULL, 0);
    if (watch)
        zmq_close(watch);
}

static const char *protocol_error_text(uint32_t code)
{
    if (code == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return "a cryptographic check failed: the --server-key given is probably not the "
               "core's public key";
    if (code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return "the core does not speak CURVE on this endpoint: is it the core's remote_bind?";
    if (code >= ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED && code <= ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA)
        return "the core's key check (ZAP) answered something unexpected";
    return "the peer does not speak the expected protocol";
}

const char *cg_handshake_describe(const cg_handshake_event *ev, const char *public_key,
                                  const char *department, char *out, size_t outlen)
{
    int has_key = public_key && *public_key;
    switch (ev->event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        snprintf(out, outlen, "the core at %s accepted this host's key", ev->endpoint);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        snprintf(out, outlen,
                 "the core at %s REFUSED this host's key (ZAP status %u): its bus.clients does "
                 "not admit public key %s%s%s; ask the core's administrator to add it, "
                 "or start with the key the core knows (retrying meanwhile)",
                 ev->endpoint, (unsigned)ev->value, has_key ? public_key : "(unknown)",
                 department && *department ? " for department " : "",
                 department && *department ? department : "");
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        snprintf(out, outlen, "the handshake with the core at %s failed: %s (protocol error 0x%08x)",
                 ev->endpoint, protocol_error_text(ev->value), (unsigned)ev->value);
        break;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        snprintf(out, outlen, "the handshake with the core at %s failed: %s", ev->endpoint,
                 ev->value ? zmq_strerror((int)ev->value) : "no detail given");
        break;
    default:
        snprintf(out, outlen, "event 0x%x (value %u) on %s", ev->event, (unsigned)ev->value,
                 ev->endpoint);
        break;
    }
    return out;
}
