/*
 * HASH, HMAC, MAC and KDF over OpenSSL 3's BLAKE2s (see blake2s.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tunnel/blake2s.h"

struct blake2s {
	EVP_MD *md;
	EVP_MD_CTX *md_ctx;
	EVP_MAC *hmac, *mac;
	EVP_MAC_CTX *hmac_ctx, *mac_ctx;
};

void blake2s_free(struct blake2s *b)
{
	if (!b)
		return;
	EVP_MAC_CTX_free(b->hmac_ctx);
	EVP_MAC_CTX_free(b->mac_ctx);
	EVP_MAC_free(b->hmac);
	EVP_MAC_free(b->mac);
	EVP_MD_CTX_free(b->md_ctx);
	EVP_MD_free(b->md);
	free(b);
}

struct blake2s *blake2s_new(void)
{
	static char name[] = "BLAKE2S-256";
	struct blake2s *b = calloc(1, sizeof *b);
	OSSL_PARAM digest[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
		OSSL_PARAM_construct_end(),
	};

	if (!b)
		return NULL;
	b->md = EVP_MD_fetch(NULL, name, NULL);
	b->md_ctx = EVP_MD_CTX_new();
	b->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	b->mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	b->hmac_ctx = b->hmac ? EVP_MAC_CTX_new(b->hmac) : NULL;
	b->mac_ctx = b->mac ? EVP_MAC_CTX_new(b->mac) : NULL;
	if (!b->md || !b->md_ctx || !b->hmac_ctx || !b->mac_ctx ||
	    !EVP_MAC_CTX_set_params(b->hmac_ctx, digest)) {
		blake2s_free(b);
		return NULL;
	}
	return b;
}

bool blake2s_hash(struct blake2s *b, uint8_t out[32], const uint8_t *a, size_t alen,
		  const uint8_t *c, size_t clen)
{
	return EVP_DigestInit_ex2(b->md_ctx, b->md, NULL) &&
	       EVP_DigestUpdate(b->md_ctx, a, alen) &&
	       (!clen || EVP_DigestUpdate(b->md_ctx, c, clen)) &&
	       EVP_DigestFinal_ex(b->md_ctx, out, NULL);
}

bool blake2s_hmac(struct blake2s *b, uint8_t out[32], const uint8_t *key, size_t keylen,
		  const uint8_t *in, size_t inlen)
{
	static const uint8_t none[1];
	size_t n = 0;

	/* a NULL key would mean "the previous one" to OpenSSL */
	return EVP_MAC_init(b->hmac_ctx, keylen ? key : none, keylen, NULL) &&
	       EVP_MAC_update(b->hmac_ctx, in, inlen) &&
	       EVP_MAC_final(b->hmac_ctx, out, &n, 32) && n == 32;
}

bool blake2s_mac(struct blake2s *b, uint8_t out[16], const uint8_t *key, size_t keylen,
		 const uint8_t *in, size_t inlen)
{
	size_t size = 16, n = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_end(),
	};

	return EVP_MAC_init(b->mac_ctx, key, keylen, params) &&
	       EVP_MAC_update(b->mac_ctx, in, inlen) &&
	       EVP_MAC_final(b->mac_ctx, out, &n, 16) && n == 16;
}

bool blake2s_kdf(struct blake2s *b, const uint8_t ck[32], const uint8_t *in, size_t inlen,
		 uint8_t t1[32], uint8_t *t2, uint8_t *t3)
{
	uint8_t t[32], o[3][33];
	bool ok;

	ok = blake2s_hmac(b, t, ck, 32, in, inlen);
	o[0][0] = 1;
	ok = ok && blake2s_hmac(b, o[0], t, 32, o[0], 1);
	if (ok && (t2 || t3)) {
		o[0][32] = 2;
		ok = blake2s_hmac(b, o[1], t, 32, o[0], 33);
	}
	if (ok && t3) {
		o[1][32] = 3;
		ok = blake2s_hmac(b, o[2], t, 32, o[1], 33);
	}
	if (ok) {
		memcpy(t1, o[0], 32);
		if (t2)
			memcpy(t2, o[1], 32);
		if (t3)
			memcpy(t3, o[2], 32);
	}
	OPENSSL_cleanse(t, sizeof t);
	OPENSSL_cleanse(o, sizeof o);
	return ok;
}
