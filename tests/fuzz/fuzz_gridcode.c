/*
 * fuzz_gridcode.c — fuzz target for the grid-code validator
 * (cg_gridcode_validate, cg_gridcode_split). Input: the code text (made
 * NUL-terminated), checked against no county list and against Lishui's.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/gridcode.h"

static const char *const lishui[] = {"331102", "331121", "331122", "331123", "331124",
                                     "331125", "331126", "331127", "331181", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *code = malloc(size + 1);
    if (!code)
        return 0;
    memcpy(code, data, size);
    code[size] = '\0';
    char reason[256];
    for (int list = 0; list < 2; list++) {
        reason[0] = '\0';
        if (cg_gridcode_validate(code, list ? lishui : NULL, reason, sizeof reason) == 0) {
            cg_gridcode_parts p;
            FUZZ_REQUIRE(strlen(code) == CG_GRIDCODE_LEN);
            FUZZ_REQUIRE(cg_gridcode_split(code, &p) == 0);
            FUZZ_REQUIRE(p.grid_no >= 1 && p.grid_no <= 99);
            FUZZ_REQUIRE(strncmp(p.community_code, code, 12) == 0);
        } else {
            FUZZ_REQUIRE(reason[0] != '\0');
        }
        FUZZ_REQUIRE(cg_gridcode_validate(code, NULL, NULL, 0) <= 0);
    }
    cg_gridcode_parts any;
    (void)cg_gridcode_split(code, &any);
    free(code);
    return 0;
}
