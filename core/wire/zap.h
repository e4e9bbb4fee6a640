/*
 * zap.h — the core's ZAP handler (ZeroMQ RFC 27) for remote plugin links.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 in the socket's
 * context whether a connecting peer may talk; without a handler, a CURVE
 * server accepts ANY client key (encryption without authentication). This
 * one holds the allow-list of department public keys: a known key is taken
 * with User-Id = its department (the bus reads it from each message's
 * metadata and refuses a READY for another department); an unknown key is
 * refused and logged. NULL-mechanism peers (inproc, ipc: local plugins) are
 * allowed. It must be started BEFORE the CURVE socket binds.
 *
 * A REP socket inside the libevent loop (ZMQ_FD, edge-triggered, drained).
 * Main thread only.
 */
#ifndef CG_ZAP_H
#define CG_ZAP_H

#include <stddef.h>

struct event_base;
typedef struct cg_zap cg_zap;

typedef struct cg_zap_client {
    const char *public_key;  /* Z85, 40 characters */
    const char *department;
} cg_zap_client;

/* Copies the list. NULL with err when the endpoint cannot be bound (another
 * handler already runs in this context). */
cg_zap *cg_zap_start(struct event_base *base, void *zmq_ctx, const cg_zap_client *clients,
                     size_t n_clients, char *err, size_t errlen);
void cg_zap_free(cg_zap *zap);

/* How many connection attempts were refused / allowed so far. */
unsigned long long cg_zap_refused(const cg_zap *zap);
unsigned long long cg_zap_allowed(const cg_zap *zap);

#endif
