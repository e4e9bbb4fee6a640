/*
 * crash.c — a test plugin (name "crash", department "crash-test") for crash
 * isolation: handle() SEGFAULTS when the case's description contains
 * "poison", and otherwise accepts the case with a note naming its dispatch
 * id, attempt and the host's pid (so tests can see which process took it).
 * Only ever run in process mode: it takes down whatever hosts it.
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const citygrid_host *host;

static int crash_init(citygrid_plugin_ctx *ctx, const citygrid_host *h)
{
    if (!h || h->size < sizeof(citygrid_host))
        return CITYGRID_E_INVALID;
    host = h;
    h->log(ctx, CITYGRID_LOG_INFO, "crash plugin ready in pid %ld", (long)getpid());
    return CITYGRID_OK;
}

static int crash_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    if (c->description && strstr(c->description, "poison")) {
        host->log(ctx, CITYGRID_LOG_WARNING, "%s is poison: crashing (attempt %u)", c->id,
                  c->attempt);
        volatile int *nowhere = NULL;
        *nowhere = 42;     /* a real segfault */
        raise(SIGSEGV);    /* in case the store above was optimised away */
    }
    int rc = host->case_accept(ctx, c->id);
    if (rc == CITYGRID_OK) {
        char text[160];
        snprintf(text, sizeof text, "crash accepted %s (dispatch %s, attempt %u, pid %ld)", c->id,
                 c->dispatch_id ? c->dispatch_id : "", c->attempt, (long)getpid());
        rc = host->case_note(ctx, c->id, text);
    }
    return rc;
}

static const citygrid_plugin crash_plugin =
    TEST_PLUGIN_DESCRIPTOR("crash", "1.0.0", "crash-test", "崩溃测试",
                           .init = crash_init, .handle = crash_handle);

CITYGRID_PLUGIN_DEFINE(crash_plugin)
