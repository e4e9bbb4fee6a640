/*
 * test_metrics_listen.c — the config's metrics_listen address
 * (core/http/metrics_listen.h): GET /metrics there needs no token and is
 * the same exposition as the admin's; nothing else is served there; on the
 * API's own address /metrics still needs the admin token; a bad address is
 * refused by --check-config with FILE:LINE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;
static int Port; /* metrics_listen's */

static void setup(void)
{
    memset(&D, 0, sizeof D);
    Port = td_free_port();
    char *extra = tu_sprintf("metrics_listen = \"127.0.0.1:%d\";\n", Port);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS, .extra_config = extra};
    ta_start(&D, &opt, NULL, 0);
    free(extra);
}

static void teardown(void)
{
    td_cleanup(&D);
}

START_TEST(scrape_without_token)
{
    hc_response r;
    hc_get(Port, "/metrics", NULL, &r);
    EXPECT(r.status == 200 && r.content_type && strstr(r.content_type, "text/plain") &&
               strstr(r.body, "citygrid_build_info{version=") &&
               strstr(r.body, "# TYPE citygrid_http_requests_total counter"),
           "GET /metrics on metrics_listen: %d %.500s", r.status, r.body);
    hc_response_free(&r);
    /* Only /metrics there: not the API, not the console. */
    hc_get(Port, "/v1/health", NULL, &r);
    EXPECT(r.status == 404 && strstr(r.body, "not_found"), "/v1/health on metrics_listen: %d %s",
           r.status, r.body);
    hc_response_free(&r);
    hc_get(Port, "/v1/cases", D.token, &r);
    EXPECT(r.status == 404, "/v1/cases on metrics_listen: %d %s", r.status, r.body);
    hc_response_free(&r);
    hc_post_json(Port, "/metrics", NULL, "{}", &r);
    EXPECT(r.status == 405 || r.status == 413, "POST /metrics on metrics_listen: %d %s", r.status,
           r.body);
    hc_response_free(&r);
    /* On the API's address the token is still needed. */
    hc_get(D.port, "/metrics", NULL, &r);
    EXPECT(r.status == 401, "GET /metrics without a token on listen: %d", r.status);
    hc_response_free(&r);
    hc_get(D.port, "/metrics", D.token, &r);
    EXPECT(r.status == 200 && strstr(r.body, "citygrid_build_info"), "admin scrape: %d", r.status);
    hc_response_free(&r);
    char *log = td_log(&D);
    char *line = tu_sprintf("metrics on http://127.0.0.1:%d/metrics", Port);
    EXPECT(strstr(log, line), "the log does not say where the metrics are");
    free(line);
    free(log);
}
END_TEST

START_TEST(bad_address_refused)
{
    char *dir = tu_tempdir("metricscfg");
    char *cfg = tu_sprintf("%s/bad.cfg", dir);
    EXPECT(tu_write_file(cfg, "dataset_dir = \"\";\n\nmetrics_listen = \"localhost\";\n") == 0,
           "write %s", cfg);
    ta_expect_config_refused(cfg, 3, "metrics_listen");
    free(cfg);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics_listen");
    ta_add_case(s, "scrape", scrape_without_token, setup, teardown, 90);
    ta_add_case(s, "bad_address", bad_address_refused, NULL, teardown, 60);
    return ta_run(s);
}
