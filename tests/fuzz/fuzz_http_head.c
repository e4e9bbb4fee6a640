/*
 * fuzz_http_head.c — fuzz target for the connection gate's request-head
 * reader (cg_http_head_parse, core/http/http_head.h). Input: the head's
 * bytes (the gate hands the parser everything up to and including the first
 * CRLF CRLF; here any bytes). Checks what the header promises: on success
 * the method and target lie inside the input, the target starts with '/',
 * the Content-Length is the one decimal given; a problem maps to a 4xx/5xx.
 */
#include <string.h>

#include "http/http_head.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    cg_http_head h;
    cg_head_problem p = cg_http_head_parse(text, size, &h);
    if (p == CG_HEAD_OK) {
        FUZZ_REQUIRE(h.method >= text && h.method + h.method_len <= text + size);
        FUZZ_REQUIRE(h.target >= text && h.target + h.target_len <= text + size);
        FUZZ_REQUIRE(h.method_len > 0 && h.target_len > 0 && h.target[0] == '/');
        FUZZ_REQUIRE(h.content_length >= -1);
        FUZZ_REQUIRE(size >= 4 && memcmp(text + size - 4, "\r\n\r\n", 4) == 0);
        FUZZ_REQUIRE(memchr(text, '\0', size) == NULL);
        if (h.authorization)
            FUZZ_REQUIRE(h.authorization >= text &&
                         h.authorization + h.authorization_len <= text + size);
    } else {
        int status = cg_head_problem_status(p);
        FUZZ_REQUIRE(status >= 400 && status < 600);
        FUZZ_REQUIRE(cg_head_problem_code(p)[0] != '\0');
    }
    return 0;
}
