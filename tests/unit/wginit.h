/*
 * A WireGuard initiator written from the protocol, for the tests and the
 * fuzz target that drive the responder: initiations, the response's
 * checks, and data messages both ways. Header-only (static functions), like
 * vectors.h.
 */
#ifndef TERN_TESTS_WGINIT_H
#define TERN_TESTS_WGINIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/blake2s.h"
#include "tunnel/noise.h"
#include "tunnel/tunnel.h"

#ifndef WGINIT_CHECK
#define WGINIT_CHECK(x) ((void)(x))
#endif

struct session {
	uint32_t local, remote;
	uint8_t send[32], recv[32];
	uint64_t counter;
};

struct initiator {
	uint8_t priv[32], pub[32], rpub[32], psk[32];
	struct tunnel_endpoint at; /* where it sends from */
	uint32_t next_sender;
	uint64_t ts;               /* TAI64N seconds, counts up */
	/* the handshake in flight */
	uint8_t e[32], ck[32], h[32], mac1[16];
	uint8_t cookie[16];
	bool has_cookie;
	struct session s;          /* the latest session */
};

#define WGINIT_FN static __attribute__((unused))

WGINIT_FN void kdf(struct blake2s *b, uint8_t ck[32], const uint8_t *in, size_t len, uint8_t *k2,
		uint8_t *k3)
{
	WGINIT_CHECK(blake2s_kdf(b, ck, in, len, ck, k2, k3));
}

WGINIT_FN void mixh(struct blake2s *b, uint8_t h[32], const uint8_t *p, size_t len)
{
	WGINIT_CHECK(blake2s_hash(b, h, h, 32, p, len));
}

WGINIT_FN void aead0(uint8_t *out, const uint8_t *p, size_t len, const uint8_t h[32],
		  const uint8_t k[32])
{
	static const uint8_t zero[12];

	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, p, len, h, 32, NULL, zero, k);
}

WGINIT_FN void initiator_init(struct initiator *x, const uint8_t responder[32], uint16_t port)
{
	memset(x, 0, sizeof *x);
	randombytes_buf(x->priv, 32);
	crypto_scalarmult_base(x->pub, x->priv);
	memcpy(x->rpub, responder, 32);
	x->at.addr = (struct stun_addr){ STUN_FAMILY_IPV4, port, { 198, 51, 100, 7 } };
	x->next_sender = 100;
	x->ts = 0x400000000000000aull + 1700000000;
}

WGINIT_FN void initiation(struct blake2s *b, struct initiator *x, uint8_t msg[148])
{
	uint8_t k[32], dh[32], tai[12], key[32];

	memset(msg, 0, 148);
	msg[0] = 1;
	wg_put32(msg + 4, ++x->next_sender);
	randombytes_buf(x->e, 32);
	crypto_scalarmult_base(msg + 8, x->e);
	memcpy(x->ck, noise_ck0, 32);
	WGINIT_CHECK(blake2s_hash(b, x->h, x->ck, 32, (const uint8_t *)WG_IDENTIFIER,
				 sizeof WG_IDENTIFIER - 1));
	mixh(b, x->h, x->rpub, 32);
	mixh(b, x->h, msg + 8, 32);
	kdf(b, x->ck, msg + 8, 32, NULL, NULL);
	WGINIT_CHECK(crypto_scalarmult(dh, x->e, x->rpub) == 0);
	kdf(b, x->ck, dh, 32, k, NULL);
	aead0(msg + 40, x->pub, 32, x->h, k);
	mixh(b, x->h, msg + 40, 48);
	WGINIT_CHECK(crypto_scalarmult(dh, x->priv, x->rpub) == 0);
	kdf(b, x->ck, dh, 32, k, NULL);
	x->ts++; /* a second later each time: strictly greater */
	for (int i = 0; i < 8; i++)
		tai[i] = (uint8_t)(x->ts >> (56 - 8 * i));
	memset(tai + 8, 0, 4);
	aead0(msg + 88, tai, 12, x->h, k);
	mixh(b, x->h, msg + 88, 28);
	WGINIT_CHECK(blake2s_hash(b, key, (const uint8_t *)WG_LABEL_MAC1, 8, x->rpub, 32));
	WGINIT_CHECK(blake2s_mac(b, msg + 116, key, 32, msg, 116));
	memcpy(x->mac1, msg + 116, 16);
	if (x->has_cookie)
		WGINIT_CHECK(blake2s_mac(b, msg + 132, x->cookie, 16, msg, 132));
}

/* Consume the response: true, with x->s the new session, if it checks. */
WGINIT_FN bool response(struct blake2s *b, struct initiator *x, const uint8_t *msg, size_t len)
{
	uint8_t dh[32], tau[32], k[32], key[32], mac[16], empty[1];

	if (len != 92 || msg[0] != 2 || wg_get32(msg + 8) != x->next_sender)
		return false;
	WGINIT_CHECK(blake2s_hash(b, key, (const uint8_t *)WG_LABEL_MAC1, 8, x->pub, 32));
	WGINIT_CHECK(blake2s_mac(b, mac, key, 32, msg, 60));
	if (memcmp(mac, msg + 60, 16) != 0)
		return false;
	mixh(b, x->h, msg + 12, 32);
	kdf(b, x->ck, msg + 12, 32, NULL, NULL);
	WGINIT_CHECK(crypto_scalarmult(dh, x->e, msg + 12) == 0);
	kdf(b, x->ck, dh, 32, NULL, NULL);
	WGINIT_CHECK(crypto_scalarmult(dh, x->priv, msg + 12) == 0);
	kdf(b, x->ck, dh, 32, NULL, NULL);
	kdf(b, x->ck, x->psk, 32, tau, k);
	mixh(b, x->h, tau, 32);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(empty, NULL, NULL, msg + 44, 16, x->h, 32,
						      (const uint8_t[12]){ 0 }, k) != 0)
		return false;
	memset(&x->s, 0, sizeof x->s);
	x->s.local = x->next_sender;
	x->s.remote = wg_get32(msg + 4);
	WGINIT_CHECK(blake2s_kdf(b, x->ck, NULL, 0, x->s.send, x->s.recv, NULL));
	return true;
}

/* A data message under session s carrying payload (a keepalive if len 0). */
WGINIT_FN size_t seal(struct session *s, const uint8_t *payload, size_t len, uint8_t *out)
{
	size_t padded = (len + 15) & ~(size_t)15;
	uint8_t nonce[12] = { 0 };

	memset(out, 0, 16 + padded + 16);
	out[0] = 4;
	wg_put32(out + 4, s->remote);
	wg_put64(out + 8, s->counter);
	wg_put64(nonce + 4, s->counter++);
	if (len)
		memcpy(out + 16, payload, len);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + 16, NULL, out + 16, padded, NULL, 0, NULL,
						  nonce, s->send);
	return 16 + padded + 16;
}

/* Open a data message for session s; its plaintext length, or -1. */
WGINIT_FN long open_(struct session *s, uint8_t *msg, size_t len)
{
	uint8_t nonce[12] = { 0 };

	if (len < 32 || msg[0] != 4 || wg_get32(msg + 4) != s->local)
		return -1;
	memcpy(nonce + 4, msg + 8, 8);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(msg + 16, NULL, NULL, msg + 16, len - 16,
						      NULL, 0, nonce, s->recv) != 0)
		return -1;
	return (long)len - 32;
}

#endif
