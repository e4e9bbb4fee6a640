/*
 * http_head.h — a strict reader of an HTTP/1.x request head (request line and
 * header fields, RFC 9112), used by the connection gate (http_gate.h) before
 * evhttp sees a byte of the request. evhttp 2.1 is lenient where lenience is
 * dangerous (request smuggling, hanging requests): it takes a bare LF as a
 * line end, keeps the last of two Content-Length headers, reads a
 * Content-Length beside Transfer-Encoding. This refuses each of those.
 *
 * Pure: no I/O, any thread; fuzzed by tests/fuzz/fuzz_http_head.c.
 */
#ifndef CG_HTTP_HEAD_H
#define CG_HTTP_HEAD_H

#include <stddef.h>
#include <stdint.h>

/* The header a refusal by the gate is carried to http.c in (gate -> evhttp
 * -> on_request). A client that sends it is refused. */
#define CG_GATE_HEADER "X-Citygrid-Gate"

typedef struct cg_http_head {
    const char *method;        /* points into the head; not NUL-terminated */
    size_t method_len;
    const char *target;        /* origin-form "/path?query" */
    size_t target_len;
    const char *authorization; /* the Authorization value (trimmed), or NULL */
    size_t authorization_len;
    int64_t content_length;    /* -1 when absent */
    int expect_continue;       /* Expect: 100-continue */
} cg_http_head;

/* What is wrong with a head. */
typedef enum cg_head_problem {
    CG_HEAD_OK = 0,
    CG_HEAD_MALFORMED,         /* 400: request line, field syntax, bare LF or CR, NUL, folding */
    CG_HEAD_DUPLICATE_LENGTH,  /* 400: two Content-Length fields */
    CG_HEAD_LENGTH_AND_CHUNKED,/* 400: Content-Length with Transfer-Encoding */
    CG_HEAD_BAD_LENGTH,        /* 400: Content-Length not a decimal number */
    CG_HEAD_CHUNKED,           /* 411: Transfer-Encoding without Content-Length */
    CG_HEAD_RESERVED_FIELD,    /* 400: the client sent CG_GATE_HEADER */
    CG_HEAD_VERSION,           /* 505: not HTTP/1.0 or HTTP/1.1 */
} cg_head_problem;

/* Parse `len` bytes that end with the blank line (CRLF CRLF). Fills *out
 * (pointers into `head`) and returns CG_HEAD_OK, or the first problem. */
cg_head_problem cg_http_head_parse(const char *head, size_t len, cg_http_head *out);

/* The status and snake_case code the API answers a problem with. */
int cg_head_problem_status(cg_head_problem p);
const char *cg_head_problem_code(cg_head_problem p);
const char *cg_head_problem_message(cg_head_problem p);

#endif
