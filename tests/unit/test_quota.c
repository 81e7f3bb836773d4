/*
 * Quotas (server/quota.c): user-quota and total-quota on one node, and the
 * fleet's counts (other nodes' allocations per user) added to the check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/quota.h"

#define U(s) (const uint8_t *)(s), strlen(s)

static void test_per_user_and_total(void **state)
{
	struct quota *q = quota_new(2, 3);

	assert_true(quota_take(q, U("alice")));
	assert_true(quota_take(q, U("alice")));
	assert_false(quota_take(q, U("alice"))); /* user-quota */
	assert_true(quota_take(q, U("bob")));
	assert_false(quota_take(q, U("carol"))); /* total-quota */
	assert_int_equal(quota_total(q), 3);
	quota_give(q, U("alice"));
	assert_true(quota_take(q, U("carol")));
	quota_give(q, U("nobody")); /* never taken: nothing happens */
	assert_int_equal(quota_total(q), 3);
	quota_free(q);
}

struct seen {
	char users[4][16];
	uint32_t n[4];
	int count;
};

static void record(void *ctx, const uint8_t *user, size_t len, uint32_t n)
{
	struct seen *s = ctx;

	assert_true(s->count < 4 && len < 16);
	memcpy(s->users[s->count], user, len);
	s->users[s->count][len] = '\0';
	s->n[s->count++] = n;
}

static void test_fleet_counts(void **state)
{
	struct quota *q = quota_new(2, 0);
	struct quota_remote *r = quota_remote_new();
	struct seen s = { 0 };
	uint64_t g;

	/* alice has one allocation on another node, bob two */
	assert_int_equal(quota_remote_add(r, U("alice"), 1), 0);
	assert_int_equal(quota_remote_add(r, U("bob"), 1), 0);
	assert_int_equal(quota_remote_add(r, U("bob"), 1), 0); /* a third node */
	quota_set_remote(q, r);
	g = quota_generation(q);
	assert_true(quota_take(q, U("alice")));
	assert_false(quota_take(q, U("alice")));
	assert_false(quota_take(q, U("bob")));
	assert_true(quota_take(q, U("carol")));
	assert_int_equal(quota_generation(q), g + 2); /* each take that counted */
	/* what this node reports: its own counts only, no entry for bob */
	quota_each(q, record, &s);
	assert_int_equal(s.count, 2);
	for (int i = 0; i < s.count; i++) {
		assert_true(strcmp(s.users[i], "alice") == 0 || strcmp(s.users[i], "carol") == 0);
		assert_int_equal(s.n[i], 1);
	}
	/* the other nodes let go: the fleet table is replaced whole */
	quota_set_remote(q, NULL);
	assert_true(quota_take(q, U("alice")));
	assert_true(quota_take(q, U("bob")));
	quota_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_user_and_total),
		cmocka_unit_test(test_fleet_counts),
	};

	return cmocka_run_group_tests_name("quota", tests, NULL, NULL);
}
