/* test_client_addr.c — address ranges (core/lib/netaddr.h) and who the
 * client is behind a reverse proxy (core/http/client_addr.h): a header is
 * believed only from a trusted proxy, X-Forwarded-For is read from the
 * right, and anything malformed leaves the proxy's own address. */
#include <check.h>
#include <string.h>
#include <sys/socket.h>

#include "conf/config.h"
#include "http/client_addr.h"
#include "lib/netaddr.h"
#include "support/run_suite.h"

START_TEST(ranges)
{
    cg_netrange r;
    ck_assert_int_eq(cg_netrange_parse("10.0.0.0/8", &r), 0);
    ck_assert_int_eq(r.family, AF_INET);
    ck_assert(cg_netrange_contains(&r, "10.200.3.4"));
    ck_assert(!cg_netrange_contains(&r, "11.0.0.1"));
    ck_assert(cg_netrange_contains(&r, "::ffff:10.1.2.3")); /* a dual-stack socket's */
    ck_assert(!cg_netrange_contains(&r, "not an address"));
    ck_assert_int_eq(cg_netrange_parse("127.0.0.1", &r), 0);
    ck_assert(cg_netrange_contains(&r, "127.0.0.1") && !cg_netrange_contains(&r, "127.0.0.2"));
    ck_assert_int_eq(cg_netrange_parse("fd00::/8", &r), 0);
    ck_assert(cg_netrange_contains(&r, "fd12::1") && !cg_netrange_contains(&r, "fe80::1"));
    ck_assert(!cg_netrange_contains(&r, "10.0.0.1"));
    ck_assert_int_eq(cg_netrange_parse("192.168.1.0/23", &r), -1); /* host bits */
    ck_assert_int_eq(cg_netrange_parse("192.168.0.0/23", &r), 0);
    ck_assert(cg_netrange_contains(&r, "192.168.1.255") && !cg_netrange_contains(&r, "192.168.2.0"));
    ck_assert_int_eq(cg_netrange_parse("10.0.0.0/33", &r), -1);
    ck_assert_int_eq(cg_netrange_parse("10.0.0.0/", &r), -1);
    ck_assert_int_eq(cg_netrange_parse("10.0.0.0/-1", &r), -1);
    ck_assert_int_eq(cg_netrange_parse("localhost", &r), -1);
    ck_assert_int_eq(cg_netrange_parse("", &r), -1);
    ck_assert(cg_netaddr_valid("::1") && cg_netaddr_valid("192.0.2.1"));
    ck_assert(!cg_netaddr_valid("192.0.2.1 ") && !cg_netaddr_valid("unknown"));
}
END_TEST

static cg_http_conf conf_with(const char *const *texts, int header)
{
    static cg_netrange r[8];
    cg_http_conf c;
    memset(&c, 0, sizeof c);
    for (size_t i = 0; texts && texts[i]; i++) {
        ck_assert_int_eq(cg_netrange_parse(texts[i], &r[i]), 0);
        c.n_trusted_proxies++;
    }
    c.trusted_proxies = r;
    c.proxy_header = header;
    return c;
}

static const char *pick(const cg_http_conf *c, const char *peer, const char *header)
{
    static char out[CG_CLIENT_ADDR_MAX];
    cg_client_address_pick(c, peer, header, out, sizeof out);
    return out;
}

START_TEST(forwarded_for)
{
    static const char *const proxies[] = {"127.0.0.1", "10.0.0.0/8", NULL};
    cg_http_conf c = conf_with(proxies, CG_PROXY_HEADER_XFF);
    /* From a trusted proxy: the header's client. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "203.0.113.5"), "203.0.113.5");
    /* A client's own entries are on the left; the proxy appended the real one. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "198.51.100.1, 203.0.113.5"), "203.0.113.5");
    /* A chain of trusted proxies is walked through. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "203.0.113.5, 10.1.1.1,10.2.2.2"), "203.0.113.5");
    /* Garbage at the right: stop at the proxy itself. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "203.0.113.5, junk"), "127.0.0.1");
    /* Garbage on the left, beyond the client: does not matter. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "junk, 203.0.113.5"), "203.0.113.5");
    /* Every entry trusted: the leftmost. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "10.9.9.9"), "10.9.9.9");
    /* Ports and brackets. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", "203.0.113.5:4711"), "203.0.113.5");
    ck_assert_str_eq(pick(&c, "127.0.0.1", "[2001:db8::7]:4711"), "2001:db8::7");
    ck_assert_str_eq(pick(&c, "127.0.0.1", "2001:db8::7"), "2001:db8::7");
    /* No header, an empty one: the proxy's address. */
    ck_assert_str_eq(pick(&c, "127.0.0.1", NULL), "127.0.0.1");
    ck_assert_str_eq(pick(&c, "127.0.0.1", ""), "127.0.0.1");
    /* From anyone else the header is ignored. */
    ck_assert_str_eq(pick(&c, "192.0.2.9", "203.0.113.5"), "192.0.2.9");
    /* No trusted proxies at all: never read. */
    cg_http_conf none = conf_with(NULL, CG_PROXY_HEADER_XFF);
    ck_assert_str_eq(pick(&none, "127.0.0.1", "203.0.113.5"), "127.0.0.1");
    ck_assert_str_eq(pick(NULL, "127.0.0.1", "203.0.113.5"), "127.0.0.1");
    ck_assert_str_eq(pick(NULL, NULL, NULL), "unknown");
}
END_TEST

START_TEST(real_ip)
{
    static const char *const proxies[] = {"::1", NULL};
    cg_http_conf c = conf_with(proxies, CG_PROXY_HEADER_REAL_IP);
    ck_assert_str_eq(pick(&c, "::1", " 203.0.113.5 "), "203.0.113.5");
    ck_assert_str_eq(pick(&c, "::1", "203.0.113.5, 198.51.100.1"), "::1");
    ck_assert_str_eq(pick(&c, "::1", "nonsense"), "::1");
    ck_assert_str_eq(pick(&c, "127.0.0.1", "203.0.113.5"), "127.0.0.1");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client_addr");
    TCase *tc = tcase_create("client_addr");
    tcase_add_test(tc, ranges);
    tcase_add_test(tc, forwarded_for);
    tcase_add_test(tc, real_ip);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
