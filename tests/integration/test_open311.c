/*
 * test_open311.c — Open311 GeoReport v2 end to end: the keys' admin API and
 * its rules here, then tests/open311/georeport_client.pl (a client written
 * from the spec that reads XML the way FixMyStreet does) against the same
 * daemon: every endpoint, errors, attributes, empty parameters and the
 * updates feed after staff act.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "integration/testapi.h"
#include "support/testutil.h"

#define EXCERPT "%.2000s"

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    ta_start(&D, NULL, "police,market,enforcement", 30000);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* POST /v1/open311/keys {"name"} as the admin; the api_key (malloc'd). */
static char *make_key(const char *name)
{
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    json_t *j = ta_expect_call("POST", "/v1/open311/keys", D.token, body, 201);
    EXPECT(!strcmp(ta_text(j, "name"), name), "key name: %s", ta_text(j, "name"));
    const char *key = ta_text(j, "api_key");
    EXPECT(strlen(key) == 64, "api_key of 64 hex digits: %s", key);
    char *out = strdup(key);
    json_decref(j);
    return out;
}

/* A GeoReport POST (form body) without the helpers' JSON content type. */
static int form_post(const char *path, const char *form, char **body)
{
    hc_request rq = {0};
    rq.method = "POST";
    rq.path = path;
    rq.content_type = "application/x-www-form-urlencoded";
    rq.body = form;
    rq.body_len = strlen(form);
    rq.timeout_ms = 15000;
    hc_response r;
    memset(&r, 0, sizeof r);
    hc_send(D.port, &rq, &r);
    int status = r.status;
    if (body)
        *body = strdup(r.body ? r.body : "");
    hc_response_free(&r);
    return status;
}

START_TEST(keys)
{
    char *ilishui = make_key("ilishui");
    /* A name is a source: never issued twice, even after revocation. */
    ta_expect_status("POST", "/v1/open311/keys", D.token, "{\"name\":\"ilishui\"}", 409);
    ta_expect_status("POST", "/v1/open311/keys", D.token, "{\"name\":\"Bad Name!\"}", 400);
    ta_expect_status("POST", "/v1/open311/keys", D.token, "{}", 400);
    ta_expect_status("POST", "/v1/open311/keys", NULL, "{\"name\":\"x\"}", 401);
    /* Only an admin: a member's token is refused and nothing is made. */
    char *member = ta_token_for("M00151");
    ta_expect_status("POST", "/v1/open311/keys", member, "{\"name\":\"sneaky\"}", 403);
    ta_expect_status("GET", "/v1/open311/keys", member, NULL, 403);
    ta_expect_status("DELETE", "/v1/open311/keys/ilishui", member, NULL, 403);

    json_t *list = ta_expect_call("GET", "/v1/open311/keys", D.token, NULL, 200);
    json_t *items = ta_as_list(list);
    char *text = ta_dump(list);
    EXPECT(json_array_size(items) == 1 && ta_find(items, "name", "ilishui") &&
               !strstr(text, ilishui),
           "one key listed, never the key itself: " EXCERPT, text);
    free(text);
    json_decref(list);

    /* The key writes; once revoked it is refused with 403. */
    char form[512], *body = NULL;
    snprintf(form, sizeof form,
             "api_key=%s&service_code=street_stall&lat=28.45&long=119.92&description=%%E5%%8D%%A0", ilishui);
    int st = form_post("/open311/v2/requests.json", form, &body);
    EXPECT(st == 201 && strstr(body, "service_request_id"), "POST with the key: %d " EXCERPT, st, body);
    free(body);
    /* The feed is public: it shows what came through Open311, never the
     * grid's own reports. */
    char *patrol = ta_report(D.token, "{\"category\":\"street_stall\",\"lat\":28.45,"
                                      "\"lon\":119.92,\"description\":\"internal patrol\"}", 201);
    char path[128];
    snprintf(path, sizeof path, "/open311/v2/requests/%s.json", patrol);
    ta_expect_status("GET", path, NULL, NULL, 404);
    hc_response feed = ta_get("/open311/v2/requests.json", NULL);
    EXPECT(feed.status == 200 && feed.body && !strstr(feed.body, patrol) &&
               !strstr(feed.body, "internal patrol"),
           "the public feed shows a patrol report: %d " EXCERPT, feed.status, feed.body);
    hc_response_free(&feed);
    free(patrol);
    ta_expect_status("DELETE", "/v1/open311/keys/ilishui", D.token, NULL, 204);
    ta_expect_status("DELETE", "/v1/open311/keys/ilishui", D.token, NULL, 404);
    st = form_post("/open311/v2/requests.xml", form, &body);
    EXPECT(st == 403 && strstr(body, "<errors><error><code>403</code>"),
           "POST with a revoked key: %d " EXCERPT, st, body);
    free(body);
    list = ta_expect_call("GET", "/v1/open311/keys", D.token, NULL, 200);
    json_t *k = ta_find(ta_as_list(list), "name", "ilishui");
    EXPECT(k && ta_str(k, "revoked_at"), "the revoked key shows when it was revoked");
    json_decref(list);
    /* A body that is not a form is refused before anything else. */
    st = form_post("/open311/v2/requests.xml", "api_key=%zz", &body);
    EXPECT(st == 400 && strstr(body, "<errors>"), "malformed form: %d " EXCERPT, st, body);
    free(body);
    free(member);
    free(ilishui);

    /* citygridctl open311 key add|list|revoke, through the same API. */
    char cmd[1024], out[4096];
    char *ctl = tu_build_path("core/citygridctl");
    snprintf(cmd, sizeof cmd, "%s --state-dir %s --url http://127.0.0.1:%d open311 key add ctl-made 2>&1",
             ctl, D.dir, D.port);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    EXPECT(p && pclose(p) == 0 && strlen(out) > 64, "ctl key add: " EXCERPT, out);
    snprintf(cmd, sizeof cmd, "%s --state-dir %s --url http://127.0.0.1:%d open311 key list 2>&1",
             ctl, D.dir, D.port);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    EXPECT(p && pclose(p) == 0 && strstr(out, "ctl-made") && strstr(out, "open311:ilishui"),
           "ctl key list: " EXCERPT, out);
    snprintf(cmd, sizeof cmd, "%s --state-dir %s --url http://127.0.0.1:%d open311 key revoke ctl-made 2>&1",
             ctl, D.dir, D.port);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = 0;
    EXPECT(p && pclose(p) == 0 && strstr(out, "revoked"), "ctl key revoke: " EXCERPT, out);
    free(ctl);
}
END_TEST

/* Run the Perl client; its output goes to ours, its exit status decides. */
START_TEST(georeport_client)
{
    char *key = make_key("four-platforms");
    char *key2 = make_key("ilishui");
    char *script = tu_src_path("tests/open311/georeport_client.pl");
    char base[128], api[96];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/open311/v2", D.port);
    snprintf(api, sizeof api, "http://127.0.0.1:%d", D.port);
    pid_t pid = fork();
    EXPECT(pid >= 0, "fork");
    if (pid == 0) {
        setenv("CG_O311_BASE", base, 1);
        setenv("CG_O311_KEY", key, 1);
        setenv("CG_O311_KEY_NAME", "four-platforms", 1);
        setenv("CG_O311_KEY2", key2, 1);
        setenv("CG_API_BASE", api, 1);
        setenv("CG_ADMIN_TOKEN", D.token, 1);
        setenv("PERL_LWP_ENV_PROXY", "0", 1);
        unsetenv("http_proxy");
        unsetenv("HTTP_PROXY");
        execlp("perl", "perl", script, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    EXPECT(waitpid(pid, &status, 0) == pid, "waitpid");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "georeport_client.pl failed (exit %d): see its 'not ok' lines above",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    free(script);
    free(key);
    free(key2);
}
END_TEST

/* ---- the configured jurisdiction and rate; signed inbound reports ------- */

#define INBOUND_KEY "inbound-test-key-0123456789"

static void setup_configured(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.extra_config =
        "open311 = { jurisdiction_id = \"test.lishui.gov.cn\"; rate_per_minute = 5; };\n"
        "inbound = { window_s = 300; sources = ( { name = \"four-platforms\"; key = \"" INBOUND_KEY "\"; } ); };\n"};
    ta_start(&D, &opt, "enforcement", 30000);
}

/* 1: inbound_post() spells the signature's hex digits in upper case. */
static int upper_hex;

/* POST /v1/inbound/SOURCE with a signature over "ts.body" by key. */
static int inbound_post(const char *source, const char *body, long long ts, const char *key,
                        char **answer)
{
    char stamp[32], sig[128], path[128], h1[96], h2[160];
    snprintf(stamp, sizeof stamp, "%lld", ts);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    const char *k = key ? key : "unsigned";
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)k, strlen(k));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)stamp, strlen(stamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(sig, "sha256=", 7);
    sodium_bin2hex(sig + 7, sizeof sig - 7, mac, sizeof mac);
    for (char *c = sig + 7; upper_hex && *c; c++)
        *c = (char)toupper((unsigned char)*c);
    snprintf(path, sizeof path, "/v1/inbound/%s", source);
    snprintf(h1, sizeof h1, "X-Citygrid-Timestamp: %s", stamp);
    snprintf(h2, sizeof h2, "X-Citygrid-Signature: %s", sig);
    const char *headers[] = {h1, h2, NULL};
    hc_request rq = {0};
    rq.method = "POST";
    rq.path = path;
    rq.body = body;
    rq.extra_headers = key ? headers : NULL;
    rq.timeout_ms = 15000;
    hc_response r;
    memset(&r, 0, sizeof r);
    hc_send(D.port, &rq, &r);
    int status = r.status;
    if (answer)
        *answer = strdup(r.body ? r.body : "");
    hc_response_free(&r);
    return status;
}

static long long cases_count(void)
{
    json_t *page = ta_get_json("/v1/cases?limit=1000");
    long long n = (long long)json_array_size(ta_as_list(page));
    json_decref(page);
    return n;
}

START_TEST(configured)
{
    /* jurisdiction_id must be the configured one; the default is refused. */
    char *body = NULL;
    int status;
    json_t *j = ta_call("GET", "/open311/v2/services.json?jurisdiction_id=lishui.gov.cn", NULL, NULL, &status);
    EXPECT(status == 404, "another jurisdiction: %d", status);
    json_decref(j);
    ta_expect_status("GET", "/open311/v2/services.json?jurisdiction_id=test.lishui.gov.cn", NULL, NULL, 200);
    /* rate_per_minute = 5: the sixth request of a key within the minute is 429. */
    char *key = make_key("rated");
    char path[256];
    snprintf(path, sizeof path, "/open311/v2/servicerequestupdates.json?api_key=%s", key);
    for (int i = 0; i < 5; i++)
        ta_expect_status("GET", path, NULL, NULL, 200);
    ta_expect_status("GET", path, NULL, NULL, 429);
    free(key);

    /* Inbound: a signed report becomes a case with that source. */
    long long now = (long long)time(NULL);
    const char *report = "{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92,"
                         "\"description\":\"四平台转办：占道摆摊\",\"source\":\"patrol\"}";
    long long before = cases_count();
    status = inbound_post("four-platforms", report, now, "wrong-key-0123456789abc", &body);
    EXPECT(status == 401, "a bad signature: %d " EXCERPT, status, body);
    free(body);
    status = inbound_post("four-platforms", report, now - 3600, INBOUND_KEY, &body);
    EXPECT(status == 401 && strstr(body, "stale_request"), "a stale timestamp: %d " EXCERPT, status, body);
    free(body);
    status = inbound_post("four-platforms", report, now, NULL, &body);
    EXPECT(status == 401, "no signature: %d " EXCERPT, status, body);
    free(body);
    status = inbound_post("nobody", report, now, INBOUND_KEY, &body);
    EXPECT(status == 404, "an unknown source: %d " EXCERPT, status, body);
    free(body);
    EXPECT(cases_count() == before, "refused reports wrote nothing");

    status = inbound_post("four-platforms", report, now, INBOUND_KEY, &body);
    EXPECT(status == 201, "a signed report: %d " EXCERPT, status, body);
    json_t *answer = json_loads(body, 0, NULL);
    free(body);
    const char *id = ta_text(answer, "id");
    json_t *c = ta_get_case(id);
    EXPECT(!strcmp(ta_text(c, "source"), "inbound:four-platforms") && !ta_str(c, "reporter") &&
               !strcmp(ta_text(c, "category"), "street_stall"),
           "the case carries the platform as its source");
    json_decref(c);
    json_decref(answer);
    /* The very same signed request again: a replay. */
    status = inbound_post("four-platforms", report, now, INBOUND_KEY, &body);
    EXPECT(status == 401 && strstr(body, "replayed"), "a replay: %d " EXCERPT, status, body);
    free(body);
    /* ... with the signature's hex in upper case (it verifies all the same). */
    upper_hex = 1;
    status = inbound_post("four-platforms", report, now, INBOUND_KEY, &body);
    upper_hex = 0;
    EXPECT(status == 401 && strstr(body, "replayed"), "a replay in upper-case hex: %d " EXCERPT,
           status, body);
    free(body);
    /* ... and after citygridd was killed and started again, still within
     * the window: the signature was stored with its case. */
    td_kill9(&D);
    EXPECT(td_restart(&D) == 0, "restart after kill -9");
    status = inbound_post("four-platforms", report, now, INBOUND_KEY, &body);
    EXPECT(status == 401 && strstr(body, "replayed"), "a replay after a restart: %d " EXCERPT,
           status, body);
    free(body);
    /* Another request (a new timestamp) of the same report is a new one. */
    status = inbound_post("four-platforms", report, now + 1, INBOUND_KEY, &body);
    EXPECT(status == 201, "a second signed request after the restart: %d " EXCERPT, status, body);
    free(body);
    EXPECT(cases_count() == before + 2, "one case from each signed request, none from replays");
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("open311");
    ta_add_case(s, "keys", keys, setup, teardown, 120);
    ta_add_case(s, "configured", configured, setup_configured, teardown, 120);
    ta_add_case(s, "georeport", georeport_client, setup, teardown, 300);
    return ta_run(s);
}
