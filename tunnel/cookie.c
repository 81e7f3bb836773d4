/*
 * mac1, mac2 and cookie replies (see cookie.h).
 */
#include <string.h>

#include <sodium.h>

#include "stun/stun.h"
#include "tunnel/cookie.h"

bool cookie_checker_init(struct cookie_checker *c, struct blake2s *b,
			 const uint8_t our_public[WG_KEY_LEN])
{
	memset(c, 0, sizeof *c);
	return blake2s_hash(b, c->mac1_key, (const uint8_t *)WG_LABEL_MAC1, 8, our_public,
			    WG_KEY_LEN) &&
	       blake2s_hash(b, c->reply_key, (const uint8_t *)WG_LABEL_COOKIE, 8, our_public,
			    WG_KEY_LEN);
}

bool cookie_secret_stale(const struct cookie_checker *c, uint64_t now_ms)
{
	return !c->secret_born || now_ms - c->secret_born >= WG_COOKIE_SECRET_MAX_AGE_MS ||
	       now_ms < c->secret_born;
}

void cookie_new_secret(struct cookie_checker *c, const uint8_t secret[WG_HASH_LEN],
		       uint64_t now_ms)
{
	memcpy(c->secret, secret, WG_HASH_LEN);
	c->secret_born = now_ms ? now_ms : 1;
}

size_t cookie_source(const struct stun_addr *a, uint8_t out[COOKIE_SOURCE_MAX])
{
	size_t n = a->family == STUN_FAMILY_IPV4 ? 4 : 16;

	memcpy(out, a->ip, n);
	out[n] = (uint8_t)(a->port >> 8);
	out[n + 1] = (uint8_t)a->port;
	return n + 2;
}

/* The cookie src would hold now. */
static bool cookie_of(const struct cookie_checker *c, struct blake2s *b, const uint8_t *src,
		      size_t srclen, uint8_t out[WG_MAC_LEN])
{
	return blake2s_mac(b, out, c->secret, sizeof c->secret, src, srclen);
}

enum cookie_verdict cookie_validate(const struct cookie_checker *c, struct blake2s *b,
				    const uint8_t *msg, size_t len, const uint8_t *src,
				    size_t srclen, bool check_mac2)
{
	uint8_t mac[WG_MAC_LEN], cookie[WG_MAC_LEN];
	enum cookie_verdict v = COOKIE_BAD_MAC1;
	size_t mac1 = len - 2 * WG_MAC_LEN, mac2 = len - WG_MAC_LEN;

	if (len < 2 * WG_MAC_LEN ||
	    !blake2s_mac(b, mac, c->mac1_key, sizeof c->mac1_key, msg, mac1) ||
	    sodium_memcmp(mac, msg + mac1, WG_MAC_LEN) != 0)
		return COOKIE_BAD_MAC1;
	v = COOKIE_MAC2_OK;
	if (check_mac2 && (!cookie_of(c, b, src, srclen, cookie) ||
			   !blake2s_mac(b, mac, cookie, sizeof cookie, msg, mac2) ||
			   sodium_memcmp(mac, msg + mac2, WG_MAC_LEN) != 0))
		v = COOKIE_NO_MAC2;
	sodium_memzero(cookie, sizeof cookie);
	return v;
}

bool cookie_reply(const struct cookie_checker *c, struct blake2s *b, const uint8_t *msg,
		  size_t len, const uint8_t *src, size_t srclen,
		  const uint8_t nonce[WG_COOKIE_NONCE_LEN], uint8_t out[WG_COOKIE_REPLY_LEN])
{
	uint8_t cookie[WG_MAC_LEN];
	bool ok;

	memset(out, 0, WG_COOKIE_REPLY_LEN);
	out[0] = WG_COOKIE_REPLY;
	memcpy(out + WG_COOKIE_RECEIVER, msg + 4, 4); /* the sender index of msg */
	memcpy(out + WG_COOKIE_NONCE, nonce, WG_COOKIE_NONCE_LEN);
	ok = cookie_of(c, b, src, srclen, cookie) &&
	     crypto_aead_xchacha20poly1305_ietf_encrypt(
		     out + WG_COOKIE_ENCRYPTED, NULL, cookie, sizeof cookie,
		     msg + len - 2 * WG_MAC_LEN, WG_MAC_LEN, NULL, nonce, c->reply_key) == 0;
	sodium_memzero(cookie, sizeof cookie);
	return ok;
}

bool cookie_add_macs(struct blake2s *b, uint8_t *msg, size_t len,
		     const uint8_t peer_mac1_key[WG_HASH_LEN], const uint8_t *cookie)
{
	size_t mac1 = len - 2 * WG_MAC_LEN, mac2 = len - WG_MAC_LEN;

	if (!blake2s_mac(b, msg + mac1, peer_mac1_key, WG_HASH_LEN, msg, mac1))
		return false;
	if (!cookie) {
		memset(msg + mac2, 0, WG_MAC_LEN);
		return true;
	}
	return blake2s_mac(b, msg + mac2, cookie, WG_MAC_LEN, msg, mac2);
}
