/*
 * test_bridge.c — the bridge plugin (plugins/bridge) against a webhook
 * receiver on 127.0.0.1 inside this test: the receiver fails the first
 * deliveries, checks every signature (HMAC-SHA256 over "timestamp.body"
 * with the key id the config names), and records what it accepted. Staff
 * act on a day's cases; citygridd is killed with SIGKILL in the middle and
 * restarted; in the end the receiver has seen every event exactly once
 * after de-duplication on Idempotency-Key, and each case's events in order:
 * the report itself, the staff's steps, and a citizen's Open311 comment and
 * reopen (POST servicerequestupdates) on a case reported through Open311.
 * Once in thread mode, once in process mode, and once in remote mode: a
 * citygrid-plugind this test starts, linked over tcp on 127.0.0.1 with CURVE
 * keys (the core's ZAP handler admits its key for the bridge's department),
 * which outlives the kill -9 of citygridd and reconnects by itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "integration/testapi.h"
#include "lib/curvekeys.h"
#include "support/testutil.h"

#define EXCERPT "%.2000s"
#define SECRET "test-bridge-secret-0123456789ab"
#define KEY_ID "citygrid-test-1"
#define N_CASES 6
#define MAX_SEEN 512
#define FAIL_FIRST 4

/* ---- the receiver --------------------------------------------------------- */

typedef struct seen {
    char key[64];       /* Idempotency-Key */
    char case_id[32];
    char verb[32];
    char to[32];
} seen;

static struct receiver {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock;
    int stop;
    int down;                  /* 1: every delivery fails (the platform is down) */
    int requests, failed_on_purpose, bad_signatures, bad_requests, duplicates, lost_answers;
    seen accepted[MAX_SEEN];   /* de-duplicated, in arrival order */
    int n_accepted;
} R;

static char *header_value(char *headers, const char *name)
{
    size_t n = strlen(name);
    for (char *line = headers; line && *line;) {
        char *eol = strstr(line, "\r\n");
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ')
                v++;
            size_t len = eol ? (size_t)(eol - v) : strlen(v);
            char *out = strndup(v, len);
            return out;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

static int signature_ok(const char *timestamp, const char *body, const char *signature)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char hex[sizeof mac * 2 + 8];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)SECRET, strlen(SECRET));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(hex, "sha256=", 7);
    sodium_bin2hex(hex + 7, sizeof hex - 7, mac, sizeof mac);
    return signature && !strcmp(signature, hex);
}

static void reply(int fd, int status)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     status);
    ssize_t w = write(fd, buf, (size_t)n);
    (void)w;
}

static void serve(int fd)
{
    char buf[65536];
    size_t used = 0;
    char *end = NULL;
    while (used < sizeof buf - 1) {
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = 0;
        if (!end)
            end = strstr(buf, "\r\n\r\n");
        if (end) {
            char *cl = header_value(buf, "Content-Length");
            size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl, NULL, 10) : 0);
            free(cl);
            if (used >= want)
                break;
        }
    }
    buf[used] = 0;
    if (!end) {
        reply(fd, 400);
        return;
    }
    *end = 0;
    const char *body = end + 4;
    char *ts = header_value(buf, "X-Citygrid-Timestamp");
    char *sig = header_value(buf, "X-Citygrid-Signature");
    char *kid = header_value(buf, "X-Citygrid-Key-Id");
    char *key = header_value(buf, "Idempotency-Key");
    pthread_mutex_lock(&R.lock);
    R.requests++;
    int status = 200;
    if (!ts || !sig || !kid || !key || strcmp(kid, KEY_ID) || !signature_ok(ts, body, sig)) {
        R.bad_signatures++;
        status = 401;
    } else if (R.down || R.requests <= FAIL_FIRST || (R.requests % 5) == 0) {
        /* The endpoint is down, or flaky: the first deliveries and every
         * fifth fail. */
        R.failed_on_purpose++;
        status = 503;
    } else {
        json_t *j = json_loads(body, 0, NULL);
        const char *case_id = json_string_value(json_object_get(j, "case_id"));
        const char *verb = json_string_value(json_object_get(j, "verb"));
        const char *to = json_string_value(json_object_get(j, "to"));
        int dup = 0;
        for (int i = 0; i < R.n_accepted; i++)
            dup |= !strcmp(R.accepted[i].key, key);
        if (!case_id || !verb || !to) {
            R.bad_requests++;
            status = 400;
        } else if (dup) {
            R.duplicates++;   /* a redelivery: answered 200, recorded once */
        } else if (R.n_accepted < MAX_SEEN) {
            seen *s = &R.accepted[R.n_accepted++];
            snprintf(s->key, sizeof s->key, "%s", key);
            snprintf(s->case_id, sizeof s->case_id, "%s", case_id);
            snprintf(s->verb, sizeof s->verb, "%s", verb);
            snprintf(s->to, sizeof s->to, "%s", to);
            if (R.n_accepted % 4 == 1) {
                /* Taken, but the answer is lost: the same delivery comes
                 * again and must be recognised by its Idempotency-Key. */
                R.lost_answers++;
                status = 502;
            }
        }
        json_decref(j);
    }
    pthread_mutex_unlock(&R.lock);
    reply(fd, status);
    free(ts);
    free(sig);
    free(kid);
    free(key);
}

static void *receiver_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(R.fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        pthread_mutex_lock(&R.lock);
        int stop = R.stop;
        pthread_mutex_unlock(&R.lock);
        if (stop) {
            close(c);
            break;
        }
        serve(c);
        close(c);
    }
    return NULL;
}

static void receiver_start(void)
{
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.lock, NULL);
    R.fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(R.fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(R.fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(R.fd, 64), 0);
    socklen_t len = sizeof a;
    getsockname(R.fd, (struct sockaddr *)&a, &len);
    R.port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&R.thread, NULL, receiver_main, NULL), 0);
}

static void receiver_stop(void)
{
    pthread_mutex_lock(&R.lock);
    R.stop = 1;
    pthread_mutex_unlock(&R.lock);
    /* Wake accept() with one last connection. */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)R.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (c >= 0) {
        if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
            /* the thread is gone already */
        }
        close(c);
    }
    pthread_join(R.thread, NULL);
    close(R.fd);
}

/* ---- the test ---------------------------------------------------------------- */

static td_daemon D;

/* Remote mode: the plugin host this test runs, and its keys. */
static pid_t plugind;
static char *keys_dir;

static void stop_plugind(void)
{
    if (plugind > 0) {
        kill(plugind, SIGKILL);
        waitpid(plugind, NULL, 0);
        plugind = 0;
    }
}

static void teardown(void)
{
    stop_plugind();
    td_cleanup(&D);
    if (keys_dir) {
        tu_rmrf(keys_dir);
        free(keys_dir);
        keys_dir = NULL;
    }
}

/* citygrid-plugind with the bridge, on the department's "own host": the
 * settings travel with it, not in the core's config. */
static void start_plugind(const char *endpoint, const char *core_pub, const char *key)
{
    char *bin = tu_build_path("core/citygrid-plugind");
    char *so = tu_build_path("plugins/bridge/.libs/bridge_four_platforms.so");
    char *log = tu_sprintf("%s/plugind.log", keys_dir);
    char *settings = tu_sprintf("{\"url\":\"http://127.0.0.1:%d/hook\",\"allow_http\":true,"
                                "\"key_id\":\"" KEY_ID "\",\"secret\":\"" SECRET "\","
                                "\"timeout_ms\":3000}", R.port);
    pid_t parent = getpid();
    plugind = fork();
    ck_assert_int_ge(plugind, 0);
    if (plugind == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        execl(bin, bin, "--plugin", so, "--endpoint", endpoint, "--server-key", core_pub, "--key",
              key, "--settings", settings, "--heartbeat-ms", "200", (char *)NULL);
        _exit(127);
    }
    free(bin); free(so); free(log); free(settings);
}

static void start(const char *mode)
{
    memset(&D, 0, sizeof D);
    char plugin[1024], bus[1024];
    char *so = tu_build_path("plugins/bridge/.libs/bridge_four_platforms.so");
    int remote = !strcmp(mode, "remote");
    char *endpoint = NULL, *core = NULL, *dept = NULL;
    if (remote) {
        char err[512];
        keys_dir = tu_tempdir("bridge-keys");
        core = tu_sprintf("%s/core", keys_dir);
        dept = tu_sprintf("%s/four_platforms", keys_dir);
        ck_assert_msg(cg_curve_keys_generate(core, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(cg_curve_keys_generate(dept, err, sizeof err) == 0, "%s", err);
        endpoint = tu_sprintf("tcp://127.0.0.1:%d", td_free_port());
        snprintf(plugin, sizeof plugin,
                 "{ name = \"bridge_four_platforms\"; mode = \"remote\";"
                 "  department = \"four_platforms\"; subscribe = [ \"all\" ]; }");
        snprintf(bus, sizeof bus,
                 "max_attempts = 200; remote_bind = \"%s\"; server_key = \"%s.key\"; "
                 "clients = ( { department = \"four_platforms\"; key = \"%s.pub\"; } );",
                 endpoint, core, dept);
    } else {
        snprintf(plugin, sizeof plugin,
                 "{ name = \"bridge_four_platforms\"; path = \"%s\"; mode = \"%s\";"
                 "  subscribe = [ \"all\" ];"
                 "  settings = { url = \"http://127.0.0.1:%d/hook\"; allow_http = true;"
                 "    key_id = \"" KEY_ID "\"; secret = \"" SECRET "\"; timeout_ms = 3000; }; }",
                 so, mode, R.port);
        snprintf(bus, sizeof bus, "max_attempts = 200;");
    }
    free(so);
    td_options opt = {.extra_plugins = plugin, .extra_bus = bus};
    ta_start(&D, &opt, remote ? "police" : "police,bridge_four_platforms", 30000);
    if (remote) {
        char *core_pub = tu_sprintf("%s.pub", core), *dept_key = tu_sprintf("%s.key", dept);
        start_plugind(endpoint, core_pub, dept_key);
        char *body = NULL;
        int rc = td_wait_plugins_ready(&D, "bridge_four_platforms", 30000, &body);
        char *plog = tu_sprintf("%s/plugind.log", keys_dir);
        char *ptext = tu_read_file(plog);
        EXPECT(rc == 0, "the remote bridge is not ready: %.1000s; its log: %.2000s",
               body ? body : "", ptext ? ptext : "");
        free(ptext); free(plog); free(body); free(core_pub); free(dept_key);
    }
    free(endpoint); free(core); free(dept);
}

/* A GeoReport POST (form body); the status, the body in *body (malloc'd). */
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
    *body = strdup(r.body ? r.body : "");
    hc_response_free(&r);
    return status;
}

/* A citizen's case through Open311 (a key of its own): its id in out. */
static void open311_report(char out[32], char **api_key)
{
    json_t *k = ta_expect_call("POST", "/v1/open311/keys", D.token, "{\"name\":\"citizen_app\"}",
                               201);
    *api_key = strdup(ta_text(k, "api_key"));
    json_decref(k);
    char *form = tu_sprintf("api_key=%s&service_code=traffic_safety&lat=28.45&long=119.92"
                            "&description=%%E8%%B7%%AF%%E5%%8F%%A3", *api_key);
    char *body = NULL;
    int st = form_post("/open311/v2/requests.json", form, &body);
    json_t *j = json_loads(body, 0, NULL);
    const char *id = json_string_value(json_object_get(json_array_get(j, 0), "service_request_id"));
    EXPECT(st == 201 && id, "Open311 POST requests: %d " EXCERPT, st, body);
    snprintf(out, 32, "%s", id);
    json_decref(j);
    free(body);
    free(form);
}

/* A citizen's update on their own case: 201. */
static void open311_update(const char *api_key, const char *id, const char *extra)
{
    char *form = tu_sprintf("api_key=%s&service_request_id=%s&%s", api_key, id, extra);
    char *body = NULL;
    int st = form_post("/open311/v2/servicerequestupdates.json", form, &body);
    EXPECT(st == 201, "Open311 POST servicerequestupdates (%s): %d " EXCERPT, extra, st, body);
    free(body);
    free(form);
}

static void act(const char *id, const char *body)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/cases/%s/actions", id);
    ta_expect_status("POST", path, D.token, body, 200);
}

/* The receiver has every (case, verb) of `want` (n each per case). */
static int received_all(char ids[][32], int n_ids, const char *const *verbs, int n_verbs)
{
    pthread_mutex_lock(&R.lock);
    int missing = 0;
    for (int i = 0; i < n_ids; i++)
        for (int v = 0; v < n_verbs; v++) {
            int found = 0;
            for (int k = 0; k < R.n_accepted; k++)
                found |= !strcmp(R.accepted[k].case_id, ids[i]) && !strcmp(R.accepted[k].verb, verbs[v]);
            missing += !found;
        }
    pthread_mutex_unlock(&R.lock);
    return missing == 0;
}

static void set_down(int down)
{
    pthread_mutex_lock(&R.lock);
    R.down = down;
    pthread_mutex_unlock(&R.lock);
}

/* Every delivery whose answer was lost has come again (the last one may
 * still be on its way when every event has arrived). */
static int lost_answers_redelivered(void)
{
    pthread_mutex_lock(&R.lock);
    int done = R.duplicates >= R.lost_answers;
    pthread_mutex_unlock(&R.lock);
    return done;
}

static int failed_so_far(void)
{
    pthread_mutex_lock(&R.lock);
    int n = R.failed_on_purpose;
    pthread_mutex_unlock(&R.lock);
    return n;
}

/* Each of verbs[] arrived exactly once for case `id` (after de-duplication),
 * in that order. */
static void expect_once_in_order(const seen *got, int n, const char *id,
                                 const char *const *verbs, int n_verbs, const char *summary)
{
    int last_at = -1;
    for (int v = 0; v < n_verbs; v++) {
        int at = -1, count = 0;
        for (int k = 0; k < n; k++)
            if (!strcmp(got[k].case_id, id) && !strcmp(got[k].verb, verbs[v])) {
                count++;
                at = k;
            }
        EXPECT(count == 1, "%s: %d '%s' events after de-duplication, expected 1 (%s)", id, count,
               verbs[v], summary);
        EXPECT(at > last_at, "%s: '%s' arrived out of order (at %d, the one before at %d)", id,
               verbs[v], at, last_at);
        last_at = at;
    }
}

static void run_day(const char *mode)
{
    receiver_start();
    start(mode);
    char ids[N_CASES][32];
    for (int i = 0; i < N_CASES; i++) {
        char *id = ta_report(D.token, "{\"category\":\"traffic_safety\",\"lat\":28.45,\"lon\":119.92,"
                                      "\"description\":\"路口拥堵\"}", 201);
        snprintf(ids[i], sizeof ids[i], "%s", id);
        free(id);
    }
    for (int i = 0; i < N_CASES; i++)
        json_decref(ta_wait_case(ids[i], "status", "accepted", 20000));
    /* Half the day while the platform is down, then citygridd dies with
     * those deliveries still owed (each tried and refused at least once). */
    set_down(1);
    for (int i = 0; i < N_CASES / 2; i++) {
        act(ids[i], "{\"action\":\"handle\",\"note\":\"已疏导\"}");
        act(ids[i], "{\"action\":\"review\",\"result\":\"pass\",\"note\":\"复核通过\"}");
    }
    long long until = ta_mono_ms() + 30000;
    while (failed_so_far() < N_CASES / 2 && ta_mono_ms() < until)
        ta_sleep_ms(20);
    EXPECT(failed_so_far() >= N_CASES / 2, "the bridge tried while the platform was down");
    td_kill9(&D);
    set_down(0);
    EXPECT(td_restart(&D) == 0, "restart after kill -9");
    for (int i = N_CASES / 2; i < N_CASES; i++) {
        act(ids[i], "{\"action\":\"handle\",\"note\":\"已疏导\"}");
        act(ids[i], "{\"action\":\"review\",\"result\":\"pass\",\"note\":\"复核通过\"}");
    }
    /* A citizen's report through Open311, a comment on it, its closure by
     * staff, and the citizen reopening it. */
    char citizen[1][32];
    char *api_key = NULL;
    open311_report(citizen[0], &api_key);
    json_decref(ta_wait_case(citizen[0], "status", "accepted", 20000));
    open311_update(api_key, citizen[0], "description=%E8%BF%98%E5%9C%A8%E5%A0%B5");
    act(citizen[0], "{\"action\":\"handle\",\"note\":\"已疏导\"}");
    act(citizen[0], "{\"action\":\"review\",\"result\":\"pass\",\"note\":\"复核通过\"}");
    open311_update(api_key, citizen[0], "status=OPEN&description=%E5%8F%88%E5%A0%B5%E4%BA%86");
    free(api_key);
    static const char *const verbs[] = {"report", "handle", "review"};
    static const char *const citizen_verbs[] = {"report", "comment", "handle", "review", "reopen"};
    long long deadline = ta_mono_ms() + 60000;
    while (!(received_all(ids, N_CASES, verbs, 3) && received_all(citizen, 1, citizen_verbs, 5) &&
             lost_answers_redelivered()) &&
           ta_mono_ms() < deadline)
        ta_sleep_ms(50);

    pthread_mutex_lock(&R.lock);
    char summary[512];
    snprintf(summary, sizeof summary,
             "%d requests, %d failed on purpose, %d bad signatures, %d bad bodies, %d duplicates, "
             "%d accepted (%d answers lost)", R.requests, R.failed_on_purpose, R.bad_signatures,
             R.bad_requests, R.duplicates, R.n_accepted, R.lost_answers);
    int bad = R.bad_signatures + R.bad_requests;
    int failed_on_purpose = R.failed_on_purpose;
    seen got[MAX_SEEN];
    int n = R.n_accepted;
    memcpy(got, R.accepted, sizeof got);
    pthread_mutex_unlock(&R.lock);
    fprintf(stderr, "bridge (%s): %s\n", mode, summary);

    EXPECT(received_all(ids, N_CASES, verbs, 3), "not every event arrived: %s", summary);
    EXPECT(received_all(citizen, 1, citizen_verbs, 5),
           "not every event of the Open311 case arrived (report, comment, handle, review, "
           "reopen): %s", summary);
    EXPECT(bad == 0, "every delivery is signed and well formed: %s", summary);
    EXPECT(failed_on_purpose >= FAIL_FIRST, "the receiver failed deliveries: %s", summary);
    EXPECT(R.duplicates >= R.lost_answers && R.lost_answers > 0,
           "every delivery whose answer was lost came again with its Idempotency-Key: %s", summary);
    for (int i = 0; i < N_CASES; i++)
        expect_once_in_order(got, n, ids[i], verbs, 3, summary);
    expect_once_in_order(got, n, citizen[0], citizen_verbs, 5, summary);
    /* Nothing is left in the outbox and nothing went to dead letters. */
    json_t *plugins = ta_get_json("/v1/plugins");
    json_t *b = ta_find(ta_as_list(plugins), "name", "bridge_four_platforms");
    char *text = ta_dump(b);
    EXPECT(b && json_integer_value(json_object_get(b, "dead_letters")) == 0,
           "no dead letters: " EXCERPT, text);
    free(text);
    json_decref(plugins);
    td_stop(&D);
    stop_plugind();
    receiver_stop();
}

START_TEST(thread_mode)
{
    run_day("thread");
}
END_TEST

START_TEST(process_mode)
{
    run_day("process");
}
END_TEST

START_TEST(remote_mode)
{
    run_day("remote");
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("bridge");
    ta_add_case(s, "thread", thread_mode, NULL, teardown, 240);
    ta_add_case(s, "process", process_mode, NULL, teardown, 240);
    ta_add_case(s, "remote", remote_mode, NULL, teardown, 240);
    return ta_run(s);
}
