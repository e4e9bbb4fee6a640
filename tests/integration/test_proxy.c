/*
 * test_proxy.c — integration: client addresses behind a reverse proxy
 * (core/http/client_addr.h). The test plays the proxy on 127.0.0.1:
 *   - with http.trusted_proxies naming it, the X-Forwarded-For client is the
 *     address the login throttle counts and the log names: an address held
 *     for failed logins does not hold another address's logins;
 *   - without it, the header is ignored: every "client" is 127.0.0.1, held
 *     together, and the log says 127.0.0.1.
 * Wrong logins each time, so that only the per-address counter grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;
static int Attempt;

static void start_with(const char *extra)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS, .extra_config = extra};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* A failed login (a login nobody has) as seen through X-Forwarded-For:
 * the HTTP status; *retry_after the Retry-After of a 429. */
static int fail_login_from(const char *xff, int *retry_after)
{
    char *body = tu_sprintf("{\"login\":\"ghost%d\",\"password\":\"Wr0ng-guess\"}", ++Attempt);
    char *header = tu_sprintf("X-Forwarded-For: %s", xff);
    const char *extra[] = {header, NULL};
    hc_request req = {.method = "POST", .path = "/v1/sessions", .body = body,
                      .extra_headers = extra};
    hc_response r;
    hc_send(D.port, &req, &r);
    int status = r.status;
    char *after = hc_header(&r, "Retry-After");
    EXPECT(status == 401 || (status == 429 && after),
           "a failed login from %s: %d %s", xff, status, r.body);
    *retry_after = after ? atoi(after) : 0;
    free(after);
    hc_response_free(&r);
    free(header);
    free(body);
    return status;
}

/* Fail from `xff` until it is held for at least 2 s (waiting out shorter
 * holds: how many attempts fit in a delay depends on the machine). */
static void hold(const char *xff)
{
    long long deadline = td_deadline(60000);
    int held = 0;
    while (held < 2 && ta_mono_ms() < deadline) {
        int after = 0;
        if (fail_login_from(xff, &after) == 429) {
            held = after;
            if (held < 2)
                ta_sleep_ms(held * 1000);
        }
    }
    EXPECT(held >= 2, "failed logins from %s were never held for 2 s", xff);
}

START_TEST(trusted_proxy_names_client)
{
    start_with("http = { trusted_proxies = [ \"127.0.0.1\", \"10.0.0.0/8\" ]; };\n");
    /* The client spoofs an entry; the proxy (10.1.1.1, trusted) appended the
     * real one, and 127.0.0.1 (trusted) connected. */
    hold("198.51.100.77, 203.0.113.5, 10.1.1.1");
    int after = 0;
    /* Another client behind the same proxy is not held. */
    EXPECT(fail_login_from("203.0.113.6", &after) == 401,
           "a second client behind the proxy was held with the first (Retry-After %d)", after);
    char *log = td_log(&D);
    EXPECT(strstr(log, "from 203.0.113.5") && strstr(log, "from 203.0.113.6") &&
               !strstr(log, "from 198.51.100.77") && !strstr(log, "from 10.1.1.1") &&
               !strstr(log, "failed login for 'ghost1' from 127.0.0.1"),
           "the log does not name the clients the proxy vouched for");
    free(log);
}
END_TEST

START_TEST(untrusted_header_ignored)
{
    start_with("");
    hold("203.0.113.5");
    int after = 0;
    /* The header is the client's own word: both are 127.0.0.1, held together. */
    EXPECT(fail_login_from("203.0.113.6", &after) == 429,
           "an X-Forwarded-For header from an untrusted peer changed the address");
    char *log = td_log(&D);
    EXPECT(strstr(log, "failed login for 'ghost1' from 127.0.0.1") && !strstr(log, "from 203.0.113"),
           "the log took an untrusted X-Forwarded-For");
    free(log);
}
END_TEST

START_TEST(bad_proxy_list_refused)
{
    char *dir = tu_tempdir("proxycfg");
    char *cfg = tu_sprintf("%s/bad.cfg", dir);
    EXPECT(tu_write_file(cfg, "dataset_dir = \"\";\nhttp = {\n  trusted_proxies = [ "
                              "\"10.0.0.1/8\" ];\n};\n") == 0, "write %s", cfg);
    ta_expect_config_refused(cfg, 3, "trusted_proxies[0]");
    free(cfg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proxy");
    ta_add_case(s, "trusted", trusted_proxy_names_client, NULL, teardown, 180);
    ta_add_case(s, "untrusted", untrusted_header_ignored, NULL, teardown, 180);
    ta_add_case(s, "bad_list", bad_proxy_list_refused, NULL, teardown, 60);
    return ta_run(s);
}
