/*
 * init_fails.c — a test plugin that loads fine but whose init() refuses to
 * start (CITYGRID_E_INVALID, as for a bad setting). The core must report it
 * and keep running without it.
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

static int init_fails_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    host->log(ctx, CITYGRID_LOG_ERROR, "init_fails: refusing to start (as designed)");
    return CITYGRID_E_INVALID;
}

static int init_fails_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    (void)ctx;
    (void)c;
    return CITYGRID_E_STATE; /* never reached: init() failed */
}

static const citygrid_plugin init_fails_plugin =
    TEST_PLUGIN_DESCRIPTOR("init_fails", "1.0.0", "init-test", "初始化失败测试",
                           .init = init_fails_init, .handle = init_fails_handle);

CITYGRID_PLUGIN_DEFINE(init_fails_plugin)
