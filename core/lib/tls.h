/*
 * tls.h — the server side of TLS: an OpenSSL context from a certificate
 * (chain) file and its private key, TLS 1.2 and newer only.
 *
 * The config check (conf/config.c) builds one and throws it away, so that a
 * missing or unreadable file, a key that is not the certificate's, or a key
 * file that anyone may read is refused with FILE:LINE at --check-config and
 * at start; the HTTP server (http/http.c) builds the one it serves with,
 * again on SIGHUP.
 *
 * Any thread; the context returned is the caller's (SSL_CTX_free). OpenSSL
 * counts its references: connections already made keep theirs.
 */
#ifndef CG_TLS_H
#define CG_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st cg_tls_ctx; /* OpenSSL's SSL_CTX */

/* Which file a failure is about, for a message that points at its key. */
typedef enum cg_tls_culprit { CG_TLS_CERT = 1, CG_TLS_KEY = 2 } cg_tls_culprit;

/* A server context for cert (PEM: the certificate, then any intermediates)
 * and key (PEM, unencrypted: there is nobody to type a passphrase), with
 * TLS 1.2 as the oldest protocol. NULL with "what is wrong" in err and, if
 * culprit is not NULL, which file it is about. */
cg_tls_ctx *cg_tls_ctx_new(const char *cert, const char *key, cg_tls_culprit *culprit,
                           char *err, size_t errlen);
void cg_tls_ctx_free(cg_tls_ctx *ctx);

#endif
