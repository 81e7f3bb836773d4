/*
 * redis-url parsing: every part of the grammar, the defaults, and each kind
 * of mistake refused with a reason that never repeats the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/redis_url.h"

static void test_defaults(void **state)
{
	struct redis_url u;
	char err[256] = "";

	assert_int_equal(redis_url_parse("redis://localhost", &u, err, sizeof err), 0);
	assert_string_equal(u.host, "localhost");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "");
	assert_int_equal(redis_url_parse("redis://127.0.0.1/", &u, err, sizeof err), 0);
	assert_int_equal(u.db, 0);
}

static void test_every_part(void **state)
{
	struct redis_url u;
	char err[256] = "";

	assert_int_equal(redis_url_parse("redis://alice:s3cret@10.0.0.5:6380/7", &u, err,
					 sizeof err), 0);
	assert_string_equal(u.user, "alice");
	assert_string_equal(u.password, "s3cret");
	assert_string_equal(u.host, "10.0.0.5");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 7);
	/* password only, the Redis < 6 form */
	assert_int_equal(redis_url_parse("redis://:pw@r.example:1/15", &u, err, sizeof err), 0);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "pw");
	assert_int_equal(u.port, 1);
	/* IPv6, with and without a port */
	assert_int_equal(redis_url_parse("redis://[::1]:7000", &u, err, sizeof err), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_int_equal(redis_url_parse("redis://[2001:db8::1]/2", &u, err, sizeof err), 0);
	assert_string_equal(u.host, "2001:db8::1");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 2);
	/* percent-encoding, so a password may hold @ : / */
	assert_int_equal(redis_url_parse("redis://:a%40b%3Ac%2F@h", &u, err, sizeof err), 0);
	assert_string_equal(u.password, "a@b:c/");
}

static void refused(const char *url, const char *reason)
{
	struct redis_url u;
	char err[256] = "";

	assert_int_equal(redis_url_parse(url, &u, err, sizeof err), -1);
	if (!strstr(err, reason))
		fail_msg("%s: got '%s', want it to mention '%s'", url, err, reason);
	assert_null(strstr(err, "s3cret")); /* never echoes the password */
}

static void test_mistakes(void **state)
{
	refused("localhost:6379", "redis://");
	refused("http://localhost", "redis://");
	refused("rediss://localhost", "TLS");
	refused("redis://", "no host");
	refused("redis://:s3cret@", "no host");
	refused("redis://h:0", "port");
	refused("redis://h:65536", "port");
	refused("redis://h:12x", "port");
	refused("redis://h:", "port");
	refused("redis://h/x", "database");
	refused("redis://h/10000", "database");
	refused("redis://h/-1", "database");
	refused("redis://s3cret@h", "credentials");
	refused("redis://:s3cret%4@h", "percent");
	refused("redis://:s3cret%zz@h", "percent");
	refused("redis://:s3%00cret@h", "percent");
	refused("redis://[::1", "IPv6");
	refused("redis://[]:1", "IPv6");
	refused("redis://[::1]x", "IPv6");
	refused("redis://[g::1]", "IPv6");
	refused("redis://ho st", "host");
	refused("redis://h%41", "host");
}

static void test_lengths(void **state)
{
	struct redis_url u;
	char err[256], url[1200], host[300];

	memset(host, 'a', 255);
	host[255] = '\0';
	snprintf(url, sizeof url, "redis://%s", host);
	assert_int_equal(redis_url_parse(url, &u, err, sizeof err), 0);
	memset(host, 'a', 256);
	host[256] = '\0';
	snprintf(url, sizeof url, "redis://%s", host);
	assert_int_equal(redis_url_parse(url, &u, err, sizeof err), -1);
	snprintf(url, sizeof url, "redis://:%s@h", host);
	assert_int_equal(redis_url_parse(url, &u, err, sizeof err), -1);
	assert_int_equal(redis_url_parse(NULL, &u, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_part),
		cmocka_unit_test(test_mistakes),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests_name("redis_url", tests, NULL, NULL);
}
