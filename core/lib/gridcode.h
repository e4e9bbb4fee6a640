/*
 * gridcode.h — grid codes in the CJ/T 213 layout, 14 ASCII digits:
 *
 *   331102 001 003 02
 *   county subdistrict community-or-village grid-number
 *
 * (6-digit county code, 3-digit subdistrict, 3-digit community/village,
 * 2-digit grid number). The 9- and 12-digit prefixes are the subdistrict's and
 * the community's own codes. Pure functions: no allocation, no global state,
 * safe from any thread.
 */
#ifndef CG_GRIDCODE_H
#define CG_GRIDCODE_H

#include <stddef.h>

#define CG_GRIDCODE_LEN 14

typedef struct cg_gridcode_parts {
    char county[7];          /* "331102" */
    char subdistrict[4];     /* "001" */
    char community[4];       /* "003" */
    char grid[3];            /* "02" */
    char subdistrict_code[10]; /* "331102001": county + subdistrict */
    char community_code[13];   /* "331102001003": county + subdistrict + community */
    int grid_no;             /* 2 */
} cg_gridcode_parts;

/* Is `code` a valid grid code? Rules: exactly 14 ASCII digits; the county
 * part is one of `counties` (a NULL-terminated list; NULL or an empty list
 * accepts any county other than "000000"); subdistrict and community are not
 * "000"; the grid number is 01-99. Returns 0 if valid; -1 otherwise, with a
 * sentence for people in `reason` (if reason is not NULL). */
int cg_gridcode_validate(const char *code, const char *const *counties, char *reason,
                         size_t reasonlen);

/* Split a code that is 14 ASCII digits into its parts (no other checks:
 * call cg_gridcode_validate first). 0 ok, -1 if not 14 digits. */
int cg_gridcode_split(const char *code, cg_gridcode_parts *out);

#endif
