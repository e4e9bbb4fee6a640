/*
 * mask.c — masking by sensitivity class (mask.h).
 */
#include "sources/mask.h"

#include <stdlib.h>
#include <string.h>

/* Length in bytes of the UTF-8 sequence that starts with byte c (1 for a
 * stray continuation byte, so every byte is counted once). */
static size_t seq_len(unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static size_t n_chars(const char *s)
{
    size_t n = 0;
    for (size_t i = 0; s[i]; n++) {
        size_t l = seq_len((unsigned char)s[i]);
        for (size_t k = 0; k < l && s[i]; k++)
            i++;
    }
    return n;
}

/* Keep the first `head` and last `tail` characters, '*' for the rest. When
 * the value is too short to hide anything that way, hide all but the first
 * character (or everything for one character). */
static char *keep_ends(const char *value, size_t head, size_t tail)
{
    size_t n = n_chars(value);
    if (head + tail >= n) {
        head = n > 1 ? 1 : 0;
        tail = 0;
    }
    char *out = malloc(strlen(value) + 1);
    if (!out)
        return NULL;
    size_t o = 0, ci = 0;
    for (size_t i = 0; value[i]; ci++) {
        size_t l = seq_len((unsigned char)value[i]);
        int keep = ci < head || ci >= n - tail;
        for (size_t k = 0; k < l && value[i]; k++, i++)
            if (keep)
                out[o++] = value[i];
        if (!keep)
            out[o++] = '*';
    }
    out[o] = '\0';
    return out;
}

int cg_mask_is_public(const char *klass)
{
    return klass && strcmp(klass, "public") == 0;
}

char *cg_mask_value(const char *klass, const char *value)
{
    if (!value)
        return NULL;
    if (cg_mask_is_public(klass))
        return strdup(value);
    if (!klass)
        klass = "";
    if (strcmp(klass, "id_number") == 0)
        return keep_ends(value, 4, 4);
    if (strcmp(klass, "phone") == 0)
        return keep_ends(value, 3, 4);
    if (strcmp(klass, "name") == 0)
        return keep_ends(value, 1, 0);
    if (strcmp(klass, "plate") == 0)
        return keep_ends(value, 2, 2);
    if (strcmp(klass, "address") == 0) {
        size_t half = n_chars(value) / 2;
        return keep_ends(value, half < 6 ? half : 6, 0);
    }
    return keep_ends(value, 0, 0);
}
