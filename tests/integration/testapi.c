/*
 * testapi.c — the integration tests' shared API helpers (see testapi.h).
 */
#include "integration/testapi.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "support/testutil.h"
#include "support/run_suite.h"

/* The daemon the helpers talk to; owned by the test. */
static td_daemon *bound;

static td_daemon *daemon_(void)
{
    EXPECT(bound != NULL, "testapi: no daemon (call ta_start or ta_bind first)");
    return bound;
}

void ta_bind(td_daemon *d)
{
    bound = d;
}

void ta_start(td_daemon *d, const td_options *opt, const char *ready_plugins,
              int ready_timeout_ms)
{
    ta_bind(d);
    EXPECT(td_start(d, opt) == 0, "citygridd did not start (its log is above)");
    EXPECT(d->token != NULL, "no admin.token in %s", d->dir);
    if (!ready_plugins)
        return;
    char *body = NULL;
    int rc = td_wait_plugins_ready(d, ready_plugins, ready_timeout_ms, &body);
    EXPECT(rc == 0, "plugins %s not all ready within %d ms; last /v1/health: " TA_EXCERPT,
           ready_plugins, ready_timeout_ms, body ? body : "(none)");
    free(body);
}

/* ------------------------------------------------------------ time */

long long ta_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ta_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------ requests */

hc_response ta_get(const char *path, const char *token)
{
    hc_response r;
    hc_get(daemon_()->port, path, token, &r);
    return r;
}

hc_response ta_post(const char *path, const char *token, const char *json)
{
    hc_response r;
    hc_post_json(daemon_()->port, path, token, json, &r);
    return r;
}

json_t *ta_expect_json(hc_response *r, int status, const char *what)
{
    EXPECT(r->status == status, "%s: expected %d, got %d %s; body: " TA_EXCERPT, what, status,
           r->status, r->error, r->body);
    json_error_t e;
    json_t *j = json_loads(r->body, JSON_DECODE_ANY, &e);
    EXPECT(j != NULL, "%s: status %d, body is not JSON (%s): " TA_EXCERPT " %s", what,
           r->status, e.text, r->body, r->error);
    return j;
}

/* Send one request; the status, and the body parsed (NULL if not JSON). */
static json_t *exchange(const char *method, const char *path, const char *token,
                        const char *body, hc_response *r)
{
    hc_request rq = {.method = method, .path = path, .token = token, .body = body};
    hc_send(daemon_()->port, &rq, r);
    return json_loads(r->body, 0, NULL);
}

json_t *ta_call(const char *method, const char *path, const char *token, const char *body,
                int *status)
{
    hc_response r;
    json_t *j = exchange(method, path, token, body, &r);
    *status = r.status;
    if (!j)
        j = json_string(r.body);
    hc_response_free(&r);
    return j;
}

json_t *ta_expect_call(const char *method, const char *path, const char *token,
                       const char *body, int want)
{
    hc_response r;
    json_t *j = exchange(method, path, token, body, &r);
    EXPECT(r.status == want, "%s %s%s%s: %d, expected %d: " TA_EXCERPT, method, path,
           body ? " " : "", body ? body : "", r.status, want, r.body);
    hc_response_free(&r);
    return j ? j : json_object();
}

void ta_expect_status(const char *method, const char *path, const char *token,
                      const char *body, int want)
{
    json_decref(ta_expect_call(method, path, token, body, want));
}

json_t *ta_get_json(const char *path)
{
    char *what = tu_sprintf("GET %s", path);
    hc_response r = ta_get(path, daemon_()->token);
    json_t *j = ta_expect_json(&r, 200, what);
    hc_response_free(&r);
    free(what);
    return j;
}

/* ------------------------------------------------------------ members and cases */

char *ta_token_for(const char *member)
{
    char *path = tu_sprintf("/v1/members/%s/tokens", member);
    json_t *j = ta_expect_call("POST", path, daemon_()->token, NULL, 201);
    const char *token = ta_str(j, "token");
    EXPECT(token && *token, "POST %s: 201 without a token", path);
    char *out = strdup(token);
    json_decref(j);
    free(path);
    return out;
}

char *ta_report(const char *token, const char *body, int want)
{
    json_t *j = ta_expect_call("POST", "/v1/cases", token, body, want);
    const char *id = ta_str(j, "id");
    EXPECT(want != 201 || (id && *id), "POST /v1/cases %s: 201 without an id", body);
    char *out = strdup(id ? id : "");
    json_decref(j);
    return out;
}

json_t *ta_get_case(const char *id)
{
    char *path = tu_sprintf("/v1/cases/%s", id);
    json_t *c = ta_get_json(path);
    free(path);
    return c;
}

json_t *ta_wait_case(const char *id, const char *key, const char *value, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    for (;;) {
        json_t *c = ta_get_case(id);
        if (strcmp(ta_text(c, key), value) == 0)
            return c;
        if (ta_mono_ms() >= deadline) {
            char *text = ta_dump(c);
            EXPECT(0, "case %s: %s never became %s within %d ms; last: " TA_EXCERPT, id, key,
                   value, timeout_ms, text);
        }
        json_decref(c);
        ta_sleep_ms(50);
    }
}

json_t *ta_wait_history(const char *id, const char *action, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    for (;;) {
        json_t *c = ta_get_case(id);
        if (ta_history_count(c, action) > 0)
            return c;
        if (ta_mono_ms() >= deadline) {
            char *text = ta_dump(c);
            EXPECT(0, "case %s has no '%s' in its history within %d ms: " TA_EXCERPT, id,
                   action, timeout_ms, text);
        }
        json_decref(c);
        ta_sleep_ms(100);
    }
}

/* ------------------------------------------------------------ reading JSON */

const char *ta_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

const char *ta_text(json_t *obj, const char *key)
{
    const char *s = ta_str(obj, key);
    return s ? s : "";
}

const char *ta_error_code(json_t *body)
{
    return ta_text(json_object_get(body, "error"), "code");
}

json_t *ta_as_list(json_t *j)
{
    return json_is_array(j) ? j : json_object_get(j, "items");
}

json_t *ta_find(json_t *list, const char *key, const char *value)
{
    size_t i;
    json_t *it;
    json_array_foreach(list, i, it) {
        const char *v = ta_str(it, key);
        if (v && strcmp(v, value) == 0)
            return it;
    }
    return NULL;
}

int ta_history_count(json_t *c, const char *action)
{
    int n = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(c, "history"), i, h)
        n += strcmp(ta_text(h, "action"), action) == 0;
    return n;
}

json_t *ta_history_find(json_t *c, const char *action)
{
    return ta_find(json_object_get(c, "history"), "action", action);
}

json_t *ta_history_last(json_t *c, const char *action)
{
    size_t i;
    json_t *h, *last = NULL;
    json_array_foreach(json_object_get(c, "history"), i, h)
        if (strcmp(ta_text(h, "action"), action) == 0)
            last = h;
    return last;
}

char *ta_dump(const json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    return s ? s : strdup("(null)");
}

/* ------------------------------------------------------------ the suite */

TCase *ta_tcase(Suite *s, const char *name, SFun setup, SFun teardown, int timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, timeout_s);
    suite_add_tcase(s, tc);
    return tc;
}

void ta_add_case(Suite *s, const char *name, const TTest *test, SFun setup, SFun teardown,
                 int timeout_s)
{
    tcase_add_test(ta_tcase(s, name, setup, teardown, timeout_s), test);
}

int ta_run(Suite *s)
{
    return tu_run_suite(s);
}

void ta_expect_config_refused(const char *cfg, int line, const char *needle)
{
    const char *args[] = {"--check-config", "--config", cfg, NULL};
    int st = 0;
    char *out = NULL;
    ck_assert_msg(td_run_once(args, 20000, &st, &out) == 1 && WIFEXITED(st) &&
                      WEXITSTATUS(st) == 1,
                  "--check-config accepted %s: %s", cfg, out ? out : "");
    char *where = tu_sprintf("%s:%d: ", cfg, line);
    ck_assert_msg(out && strstr(out, where) && strstr(out, needle),
                  "--check-config on %s does not say '%s' ... '%s': %s", cfg, where, needle,
                  out ? out : "");
    free(where);
    free(out);
}

char *ta_admin_password(const td_daemon *d)
{
    char *path = tu_sprintf("%s/admin.password", d->dir);
    char *pw = tu_read_file(path);
    ck_assert_msg(pw != NULL, "no %s", path);
    pw[strcspn(pw, "\r\n")] = 0;
    free(path);
    return pw;
}
