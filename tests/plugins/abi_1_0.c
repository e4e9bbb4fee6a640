/*
 * abi_1_0.c — a test plugin built against the FROZEN ABI 1.0 header
 * (tests/plugins/abi-1.0/citygrid/plugin.h, compiled with -I to that copy),
 * standing for a department that released before the core moved on and has
 * not rebuilt. It must keep loading and working in every 1.x core: that is
 * the compatibility promise, proven by test_loader and test_abi_compat.
 *
 * It uses only 1.0 host functions: accept, assign "queue:abi-1-0" and a note
 * that tells what each side saw:
 *   "abi 1.0 plugin: host 1.M, host table S bytes, mine N bytes"
 * so a test can check that the host table only grew at its end (N is the
 * offset of the first member the 1.0 header does not know).
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#if CITYGRID_ABI_MAJOR != 1 || CITYGRID_ABI_MINOR != 0
#error "abi_1_0.c must be compiled against the frozen ABI 1.0 header"
#endif

/* handle() gets only the ctx. The host's functions are the same for every
 * instance, so the 1.0 part of the table is copied once (under a lock: a
 * reload runs two instances on two threads); per-instance state then hangs
 * off the ctx through user_data. */
static pthread_mutex_t abi_1_0_lock = PTHREAD_MUTEX_INITIALIZER;
static citygrid_host abi_1_0_host;

typedef struct abi_1_0_state {
    size_t host_size;
    citygrid_abi host_abi;
} abi_1_0_state;

static citygrid_host host_table(void)
{
    pthread_mutex_lock(&abi_1_0_lock);
    citygrid_host h = abi_1_0_host;
    pthread_mutex_unlock(&abi_1_0_lock);
    return h;
}

static int abi_1_0_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    /* The 1.0 rule: the table must hold at least what this header knows. */
    if (!host || host->size < sizeof(citygrid_host) || host->abi.major != CITYGRID_ABI_MAJOR)
        return CITYGRID_E_INVALID;
    abi_1_0_state *st = calloc(1, sizeof *st);
    if (!st)
        return CITYGRID_E_NOMEM;
    st->host_size = host->size;
    st->host_abi = host->abi;
    pthread_mutex_lock(&abi_1_0_lock);
    abi_1_0_host = *host; /* only the 1.0 prefix: sizeof is 1.0's */
    pthread_mutex_unlock(&abi_1_0_lock);
    host->set_user_data(ctx, st);
    host->log(ctx, CITYGRID_LOG_INFO, "abi 1.0 plugin ready on a %u.%u host",
              (unsigned)host->abi.major, (unsigned)host->abi.minor);
    return CITYGRID_OK;
}

static int abi_1_0_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    citygrid_host h = host_table();
    abi_1_0_state *st = h.user_data ? h.user_data(ctx) : NULL;
    if (!st)
        return CITYGRID_E_STATE;
    /* The case may be bigger than 1.0's: only the fields we know are read. */
    if (!c || c->struct_size < sizeof(citygrid_case) || !c->id || !*c->id)
        return CITYGRID_E_INVALID;
    char note[160];
    snprintf(note, sizeof note, "abi 1.0 plugin: host %u.%u, host table %zu bytes, mine %zu bytes",
             (unsigned)st->host_abi.major, (unsigned)st->host_abi.minor, st->host_size,
             sizeof(citygrid_host));
    int rc = h.case_accept(ctx, c->id);
    if (rc == CITYGRID_OK)
        rc = h.case_assign(ctx, c->id, "queue:abi-1-0");
    if (rc == CITYGRID_OK)
        rc = h.case_note(ctx, c->id, note);
    return rc;
}

static void abi_1_0_shutdown(citygrid_plugin_ctx *ctx)
{
    citygrid_host h = host_table();
    if (!h.user_data)
        return;
    free(h.user_data(ctx));
    h.set_user_data(ctx, NULL);
}

static const citygrid_plugin abi_1_0_plugin =
    TEST_PLUGIN_DESCRIPTOR("abi_1_0", "1.0.0", "abi-1-0-test", "ABI 1.0 测试",
                           .init = abi_1_0_init, .handle = abi_1_0_handle, .shutdown = abi_1_0_shutdown);

CITYGRID_PLUGIN_DEFINE(abi_1_0_plugin)
