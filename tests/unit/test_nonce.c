/*
 * Stateless nonces: made and checked with explicit secrets and times, so
 * expiry boundaries and secret rotation are exact. The nonce cookie parser
 * is also run against the nonce of RFC 8489 Appendix B.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/nonce.h"

static const uint8_t secrets[3][NONCE_SECRET_LEN] = {
	{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 },
	{ 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
	  0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
	  0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf },
	{ 0 },
};

static const struct stun_addr client4 = {
	.family = STUN_FAMILY_IPV4, .port = 40000, .ip = { 192, 0, 2, 7 } };
static const struct stun_addr client6 = {
	.family = STUN_FAMILY_IPV6, .port = 50001,
	.ip = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 } };
/* ::ffff:192.0.2.7, what a dual-stack socket reports for client4 */
static const struct stun_addr client4_mapped = {
	.family = STUN_FAMILY_IPV6, .port = 40000,
	.ip = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7 } };

enum { T0 = 1700000000, VALID = 600 };

static const uint8_t *u8(const char *s)
{
	return (const uint8_t *)s;
}

/* A nonce from secrets[0] for src at T0, with the password-algorithms bit. */
static void make(char out[NONCE_LEN], const struct stun_addr *src)
{
	assert_int_equal(nonce_make(secrets[0], T0, VALID,
				    NONCE_FEATURE_PASSWORD_ALGORITHMS, src, out, NONCE_LEN),
			 NONCE_LEN);
}

static enum nonce_result check(const char *nonce, size_t len, uint64_t now,
			       const struct stun_addr *src, uint32_t *features)
{
	return nonce_check(secrets, 1, now, src, u8(nonce), len, features);
}

static void test_round_trip(void **state)
{
	char n[NONCE_LEN];
	uint32_t f = 0;

	make(n, &client4);
	assert_int_equal(check(n, sizeof(n), T0, &client4, &f), NONCE_OK);
	assert_int_equal(f, NONCE_FEATURE_PASSWORD_ALGORITHMS);
	make(n, &client6);
	assert_int_equal(check(n, sizeof(n), T0 + 1, &client6, NULL), NONCE_OK);
}

static void test_format(void **state)
{
	char n[NONCE_LEN];

	make(n, &client4);
	/* RFC 8489 s9.2: the cookie, with bit 0 the top bit of the first byte */
	assert_memory_equal(n, "obMatJos2gAAA", NONCE_COOKIE_LEN);
	/* s14.10: qdtext only; base64url needs neither quotes nor escapes */
	for (size_t i = NONCE_COOKIE_LEN; i < NONCE_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_", n[i]));
}

static void test_expiry_boundary(void **state)
{
	char n[NONCE_LEN];
	uint32_t f = 0;

	make(n, &client4);
	assert_int_equal(check(n, sizeof(n), T0 + VALID - 1, &client4, NULL), NONCE_OK);
	assert_int_equal(check(n, sizeof(n), T0 + VALID, &client4, &f), NONCE_STALE);
	/* a stale nonce is still ours, so its features can be trusted */
	assert_int_equal(f, NONCE_FEATURE_PASSWORD_ALGORITHMS);
	assert_int_equal(check(n, sizeof(n), (uint64_t)T0 + 86400 * 365, &client4, NULL),
			 NONCE_STALE);
}

static void test_other_client(void **state)
{
	struct stun_addr a = client4;
	char n[NONCE_LEN];
	uint32_t f = 123;

	make(n, &client4);
	a.ip[3] ^= 1;
	assert_int_equal(check(n, sizeof(n), T0, &a, &f), NONCE_BAD);
	assert_int_equal(f, 0);
	a = client4;
	a.port++;
	assert_int_equal(check(n, sizeof(n), T0, &a, NULL), NONCE_BAD);
	assert_int_equal(check(n, sizeof(n), T0, &client6, NULL), NONCE_BAD);
	a = client4;
	a.family = 0;
	assert_int_equal(check(n, sizeof(n), T0, &a, NULL), NONCE_BAD);
}

/* RFC 8489 s9.2.4: two addresses never share a nonce, even in one second. */
static void test_distinct_per_address(void **state)
{
	struct stun_addr a = client4;
	char n1[NONCE_LEN], n2[NONCE_LEN];

	make(n1, &client4);
	a.port++;
	make(n2, &a);
	assert_memory_not_equal(n1, n2, NONCE_LEN);
}

static void test_v4_mapped_is_v4(void **state)
{
	char n[NONCE_LEN];

	make(n, &client4);
	assert_int_equal(check(n, sizeof(n), T0, &client4_mapped, NULL), NONCE_OK);
	make(n, &client4_mapped);
	assert_int_equal(check(n, sizeof(n), T0, &client4, NULL), NONCE_OK);
}

/* Every single-character change, to another valid character, is caught. */
static void test_tampered(void **state)
{
	char n[NONCE_LEN], t[NONCE_LEN];

	make(n, &client4);
	for (size_t i = 0; i < NONCE_LEN; i++) {
		memcpy(t, n, sizeof(t));
		t[i] = t[i] == 'A' ? 'B' : 'A';
		assert_int_equal(check(t, sizeof(t), T0, &client4, NULL), NONCE_BAD);
	}
	/* stripping the password-algorithms bit is a bid-down attempt */
	memcpy(t, n, sizeof(t));
	memcpy(t, "obMatJos2AAAA", NONCE_COOKIE_LEN);
	assert_int_equal(check(t, sizeof(t), T0, &client4, NULL), NONCE_BAD);
	/* characters outside the alphabet */
	memcpy(t, n, sizeof(t));
	t[NONCE_LEN - 1] = '=';
	assert_int_equal(check(t, sizeof(t), T0, &client4, NULL), NONCE_BAD);
	t[NONCE_LEN - 1] = '\0';
	assert_int_equal(check(t, sizeof(t), T0, &client4, NULL), NONCE_BAD);
}

static void test_wrong_length(void **state)
{
	char n[NONCE_LEN + 1];

	make(n, &client4);
	n[NONCE_LEN] = 'A';
	assert_int_equal(check(n, NONCE_LEN - 1, T0, &client4, NULL), NONCE_BAD);
	assert_int_equal(check(n, NONCE_LEN + 1, T0, &client4, NULL), NONCE_BAD);
	assert_int_equal(check(n, 0, T0, &client4, NULL), NONCE_BAD);
	assert_int_equal(nonce_check(secrets, 1, T0, &client4, NULL, NONCE_LEN, NULL),
			 NONCE_BAD);
	/* RFC 5769's nonce, from some other server */
	assert_int_equal(check("f//499k954d6OL34oL9FSTvy64sA", 28, T0, &client4, NULL),
			 NONCE_BAD);
}

static void test_rotation(void **state)
{
	const uint8_t(*rotated)[NONCE_SECRET_LEN] = secrets + 1; /* new, then old */
	char n[NONCE_LEN];

	/* issued before the rotation with the then-current secret */
	assert_int_equal(nonce_make(secrets[2], T0, VALID, 0, &client4, n, sizeof(n)),
			 NONCE_LEN);
	assert_int_equal(nonce_check(rotated, 2, T0, &client4, u8(n), sizeof(n), NULL),
			 NONCE_OK);
	assert_int_equal(nonce_check(rotated, 2, T0 + VALID, &client4, u8(n), sizeof(n),
				     NULL),
			 NONCE_STALE);
	/* once the old secret is dropped the nonce is no longer ours */
	assert_int_equal(nonce_check(rotated, 1, T0, &client4, u8(n), sizeof(n), NULL),
			 NONCE_BAD);
	assert_int_equal(nonce_check(secrets, 0, T0, &client4, u8(n), sizeof(n), NULL),
			 NONCE_BAD);
	assert_int_equal(nonce_check(NULL, 2, T0, &client4, u8(n), sizeof(n), NULL),
			 NONCE_BAD);
	/* and the secrets really differ: the first alone does not accept it */
	assert_int_equal(nonce_check(secrets, 1, T0, &client4, u8(n), sizeof(n), NULL),
			 NONCE_BAD);
}

static void test_features_round_trip(void **state)
{
	static const uint32_t cases[] = {
		0,
		NONCE_FEATURE_PASSWORD_ALGORITHMS,
		NONCE_FEATURE_USERNAME_ANONYMITY,
		NONCE_FEATURE_PASSWORD_ALGORITHMS | NONCE_FEATURE_USERNAME_ANONYMITY,
		0x000001,
		0xFFFFFF,
	};
	static const char *const cookie[] = {
		"obMatJos2AAAA", "obMatJos2gAAA", "obMatJos2QAAA",
		"obMatJos2wAAA", "obMatJos2AAAB", "obMatJos2////",
	};
	char n[NONCE_LEN];
	uint32_t f;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(nonce_make(secrets[0], T0, VALID, cases[i], &client6, n,
					    sizeof(n)),
				 NONCE_LEN);
		assert_memory_equal(n, cookie[i], NONCE_COOKIE_LEN);
		assert_int_equal(check(n, sizeof(n), T0, &client6, &f), NONCE_OK);
		assert_int_equal(f, cases[i]);
	}
	/* bits above the 24 the cookie carries are dropped, not smuggled */
	assert_int_equal(nonce_make(secrets[0], T0, VALID, 0x1000000, &client6, n,
				    sizeof(n)),
			 NONCE_LEN);
	assert_memory_equal(n, "obMatJos2AAAA", NONCE_COOKIE_LEN);
}

static void test_cookie_parse(void **state)
{
	/* RFC 8489 Appendix B.1's NONCE */
	static const char b1[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";
	uint32_t f = 0;

	assert_true(nonce_cookie_parse(u8(b1), sizeof(b1) - 1, &f));
	/*
	 * "AAAC" is 0x000002: bit 22 under s9.2's numbering. The vector's
	 * author evidently meant "Username anonymity" counted from the least
	 * significant end (the request uses USERHASH); s9.2's text governs us.
	 */
	assert_int_equal(f, 0x000002);
	assert_true(nonce_cookie_parse(u8("obMatJos2gAAA"), 13, &f));
	assert_int_equal(f, NONCE_FEATURE_PASSWORD_ALGORITHMS);
	assert_true(nonce_cookie_parse(u8("obMatJos2QAAA"), 13, NULL));
	assert_false(nonce_cookie_parse(u8("obMatJos2gAA"), 12, &f));
	assert_false(nonce_cookie_parse(u8("obMatJos3gAAA"), 13, &f));
	assert_false(nonce_cookie_parse(u8("obMatJos2gA=A"), 13, &f));
	assert_false(nonce_cookie_parse(u8("obMatJos2g-AA"), 13, &f));
	assert_false(nonce_cookie_parse(u8("f//499k954d6OL34oL9FSTvy64sA"), 28, &f));
	assert_false(nonce_cookie_parse(NULL, 13, &f));
}

static void test_make_refuses(void **state)
{
	struct stun_addr bad = client4;
	char n[NONCE_LEN + 1];

	memset(n, 'x', sizeof(n));
	assert_int_equal(nonce_make(secrets[0], T0, VALID, 0, &client4, n, NONCE_LEN - 1),
			 0);
	bad.family = 3;
	assert_int_equal(nonce_make(secrets[0], T0, VALID, 0, &bad, n, sizeof(n)), 0);
	/* the expiry is 32 bits; past 2106 nonce_make says so instead of wrapping */
	assert_int_equal(nonce_make(secrets[0], UINT32_MAX, 1, 0, &client4, n, sizeof(n)),
			 0);
	assert_int_equal(nonce_make(secrets[0], UINT32_MAX - 1, 1, 0, &client4, n,
				    sizeof(n)),
			 NONCE_LEN);
	/* no terminating NUL is written */
	assert_int_equal(n[NONCE_LEN], 'x');
}

static void test_result_names(void **state)
{
	assert_string_equal(nonce_result_name(NONCE_OK), "ok");
	assert_string_equal(nonce_result_name(NONCE_STALE), "stale");
	assert_string_equal(nonce_result_name(NONCE_BAD), "bad");
	assert_string_equal(nonce_result_name((enum nonce_result)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_expiry_boundary),
		cmocka_unit_test(test_other_client),
		cmocka_unit_test(test_distinct_per_address),
		cmocka_unit_test(test_v4_mapped_is_v4),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_features_round_trip),
		cmocka_unit_test(test_cookie_parse),
		cmocka_unit_test(test_make_refuses),
		cmocka_unit_test(test_result_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
