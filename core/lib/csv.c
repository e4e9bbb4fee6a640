/*
 * csv.c — see csv.h. A single pass over the buffer with a small state
 * machine; fields are copied out as they end.
 */
#include "lib/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/errbuf.h"

#define CSV_MAX_BYTES (64u << 20) /* a roster of a whole province fits */

int cg_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        p += n + 1;
    }
    return 1;
}

typedef struct builder {
    cg_csv *csv;
    cg_csv_row row;       /* the record being read */
    size_t row_cap;
    char *field;
    size_t flen, fcap;
} builder;

static int field_push(builder *b, char c)
{
    if (b->flen + 1 >= b->fcap) {
        size_t ncap = b->fcap ? b->fcap * 2 : 64;
        char *nf = realloc(b->field, ncap);
        if (!nf)
            return -1;
        b->field = nf;
        b->fcap = ncap;
    }
    b->field[b->flen++] = c;
    return 0;
}

static int field_end(builder *b)
{
    if (b->row.n == b->row_cap) {
        size_t ncap = b->row_cap ? b->row_cap * 2 : 8;
        char **nf = realloc(b->row.f, ncap * sizeof *nf);
        if (!nf)
            return -1;
        b->row.f = nf;
        b->row_cap = ncap;
    }
    char *copy = malloc(b->flen + 1);
    if (!copy)
        return -1;
    memcpy(copy, b->field ? b->field : "", b->flen);
    copy[b->flen] = 0;
    b->row.f[b->row.n++] = copy;
    b->flen = 0;
    return 0;
}

static void row_free(cg_csv_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    memset(r, 0, sizeof *r);
}

/* Keep the record unless it is a blank line. */
static int row_end(builder *b, char *err, size_t errlen)
{
    if (field_end(b) < 0)
        return -1;
    if (b->row.n == 1 && b->row.f[0][0] == 0) {
        row_free(&b->row);
        b->row_cap = 0;
        return 0;
    }
    cg_csv *c = b->csv;
    if (c->n > 0 && b->row.n != c->rows[0].n) {
        cg_set_err(err, errlen, "line %zu: %zu fields, the header has %zu", b->row.line, b->row.n,
                c->rows[0].n);
        return -2;
    }
    cg_csv_row *nr = realloc(c->rows, (c->n + 1) * sizeof *nr);
    if (!nr)
        return -1;
    c->rows = nr;
    c->rows[c->n++] = b->row;
    memset(&b->row, 0, sizeof b->row);
    b->row_cap = 0;
    return 0;
}

/* Outside quotes a ',' ends the field and a '\n' the record (the next one
 * starts on the next line). 1 when c was such a separator, *rc set; else 0. */
static int separator(builder *b, char c, size_t *line, int *rc, char *err, size_t errlen)
{
    if (c == ',') {
        *rc = field_end(b);
    } else if (c == '\n') {
        *rc = row_end(b, err, errlen);
        b->row.line = ++*line;
    } else {
        return 0;
    }
    return 1;
}

int cg_csv_parse(const char *data, size_t len, cg_csv *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        data += 3, len -= 3;
    if (memchr(data, 0, len)) {
        cg_set_err(err, errlen, "contains a NUL byte (not a UTF-8 text file)");
        return -1;
    }
    if (!cg_utf8_valid(data, len)) {
        /* Find the line for the message. */
        size_t line = 1, start = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i == len || data[i] == '\n') {
                if (!cg_utf8_valid(data + start, i - start))
                    break;
                line++;
                start = i + 1;
            }
        }
        cg_set_err(err, errlen, "line %zu: not valid UTF-8 (save the file as UTF-8, not GBK)", line);
        return -1;
    }
    builder b = {.csv = out};
    enum { START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED } state = START;
    size_t line = 1;
    int rc = 0;
    b.row.line = 1;
    for (size_t i = 0; i < len && rc == 0; i++) {
        char c = data[i];
        if (c == '\r' && state != QUOTED) {
            if (i + 1 < len && data[i + 1] == '\n')
                continue; /* CRLF: the LF ends the record */
            cg_set_err(err, errlen, "line %zu: a carriage return without a line feed", line);
            rc = -2;
            break;
        }
        switch (state) {
        case START:
        case UNQUOTED:
            if (c == '"' && state == START) {
                state = QUOTED;
            } else if (c == '"') {
                cg_set_err(err, errlen, "line %zu: a quote inside an unquoted field", line);
                rc = -2;
            } else if (separator(&b, c, &line, &rc, err, errlen)) {
                state = START;
            } else {
                rc = field_push(&b, c);
                state = UNQUOTED;
            }
            break;
        case QUOTED:
            if (c == '"')
                state = QUOTE_IN_QUOTED;
            else {
                if (c == '\n')
                    line++;
                rc = field_push(&b, c);
            }
            break;
        case QUOTE_IN_QUOTED:
            if (c == '"') {
                rc = field_push(&b, '"');
                state = QUOTED;
            } else if (separator(&b, c, &line, &rc, err, errlen)) {
                state = START;
            } else {
                cg_set_err(err, errlen, "line %zu: text after the closing quote of a field", line);
                rc = -2;
            }
            break;
        }
    }
    if (rc == 0 && state == QUOTED) {
        cg_set_err(err, errlen, "line %zu: a quoted field is not closed", b.row.line);
        rc = -2;
    }
    if (rc == 0 && (state != START || b.row.n > 0))
        rc = row_end(&b, err, errlen);
    row_free(&b.row);
    free(b.field);
    if (rc == 0 && out->n == 0) {
        cg_set_err(err, errlen, "line 1: no header");
        rc = -2;
    }
    if (rc != 0) {
        if (rc == -1)
            cg_set_err(err, errlen, "out of memory");
        cg_csv_free(out);
        return -1;
    }
    return 0;
}

int cg_csv_load(const char *path, cg_csv *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cg_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 65536 > cap) {
            cap = cap ? cap * 2 : 262144;
            char *nb = cap <= CSV_MAX_BYTES * 2u ? realloc(buf, cap) : NULL;
            if (!nb) {
                cg_set_err(err, errlen, "%s: too large or out of memory", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f) || len > CSV_MAX_BYTES;
    fclose(f);
    if (bad) {
        cg_set_err(err, errlen, "%s: cannot read it (or larger than %u bytes)", path, CSV_MAX_BYTES);
        free(buf);
        return -1;
    }
    char why[512];
    int rc = cg_csv_parse(buf, len, out, why, sizeof why);
    free(buf);
    if (rc < 0)
        cg_set_err(err, errlen, "%s: %s", path, why);
    return rc;
}

void cg_csv_free(cg_csv *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        row_free(&c->rows[i]);
    free(c->rows);
    memset(c, 0, sizeof *c);
}

int cg_csv_column(const cg_csv *c, const char *name)
{
    if (!c || c->n == 0)
        return -1;
    for (size_t i = 0; i < c->rows[0].n; i++)
        if (strcmp(c->rows[0].f[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- writing ------------------------------------------------------------ */

int cg_csv_is_formula(const char *s)
{
    return s && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                 s[0] == '\r');
}

char *cg_csv_cell(const char *s)
{
    if (!s)
        s = "";
    int formula = cg_csv_is_formula(s);
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    size_t n = 3; /* two quotes and the NUL */
    for (const char *q = s; *q; q++)
        n += *q == '"' ? 2 : 1;
    n += formula; /* the apostrophe */
    char *out = malloc(n);
    if (!out)
        return NULL;
    char *w = out;
    if (quote)
        *w++ = '"';
    if (formula)
        *w++ = '\'';
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            *w++ = '"'; /* a quote is doubled */
        *w++ = *q;
    }
    if (quote)
        *w++ = '"';
    *w = 0;
    return out;
}
