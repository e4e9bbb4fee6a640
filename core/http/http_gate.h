/*
 * http_gate.h — the gate in front of evhttp on every accepted connection: a
 * filter bufferevent between the socket (or TLS) bufferevent and evhttp that
 * reads each request head itself, strictly (http_head.h), and decides from
 * the head alone, before a byte of the body is taken in:
 *   - a head that is malformed, ambiguous (two Content-Length, Content-Length
 *     with Transfer-Encoding), chunked, or larger than max_header_bytes;
 *   - a Content-Length over the route's own limit (413 from the headers);
 *   - a body for a route that needs a token, sent without a valid one, when
 *     it is larger than the JSON limit (so only callers with a token can make
 *     the daemon hold a photo-sized body);
 * each answered with the API's JSON error and Connection: close. It also
 * keeps the timeouts evhttp 2.1 cannot (its read timeout restarts with every
 * byte, so one header line every 10 s held a connection for hours): a whole
 * head within header_timeout of its first byte, a whole body within
 * body_timeout, nothing at all for idle_timeout between requests. And it
 * counts connections: at max_connections a new one gets 503 at once, with no
 * request parsed.
 *
 * A refusal reaches evhttp as a small synthetic request carrying the header
 * CG_GATE_HEADER (http_head.h; a client's own is refused), which http.c's
 * request callback answers with cg_gate_answer(); the rest of the
 * connection's input is thrown away.
 *
 * Main (libevent) thread only.
 */
#ifndef CG_HTTP_GATE_H
#define CG_HTTP_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "http/http_head.h"

struct bufferevent;
struct event_base;
struct evhttp_request;

typedef struct cg_gate_conf {
    unsigned max_connections;   /* open connections, refused beyond: 512 */
    unsigned header_timeout_ms; /* a whole head from its first byte: 10 s */
    unsigned body_timeout_ms;   /* a whole body from its first byte: 120 s */
    unsigned idle_timeout_ms;   /* nothing sent nor owed: 60 s */
    size_t max_header_bytes;    /* request line and fields: 16 KiB */
} cg_gate_conf;

/* What the route table says about a well-formed head (http.c). 0 pass; else
 * an HTTP status (413 or 401) with *limit the route's body limit for 413. */
typedef int (*cg_gate_judge_fn)(void *arg, const cg_http_head *head, int64_t *limit);

typedef struct cg_gate cg_gate;

/* Defaults for zero fields of conf. */
cg_gate *cg_gate_new(struct event_base *base, const cg_gate_conf *conf, cg_gate_judge_fn judge,
                     void *arg);
void cg_gate_free(cg_gate *g);

/* Put the gate in front of `under` (a socket or TLS bufferevent with no fd
 * yet, BEV_OPT_CLOSE_ON_FREE); returns the bufferevent to give evhttp (its
 * evhttp_set_bevcb), which owns and frees both. NULL on failure (under is
 * then freed). */
struct bufferevent *cg_gate_wrap(cg_gate *g, struct bufferevent *under);

/* Call for every request (http.c's request callback): lets the gate close
 * the connection itself after an answer that says Connection: close (or to
 * an HTTP/1.0 client), once the answer has left. */
void cg_gate_track(cg_gate *g, struct evhttp_request *req);
/* What that hook does, for an on-complete callback that replaces it (evhttp
 * keeps one per request): call it first thing. */
void cg_gate_complete(struct evhttp_request *req);

/* The request carries a refusal of the gate (CG_GATE_HEADER): answer it
 * (JSON error, Connection: close) and return 1; else 0. */
int cg_gate_answer(struct evhttp_request *req);

/* Open connections now, and connections refused at the cap since start. */
size_t cg_gate_open(const cg_gate *g);
uint64_t cg_gate_refused(const cg_gate *g);

#endif
