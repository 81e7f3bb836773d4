/*
 * Message integrity: HMAC-SHA1 MESSAGE-INTEGRITY, HMAC-SHA256 MESSAGE-
 * INTEGRITY-SHA256, FINGERPRINT on the build side, and the long-term key
 * and USERHASH derivations. The HMAC covers the message as if its header
 * length ended just after the integrity attribute (RFC 8489 s14.5), which
 * differs from the length on the wire whenever attributes follow. Rather
 * than copy or patch the caller's const buffer we feed the HMAC the type,
 * the adjusted length, and then the rest, so verification allocates
 * nothing of its own. Only OpenSSL 3 EVP interfaces are used, comparisons
 * are constant-time, and every digest we hold on the stack is wiped.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

#include "stun/bytes.h"
#include "stun/stun.h"

enum {
	MD5_LEN = 16,
	SHA256_LEN = 32,
	MAC_MAX = 32,
};


/*
 * HMAC over msg[0..upto) with the header length replaced by adj_len. The
 * digest name is a mutable array because OSSL_PARAM takes a char *.
 */
static bool hmac(char *digest, const uint8_t *key, size_t keylen, const uint8_t *msg,
		 size_t upto, uint16_t adj_len, uint8_t out[MAC_MAX])
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	EVP_MAC *mac = NULL;
	uint8_t len_be[2];
	size_t outlen = 0;
	bool ok = false;

	/* An empty key makes HMAC meaningless, and OpenSSL may refuse it. */
	if (!key || keylen == 0 || upto < STUN_HEADER_LEN)
		return false;
	put16(len_be, adj_len);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		goto out;
	ctx = EVP_MAC_CTX_new(mac);
	if (!ctx || !EVP_MAC_init(ctx, key, keylen, params))
		goto out;
	if (!EVP_MAC_update(ctx, msg, 2) || !EVP_MAC_update(ctx, len_be, 2) ||
	    !EVP_MAC_update(ctx, msg + 4, upto - 4))
		goto out;
	ok = EVP_MAC_final(ctx, out, &outlen, MAC_MAX) == 1;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* Recompute the MAC for the attribute at off and compare its a->len bytes. */
static bool check(const struct stun_msg *m, char *digest, uint16_t off,
		  const struct stun_attr *a, const uint8_t *key, size_t keylen)
{
	uint8_t mac[MAC_MAX];
	uint16_t adj_len;
	bool ok;

	if (!m->raw || !off || !a->v || a->len > MAC_MAX)
		return false;
	/* The length as it was when the sender appended this attribute. */
	adj_len = (uint16_t)(off + STUN_ATTR_HEADER_LEN + a->len - STUN_HEADER_LEN);
	ok = hmac(digest, key, keylen, m->raw, off, adj_len, mac) &&
	     CRYPTO_memcmp(mac, a->v, a->len) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

bool stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen)
{
	char digest[] = "SHA1";
	const struct stun_attr *a = &m->a[SA_MESSAGE_INTEGRITY];

	/* RFC 8489 s14.5: exactly 20 bytes; the parser has already made sure. */
	if (a->len != STUN_HMAC_SHA1_LEN)
		return false;
	return check(m, digest, m->mi_off, a, key, keylen);
}

bool stun_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key,
				 size_t keylen)
{
	char digest[] = "SHA256";
	const struct stun_attr *a = &m->a[SA_MESSAGE_INTEGRITY_SHA256];

	/* RFC 8489 s14.6: truncated to 16..32 bytes in steps of 4. */
	if (a->len < STUN_HMAC_SHA256_MIN_LEN || a->len > STUN_HMAC_SHA256_LEN ||
	    a->len % 4)
		return false;
	return check(m, digest, m->mi256_off, a, key, keylen);
}

static void put_mac(struct stun_builder *b, char *digest, uint16_t type,
		    const uint8_t *key, size_t keylen, size_t maclen)
{
	uint8_t mac[MAC_MAX];
	size_t adj_len = b->len - STUN_HEADER_LEN + STUN_ATTR_HEADER_LEN + maclen;

	if (b->overflow)
		return;
	if (b->len + STUN_ATTR_HEADER_LEN + maclen > b->cap || adj_len > UINT16_MAX ||
	    !hmac(digest, key, keylen, b->buf, b->len, (uint16_t)adj_len, mac)) {
		b->overflow = true;
		goto out;
	}
	stun_put(b, type, mac, maclen);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
}

void stun_put_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen)
{
	char digest[] = "SHA1";

	put_mac(b, digest, STUN_ATTR_MESSAGE_INTEGRITY, key, keylen, STUN_HMAC_SHA1_LEN);
}

void stun_put_integrity_sha256(struct stun_builder *b, const uint8_t *key,
			       size_t keylen, size_t len)
{
	char digest[] = "SHA256";

	if (len < STUN_HMAC_SHA256_MIN_LEN || len > STUN_HMAC_SHA256_LEN || len % 4) {
		b->overflow = true; /* s14.6 allows no other truncation */
		return;
	}
	put_mac(b, digest, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, key, keylen, len);
}

void stun_put_fingerprint(struct stun_builder *b)
{
	size_t adj_len = b->len - STUN_HEADER_LEN + STUN_ATTR_HEADER_LEN +
			 STUN_FINGERPRINT_LEN;
	uint8_t len_be[2];
	uLong crc;

	if (b->overflow)
		return;
	if (adj_len > UINT16_MAX) {
		b->overflow = true;
		return;
	}
	/* RFC 8489 s14.7: the length already counts FINGERPRINT itself. */
	put16(len_be, (uint16_t)adj_len);
	crc = crc32(0L, b->buf, 2);
	crc = crc32(crc, len_be, 2);
	crc = crc32(crc, b->buf + 4, (uInt)(b->len - 4));
	stun_put_u32(b, STUN_ATTR_FINGERPRINT, (uint32_t)crc ^ STUN_FINGERPRINT_XOR);
}

/*
 * H(a ":" b), or H(a ":" b ":" c) when c is given, with the pieces fed in
 * turn so the password is never copied into a joined buffer.
 */
static bool digest3(const EVP_MD *md, const char *a, size_t alen, const char *b,
		    size_t blen, const char *c, size_t clen, uint8_t *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) &&
	     EVP_DigestUpdate(ctx, a, alen) && EVP_DigestUpdate(ctx, ":", 1) &&
	     EVP_DigestUpdate(ctx, b, blen) &&
	     (!c || (EVP_DigestUpdate(ctx, ":", 1) && EVP_DigestUpdate(ctx, c, clen))) &&
	     EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx); /* cleanses the hash state */
	return ok;
}

size_t stun_lt_key(uint16_t algorithm, const char *user, size_t ulen, const char *realm,
		   size_t rlen, const char *pass, size_t plen, uint8_t out[32])
{
	const EVP_MD *md;
	size_t keylen;

	/* RFC 8489 s9.2.2: MD5 (the default) or SHA-256 of user:realm:pass. */
	if (algorithm == STUN_PWALG_MD5) {
		md = EVP_md5();
		keylen = MD5_LEN;
	} else if (algorithm == STUN_PWALG_SHA256) {
		md = EVP_sha256();
		keylen = SHA256_LEN;
	} else {
		return 0;
	}
	if (!pass || !digest3(md, user, ulen, realm, rlen, pass, plen, out)) {
		OPENSSL_cleanse(out, SHA256_LEN);
		return 0;
	}
	return keylen;
}

void stun_userhash(const char *user, size_t ulen, const char *realm, size_t rlen,
		   uint8_t out[STUN_USERHASH_LEN])
{
	/* RFC 8489 s14.4: SHA-256 of "username:realm". */
	if (!digest3(EVP_sha256(), user, ulen, realm, rlen, NULL, 0, out))
		memset(out, 0, STUN_USERHASH_LEN);
}
