/* result.c — see result.h. */
#include "lib/result.h"

#include <stdarg.h>
#include <stdio.h>

cg_status cg_fail(cg_result *r, cg_status status, const char *code, const char *fmt, ...)
{
    if (!r)
        return status;
    r->status = status;
    snprintf(r->code, sizeof r->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    return status;
}

void cg_result_clear(cg_result *r)
{
    if (!r)
        return;
    r->status = CG_OK;
    r->code[0] = r->message[0] = '\0';
}

const char *cg_status_name(cg_status status)
{
    static const char *const names[] = {
        [CG_OK] = "ok",
        [CG_E_INVALID] = "invalid",
        [CG_E_UNAUTHENTICATED] = "unauthenticated",
        [CG_E_FORBIDDEN] = "forbidden",
        [CG_E_NOT_FOUND] = "not_found",
        [CG_E_CONFLICT] = "conflict",
        [CG_E_TOO_LARGE] = "too_large",
        [CG_E_UNSUPPORTED] = "unsupported",
        [CG_E_UNPROCESSABLE] = "unprocessable",
        [CG_E_THROTTLED] = "throttled",
        [CG_E_UNAVAILABLE] = "unavailable",
        [CG_E_TIMEOUT] = "timeout",
        [CG_E_INTERNAL] = "internal",
    };
    return (unsigned)status < sizeof names / sizeof names[0] && names[status] ? names[status]
                                                                                : "unknown";
}
