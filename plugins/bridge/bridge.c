/*
 * bridge.c — a bridge plugin: every event it subscribes to (etc/plugins.d,
 * `subscribe = [ ... ]`, the operator's choice) and every case dispatched to
 * its department goes to another platform's HTTPS endpoint as a signed JSON
 * webhook. See README.md beside this file for the wire format.
 *
 * Delivery is the core's outbox: the plugin POSTs once per delivery and
 * answers CITYGRID_OK only on a 2xx; anything else (refused connection,
 * timeout, 5xx, 429) is CITYGRID_E_RETRY, so the outbox backs off and
 * delivers the same dispatch id again (a dead letter after bus.max_attempts,
 * visible in /v1/plugins). The receiver de-duplicates on Idempotency-Key,
 * which is that dispatch id and repeats on every redelivery.
 *
 * Order per case: once a delivery of a case has failed, later events of the
 * same case are answered "retry" without being sent, until that first one
 * gets through; the outbox redelivers oldest first (also after a restart),
 * so a receiver sees each case's events in order.
 *
 * One build per platform: a department is served by one plugin, and the
 * department is part of the descriptor, so the same source is built as
 * bridge_four_platforms.so and bridge_ilishui.so (BRIDGE_NAME,
 * BRIDGE_DEPARTMENT). libcurl is linked by this plugin alone.
 *
 * Runs on its plugin thread only (thread, process or remote mode alike).
 */
#include <citygrid/plugin.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#ifndef BRIDGE_NAME
#define BRIDGE_NAME "bridge_four_platforms"
#endif
#ifndef BRIDGE_DEPARTMENT
#define BRIDGE_DEPARTMENT "four_platforms"
#endif
#ifndef BRIDGE_TITLE_ZH
#define BRIDGE_TITLE_ZH "基层治理四平台"
#endif

#define BLOCKED_MAX 256          /* cases waiting for an earlier delivery */
#define SIGNATURE_HEX (crypto_auth_hmacsha256_BYTES * 2 + 1)

typedef struct bridge {
    const citygrid_host *host;
    char *url;
    char *key_id;
    unsigned char secret[crypto_auth_hmacsha256_KEYBYTES];
    size_t secret_len;
    long timeout_ms;
    CURL *curl;
    /* case id -> the dispatch id of its oldest delivery not yet through */
    struct {
        char case_id[32];
        char dispatch_id[64];
        int64_t last_try;        /* when that delivery was last attempted */
    } blocked[BLOCKED_MAX];
    size_t n_blocked;
    long long order_hold_s;      /* how long a silent head may hold its case */
} bridge;

static const citygrid_plugin bridge_plugin;

/* ---- order per case ------------------------------------------------------ */

static int blocked_index(const bridge *b, const char *case_id)
{
    for (size_t i = 0; i < b->n_blocked; i++)
        if (!strcmp(b->blocked[i].case_id, case_id))
            return (int)i;
    return -1;
}

static void block(bridge *b, const char *case_id, const char *dispatch_id, int64_t now)
{
    int i = blocked_index(b, case_id);
    if (i >= 0) {
        b->blocked[i].last_try = now;
        return;
    }
    if (b->n_blocked == BLOCKED_MAX)
        return;
    snprintf(b->blocked[b->n_blocked].case_id, sizeof b->blocked[0].case_id, "%s", case_id);
    snprintf(b->blocked[b->n_blocked].dispatch_id, sizeof b->blocked[0].dispatch_id, "%s",
             dispatch_id);
    b->blocked[b->n_blocked].last_try = now;
    b->n_blocked++;
}

static void unblock(bridge *b, const char *case_id)
{
    int i = blocked_index(b, case_id);
    if (i < 0)
        return;
    b->blocked[i] = b->blocked[--b->n_blocked];
}

/* ---- the webhook --------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* HMAC-SHA256(secret, TIMESTAMP "." BODY) as lowercase hex. */
static void sign(const bridge *b, const char *timestamp, const char *body, char out[SIGNATURE_HEX])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, b->secret, b->secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, SIGNATURE_HEX, mac, sizeof mac);
}

/* POST the body; 1 delivered (2xx), 0 not (why in the log). */
static int post(bridge *b, citygrid_plugin_ctx *ctx, const char *delivery_id, unsigned attempt,
                const char *body)
{
    char timestamp[32], signature[SIGNATURE_HEX], h[5][160];
    snprintf(timestamp, sizeof timestamp, "%lld", (long long)b->host->now(ctx));
    sign(b, timestamp, body, signature);
    snprintf(h[0], sizeof h[0], "X-Citygrid-Key-Id: %s", b->key_id);
    snprintf(h[1], sizeof h[1], "X-Citygrid-Timestamp: %s", timestamp);
    snprintf(h[2], sizeof h[2], "X-Citygrid-Signature: sha256=%s", signature);
    snprintf(h[3], sizeof h[3], "Idempotency-Key: %s", delivery_id);
    snprintf(h[4], sizeof h[4], "X-Citygrid-Attempt: %u", attempt);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; i < 5 && headers; i++)
        headers = curl_slist_append(headers, h[i]);
    headers = curl_slist_append(headers, "Expect:");
    if (!headers) {
        curl_slist_free_all(headers);
        return 0;
    }
    CURL *c = b->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, b->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, b->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, b->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);   /* a plugin thread: no SIGALRM */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        b->host->log(ctx, CITYGRID_LOG_WARNING, "%s: delivery %s (attempt %u) not sent: %s",
                     b->url, delivery_id, attempt, curl_easy_strerror(rc));
        return 0;
    }
    if (status < 200 || status > 299) {
        b->host->log(ctx, CITYGRID_LOG_WARNING, "%s: delivery %s (attempt %u) refused: HTTP %ld",
                     b->url, delivery_id, attempt, status);
        return 0;
    }
    return 1;
}

/* ---- instances ------------------------------------------------------------
 * ctx -> bridge, for the callbacks (a reload runs an old and a new instance
 * side by side on two threads for a moment, hence the lock). */
#define INSTANCES_MAX 8
static pthread_mutex_t instances_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    citygrid_plugin_ctx *ctx;
    bridge *b;
} instances[INSTANCES_MAX];

static bridge *bridge_of(citygrid_plugin_ctx *ctx)
{
    bridge *b = NULL;
    pthread_mutex_lock(&instances_lock);
    for (size_t i = 0; i < INSTANCES_MAX && !b; i++)
        if (instances[i].ctx == ctx)
            b = instances[i].b;
    pthread_mutex_unlock(&instances_lock);
    return b;
}

static int remember(citygrid_plugin_ctx *ctx, bridge *b)
{
    int ok = 0;
    pthread_mutex_lock(&instances_lock);
    for (size_t i = 0; i < INSTANCES_MAX && !ok; i++)
        if (!instances[i].ctx) {
            instances[i].ctx = ctx;
            instances[i].b = b;
            ok = 1;
        }
    pthread_mutex_unlock(&instances_lock);
    return ok;
}

static bridge *forget(citygrid_plugin_ctx *ctx)
{
    bridge *b = NULL;
    pthread_mutex_lock(&instances_lock);
    for (size_t i = 0; i < INSTANCES_MAX; i++)
        if (instances[i].ctx == ctx) {
            b = instances[i].b;
            instances[i].ctx = NULL;
            instances[i].b = NULL;
        }
    pthread_mutex_unlock(&instances_lock);
    return b;
}

/* ---- the callbacks ------------------------------------------------------ */

/* The webhook body: what happened, to which case, when; the whole case as
 * the core dispatched it under "case". */
static char *event_body(const citygrid_case *c, const citygrid_event *ev)
{
    json_t *snapshot = c->json && *c->json ? json_loads(c->json, 0, NULL) : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o}",
        "delivery_id", c->dispatch_id,
        "platform", BRIDGE_DEPARTMENT,
        "case_id", c->id,
        "department", c->department,
        "category", c->category,
        "grid", c->grid,
        "kind", ev ? ev->kind : "dispatch",
        "verb", ev ? ev->verb : "dispatch",
        "from", ev ? ev->from : "",
        "to", ev ? ev->to : "dispatched",
        "actor", ev ? ev->actor : "system",
        "level", ev ? ev->level : c->level,
        "note", ev ? ev->note : "",
        "at", (json_int_t)(ev ? ev->at : c->reported_at),
        "case", snapshot ? snapshot : json_null());
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

static int deliver(citygrid_plugin_ctx *ctx, const citygrid_case *c, const citygrid_event *ev)
{
    bridge *b = bridge_of(ctx);
    if (!b)
        return CITYGRID_E_STATE;
    if (!c || c->struct_size < sizeof(citygrid_case) || !c->id || !*c->id || !c->dispatch_id)
        return CITYGRID_E_INVALID;
    if (ev && ev->struct_size < sizeof *ev)
        return CITYGRID_E_INVALID;
    int64_t now = b->host->now(ctx);
    int i = blocked_index(b, c->id);
    if (i >= 0 && strcmp(b->blocked[i].dispatch_id, c->dispatch_id) != 0) {
        /* An earlier event of this case goes first, unless it has not been
         * tried for order_hold_s (it became a dead letter): then order
         * gives way to delivery. */
        if (now - b->blocked[i].last_try <= b->order_hold_s)
            return CITYGRID_E_RETRY;
        b->host->log(ctx, CITYGRID_LOG_WARNING, "%s: delivery %s no longer holds back later events",
                     c->id, b->blocked[i].dispatch_id);
        unblock(b, c->id);
    }
    char *body = event_body(c, ev);
    if (!body)
        return CITYGRID_E_RETRY;
    int ok = post(b, ctx, c->dispatch_id, c->attempt, body);
    free(body);
    if (!ok) {
        block(b, c->id, c->dispatch_id, now);
        return CITYGRID_E_RETRY;
    }
    unblock(b, c->id);
    return CITYGRID_OK;
}

static int bridge_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    return deliver(ctx, c, NULL);
}

static int bridge_on_event(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                           const citygrid_event *ev)
{
    if (!ev)
        return CITYGRID_E_INVALID;
    return deliver(ctx, c, ev);
}

static void bridge_free(bridge *b)
{
    if (!b)
        return;
    if (b->curl)
        curl_easy_cleanup(b->curl);
    sodium_memzero(b->secret, sizeof b->secret);
    free(b->url);
    free(b->key_id);
    free(b);
}

/* The secret: `secret_file` (its first line) or `secret`; at least 16 bytes. */
static int read_secret(bridge *b, citygrid_plugin_ctx *ctx)
{
    const char *file = b->host->setting_string(ctx, "secret_file", NULL);
    char buf[256] = "";
    if (file && *file) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(buf, sizeof buf, f)) {
            if (f)
                fclose(f);
            b->host->log(ctx, CITYGRID_LOG_ERROR, "secret_file %s cannot be read", file);
            return -1;
        }
        fclose(f);
        buf[strcspn(buf, "\r\n")] = '\0';
    } else {
        const char *s = b->host->setting_string(ctx, "secret", "");
        snprintf(buf, sizeof buf, "%s", s ? s : "");
    }
    size_t n = strlen(buf);
    if (n < 16 || n > sizeof b->secret) {
        b->host->log(ctx, CITYGRID_LOG_ERROR, "the signing secret (secret or secret_file) must be "
                     "16 to %zu bytes", sizeof b->secret);
        sodium_memzero(buf, sizeof buf);
        return -1;
    }
    memcpy(b->secret, buf, n);
    b->secret_len = n;
    sodium_memzero(buf, sizeof buf);
    return 0;
}

static int bridge_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    if (!ctx || !host || host->size < sizeof(citygrid_host) || host->abi.major != CITYGRID_ABI_MAJOR)
        return CITYGRID_E_INVALID;
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return CITYGRID_E_STATE;
    bridge *b = calloc(1, sizeof *b);
    if (!b)
        return CITYGRID_E_NOMEM;
    b->host = host;
    const char *url = host->setting_string(ctx, "url", "");
    int insecure = host->setting_bool(ctx, "allow_http", 0);
    b->url = strdup(url ? url : "");
    b->key_id = strdup(host->setting_string(ctx, "key_id", BRIDGE_DEPARTMENT));
    b->timeout_ms = (long)host->setting_int(ctx, "timeout_ms", 5000);
    b->order_hold_s = host->setting_int(ctx, "order_hold_s", 600);
    if (!b->url || !b->key_id || !(b->curl = curl_easy_init())) {
        bridge_free(b);
        return CITYGRID_E_NOMEM;
    }
    int https = !strncmp(b->url, "https://", 8), http = !strncmp(b->url, "http://", 7);
    if (!https && !(http && insecure)) {
        host->log(ctx, CITYGRID_LOG_ERROR, "url must be https://... (http:// only with "
                  "allow_http = true, for a test receiver), not '%s'", b->url);
        bridge_free(b);
        return CITYGRID_E_INVALID;
    }
    if (b->timeout_ms < 100 || b->timeout_ms > 120000 || strlen(b->key_id) > 100 ||
        b->order_hold_s < 1) {
        host->log(ctx, CITYGRID_LOG_ERROR, "timeout_ms must be 100..120000, key_id at most 100 "
                  "bytes, order_hold_s at least 1");
        bridge_free(b);
        return CITYGRID_E_INVALID;
    }
    if (read_secret(b, ctx) < 0 || !remember(ctx, b)) {
        bridge_free(b);
        return CITYGRID_E_INVALID;
    }
    host->log(ctx, CITYGRID_LOG_INFO, "%s (%s) delivers to %s as key %s", BRIDGE_NAME, BRIDGE_TITLE_ZH,
              b->url, b->key_id);
    return CITYGRID_OK;
}

static void bridge_shutdown(citygrid_plugin_ctx *ctx)
{
    bridge_free(forget(ctx));
}

static const char *const bridge_categories[] = {NULL};

static const citygrid_plugin bridge_plugin = {
    .struct_size = sizeof(citygrid_plugin),
    .name = BRIDGE_NAME,
    .version = "1.0.0",
    .department = BRIDGE_DEPARTMENT,
    .department_zh = BRIDGE_TITLE_ZH,
    .categories = bridge_categories,
    .init = bridge_init,
    .handle = bridge_handle,
    .shutdown = bridge_shutdown,
    .on_event = bridge_on_event,
};

CITYGRID_PLUGIN_DEFINE(bridge_plugin)
