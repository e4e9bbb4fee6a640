/*
 * no_entry.c — a broken test plugin: it answers the ABI question but exports
 * no citygrid_plugin_describe, so the loader must refuse it (and dlclose).
 */
#include <citygrid/plugin.h>

CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered);
CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered)
{
    (void)n_offered;
    (void)offered;
    citygrid_abi mine = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR};
    return mine;
}
