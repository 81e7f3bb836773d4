/*
 * Long-term credentials. The checks run in RFC 8489 s9.2.4's order, with one
 * change: a nonce that is not ours at all (bad HMAC) is answered 438 at once,
 * before any user lookup or key derivation, because its feature bits cannot
 * be trusted for the PASSWORD-ALGORITHMS step and because it is the cheapest
 * way to turn away a forged request. A stale nonce of ours waits until the
 * end, as s9.2.4 says, so a client with the wrong password hears 401, not an
 * invitation to retry.
 *
 * Static users are two hash tables (by name, and by USERHASH) over one array
 * of keys; passwords are never stored. REST usernames carry their own
 * expiry and are checked against every configured secret in turn.
 *
 * The advertised PASSWORD-ALGORITHMS list is SHA-256 then MD5, unless some
 * user is known only by an MD5 key (a `name:0x...` line): then MD5 comes
 * first, so that a conformant client, which picks the first algorithm it
 * supports (s9.2.5), never picks one that user cannot pass.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "relay/auth.h"

enum {
	MD5_LEN = 16,
	SHA256_LEN = 32,
	SHA1_LEN = 20,
	HEX_KEY_LEN = 2 + 2 * MD5_LEN, /* "0x" and 32 hex digits */
	REST_PASS_LEN = 28,            /* base64 of an HMAC-SHA1 */
	REST_TS_MAX_DIGITS = 19, /* any more could overflow 64 bits */
	ALGS_LEN = 8, /* PASSWORD-ALGORITHMS: two entries, no parameters */
	BUCKETS_MIN = 64,
};

struct user {
	char *name;
	uint32_t name_len, name_hash;
	uint32_t next_name, next_hash; /* index + 1 in the chain; 0 ends it */
	bool has_sha256;
	uint8_t md5[MD5_LEN];
	uint8_t sha256[SHA256_LEN];
	uint8_t userhash[STUN_USERHASH_LEN];
};

struct secret {
	char *v;
	size_t len;
};

struct auth {
	char *realm;
	size_t realm_len;
	struct user *users;
	uint32_t n_users, cap_users, max_users, n_md5_only;
	uint32_t *by_name, *by_hash; /* bucket heads: index + 1, 0 for empty */
	uint32_t mask;               /* buckets - 1; a power of two less one */
	struct secret secrets[AUTH_MAX_SECRETS];
	size_t n_secrets;
	bool rest;
	char sep;
	uint32_t validity;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* FNV-1a: names come from the operator, so flooding a chain is not a worry. */
static uint32_t name_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* A USERHASH is a SHA-256 output: already uniform. */
static uint32_t userhash_hash(const uint8_t *h)
{
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static void wipe_free(void *p, size_t n)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, n);
	free(p);
}

struct auth *auth_new(const char *realm)
{
	struct auth *a;
	size_t len = realm ? strlen(realm) : 0;

	if (len == 0 || len > AUTH_MAX_REALM)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->realm = malloc(len + 1);
	a->by_name = calloc(BUCKETS_MIN, sizeof(uint32_t));
	a->by_hash = calloc(BUCKETS_MIN, sizeof(uint32_t));
	if (!a->realm || !a->by_name || !a->by_hash) {
		auth_free(a);
		return NULL;
	}
	memcpy(a->realm, realm, len + 1);
	a->realm_len = len;
	a->mask = BUCKETS_MIN - 1;
	a->max_users = AUTH_MAX_USERS;
	a->sep = ':';
	a->validity = AUTH_NONCE_VALIDITY;
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->n_users; i++)
		free(a->users[i].name);
	wipe_free(a->users, (size_t)a->cap_users * sizeof(*a->users));
	for (size_t i = 0; i < a->n_secrets; i++)
		wipe_free(a->secrets[i].v, a->secrets[i].len);
	free(a->by_name);
	free(a->by_hash);
	free(a->realm);
	free(a);
}

/* ---- the users table ------------------------------------------------------ */

static void link_user(struct auth *a, uint32_t i)
{
	struct user *u = &a->users[i];
	uint32_t bn = u->name_hash & a->mask, bh = userhash_hash(u->userhash) & a->mask;

	u->next_name = a->by_name[bn];
	a->by_name[bn] = i + 1;
	u->next_hash = a->by_hash[bh];
	a->by_hash[bh] = i + 1;
}

static int rehash(struct auth *a, uint32_t buckets)
{
	uint32_t *bn = calloc(buckets, sizeof(uint32_t));
	uint32_t *bh = calloc(buckets, sizeof(uint32_t));

	if (!bn || !bh) {
		free(bn);
		free(bh);
		return -ENOMEM;
	}
	free(a->by_name);
	free(a->by_hash);
	a->by_name = bn;
	a->by_hash = bh;
	a->mask = buckets - 1;
	for (uint32_t i = 0; i < a->n_users; i++)
		link_user(a, i);
	return 0;
}

/*
 * Room for one more user. The array is moved by hand rather than with
 * realloc() so the old copy of the keys can be wiped.
 */
static int grow(struct auth *a)
{
	struct user *n;
	uint32_t cap;

	if (a->n_users == a->cap_users) {
		cap = a->cap_users ? a->cap_users * 2 : BUCKETS_MIN;
		if (cap > AUTH_MAX_USERS)
			cap = AUTH_MAX_USERS;
		n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		if (a->users)
			memcpy(n, a->users, (size_t)a->n_users * sizeof(*n));
		wipe_free(a->users, (size_t)a->cap_users * sizeof(*n));
		a->users = n;
		a->cap_users = cap;
	}
	if (a->n_users + 1 > a->mask + 1)
		return rehash(a, (a->mask + 1) * 2);
	return 0;
}

static const struct user *find_name(const struct auth *a, const uint8_t *name, size_t len)
{
	uint32_t h = name_hash(name, len);

	for (uint32_t i = a->by_name[h & a->mask]; i; i = a->users[i - 1].next_name) {
		const struct user *u = &a->users[i - 1];

		if (u->name_hash == h && u->name_len == len && memcmp(u->name, name, len) == 0)
			return u;
	}
	return NULL;
}

static const struct user *find_hash(const struct auth *a, const uint8_t *hash)
{
	uint32_t b = userhash_hash(hash) & a->mask;

	for (uint32_t i = a->by_hash[b]; i; i = a->users[i - 1].next_hash) {
		const struct user *u = &a->users[i - 1];

		if (memcmp(u->userhash, hash, STUN_USERHASH_LEN) == 0)
			return u;
	}
	return NULL;
}

/* coturn's convention: "0x" and exactly 32 hex digits is the MD5 key. */
static bool hex_key(const char *s, size_t len, uint8_t out[MD5_LEN])
{
	if (len != HEX_KEY_LEN || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (size_t i = 0; i < MD5_LEN; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)s[2 + 2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)s[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Derive u's keys from pass (or take the hex key). false on a crypto failure. */
static bool set_keys(const struct auth *a, struct user *u, const char *pass, size_t plen)
{
	uint8_t md5[AUTH_KEY_MAX]; /* stun_lt_key() writes up to 32 bytes */
	bool ok;

	if (hex_key(pass, plen, u->md5))
		return true;
	u->has_sha256 = true;
	ok = stun_lt_key(STUN_PWALG_MD5, u->name, u->name_len, a->realm, a->realm_len, pass,
			 plen, md5) == MD5_LEN &&
	     stun_lt_key(STUN_PWALG_SHA256, u->name, u->name_len, a->realm, a->realm_len,
			 pass, plen, u->sha256) == SHA256_LEN;
	memcpy(u->md5, md5, MD5_LEN);
	OPENSSL_cleanse(md5, sizeof(md5));
	return ok;
}

int auth_add_user(struct auth *a, const char *line, char *err, size_t errlen)
{
	const char *colon = line ? strchr(line, ':') : NULL;
	size_t nlen = colon ? (size_t)(colon - line) : 0, plen = colon ? strlen(colon + 1) : 0;
	struct user *u;
	int rc;

	if (!colon || nlen == 0 || nlen > AUTH_MAX_NAME || plen == 0 ||
	    plen > AUTH_MAX_PASSWORD) {
		snprintf(err, errlen, "expected name:password or name:0x<md5 key>, "
			 "a name of 1-%d bytes and a password of 1-%d",
			 AUTH_MAX_NAME, AUTH_MAX_PASSWORD);
		return -EINVAL;
	}
	if (find_name(a, (const uint8_t *)line, nlen)) {
		snprintf(err, errlen, "%.*s: defined twice", (int)(nlen < 64 ? nlen : 64),
			 line);
		return -EEXIST;
	}
	if (a->n_users >= a->max_users) {
		snprintf(err, errlen, "more than %u users", a->max_users);
		return -ENOSPC;
	}
	rc = grow(a);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	u = &a->users[a->n_users];
	memset(u, 0, sizeof(*u));
	u->name = malloc(nlen + 1);
	if (!u->name) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(u->name, line, nlen);
	u->name[nlen] = '\0';
	u->name_len = (uint32_t)nlen;
	u->name_hash = name_hash((const uint8_t *)line, nlen);
	if (!set_keys(a, u, colon + 1, plen)) {
		free(u->name);
		OPENSSL_cleanse(u, sizeof(*u));
		snprintf(err, errlen, "key derivation failed");
		return -ENOMEM;
	}
	stun_userhash(u->name, nlen, a->realm, a->realm_len, u->userhash);
	a->n_md5_only += !u->has_sha256;
	link_user(a, a->n_users++);
	return 0;
}

size_t auth_user_count(const struct auth *a)
{
	return a->n_users;
}

void auth_set_max_users(struct auth *a, uint32_t n)
{
	a->max_users = n < AUTH_MAX_USERS ? n : AUTH_MAX_USERS;
}

/* ---- REST secrets ----------------------------------------------------------- */

static struct secret *find_secret(struct auth *a, const char *s, size_t len)
{
	for (size_t i = 0; i < a->n_secrets; i++)
		if (a->secrets[i].len == len && CRYPTO_memcmp(a->secrets[i].v, s, len) == 0)
			return &a->secrets[i];
	return NULL;
}

int auth_add_secret(struct auth *a, const char *secret)
{
	size_t len = secret ? strlen(secret) : 0;
	struct secret *s;

	if (len == 0 || len > AUTH_MAX_SECRET_LEN)
		return -EINVAL;
	if (find_secret(a, secret, len))
		return -EEXIST;
	if (a->n_secrets >= AUTH_MAX_SECRETS)
		return -ENOSPC;
	s = &a->secrets[a->n_secrets];
	s->v = malloc(len);
	if (!s->v)
		return -ENOMEM;
	memcpy(s->v, secret, len);
	s->len = len;
	a->n_secrets++;
	return 0;
}

int auth_remove_secret(struct auth *a, const char *secret)
{
	struct secret *s = secret ? find_secret(a, secret, strlen(secret)) : NULL;
	size_t i;

	if (!s)
		return -ENOENT;
	i = (size_t)(s - a->secrets);
	wipe_free(s->v, s->len);
	memmove(s, s + 1, (a->n_secrets - i - 1) * sizeof(*s));
	a->n_secrets--;
	memset(&a->secrets[a->n_secrets], 0, sizeof(*s));
	return 0;
}

void auth_use_secret(struct auth *a, bool on)
{
	a->rest = on;
}

void auth_set_separator(struct auth *a, char sep)
{
	a->sep = sep;
}

void auth_set_nonce_validity(struct auth *a, uint32_t seconds)
{
	a->validity = seconds ? seconds : AUTH_NONCE_VALIDITY;
}

/* ---- checking a request ------------------------------------------------------ */

/* Our PASSWORD-ALGORITHMS value, in order of preference (RFC 8489 s14.11). */
static size_t put_algs(const struct auth *a, uint8_t out[ALGS_LEN])
{
	uint16_t first = a->n_md5_only ? STUN_PWALG_MD5 : STUN_PWALG_SHA256;
	uint16_t second = a->n_md5_only ? STUN_PWALG_SHA256 : STUN_PWALG_MD5;

	memset(out, 0, ALGS_LEN);
	out[0] = (uint8_t)(first >> 8);
	out[1] = (uint8_t)first;
	out[4] = (uint8_t)(second >> 8);
	out[5] = (uint8_t)second;
	return ALGS_LEN;
}

/*
 * RFC 8489 s9.2.4, the PASSWORD-ALGORITHMS step: which algorithm derives the
 * key, or false for a 400. Only a nonce with the "Password algorithms" bit
 * asks for it; a client that ignores the bit (RFC 5389) sends neither
 * attribute and gets MD5.
 */
static bool negotiate(const struct auth *a, const struct stun_msg *m, uint32_t features,
		      uint16_t *alg)
{
	const struct stun_attr *pa = &m->a[SA_PASSWORD_ALGORITHM];
	const struct stun_attr *pas = &m->a[SA_PASSWORD_ALGORITHMS];
	uint8_t ours[ALGS_LEN];
	size_t n = put_algs(a, ours);

	*alg = STUN_PWALG_MD5;
	if (!(features & NONCE_FEATURE_PASSWORD_ALGORITHMS) || (!pa->v && !pas->v))
		return true;
	if (!pa->v || !pas->v || pas->len != n || memcmp(pas->v, ours, n) != 0)
		return false;
	/* s18.5.1: neither MD5 nor SHA-256 takes parameters */
	if (pa->len != 4 || get16(pa->v + 2) != 0)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		if (get16(pa->v) == get16(ours + i)) {
			*alg = get16(ours + i);
			return true;
		}
	}
	return false;
}

static bool verify(const struct stun_msg *m, bool sha256, const uint8_t *key, size_t len)
{
	return sha256 ? stun_check_integrity_sha256(m, key, len)
		      : stun_check_integrity(m, key, len);
}

/* A REST username: decimal expiry, then the separator or the end. */
static bool rest_expiry(const struct auth *a, const uint8_t *u, size_t len, uint64_t *ts)
{
	size_t i = 0;

	*ts = 0;
	for (; i < len && u[i] >= '0' && u[i] <= '9'; i++) {
		if (i == REST_TS_MAX_DIGITS)
			return false;
		*ts = *ts * 10 + (uint64_t)(u[i] - '0');
	}
	return i > 0 && (i == len || u[i] == (uint8_t)a->sep);
}

/*
 * Try each REST secret: password = base64(HMAC-SHA1(secret, username)),
 * key = H(username:realm:password). On a match the key is left in r.
 */
static bool verify_rest(const struct auth *a, const struct stun_msg *m, uint16_t alg,
			bool sha256, const uint8_t *user, size_t ulen, struct auth_result *r)
{
	uint8_t mac[SHA1_LEN], pass[REST_PASS_LEN + 1];
	size_t maclen = 0, keylen = 0;
	bool ok = false;

	for (size_t i = 0; i < a->n_secrets && !ok; i++) {
		const struct secret *s = &a->secrets[i];

		if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, s->v, s->len, user, ulen, mac,
			       sizeof(mac), &maclen) ||
		    maclen != SHA1_LEN ||
		    EVP_EncodeBlock(pass, mac, SHA1_LEN) != REST_PASS_LEN)
			continue;
		keylen = stun_lt_key(alg, (const char *)user, ulen, a->realm, a->realm_len,
				     (const char *)pass, REST_PASS_LEN, r->key);
		ok = keylen && verify(m, sha256, r->key, keylen);
	}
	r->keylen = ok ? keylen : 0;
	if (!ok)
		OPENSSL_cleanse(r->key, sizeof(r->key));
	OPENSSL_cleanse(mac, sizeof(mac));
	OPENSSL_cleanse(pass, sizeof(pass));
	return ok;
}

/* Find the user's key and check the integrity; AUTH_OK leaves the key in r. */
static enum auth_fail credentials(const struct auth *a, const struct stun_msg *m,
				  uint64_t now, uint16_t alg, struct auth_result *r)
{
	const struct stun_attr *name = &m->a[SA_USERNAME];
	bool sha256 = m->a[SA_MESSAGE_INTEGRITY_SHA256].v != NULL;
	const struct user *u;
	const uint8_t *key;
	uint64_t ts;

	if (name->v && a->rest && rest_expiry(a, name->v, name->len, &ts)) {
		if (ts < now)
			return AUTH_EXPIRED;
		if (!verify_rest(a, m, alg, sha256, name->v, name->len, r))
			return a->n_secrets ? AUTH_BAD_INTEGRITY : AUTH_UNKNOWN_USER;
		r->user = name->v;
		r->user_len = name->len;
		return AUTH_OK;
	}
	u = name->v ? find_name(a, name->v, name->len) : find_hash(a, m->a[SA_USERHASH].v);
	if (!u)
		return AUTH_UNKNOWN_USER;
	key = alg == STUN_PWALG_SHA256 ? (u->has_sha256 ? u->sha256 : NULL) : u->md5;
	r->keylen = alg == STUN_PWALG_SHA256 ? SHA256_LEN : MD5_LEN;
	if (!key)
		return AUTH_NO_KEY;
	if (!verify(m, sha256, key, r->keylen))
		return AUTH_BAD_INTEGRITY;
	memcpy(r->key, key, r->keylen);
	r->user = (const uint8_t *)u->name;
	r->user_len = u->name_len;
	return AUTH_OK;
}

static int fail(struct auth_result *r, int code, enum auth_fail reason)
{
	auth_result_wipe(r);
	r->code = code;
	r->reason = reason;
	return code;
}

int auth_check(const struct auth *a, const struct stun_msg *m, uint64_t now,
	       const struct stun_addr *src, const uint8_t (*nonce_secrets)[NONCE_SECRET_LEN],
	       size_t n_secrets, struct auth_result *r)
{
	const struct stun_attr *realm = &m->a[SA_REALM], *nonce = &m->a[SA_NONCE];
	uint32_t features = 0;
	enum nonce_result nr;
	enum auth_fail f;
	uint16_t alg;

	memset(r, 0, sizeof(*r));
	if (!m->a[SA_MESSAGE_INTEGRITY].v && !m->a[SA_MESSAGE_INTEGRITY_SHA256].v)
		return fail(r, STUN_ERR_UNAUTHORIZED, AUTH_NO_INTEGRITY);
	if ((!m->a[SA_USERNAME].v &&
	     m->a[SA_USERHASH].len != STUN_USERHASH_LEN) || !realm->v || !nonce->v)
		return fail(r, STUN_ERR_BAD_REQUEST, AUTH_MISSING);
	nr = nonce_check(nonce_secrets, n_secrets, now, src, nonce->v, nonce->len, &features);
	if (nr == NONCE_BAD)
		return fail(r, STUN_ERR_STALE_NONCE, AUTH_BAD_NONCE);
	if (!negotiate(a, m, features, &alg))
		return fail(r, STUN_ERR_BAD_REQUEST, AUTH_BAD_ALGORITHM);
	if (realm->len != a->realm_len || memcmp(realm->v, a->realm, a->realm_len) != 0)
		return fail(r, STUN_ERR_UNAUTHORIZED, AUTH_WRONG_REALM);
	f = credentials(a, m, now, alg, r);
	if (f != AUTH_OK)
		return fail(r, STUN_ERR_UNAUTHORIZED, f);
	/* s9.2.4: the stale check comes last, after the credentials */
	if (nr == NONCE_STALE)
		return fail(r, STUN_ERR_STALE_NONCE, AUTH_STALE_NONCE);
	r->algorithm = alg;
	r->sha256_integrity = m->a[SA_MESSAGE_INTEGRITY_SHA256].v != NULL;
	return 0;
}

void auth_result_wipe(struct auth_result *r)
{
	OPENSSL_cleanse(r, sizeof(*r));
}

/* ---- the challenge ------------------------------------------------------------ */

void auth_put_challenge(const struct auth *a, struct stun_builder *b,
			const uint8_t secret[NONCE_SECRET_LEN], uint64_t now,
			const struct stun_addr *src)
{
	uint8_t algs[ALGS_LEN];
	char nonce[NONCE_LEN];
	size_t n;

	/* s9.2.4: REALM and NONCE always; the feature bit with the list */
	n = nonce_make(secret, now, a->validity, NONCE_FEATURE_PASSWORD_ALGORITHMS, src,
		       nonce, sizeof(nonce));
	if (!n) {
		b->overflow = true; /* sticky: stun_build_finish() reports it */
		return;
	}
	stun_put(b, STUN_ATTR_REALM, a->realm, a->realm_len);
	stun_put(b, STUN_ATTR_NONCE, nonce, n);
	stun_put(b, STUN_ATTR_PASSWORD_ALGORITHMS, algs, put_algs(a, algs));
}

static size_t attr_len(size_t vlen)
{
	return STUN_ATTR_HEADER_LEN + ((vlen + 3) & ~(size_t)3);
}

size_t auth_challenge_len(const struct auth *a, bool fingerprint)
{
	return STUN_HEADER_LEN + attr_len(4) + attr_len(a->realm_len) + attr_len(NONCE_LEN) +
	       attr_len(ALGS_LEN) + (fingerprint ? attr_len(STUN_FINGERPRINT_LEN) : 0);
}

const char *auth_fail_name(enum auth_fail f)
{
	static const char *const names[AUTH_FAIL_COUNT] = {
		[AUTH_OK] = "ok",
		[AUTH_NO_INTEGRITY] = "no_integrity",
		[AUTH_MISSING] = "missing_attribute",
		[AUTH_BAD_ALGORITHM] = "bad_algorithm",
		[AUTH_BAD_NONCE] = "bad_nonce",
		[AUTH_STALE_NONCE] = "stale_nonce",
		[AUTH_WRONG_REALM] = "wrong_realm",
		[AUTH_UNKNOWN_USER] = "unknown_user",
		[AUTH_EXPIRED] = "expired",
		[AUTH_NO_KEY] = "no_key",
		[AUTH_BAD_INTEGRITY] = "bad_integrity",
	};

	return (unsigned)f < AUTH_FAIL_COUNT ? names[f] : "unknown";
}
