/*
 * inbound.c — signed reports from other platforms (inbound.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/inbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>
#include <sodium.h>

#include "case/cases.h"
#include "case/report.h"
#include "host/flow.h"
#include "lib/timeutil.h"
#include "people/catalog.h"
#include "people/grids.h"

#define SIG_HEX (crypto_auth_hmacsha256_BYTES * 2)
#define RECENT_MAX 1024

/* Signatures of requests in flight: verified, their case not committed yet
 * (the ring catches a replay sent before the first one's case is stored;
 * once stored, request_keys holds the signature for good, see inbound.h).
 * A ring: requests in flight are at most a few batches' worth, and the
 * insert's key check catches whatever the ring let through. */
static struct {
    char sig[SIG_HEX + 1];
    int64_t at_s;
} recent[RECENT_MAX];
static size_t recent_next;

/* The signature's hex in lower case: one request, one key, however the
 * sender spelled the hex digits (both spellings verify). */
static void canonical_hex(const char *hex, char out[SIG_HEX + 1])
{
    size_t i = 0;
    for (; hex && hex[i] && i < SIG_HEX; i++)
        out[i] = (char)tolower((unsigned char)hex[i]);
    out[i] = 0;
}

static int seen_recently(const char *sig, int64_t now_s, int window_s)
{
    for (size_t i = 0; i < RECENT_MAX; i++)
        if (recent[i].at_s && now_s - recent[i].at_s <= 2 * window_s && !strcmp(recent[i].sig, sig))
            return 1;
    return 0;
}

static void remember(const char *sig, int64_t now_s)
{
    snprintf(recent[recent_next].sig, sizeof recent[0].sig, "%s", sig);
    recent[recent_next].at_s = now_s;
    recent_next = (recent_next + 1) % RECENT_MAX;
}

static const cg_inbound_source_conf *find_source(const cg_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && i < cfg->n_inbound_sources; i++)
        if (!strcmp(cfg->inbound_sources[i].name, name))
            return &cfg->inbound_sources[i];
    return NULL;
}

cg_status cg_inbound_verify(const cg_app *app, const char *source, const char *timestamp,
                            const char *signature, const char *body, size_t body_len,
                            int64_t now_s, cg_result *r)
{
    const cg_config *cfg = app ? app->config : NULL;
    const cg_inbound_source_conf *src = find_source(cfg, source);
    if (!src)
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no inbound source '%.64s' is configured",
                       source);
    int window = cfg->inbound_window_s > 0 ? cfg->inbound_window_s : CG_INBOUND_DEFAULT_WINDOW_S;
    if (!timestamp || !signature)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "unauthorized",
                       "X-Citygrid-Timestamp and X-Citygrid-Signature are required");
    char *end = NULL;
    long long ts = strtoll(timestamp, &end, 10);
    if (end == timestamp || *end)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "unauthorized",
                       "X-Citygrid-Timestamp must be unix seconds");
    if (ts < now_s - window || ts > now_s + window)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "stale_request",
                       "the timestamp is more than %d s away from now (replay window)", window);
    if (strncmp(signature, "sha256=", 7) != 0 || strlen(signature + 7) != SIG_HEX)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "unauthorized",
                       "X-Citygrid-Signature must be sha256=HEX");
    unsigned char mac[crypto_auth_hmacsha256_BYTES], given[crypto_auth_hmacsha256_BYTES];
    size_t given_len = 0;
    if (sodium_hex2bin(given, sizeof given, signature + 7, SIG_HEX, NULL, &given_len, NULL) != 0 ||
        given_len != sizeof given)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "unauthorized", "the signature is not hex");
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)src->key, strlen(src->key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    if (sodium_memcmp(mac, given, sizeof mac) != 0)
        return cg_fail(r, CG_E_UNAUTHENTICATED, "bad_signature",
                       "the signature does not match the body and timestamp");
    char key[SIG_HEX + 1];
    canonical_hex(signature + 7, key);
    int stored = cg_cases_request_seen(app->store, key, now_s - 2 * (int64_t)window);
    if (stored < 0)
        return cg_fail(r, CG_E_INTERNAL, "internal_error", "the replay check failed");
    if (stored || seen_recently(key, now_s, window))
        return cg_fail(r, CG_E_UNAUTHENTICATED, "replayed",
                       "this signed request was already received");
    remember(key, now_s);
    return CG_OK;
}

typedef struct pending_inbound {
    cg_inbound_done done;
    void *arg;
} pending_inbound;

static void stored(void *arg, int status, const char *case_id, json_t *c, const char *why)
{
    pending_inbound *p = arg;
    cg_inbound_done done = p->done;
    void *done_arg = p->arg;
    free(p);
    cg_result r;
    cg_result_clear(&r);
    if (status != 0 || !case_id) {
        json_decref(c);
        if (why && strstr(why, CG_CASES_REQUEST_SEEN))
            cg_fail(&r, CG_E_UNAUTHENTICATED, "replayed", "this signed request was already received");
        else
            cg_fail(&r, CG_E_INTERNAL, "internal_error", "the case was not stored: %.160s",
                    why ? why : "unknown error");
        done(done_arg, &r, NULL, NULL);
        return;
    }
    done(done_arg, &r, case_id, c ? c : json_pack("{s:s}", "id", case_id));
}

cg_status cg_inbound_report(cg_app *app, const char *source, const char *signature,
                            json_t *body, cg_inbound_done done, void *arg, cg_result *r)
{
    const cg_config *cfg = app->config;
    int window = cfg && cfg->inbound_window_s > 0 ? cfg->inbound_window_s
                                                  : CG_INBOUND_DEFAULT_WINDOW_S;
    cg_new_case nc;
    /* The platform is the source: whatever `source` the body says is
     * replaced (a platform cannot pose as a patrol). */
    json_t *copy = json_is_object(body) ? json_copy(body) : json_incref(body);
    if (json_is_object(copy))
        json_object_del(copy, "source");
    cg_status st = cg_case_report_parse(copy, app->catalog, &nc, r);
    if (st != CG_OK) {
        json_decref(copy);
        return st;
    }
    char src[96], grid[CG_GRID_CODE_SIZE];
    snprintf(src, sizeof src, "%s%s", CG_INBOUND_SOURCE_PREFIX, source);
    nc.source = src;
    nc.reporter = NULL;
    /* The hex after "sha256=" as cg_inbound_verify looks it up; kept for
     * twice the window, as long as a timestamp could still pass. */
    char key[SIG_HEX + 1] = "";
    if (signature && !strncmp(signature, "sha256=", 7))
        canonical_hex(signature + 7, key);
    nc.request_key = *key ? key : NULL;
    nc.request_keep_s = 2 * (int64_t)window;
    if (nc.grid && *nc.grid) {
        int known = cg_grids_exists(app->store, nc.grid);
        if (known <= 0)
            st = known < 0 ? cg_fail(r, CG_E_INTERNAL, "internal_error", "grid lookup failed")
                           : cg_fail(r, CG_E_UNPROCESSABLE, "unknown_grid", "no grid %s", nc.grid);
    } else {
        int found = cg_grids_locate(app->store, nc.lat, nc.lon, grid);
        if (found <= 0)
            st = found < 0 ? cg_fail(r, CG_E_INTERNAL, "internal_error", "grid lookup failed")
                           : cg_fail(r, CG_E_UNPROCESSABLE, "outside_grids",
                                     "%.6f, %.6f is in none of the city's grids", nc.lat, nc.lon);
        else
            nc.grid = grid;
    }
    pending_inbound *p = st == CG_OK ? malloc(sizeof *p) : NULL;
    if (st == CG_OK && !p)
        st = cg_fail(r, CG_E_INTERNAL, "internal_error", "out of memory");
    if (st != CG_OK) {
        json_decref(nc.extra);
        json_decref(copy);
        return st;
    }
    *p = (pending_inbound){done, arg};
    cg_flow_submit_case(app, &nc, stored, p);
    json_decref(nc.extra);
    json_decref(copy);
    return CG_OK;
}
