/*
 * chain.c — the audit's hash chain (chain.h).
 */
#include "sources/chain.h"

#include <sodium.h>
#include <string.h>

void cg_chain_hash(const char *prev_hex, const char *text, char out[CG_CHAIN_HEX])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    const char *prev = prev_hex ? prev_hex : CG_CHAIN_GENESIS;
    crypto_hash_sha256_update(&st, (const unsigned char *)prev, strlen(prev));
    crypto_hash_sha256_update(&st, (const unsigned char *)text, strlen(text));
    crypto_hash_sha256_final(&st, digest);
    sodium_bin2hex(out, CG_CHAIN_HEX, digest, sizeof digest);
}

size_t cg_chain_verify(const char *const *text, const char *const *hash, size_t n)
{
    const char *prev = CG_CHAIN_GENESIS;
    for (size_t i = 0; i < n; i++) {
        char want[CG_CHAIN_HEX];
        cg_chain_hash(prev, text[i] ? text[i] : "", want);
        if (!hash[i] || strcmp(want, hash[i]) != 0)
            return i + 1;
        prev = hash[i];
    }
    return 0;
}
