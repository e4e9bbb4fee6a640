/*
 * test_tls.c — integration: HTTPS on the listener (the config's tls group,
 * core/lib/tls.h, core/http/http.c), with a self-signed certificate the
 * openssl command makes in a temporary directory and curl as the client:
 *   - curl --cacert reaches GET /v1/health and POST /v1/sessions (a real
 *     login, its token then used) over TLS, also when held to TLS 1.2;
 *   - plain HTTP to the TLS port gets no answer, and the daemon serves on;
 *   - a client that offers only TLS 1.1 (curl with OpenSSL's security
 *     level 0, which lets it offer 1.1) is refused with a protocol_version
 *     alert;
 *   - SIGHUP serves a new certificate put in place of the old one;
 *   - a missing certificate, a key of another certificate, a key file
 *     others may read, a file that is not PEM, half a tls group: refused by
 *     --check-config with FILE:LINE, and by a real start.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;
static char *Certs;   /* a temporary directory with the certificates */
static char *Trusted; /* the certificate curl trusts in ready() */

/* Run a shell command; its exit status, stdout+stderr in *out (malloc'd). */
static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    EXPECT(vasprintf(&cmd, fmt, ap) >= 0, "vasprintf");
    va_end(ap);
    char *full = tu_sprintf("%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    EXPECT(p, "popen %s: %s", cmd, strerror(errno));
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    free(full);
    free(cmd);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* NAME.crt and NAME.key (0600) in Certs, for 127.0.0.1 and localhost. */
static void make_cert(const char *name, const char *cn)
{
    char *out = NULL;
    int rc = run(&out,
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout '%s/%s.key' -out '%s/%s.crt' -days 2 -subj '/CN=%s' "
                 "-addext 'subjectAltName=IP:127.0.0.1,DNS:localhost'",
                 Certs, name, Certs, name, cn);
    EXPECT(rc == 0, "openssl req for %s: exit %d: %s", name, rc, out);
    free(out);
    char *key = tu_sprintf("%s/%s.key", Certs, name);
    EXPECT(chmod(key, 0600) == 0, "chmod %s", key);
    free(key);
}

/* curl over TLS to the daemon: the exit status; *out is the body, then a
 * line with the HTTP status (or curl's error). */
static int curl(char **out, const char *cacert, const char *opts, const char *method,
                const char *path, const char *token, const char *body)
{
    char *auth = token ? tu_sprintf("-H 'Authorization: Bearer %s'", token) : strdup("");
    char *data = body ? tu_sprintf("-H 'Content-Type: application/json' --data-raw '%s'", body)
                      : strdup("");
    int rc = run(out, "curl -sS --max-time 10 --cacert '%s' %s -X %s %s %s -w '\\n%%{http_code}' "
                 "'https://127.0.0.1:%d%s'", cacert, opts, method, auth, data, D.port, path);
    free(auth);
    free(data);
    return rc;
}

/* The HTTP status curl printed last (0 if none). */
static int last_status(const char *out)
{
    const char *nl = strrchr(out, '\n');
    return atoi(nl ? nl + 1 : out);
}

static int ready(const td_daemon *d)
{
    (void)d;
    char *out = NULL;
    int rc = curl(&out, Trusted, "", "GET", "/v1/health", NULL, NULL);
    int ok = rc == 0 && last_status(out) == 200;
    free(out);
    return ok;
}

static char *cert_path(const char *name, const char *ext)
{
    return tu_sprintf("%s/%s.%s", Certs, name, ext);
}

static void setup(void)
{
    memset(&D, 0, sizeof D);
    Certs = tu_tempdir("tls");
    make_cert("server", "localhost");
    /* The daemon's own files, which the reload test replaces. */
    char *out = NULL;
    EXPECT(run(&out, "cp -p '%s/server.crt' '%s/live.crt' && cp -p '%s/server.key' '%s/live.key'",
               Certs, Certs, Certs, Certs) == 0, "cp: %s", out);
    free(out);
    Trusted = cert_path("server", "crt");
    char *extra = tu_sprintf("tls = { cert = \"%s/live.crt\"; key = \"%s/live.key\"; };\n",
                             Certs, Certs);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS, .extra_config = extra, .ready = ready};
    ta_start(&D, &opt, NULL, 0);
    free(extra);
}

static void teardown(void)
{
    td_cleanup(&D);
    free(Trusted);
    Trusted = NULL;
    if (Certs)
        tu_rmrf(Certs);
    free(Certs);
    Certs = NULL;
}

START_TEST(serves_over_tls)
{
    char *out = NULL;
    int rc = curl(&out, Trusted, "", "GET", "/v1/health", NULL, NULL);
    EXPECT(rc == 0 && last_status(out) == 200 && strstr(out, "\"status\""),
           "GET /v1/health over TLS: curl %d: %s", rc, out);
    free(out);

    /* A real login over TLS, and its token used over TLS. */
    char *pw = ta_admin_password(&D);
    char *body = tu_sprintf("{\"login\":\"admin\",\"password\":\"%s\"}", pw);
    rc = curl(&out, Trusted, "", "POST", "/v1/sessions", NULL, body);
    EXPECT(rc == 0 && last_status(out) == 200, "POST /v1/sessions over TLS: curl %d: %s", rc, out);
    json_t *j = json_loadb(out, strrchr(out, '\n') - out, 0, NULL);
    EXPECT(j && ta_str(j, "token"), "no token in %s", out);
    char *token = strdup(ta_str(j, "token"));
    json_decref(j);
    free(out);
    rc = curl(&out, Trusted, "", "GET", "/v1/categories", token, NULL);
    EXPECT(rc == 0 && last_status(out) == 200 && strstr(out, "street_stall"),
           "GET /v1/categories with the session's token: curl %d: %s", rc, out);
    free(out);
    /* A wrong password is the API's 401 over TLS too. */
    rc = curl(&out, Trusted, "", "POST", "/v1/sessions", NULL,
              "{\"login\":\"admin\",\"password\":\"not the password\"}");
    EXPECT(rc == 0 && last_status(out) == 401 && strstr(out, "invalid_credentials"),
           "a wrong password over TLS: curl %d: %s", rc, out);
    free(out);

    /* TLS 1.2 is accepted. */
    rc = curl(&out, Trusted, "--tlsv1.2 --tls-max 1.2 -v", "GET", "/v1/health", NULL, NULL);
    EXPECT(rc == 0 && last_status(out) == 200 && strstr(out, "TLSv1.2"),
           "TLS 1.2 refused: curl %d: %s", rc, out);
    free(out);
    /* An answer that ends the connection (the gate's half-close, after a
     * close_notify) arrives whole. */
    rc = curl(&out, Trusted, "-H 'Connection: close'", "GET", "/v1/health", NULL, NULL);
    EXPECT(rc == 0 && last_status(out) == 200 && strstr(out, "\"status\""),
           "Connection: close over TLS: curl %d: %s", rc, out);
    free(out);
    /* A certificate curl does not trust: curl refuses (the daemon did not
     * fall back to anything). */
    rc = run(&out, "curl -sS --max-time 10 'https://127.0.0.1:%d/v1/health'", D.port);
    EXPECT(rc != 0, "curl trusted a self-signed certificate: %s", out);
    free(out);
    free(token);
    free(body);
    free(pw);
}
END_TEST

START_TEST(plain_http_refused)
{
    hc_response r;
    hc_request req = {.method = "GET", .path = "/v1/health", .timeout_ms = 5000 * tu_patience()};
    hc_send(D.port, &req, &r);
    EXPECT(r.status == 0, "plain HTTP to the TLS port got HTTP %d: %.300s", r.status,
           r.body ? r.body : "");
    hc_response_free(&r);
    char *out = NULL;
    int rc = run(&out, "curl -sS --max-time 10 -w '\\n%%{http_code}' 'http://127.0.0.1:%d/v1/health'",
                 D.port);
    EXPECT(rc != 0 && last_status(out) != 200, "curl over plain HTTP: exit %d: %s", rc, out);
    free(out);
    /* The daemon serves TLS on. */
    EXPECT(ready(&D), "no TLS answer after a plain HTTP attempt");
}
END_TEST

START_TEST(tls_1_1_refused)
{
    char *out = NULL;
    /* OpenSSL's security level 0 lets curl offer TLS 1.1 at all; the alert
     * then comes from the server. */
    int rc = curl(&out, Trusted, "--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT@SECLEVEL=0'", "GET",
                  "/v1/health", NULL, NULL);
    EXPECT(rc != 0 && strstr(out, "alert protocol version"),
           "TLS 1.1 was not refused with a protocol_version alert: curl %d: %s", rc, out);
    free(out);
    rc = run(&out, "openssl s_client -connect 127.0.0.1:%d -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' "
             "</dev/null", D.port);
    EXPECT(rc != 0 && strstr(out, "alert protocol version"),
           "openssl s_client -tls1_1 was not refused: exit %d: %s", rc, out);
    free(out);
}
END_TEST

START_TEST(sighup_reloads_certificate)
{
    make_cert("next", "next.citygrid.test");
    char *next = cert_path("next", "crt"), *out = NULL;
    /* Before: only the first certificate is served. */
    int rc = curl(&out, next, "", "GET", "/v1/health", NULL, NULL);
    EXPECT(rc != 0, "the second certificate verified before it was installed: %s", out);
    free(out);
    EXPECT(run(&out, "cp '%s/next.crt' '%s/live.crt' && cp '%s/next.key' '%s/live.key'", Certs,
               Certs, Certs, Certs) == 0, "cp: %s", out);
    free(out);
    EXPECT(kill(D.pid, SIGHUP) == 0, "kill -HUP: %s", strerror(errno));
    free(Trusted);
    Trusted = next;
    long long deadline = td_deadline(10000);
    int ok = 0;
    while (!(ok = ready(&D)) && ta_mono_ms() < deadline)
        ta_sleep_ms(50);
    EXPECT(ok, "the new certificate is not served after SIGHUP");
    char *old = cert_path("server", "crt");
    rc = curl(&out, old, "", "GET", "/v1/health", NULL, NULL);
    EXPECT(rc != 0, "the old certificate is still served after SIGHUP: %s", out);
    free(out);
    free(old);
    char *log = td_log(&D);
    EXPECT(strstr(log, "TLS certificate") && strstr(log, "reloaded"), "no reload line in the log");
    free(log);

    /* A bad pair on SIGHUP: refused, the current certificate stays. */
    EXPECT(run(&out, "cp '%s/server.key' '%s/live.key'", Certs, Certs) == 0, "cp: %s", out);
    free(out);
    EXPECT(kill(D.pid, SIGHUP) == 0, "kill -HUP: %s", strerror(errno));
    deadline = td_deadline(10000);
    int refused = 0;
    while (!refused && ta_mono_ms() < deadline) {
        log = td_log(&D);
        refused = strstr(log, "does not belong") != NULL;
        free(log);
        if (!refused)
            ta_sleep_ms(50);
    }
    EXPECT(refused, "a mismatched key on SIGHUP was not reported");
    EXPECT(ready(&D), "a refused reload stopped the certificate being served");
}
END_TEST

/* ------------------------------------------------------------ refusals */

/* A config with a tls group: cert on line 4, key on line 5. */
static char *write_config(const char *dir, const char *cert, const char *key)
{
    char *path = tu_sprintf("%s/tls.cfg", dir);
    char *text = tu_sprintf("listen = \"127.0.0.1:%d\";\nstate_dir = \"%s/state\";\n"
                            "dataset_dir = \"\";\ntls = {%s%s%s\n%s%s%s };\n",
                            td_free_port(), dir, cert ? " cert = \"" : "", cert ? cert : "",
                            cert ? "\";" : "", key ? " key = \"" : "", key ? key : "",
                            key ? "\";" : "");
    EXPECT(tu_write_file(path, text) == 0, "cannot write %s", path);
    free(text);
    return path;
}

/* --check-config and a real start both refuse: exit 1, FILE:LINE and
 * `needle` in what they print. */
static void expect_refused(const char *cert, const char *key, int line, const char *needle)
{
    char *cfg = write_config(Certs, cert, key);
    ta_expect_config_refused(cfg, line, needle);
    char *where = tu_sprintf("%s:%d: ", cfg, line);
    int st = 0;
    char *out = NULL;
    const char *start[] = {"--config", cfg, NULL};
    EXPECT(td_run_once(start, 20000, &st, &out) == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
           "citygridd started with cert %s key %s: %s", cert, key, out);
    EXPECT(strstr(out, where) && strstr(out, needle), "start-up for cert %s key %s: %s", cert,
           key, out);
    free(out);
    free(where);
    free(cfg);
}

START_TEST(bad_files_refused)
{
    Certs = tu_tempdir("tlsbad");
    make_cert("a", "localhost");
    make_cert("b", "localhost");
    char *a_crt = cert_path("a", "crt"), *a_key = cert_path("a", "key");
    char *b_key = cert_path("b", "key"), *missing = cert_path("missing", "crt");

    /* The good pair passes. */
    char *cfg = write_config(Certs, a_crt, a_key), *out = NULL;
    const char *check[] = {"--check-config", "--config", cfg, NULL};
    int st = 0;
    EXPECT(td_run_once(check, 20000, &st, &out) == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "--check-config refused a good pair: %s", out);
    free(out);
    free(cfg);

    expect_refused(missing, a_key, 4, "cannot read the certificate");
    expect_refused(a_crt, missing, 5, "cannot read the private key");
    expect_refused(a_crt, b_key, 5, "does not belong to the certificate");
    expect_refused(a_key, a_key, 4, "not a usable certificate");
    char *crt_as_key = cert_path("crt_as", "key"), *out2 = NULL;
    EXPECT(run(&out2, "cp '%s' '%s' && chmod 600 '%s'", a_crt, crt_as_key, crt_as_key) == 0,
           "cp: %s", out2);
    free(out2);
    expect_refused(a_crt, crt_as_key, 5, "not a usable private key");
    free(crt_as_key);
    expect_refused(a_crt, NULL, 4, "tls needs key");
    expect_refused(NULL, NULL, 4, "tls needs cert");
    EXPECT(chmod(a_key, 0644) == 0, "chmod");
    expect_refused(a_crt, a_key, 5, "readable by everyone");
    if (geteuid() != 0) { /* root reads a 0000 file anyway */
        EXPECT(chmod(a_key, 0000) == 0, "chmod");
        expect_refused(a_crt, a_key, 5, "Permission denied");
    }
    free(a_crt);
    free(a_key);
    free(b_key);
    free(missing);
}
END_TEST

static void setup_none(void)
{
    memset(&D, 0, sizeof D);
}

int main(void)
{
    Suite *s = suite_create("tls");
    ta_add_case(s, "serves", serves_over_tls, setup, teardown, 120);
    ta_add_case(s, "plain_http", plain_http_refused, setup, teardown, 120);
    ta_add_case(s, "tls_1_1", tls_1_1_refused, setup, teardown, 120);
    ta_add_case(s, "sighup", sighup_reloads_certificate, setup, teardown, 120);
    ta_add_case(s, "bad_files", bad_files_refused, setup_none, teardown, 120);
    return ta_run(s);
}
