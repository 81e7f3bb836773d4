/*
 * WireGuard peer records in Redis: the schema, and the codec between a
 * record and its hash's fields. Pure functions; the connections that read
 * and write them are their callers' (ternctl, the tunnel's thread).
 *
 *   tern:wg:{R}:peer:P     hash, one per peer, P the peer's public key and
 *                          R the responder's (both base64, as wg(8) shows
 *                          them), so responders with different keys can
 *                          share one Redis; {R} is a hash tag, so a
 *                          responder's keys stay in one Redis Cluster slot
 *                          and a change can be one transaction:
 *       allowed    "10.0.0.2/32,fd00::2/128" (may be empty)
 *       psk        the preshared key, base64; absent: none
 *       keepalive  persistent keepalive, seconds; absent or 0: off
 *       tai64n     the newest handshake timestamp accepted, 24 hex digits
 *                  (so a string comparison is a time comparison)
 *       rx, tx     bytes on the wire, as wg(8) counts them
 *       added      Unix seconds when the record was made
 *   tern:wg:{R}:peers      set of the peers' public keys (base64)
 *
 * A change to a record is announced on the channel tern:wg as
 * "set <R> <P>" or "del <R> <P>".
 */
#ifndef TERN_STORE_WGPEER_H
#define TERN_STORE_WGPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/wgconf.h"

enum wgpeer_limits {
	WGPEER_MAX_ALLOWED = 256,             /* prefixes in a record */
	WGPEER_B64 = 45,                      /* a key in base64, with its NUL */
	WGPEER_KEY_LEN = 8 + 46 + 6 + 44 + 1, /* "tern:wg:{R}:peer:P" */
	WGPEER_ALLOWED_LEN = WGPEER_MAX_ALLOWED * 44,
	WGPEER_TAI64N_HEX = 25,
	WGPEER_FIELDS = 7,
};

struct wgpeer {
	uint8_t public_key[32], preshared_key[32];
	bool has_preshared_key;
	uint16_t keepalive;
	struct wgconf_prefix allowed[WGPEER_MAX_ALLOWED];
	int n_allowed;
	uint8_t tai64n[12];
	bool has_tai64n;
	uint64_t rx_bytes, tx_bytes;
	int64_t added;
};

/* A key in base64 into out (WGPEER_B64 bytes). */
void wgpeer_b64(const uint8_t key[32], char out[WGPEER_B64]);
/* The record's key and the set's key for responder r. */
void wgpeer_key(char out[WGPEER_KEY_LEN], const uint8_t r[32], const uint8_t peer[32]);
void wgpeer_set_key(char out[WGPEER_KEY_LEN], const uint8_t r[32]);

/* "a/n,b/m" from p's prefixes, into out (WGPEER_ALLOWED_LEN bytes). */
void wgpeer_allowed_format(const struct wgpeer *p, char *out, size_t len);
/* p's prefixes from "a/n,b/m" (spaces allowed, empty allowed): false for a
 * bad one or more than WGPEER_MAX_ALLOWED, with what in err. */
bool wgpeer_allowed_parse(struct wgpeer *p, const char *s, char *err, size_t errlen);

/* Fill p from a hash's field/value pairs (HGETALL). false for a field
 * whose value is not of its kind; unknown fields are skipped. */
bool wgpeer_from_hash(struct wgpeer *p, const char *const *fields, const char *const *values,
		      int n);

/* A TAI64N timestamp as 24 hex digits, and its Unix seconds (0 if none). */
void wgpeer_tai64n_hex(const uint8_t t[12], char out[WGPEER_TAI64N_HEX]);
int64_t wgpeer_tai64n_unix(const uint8_t t[12]);

#endif
