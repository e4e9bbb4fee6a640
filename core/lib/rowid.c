/* rowid.c — see rowid.h. */
#include <stdio.h>
#include <string.h>
#include "lib/rowid.h"

void cg_row_id_format(const char *prefix, long long id, char *buf, size_t len)
{
    snprintf(buf, len, "%s%08lld", prefix, id);
}

long long cg_row_id_parse(const char *prefix, const char *text)
{
    size_t p = strlen(prefix);
    if (!text || strncmp(text, prefix, p) != 0)
        return 0;
    const char *d = text + p;
    size_t n = strlen(d);
    if (n == 0 || n > 18)
        return 0;
    long long v = 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return 0;
        v = v * 10 + (*d - '0');
    }
    return v;
}
