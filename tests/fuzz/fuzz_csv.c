/*
 * fuzz_csv.c — fuzz target for the dataset CSV reader (cg_csv_parse).
 * Input: the file's bytes. Checks what csv.h promises of a success (valid
 * UTF-8 fields, every record as wide as the header) and of a refusal (an
 * error text, nothing to free).
 */
#include <string.h>

#include "lib/csv.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cg_csv c;
    memset(&c, 0, sizeof c);
    char err[256] = "";
    if (cg_csv_parse((const char *)data, size, &c, err, sizeof err) == 0) {
        for (size_t r = 0; r < c.n; r++) {
            FUZZ_REQUIRE(c.rows[r].n == c.rows[0].n);
            for (size_t i = 0; i < c.rows[r].n; i++)
                FUZZ_REQUIRE(cg_utf8_valid(c.rows[r].f[i], strlen(c.rows[r].f[i])));
        }
        if (c.n > 0 && c.rows[0].n > 0)
            FUZZ_REQUIRE(cg_csv_column(&c, c.rows[0].f[0]) == 0);
        cg_csv_free(&c);
    } else {
        FUZZ_REQUIRE(err[0] != '\0');
        FUZZ_REQUIRE(c.n == 0);
        cg_csv_free(&c); /* "*out empty": freeing it must be harmless */
    }
    return 0;
}
