/*
 * fuzz_protocol.c — fuzz target for the CGBP/1 frame decoder (cg_msg_decode).
 *
 * Input layout: the first three '\n' bytes split the input into up to four
 * frames (header, command, id, body); everything after the third '\n' is the
 * body, newlines included. So "CGBP/1\nRESULT\nD00000001\n{}" is a valid
 * RESULT. Each frame is copied into its own exact-size buffer (no NUL), as
 * zmq hands them over, so that ASan catches any read past a frame.
 */
#include <string.h>

#include "fuzz.h"
#include "wire/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *frames[4] = {0};
    size_t lens[4] = {0};
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size && n < 4; i++) {
        if (i == size || (data[i] == '\n' && n < 3)) {
            lens[n] = i - start;
            frames[n] = malloc(lens[n] ? lens[n] : 1);
            if (!frames[n])
                goto out;
            if (lens[n])
                memcpy(frames[n], data + start, lens[n]);
            n++;
            start = i + 1;
        }
    }
    cg_msg m;
    memset(&m, 0, sizeof m);
    const char *why = NULL;
    if (cg_msg_decode((const void *const *)frames, lens, n, &m, &why) == 0) {
        FUZZ_REQUIRE(m.type != CG_MSG_INVALID);
        FUZZ_REQUIRE(m.body != NULL && strlen(m.body) <= m.body_len);
        FUZZ_REQUIRE(memchr(m.id, '\0', sizeof m.id) != NULL);
        FUZZ_REQUIRE(cg_msg_type_name(m.type) != NULL);
    } else {
        FUZZ_REQUIRE(why != NULL);
    }
    cg_msg_clear(&m);
out:
    for (size_t i = 0; i < 4; i++)
        free(frames[i]);
    return 0;
}
