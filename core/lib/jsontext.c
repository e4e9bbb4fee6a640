/*
 * jsontext.c — see jsontext.h.
 */
#include "lib/jsontext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 2048

typedef cg_jbuf out;

static int reserve(out *o, size_t more)
{
    if (o->failed)
        return -1;
    if (o->n + more < o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 512;
    while (o->n + more >= cap)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
        o->failed = 1;
        return -1;
    }
    o->p = p;
    o->cap = cap;
    return 0;
}

static void put(out *o, const char *s, size_t len)
{
    if (reserve(o, len) == 0) {
        memcpy(o->p + o->n, s, len);
        o->n += len;
    }
}

static void putc1(out *o, char c)
{
    if (reserve(o, 1) == 0)
        o->p[o->n++] = c;
}

static void put_string(out *o, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    putc1(o, '"');
    size_t run = 0; /* bytes of s[..i) not yet written */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(o, esc, n);
    }
    put(o, s + run, len - run);
    putc1(o, '"');
}

/* jansson's jsonp_dtostr(), in the C locale the daemon runs in. */
static void put_real(out *o, double v, int precision)
{
    char buf[64];
    if (!isfinite(v)) {
        o->failed = 1;
        return;
    }
    int len = snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (len < 0 || (size_t)len >= sizeof buf - 3) {
        o->failed = 1;
        return;
    }
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        buf[len++] = '.';
        buf[len++] = '0';
        buf[len] = 0;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)len - (size_t)(end - buf) + 1);
            len -= (int)(end - start);
        }
    }
    put(o, buf, (size_t)len);
}

static void put_value(out *o, const json_t *v, int precision, int depth)
{
    char num[32];
    if (depth > MAX_DEPTH) {
        o->failed = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL: put(o, "null", 4); break;
    case JSON_TRUE: put(o, "true", 4); break;
    case JSON_FALSE: put(o, "false", 5); break;
    case JSON_INTEGER: {
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        put(o, num, (size_t)n);
        break;
    }
    case JSON_REAL: put_real(o, json_real_value(v), precision); break;
    case JSON_STRING: put_string(o, json_string_value(v), json_string_length(v)); break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        putc1(o, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                putc1(o, ',');
            put_value(o, json_array_get(v, i), precision, depth + 1);
        }
        putc1(o, ']');
        break;
    }
    case JSON_OBJECT: {
        putc1(o, '{');
        int first = 1;
        /* json_object_iter walks the keys in insertion order, as json_dumps. */
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                putc1(o, ',');
            first = 0;
            const char *key = json_object_iter_key(it);
            put_string(o, key, json_object_iter_key_len(it));
            putc1(o, ':');
            put_value(o, json_object_iter_value(it), precision, depth + 1);
        }
        putc1(o, '}');
        break;
    }
    default: o->failed = 1; break;
    }
}

char *cg_json_dumps(const json_t *v, size_t flags)
{
    size_t handled = JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(31);
    if (!v || !(flags & JSON_COMPACT) || (flags & ~handled))
        return json_dumps(v, flags);
    if (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v))
        return NULL;
    int precision = (int)((flags >> 11) & 0x1F);
    out o = {0};
    put_value(&o, v, precision ? precision : 17, 0);
    putc1(&o, 0);
    if (o.failed) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

/* ---------------------------------------------------------------- cg_jbuf */

void cg_jbuf_raw(cg_jbuf *b, const char *text) { put(b, text, strlen(text)); }

void cg_jbuf_string(cg_jbuf *b, const char *s)
{
    if (!s)
        b->failed = 1;
    else
        put_string(b, s, strlen(s));
}

void cg_jbuf_int(cg_jbuf *b, int64_t v)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%" PRId64, v);
    put(b, num, (size_t)n);
}

void cg_jbuf_real(cg_jbuf *b, double v) { put_real(b, v, 17); }

void cg_jbuf_bool(cg_jbuf *b, int v) { put(b, v ? "true" : "false", v ? 4 : 5); }

void cg_jbuf_value(cg_jbuf *b, const json_t *v)
{
    if (!v)
        b->failed = 1;
    else
        put_value(b, v, 17, 0);
}

char *cg_jbuf_finish(cg_jbuf *b)
{
    putc1(b, 0);
    if (b->failed) {
        free(b->p);
        b->p = NULL;
        return NULL;
    }
    char *text = b->p;
    b->p = NULL;
    return text;
}

void cg_jbuf_discard(cg_jbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
