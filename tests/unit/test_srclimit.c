/*
 * server/srclimit.c: stream connections per source (IPv4 address, IPv6
 * /64) and in all, and the table under churn against a plain model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/srclimit.h"

static struct stun_addr v4(uint32_t ip, uint16_t port)
{
	struct stun_addr a = { .family = STUN_FAMILY_IPV4, .port = port };

	a.ip[0] = (uint8_t)(ip >> 24), a.ip[1] = (uint8_t)(ip >> 16);
	a.ip[2] = (uint8_t)(ip >> 8), a.ip[3] = (uint8_t)ip;
	return a;
}

static struct stun_addr v6(uint16_t net, uint16_t host)
{
	struct stun_addr a = { .family = STUN_FAMILY_IPV6, .port = 1,
			       .ip = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, (uint8_t)(net >> 8),
				       (uint8_t)net } };

	a.ip[14] = (uint8_t)(host >> 8), a.ip[15] = (uint8_t)host;
	return a;
}

static void test_per_source(void **state)
{
	struct srclimit *sl = srclimit_new(3, 100);
	struct stun_addr a = v4(0xc0000201, 1), b = v4(0xc0000202, 1);

	for (int i = 0; i < 3; i++)
		assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_OK);
	a.port = 2; /* the port does not matter */
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_SOURCE);
	assert_int_equal(srclimit_take(sl, &b), SRCLIMIT_OK);
	srclimit_give(sl, &a);
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_OK);
	assert_int_equal(srclimit_open(sl), 4);
	srclimit_free(sl);
}

static void test_ipv6_slash64_and_mapped(void **state)
{
	struct srclimit *sl = srclimit_new(2, 100);
	struct stun_addr x = v6(1, 1), y = v6(1, 2), z = v6(2, 1);
	struct stun_addr a = v4(0xc0000201, 1), mapped = { .family = STUN_FAMILY_IPV6 };

	assert_int_equal(srclimit_take(sl, &x), SRCLIMIT_OK);
	assert_int_equal(srclimit_take(sl, &y), SRCLIMIT_OK);
	assert_int_equal(srclimit_take(sl, &x), SRCLIMIT_SOURCE); /* one /64 */
	assert_int_equal(srclimit_take(sl, &z), SRCLIMIT_OK);
	memcpy(mapped.ip + 10, "\xff\xff\xc0\x00\x02\x01", 6);
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_OK);
	assert_int_equal(srclimit_take(sl, &mapped), SRCLIMIT_OK);
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_SOURCE);
	srclimit_free(sl);
}

static void test_total_and_unlimited_source(void **state)
{
	struct srclimit *sl = srclimit_new(0, 5);
	struct stun_addr a = v4(0x0a000001, 1);

	for (int i = 0; i < 5; i++)
		assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_OK);
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_TOTAL);
	srclimit_give(sl, &a);
	assert_int_equal(srclimit_take(sl, &a), SRCLIMIT_OK);
	srclimit_free(sl);
	assert_null(srclimit_new(1, 0));
	assert_null(srclimit_new(1, SRCLIMIT_MAX_TOTAL + 1));
}

/* Many sources coming and going: counts always agree with a plain array,
 * whatever the deletions did to the probe chains. */
static void test_churn(void **state)
{
	enum { SOURCES = 3000, STEPS = 200000 };
	struct srclimit *sl = srclimit_new(4, 4000);
	static int model[SOURCES];
	int open = 0;

	srand(7);
	for (int step = 0; step < STEPS; step++) {
		int i = rand() % SOURCES;
		struct stun_addr a = v4(0x0a000000u + (uint32_t)i * 7919u, 1);

		if (rand() % 2 && model[i] > 0) {
			srclimit_give(sl, &a);
			model[i]--, open--;
			continue;
		}
		enum srclimit_verdict v = srclimit_take(sl, &a);
		enum srclimit_verdict want = open >= 4000  ? SRCLIMIT_TOTAL
					     : model[i] >= 4 ? SRCLIMIT_SOURCE
							     : SRCLIMIT_OK;

		assert_int_equal(v, want);
		if (v == SRCLIMIT_OK)
			model[i]++, open++;
	}
	assert_int_equal(srclimit_open(sl), open);
	for (int i = 0; i < SOURCES; i++) {
		struct stun_addr a = v4(0x0a000000u + (uint32_t)i * 7919u, 1);

		while (model[i]--)
			srclimit_give(sl, &a);
	}
	assert_int_equal(srclimit_open(sl), 0);
	srclimit_free(sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_source),
		cmocka_unit_test(test_ipv6_slash64_and_mapped),
		cmocka_unit_test(test_total_and_unlimited_source),
		cmocka_unit_test(test_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
