/*
 * abi_1_2.c — a test plugin built against the FROZEN ABI 1.2 header
 * (tests/plugins/abi-1.2/citygrid/plugin.h, compiled with -I to that copy):
 * a department that released with 1.2 (events, escalate, require, link) and
 * has not rebuilt since 1.3 added the extra-field and department-name
 * accessors. It must keep loading and working in every later 1.x core.
 *
 * handle(): accept, link the licence "91331102MA2A1B2C3D" (a 1.2 function)
 * and a note that tells what each side saw:
 *   "abi 1.2 plugin: host 1.M, host table S bytes, mine N bytes"
 * (N is the offset of the first member the 1.2 header does not know).
 * on_event(): a note "abi 1.2 event VERB".
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#if CITYGRID_ABI_MAJOR != 1 || CITYGRID_ABI_MINOR != 2
#error "abi_1_2.c must be compiled against the frozen ABI 1.2 header"
#endif

/* The host functions are the same for every instance: one copy of the 1.2
 * part of the table, under a lock (a reload runs two instances). */
static pthread_mutex_t abi_1_2_lock = PTHREAD_MUTEX_INITIALIZER;
static citygrid_host abi_1_2_host;
static size_t abi_1_2_host_size;

static citygrid_host host_table(size_t *size)
{
    pthread_mutex_lock(&abi_1_2_lock);
    citygrid_host h = abi_1_2_host;
    if (size)
        *size = abi_1_2_host_size;
    pthread_mutex_unlock(&abi_1_2_lock);
    return h;
}

static int abi_1_2_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    if (!host || host->size < sizeof(citygrid_host) || host->abi.major != CITYGRID_ABI_MAJOR)
        return CITYGRID_E_INVALID;
    pthread_mutex_lock(&abi_1_2_lock);
    abi_1_2_host = *host; /* only the 1.2 prefix: sizeof is 1.2's */
    abi_1_2_host_size = host->size;
    pthread_mutex_unlock(&abi_1_2_lock);
    host->log(ctx, CITYGRID_LOG_INFO, "abi 1.2 plugin ready on a %u.%u host",
              (unsigned)host->abi.major, (unsigned)host->abi.minor);
    return CITYGRID_OK;
}

static int abi_1_2_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    size_t host_size;
    citygrid_host h = host_table(&host_size);
    if (!h.case_accept || !c || c->struct_size < sizeof(citygrid_case) || !c->id || !*c->id)
        return CITYGRID_E_INVALID;
    char note[160];
    snprintf(note, sizeof note, "abi 1.2 plugin: host %u.%u, host table %zu bytes, mine %zu bytes",
             (unsigned)h.abi.major, (unsigned)h.abi.minor, host_size, sizeof(citygrid_host));
    int rc = h.case_accept(ctx, c->id);
    if (rc == CITYGRID_OK)
        rc = h.case_link(ctx, c->id, "licence", "91331102MA2A1B2C3D");
    if (rc == CITYGRID_OK)
        rc = h.case_note(ctx, c->id, note);
    return rc;
}

static int abi_1_2_on_event(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                            const citygrid_event *ev)
{
    citygrid_host h = host_table(NULL);
    char note[96];
    snprintf(note, sizeof note, "abi 1.2 event %s", ev && ev->verb ? ev->verb : "?");
    return h.case_note(ctx, c->id, note);
}

static const citygrid_plugin abi_1_2_plugin =
    TEST_PLUGIN_DESCRIPTOR("abi_1_2", "1.2.0", "abi-1-2-test", "ABI 1.2 测试",
                           .init = abi_1_2_init, .handle = abi_1_2_handle, .on_event = abi_1_2_on_event);

CITYGRID_PLUGIN_DEFINE(abi_1_2_plugin)
