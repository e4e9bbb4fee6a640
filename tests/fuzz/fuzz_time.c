/*
 * fuzz_time.c — fuzz target for ISO 8601 parsing (cg_time_parse_iso).
 * Input: the text (made NUL-terminated; an embedded NUL ends it early). A time
 * that parses must survive a round trip through cg_time_iso.
 */
#include <string.h>

#include "fuzz.h"
#include "lib/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t ms = 0;
    if (cg_time_parse_iso(text, &ms) == 0) {
        char iso[64];
        int64_t again = -1;
        cg_time_iso(ms, iso, sizeof iso);
        /* Years 0000-9999 print in four digits; others need not round-trip. */
        if (ms >= -62135596800000LL && ms < 253402300800000LL - 86400000LL) {
            FUZZ_REQUIRE(cg_time_parse_iso(iso, &again) == 0);
            FUZZ_REQUIRE(again == ms);
        }
    }
    free(text);
    return 0;
}
