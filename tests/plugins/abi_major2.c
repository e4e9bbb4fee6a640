/*
 * abi_major2.c — a test plugin built for a future ABI 2.0. Its descriptor is
 * otherwise fine, so the only reason the loader may give is the major
 * version ("plugin ABI 2.0, core 1.x").
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

static int abi_major2_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    (void)ctx;
    (void)c;
    return CITYGRID_OK;
}

static const citygrid_plugin abi_major2_plugin =
    TEST_PLUGIN_DESCRIPTOR("abi_major2", "2.0.0", "abi-test", "ABI 测试",
                           .handle = abi_major2_handle);

CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered);
CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered)
{
    (void)n_offered;
    (void)offered;
    citygrid_abi mine = {2, 0};
    return mine;
}

CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void);
CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void)
{
    return &abi_major2_plugin;
}
