/*
 * The responder's side of Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, as
 * WireGuard builds it:
 *
 *   <- s
 *   -> e, es, s, ss, {t}
 *   <- e, ee, se, psk, {}
 *
 * An initiation is consumed in two steps, because the peer is known only
 * half way: noise_open() takes e, es and s (one Diffie-Hellman) and says
 * whose static key it carries; the caller finds that peer (in memory, or
 * later in the store) and noise_finish() takes ss, with the peer's
 * precomputed DH, and {t}, the timestamp the caller checks for replay.
 * noise_respond() then writes the response and derives the transport keys.
 * X25519 and ChaCha20-Poly1305 come from libsodium, BLAKE2s from OpenSSL;
 * an all-zero shared secret is refused. Every intermediate secret is wiped
 * on every return; the caller wipes struct noise_initiation once done.
 */
#ifndef TERN_TUNNEL_NOISE_H
#define TERN_TUNNEL_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "tunnel/blake2s.h"
#include "tunnel/messages.h"

/* Our static key pair, and what follows from it alone. */
struct noise_static {
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	uint8_t h0[WG_HASH_LEN]; /* HASH(HASH(CONSTRUCTION) | IDENTIFIER | public) */
};

/* An initiation, opened as far as our key alone allows. */
struct noise_initiation {
	uint32_t sender;                   /* the initiator's index */
	uint8_t ephemeral[WG_KEY_LEN];     /* E_i */
	uint8_t static_key[WG_KEY_LEN];    /* S_i: who the initiator says it is */
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN];
	uint8_t timestamp[WG_TAI64N_LEN + WG_TAG_LEN]; /* still sealed */
};

/* Transport keys: the responder receives with T1 and sends with T2. */
struct noise_keys {
	uint8_t send[WG_KEY_LEN], recv[WG_KEY_LEN];
};

/* Ci = HASH(CONSTRUCTION), the initial chaining key. */
extern const uint8_t noise_ck0[WG_HASH_LEN];

bool noise_static_init(struct noise_static *s, struct blake2s *b,
		       const uint8_t private_key[WG_KEY_LEN]);
/* X25519(our private, peer public): the "ss" every initiation of that peer
 * needs, computed once. false for a peer key that gives all zeros. */
bool noise_precompute(const struct noise_static *s, const uint8_t peer[WG_KEY_LEN],
		      uint8_t ss[WG_KEY_LEN]);

/* e, es, s of an initiation (mac1 already checked). false: not for us. */
bool noise_open(const struct noise_static *s, struct blake2s *b,
		const uint8_t msg[WG_INITIATION_LEN], struct noise_initiation *in);
/* ss and {t}: false when the timestamp does not open (not that peer). */
bool noise_finish(struct blake2s *b, struct noise_initiation *in, const uint8_t ss[WG_KEY_LEN],
		  uint8_t timestamp[WG_TAI64N_LEN]);
/*
 * The response to in from our index, with the fresh ephemeral private key
 * e and the peer's preshared key (32 zeros if none), into msg (mac1 and
 * mac2 left to cookie_add_macs), and the transport keys.
 */
bool noise_respond(struct blake2s *b, struct noise_initiation *in, const uint8_t e[WG_KEY_LEN],
		   const uint8_t psk[WG_KEY_LEN], uint32_t index, uint8_t msg[WG_RESPONSE_LEN],
		   struct noise_keys *keys);

#endif
