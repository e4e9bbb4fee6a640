/*
 * http_head.c — see http_head.h. One pass, line by line; every line must end
 * in CRLF, and the head must end with an empty line.
 */
#include "http/http_head.h"

#include <string.h>
#include <strings.h>

#define METHOD_MAX 16
#define LENGTH_DIGITS_MAX 18 /* fits int64_t */

static int is_tchar(unsigned char c)
{
    /* RFC 9110 token: ALPHA DIGIT and !#$%&'*+-.^_`|~ */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (the CR of its CRLF), or NULL when the
 * line holds a bare CR, a bare LF or a NUL, or runs past end. */
static const char *line_end(const char *p, const char *end)
{
    for (const char *q = p; q < end; q++) {
        if (*q == '\r')
            return q + 1 < end && q[1] == '\n' ? q : NULL;
        if (*q == '\n' || *q == '\0')
            return NULL;
    }
    return NULL;
}

static int name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

static cg_head_problem request_line(const char *p, const char *eol, cg_http_head *out)
{
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p || sp1 - p > METHOD_MAX)
        return CG_HEAD_MALFORMED;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return CG_HEAD_MALFORMED;
    const char *t = sp1 + 1;
    const char *sp2 = memchr(t, ' ', (size_t)(eol - t));
    if (!sp2 || sp2 == t || *t != '/')
        return CG_HEAD_MALFORMED;
    for (const char *q = t; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7F)
            return CG_HEAD_MALFORMED;
    const char *v = sp2 + 1;
    size_t vl = (size_t)(eol - v);
    if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9')
        return CG_HEAD_MALFORMED;
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
        return CG_HEAD_VERSION;
    out->method = p;
    out->method_len = (size_t)(sp1 - p);
    out->target = t;
    out->target_len = (size_t)(sp2 - t);
    return CG_HEAD_OK;
}

static cg_head_problem content_length(const char *v, size_t vl, cg_http_head *out)
{
    if (out->content_length >= 0)
        return CG_HEAD_DUPLICATE_LENGTH;
    if (vl == 0 || vl > LENGTH_DIGITS_MAX)
        return CG_HEAD_BAD_LENGTH;
    int64_t n = 0;
    for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9')
            return CG_HEAD_BAD_LENGTH;
        n = n * 10 + (v[i] - '0');
    }
    out->content_length = n;
    return CG_HEAD_OK;
}

cg_head_problem cg_http_head_parse(const char *head, size_t len, cg_http_head *out)
{
    memset(out, 0, sizeof *out);
    out->content_length = -1;
    const char *p = head, *end = head + len;
    const char *eol = line_end(p, end);
    if (!eol)
        return CG_HEAD_MALFORMED;
    cg_head_problem rc = request_line(p, eol, out);
    if (rc != CG_HEAD_OK)
        return rc;
    int transfer_encoding = 0;
    for (p = eol + 2;; p = eol + 2) {
        if (!(eol = line_end(p, end)))
            return CG_HEAD_MALFORMED;
        if (eol == p)
            break; /* the empty line */
        if (*p == ' ' || *p == '\t')
            return CG_HEAD_MALFORMED; /* obsolete line folding */
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return CG_HEAD_MALFORMED;
        for (const char *q = p; q < colon; q++)
            if (!is_tchar((unsigned char)*q))
                return CG_HEAD_MALFORMED; /* also whitespace before the colon */
        const char *v = colon + 1, *ve = eol;
        for (const char *q = v; q < ve; q++) {
            unsigned char c = (unsigned char)*q;
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return CG_HEAD_MALFORMED;
        }
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
        if (name_is(p, nl, "Content-Length")) {
            if ((rc = content_length(v, vl, out)) != CG_HEAD_OK)
                return rc;
        } else if (name_is(p, nl, "Transfer-Encoding")) {
            transfer_encoding = 1;
        } else if (name_is(p, nl, "Authorization")) {
            if (out->authorization)
                return CG_HEAD_MALFORMED;
            out->authorization = v;
            out->authorization_len = vl;
        } else if (name_is(p, nl, "Expect")) {
            out->expect_continue = vl == 12 && strncasecmp(v, "100-continue", 12) == 0;
        } else if (name_is(p, nl, CG_GATE_HEADER)) {
            return CG_HEAD_RESERVED_FIELD;
        }
    }
    if (p + 2 != end)
        return CG_HEAD_MALFORMED; /* bytes after the empty line */
    if (transfer_encoding)
        return out->content_length >= 0 ? CG_HEAD_LENGTH_AND_CHUNKED : CG_HEAD_CHUNKED;
    return CG_HEAD_OK;
}

static const struct {
    int status;
    const char *code, *message;
} problems[] = {
    [CG_HEAD_OK] = {200, "ok", "ok"},
    [CG_HEAD_MALFORMED] = {400, "malformed_request",
                           "the request line or a header field is malformed (every line must end "
                           "in CRLF; no NUL, no folding)"},
    [CG_HEAD_DUPLICATE_LENGTH] = {400, "malformed_request", "more than one Content-Length"},
    [CG_HEAD_LENGTH_AND_CHUNKED] = {400, "malformed_request",
                                    "Content-Length together with Transfer-Encoding"},
    [CG_HEAD_BAD_LENGTH] = {400, "malformed_request", "Content-Length is not a decimal number"},
    [CG_HEAD_CHUNKED] = {411, "length_required",
                         "request bodies need a Content-Length (chunked bodies are not taken)"},
    [CG_HEAD_RESERVED_FIELD] = {400, "malformed_request", "the header " CG_GATE_HEADER " is reserved"},
    [CG_HEAD_VERSION] = {505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1"},
};

int cg_head_problem_status(cg_head_problem p)
{
    return (unsigned)p < sizeof problems / sizeof problems[0] ? problems[p].status : 400;
}

const char *cg_head_problem_code(cg_head_problem p)
{
    return (unsigned)p < sizeof problems / sizeof problems[0] ? problems[p].code : "malformed_request";
}

const char *cg_head_problem_message(cg_head_problem p)
{
    return (unsigned)p < sizeof problems / sizeof problems[0] ? problems[p].message : "malformed";
}
