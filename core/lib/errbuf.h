/*
 * errbuf.h — writing a message into a caller's error buffer, the way every
 * core function that can fail reports why ("char *err, size_t errlen").
 * Safe with err == NULL or errlen == 0 (the message is dropped).
 */
#ifndef CG_ERRBUF_H
#define CG_ERRBUF_H

#include <stddef.h>

void cg_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
