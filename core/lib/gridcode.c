/*
 * gridcode.c — validate and split CJ/T 213 grid codes (see gridcode.h).
 */
#include "lib/gridcode.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *reason, size_t len, const char *fmt, ...)
{
    if (reason && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_14_digits(const char *code)
{
    return strlen(code) == CG_GRIDCODE_LEN && all_digits(code, CG_GRIDCODE_LEN);
}

int cg_gridcode_split(const char *code, cg_gridcode_parts *out)
{
    if (!code || !out || !is_14_digits(code))
        return -1;
    memcpy(out->county, code, 6);
    out->county[6] = '\0';
    memcpy(out->subdistrict, code + 6, 3);
    out->subdistrict[3] = '\0';
    memcpy(out->community, code + 9, 3);
    out->community[3] = '\0';
    memcpy(out->grid, code + 12, 2);
    out->grid[2] = '\0';
    memcpy(out->subdistrict_code, code, 9);
    out->subdistrict_code[9] = '\0';
    memcpy(out->community_code, code, 12);
    out->community_code[12] = '\0';
    out->grid_no = (code[12] - '0') * 10 + (code[13] - '0');
    return 0;
}

int cg_gridcode_validate(const char *code, const char *const *counties, char *reason,
                         size_t reasonlen)
{
    if (!code)
        return fail(reason, reasonlen, "grid code is missing");
    size_t len = strlen(code);
    if (len != CG_GRIDCODE_LEN)
        return fail(reason, reasonlen,
                    "grid code '%.40s' is %zu bytes long, expected %d ASCII digits", code, len,
                    CG_GRIDCODE_LEN);
    if (!all_digits(code, len))
        return fail(reason, reasonlen, "grid code '%s' must be digits only", code);

    cg_gridcode_parts p;
    cg_gridcode_split(code, &p);
    if (counties && counties[0]) {
        int known = 0;
        for (size_t i = 0; counties[i] && !known; i++)
            known = strcmp(counties[i], p.county) == 0;
        if (!known)
            return fail(reason, reasonlen,
                        "grid code '%s': county %s is not one of the allowed counties", code,
                        p.county);
    } else if (strcmp(p.county, "000000") == 0) {
        return fail(reason, reasonlen, "grid code '%s': county 000000 is not a county", code);
    }
    if (strcmp(p.subdistrict, "000") == 0)
        return fail(reason, reasonlen, "grid code '%s': subdistrict part 000 is not allowed", code);
    if (strcmp(p.community, "000") == 0)
        return fail(reason, reasonlen, "grid code '%s': community/village part 000 is not allowed",
                    code);
    if (p.grid_no == 0)
        return fail(reason, reasonlen, "grid code '%s': grid number must be 01-99, not 00", code);
    return 0;
}
