/*
 * runtime.h — the plugin's side of the bus: hosts one loaded plugin, gives it
 * the citygrid_host table, and speaks CGBP/1 over a DEALER. The same code
 * serves thread mode (a thread of citygridd, inproc) and, later, process and
 * remote mode (citygrid-plugind, ipc/tcp): the plugin cannot tell them apart.
 *
 * Loop: READY on connect; then zmq_poll with the nearest timer or heartbeat as
 * timeout. DISPATCH -> handle() with a fresh action list -> RESULT with the
 * actions. A dispatch id already answered is answered again from a bounded
 * cache without calling handle() twice. ACK drops the cached result.
 * Heartbeat every heartbeat_ms; a core silent for 3 beats is reconnected.
 *
 * Threading: the runtime's thread owns the socket and calls every plugin
 * callback; cg_runtime_start/stop are called from the core's main thread.
 */
#ifndef CG_RUNTIME_H
#define CG_RUNTIME_H

#include <stddef.h>
#include <citygrid/plugin.h>

typedef struct cg_runtime cg_runtime;

typedef struct cg_runtime_options {
    void *zmq_ctx;                 /* shared context (thread mode) */
    const char *endpoint;          /* e.g. "inproc://citygrid-bus" */
    const citygrid_plugin *plugin; /* descriptor from the loaded .so */
    citygrid_abi abi;              /* the ABI the plugin said it speaks */
    const char *settings_json;     /* the plugin's settings object */
    const char *mode;              /* "thread", "process", "remote": told to the core only */
    unsigned credit;               /* dispatches it may hold: 64 */
    int heartbeat_ms;              /* 1000 */
    /* Added for process/remote mode (NULL: not used). */
    const char *instance;          /* told to the core in READY as "instance": which
                                      start of the plugin this is (hot release); NULL:
                                      one is made up */
    const char *curve_server_key;  /* Z85 public key of the core: CURVE on (remote) */
    const char *curve_public_key;  /* Z85 keypair of this plugin host */
    const char *curve_secret_key;
} cg_runtime_options;

/* Start the plugin on a new thread: calls init() there and waits for it.
 * NULL when init fails or the thread cannot start (err says which). */
cg_runtime *cg_runtime_start(const cg_runtime_options *opt, char *err, size_t errlen);
/* Send DISCONNECT, stop the thread, call shutdown() on it, free. */
void cg_runtime_stop(cg_runtime *rt);

/* Run in the calling thread until *stop becomes non-zero (citygrid-plugind).
 * Returns 0 on a clean stop, -1 if init failed (err). */
int cg_runtime_run(const cg_runtime_options *opt, volatile int *stop, char *err, size_t errlen);

#endif
