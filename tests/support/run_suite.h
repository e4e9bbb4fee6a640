/*
 * run_suite.h — a Check suite as a test program's whole main(): runs every
 * test (each forked, with CK_DEFAULT_TIMEOUT from the test environment),
 * frees the runner, and gives automake's driver the verdict as exit status.
 * Header-only, so test programs that link nothing else of tests/support can
 * use it too.
 */
#ifndef CITYGRID_RUN_SUITE_H
#define CITYGRID_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>

static inline int tu_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
