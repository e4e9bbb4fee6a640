/*
 * open311_form.h — application/x-www-form-urlencoded bodies, as Open311
 * clients POST them (FixMyStreet, via HTTP::Request::Common). Keeps every
 * pair in order, repeated names included, so that attribute[code][] can
 * carry several values. Pure (no I/O), any thread; unit-tested.
 */
#ifndef CG_OPEN311_FORM_H
#define CG_OPEN311_FORM_H

#include <stddef.h>

typedef struct cg_form_pair {
    char *name;
    char *value;
} cg_form_pair;

typedef struct cg_form {
    size_t n;
    cg_form_pair *pairs;
} cg_form;

/* Parse data[0..len): pairs split on '&', name and value on the first '='
 * (none: an empty value), '+' is a space, %XX a byte. Refused (-1, err
 * says why): a bad %-escape, a NUL byte, text that is not UTF-8, more than
 * max_pairs pairs. 0 ok (free with cg_form_free, also after -1). */
int cg_form_parse(const char *data, size_t len, size_t max_pairs, cg_form *out, char *err,
                  size_t errlen);
void cg_form_free(cg_form *f);

/* The first value of `name`; NULL when absent. */
const char *cg_form_get(const cg_form *f, const char *name);
/* The same, but an empty value counts as absent (Open311: an empty optional
 * parameter is not sent). */
const char *cg_form_value(const cg_form *f, const char *name);

/* Number of code points of a valid UTF-8 string. */
size_t cg_utf8_chars(const char *s);

#endif
