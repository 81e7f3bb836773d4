/*
 * The BLAKE2s functions of WireGuard's Noise construction, from OpenSSL 3's
 * EVP (libsodium has no BLAKE2s):
 *
 *   HASH(x)      BLAKE2s-256
 *   HMAC(k, x)   RFC 2104 HMAC over BLAKE2s-256
 *   MAC(k, x)    keyed BLAKE2s with a 16-byte output (BLAKE2SMAC, size 16):
 *                an output length of 16 is a parameter of the hash, not a
 *                32-byte digest cut short
 *   KDFn(ck, x)  t = HMAC(ck, x), T1 = HMAC(t, 0x1), Ti = HMAC(t, Ti-1 | i)
 *
 * The algorithms are fetched once and the contexts reused, so a handshake's
 * twenty-odd HMACs cost no lookups. Every function returns false only when
 * OpenSSL fails (out of memory); the caller then abandons the handshake.
 *
 * Ownership: blake2s_new() returns an object freed with blake2s_free().
 * Not thread-safe: one per thread.
 */
#ifndef TERN_TUNNEL_BLAKE2S_H
#define TERN_TUNNEL_BLAKE2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blake2s;

struct blake2s *blake2s_new(void);
void blake2s_free(struct blake2s *b);

/* out = HASH(a | c); c may be NULL with clen 0. out may alias a or c. */
bool blake2s_hash(struct blake2s *b, uint8_t out[32], const uint8_t *a, size_t alen,
		  const uint8_t *c, size_t clen);
/* out = HMAC(key, in). */
bool blake2s_hmac(struct blake2s *b, uint8_t out[32], const uint8_t *key, size_t keylen,
		  const uint8_t *in, size_t inlen);
/* out = MAC(key, in), 16 bytes; key 1 to 32 bytes. */
bool blake2s_mac(struct blake2s *b, uint8_t out[16], const uint8_t *key, size_t keylen,
		 const uint8_t *in, size_t inlen);
/* (t1, t2, t3) = KDF3(ck, in); t2 and t3 may be NULL (KDF1, KDF2). Any
 * output may alias ck. */
bool blake2s_kdf(struct blake2s *b, const uint8_t ck[32], const uint8_t *in, size_t inlen,
		 uint8_t t1[32], uint8_t *t2, uint8_t *t3);

#endif
