/*
 * http.h — the HTTP+JSON API on libevent's evhttp (API.md). Main thread.
 */
#ifndef CG_HTTP_H
#define CG_HTTP_H

#include <stddef.h>
#include "app.h"

typedef struct cg_http cg_http;

/* Bind host:port (port 0: any free port, see cg_http_port) and serve. */
cg_http *cg_http_start(cg_app *app, const char *host, int port, char *err, size_t errlen);
int cg_http_port(const cg_http *http);
void cg_http_free(cg_http *http);

#endif
