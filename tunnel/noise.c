/*
 * The responder's handshake (see noise.h). Steps are labelled with their
 * Noise tokens; each function has one exit, through out:, that wipes what
 * it derived.
 */
#include <string.h>

#include <sodium.h>

#include "tunnel/noise.h"

const uint8_t noise_ck0[WG_HASH_LEN] = {
	0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35,
	0xe2, 0xa0, 0x25, 0xd2, 0xd0, 0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72,
	0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
};

/* AEAD under k with the all-zero nonce and h as associated data. */
static bool seal(uint8_t *out, const uint8_t *p, size_t len, const uint8_t h[WG_HASH_LEN],
		 const uint8_t k[WG_KEY_LEN])
{
	static const uint8_t zero[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	return crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, p, len, h, WG_HASH_LEN, NULL,
							 zero, k) == 0;
}

static bool open_(uint8_t *out, const uint8_t *c, size_t len, const uint8_t h[WG_HASH_LEN],
		  const uint8_t k[WG_KEY_LEN])
{
	static const uint8_t zero[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, c, len, h, WG_HASH_LEN,
							 zero, k) == 0;
}

/* h = HASH(h | p) */
static bool mix_hash(struct blake2s *b, uint8_t h[WG_HASH_LEN], const uint8_t *p, size_t len)
{
	return blake2s_hash(b, h, h, WG_HASH_LEN, p, len);
}

bool noise_static_init(struct noise_static *s, struct blake2s *b,
		       const uint8_t private_key[WG_KEY_LEN])
{
	uint8_t hi[WG_HASH_LEN];
	bool ok;

	memcpy(s->private_key, private_key, WG_KEY_LEN);
	ok = crypto_scalarmult_base(s->public_key, private_key) == 0 &&
	     blake2s_hash(b, hi, noise_ck0, WG_HASH_LEN, (const uint8_t *)WG_IDENTIFIER,
			  sizeof WG_IDENTIFIER - 1) &&
	     blake2s_hash(b, s->h0, hi, WG_HASH_LEN, s->public_key, WG_KEY_LEN);
	if (!ok)
		sodium_memzero(s, sizeof *s);
	return ok;
}

bool noise_precompute(const struct noise_static *s, const uint8_t peer[WG_KEY_LEN],
		      uint8_t ss[WG_KEY_LEN])
{
	return crypto_scalarmult(ss, s->private_key, peer) == 0;
}

bool noise_open(const struct noise_static *s, struct blake2s *b,
		const uint8_t msg[WG_INITIATION_LEN], struct noise_initiation *in)
{
	uint8_t dh[WG_KEY_LEN], k[WG_KEY_LEN];
	bool ok = false;

	in->sender = wg_get32(msg + WG_INIT_SENDER);
	memcpy(in->ephemeral, msg + WG_INIT_EPHEMERAL, WG_KEY_LEN);
	memcpy(in->timestamp, msg + WG_INIT_TIMESTAMP, sizeof in->timestamp);
	memcpy(in->ck, noise_ck0, WG_HASH_LEN);
	memcpy(in->h, s->h0, WG_HASH_LEN);
	/* e */
	if (!mix_hash(b, in->h, in->ephemeral, WG_KEY_LEN) ||
	    !blake2s_kdf(b, in->ck, in->ephemeral, WG_KEY_LEN, in->ck, NULL, NULL))
		goto out;
	/* es */
	if (crypto_scalarmult(dh, s->private_key, in->ephemeral) != 0 ||
	    !blake2s_kdf(b, in->ck, dh, WG_KEY_LEN, in->ck, k, NULL))
		goto out;
	/* s */
	if (!open_(in->static_key, msg + WG_INIT_STATIC, WG_KEY_LEN + WG_TAG_LEN, in->h, k) ||
	    !mix_hash(b, in->h, msg + WG_INIT_STATIC, WG_KEY_LEN + WG_TAG_LEN))
		goto out;
	ok = true;
out:
	sodium_memzero(dh, sizeof dh);
	sodium_memzero(k, sizeof k);
	if (!ok)
		sodium_memzero(in, sizeof *in);
	return ok;
}

bool noise_finish(struct blake2s *b, struct noise_initiation *in, const uint8_t ss[WG_KEY_LEN],
		  uint8_t timestamp[WG_TAI64N_LEN])
{
	uint8_t k[WG_KEY_LEN];
	bool ok = false;

	/* ss */
	if (!blake2s_kdf(b, in->ck, ss, WG_KEY_LEN, in->ck, k, NULL))
		goto out;
	/* {t} */
	if (!open_(timestamp, in->timestamp, sizeof in->timestamp, in->h, k) ||
	    !mix_hash(b, in->h, in->timestamp, sizeof in->timestamp))
		goto out;
	ok = true;
out:
	sodium_memzero(k, sizeof k);
	return ok;
}

bool noise_respond(struct blake2s *b, struct noise_initiation *in, const uint8_t e[WG_KEY_LEN],
		   const uint8_t psk[WG_KEY_LEN], uint32_t index, uint8_t msg[WG_RESPONSE_LEN],
		   struct noise_keys *keys)
{
	uint8_t dh[WG_KEY_LEN], tau[WG_KEY_LEN], k[WG_KEY_LEN];
	uint8_t *ephemeral = msg + WG_RESP_EPHEMERAL;
	bool ok = false;

	memset(msg, 0, WG_RESPONSE_LEN);
	msg[0] = WG_RESPONSE;
	wg_put32(msg + WG_RESP_SENDER, index);
	wg_put32(msg + WG_RESP_RECEIVER, in->sender);
	/* e */
	if (crypto_scalarmult_base(ephemeral, e) != 0 ||
	    !mix_hash(b, in->h, ephemeral, WG_KEY_LEN) ||
	    !blake2s_kdf(b, in->ck, ephemeral, WG_KEY_LEN, in->ck, NULL, NULL))
		goto out;
	/* ee */
	if (crypto_scalarmult(dh, e, in->ephemeral) != 0 ||
	    !blake2s_kdf(b, in->ck, dh, WG_KEY_LEN, in->ck, NULL, NULL))
		goto out;
	/* se */
	if (crypto_scalarmult(dh, e, in->static_key) != 0 ||
	    !blake2s_kdf(b, in->ck, dh, WG_KEY_LEN, in->ck, NULL, NULL))
		goto out;
	/* psk */
	if (!blake2s_kdf(b, in->ck, psk, WG_KEY_LEN, in->ck, tau, k) ||
	    !mix_hash(b, in->h, tau, WG_KEY_LEN))
		goto out;
	/* {} */
	if (!seal(msg + WG_RESP_EMPTY, NULL, 0, in->h, k) ||
	    !mix_hash(b, in->h, msg + WG_RESP_EMPTY, WG_TAG_LEN))
		goto out;
	/* the transport keys: the initiator sends with T1, we with T2 */
	ok = blake2s_kdf(b, in->ck, NULL, 0, keys->recv, keys->send, NULL);
out:
	sodium_memzero(dh, sizeof dh);
	sodium_memzero(tau, sizeof tau);
	sodium_memzero(k, sizeof k);
	sodium_memzero(in->ck, sizeof in->ck);
	if (!ok)
		sodium_memzero(keys, sizeof *keys);
	return ok;
}
