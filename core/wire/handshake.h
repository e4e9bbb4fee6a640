/*
 * handshake.h — what a plugin host learns about its CURVE handshakes with the
 * core, so a refused key is reported on the plugin's own side.
 *
 * Without this, a remote citygrid-plugind whose key the core's ZAP handler
 * refuses sees nothing but "HEARTBEAT not sent": libzmq keeps reconnecting
 * quietly, and the DEALER never gets a peer. libzmq does tell, through a
 * socket monitor (zmq_socket_monitor(3), stable since 4.3.0): the core
 * answers a ZAP refusal with a ZMTP ERROR command carrying the ZAP status
 * ("400"), and the client's mechanism turns it into
 * ZMQ_EVENT_HANDSHAKE_FAILED_AUTH with that status as the event's value.
 * Other failures come as ..._FAILED_PROTOCOL (value: a
 * ZMQ_PROTOCOL_ERROR_* code, e.g. a box that does not open: the wrong
 * server key) or ..._FAILED_NO_DETAIL (value: an errno).
 *
 * Each event is two frames: 6 bytes (uint16 event, uint32 value, host
 * byte order) and the endpoint. The monitor is a PAIR bound by libzmq on an
 * inproc endpoint of the socket's context; we connect our PAIR to it.
 *
 * Threading: the watched socket's thread owns the watch (open, read, close),
 * like the socket itself.
 */
#ifndef CG_HANDSHAKE_H
#define CG_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_handshake_event {
    unsigned event;      /* ZMQ_EVENT_HANDSHAKE_* */
    uint32_t value;      /* ZAP status, protocol error code or errno */
    char endpoint[256];  /* e.g. "tcp://127.0.0.1:5555" */
} cg_handshake_event;

/* Start watching `sock` (created in `zctx`); `tag` makes the inproc
 * endpoint unique (two watches in one context must differ). Returns our
 * PAIR end to poll for ZMQ_POLLIN, or NULL (errno set): the link still
 * works, it only cannot say why a handshake failed. */
void *cg_handshake_watch(void *zctx, void *sock, const char *tag);

/* One event without blocking: 1 read into *ev, 0 none waiting, -1 the
 * watch failed (drop it). Frames that are not an event are skipped. */
int cg_handshake_read(void *watch, cg_handshake_event *ev);

/* Stop watching and close our end; before `sock` is closed. NULLs allowed. */
void cg_handshake_unwatch(void *sock, void *watch);

/* The plain sentence for an event, for a log line (no trailing period):
 * "the core at tcp://... refused this host's key (ZAP status 400) ...".
 * public_key: this host's Z85 public key (may be NULL or ""), department:
 * the plugin's department, both named in a refusal so an administrator
 * knows what to add. Returns out. */
const char *cg_handshake_describe(const cg_handshake_event *ev, const char *public_key,
                                  const char *department, char *out, size_t outlen);

#endif
