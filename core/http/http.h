/*
 * http.h — the HTTP+JSON API on libevent's evhttp (API.md). Main thread.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include <stddef.h>
#include "host/app.h"

typedef struct cg_http cg_http;

/* Bind host:port (port 0: any free port, see cg_http_port) and serve; over
 * TLS when app->config has a tls group. */
cg_http *cg_http_start(cg_app *app, const char *host, int port, char *err, size_t errlen);
int cg_http_port(const cg_http *http);
/* 1 when the listener speaks TLS (the config's tls group). */
int cg_http_is_tls(const cg_http *http);
/* SIGHUP: serve new connections with the certificate and key in these
 * files (the old context stays with the connections already open). TLS
 * cannot be turned on or off without a restart. 0 ok; -1 with err, the
 * old certificate still served. */
int cg_http_tls_reload(cg_http *http, const char *cert, const char *key, char *err,
                       size_t errlen);
/* Begin shutdown: close the listening socket; requests that still arrive on
 * open connections get 503 shutting_down (Connection: close). Answers already
 * owed are still written while the loop runs, so call cg_http_free() a few
 * loop turns later (evhttp_free drops output not yet written). */
void cg_http_drain(cg_http *http);
/* Requests taken in whose answer is still owed (waiting for a commit). A
 * drain should keep the loop running until this is 0, plus a short grace for
 * the answers to be written. */
size_t cg_http_pending(const cg_http *http);
/* The pool that runs argon2id off the loop (host/workers.h): owned by the
 * server, http.password_workers threads, at most 32 jobs per thread waiting
 * or running (the next is answered 503 at once). */
struct cg_workers *cg_http_workers(const cg_http *http);
void cg_http_free(cg_http *http);

#endif
