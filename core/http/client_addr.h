/*
 * client_addr.h — who the client is, for the login throttle and the logs.
 *
 * The socket's peer address, unless that peer is one of the configured
 * http.trusted_proxies: then the header the proxy sets (http.proxy_header)
 * names the client. X-Forwarded-For is read from the right (the entries a
 * client wrote itself are on the left and cannot be trusted): the client
 * is the rightmost address that is not itself a trusted proxy (nginx's
 * real_ip_recursive). X-Real-IP holds one address. A header that is absent
 * or not an address leaves the proxy's own address. Without trusted
 * proxies no header is ever read, so a client cannot choose its address.
 *
 * Main (libevent) thread; the pure part (cg_client_address_pick) any.
 */
#ifndef CG_HTTP_CLIENT_ADDR_H
#define CG_HTTP_CLIENT_ADDR_H

#include <stddef.h>

#include "conf/config.h"

struct evhttp_request;

/* INET6_ADDRSTRLEN and a little: what `out` should hold. */
#define CG_CLIENT_ADDR_MAX 64

/* The client's address of req as text ("unknown" if the socket has none). */
void cg_http_client_address(const cg_http_conf *conf, struct evhttp_request *req, char *out,
                            size_t len);

/* The same from its parts: peer (the socket's address) and header (the
 * value of conf->proxy_header, several lines joined with ","; or NULL). */
void cg_client_address_pick(const cg_http_conf *conf, const char *peer, const char *header,
                            char *out, size_t len);

#endif
