/*
 * codes.c — GB 11643 and GB 32100 check characters (see codes.h).
 */
#include "codes.h"

#include <string.h>

#define CODE_LEN 18

static const int id_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char id_checks[] = "10X98765432";

char dh_id_check_char(const char *first17)
{
    if (!first17)
        return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        if (first17[i] < '0' || first17[i] > '9')
            return 0; /* also stops at a NUL before the 17th */
        sum += (first17[i] - '0') * id_weights[i];
    }
    return id_checks[sum % 11];
}

int dh_id_valid(const char *s)
{
    if (!s || strlen(s) != CODE_LEN)
        return 0;
    char c = dh_id_check_char(s);
    return c != 0 && c == s[17];
}

/* The alphabet leaves out I, O, S, V and Z (easily misread). */
static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int uscc_weights[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};

static int uscc_value(char c)
{
    if (c == 0)
        return -1;
    const char *p = strchr(uscc_chars, c);
    return p ? (int)(p - uscc_chars) : -1;
}

char dh_uscc_check_char(const char *first17)
{
    if (!first17)
        return 0;
    int sum = 0;
    for (int i = 0; i < 17; i++) {
        int v = uscc_value(first17[i]);
        if (v < 0)
            return 0;
        sum += v * uscc_weights[i];
    }
    return uscc_chars[(31 - sum % 31) % 31];
}

int dh_uscc_valid(const char *s)
{
    if (!s || strlen(s) != CODE_LEN)
        return 0;
    char c = dh_uscc_check_char(s);
    return c != 0 && c == s[17];
}
