/*
 * store/sentinel_msg.c: the redis-sentinel list, what a sentinel answers
 * (get-master-addr-by-name, +switch-master) and ROLE. Replies are built by
 * hand as hiredis would hand them over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "store/sentinel_msg.h"

/* ---- replies -------------------------------------------------------------- */

static redisReply str_reply(int type, const char *s)
{
	return (redisReply){ .type = type, .str = (char *)(uintptr_t)s, .len = strlen(s) };
}

/* An array of n replies of type, with the strings given. */
static redisReply array(redisReply *items, redisReply **ptrs, size_t n, int type,
			const char *const *s)
{
	for (size_t i = 0; i < n; i++) {
		items[i] = str_reply(type, s[i]);
		ptrs[i] = &items[i];
	}
	return (redisReply){ .type = REDIS_REPLY_ARRAY, .elements = n, .element = ptrs };
}

static bool master_of(const char *host, const char *port, struct sentinel_addr *a)
{
	redisReply items[2], *ptrs[2];
	redisReply r = array(items, ptrs, 2, REDIS_REPLY_STRING, (const char *[]){ host, port });

	return sentinel_msg_master(&r, a);
}

/* ---- the option ----------------------------------------------------------- */

static void test_list(void **state)
{
	struct sentinel_list l;
	char err[256] = "";

	assert_int_equal(sentinel_msg_list("10.0.0.1:26379", &l, err, sizeof err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.at[0].host, "10.0.0.1");
	assert_int_equal(l.at[0].port, 26379);
	assert_int_equal(sentinel_msg_list("a.example:1, b.example ,[::1]:26380", &l, err,
					   sizeof err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.at[0].host, "a.example");
	assert_int_equal(l.at[0].port, 1);
	assert_string_equal(l.at[1].host, "b.example");
	assert_int_equal(l.at[1].port, SENTINEL_PORT); /* the default */
	assert_string_equal(l.at[2].host, "::1");
	assert_int_equal(l.at[2].port, 26380);
}

static void list_refused(const char *v, const char *reason)
{
	struct sentinel_list l;
	char err[256] = "";

	assert_int_equal(sentinel_msg_list(v, &l, err, sizeof err), -1);
	if (!strstr(err, reason) || strncmp(err, "redis-sentinel: ", 16) != 0)
		fail_msg("%s: got '%s', want it to mention '%s'", v, err, reason);
}

static void test_list_mistakes(void **state)
{
	char many[512] = "";

	list_refused("", "needs");
	list_refused("h:1,", "empty");
	list_refused(",h:1", "empty");
	list_refused("h:1,,h:2", "empty");
	list_refused("h:0", "port");
	list_refused("h:65536", "port");
	list_refused("h:2x", "port");
	list_refused("h:1;h:2", "port");
	list_refused("h 1", "host");
	list_refused("[::1", "IPv6");
	list_refused("h:26379,h", "twice"); /* the default port makes them one */
	for (int i = 0; i <= SENTINEL_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "%sh%d", i ? "," : "", i);
	list_refused(many, "more than");
	assert_int_equal(sentinel_msg_list(NULL, &(struct sentinel_list){ 0 }, many, sizeof many),
			 -1);
}

static void test_name(void **state)
{
	char name[SENTINEL_NAME_MAX + 2];

	assert_true(sentinel_msg_name_ok("mymaster"));
	assert_true(sentinel_msg_name_ok("tern-fleet_1.eu"));
	assert_false(sentinel_msg_name_ok(""));
	assert_false(sentinel_msg_name_ok("my master"));
	assert_false(sentinel_msg_name_ok("tab\there"));
	assert_false(sentinel_msg_name_ok("caf\xc3\xa9"));
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_false(sentinel_msg_name_ok(name));
	name[SENTINEL_NAME_MAX] = '\0';
	assert_true(sentinel_msg_name_ok(name));
}

/* ---- get-master-addr-by-name ---------------------------------------------- */

static void test_master(void **state)
{
	struct sentinel_addr a;
	char host[REDIS_URL_FIELD + 1];

	assert_true(master_of("127.0.0.1", "6380", &a));
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 6380);
	assert_true(master_of("2001:db8::7", "6379", &a));
	assert_string_equal(a.host, "2001:db8::7");
	assert_true(master_of("redis-0.redis.svc", "65535", &a));
	assert_false(master_of("127.0.0.1", "0", &a));
	assert_false(master_of("127.0.0.1", "65536", &a));
	assert_false(master_of("127.0.0.1", "63a", &a));
	assert_false(master_of("127.0.0.1", "", &a));
	assert_false(master_of("127.0.0.1", "+80", &a));
	assert_false(master_of("", "6379", &a));
	assert_false(master_of("evil host", "6379", &a));
	assert_false(master_of("[::1]", "6379", &a));
	memset(host, 'h', REDIS_URL_FIELD);
	host[REDIS_URL_FIELD] = '\0';
	assert_false(master_of(host, "6379", &a)); /* no room for it */
	host[REDIS_URL_FIELD - 1] = '\0';
	assert_true(master_of(host, "6379", &a));
}

static void test_master_not_an_address(void **state)
{
	struct sentinel_addr a;
	redisReply items[3], *ptrs[3];
	redisReply nil = { .type = REDIS_REPLY_NIL };
	redisReply err = str_reply(REDIS_REPLY_ERROR, "ERR No such master with that name");
	redisReply one = array(items, ptrs, 1, REDIS_REPLY_STRING, (const char *[]){ "h" });
	redisReply three = array(items, ptrs, 3, REDIS_REPLY_STRING,
				 (const char *[]){ "h", "1", "2" });
	redisReply ints = array(items, ptrs, 2, REDIS_REPLY_STATUS, (const char *[]){ "h", "1" });

	assert_false(sentinel_msg_master(NULL, &a));
	assert_false(sentinel_msg_master(&nil, &a)); /* the sentinel does not know the name */
	assert_false(sentinel_msg_master(&err, &a));
	assert_false(sentinel_msg_master(&one, &a));
	assert_false(sentinel_msg_master(&three, &a));
	assert_false(sentinel_msg_master(&ints, &a));
	ptrs[0] = NULL;
	assert_false(sentinel_msg_master(&(redisReply){ .type = REDIS_REPLY_ARRAY, .elements = 2,
							.element = ptrs }, &a));
}

/* ---- +switch-master --------------------------------------------------------- */

static bool sw(const char *p, struct sentinel_addr *a)
{
	return sentinel_msg_switch(p, strlen(p), "mymaster", a);
}

static void test_switch(void **state)
{
	struct sentinel_addr a;

	assert_true(sw("mymaster 127.0.0.1 6379 127.0.0.1 6380", &a));
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 6380);
	assert_true(sw("mymaster ::1 6379 2001:db8::2 7000", &a));
	assert_string_equal(a.host, "2001:db8::2");
	assert_int_equal(a.port, 7000);
	assert_false(sw("othermaster 127.0.0.1 6379 127.0.0.1 6380", &a)); /* not ours */
	assert_false(sw("mymaster2 127.0.0.1 6379 127.0.0.1 6380", &a));
	assert_false(sw("mymas 127.0.0.1 6379 127.0.0.1 6380", &a));
	assert_false(sw("mymaster 127.0.0.1 6379 127.0.0.1", &a));
	assert_false(sw("mymaster 127.0.0.1 6379 127.0.0.1 6380 extra", &a));
	assert_false(sw("mymaster 127.0.0.1  6379 127.0.0.1 6380", &a));
	assert_false(sw("mymaster 127.0.0.1 6379 127.0.0.1 0", &a));
	assert_false(sw("mymaster 127.0.0.1 6379 127.0.0.1 6380x", &a));
	assert_false(sw("mymaster 127.0.0.1 6379 bad/host 6380", &a));
	assert_false(sw("", &a));
	/* the length is the payload's, not the string's */
	assert_false(sentinel_msg_switch("mymaster a 1 b 2", 14, "mymaster", &a));
	assert_true(sentinel_msg_switch("mymaster a 1 b 2junk", 16, "mymaster", &a));
	assert_int_equal(a.port, 2);
}

/* ---- ROLE -------------------------------------------------------------------- */

static bool role(const char *first)
{
	redisReply items[3], *ptrs[3];
	redisReply r = array(items, ptrs, 3, REDIS_REPLY_STRING,
			     (const char *[]){ first, "127.0.0.1", "6379" });

	return sentinel_msg_role_master(&r);
}

static void test_role(void **state)
{
	redisReply items[1], *ptrs[1];
	redisReply status = array(items, ptrs, 1, REDIS_REPLY_STATUS, (const char *[]){ "master" });
	redisReply flat = str_reply(REDIS_REPLY_STRING, "master");

	assert_true(role("master"));
	assert_false(role("slave"));
	assert_false(role("sentinel"));
	assert_false(role("masterful"));
	assert_false(role("maste"));
	assert_true(sentinel_msg_role_master(&status));
	assert_false(sentinel_msg_role_master(&flat));
	assert_false(sentinel_msg_role_master(NULL));
	assert_false(sentinel_msg_role_master(&(redisReply){ .type = REDIS_REPLY_ARRAY }));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_mistakes),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_master),
		cmocka_unit_test(test_master_not_an_address),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_role),
	};

	return cmocka_run_group_tests_name("sentinel", tests, NULL, NULL);
}
