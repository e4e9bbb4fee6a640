/*
 * client_addr.c — see client_addr.h.
 */
#include "http/client_addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/netaddr.h"

static int trusted(const cg_http_conf *conf, const char *address)
{
    return cg_netrange_find(conf->trusted_proxies, conf->n_trusted_proxies, address) >= 0;
}

/* One header entry, trimmed, into buf as a bare address ("[::1]:80" and
 * "192.0.2.1:80" lose their port). 1 when it is an address. */
static int entry_address(const char *start, size_t n, char *buf, size_t len)
{
    while (n && (*start == ' ' || *start == '\t'))
        start++, n--;
    while (n && (start[n - 1] == ' ' || start[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= len)
        return 0;
    memcpy(buf, start, n);
    buf[n] = 0;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || (close[1] && close[1] != ':'))
            return 0;
        *close = 0;
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else {
        char *colon = strchr(buf, ':');
        if (colon && !strchr(colon + 1, ':') && strchr(buf, '.'))
            *colon = 0; /* IPv4:port */
    }
    return cg_netaddr_valid(buf);
}

void cg_client_address_pick(const cg_http_conf *conf, const char *peer, const char *header,
                            char *out, size_t len)
{
    const char *client = peer && *peer ? peer : "unknown";
    char buf[CG_CLIENT_ADDR_MAX];
    char found[CG_CLIENT_ADDR_MAX] = "";
    if (conf && conf->n_trusted_proxies && header && peer && trusted(conf, peer)) {
        if (conf->proxy_header == CG_PROXY_HEADER_REAL_IP) {
            if (entry_address(header, strlen(header), buf, sizeof buf))
                snprintf(found, sizeof found, "%s", buf);
        } else {
            /* From the right: each hop a trusted proxy vouches for. */
            size_t end = strlen(header);
            while (end > 0) {
                size_t start = end;
                while (start > 0 && header[start - 1] != ',')
                    start--;
                if (!entry_address(header + start, end - start, buf, sizeof buf))
                    break;
                snprintf(found, sizeof found, "%s", buf);
                if (!trusted(conf, buf))
                    break;
                end = start ? start - 1 : 0;
            }
        }
    }
    snprintf(out, len, "%s", found[0] ? found : client);
}

void cg_http_client_address(const cg_http_conf *conf, struct evhttp_request *req, char *out,
                            size_t len)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *host = NULL;
    ev_uint16_t port = 0;
    if (evcon)
        evhttp_connection_get_peer(evcon, &host, &port);
    if (!conf || !conf->n_trusted_proxies) {
        snprintf(out, len, "%s", host && *host ? host : "unknown");
        return;
    }
    /* Every line of the header, in order, joined as one list. */
    const char *name = conf->proxy_header == CG_PROXY_HEADER_REAL_IP ? "X-Real-IP"
                                                                      : "X-Forwarded-For";
    char joined[1024] = "";
    size_t used = 0;
    int seen = 0, real_ip_lines = 0;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyval *h;
    TAILQ_FOREACH(h, in, next) {
        if (strcasecmp(h->key, name) != 0)
            continue;
        real_ip_lines++;
        int n = snprintf(joined + used, sizeof joined - used, "%s%s", seen ? "," : "", h->value);
        if (n < 0 || (size_t)n >= sizeof joined - used) {
            /* Too long to read from the right: trust none of it. */
            seen = 0;
            break;
        }
        used += (size_t)n;
        seen = 1;
    }
    /* Two X-Real-IP lines: which one the proxy wrote is unknowable. */
    if (conf->proxy_header == CG_PROXY_HEADER_REAL_IP && real_ip_lines > 1)
        seen = 0;
    cg_client_address_pick(conf, host, seen ? joined : NULL, out, len);
}
