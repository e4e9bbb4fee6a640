/*
 * abi_newer_minor.c — a test plugin built against a newer minor ABI than
 * this core (1.(CITYGRID_ABI_MINOR+1)): it might call host functions this
 * core lacks, so the loader must refuse it. Otherwise well-formed.
 */
#include <citygrid/plugin.h>

#include "test_descriptor.h"

static int abi_newer_minor_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    (void)ctx;
    (void)c;
    return CITYGRID_OK;
}

static const citygrid_plugin abi_newer_minor_plugin =
    TEST_PLUGIN_DESCRIPTOR("abi_newer_minor", "1.1.0", "abi-test", "ABI 测试",
                           .handle = abi_newer_minor_handle);

CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered);
CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered)
{
    (void)n_offered;
    (void)offered;
    citygrid_abi mine = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR + 1};
    return mine;
}

CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void);
CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void)
{
    return &abi_newer_minor_plugin;
}
