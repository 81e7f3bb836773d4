/*
 * store/wgpeer.c: the WireGuard peer record's key names and field codec,
 * round trips, and each kind of damaged field refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/wgpeer.h"

static const uint8_t R[32] = { 1, 2, 3 }, P[32] = { 0xff, 0xfe };

static void test_keys(void **state)
{
	char k[WGPEER_KEY_LEN], b[WGPEER_B64];

	(void)state;
	wgpeer_b64(R, b);
	assert_string_equal(b, "AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	wgpeer_key(k, R, P);
	assert_string_equal(k, "tern:wg:{AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}:peer:"
			       "//4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	wgpeer_set_key(k, R);
	assert_string_equal(k, "tern:wg:{AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}:peers");
}

static void test_allowed_round_trip(void **state)
{
	static struct wgpeer p, q;
	static char text[WGPEER_ALLOWED_LEN], err[128];

	(void)state;
	assert_true(wgpeer_allowed_parse(&p, " 10.0.0.2/32, fd00::/64,192.0.2.1,,", err,
					 sizeof err));
	assert_int_equal(p.n_allowed, 3);
	assert_int_equal(p.allowed[2].plen, 32);
	wgpeer_allowed_format(&p, text, sizeof text);
	assert_string_equal(text, "10.0.0.2/32,fd00::/64,192.0.2.1/32");
	assert_true(wgpeer_allowed_parse(&q, text, err, sizeof err));
	assert_memory_equal(p.allowed, q.allowed, sizeof p.allowed[0] * 3);
	assert_true(wgpeer_allowed_parse(&q, "", err, sizeof err));
	assert_int_equal(q.n_allowed, 0);
	assert_false(wgpeer_allowed_parse(&q, "10.0.0.0/33", err, sizeof err));
	assert_string_equal(err, "'10.0.0.0/33' is not an address or prefix");
	assert_false(wgpeer_allowed_parse(&q, "10.0.0.1,example.com", err, sizeof err));
	/* more than WGPEER_MAX_ALLOWED */
	text[0] = '\0';
	for (int i = 0; i <= WGPEER_MAX_ALLOWED; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "10.%d.%d.0/24,",
			 i / 256, i % 256);
	assert_false(wgpeer_allowed_parse(&q, text, err, sizeof err));
	assert_string_equal(err, "more than 256 prefixes");
	/* format stops at whole prefixes when out is short */
	wgpeer_allowed_format(&p, text, 20);
	assert_string_equal(text, "10.0.0.2/32");
}

static void test_from_hash(void **state)
{
	static struct wgpeer p;
	const char *f[] = { "allowed", "psk", "keepalive", "tai64n", "rx", "tx", "added", "x" };
	const char *v[] = { "10.9.0.0/16", "AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "25",
			    "400000006a1b2c3d00000007", "123", "18446744073709551615", "1796600000",
			    "whatever" };

	(void)state;
	memset(&p, 0, sizeof p);
	assert_true(wgpeer_from_hash(&p, f, v, 8));
	assert_int_equal(p.n_allowed, 1);
	assert_true(p.has_preshared_key);
	assert_memory_equal(p.preshared_key, R, 32);
	assert_int_equal(p.keepalive, 25);
	assert_true(p.has_tai64n);
	assert_int_equal(wgpeer_tai64n_unix(p.tai64n), 0x6a1b2c3d - 10);
	assert_int_equal(p.rx_bytes, 123);
	assert_true(p.tx_bytes == UINT64_MAX);
	assert_int_equal(p.added, 1796600000);
}

static void test_from_hash_damaged(void **state)
{
	static struct wgpeer p;
	static const char *const bad[][2] = {
		{ "keepalive", "65536" }, { "keepalive", "-1" },   { "keepalive", "" },
		{ "rx", "1e3" },          { "tx", "99999999999999999999" },
		{ "psk", "short" },       { "tai64n", "40000000" }, { "tai64n", "zz0000006a1b2c3d00000007" },
		{ "allowed", "nope" },    { "added", "x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&p, 0, sizeof p);
		assert_false(wgpeer_from_hash(&p, &bad[i][0], &bad[i][1], 1));
	}
}

static void test_tai64n(void **state)
{
	const uint8_t t[12] = { 0x40, 0, 0, 0, 0x6a, 0x1b, 0x2c, 0x47, 0, 0, 0, 1 };
	const uint8_t early[12] = { 0x3f };
	char hex[WGPEER_TAI64N_HEX];

	(void)state;
	wgpeer_tai64n_hex(t, hex);
	assert_string_equal(hex, "400000006a1b2c4700000001");
	assert_int_equal(wgpeer_tai64n_unix(t), 0x6a1b2c3d);
	assert_int_equal(wgpeer_tai64n_unix(early), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_allowed_round_trip),
		cmocka_unit_test(test_from_hash),
		cmocka_unit_test(test_from_hash_damaged),
		cmocka_unit_test(test_tai64n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
