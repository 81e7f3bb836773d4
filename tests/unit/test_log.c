/*
 * Unit tests for server/log.c: the plain and JSON line formats, escaping
 * (quotes, control characters, invalid UTF-8), level filtering, a log file
 * and its reopen after rotation. Each test logs to its own mkstemp file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "server/log.h"

struct fixture {
	struct config c;
	char path[64];
	char out[8192];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -1;
	config_defaults(&f->c);
	snprintf(f->path, sizeof(f->path), "/tmp/tern-log-XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		return -1;
	close(fd);
	f->c.log_file = strdup(f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char rotated[80];

	log_close();
	snprintf(rotated, sizeof(rotated), "%s.1", f->path);
	unlink(rotated);
	unlink(f->path);
	config_free(&f->c);
	free(f);
	return 0;
}

/* The whole log file, NUL-terminated, in f->out. */
static const char *slurp(struct fixture *f, const char *path)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, f->out, sizeof(f->out) - 1);
	close(fd);
	assert_true(n >= 0);
	f->out[n] = '\0';
	return f->out;
}

/* s begins with an RFC 3339 UTC time with milliseconds: 2026-11-25T17:00:00.123Z */
static void assert_timestamp(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
	}
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_plain_line(void **state)
{
	struct fixture *f = *state;
	const char *out;

	assert_int_equal(log_open(&f->c), 0);
	log_info("listening on %s:%d", "0.0.0.0", 3478);
	out = slurp(f, f->path);
	assert_timestamp(out);
	assert_string_equal(out + 24, " info: listening on 0.0.0.0:3478\n");
}

static void test_plain_escapes_control_characters(void **state)
{
	struct fixture *f = *state;
	const char *out;

	assert_int_equal(log_open(&f->c), 0);
	log_warn("a\nfake line\x01\tend");
	out = slurp(f, f->path);
	assert_string_equal(out + 24, " warn: a\\nfake line\\x01\\tend\n");
}

static void test_json_line(void **state)
{
	struct fixture *f = *state;
	const char *out;

	f->c.log_json = true;
	assert_int_equal(log_open(&f->c), 0);
	log_err("say \"hi\" \\ to\nme \x7f caf\xc3\xa9");
	out = slurp(f, f->path);
	assert_true(strncmp(out, "{\"ts\":\"", 7) == 0);
	assert_timestamp(out + 7);
	assert_string_equal(out + 31, "\",\"level\":\"error\",\"msg\":"
				      "\"say \\\"hi\\\" \\\\ to\\nme \\u007f caf\xc3\xa9\"}\n");
}

static void test_json_replaces_invalid_utf8(void **state)
{
	struct fixture *f = *state;
	const char *out;

	f->c.log_json = true;
	assert_int_equal(log_open(&f->c), 0);
	/* a lone continuation byte, an overlong '/', a surrogate, a cut-off sequence */
	log_info("a\x80 b\xc0\xaf c\xed\xa0\x80 d\xe2\x82");
	out = strstr(slurp(f, f->path), "\"msg\":");
	assert_non_null(out);
	assert_string_equal(out, "\"msg\":\"a\\ufffd b\\ufffd\\ufffd c\\ufffd\\ufffd\\ufffd "
				 "d\\ufffd\\ufffd\"}\n");
}

static void test_level_filter(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(log_open(&f->c), 0);
	log_debug("hidden");
	log_info("shown");
	assert_null(strstr(slurp(f, f->path), "hidden"));
	f->c.verbose = LOG_LVL_DEBUG;
	assert_int_equal(log_open(&f->c), 0);
	log_debug("now shown");
	assert_non_null(strstr(slurp(f, f->path), " debug: now shown\n"));
}

static void test_long_message_is_one_line(void **state)
{
	struct fixture *f = *state;
	char *big = malloc(10000);
	const char *out;

	assert_non_null(big);
	memset(big, '\n', 9999);
	big[9999] = '\0';
	assert_int_equal(log_open(&f->c), 0);
	log_info("%s", big);
	log_info("next");
	free(big);
	out = slurp(f, f->path);
	assert_non_null(strstr(out, "\\n\\n"));
	/* cut short, but still exactly two lines */
	assert_non_null(strstr(out, " info: next\n"));
	assert_int_equal(count_lines(out), 2);
}

static void test_reopen_after_rotation(void **state)
{
	struct fixture *f = *state;
	char rotated[80];

	assert_int_equal(log_open(&f->c), 0);
	log_info("before");
	snprintf(rotated, sizeof(rotated), "%s.1", f->path);
	assert_int_equal(rename(f->path, rotated), 0);
	log_reopen();
	log_info("after");
	assert_non_null(strstr(slurp(f, rotated), "before"));
	assert_null(strstr(f->out, "after"));
	assert_non_null(strstr(slurp(f, f->path), "after"));
	assert_null(strstr(f->out, "before"));
}

static void test_open_failure_is_errno(void **state)
{
	struct fixture *f = *state;

	free(f->c.log_file);
	f->c.log_file = strdup("/nonexistent/dir/ternd.log");
	assert_int_equal(log_open(&f->c), -ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plain_line),
		T(test_plain_escapes_control_characters),
		T(test_json_line),
		T(test_json_replaces_invalid_utf8),
		T(test_level_filter),
		T(test_long_message_is_one_line),
		T(test_reopen_after_rotation),
		T(test_open_failure_is_errno),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
