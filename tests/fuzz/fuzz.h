/*
 * fuzz.h — what every fuzz target (tests/fuzz/fuzz_*.c) shares: the libFuzzer
 * entry point it exports and a contract check that aborts loudly, so that a
 * broken promise of a parser counts as a crash under libFuzzer and replay.c.
 */
#ifndef CG_FUZZ_H
#define CG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parser broke its documented contract: stop here with a message. */
#define FUZZ_REQUIRE(cond)                                                          \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                         \
            abort();                                                                \
        }                                                                           \
    } while (0)

#endif
