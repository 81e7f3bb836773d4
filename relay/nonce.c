/*
 * Stateless nonces. A nonce is 37 printable bytes:
 *
 *   "obMatJos2" | base64(features, 3 bytes) | base64url(expiry u32 BE | tag)
 *
 * where tag is HMAC-SHA256(secret, label | features | expiry | family |
 * port | ip) cut to 14 bytes. The cookie is RFC 8489 s9.2's; the features
 * sit under the HMAC so a man in the middle cannot strip the "Password
 * algorithms" bit (the bid-down attack of s9.2.1).
 *
 * The client's port is bound as well as its IP. RFC 8489 s9.2.4 forbids
 * handing the same nonce to two requests unless they share source IP and
 * port, and a TURN allocation is tied to the 5-tuple anyway. The cost is one
 * 438 round trip when a client's port changes (NAT rebinding, a new TCP
 * connection for RFC 6062 ConnectionBind): the 438 carries a fresh nonce and
 * s9.2.5 obliges the client to retry with it. An IPv4-mapped IPv6 address is
 * bound as the IPv4 address it maps, so dual-stack and IPv4-only sockets
 * across a fleet agree.
 *
 * 14 bytes of tag leave a forger 112 bits to guess online, and keep the 401
 * challenge, which a spoofed source can aim at a victim, small.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "relay/nonce.h"

enum {
	TAG_LEN = 14,
	BODY_LEN = 4 + TAG_LEN,          /* expiry and tag: 18 bytes */
	BODY_B64 = BODY_LEN / 3 * 4,     /* 24 characters, no padding */
	PREFIX_LEN = 9,
	MAC_IN_MAX = 12 + 3 + 4 + 1 + 2 + 16,
	MAC_LEN = 32,
};

static const char prefix[PREFIX_LEN + 1] = "obMatJos2";
static const char label[] = "tern-nonce-1";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Encode n bytes (a multiple of 3) with alphabet abc; writes n / 3 * 4. */
static void encode(const char *abc, const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		*out++ = abc[v >> 18 & 63];
		*out++ = abc[v >> 12 & 63];
		*out++ = abc[v >> 6 & 63];
		*out++ = abc[v & 63];
	}
}

static int sextet(const char *abc, uint8_t c)
{
	const char *hit = c ? memchr(abc, c, 64) : NULL;

	return hit ? (int)(hit - abc) : -1;
}

/* Decode n characters (a multiple of 4) with alphabet abc; false on junk. */
static bool decode(const char *abc, const uint8_t *p, size_t n, uint8_t *out)
{
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int s = sextet(abc, p[i + j]);

			if (s < 0)
				return false;
			v = v << 6 | (uint32_t)s;
		}
		*out++ = (uint8_t)(v >> 16);
		*out++ = (uint8_t)(v >> 8);
		*out++ = (uint8_t)v;
	}
	return true;
}

static bool v4_mapped(const struct stun_addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return a->family == STUN_FAMILY_IPV6 && memcmp(a->ip, pfx, sizeof(pfx)) == 0;
}

/* Lay out the HMAC input; returns its length, 0 for a bad family. */
static size_t mac_input(uint32_t features, uint32_t expiry, const struct stun_addr *src,
			uint8_t buf[MAC_IN_MAX])
{
	const uint8_t *ip = src->ip;
	uint8_t family = src->family;
	size_t iplen = 16, n = sizeof(label) - 1;

	if (v4_mapped(src)) {
		family = STUN_FAMILY_IPV4;
		ip += 12;
	}
	if (family == STUN_FAMILY_IPV4)
		iplen = 4;
	else if (family != STUN_FAMILY_IPV6)
		return 0;
	memcpy(buf, label, n);
	buf[n++] = (uint8_t)(features >> 16);
	buf[n++] = (uint8_t)(features >> 8);
	buf[n++] = (uint8_t)features;
	buf[n++] = (uint8_t)(expiry >> 24);
	buf[n++] = (uint8_t)(expiry >> 16);
	buf[n++] = (uint8_t)(expiry >> 8);
	buf[n++] = (uint8_t)expiry;
	buf[n++] = family;
	buf[n++] = (uint8_t)(src->port >> 8);
	buf[n++] = (uint8_t)src->port;
	memcpy(buf + n, ip, iplen);
	return n + iplen;
}

static bool tag(const uint8_t secret[NONCE_SECRET_LEN], const uint8_t *in, size_t n,
		uint8_t out[TAG_LEN])
{
	uint8_t mac[MAC_LEN] = { 0 };
	size_t maclen = 0;
	bool ok;

	ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, NONCE_SECRET_LEN, in, n,
		       mac, sizeof(mac), &maclen) != NULL &&
	     maclen == MAC_LEN;
	memcpy(out, mac, TAG_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

size_t nonce_make(const uint8_t secret[NONCE_SECRET_LEN], uint64_t now,
		  uint32_t validity_s, uint32_t features, const struct stun_addr *src,
		  char *out, size_t cap)
{
	uint8_t in[MAC_IN_MAX], body[BODY_LEN], feat[3];
	uint64_t expiry = now + validity_s;
	size_t n;

	features &= NONCE_FEATURE_MASK;
	if (cap < NONCE_LEN || expiry > UINT32_MAX)
		return 0;
	n = mac_input(features, (uint32_t)expiry, src, in);
	if (!n)
		return 0;
	body[0] = (uint8_t)(expiry >> 24);
	body[1] = (uint8_t)(expiry >> 16);
	body[2] = (uint8_t)(expiry >> 8);
	body[3] = (uint8_t)expiry;
	if (!tag(secret, in, n, body + 4))
		return 0;
	feat[0] = (uint8_t)(features >> 16);
	feat[1] = (uint8_t)(features >> 8);
	feat[2] = (uint8_t)features;
	memcpy(out, prefix, PREFIX_LEN);
	encode(b64, feat, sizeof(feat), out + PREFIX_LEN);
	encode(b64url, body, sizeof(body), out + NONCE_COOKIE_LEN);
	return NONCE_LEN;
}

bool nonce_cookie_parse(const uint8_t *p, size_t len, uint32_t *features)
{
	uint8_t feat[3];

	if (!p || len < NONCE_COOKIE_LEN || memcmp(p, prefix, PREFIX_LEN) != 0 ||
	    !decode(b64, p + PREFIX_LEN, 4, feat))
		return false;
	if (features)
		*features = (uint32_t)feat[0] << 16 | (uint32_t)feat[1] << 8 | feat[2];
	return true;
}

/* True when the tag in body matches one of the secrets. */
static bool tag_matches(const uint8_t (*secrets)[NONCE_SECRET_LEN], size_t n,
			const uint8_t *in, size_t inlen, const uint8_t body[BODY_LEN])
{
	uint8_t want[TAG_LEN];
	bool hit = false;

	if (n > NONCE_MAX_SECRETS)
		n = NONCE_MAX_SECRETS;
	for (size_t i = 0; i < n && !hit; i++)
		hit = tag(secrets[i], in, inlen, want) &&
		      CRYPTO_memcmp(want, body + 4, TAG_LEN) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	return hit;
}

enum nonce_result nonce_check(const uint8_t (*secrets)[NONCE_SECRET_LEN], size_t n,
			      uint64_t now, const struct stun_addr *src,
			      const uint8_t *nonce, size_t len, uint32_t *features)
{
	uint8_t in[MAC_IN_MAX], body[BODY_LEN];
	uint32_t feat = 0, expiry;
	size_t inlen;

	if (features)
		*features = 0;
	if (!secrets || len != NONCE_LEN || !nonce_cookie_parse(nonce, len, &feat) ||
	    !decode(b64url, nonce + NONCE_COOKIE_LEN, BODY_B64, body))
		return NONCE_BAD;
	expiry = (uint32_t)body[0] << 24 | (uint32_t)body[1] << 16 |
		 (uint32_t)body[2] << 8 | body[3];
	inlen = mac_input(feat, expiry, src, in);
	if (!inlen || !tag_matches(secrets, n, in, inlen, body))
		return NONCE_BAD;
	if (features)
		*features = feat;
	return now >= expiry ? NONCE_STALE : NONCE_OK;
}

const char *nonce_result_name(enum nonce_result r)
{
	switch (r) {
	case NONCE_OK:
		return "ok";
	case NONCE_STALE:
		return "stale";
	case NONCE_BAD:
		return "bad";
	}
	return "unknown";
}
