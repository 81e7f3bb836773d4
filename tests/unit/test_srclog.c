/*
 * server/srclog: bad input logged once an interval by source, with counts,
 * and a line budget that a flood of spoofed sources cannot get past.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/srclog.h"

struct sink {
	int n;
	char last[512];
	char all[64][512];
};

static void out(void *ctx, const char *line)
{
	struct sink *k = ctx;

	if (k->n < 64)
		snprintf(k->all[k->n], sizeof k->all[0], "%s", line);
	snprintf(k->last, sizeof k->last, "%s", line);
	k->n++;
}

static struct stun_addr v4(uint32_t ip, uint16_t port)
{
	struct stun_addr a = { .family = STUN_FAMILY_IPV4, .port = port };

	a.ip[0] = (uint8_t)(ip >> 24);
	a.ip[1] = (uint8_t)(ip >> 16);
	a.ip[2] = (uint8_t)(ip >> 8);
	a.ip[3] = (uint8_t)ip;
	return a;
}

static void test_once_then_count(void **state)
{
	struct sink k = { 0 };
	struct srclog *sl = srclog_new(60000, out, &k);
	struct stun_addr a = v4(0xc0000207, 4000), b = v4(0xc0000207, 4001);

	(void)state;
	srclog_note(sl, SRCLOG_AUTH, "udp", &a, 1000, "401 %s", "bad_integrity");
	assert_int_equal(k.n, 1);
	assert_string_equal(k.last, "udp 192.0.2.7:4000: 401 bad_integrity");
	/* the same source (another port), the same kind: counted */
	for (int i = 0; i < 41; i++)
		srclog_note(sl, SRCLOG_AUTH, "udp", i % 2 ? &a : &b, 2000 + (uint64_t)i, "x");
	assert_int_equal(k.n, 1);
	/* another kind from it is its own line */
	srclog_note(sl, SRCLOG_MALFORMED, "udp", &a, 3000, "dropped: short");
	assert_int_equal(k.n, 2);
	srclog_tick(sl, 30000);
	assert_int_equal(k.n, 2); /* the interval is not over */
	srclog_tick(sl, 61000);
	assert_int_equal(k.n, 3);
	assert_string_equal(k.last,
			    "udp 192.0.2.7: 41 more authentication failures in the last 60 s");
	srclog_tick(sl, 62000);
	assert_int_equal(k.n, 3); /* said once */
	/* within the next interval: counted again; after it, logged */
	srclog_note(sl, SRCLOG_AUTH, "udp", &a, 70000, "y");
	assert_int_equal(k.n, 3);
	srclog_note(sl, SRCLOG_AUTH, "udp", &a, 125000, "401 unknown_user");
	assert_int_equal(k.n, 5);
	assert_string_equal(k.all[3],
			    "udp 192.0.2.7: 1 more authentication failures in the last 64 s");
	assert_string_equal(k.last, "udp 192.0.2.7:4000: 401 unknown_user");
	srclog_free(sl);
}

static void test_ipv6_counts_by_slash64(void **state)
{
	struct sink k = { 0 };
	struct srclog *sl = srclog_new(1000, out, &k);
	struct stun_addr a = { .family = STUN_FAMILY_IPV6, .port = 5 }, b;

	(void)state;
	memcpy(a.ip, "\x20\x01\x0d\xb8\x00\x01\x00\x02\x00\x00\x00\x00\x00\x00\x00\x09", 16);
	b = a;
	b.ip[15] = 0x0a; /* the same /64 */
	srclog_note(sl, SRCLOG_STREAM, "tls", &a, 0, "connection closed: idle");
	assert_string_equal(k.last, "tls [2001:db8:1:2::9]:5: connection closed: idle");
	srclog_note(sl, SRCLOG_STREAM, "tls", &b, 10, "connection closed: idle");
	assert_int_equal(k.n, 1);
	srclog_tick(sl, 1500);
	assert_string_equal(k.last,
			    "tls 2001:db8:1:2::/64: 1 more connections refused or closed in the last 2 s");
	srclog_free(sl);
}

static void test_budget_holds_a_spoofed_flood(void **state)
{
	struct sink k = { 0 };
	struct srclog *sl = srclog_new(60000, out, &k);

	(void)state;
	/* every packet a new source: at most SRCLOG_LINES_PER_S lines a second */
	for (uint32_t i = 0; i < 10000; i++) {
		struct stun_addr a = v4(0x0a000000u + i, 1);

		srclog_note(sl, SRCLOG_MALFORMED, "udp", &a, 5000 + i / 100, "dropped");
	}
	/* 10,000 events over 100 ms: one second's budget */
	assert_int_equal(k.n, SRCLOG_LINES_PER_S);
	srclog_tick(sl, 6000);
	assert_int_equal(k.n, SRCLOG_LINES_PER_S + 1);
	assert_non_null(strstr(k.last, "more lines of bad input not logged in the last 1 s"));
	assert_int_equal(strncmp(k.last, "9980 more", 9), 0);
	srclog_tick(sl, 7000);
	assert_int_equal(k.n, SRCLOG_LINES_PER_S + 1); /* said once */
	srclog_free(sl);
}

static void test_interval_zero_logs_each(void **state)
{
	struct sink k = { 0 };
	struct srclog *sl = srclog_new(0, out, &k);
	struct stun_addr a = v4(0x7f000001, 9);

	(void)state;
	for (int i = 0; i < 5; i++)
		srclog_note(sl, SRCLOG_LIMITED, "udp", &a, 100 + (uint64_t)i, "unanswered");
	assert_int_equal(k.n, 5);
	srclog_tick(sl, 2000);
	assert_int_equal(k.n, 5);
	srclog_free(sl);
}

static void test_clock_back(void **state)
{
	struct sink k = { 0 };
	struct srclog *sl = srclog_new(60000, out, &k);
	struct stun_addr a = v4(0x7f000001, 9);

	(void)state;
	srclog_note(sl, SRCLOG_AUTH, "tcp", &a, 100000, "first");
	srclog_note(sl, SRCLOG_AUTH, "tcp", &a, 50000, "behind"); /* counted, not logged */
	assert_int_equal(k.n, 1);
	srclog_tick(sl, 50000); /* the interval starts again from here */
	assert_int_equal(k.n, 1);
	srclog_tick(sl, 110000);
	assert_int_equal(k.n, 2);
	srclog_free(sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_then_count),
		cmocka_unit_test(test_ipv6_counts_by_slash64),
		cmocka_unit_test(test_budget_holds_a_spoofed_flood),
		cmocka_unit_test(test_interval_zero_logs_each),
		cmocka_unit_test(test_clock_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
