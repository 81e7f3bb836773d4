/*
 * The per-source limiter with explicit millisecond clocks: bursts, exact
 * refill at whole and fractional rates, sources kept apart and grouped
 * (port, IPv6 /64, IPv4-mapped), and the table-full policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/ratelimit.h"

static const uint8_t key[RATELIMIT_KEY_LEN] = { 3, 1, 4, 1, 5, 9, 2, 6,
						 5, 3, 5, 8, 9, 7, 9, 3 };

static struct stun_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	return (struct stun_addr){ .family = STUN_FAMILY_IPV4, .port = port,
				   .ip = { a, b, c, d } };
}

/* 2001:db8:<net>::<host> */
static struct stun_addr v6(uint16_t net, uint16_t host)
{
	return (struct stun_addr){ .family = STUN_FAMILY_IPV6, .port = 5000,
				   .ip = { 0x20, 0x01, 0x0d, 0xb8, (uint8_t)(net >> 8),
					   (uint8_t)net, 0, 0, 0, 0, 0, 0, 0, 0,
					   (uint8_t)(host >> 8), (uint8_t)host } };
}

/* How many of n back-to-back requests at t pass. */
static int burst(struct ratelimit *rl, const struct stun_addr *a, uint64_t t, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += ratelimit_allow(rl, a, t);
	return ok;
}

static void test_burst_then_refusal(void **state)
{
	struct ratelimit *rl = ratelimit_new(10, 5, 1024, key);
	struct stun_addr a = v4(192, 0, 2, 1, 1000);
	struct ratelimit_stats st;

	assert_non_null(rl);
	assert_int_equal(burst(rl, &a, 0, 5), 5);
	assert_false(ratelimit_allow(rl, &a, 0));
	assert_false(ratelimit_allow(rl, &a, 0));
	ratelimit_stats(rl, &st);
	assert_int_equal(st.allowed, 5);
	assert_int_equal(st.limited, 2);
	assert_int_equal(st.full, 0);
	assert_int_equal(st.entries, 1024);
	ratelimit_free(rl);
}

static void test_refill(void **state)
{
	struct ratelimit *rl = ratelimit_new(10, 5, 1024, key);
	struct stun_addr a = v4(192, 0, 2, 1, 1000);

	assert_int_equal(burst(rl, &a, 1000, 6), 5);
	/* 10 a second: one token every 100 ms, no sooner */
	assert_false(ratelimit_allow(rl, &a, 1099));
	assert_true(ratelimit_allow(rl, &a, 1100));
	assert_false(ratelimit_allow(rl, &a, 1100));
	assert_int_equal(burst(rl, &a, 1300, 5), 2);
	/* a long rest refills to the burst and no further */
	assert_int_equal(burst(rl, &a, 100000, 10), 5);
	/* and a very long one does not overflow anything */
	assert_int_equal(burst(rl, &a, UINT64_MAX / 2, 10), 5);
	ratelimit_free(rl);
}

/* Thousandths of a token make a rate of 3/s exact: 333.3 ms per token. */
static void test_fractional_rate(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 1, 64, key);
	struct stun_addr a = v4(198, 51, 100, 9, 1);

	assert_true(ratelimit_allow(rl, &a, 0));
	assert_false(ratelimit_allow(rl, &a, 333));
	assert_true(ratelimit_allow(rl, &a, 334));
	/* 666 ms later has 1998 thousandths: one token and most of another */
	assert_true(ratelimit_allow(rl, &a, 1000));
	assert_false(ratelimit_allow(rl, &a, 1333));
	assert_true(ratelimit_allow(rl, &a, 1334));
	ratelimit_free(rl);
}

static void test_clock_backwards(void **state)
{
	struct ratelimit *rl = ratelimit_new(10, 2, 64, key);
	struct stun_addr a = v4(198, 51, 100, 9, 1);

	assert_int_equal(burst(rl, &a, 5000, 3), 2);
	/* an earlier time grants nothing; refill then runs from it */
	assert_false(ratelimit_allow(rl, &a, 1000));
	assert_false(ratelimit_allow(rl, &a, 1050));
	assert_true(ratelimit_allow(rl, &a, 1100));
	ratelimit_free(rl);
}

static void test_sources_apart(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 2, 1024, key);
	struct stun_addr a = v4(192, 0, 2, 1, 1000), b = v4(192, 0, 2, 2, 1000);
	struct stun_addr a_port = v4(192, 0, 2, 1, 1001);

	assert_int_equal(burst(rl, &a, 0, 3), 2);
	assert_int_equal(burst(rl, &b, 0, 3), 2);
	/* the port does not make a new source */
	assert_false(ratelimit_allow(rl, &a_port, 0));
	ratelimit_free(rl);
}

static void test_ipv6_slash64(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 2, 1024, key);
	struct stun_addr a = v6(1, 1), same64 = v6(1, 0xffff), other64 = v6(2, 1);

	assert_int_equal(burst(rl, &a, 0, 2), 2);
	/* another host in the same /64 shares the bucket */
	assert_false(ratelimit_allow(rl, &same64, 0));
	same64.ip[8] = 0xaa; /* still the same /64: bytes 8-15 are the host */
	assert_false(ratelimit_allow(rl, &same64, 0));
	assert_int_equal(burst(rl, &other64, 0, 3), 2);
	ratelimit_free(rl);
}

static void test_families_apart(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 1024, key);
	struct stun_addr a4 = v4(0, 0, 0, 1, 1);
	struct stun_addr a6 = { .family = STUN_FAMILY_IPV6,
				.ip = { 0, 0, 0, 0, 0, 0, 0, 1, 0xff } };

	/* same 64-bit value, different families */
	assert_true(ratelimit_allow(rl, &a4, 0));
	assert_true(ratelimit_allow(rl, &a6, 0));
	assert_false(ratelimit_allow(rl, &a4, 0));
	assert_false(ratelimit_allow(rl, &a6, 0));
	ratelimit_free(rl);
}

/* What a dual-stack socket reports for an IPv4 client is that client. */
static void test_v4_mapped(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 1024, key);
	struct stun_addr a = v4(203, 0, 113, 5, 9);
	struct stun_addr mapped = { .family = STUN_FAMILY_IPV6, .port = 9,
				    .ip = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
					    203, 0, 113, 5 } };
	struct stun_addr other = mapped;

	assert_true(ratelimit_allow(rl, &a, 0));
	assert_false(ratelimit_allow(rl, &mapped, 0));
	/* all of ::ffff:0:0/96 is one /64, yet each mapped address is its own */
	other.ip[15] = 6;
	assert_true(ratelimit_allow(rl, &other, 0));
	ratelimit_free(rl);
}

/*
 * The smallest table is one bucket of RATELIMIT_WAYS entries, so which
 * bucket a source hashes to does not matter here.
 */
static void test_table_full(void **state)
{
	struct ratelimit *rl = ratelimit_new(10, 2, RATELIMIT_WAYS, key);
	struct stun_addr a;
	struct ratelimit_stats st;

	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		a = v4(10, 0, 0, (uint8_t)i, 1);
		assert_true(ratelimit_allow(rl, &a, 0));
	}
	/* every entry is a source still short of tokens: fail closed */
	a = v4(10, 0, 1, 0, 1);
	assert_false(ratelimit_allow(rl, &a, 0));
	assert_false(ratelimit_allow(rl, &a, 99));
	ratelimit_stats(rl, &st);
	assert_int_equal(st.full, 2);
	assert_int_equal(st.limited, 0);
	/* sources already known are still served */
	a = v4(10, 0, 0, 3, 1);
	assert_true(ratelimit_allow(rl, &a, 50));
	/* once the others have refilled their entries are free again */
	a = v4(10, 0, 1, 0, 1);
	assert_true(ratelimit_allow(rl, &a, 100));
	/* 10.0.0.3 spent again at 50 ms, so it is not yet reusable */
	for (int i = 1; i < RATELIMIT_WAYS - 1; i++) {
		a = v4(10, 0, 2, (uint8_t)i, 1);
		assert_true(ratelimit_allow(rl, &a, 100));
	}
	a = v4(10, 0, 3, 0, 1);
	assert_false(ratelimit_allow(rl, &a, 100));
	ratelimit_stats(rl, &st);
	assert_int_equal(st.full, 3);
	ratelimit_free(rl);
}

/* table_size is a hard cap: rounded down, never up. */
static void test_table_rounding(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 2 * RATELIMIT_WAYS - 1, key);
	struct ratelimit_stats st;
	struct stun_addr a;

	ratelimit_stats(rl, &st);
	assert_int_equal(st.entries, RATELIMIT_WAYS);
	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		a = v4(10, 9, 9, (uint8_t)i, 1);
		assert_true(ratelimit_allow(rl, &a, 0));
	}
	a = v4(10, 9, 9, 200, 1);
	assert_false(ratelimit_allow(rl, &a, 0));
	ratelimit_free(rl);
	rl = ratelimit_new(1, 1, 3000, key);
	ratelimit_stats(rl, &st);
	assert_int_equal(st.entries, 2048);
	ratelimit_free(rl);
	rl = ratelimit_new(1, 1, UINT32_MAX, key);
	ratelimit_stats(rl, &st);
	assert_int_equal(st.entries, RATELIMIT_MAX_ENTRIES);
	ratelimit_free(rl);
}

/* A big table spreads sources: many more than one bucket's worth fit. */
static void test_spread(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 4096, key);
	struct ratelimit_stats st;
	struct stun_addr a;
	int ok = 0;

	for (int i = 0; i < 1024; i++) {
		a = v4(172, 16, (uint8_t)(i >> 8), (uint8_t)i, 1);
		ok += ratelimit_allow(rl, &a, 0);
	}
	/* a quarter full: a keyed hash leaves next to no bucket overflowing */
	assert_true(ok >= 1020);
	ratelimit_stats(rl, &st);
	assert_int_equal(st.full, (uint64_t)(1024 - ok));
	ratelimit_free(rl);
}

/* A refund gives one token back, never beyond the burst, and never makes
 * an entry for a source that has none. */
static void test_refund(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 3, 64, key);
	struct stun_addr a = v4(192, 0, 2, 1, 1), b = v4(192, 0, 2, 2, 1);
	struct ratelimit_stats st;

	assert_int_equal(burst(rl, &a, 0, 5), 3);
	ratelimit_refund(rl, &a, 0);
	assert_int_equal(burst(rl, &a, 0, 5), 1);
	for (int i = 0; i < 10; i++)
		ratelimit_refund(rl, &a, 100);
	assert_int_equal(burst(rl, &a, 100, 5), 3); /* capped at the burst */
	ratelimit_refund(rl, &b, 100);
	ratelimit_stats(rl, &st);
	assert_int_equal(st.refunded, 4);
	assert_int_equal(burst(rl, &b, 100, 5), 3);
	ratelimit_free(rl);
}

static void test_bad_input(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 1, 64, key);
	struct stun_addr a = v4(192, 0, 2, 1, 1);

	a.family = 0;
	assert_false(ratelimit_allow(rl, &a, 0));
	ratelimit_free(rl);
	ratelimit_free(NULL);
	assert_null(ratelimit_new(0, 1, 64, key));
	assert_null(ratelimit_new(1, 0, 64, key));
	assert_null(ratelimit_new(RATELIMIT_MAX_RATE + 1, 1, 64, key));
	assert_null(ratelimit_new(1, RATELIMIT_MAX_BURST + 1, 64, key));
	assert_null(ratelimit_new(1, 1, RATELIMIT_WAYS - 1, key));
	assert_null(ratelimit_new(1, 1, 64, NULL));
	/* the largest rate and burst do not overflow the arithmetic */
	rl = ratelimit_new(RATELIMIT_MAX_RATE, RATELIMIT_MAX_BURST, 64, key);
	a = v4(192, 0, 2, 1, 1);
	assert_int_equal(burst(rl, &a, 0, 10), 10);
	assert_true(ratelimit_allow(rl, &a, UINT64_MAX));
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refusal),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_fractional_rate),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_sources_apart),
		cmocka_unit_test(test_ipv6_slash64),
		cmocka_unit_test(test_families_apart),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_table_rounding),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_refund),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
