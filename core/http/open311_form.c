/*
 * open311_form.c — form-urlencoded bodies (open311_form.h).
 */
#include "http/open311_form.h"

#include "lib/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t cg_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..n) into a new string; NULL on a bad escape or a NUL. */
static char *decode(const char *s, size_t n, const char **why)
{
    char *out = malloc(n + 1), *o = out;
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = -1;
            if (i + 2 < n) {
                hi = hexval(s[i + 1]);
                int lo = hexval(s[i + 2]);
                hi = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
            }
            if (hi < 0) {
                *why = "a '%' escape is not followed by two hex digits";
                free(out);
                return NULL;
            }
            c = (char)hi;
            i += 2;
        }
        if (c == '\0') {
            *why = "a field contains a NUL byte";
            free(out);
            return NULL;
        }
        *o++ = c;
    }
    *o = '\0';
    if (!cg_utf8_valid(out, (size_t)(o - out))) {
        *why = "a field is not UTF-8 text";
        free(out);
        return NULL;
    }
    return out;
}

void cg_form_free(cg_form *f)
{
    for (size_t i = 0; f && i < f->n; i++) {
        free(f->pairs[i].name);
        free(f->pairs[i].value);
    }
    if (f) {
        free(f->pairs);
        f->pairs = NULL;
        f->n = 0;
    }
}

int cg_form_parse(const char *data, size_t len, size_t max_pairs, cg_form *out, char *err,
                  size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if (stop > p) {
            if (out->n >= max_pairs) {
                snprintf(err, errlen, "more than %zu fields", max_pairs);
                return -1;
            }
            const char *eq = memchr(p, '=', (size_t)(stop - p));
            const char *why = NULL;
            char *name = decode(p, (size_t)((eq ? eq : stop) - p), &why);
            char *value = name ? (eq ? decode(eq + 1, (size_t)(stop - eq - 1), &why) : strdup("")) : NULL;
            if (!name || !value) {
                snprintf(err, errlen, "%s", why ? why : "out of memory");
                free(name);
                free(value);
                return -1;
            }
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                cg_form_pair *np = realloc(out->pairs, ncap * sizeof *np);
                if (!np) {
                    snprintf(err, errlen, "out of memory");
                    free(name);
                    free(value);
                    return -1;
                }
                out->pairs = np;
                cap = ncap;
            }
            out->pairs[out->n].name = name;
            out->pairs[out->n].value = value;
            out->n++;
        }
        p = stop + 1;
    }
    return 0;
}

const char *cg_form_get(const cg_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->pairs[i].name, name))
            return f->pairs[i].value;
    return NULL;
}

const char *cg_form_value(const cg_form *f, const char *name)
{
    const char *v = cg_form_get(f, name);
    return v && *v ? v : NULL;
}
