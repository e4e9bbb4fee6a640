/*
 * metrics_listen.h — the config's metrics_listen address: a second evhttp
 * server, plain HTTP, that answers GET (and HEAD) /metrics without a token
 * (api_metrics.c renders it) and 404 to everything else, so Prometheus can
 * scrape without holding the admin token. Started and freed by http.c with
 * the main listener. Main (libevent) thread only.
 */
#ifndef CG_HTTP_METRICS_LISTEN_H
#define CG_HTTP_METRICS_LISTEN_H

#include <stddef.h>

#include "host/app.h"

typedef struct cg_metrics_listen cg_metrics_listen;

/* Bind host:port (0: any free port) and serve; NULL with err. */
cg_metrics_listen *cg_metrics_listen_start(cg_app *app, const char *host, int port, char *err,
                                           size_t errlen);
int cg_metrics_listen_port(const cg_metrics_listen *m);
void cg_metrics_listen_free(cg_metrics_listen *m);

#endif
