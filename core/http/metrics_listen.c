/*
 * metrics_listen.c — see metrics_listen.h. Its connections do not pass the
 * gate (http_gate.h is one per process, for the API): evhttp's own timeout,
 * a small header limit and no body at all are enough for a scrape.
 */
#include "http/metrics_listen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/http.h>

#include "http/api.h"
#include "http/http_util.h"
#include "lib/log.h"

#define METRICS_TIMEOUT_SECONDS 30
#define METRICS_MAX_HEADERS 8192

struct cg_metrics_listen {
    cg_app *app;
    struct evhttp *evh;
    int port;
};

static void on_request(struct evhttp_request *req, void *arg)
{
    cg_metrics_listen *m = arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Content-Type-Options", "nosniff");
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || strcmp(path, "/metrics") != 0) {
        cg_http_reply_error(req, 404, "not_found", "this address serves only GET /metrics");
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        cg_http_reply_error(req, 405, "method_not_allowed", "only GET /metrics here");
        return;
    }
    cg_api_ctx ctx = {.app = m->app, .req = req}; /* no principal: no token needed here */
    cg_api_metrics(&ctx);
}

cg_metrics_listen *cg_metrics_listen_start(cg_app *app, const char *host, int port, char *err,
                                           size_t errlen)
{
    cg_metrics_listen *m = calloc(1, sizeof *m);
    if (!m || !(m->evh = evhttp_new(app->base))) {
        snprintf(err, errlen, "metrics_listen: out of memory");
        free(m);
        return NULL;
    }
    m->app = app;
    evhttp_set_allowed_methods(m->evh, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                           EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                           EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_timeout(m->evh, METRICS_TIMEOUT_SECONDS);
    evhttp_set_max_headers_size(m->evh, METRICS_MAX_HEADERS);
    evhttp_set_max_body_size(m->evh, 0);
    evhttp_set_gencb(m->evh, on_request, m);
    errno = 0;
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(m->evh, host,
                                                                      (ev_uint16_t)port);
    if (!sock) {
        snprintf(err, errlen, "cannot listen on metrics_listen %s:%d: %s", host, port,
                 errno ? strerror(errno) : "bind failed");
        cg_metrics_listen_free(m);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) == 0)
        m->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (!m->port)
        m->port = port;
    CG_NOTICE("http", "metrics on http://%s:%d/metrics (no token)", host, m->port);
    return m;
}

int cg_metrics_listen_port(const cg_metrics_listen *m)
{
    return m ? m->port : 0;
}

void cg_metrics_listen_free(cg_metrics_listen *m)
{
    if (!m)
        return;
    if (m->evh)
        evhttp_free(m->evh);
    free(m);
}
