/*
 * result.h — the one result vocabulary of the domain. A function that can
 * refuse or fail returns a cg_status (CG_OK is 0) and, when it is not CG_OK,
 * fills a cg_result with the same status, a machine code (snake_case, as the
 * API shows it: "not_found", "invalid_field", ...) and a message for people.
 *
 * Only http/ turns a status into an HTTP status (cg_http_status_of, in
 * http/http_util.h); citygridctl and the plugin host print the message. Pure:
 * no I/O, any thread; a cg_result belongs to its caller (usually on the stack).
 */
#ifndef CG_RESULT_H
#define CG_RESULT_H

#include <stddef.h>

typedef enum cg_status {
    CG_OK = 0,
    CG_E_INVALID,       /* the input is malformed or a field is wrong (400) */
    CG_E_UNAUTHENTICATED, /* no or a bad credential (401) */
    CG_E_FORBIDDEN,     /* the caller may not do this (403) */
    CG_E_NOT_FOUND,     /* no such thing, or not visible to the caller (404) */
    CG_E_CONFLICT,      /* the thing's state does not allow it now (409) */
    CG_E_TOO_LARGE,     /* over a size limit (413) */
    CG_E_UNSUPPORTED,   /* a media type the API does not take (415) */
    CG_E_UNPROCESSABLE, /* well-formed, but the rules refuse it (422) */
    CG_E_THROTTLED,     /* too many attempts; try later (429) */
    CG_E_UNAVAILABLE,   /* a dependency is down or overloaded (503) */
    CG_E_TIMEOUT,       /* a dependency did not answer in time (504) */
    CG_E_INTERNAL,      /* a fault of ours: storage, memory (500) */
} cg_status;

#define CG_RESULT_CODE_SIZE 48
#define CG_RESULT_MESSAGE_SIZE 256

typedef struct cg_result {
    cg_status status;
    char code[CG_RESULT_CODE_SIZE];
    char message[CG_RESULT_MESSAGE_SIZE];
} cg_result;

/* Fill r (may be NULL: the details are dropped) and return `status`, so that
 * `return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no case %s", id);` reads
 * as one refusal. */
cg_status cg_fail(cg_result *r, cg_status status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset r to CG_OK with empty code and message. */
void cg_result_clear(cg_result *r);

/* A short name of a status for logs ("not_found", "internal", ...). */
const char *cg_status_name(cg_status status);

#endif
