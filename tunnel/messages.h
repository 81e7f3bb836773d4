/*
 * The WireGuard wire format and every protocol constant the tunnel uses, as
 * named enums (the Linux module's messages.h, checked against wireguard-go:
 * ../shared/notes/wireguard.md). All integers on the wire are little-endian;
 * byte 0 is the type and bytes 1-3 are zero.
 */
#ifndef TERN_TUNNEL_MESSAGES_H
#define TERN_TUNNEL_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

enum wg_type {
	WG_INITIATION = 1,
	WG_RESPONSE = 2,
	WG_COOKIE_REPLY = 3,
	WG_DATA = 4,
};

enum wg_sizes {
	WG_KEY_LEN = 32,
	WG_HASH_LEN = 32,
	WG_TAG_LEN = 16,         /* Poly1305 */
	WG_MAC_LEN = 16,         /* mac1, mac2, and the cookie */
	WG_TAI64N_LEN = 12,
	WG_COOKIE_NONCE_LEN = 24, /* XChaCha20-Poly1305 */

	WG_INITIATION_LEN = 148,
	WG_INIT_SENDER = 4,
	WG_INIT_EPHEMERAL = 8,
	WG_INIT_STATIC = 40,     /* 32 + tag */
	WG_INIT_TIMESTAMP = 88,  /* 12 + tag */
	WG_INIT_MAC1 = 116,
	WG_INIT_MAC2 = 132,

	WG_RESPONSE_LEN = 92,
	WG_RESP_SENDER = 4,
	WG_RESP_RECEIVER = 8,
	WG_RESP_EPHEMERAL = 12,
	WG_RESP_EMPTY = 44,      /* tag only */
	WG_RESP_MAC1 = 60,
	WG_RESP_MAC2 = 76,

	WG_COOKIE_REPLY_LEN = 64,
	WG_COOKIE_RECEIVER = 4,
	WG_COOKIE_NONCE = 8,
	WG_COOKIE_ENCRYPTED = 32, /* 16 + tag */

	WG_DATA_RECEIVER = 4,
	WG_DATA_COUNTER = 8,
	WG_DATA_HEADER_LEN = 16,
	WG_DATA_MIN_LEN = WG_DATA_HEADER_LEN + WG_TAG_LEN, /* a keepalive */
	WG_PADDING = 16,         /* plaintext padded to a multiple of this */
	WG_MAX_PACKET = 65535,   /* an inner IP packet */
};

/* Time, in milliseconds, and counts (the module's messages.h, timers.c). */
enum wg_timers {
	WG_REKEY_TIMEOUT_MS = 5000,
	WG_KEEPALIVE_MS = 10000,          /* KEEPALIVE_TIMEOUT */
	WG_REKEY_AFTER_TIME_MS = 120000,
	WG_REJECT_AFTER_TIME_MS = 180000,
	WG_ZERO_KEYS_AFTER_MS = 540000,   /* 3 x REJECT_AFTER_TIME */
	WG_COOKIE_SECRET_MAX_AGE_MS = 120000,
	WG_INITIATIONS_PER_SECOND = 50,   /* per peer */
	WG_UNDER_LOAD_HOLD_MS = 1000,     /* stays under load this long after */
};

/* The replay window (RFC 6479), as the module's counter.c: 8192 bits, of
 * which 8128 are usable. */
enum wg_replay {
	WG_REPLAY_WORDS = 128,
	WG_REPLAY_WINDOW = WG_REPLAY_WORDS * 64 - 64,
};

#define WG_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - WG_REPLAY_WINDOW - 1)

/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (WireGuard's construction). */
#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

/*
 * The message in p[0..len), judged by its header and exact length: a type
 * of enum wg_type, or 0 when it is none (a reserved byte set, a length
 * that type cannot have, or an unknown type).
 */
int messages_type(const uint8_t *p, size_t len);

static inline uint32_t wg_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wg_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t wg_get64(const uint8_t *p)
{
	return (uint64_t)wg_get32(p) | (uint64_t)wg_get32(p + 4) << 32;
}

static inline void wg_put64(uint8_t *p, uint64_t v)
{
	wg_put32(p, (uint32_t)v);
	wg_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
