/*
 * One session's transport keys: ChaCha20-Poly1305 (IETF) with the nonce
 * made of 4 zero bytes and the little-endian counter, no associated data;
 * the plaintext padded with zeros to a multiple of 16. One AEAD call per
 * packet, in place.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/engine.h"

struct keypair *keypair_new(struct peer *p, uint32_t remote, uint64_t now)
{
	struct keypair *kp = malloc(sizeof *kp);

	if (!kp)
		return NULL;
	memset(kp, 0, sizeof *kp);
	kp->peer = p;
	kp->remote = remote;
	kp->born = now;
	replay_init(&kp->replay);
	return kp;
}

void keypair_free(struct keypair *kp)
{
	if (!kp)
		return;
	sodium_memzero(kp, sizeof *kp);
	free(kp);
}

static void nonce_of(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	wg_put64(nonce + 4, counter);
}

bool keypair_open(struct keypair *kp, uint8_t *msg, size_t len)
{
	uint8_t nonce[12];
	uint8_t *c = msg + WG_DATA_HEADER_LEN;

	nonce_of(nonce, wg_get64(msg + WG_DATA_COUNTER));
	return crypto_aead_chacha20poly1305_ietf_decrypt(c, NULL, NULL, c,
							 len - WG_DATA_HEADER_LEN, NULL, 0,
							 nonce, kp->recv_key) == 0;
}

size_t keypair_seal(struct keypair *kp, uint8_t *msg, size_t len, size_t mtu)
{
	size_t padded = (len + WG_PADDING - 1) & ~(size_t)(WG_PADDING - 1);

	/* as the Linux module: a packet that fills the MTU is not padded past it */
	if (mtu && len <= mtu && padded > mtu)
		padded = mtu;
	uint8_t nonce[12];
	uint64_t counter = kp->send_counter;

	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return 0;
	kp->send_counter++;
	memset(msg + WG_DATA_HEADER_LEN + len, 0, padded - len);
	msg[0] = WG_DATA;
	msg[1] = msg[2] = msg[3] = 0;
	wg_put32(msg + WG_DATA_RECEIVER, kp->remote);
	wg_put64(msg + WG_DATA_COUNTER, counter);
	nonce_of(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(msg + WG_DATA_HEADER_LEN, NULL,
						  msg + WG_DATA_HEADER_LEN, padded, NULL, 0, NULL,
						  nonce, kp->send_key);
	return WG_DATA_HEADER_LEN + padded + WG_TAG_LEN;
}

bool keypair_alive(const struct keypair *kp, uint64_t now, bool sending)
{
	if (now - kp->born >= WG_REJECT_AFTER_TIME_MS && now >= kp->born)
		return false;
	return !sending || kp->send_counter < WG_REJECT_AFTER_MESSAGES;
}
