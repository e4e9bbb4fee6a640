/*
 * chain.h — the hash chain of the query audit: every audit row carries
 * hash = SHA-256(previous row's hash || the row's canonical text), the
 * first row chained to 64 zeros. An edit of any row's text (or a deleted or
 * reordered row) breaks every hash from there on, so `citygridctl audit
 * verify` finds the first row that does not match.
 *
 * The canonical text is the row's columns as a compact JSON array in a
 * fixed order (the caller builds it the same way when writing and when
 * verifying). Pure functions, any thread; libsodium's SHA-256.
 */
#ifndef CG_CHAIN_H
#define CG_CHAIN_H

#include <stddef.h>

#define CG_CHAIN_HEX 65 /* 64 hex digits + NUL */
#define CG_CHAIN_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* out = hex(SHA-256(prev_hex || text)). prev_hex NULL: the genesis. */
void cg_chain_hash(const char *prev_hex, const char *text, char out[CG_CHAIN_HEX]);

/* Walk rows 0..n-1 (text[i], hash[i] as stored): 0 when every hash matches;
 * else the 1-based number of the first row whose stored hash is not what
 * its text and the previous row's hash give. */
size_t cg_chain_verify(const char *const *text, const char *const *hash, size_t n);

#endif
