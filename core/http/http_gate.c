/*
 * http_gate.c — see http_gate.h. One gate_conn per connection, owned by the
 * filter bufferevent (freed by its free_context callback when evhttp frees
 * the connection). A single timer per connection carries whichever deadline
 * applies now: the head's, the body's or the idle one.
 *
 * Why a filter and not evhttp's own hooks: libevent 2.1 has no callback for
 * an incoming request between its headers and its body (evhttp_set_newreqcb
 * came in 2.2), its per-request header callback is for client requests only,
 * and its body limit is one number for every route. The filter sees the
 * bytes first, so it can judge the head before evhttp buffers the body.
 *
 * Closing is the gate's job too. A filter hands evhttp's answer down to the
 * socket's buffer at once, so evhttp would think an answer sent while it
 * still waits there, and a "Connection: close" would free (and lose) it.
 * So when an answer is complete (evhttp's on-complete callback) and the
 * connection is to close, the gate tells evhttp to keep it, throws away
 * whatever else the client sends, and half-closes the socket (FIN after the
 * answer) once the answer has left the socket's buffer; the client's close
 * (or the header timeout) ends it.
 */
#include "http/http_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include <openssl/ssl.h>

#include "http/http_util.h"
#include "lib/log.h"

#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_HEADER_TIMEOUT_MS 10000
#define DEFAULT_BODY_TIMEOUT_MS 120000
#define DEFAULT_IDLE_TIMEOUT_MS 60000
#define DEFAULT_MAX_HEADER_BYTES 16384
#define BUSY_LINGER_MS 1000 /* a refused connection that does not go away */

typedef struct gate_conn gate_conn;

struct cg_gate {
    struct event_base *base;
    cg_gate_conf conf;
    cg_gate_judge_fn judge;
    void *arg;
    size_t open;
    uint64_t refused;
    gate_conn *conns;          /* every open connection */
};

/* The one gate of the process, for cg_gate_complete (evhttp has a single
 * on-complete callback per request, which the metrics take over). */
static cg_gate *the_gate;

typedef enum { ST_HEAD, ST_BODY, ST_DISCARD } conn_state;

struct gate_conn {
    cg_gate *g;
    gate_conn *prev, *next;
    struct bufferevent *bev;   /* the filter, evhttp's */
    struct bufferevent *under; /* socket or TLS */
    struct event *timer;
    struct event *kick;        /* hands new output down (see on_output_added) */
    conn_state state;
    int head_started;          /* a byte of the current head has come */
    int awaiting;              /* a request went to evhttp; no answer byte yet */
    int busy;                  /* refused at the cap: answer 503 at once */
    int closing;               /* half-close once the answer has left */
    int shut;                  /* ... done */
    uint64_t body_left;
};

static void arm(gate_conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

/* Hand evhttp a request that only carries the refusal; the rest of the
 * connection's input is dropped. */
static void refuse(gate_conn *c, struct evbuffer *src, struct evbuffer *dst, int status,
                   int problem, long long limit)
{
    evbuffer_add_printf(dst,
                        "GET / HTTP/1.1\r\nHost: citygrid\r\nConnection: close\r\n"
                        CG_GATE_HEADER ": %d %d %lld\r\n\r\n",
                        status, problem, limit);
    evbuffer_drain(src, evbuffer_get_length(src));
    c->state = ST_DISCARD;
    c->awaiting = 1;
    arm(c, c->g->conf.header_timeout_ms);
}

static void request_done(gate_conn *c)
{
    c->state = ST_HEAD;
    c->head_started = 0;
    c->awaiting = 1;
    arm(c, c->g->conf.idle_timeout_ms);
}

/* One head at the front of src: 1 handled (passed or refused), 0 need more. */
static int take_head(gate_conn *c, struct evbuffer *src, struct evbuffer *dst)
{
    size_t avail = evbuffer_get_length(src);
    struct evbuffer_ptr end = evbuffer_search(src, "\r\n\r\n", 4, NULL);
    if (end.pos < 0) {
        /* A blank line made of a bare LF would be the end of the head for
         * evhttp: refuse it now rather than wait for a CRLF CRLF. */
        if (evbuffer_search(src, "\n\n", 2, NULL).pos >= 0)
            refuse(c, src, dst, 400, CG_HEAD_MALFORMED, 0);
        else if (avail > c->g->conf.max_header_bytes)
            refuse(c, src, dst, 431, 0, (long long)c->g->conf.max_header_bytes);
        else
            return 0;
        return 1;
    }
    size_t hl = (size_t)end.pos + 4;
    if (hl > c->g->conf.max_header_bytes) {
        refuse(c, src, dst, 431, 0, (long long)c->g->conf.max_header_bytes);
        return 1;
    }
    const char *text = (const char *)evbuffer_pullup(src, (ev_ssize_t)hl);
    cg_http_head head;
    cg_head_problem p = text ? cg_http_head_parse(text, hl, &head) : CG_HEAD_MALFORMED;
    if (p != CG_HEAD_OK) {
        refuse(c, src, dst, cg_head_problem_status(p), p, 0);
        return 1;
    }
    int64_t limit = 0;
    int status = c->g->judge(c->g->arg, &head, &limit);
    if (status) {
        refuse(c, src, dst, status, 0, (long long)limit);
        return 1;
    }
    int64_t length = head.content_length;
    evbuffer_remove_buffer(src, dst, hl);
    c->head_started = 0;
    if (length > 0) {
        c->state = ST_BODY;
        c->body_left = (uint64_t)length;
        arm(c, c->g->conf.body_timeout_ms);
    } else {
        request_done(c);
    }
    return 1;
}

static enum bufferevent_filter_result gate_in(struct evbuffer *src, struct evbuffer *dst,
                                              ev_ssize_t dst_limit, enum bufferevent_flush_mode mode,
                                              void *ctx)
{
    (void)mode;
    gate_conn *c = ctx;
    int moved = 0;
    for (size_t avail; (avail = evbuffer_get_length(src)) > 0;) {
        if (c->state == ST_DISCARD) {
            evbuffer_drain(src, avail);
            break;
        }
        if (c->state == ST_BODY) {
            size_t n = avail < c->body_left ? avail : (size_t)c->body_left;
            if (dst_limit >= 0 && n > (size_t)dst_limit)
                n = (size_t)dst_limit;
            if (n == 0)
                break;
            evbuffer_remove_buffer(src, dst, n);
            moved = 1;
            c->body_left -= n;
            if (c->body_left == 0)
                request_done(c);
            continue;
        }
        if (!c->head_started) {
            /* Empty lines before a request line are ignored (RFC 9112 2.2). */
            unsigned char ch;
            while (evbuffer_copyout(src, &ch, 1) == 1 && (ch == '\r' || ch == '\n'))
                evbuffer_drain(src, 1);
            if (evbuffer_get_length(src) == 0)
                break;
            c->head_started = 1;
            arm(c, c->g->conf.header_timeout_ms);
        }
        if (!take_head(c, src, dst))
            break;
        moved = 1;
    }
    return moved ? BEV_OK : BEV_NEED_MORE;
}

static enum bufferevent_filter_result gate_out(struct evbuffer *src, struct evbuffer *dst,
                                               ev_ssize_t dst_limit,
                                               enum bufferevent_flush_mode mode, void *ctx)
{
    (void)mode;
    gate_conn *c = ctx;
    size_t n = evbuffer_get_length(src);
    if (dst_limit >= 0 && n > (size_t)dst_limit)
        n = (size_t)dst_limit;
    if (n == 0)
        return BEV_NEED_MORE;
    evbuffer_remove_buffer(src, dst, n);
    c->awaiting = 0;
    if (c->state == ST_HEAD && !c->head_started)
        arm(c, c->g->conf.idle_timeout_ms);
    return BEV_OK;
}

/* Close from below: evhttp sees end of file and frees the connection. */
static void cut(gate_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gate_conn *c = arg;
    if (c->busy == 1) {
        /* evhttp has set the fd and is waiting for a first line: give it
         * the refusal straight away, without reading the client. */
        c->busy = 2;
        c->state = ST_DISCARD;
        c->awaiting = 1;
        evbuffer_add_printf(bufferevent_get_input(c->bev),
                            "GET / HTTP/1.1\r\nHost: citygrid\r\nConnection: close\r\n"
                            CG_GATE_HEADER ": 503 0 %zu\r\n\r\n",
                            (size_t)c->g->conf.max_connections);
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
        arm(c, BUSY_LINGER_MS);
        return;
    }
    int owed = c->awaiting && c->state != ST_DISCARD;
    int sending = evbuffer_get_length(bufferevent_get_output(c->bev)) > 0 ||
                  evbuffer_get_length(bufferevent_get_output(c->under)) > 0;
    if (c->state == ST_HEAD && !c->head_started && (owed || sending)) {
        /* The server owes or is writing an answer: not idle. A reader that
         * stalls is evhttp's write timeout's business. */
        arm(c, c->g->conf.idle_timeout_ms);
        return;
    }
    CG_DEBUG("http", "closing a connection: %s", c->state == ST_BODY ? "body too slow"
                                                 : c->head_started ? "head too slow"
                                                                   : "idle");
    cut(c);
}

/* libevent 2.1's filter processes output when it is added while writing is
 * enabled, but not when writing is enabled afterwards, which is the order
 * evhttp uses for an answer: without a kick the answer would wait for the
 * next byte in either direction. */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gate_conn *c = arg;
    bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

static void on_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    gate_conn *c = arg;
    if (info->n_added)
        event_active(c->kick, EV_TIMEOUT, 0);
}

static void conn_free(void *ctx)
{
    gate_conn *c = ctx;
    if (c->timer)
        event_free(c->timer);
    if (c->kick)
        event_free(c->kick);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->g->open--;
    free(c);
}

/* FIN after the answer, once it has left the socket's buffer (over TLS,
 * after a close_notify, so the client knows the answer was not cut). */
static void half_close_when_sent(gate_conn *c)
{
    if (!c->closing || c->shut || evbuffer_get_length(bufferevent_get_output(c->under)) > 0)
        return;
    SSL *ssl = bufferevent_openssl_get_ssl(c->under);
    if (ssl && SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl);
    evutil_socket_t fd = bufferevent_getfd(c->under);
    if (fd >= 0)
        shutdown(fd, SHUT_WR);
    c->shut = 1;
}

static void on_under_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    if (info->n_deleted)
        half_close_when_sent(arg);
}

cg_gate *cg_gate_new(struct event_base *base, const cg_gate_conf *conf, cg_gate_judge_fn judge,
                     void *arg)
{
    cg_gate *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->base = base;
    g->conf = *conf;
    if (!g->conf.max_connections)
        g->conf.max_connections = DEFAULT_MAX_CONNECTIONS;
    if (!g->conf.header_timeout_ms)
        g->conf.header_timeout_ms = DEFAULT_HEADER_TIMEOUT_MS;
    if (!g->conf.body_timeout_ms)
        g->conf.body_timeout_ms = DEFAULT_BODY_TIMEOUT_MS;
    if (!g->conf.idle_timeout_ms)
        g->conf.idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    if (!g->conf.max_header_bytes)
        g->conf.max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    g->judge = judge;
    g->arg = arg;
    the_gate = g;
    return g;
}

void cg_gate_free(cg_gate *g)
{
    if (the_gate == g)
        the_gate = NULL;
    free(g);
}

struct bufferevent *cg_gate_wrap(cg_gate *g, struct bufferevent *under)
{
    gate_conn *c = under ? calloc(1, sizeof *c) : NULL;
    if (c) {
        c->timer = evtimer_new(g->base, on_timer, c);
        c->kick = evtimer_new(g->base, on_kick, c);
    }
    if (!c || !c->timer || !c->kick) {
        if (c) {
            if (c->timer)
                event_free(c->timer);
            if (c->kick)
                event_free(c->kick);
            free(c);
        }
        if (under)
            bufferevent_free(under);
        return NULL;
    }
    c->g = g;
    c->under = under;
    struct bufferevent *bev =
        bufferevent_filter_new(under, gate_in, gate_out, BEV_OPT_CLOSE_ON_FREE, conn_free, c);
    if (!bev) {
        event_free(c->timer);
        event_free(c->kick);
        free(c);
        bufferevent_free(under);
        return NULL;
    }
    c->bev = bev;
    evbuffer_add_cb(bufferevent_get_output(under), on_under_output, c);
    evbuffer_add_cb(bufferevent_get_output(bev), on_output_added, c);
    c->next = g->conns;
    if (c->next)
        c->next->prev = c;
    g->conns = c;
    if (g->open >= g->conf.max_connections) {
        c->busy = 1;
        g->refused++;
        if (g->refused == 1 || g->refused % 1000 == 0)
            CG_WARN("http", "%zu connections open (max_connections): refusing new ones with 503 "
                    "(%llu so far)", g->open, (unsigned long long)g->refused);
        event_active(c->timer, EV_TIMEOUT, 0);
    } else {
        arm(c, g->conf.header_timeout_ms);
    }
    g->open++;
    return bev;
}

static int header_is(const struct evkeyvalq *h, const char *name, const char *value)
{
    const char *v = evhttp_find_header(h, name);
    return v && strcasecmp(v, value) == 0;
}

/* The answer is in the filter's hands. */
void cg_gate_complete(struct evhttp_request *req)
{
    cg_gate *g = the_gate;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    if (!g || !bev)
        return;
    gate_conn *c = g->conns;
    while (c && c->bev != bev)
        c = c->next;
    if (!c)
        return;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    int keep_alive = req->major == 1 && req->minor >= 1 ? !header_is(in, "Connection", "close")
                                                        : header_is(in, "Connection", "keep-alive");
    if (keep_alive && !header_is(out, "Connection", "close") && c->state != ST_DISCARD)
        return;
    /* evhttp must not free the connection now (the answer may still be in
     * the socket's buffer): it reads on, the gate drops what comes. */
    evhttp_remove_header(in, "Connection");
    evhttp_remove_header(out, "Connection");
    evhttp_add_header(in, "Connection", "keep-alive");
    c->state = ST_DISCARD;
    c->closing = 1;
    arm(c, c->g->conf.header_timeout_ms);
    half_close_when_sent(c);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
    (void)arg;
    cg_gate_complete(req);
}

void cg_gate_track(cg_gate *g, struct evhttp_request *req)
{
    if (g)
        evhttp_request_set_on_complete_cb(req, on_complete, NULL);
}

int cg_gate_answer(struct evhttp_request *req)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), CG_GATE_HEADER);
    if (!v)
        return 0;
    int status = 400, problem = 0;
    long long limit = 0;
    if (sscanf(v, "%d %d %lld", &status, &problem, &limit) != 3)
        status = 400, problem = CG_HEAD_MALFORMED;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    switch (status) {
    case 413:
        cg_http_reply_error(req, 413, "body_too_large",
                            "the body is larger than this endpoint takes (%lld bytes)", limit);
        break;
    case 401:
        cg_http_reply_error(req, 401, "unauthorized",
                            "a body this large needs a valid Authorization: Bearer TOKEN");
        break;
    case 431:
        cg_http_reply_error(req, 431, "headers_too_large",
                            "the request line and headers exceed %lld bytes", limit);
        break;
    case 503:
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        cg_http_reply_error(req, 503, "too_many_connections",
                            "the server has %lld connections open; try again shortly", limit);
        break;
    default:
        cg_http_reply_error(req, cg_head_problem_status((cg_head_problem)problem),
                            cg_head_problem_code((cg_head_problem)problem), "%s",
                            cg_head_problem_message((cg_head_problem)problem));
        break;
    }
    return 1;
}

size_t cg_gate_open(const cg_gate *g)
{
    return g ? g->open : 0;
}

uint64_t cg_gate_refused(const cg_gate *g)
{
    return g ? g->refused : 0;
}
