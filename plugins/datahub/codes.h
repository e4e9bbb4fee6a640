/*
 * codes.h — the check characters of the two national codes the data sources
 * carry, so that the datahub plugin (and a city's own source plugin) can
 * tell a mistyped code from one that is merely not on file:
 *
 *   GB 11643-1999  citizen ID number: 17 digits (region, birth date,
 *                  sequence) and a check character 0-9 or X, from the
 *                  weights 2^(17-i) mod 11.
 *   GB 32100-2015  unified social credit code (统一社会信用代码): 17
 *                  characters of the 31-letter alphabet 0-9 A-H J-N P-R T U
 *                  W-Y and a check character from the weights 3^(i-1) mod 31.
 *
 * The generator of the synthetic sources (contrib/lishui/generate_sources.py)
 * computes the same characters; tests/unit/test_checkdigits holds the two
 * to each other. A city's own source plugin may copy this file to refuse a
 * mistyped code before it asks its registry.
 * Pure functions, any thread; no citygrid header needed.
 */
#ifndef DATAHUB_CODES_H
#define DATAHUB_CODES_H

/* The check character of an ID number's first 17 characters, or 0 when
 * they are not 17 digits. */
char dh_id_check_char(const char *first17);
/* 1 when s is an 18-character ID number with a valid check character (an
 * upper-case X only). */
int dh_id_valid(const char *s);

/* The check character of a credit code's first 17 characters, or 0 when
 * they are not 17 characters of the code's alphabet. */
char dh_uscc_check_char(const char *first17);
/* 1 when s is an 18-character credit code with a valid check character
 * (upper case only). */
int dh_uscc_valid(const char *s);

#endif
