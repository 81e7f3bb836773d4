/*
 * store/claim.c: who this process is, and whether the process a registry
 * entry names still runs, as far as this host can tell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "store/claim.h"

static void test_self(void **state)
{
	struct claim_who a, b;

	assert_int_equal(claim_self(&a), 0);
	assert_int_equal(claim_self(&b), 0);
	assert_int_equal(strlen(a.token), CLAIM_TOKEN_LEN);
	assert_string_not_equal(a.token, b.token); /* a fresh token each time */
	assert_int_equal(a.pid, (long)getpid());
	assert_true(a.start > 0);
	assert_true(a.boot[0] && a.pidns[0]);
}

static void test_judge(void **state)
{
	struct claim_who me, h;
	pid_t child;

	assert_int_equal(claim_self(&me), 0);
	/* this very process, under another token: alive */
	assert_int_equal(claim_self(&h), 0);
	assert_int_equal(claim_judge(&me, &h), CLAIM_ALIVE);
	/* our pid, another start time: a previous life that had our pid */
	h.start++;
	assert_int_equal(claim_judge(&me, &h), CLAIM_DEAD);
	/* a process that has exited */
	child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	h = me;
	h.pid = child;
	assert_int_equal(claim_judge(&me, &h), CLAIM_DEAD);
	/* another host, or another PID namespace: /proc cannot tell */
	h = me;
	strcpy(h.boot, "00000000-0000-0000-0000-000000000000");
	assert_int_equal(claim_judge(&me, &h), CLAIM_UNKNOWN);
	h = me;
	strcpy(h.pidns, "pid:[1]");
	assert_int_equal(claim_judge(&me, &h), CLAIM_UNKNOWN);
	/* an entry without the fields (an older ternd): cannot tell */
	memset(&h, 0, sizeof h);
	assert_int_equal(claim_judge(&me, &h), CLAIM_UNKNOWN);
}

static void test_parse_and_describe(void **state)
{
	redisReply v[CLAIM_N_FIELDS], *e[CLAIM_N_FIELDS], r = { .type = REDIS_REPLY_ARRAY };
	char vals[CLAIM_N_FIELDS][32] = { "abc", "boot", "pid:[7]", "h1", "42", "99", "3",
					  "udp 192.0.2.1:3478" };
	struct claim_who h;
	char msg[512];

	for (int i = 0; i < CLAIM_N_FIELDS; i++) {
		v[i] = (redisReply){ .type = REDIS_REPLY_STRING, .str = vals[i],
				     .len = strlen(vals[i]) };
		e[i] = &v[i];
	}
	v[2].type = REDIS_REPLY_NIL; /* an absent field */
	r.elements = CLAIM_N_FIELDS;
	r.element = e;
	assert_true(claim_parse(&r, &h));
	assert_string_equal(h.token, "abc");
	assert_string_equal(h.pidns, "");
	assert_int_equal(h.pid, 42);
	assert_int_equal(h.start, 99);
	assert_int_equal(h.seq, 3);
	claim_describe("n1", &h, msg, sizeof msg);
	assert_non_null(strstr(msg, "node-id 'n1'"));
	assert_non_null(strstr(msg, "pid 42 on h1, listening udp 192.0.2.1:3478"));
	r.elements = 2;
	assert_false(claim_parse(&r, &h));
	r.type = REDIS_REPLY_STATUS;
	assert_false(claim_parse(&r, &h));
	assert_false(claim_parse(NULL, &h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_parse_and_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
