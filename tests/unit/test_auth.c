/*
 * Long-term credentials without sockets: requests are built with the codec,
 * signed with keys computed here independently of relay/auth.c, and fed to
 * auth_check(). The fixed keys and REST passwords below were computed with
 * Python's hashlib/hmac, and the long-term keys are tied to the published
 * RFC 5769 s2.4 and RFC 8489 B.1 vectors by checking those vectors' own
 * integrity with them, so a wrong derivation in auth.c cannot hide behind
 * the same wrong derivation in the test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/vectors.h"

#include "relay/auth.h"

/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9: RFC 5769 s2.4's user */
#define LT_USER "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9"
#define REALM "example.org"
#define LEN(s) (sizeof(s) - 1)

/* MD5 and SHA-256 of LT_USER ":example.org:TheMatrIX" */
static const char md5_hex[] = "0xe8ca7ad59d5eb0518e312911d2dab2a9";
static const uint8_t md5_key[16] = {
	0xe8, 0xca, 0x7a, 0xd5, 0x9d, 0x5e, 0xb0, 0x51,
	0x8e, 0x31, 0x29, 0x11, 0xd2, 0xda, 0xb2, 0xa9,
};
static const uint8_t sha256_key[32] = {
	0xdd, 0x29, 0x5a, 0x61, 0x3b, 0x90, 0x58, 0xc3, 0xc2, 0x3d, 0x6d, 0xc7,
	0x16, 0x5b, 0xda, 0x07, 0x23, 0x04, 0xd9, 0x89, 0xc9, 0xd0, 0xaf, 0x3a,
	0x8c, 0x7e, 0x18, 0x4b, 0x4f, 0x9b, 0xb4, 0xa1,
};



/* TURN REST: base64(HMAC-SHA1("north", username)) */
#define REST_USER "1700000600:alice"
#define REST_PASS "gthUwOpcRoLI0MMCziCEBOWYnpo="
#define REST_USER_BARE "1700000600"
#define REST_PASS_BARE "pL3AD+pdSi0Td8xk/uSD7cXdsYc="

enum { NOW = 1700000000 };

static const uint8_t tid[STUN_TID_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
static const uint8_t nonce_keys[2][NONCE_SECRET_LEN] = {
	{ 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb },
	{ 0xfe, 0xed },
};
static const struct stun_addr client = {
	.family = STUN_FAMILY_IPV4, .port = 40000, .ip = { 192, 0, 2, 7 } };
static const struct stun_addr stranger = {
	.family = STUN_FAMILY_IPV4, .port = 40000, .ip = { 192, 0, 2, 8 } };

/* PASSWORD-ALGORITHMS values: ours by default, and reordered */
static const uint8_t algs_sha_md5[8] = { 0, 2, 0, 0, 0, 1, 0, 0 };
static const uint8_t algs_md5_sha[8] = { 0, 1, 0, 0, 0, 2, 0, 0 };

enum integrity { NO_MI, MI, MI256 };

/* What goes into a test request; zero fields are left out. */
struct req {
	const char *user;
	bool userhash;   /* send USERHASH of user instead of USERNAME */
	const char *realm;
	const char *nonce; /* NULL: a fresh one for client at NOW */
	bool no_nonce;
	const uint8_t *algs; /* PASSWORD-ALGORITHMS */
	size_t algs_len;
	int alg;         /* PASSWORD-ALGORITHM, 0 for none */
	enum integrity mi;
	const uint8_t *key;
	size_t keylen;
};

struct fixture {
	struct auth *a;
	uint8_t buf[1024];
	struct stun_msg m;
	struct auth_result r;
	char nonce[NONCE_LEN + 1];
};

static int setup(void **state)
{
	static struct fixture f;
	char err[256];

	memset(&f, 0, sizeof(f));
	f.a = auth_new(REALM);
	assert_non_null(f.a);
	assert_int_equal(auth_add_user(f.a, LT_USER ":TheMatrIX", err, sizeof(err)), 0);
	assert_int_equal(auth_add_user(f.a, "bob:hunter2", err, sizeof(err)), 0);
	assert_int_equal(nonce_make(nonce_keys[0], NOW, 600, NONCE_FEATURE_PASSWORD_ALGORITHMS,
				    &client, f.nonce, NONCE_LEN),
			 NONCE_LEN);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	auth_free(f->a);
	return 0;
}

static void build(struct fixture *f, const struct req *q)
{
	const char *nonce = q->nonce ? q->nonce : f->nonce;
	struct stun_builder b;
	uint8_t hash[STUN_USERHASH_LEN], pa[4] = { 0 };
	size_t len;

	stun_build_init(&b, f->buf, sizeof(f->buf), stun_type(TURN_ALLOCATE, STUN_REQUEST),
			tid);
	stun_put_u32(&b, TURN_ATTR_REQUESTED_TRANSPORT, (uint32_t)TURN_TRANSPORT_UDP << 24);
	if (q->user && q->userhash) {
		stun_userhash(q->user, strlen(q->user), REALM, LEN(REALM), hash);
		stun_put(&b, STUN_ATTR_USERHASH, hash, sizeof(hash));
	} else if (q->user) {
		stun_put(&b, STUN_ATTR_USERNAME, q->user, strlen(q->user));
	}
	if (q->realm)
		stun_put(&b, STUN_ATTR_REALM, q->realm, strlen(q->realm));
	if (!q->no_nonce)
		stun_put(&b, STUN_ATTR_NONCE, nonce, strlen(nonce));
	if (q->algs)
		stun_put(&b, STUN_ATTR_PASSWORD_ALGORITHMS, q->algs, q->algs_len);
	if (q->alg) {
		pa[1] = (uint8_t)q->alg;
		stun_put(&b, STUN_ATTR_PASSWORD_ALGORITHM, pa, sizeof(pa));
	}
	if (q->mi == MI)
		stun_put_integrity(&b, q->key, q->keylen);
	else if (q->mi == MI256)
		stun_put_integrity_sha256(&b, q->key, q->keylen, 32);
	stun_put_fingerprint(&b);
	len = stun_build_finish(&b);
	assert_true(len > 0);
	assert_int_equal(stun_parse(&f->m, f->buf, len), STUN_OK);
}

/* Build q, check it from src at now; returns the code and leaves f->r. */
static int run_at(struct fixture *f, const struct req *q, const struct stun_addr *src,
		  uint64_t now)
{
	build(f, q);
	return auth_check(f->a, &f->m, now, src, nonce_keys, 2, &f->r);
}

static int run(struct fixture *f, const struct req *q)
{
	return run_at(f, q, &client, NOW);
}

/* The request a RFC 5389 client sends after the 401: MD5 key, MI. */
static struct req lt_req(void)
{
	return (struct req){ .user = LT_USER, .realm = REALM, .mi = MI, .key = md5_key,
			     .keylen = sizeof(md5_key) };
}

/* The request an RFC 8489 client sends: SHA-256 negotiated, MI-SHA256. */
static struct req lt_req_sha256(void)
{
	return (struct req){ .user = LT_USER, .realm = REALM, .algs = algs_sha_md5,
			     .algs_len = 8, .alg = STUN_PWALG_SHA256, .mi = MI256,
			     .key = sha256_key, .keylen = sizeof(sha256_key) };
}

static void assert_fail(struct fixture *f, int code, enum auth_fail reason)
{
	static const uint8_t zero[AUTH_KEY_MAX];

	assert_int_equal(f->r.code, code);
	assert_string_equal(auth_fail_name(f->r.reason), auth_fail_name(reason));
	/* nothing of the key survives a refusal */
	assert_memory_equal(f->r.key, zero, sizeof(zero));
	assert_int_equal(f->r.keylen, 0);
	assert_null(f->r.user);
}

static void assert_ok(struct fixture *f, const uint8_t *key, size_t keylen,
		      const char *user)
{
	assert_int_equal(f->r.code, 0);
	assert_int_equal(f->r.reason, AUTH_OK);
	assert_int_equal(f->r.keylen, keylen);
	assert_memory_equal(f->r.key, key, keylen);
	assert_int_equal(f->r.user_len, strlen(user));
	assert_memory_equal(f->r.user, user, strlen(user));
}

/* ---- the published vectors -------------------------------------------------- */

/* The fixed keys really are the keys of the RFC vectors. */
static void test_vector_keys(void **state)
{
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, rfc5769_longterm, sizeof(rfc5769_longterm)), STUN_OK);
	assert_true(stun_check_integrity(&m, md5_key, sizeof(md5_key)));
	assert_int_equal(stun_parse(&m, rfc8489_b1, sizeof(rfc8489_b1)), STUN_OK);
	assert_true(stun_check_integrity_sha256(&m, sha256_key, sizeof(sha256_key)));
}

/* RFC 5769 s2.4's user, added with a password, passes with its MD5 key. */
static void test_static_password(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();

	assert_int_equal(run(f, &q), 0);
	assert_ok(f, md5_key, 16, LT_USER);
	assert_int_equal(f->r.algorithm, STUN_PWALG_MD5);
	assert_false(f->r.sha256_integrity);
	auth_result_wipe(&f->r);
	assert_int_equal(f->r.keylen, 0);
}

/* The same user given as turnadmin's 0x key. */
static void test_static_hex_key(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();
	char line[128], err[256];

	auth_free(f->a);
	f->a = auth_new(REALM);
	snprintf(line, sizeof(line), "%s:%s", LT_USER, md5_hex);
	assert_int_equal(auth_add_user(f->a, line, err, sizeof(err)), 0);
	assert_int_equal(run(f, &q), 0);
	assert_ok(f, md5_key, 16, LT_USER);
	/* upper-case hex is the same key */
	auth_free(f->a);
	f->a = auth_new(REALM);
	assert_int_equal(auth_add_user(f->a, LT_USER ":0XE8CA7AD59D5EB0518E312911D2DAB2A9",
				       err, sizeof(err)),
			 0);
	assert_int_equal(run(f, &q), 0);
}

/* The vector itself carries a nonce that is not ours: 438, a fresh one. */
static void test_rfc5769_foreign_nonce(void **state)
{
	struct fixture *f = *state;
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, rfc5769_longterm, sizeof(rfc5769_longterm)), STUN_OK);
	assert_int_equal(auth_check(f->a, &m, NOW, &client, nonce_keys, 2, &f->r), 438);
	assert_fail(f, 438, AUTH_BAD_NONCE);
}

/* RFC 8489 B.1's shape with our nonce: USERHASH, SHA-256, MI-SHA256. */
static void test_userhash_sha256(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req_sha256();

	q.userhash = true;
	assert_int_equal(run(f, &q), 0);
	assert_ok(f, sha256_key, 32, LT_USER);
	assert_int_equal(f->r.algorithm, STUN_PWALG_SHA256);
	assert_true(f->r.sha256_integrity);
	/* an unknown USERHASH */
	q.user = "nobody";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER);
}

static void test_mi_sha256_flagged(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();

	/* MD5 key (no negotiation) but MESSAGE-INTEGRITY-SHA256 */
	q.mi = MI256;
	assert_int_equal(run(f, &q), 0);
	assert_ok(f, md5_key, 16, LT_USER);
	assert_true(f->r.sha256_integrity);
	/* SHA-256 negotiated, answered with plain MESSAGE-INTEGRITY */
	q = lt_req_sha256();
	q.mi = MI;
	assert_int_equal(run(f, &q), 0);
	assert_false(f->r.sha256_integrity);
	assert_int_equal(f->r.keylen, 32);
	/* a SHA-256 MAC made with the wrong key */
	q = lt_req_sha256();
	q.key = md5_key;
	q.keylen = 16;
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
}

/* ---- every refusal ---------------------------------------------------------- */

static void test_no_integrity_401(void **state)
{
	struct fixture *f = *state;
	struct req q = { 0 };

	q.no_nonce = true;
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_NO_INTEGRITY);
	/* credentials without integrity are still a first request */
	q = lt_req();
	q.mi = NO_MI;
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_NO_INTEGRITY);
}

static void test_missing_400(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();

	q.user = NULL;
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_MISSING);
	q = lt_req();
	q.realm = NULL;
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_MISSING);
	q = lt_req();
	q.no_nonce = true;
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_MISSING);
}

static void test_bad_nonce_438(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();
	char other[NONCE_LEN + 1] = { 0 };

	/* a nonce issued to another client */
	assert_int_equal(run_at(f, &q, &stranger, NOW), 438);
	assert_fail(f, 438, AUTH_BAD_NONCE);
	/* garbage, and RFC 5769's nonce */
	q.nonce = "obMatJos2gAAAnot-a-real-nonce-at-all!";
	assert_int_equal(run(f, &q), 438);
	assert_fail(f, 438, AUTH_BAD_NONCE);
	q.nonce = "f//499k954d6OL34oL9FSTvy64sA";
	assert_int_equal(run(f, &q), 438);
	/* forged before anything else: even a wrong password hears 438 */
	q = lt_req();
	q.key = sha256_key;
	assert_int_equal(run_at(f, &q, &stranger, NOW), 438);
	/* a nonce made with a secret we no longer hold */
	assert_int_equal(nonce_make((const uint8_t[NONCE_SECRET_LEN]){ 7 }, NOW, 600,
				    NONCE_FEATURE_PASSWORD_ALGORITHMS, &client, other,
				    NONCE_LEN),
			 NONCE_LEN);
	q = lt_req();
	q.nonce = other;
	assert_int_equal(run(f, &q), 438);
	assert_fail(f, 438, AUTH_BAD_NONCE);
}

static void test_stale_nonce_438(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();

	assert_int_equal(run_at(f, &q, &client, NOW + 599), 0);
	assert_int_equal(run_at(f, &q, &client, NOW + 600), 438);
	assert_fail(f, 438, AUTH_STALE_NONCE);
	/* RFC 8489 s9.2.4 checks the credentials before staleness */
	q.key = sha256_key;
	assert_int_equal(run_at(f, &q, &client, NOW + 600), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
}

/* A nonce made with the previous secret still works after a rotation. */
static void test_nonce_previous_secret(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();
	char old[NONCE_LEN + 1] = { 0 };

	assert_int_equal(nonce_make(nonce_keys[1], NOW, 600, NONCE_FEATURE_PASSWORD_ALGORITHMS,
				    &client, old, NONCE_LEN),
			 NONCE_LEN);
	q.nonce = old;
	assert_int_equal(run(f, &q), 0);
	build(f, &q);
	assert_int_equal(auth_check(f->a, &f->m, NOW, &client, nonce_keys, 1, &f->r), 438);
}

static void test_unauthorized_401(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();

	q.realm = "example.com";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_WRONG_REALM);
	q = lt_req();
	q.user = "mallory";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER);
	q = lt_req();
	q.key = sha256_key; /* the wrong key, right length */
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
	/* another user's password */
	q = lt_req();
	q.user = "bob";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
}

/* RFC 8489 s9.2.4: the PASSWORD-ALGORITHMS step. */
static void test_password_algorithm_400(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req_sha256();

	q.algs = NULL; /* PASSWORD-ALGORITHM alone */
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_BAD_ALGORITHM);
	q = lt_req_sha256();
	q.alg = 0; /* PASSWORD-ALGORITHMS alone */
	assert_int_equal(run(f, &q), 400);
	q = lt_req_sha256();
	q.algs = algs_md5_sha; /* reordered: a bid-down attempt */
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_BAD_ALGORITHM);
	q = lt_req_sha256();
	q.algs_len = 4; /* truncated list */
	assert_int_equal(run(f, &q), 400);
	q = lt_req_sha256();
	q.alg = 3; /* not on the list */
	assert_int_equal(run(f, &q), 400);
	assert_fail(f, 400, AUTH_BAD_ALGORITHM);
	/* MD5 chosen from the list is fine */
	q = lt_req();
	q.algs = algs_sha_md5;
	q.algs_len = 8;
	q.alg = STUN_PWALG_MD5;
	assert_int_equal(run(f, &q), 0);
	assert_int_equal(f->r.algorithm, STUN_PWALG_MD5);
}

/* Without the nonce's feature bit the attributes are not looked at. */
static void test_no_feature_bit_means_md5(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();
	char plain[NONCE_LEN + 1] = { 0 };

	assert_int_equal(nonce_make(nonce_keys[0], NOW, 600, 0, &client, plain, NONCE_LEN),
			 NONCE_LEN);
	q.nonce = plain;
	q.alg = STUN_PWALG_SHA256; /* ignored: processed as MD5 */
	assert_int_equal(run(f, &q), 0);
	assert_int_equal(f->r.algorithm, STUN_PWALG_MD5);
	assert_int_equal(f->r.keylen, 16);
}

/* A user known only by an MD5 key moves MD5 to the front of the list. */
static void test_md5_only_user(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req_sha256();
	uint8_t buf[256];
	struct stun_builder b;
	struct stun_msg m;
	char err[256];

	assert_int_equal(run(f, &q), 0);
	assert_int_equal(auth_add_user(f->a, "carol:0x00112233445566778899aabbccddeeff", err,
				       sizeof(err)),
			 0);
	/* the list the client echoes has changed, so the old echo is refused */
	assert_int_equal(run(f, &q), 400);
	q.algs = algs_md5_sha;
	assert_int_equal(run(f, &q), 0);
	stun_build_init(&b, buf, sizeof(buf), stun_type(TURN_ALLOCATE, STUN_ERROR), tid);
	auth_put_challenge(f->a, &b, nonce_keys[0], NOW, &client);
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	assert_memory_equal(m.a[SA_PASSWORD_ALGORITHMS].v, algs_md5_sha, 8);
	/* carol cannot pass SHA-256: there is no key for it */
	q.user = "carol";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_NO_KEY);
}

/* ---- TURN REST API ----------------------------------------------------------- */

static struct req rest_req(const char *user, const char *pass, uint8_t key[32])
{
	assert_int_equal(stun_lt_key(STUN_PWALG_MD5, user, strlen(user), REALM, LEN(REALM),
				     pass, strlen(pass), key),
			 16);
	return (struct req){ .user = user, .realm = REALM, .mi = MI, .key = key,
			     .keylen = 16 };
}

static void test_rest_valid(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32], key2[32], key256[32];
	struct req q = rest_req(REST_USER, REST_PASS, key);

	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	auth_use_secret(f->a, true);
	assert_int_equal(run(f, &q), 0);
	assert_ok(f, key, 16, REST_USER);
	/* up to and including its expiry second (with a nonce still fresh) */
	assert_int_equal(nonce_make(nonce_keys[0], 1700000600, 600,
				    NONCE_FEATURE_PASSWORD_ALGORITHMS, &client, f->nonce,
				    NONCE_LEN),
			 NONCE_LEN);
	assert_int_equal(run_at(f, &q, &client, 1700000600), 0);
	assert_int_equal(run_at(f, &q, &client, 1700000601), 401);
	assert_fail(f, 401, AUTH_EXPIRED);
	assert_int_equal(nonce_make(nonce_keys[0], NOW, 600, NONCE_FEATURE_PASSWORD_ALGORITHMS,
				    &client, f->nonce, NONCE_LEN),
			 NONCE_LEN);
	/* a bare timestamp is a username too */
	q = rest_req(REST_USER_BARE, REST_PASS_BARE, key2);
	assert_int_equal(run(f, &q), 0);
	/* and SHA-256 works for REST as for static users */
	assert_int_equal(stun_lt_key(STUN_PWALG_SHA256, REST_USER, LEN(REST_USER), REALM,
				     LEN(REALM), REST_PASS, LEN(REST_PASS), key256),
			 32);
	q = lt_req_sha256();
	q.user = REST_USER;
	q.key = key256;
	assert_int_equal(run(f, &q), 0);
	assert_ok(f, key256, 32, REST_USER);
	/* static users keep working beside REST */
	q = lt_req();
	assert_int_equal(run(f, &q), 0);
}

static void test_rest_expired(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32];
	struct req q = rest_req(REST_USER, REST_PASS, key);

	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	auth_use_secret(f->a, true);
	/* past both the nonce and the credential: s9.2.4 puts the user first */
	assert_int_equal(run_at(f, &q, &client, 1700000601), 401);
	assert_fail(f, 401, AUTH_EXPIRED);
	/* a nonce that is still fresh, and the credential past its time */
	assert_int_equal(nonce_make(nonce_keys[0], 1700000601, 600,
				    NONCE_FEATURE_PASSWORD_ALGORITHMS, &client, f->nonce,
				    NONCE_LEN),
			 NONCE_LEN);
	assert_int_equal(run_at(f, &q, &client, 1700000601), 401);
	assert_fail(f, 401, AUTH_EXPIRED);
}

static void test_rest_wrong_secret(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32];
	struct req q = rest_req(REST_USER, REST_PASS, key);

	auth_use_secret(f->a, true);
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER); /* no secret at all */
	assert_int_equal(auth_add_secret(f->a, "south"), 0);
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
	/* with REST off the name is looked up among the static users */
	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	auth_use_secret(f->a, false);
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER);
}

static void test_rest_rotation(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32];
	struct req q = rest_req(REST_USER, REST_PASS, key);

	auth_use_secret(f->a, true);
	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	assert_int_equal(auth_add_secret(f->a, "south"), 0); /* the new secret */
	assert_int_equal(run(f, &q), 0);
	assert_int_equal(auth_remove_secret(f->a, "north"), 0);
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_BAD_INTEGRITY);
	assert_int_equal(auth_remove_secret(f->a, "north"), -ENOENT);
	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	assert_int_equal(run(f, &q), 0);
}

static void test_rest_separator(void **state)
{
	struct fixture *f = *state;
	uint8_t key[32];
	struct req q = rest_req(REST_USER, REST_PASS, key);

	auth_use_secret(f->a, true);
	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	auth_set_separator(f->a, '-');
	/* "1700000600:alice" is no longer a REST name: a static lookup */
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER);
	auth_set_separator(f->a, ':');
	assert_int_equal(run(f, &q), 0);
	/* digits that cannot be a time are not a REST name either */
	q.user = "99999999999999999999:alice";
	assert_int_equal(run(f, &q), 401);
	assert_fail(f, 401, AUTH_UNKNOWN_USER);
}

/* ---- configuration ------------------------------------------------------------ */

static void test_add_user_errors(void **state)
{
	struct fixture *f = *state;
	char err[256], name[AUTH_MAX_NAME + 8];

	assert_int_equal(auth_add_user(f->a, "nopassword", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "name:password"));
	assert_int_equal(auth_add_user(f->a, ":pass", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_add_user(f->a, "dave:", err, sizeof(err)), -EINVAL);
	assert_int_equal(auth_add_user(f->a, "bob:other", err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "bob: defined twice");
	memset(name, 'n', sizeof(name));
	memcpy(name + AUTH_MAX_NAME + 1, ":pw", 4);
	assert_int_equal(auth_add_user(f->a, name, err, sizeof(err)), -EINVAL);
	memcpy(name + AUTH_MAX_NAME, ":pw", 4);
	assert_int_equal(auth_add_user(f->a, name, err, sizeof(err)), 0);
	/* the error never repeats the password */
	assert_int_equal(auth_add_user(f->a, "bob:s3cr3t-value", err, sizeof(err)), -EEXIST);
	assert_null(strstr(err, "s3cr3t"));
	/* the name ends at the first ':', the password may hold more */
	assert_int_equal(auth_add_user(f->a, "erin:a:b", err, sizeof(err)), 0);
	assert_int_equal(auth_user_count(f->a), 4);
	assert_null(auth_new(""));
	assert_null(auth_new(NULL));
}

/* "0x" with the wrong number of digits is a password, not a key. */
static void test_hex_lookalike_is_password(void **state)
{
	struct fixture *f = *state;
	struct req q = lt_req();
	uint8_t key[32];
	char err[256];

	auth_free(f->a);
	f->a = auth_new(REALM);
	assert_int_equal(auth_add_user(f->a, LT_USER ":0xe8ca7ad59d5eb0518e312911d2dab2a",
				       err, sizeof(err)),
			 0);
	assert_int_equal(run(f, &q), 401);
	assert_int_equal(stun_lt_key(STUN_PWALG_MD5, LT_USER, LEN(LT_USER), REALM, LEN(REALM),
				     "0xe8ca7ad59d5eb0518e312911d2dab2a", 33, key),
			 16);
	q.key = key;
	assert_int_equal(run(f, &q), 0);
}

static void test_secret_errors(void **state)
{
	struct fixture *f = *state;
	char s[16];

	assert_int_equal(auth_add_secret(f->a, ""), -EINVAL);
	assert_int_equal(auth_add_secret(f->a, NULL), -EINVAL);
	assert_int_equal(auth_add_secret(f->a, "north"), 0);
	assert_int_equal(auth_add_secret(f->a, "north"), -EEXIST);
	for (int i = 1; i < AUTH_MAX_SECRETS; i++) {
		snprintf(s, sizeof(s), "s%d", i);
		assert_int_equal(auth_add_secret(f->a, s), 0);
	}
	assert_int_equal(auth_add_secret(f->a, "onetoomany"), -ENOSPC);
	assert_int_equal(auth_remove_secret(f->a, "s3"), 0);
	assert_int_equal(auth_add_secret(f->a, "onetoomany"), 0);
	assert_int_equal(auth_remove_secret(f->a, "nope"), -ENOENT);
	assert_int_equal(auth_remove_secret(f->a, NULL), -ENOENT);
}

/* Many users: every one is found, through both tables, after rehashing. */
static void test_many_users(void **state)
{
	struct fixture *f = *state;
	enum { N = 20000 };
	struct req q = lt_req();
	char line[64], err[256];
	uint8_t key[16];

	for (int i = 0; i < N; i++) {
		snprintf(line, sizeof(line), "user%d:0x%032x", i, i);
		assert_int_equal(auth_add_user(f->a, line, err, sizeof(err)), 0);
	}
	assert_int_equal(auth_user_count(f->a), N + 2);
	for (int i = 0; i < N; i += 997) {
		char name[16];

		snprintf(name, sizeof(name), "user%d", i);
		memset(key, 0, sizeof(key));
		key[12] = (uint8_t)(i >> 24);
		key[13] = (uint8_t)(i >> 16);
		key[14] = (uint8_t)(i >> 8);
		key[15] = (uint8_t)i;
		q.user = name;
		q.key = key;
		q.algs = algs_md5_sha;
		q.algs_len = 8;
		q.alg = STUN_PWALG_MD5;
		q.userhash = i % 2;
		assert_int_equal(run(f, &q), 0);
		assert_ok(f, key, 16, name);
	}
	/* the two users added before the table grew are still there */
	q = lt_req();
	assert_int_equal(run(f, &q), 0);
}

/* The table stops at its limit and says so. */
static void test_user_limit(void **state)
{
	struct fixture *f = *state;
	char err[256];

	auth_set_max_users(f->a, 3);
	assert_int_equal(auth_add_user(f->a, "carol:pw", err, sizeof(err)), 0);
	assert_int_equal(auth_add_user(f->a, "dave:pw", err, sizeof(err)), -ENOSPC);
	assert_string_equal(err, "more than 3 users");
	assert_int_equal(auth_user_count(f->a), 3);
	/* raising it again lets more in (past AUTH_MAX_USERS it is clamped) */
	auth_set_max_users(f->a, UINT32_MAX);
	assert_int_equal(auth_add_user(f->a, "dave:pw", err, sizeof(err)), 0);
}

/* ---- the challenge ------------------------------------------------------------ */

/* A 401 carries REALM, a NONCE for this client and PASSWORD-ALGORITHMS. */
static void test_challenge(void **state)
{
	struct fixture *f = *state;
	struct stun_builder b;
	struct stun_msg m;
	struct req q = lt_req_sha256();
	uint8_t buf[256];
	uint32_t feat = 0;
	size_t len;

	for (int fp = 0; fp < 2; fp++) {
		stun_build_init(&b, buf, sizeof(buf), stun_type(TURN_ALLOCATE, STUN_ERROR), tid);
		stun_put_error(&b, 401, "");
		auth_put_challenge(f->a, &b, nonce_keys[0], NOW + 5, &client);
		if (fp)
			stun_put_fingerprint(&b);
		len = stun_build_finish(&b);
		assert_int_equal(len, auth_challenge_len(f->a, fp));
	}
	/* 20 + 8 + 16 + 44 + 12 + 8: against a 28-byte first Allocate */
	assert_int_equal(len, 108);
	assert_int_equal(stun_parse(&m, buf, len), STUN_OK);
	assert_int_equal(m.a[SA_REALM].len, LEN(REALM));
	assert_memory_equal(m.a[SA_REALM].v, REALM, LEN(REALM));
	assert_int_equal(nonce_check(nonce_keys, 1, NOW + 5, &client, m.a[SA_NONCE].v,
				     m.a[SA_NONCE].len, &feat),
			 NONCE_OK);
	assert_int_equal(feat, NONCE_FEATURE_PASSWORD_ALGORITHMS);
	assert_int_equal(nonce_check(nonce_keys, 1, NOW + 605, &client, m.a[SA_NONCE].v,
				     m.a[SA_NONCE].len, NULL),
			 NONCE_STALE);
	assert_int_equal(m.a[SA_PASSWORD_ALGORITHMS].len, 8);
	assert_memory_equal(m.a[SA_PASSWORD_ALGORITHMS].v, algs_sha_md5, 8);
	/* the client answers with what the challenge gave it */
	memcpy(f->nonce, m.a[SA_NONCE].v, NONCE_LEN);
	assert_int_equal(run_at(f, &q, &client, NOW + 6), 0);
	/* a nonce validity set by the operator */
	auth_set_nonce_validity(f->a, 30);
	stun_build_init(&b, buf, sizeof(buf), stun_type(TURN_ALLOCATE, STUN_ERROR), tid);
	auth_put_challenge(f->a, &b, nonce_keys[0], NOW, &client);
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	assert_int_equal(nonce_check(nonce_keys, 1, NOW + 30, &client, m.a[SA_NONCE].v,
				     m.a[SA_NONCE].len, NULL),
			 NONCE_STALE);
}

static void test_challenge_failures(void **state)
{
	struct fixture *f = *state;
	struct stun_addr bad = client;
	struct stun_builder b;
	uint8_t buf[256];

	bad.family = 0;
	stun_build_init(&b, buf, sizeof(buf), stun_type(TURN_ALLOCATE, STUN_ERROR), tid);
	auth_put_challenge(f->a, &b, nonce_keys[0], NOW, &bad);
	assert_int_equal(stun_build_finish(&b), 0);
	stun_build_init(&b, buf, 64, stun_type(TURN_ALLOCATE, STUN_ERROR), tid);
	auth_put_challenge(f->a, &b, nonce_keys[0], NOW, &client);
	assert_int_equal(stun_build_finish(&b), 0);
}

static void test_fail_names(void **state)
{
	assert_string_equal(auth_fail_name(AUTH_OK), "ok");
	assert_string_equal(auth_fail_name(AUTH_NO_INTEGRITY), "no_integrity");
	assert_string_equal(auth_fail_name(AUTH_MISSING), "missing_attribute");
	assert_string_equal(auth_fail_name(AUTH_BAD_ALGORITHM), "bad_algorithm");
	assert_string_equal(auth_fail_name(AUTH_BAD_NONCE), "bad_nonce");
	assert_string_equal(auth_fail_name(AUTH_STALE_NONCE), "stale_nonce");
	assert_string_equal(auth_fail_name(AUTH_WRONG_REALM), "wrong_realm");
	assert_string_equal(auth_fail_name(AUTH_UNKNOWN_USER), "unknown_user");
	assert_string_equal(auth_fail_name(AUTH_EXPIRED), "expired");
	assert_string_equal(auth_fail_name(AUTH_NO_KEY), "no_key");
	assert_string_equal(auth_fail_name(AUTH_BAD_INTEGRITY), "bad_integrity");
	assert_string_equal(auth_fail_name(AUTH_FAIL_COUNT), "unknown");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_keys),
		T(test_static_password),
		T(test_static_hex_key),
		T(test_rfc5769_foreign_nonce),
		T(test_userhash_sha256),
		T(test_mi_sha256_flagged),
		T(test_no_integrity_401),
		T(test_missing_400),
		T(test_bad_nonce_438),
		T(test_stale_nonce_438),
		T(test_nonce_previous_secret),
		T(test_unauthorized_401),
		T(test_password_algorithm_400),
		T(test_no_feature_bit_means_md5),
		T(test_md5_only_user),
		T(test_rest_valid),
		T(test_rest_expired),
		T(test_rest_wrong_secret),
		T(test_rest_rotation),
		T(test_rest_separator),
		T(test_add_user_errors),
		T(test_hex_lookalike_is_password),
		T(test_secret_errors),
		T(test_many_users),
		T(test_user_limit),
		T(test_challenge),
		T(test_challenge_failures),
		cmocka_unit_test(test_fail_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
