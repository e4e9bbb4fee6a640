/*
 * netaddr.c — see netaddr.h. inet_pton does the parsing; a range compares
 * whole bytes, then the remaining bits of the last one.
 */
#include "lib/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* address -> family and bytes (IPv4-mapped IPv6 as IPv4). 0 ok, -1 not one. */
static int parse_address(const char *text, int *family, unsigned char out[16])
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, text, out) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out) != 1)
        return -1;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, mapped, sizeof mapped) == 0) {
        memmove(out, out + 12, 4);
        memset(out + 4, 0, 12);
        *family = AF_INET;
        return 0;
    }
    *family = AF_INET6;
    return 0;
}

static int prefix_matches(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return 0;
    if (!rest)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

int cg_netrange_parse(const char *text, cg_netrange *out)
{
    char buf[64];
    if (!text || strlen(text) >= sizeof buf)
        return -1;
    strcpy(buf, text);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = 0;
    memset(out, 0, sizeof *out);
    if (parse_address(buf, &out->family, out->addr) < 0)
        return -1;
    int max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        const char *bits = slash + 1;
        char *end = NULL;
        long p = strtol(bits, &end, 10);
        if (!*bits || *end || p < 0 || p > max || bits[0] == '+' || bits[0] == '-' ||
            (bits[0] == '0' && bits[1]))
            return -1;
        /* A mapped address written with an IPv6 prefix: count it in IPv4 bits. */
        if (out->family == AF_INET && strchr(buf, ':')) {
            if (p < 96)
                return -1;
            p -= 96;
        }
        out->prefix = (int)p;
    }
    unsigned char host[16];
    memcpy(host, out->addr, sizeof host);
    /* Host bits below the prefix must be zero. */
    for (int bit = out->prefix; bit < max; bit++)
        host[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
    return memcmp(host, out->addr, 16) == 0 ? 0 : -1;
}

int cg_netrange_contains(const cg_netrange *r, const char *address)
{
    int family;
    unsigned char a[16];
    if (!r || !address || parse_address(address, &family, a) < 0 || family != r->family)
        return 0;
    return prefix_matches(a, r->addr, r->prefix);
}

int cg_netaddr_valid(const char *text)
{
    int family;
    unsigned char a[16];
    return text && parse_address(text, &family, a) == 0;
}

long cg_netrange_find(const cg_netrange *ranges, size_t n, const char *address)
{
    for (size_t i = 0; i < n; i++)
        if (cg_netrange_contains(&ranges[i], address))
            return (long)i;
    return -1;
}
