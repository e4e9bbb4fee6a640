/*
 * test_descriptor.h — the descriptor of a test plugin: its name, version, a
 * department of its own (code and Chinese name), no categories (the tests
 * route cases to it through the config), and the callbacks it has, given as
 * designated initialisers:
 *
 *   static const citygrid_plugin crash_plugin =
 *       TEST_PLUGIN_DESCRIPTOR("crash", "1.0.0", "crash-test", "崩溃测试",
 *                              .init = crash_init, .handle = crash_handle);
 *
 * Names only fields of ABI 1.0 itself, so plugins built against the frozen
 * 1.0 and 1.2 headers use it too.
 */
#ifndef CITYGRID_TEST_DESCRIPTOR_H
#define CITYGRID_TEST_DESCRIPTOR_H

static const char *const test_plugin_no_categories[] = {NULL};

#define TEST_PLUGIN_DESCRIPTOR(plugin_name, plugin_version, dept_code, dept_name_zh, ...) \
    {                                                                               \
        .struct_size = sizeof(citygrid_plugin), .name = (plugin_name),              \
        .version = (plugin_version), .department = (dept_code),                     \
        .department_zh = (dept_name_zh), .categories = test_plugin_no_categories,    \
        __VA_ARGS__                                                                 \
    }

#endif
