/*
 * netaddr.h — IP addresses and ranges as text: "192.0.2.7", "10.0.0.0/8",
 * "::1", "fd00::/8". Used to decide whether a connection comes from a
 * trusted reverse proxy (http.trusted_proxies), whose X-Forwarded-For or
 * X-Real-IP header then names the client.
 *
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.7, what a dual-stack socket
 * reports) is taken as the IPv4 address it carries. Pure; any thread.
 */
#ifndef CG_NETADDR_H
#define CG_NETADDR_H

#include <stddef.h>

typedef struct cg_netrange {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char addr[16];  /* network byte order; 4 bytes used for AF_INET */
    int prefix;              /* bits that must match: 0..32 or 0..128 */
} cg_netrange;

/* "ADDRESS" (a single host) or "ADDRESS/BITS". 0 ok; -1 malformed, or host
 * bits set below the prefix ("10.0.0.1/8" is refused: say 10.0.0.0/8). */
int cg_netrange_parse(const char *text, cg_netrange *out);

/* Is `address` (text, no port, no brackets) an IP address inside r? 0 when
 * it is not or is not an address at all. */
int cg_netrange_contains(const cg_netrange *r, const char *address);

/* Is `text` (exactly, no spaces) an IPv4 or IPv6 address? */
int cg_netaddr_valid(const char *text);

/* Which of ranges (n of them) holds address: its index, or -1. */
long cg_netrange_find(const cg_netrange *ranges, size_t n, const char *address);

#endif
