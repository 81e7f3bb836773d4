/*
 * Stateless nonces (DESIGN.md s6): a nonce is the RFC 8489 s9.2 nonce cookie
 * followed by an expiry time and an HMAC over (features, expiry, client
 * transport address) keyed with a fleet secret, so any node holding the
 * secret can check any nonce without a lookup. No I/O and no clock: the
 * caller passes the time, in unix seconds.
 */
#ifndef TERN_RELAY_NONCE_H
#define TERN_RELAY_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"

enum nonce_sizes {
	NONCE_SECRET_LEN = 32,
	NONCE_COOKIE_LEN = 13, /* "obMatJos2" + 4 base64 characters */
	NONCE_LEN = 37,        /* cookie + 24 base64url characters */
	NONCE_MAX_SECRETS = 4, /* secrets one check tries: current, previous, ... */
};

/*
 * STUN Security Features (RFC 8489 s18.1) as the 24-bit value the cookie
 * carries. s9.2 numbers bit 0 as the most significant bit of the first byte.
 */
enum nonce_feature {
	NONCE_FEATURE_PASSWORD_ALGORITHMS = 0x800000, /* bit 0 */
	NONCE_FEATURE_USERNAME_ANONYMITY = 0x400000,  /* bit 1 */
	NONCE_FEATURE_MASK = 0xFFFFFF,
};

enum nonce_result {
	NONCE_OK = 0,
	NONCE_STALE, /* ours and intact, but expired: answer 438 */
	NONCE_BAD,   /* not ours, tampered, or issued to another address: 438 too */
};

/*
 * Write a fresh nonce, valid from now for validity_s seconds, for the
 * transport address src (IP and port), to out. Writes NONCE_LEN bytes, no
 * terminating NUL. Returns NONCE_LEN, or 0 when cap is too small, src has no
 * valid family, or the expiry does not fit 32 bits (after the year 2105).
 */
size_t nonce_make(const uint8_t secret[NONCE_SECRET_LEN], uint64_t now,
		  uint32_t validity_s, uint32_t features, const struct stun_addr *src,
		  char *out, size_t cap);

/*
 * Check a NONCE attribute value that arrived from src at time now against
 * n secrets (current first, then older ones still honoured; at most
 * NONCE_MAX_SECRETS are tried). A nonce expires at the start of its expiry
 * second. features, if not NULL, receives the cookie's feature bits for
 * NONCE_OK and NONCE_STALE (they are covered by the HMAC), 0 otherwise.
 */
enum nonce_result nonce_check(const uint8_t (*secrets)[NONCE_SECRET_LEN], size_t n,
			      uint64_t now, const struct stun_addr *src,
			      const uint8_t *nonce, size_t len, uint32_t *features);

/*
 * Read the nonce cookie at the start of any nonce, ours or another server's.
 * Nothing is authenticated. Returns false when p does not start with one.
 */
bool nonce_cookie_parse(const uint8_t *p, size_t len, uint32_t *features);

/* The metric label for r: "ok", "stale" or "bad". */
const char *nonce_result_name(enum nonce_result r);

#endif
