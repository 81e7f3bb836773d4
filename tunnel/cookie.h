/*
 * mac1, mac2 and cookie replies (WireGuard's DoS defence; the Linux
 * module's cookie.c). mac1 proves the sender knows our public key and costs
 * no Diffie-Hellman to check, so it is checked first. Under load a
 * handshake must also carry mac2, made with a cookie we gave its source
 * address: a cookie is MAC(secret, source address and port), the secret
 * is random and replaced every 2 minutes, and it travels in a cookie reply
 * sealed with XChaCha20-Poly1305 under HASH("cookie--" | our public key),
 * bound to the mac1 of the message it answers. Sans-I/O: the caller gives
 * the time and, for a new secret or a reply's nonce, the random bytes.
 */
#ifndef TERN_TUNNEL_COOKIE_H
#define TERN_TUNNEL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunnel/blake2s.h"
#include "tunnel/messages.h"

enum { COOKIE_SOURCE_MAX = 18 }; /* an IPv6 address and a port */

struct cookie_checker {
	uint8_t mac1_key[WG_HASH_LEN];   /* HASH("mac1----" | our public key) */
	uint8_t reply_key[WG_HASH_LEN];  /* HASH("cookie--" | our public key) */
	uint8_t secret[WG_HASH_LEN];
	uint64_t secret_born;            /* ms; 0: no secret yet */
};

enum cookie_verdict {
	COOKIE_BAD_MAC1,  /* not for us, or damaged: drop unanswered */
	COOKIE_NO_MAC2,   /* mac1 good, mac2 absent or wrong */
	COOKIE_MAC2_OK,   /* both good: the source proved its address */
};

bool cookie_checker_init(struct cookie_checker *c, struct blake2s *b,
			 const uint8_t our_public[WG_KEY_LEN]);
/* Whether the secret is missing or older than 2 minutes: then the caller
 * gives a new one with cookie_new_secret(). */
bool cookie_secret_stale(const struct cookie_checker *c, uint64_t now_ms);
void cookie_new_secret(struct cookie_checker *c, const uint8_t secret[WG_HASH_LEN],
		       uint64_t now_ms);

/*
 * Judge a handshake message (initiation or response: mac1 and mac2 are its
 * last 32 bytes) that came from src (IP and port bytes, see cookie_source).
 * mac2 is judged only with check_mac2; otherwise a good mac1 is
 * COOKIE_MAC2_OK. The secret must be fresh when check_mac2 is set.
 */
enum cookie_verdict cookie_validate(const struct cookie_checker *c, struct blake2s *b,
				    const uint8_t *msg, size_t len, const uint8_t *src,
				    size_t srclen, bool check_mac2);

/* The cookie reply to msg (from src, sent by receiver index sender) into
 * out, with nonce 24 random bytes. */
bool cookie_reply(const struct cookie_checker *c, struct blake2s *b, const uint8_t *msg,
		  size_t len, const uint8_t *src, size_t srclen,
		  const uint8_t nonce[WG_COOKIE_NONCE_LEN], uint8_t out[WG_COOKIE_REPLY_LEN]);

/* Write mac1 (keyed for the receiver: HASH("mac1----" | its public key))
 * and mac2 (with cookie, or zeros when NULL) into msg's last 32 bytes. */
bool cookie_add_macs(struct blake2s *b, uint8_t *msg, size_t len,
		     const uint8_t peer_mac1_key[WG_HASH_LEN], const uint8_t *cookie);

/* The bytes a cookie covers: the address (4 or 16) and the port, big
 * endian. Returns the length. */
struct stun_addr;
size_t cookie_source(const struct stun_addr *a, uint8_t out[COOKIE_SOURCE_MAX]);

#endif
