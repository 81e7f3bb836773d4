/*
 * Unit tests for server/config.c: defaults, each option type, the coturn
 * file dialect (written to mkstemp files), command-line parsing, the
 * cross-option checks, and the exact "file:line: problem" messages that
 * operators and tests/interop/config.sh rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	struct config c;
	char err[CONFIG_ERR_LEN];
	char path[64];  /* the config file, if the test wrote one */
	char path2[64]; /* a second file (a certificate) */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	config_defaults(&f->c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	config_free(&f->c);
	if (f->path[0])
		unlink(f->path);
	if (f->path2[0])
		unlink(f->path2);
	free(f);
	return 0;
}

/*
 * Write text to a fresh temporary file; its name goes to path, and the file
 * path named before, if any, is removed.
 */
static void write_temp(char *path, size_t len, const char *text)
{
	int fd;

	if (path[0])
		unlink(path);
	snprintf(path, len, "/tmp/tern-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int load(struct fixture *f, const char *text)
{
	write_temp(f->path, sizeof(f->path), text);
	f->err[0] = '\0';
	return config_load(&f->c, f->path, f->err, sizeof(f->err));
}

/* err must be exactly "<path>:<line>: <rest>". */
static void assert_err_at(struct fixture *f, int line, const char *rest)
{
	char want[CONFIG_ERR_LEN];

	snprintf(want, sizeof(want), "%s:%d: %s", f->path, line, rest);
	assert_string_equal(f->err, want);
}

/* Run fn with stderr (or stdout) sent to a file; the output lands in out. */
struct capture {
	int fd, saved;
	char path[64];
};

static void capture_start(struct capture *cap, int fd)
{
	int tmp;

	snprintf(cap->path, sizeof(cap->path), "/tmp/tern-out-XXXXXX");
	fflush(fd == 1 ? stdout : stderr);
	cap->fd = fd;
	cap->saved = dup(fd);
	tmp = mkstemp(cap->path);

	assert_true(tmp >= 0 && cap->saved >= 0);
	dup2(tmp, fd);
	close(tmp);
}

static void capture_end(struct capture *cap, char *out, size_t len)
{
	ssize_t n;
	int fd;

	fflush(cap->fd == 1 ? stdout : stderr);
	dup2(cap->saved, cap->fd);
	close(cap->saved);
	fd = open(cap->path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(cap->path);
}

static int set(struct fixture *f, const char *name, const char *value)
{
	f->err[0] = '\0';
	return config_set(&f->c, name, value, "test", f->err, sizeof(f->err));
}

/* ---- defaults and types ----------------------------------------------------- */

static void test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->c.listening_port, 3478);
	assert_int_equal(f->c.tls_listening_port, 5349);
	assert_int_equal(f->c.alt_listening_port, 0);
	assert_int_equal(f->c.min_port, 49152);
	assert_int_equal(f->c.max_port, 65535);
	assert_int_equal(f->c.n_listening_ip, 0);
	assert_int_equal(f->c.workers, 0);
	assert_int_equal(f->c.verbose, LOG_LVL_INFO);
	assert_string_equal(f->c.stats_listen, "127.0.0.1:9641");
	assert_null(f->c.cert);
	assert_null(f->c.path);
	assert_false(f->c.no_udp || f->c.no_tls || f->c.syslog || f->c.rfc5780);
	assert_null(config_origin(&f->c, "listening-port"));
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
}

static void test_bool_values(void **state)
{
	struct fixture *f = *state;
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True", "" };
	static const char *const no[] = { "no", "false", "off", "0", "NO", "Off" };
	size_t i;

	assert_int_equal(set(f, "no-udp", NULL), 0);
	assert_true(f->c.no_udp);
	for (i = 0; i < ARRAY_SIZE(no); i++) {
		assert_int_equal(set(f, "no-udp", no[i]), 0);
		assert_false(f->c.no_udp);
	}
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		f->c.no_udp = false;
		assert_int_equal(set(f, "no-udp", yes[i]), 0);
		assert_true(f->c.no_udp);
	}
}

static void test_bool_bad_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "rfc5780", "maybe"), -1);
	assert_string_equal(f->err, "test: rfc5780: 'maybe' is not a boolean "
				    "(yes/no, true/false, on/off, 1/0)");
}

static void test_software_attribute_inverts(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "software-attribute", "false"), 0);
	assert_true(f->c.no_software_attribute);
	assert_int_equal(set(f, "software-attribute", NULL), 0);
	assert_false(f->c.no_software_attribute);
	assert_string_equal(config_origin(&f->c, "no-software-attribute"), "test");
}

static void test_verbose_sets_debug(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "verbose", NULL), 0);
	assert_int_equal(f->c.verbose, LOG_LVL_DEBUG);
	assert_int_equal(set(f, "verbose", "no"), 0);
	assert_int_equal(f->c.verbose, LOG_LVL_INFO);
	assert_int_equal(set(f, "Verbose", NULL), 0);
	assert_int_equal(f->c.verbose, LOG_LVL_DEBUG);
}

static void test_int_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "workers", "4"), 0);
	assert_int_equal(f->c.workers, 4);
	assert_int_equal(set(f, "workers", "0"), 0);
	assert_int_equal(f->c.workers, 0);
	assert_int_equal(set(f, "workers", "-1"), -1);
	assert_string_equal(f->err, "test: workers: '-1' is not a number from 0 to 1024");
	assert_int_equal(set(f, "workers", "1025"), -1);
	assert_int_equal(set(f, "workers", "4x"), -1);
	assert_int_equal(set(f, "workers", NULL), -1);
	assert_string_equal(f->err, "test: workers: needs a value");
	assert_int_equal(f->c.workers, 0);
}

static void test_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "listening-port", "3479"), 0);
	assert_int_equal(f->c.listening_port, 3479);
	assert_int_equal(set(f, "listening-port", "99999"), -1);
	assert_string_equal(f->err, "test: listening-port: '99999' is not a port (1-65535)");
	assert_int_equal(set(f, "listening-port", "0"), -1);
	assert_int_equal(set(f, "listening-port", " 80"), -1);
	assert_int_equal(set(f, "listening-port", "80 "), -1);
	assert_int_equal(set(f, "listening-port", "0x50"), -1);
	assert_int_equal(f->c.listening_port, 3479);
	/* an alternate port may be 0: "the default" */
	assert_int_equal(set(f, "alt-listening-port", "0"), 0);
}

static void test_string_replace_and_unset(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "realm", "a.example"), 0);
	assert_int_equal(set(f, "realm", "b.example"), 0);
	assert_string_equal(f->c.realm, "b.example");
	assert_int_equal(set(f, "realm", ""), 0);
	assert_null(f->c.realm);
	assert_int_equal(set(f, "realm", NULL), -1);
	assert_string_equal(f->err, "test: realm: needs a value");
}

static void test_listening_ip_repeatable(void **state)
{
	struct fixture *f = *state;
	char ip[32];
	int i;

	assert_int_equal(set(f, "listening-ip", "::1"), 0);
	for (i = 1; i < CONFIG_MAX_LISTEN_IPS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i);
		assert_int_equal(set(f, "listening-ip", ip), 0);
	}
	assert_int_equal(f->c.n_listening_ip, CONFIG_MAX_LISTEN_IPS);
	assert_string_equal(f->c.listening_ip[0], "::1");
	assert_string_equal(f->c.listening_ip[7], "10.0.0.7");
	assert_int_equal(set(f, "listening-ip", "10.0.0.99"), -1);
	assert_string_equal(f->err, "test: listening-ip: more than 8 addresses");
}

static void test_listening_ip_not_literal(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "listening-ip", "turn.example.com"), -1);
	assert_string_equal(f->err,
			    "test: listening-ip: 'turn.example.com' is not an IPv4 or IPv6 address");
	assert_int_equal(set(f, "relay-ip", "1.2.3.256"), -1);
	assert_int_equal(set(f, "relay-ip", "1.2.3.4"), 0);
	assert_int_equal(set(f, "relay-ip", "1.2.3.4"), -1);
	assert_string_equal(f->err, "test: relay-ip: '1.2.3.4' is given twice");
	assert_int_equal(f->c.n_relay_ip, 1);
}

static void test_external_ip(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "external-ip", "203.0.113.5"), 0);
	assert_int_equal(set(f, "external-ip", "203.0.113.5/10.0.0.5"), 0);
	assert_string_equal(f->c.external_ip, "203.0.113.5/10.0.0.5");
	assert_int_equal(set(f, "external-ip", "2001:db8::1/10.0.0.5"), -1);
	assert_int_equal(set(f, "external-ip", "203.0.113.5/"), -1);
	assert_int_equal(set(f, "external-ip", "nat.example"), -1);
}

static void test_stats_listen(void **state)
{
	struct fixture *f = *state;
	char host[64];
	uint16_t port = 0;

	assert_int_equal(set(f, "stats-listen", "[::1]:9000"), 0);
	assert_true(config_split_hostport(f->c.stats_listen, host, sizeof(host), &port));
	assert_string_equal(host, "::1");
	assert_int_equal(port, 9000);
	assert_int_equal(set(f, "stats-listen", "localhost:80"), 0);
	assert_int_equal(set(f, "stats-listen", "off"), 0);
	assert_int_equal(set(f, "stats-listen", ""), 0);
	assert_string_equal(f->c.stats_listen, "off");
	assert_int_equal(set(f, "stats-listen", "::1:9000"), -1);
	assert_int_equal(set(f, "stats-listen", "127.0.0.1"), -1);
	assert_int_equal(set(f, "stats-listen", "127.0.0.1:0"), -1);
	assert_int_equal(set(f, "stats-listen", "127.0.1:80"), -1);
	assert_int_equal(set(f, "stats-listen", "[127.0.0.1]:80"), -1);
	assert_string_equal(f->err,
			    "test: stats-listen: '[127.0.0.1]:80' is not host:port, [ipv6]:port or off");
}

static void test_prometheus_maps_to_stats_listen(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "prometheus-port", "9100"), 0);
	assert_string_equal(f->c.stats_listen, "127.0.0.1:9100");
	assert_int_equal(set(f, "prometheus-address", "::"), 0);
	assert_string_equal(f->c.stats_listen, "[::]:9100");
	assert_string_equal(config_origin(&f->c, "stats-listen"), "test");
	assert_int_equal(set(f, "prometheus-port", "x"), -1);
}

/* ---- files ------------------------------------------------------------------ */

static void test_file_syntax(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "# a comment\n"
				 "\n"
				 "listening-port=3480\n"
				 "  tls-listening-port = 5350  \n"
				 "min-port 50000\n"
				 "no-udp\n"
				 "\tno-tcp=false # trailing comment\n"
				 "realm = \"my realm # not a comment\"   # a comment\n"
				 "pidfile='/run/x#y.pid'\n"
				 "cipher-list=A#B\n"
				 "max-port=60000\r\n"
				 "   # indented comment\n"),
			 0);
	assert_int_equal(f->c.listening_port, 3480);
	assert_int_equal(f->c.tls_listening_port, 5350);
	assert_int_equal(f->c.min_port, 50000);
	assert_int_equal(f->c.max_port, 60000);
	assert_true(f->c.no_udp);
	assert_false(f->c.no_tcp);
	assert_string_equal(f->c.realm, "my realm # not a comment");
	assert_string_equal(f->c.pidfile, "/run/x#y.pid");
	assert_string_equal(f->c.cipher_list, "A#B");
	assert_string_equal(f->c.path, f->path);
}

static void test_file_bom_and_dos_line_ends(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "\xef\xbb\xbfrealm=bom\r\nno-udp\r\n"), 0);
	assert_string_equal(f->c.realm, "bom");
	assert_true(f->c.no_udp);
}

static void test_file_origin_lines(void **state)
{
	struct fixture *f = *state;
	char want[128];

	assert_int_equal(load(f, "\n\nrealm=x\n"), 0);
	snprintf(want, sizeof(want), "%s:3", f->path);
	assert_string_equal(config_origin(&f->c, "realm"), want);
	assert_null(config_origin(&f->c, "cert"));
	assert_null(config_origin(&f->c, "no-such-option"));
}

static void test_file_unterminated_quote(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "realm=x\nrealm=\"abc\n"), -1);
	assert_err_at(f, 2, "unterminated \" quote");
	assert_int_equal(load(f, "realm=\"abc\" def\n"), -1);
	assert_err_at(f, 1, "unexpected text after the closing quote: 'def'");
}

static void test_file_repeatable(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "listening-ip=192.0.2.1\n"
				 "listening-ip = 192.0.2.2\n"
				 "listening-ip 2001:db8::1\n"
				 "relay-ip=192.0.2.1\n"),
			 0);
	assert_int_equal(f->c.n_listening_ip, 3);
	assert_string_equal(f->c.listening_ip[1], "192.0.2.2");
	assert_string_equal(f->c.listening_ip[2], "2001:db8::1");
	assert_int_equal(f->c.n_relay_ip, 1);
}

static void test_file_coturn_option_warns(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[1024], want[256];
	int rc;

	capture_start(&cap, 2);
	rc = load(f, "listening-port=3478\nlt-cred-mech\nuser=bob:secret\nmax-port=60000\n");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want),
		 "%s:2: warning: coturn option 'lt-cred-mech' is not supported by ternd yet, "
		 "ignored\n",
		 f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:3: warning: coturn option 'user'", f->path);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "secret")); /* a value is never echoed */
	assert_int_equal(f->c.max_port, 60000);
}

static void test_file_unknown_option(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "# x\nlistening-port=3478\nlistening-prot=3478\n"), -1);
	assert_err_at(f, 3, "unknown option 'listening-prot'");
}

static void test_file_bad_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "realm=x\nlistening-port = 99999\n"), -1);
	assert_err_at(f, 2, "listening-port: '99999' is not a port (1-65535)");
}

static void test_file_missing(void **state)
{
	struct fixture *f = *state;
	char err[CONFIG_ERR_LEN];

	assert_int_equal(config_load(&f->c, "/nonexistent/ternd.conf", err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/ternd.conf: cannot open: No such file or directory");
}

static void test_file_long_line(void **state)
{
	struct fixture *f = *state;
	char *text = malloc(CONFIG_MAX_LINE + 64);

	assert_non_null(text);
	memset(text, 'x', CONFIG_MAX_LINE + 10);
	memcpy(text, "realm=", 6);
	snprintf(text + CONFIG_MAX_LINE + 10, 40, "\nlisten=1\n");
	assert_int_equal(load(f, text), -1);
	free(text);
	assert_err_at(f, 1, "line is longer than 4094 bytes");
}

/* ---- cross-option checks ---------------------------------------------------- */

static void test_min_above_max(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "min-port=60000\nmax-port=50000\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 1, "min-port 60000 is above max-port 50000");
}

static void test_missing_cert_names_line(void **state)
{
	struct fixture *f = *state;
	char text[256];

	write_temp(f->path2, sizeof(f->path2), "not really a key\n");
	snprintf(text, sizeof(text), "realm=x\npkey=%s\ncert=/nope.pem\n", f->path2);
	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 3, "cert: cannot read '/nope.pem': No such file or directory");
}

static void test_cert_without_pkey(void **state)
{
	struct fixture *f = *state;

	write_temp(f->path2, sizeof(f->path2), "cert\n");
	assert_int_equal(set(f, "cert", f->path2), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "test: cert: is set but pkey is not; TLS needs both");
}

static void test_no_tls_skips_cert_check(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "cert=/nope.pem\npkey=/nope.key\nno-tls\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
}

static void test_nothing_to_listen_on(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "no-udp\nno-tcp\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 2, "no-udp and no-tcp are set and TLS is off: nothing to listen on");
}

static void test_check_file_counts_every_problem(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[2048], want[256];
	int n;

	write_temp(f->path, sizeof(f->path),
		   "bogus=1\nlistening-port=0\nfingerprint\nmin-port=60000\nmax-port=50000\n"
		   "cert=/nope.pem\npkey=/nope.key\n");
	capture_start(&cap, 2);
	n = config_check_file(f->path);
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(n, 5);
	snprintf(want, sizeof(want), "%s:1: unknown option 'bogus'\n", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:2: listening-port: '0' is not a port", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:3: warning: coturn option 'fingerprint'", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:4: min-port 60000 is above max-port 50000", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:6: cert: cannot read '/nope.pem'", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:7: pkey: cannot read '/nope.key'", f->path);
	assert_non_null(strstr(out, want));
}

/* ---- the command line ----------------------------------------------------- */

static int from_argv(struct fixture *f, bool *check, int argc, ...)
{
	char *argv[16];
	va_list ap;
	int i;

	assert_true(argc < 16);
	va_start(ap, argc);
	for (i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	f->err[0] = '\0';
	return config_from_argv(&f->c, argc, argv, check, f->err, sizeof(f->err));
}

static void test_argv_forms(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 8, "ternd", "--listening-port=3490", "--realm",
				   "r.example", "--no-udp", "-v", "-L", "192.0.2.7"),
			 0);
	assert_false(check);
	assert_int_equal(f->c.listening_port, 3490);
	assert_string_equal(f->c.realm, "r.example");
	assert_true(f->c.no_udp);
	assert_int_equal(f->c.verbose, LOG_LVL_DEBUG);
	assert_int_equal(f->c.n_listening_ip, 1);
	assert_string_equal(config_origin(&f->c, "realm"), "command line");
	assert_null(f->c.path);
}

static void test_argv_flag_value_and_glued_short(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 4, "ternd", "--no-tcp=no", "-p3500", "--pidfile="), 0);
	assert_false(f->c.no_tcp);
	assert_int_equal(f->c.listening_port, 3500);
	assert_null(f->c.pidfile);
}

static void test_argv_file_then_overrides(void **state)
{
	struct fixture *f = *state;
	bool check;

	write_temp(f->path, sizeof(f->path), "listening-port=3600\nrealm=file\n");
	assert_int_equal(from_argv(f, &check, 4, "ternd", "--realm=cli", "-c", f->path), 0);
	assert_int_equal(f->c.listening_port, 3600);
	assert_string_equal(f->c.realm, "cli");
	assert_string_equal(f->c.path, f->path);
}

static void test_argv_file_error(void **state)
{
	struct fixture *f = *state;
	bool check;
	char want[128];

	write_temp(f->path, sizeof(f->path), "\nmax-port=70000\n");
	assert_int_equal(from_argv(f, &check, 3, "ternd", "-c", f->path), -1);
	snprintf(want, sizeof(want), "%s:2: max-port: '70000' is not a port (1-65535)", f->path);
	assert_string_equal(f->err, want);
}

static void test_argv_validates(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 3, "ternd", "--min-port=6000", "--max-port=5000"), -1);
	assert_string_equal(f->err, "command line: min-port 6000 is above max-port 5000");
}

static void test_argv_no_file(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 2, "ternd", "-n"), 0);
	assert_null(f->c.path);
	assert_int_equal(from_argv(f, &check, 4, "ternd", "-n", "-c", "/x.conf"), -1);
	assert_string_equal(f->err, "command line: -c and -n cannot be used together");
}

static void test_argv_check_reads_file_quietly(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[512];
	bool check = false;
	int rc;

	write_temp(f->path, sizeof(f->path),
		   "listening-port=4000\nbogus-option=1\nfingerprint\nmax-port=1\n");
	capture_start(&cap, 2);
	rc = from_argv(f, &check, 5, "ternd", "--check", "-c", f->path, "--min-port=2");
	capture_end(&cap, out, sizeof(out));
	/* problems are left to config_check_file(), which prints them all */
	assert_int_equal(rc, 0);
	assert_true(check);
	assert_string_equal(out, "");
	assert_string_equal(f->c.path, f->path);
	/* the file and the command line are merged for config_validate() */
	assert_int_equal(f->c.listening_port, 4000);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "command line: min-port 2 is above max-port 1");
}

static void test_argv_check_still_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	bool check = false;

	assert_int_equal(from_argv(f, &check, 4, "ternd", "--check", "-n", "--workers=x"), -1);
	assert_string_equal(f->err, "command line: workers: 'x' is not a number from 0 to 1024");
}

static void test_argv_version(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[256];
	bool check;
	int rc;

	capture_start(&cap, 1);
	rc = from_argv(f, &check, 2, "ternd", "--version");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 1);
	assert_true(strncmp(out, "ternd ", 6) == 0);
	assert_true(out[6] >= '0' && out[6] <= '9');
}

static void test_argv_help(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[16384];
	bool check;
	int rc;

	capture_start(&cap, 1);
	rc = from_argv(f, &check, 3, "ternd", "--listening-port=1", "--help");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "--listening-port=PORT"));
	assert_non_null(strstr(out, "(default: 3478)"));
	assert_non_null(strstr(out, "--stats-listen=HOST:PORT"));
}

static void test_argv_errors(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 2, "ternd", "--listen-port=1"), -1);
	assert_string_equal(f->err, "command line: unknown option '--listen-port'");
	assert_int_equal(from_argv(f, &check, 2, "ternd", "--listening-port"), -1);
	assert_string_equal(f->err, "command line: listening-port: needs a value");
	assert_int_equal(from_argv(f, &check, 2, "ternd", "stray"), -1);
	assert_string_equal(f->err, "command line: unexpected argument 'stray'");
	assert_int_equal(from_argv(f, &check, 2, "ternd", "-x"), -1);
	assert_int_equal(from_argv(f, &check, 2, "ternd", "-nv"), -1);
	assert_int_equal(from_argv(f, &check, 2, "ternd", "--listening-port=abc"), -1);
	assert_string_equal(f->err, "command line: listening-port: 'abc' is not a port (1-65535)");
}

static void test_argv_coturn_options_take_values(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[1024];
	bool check;
	int rc;

	/* --user takes the next argument; --fingerprint does not */
	capture_start(&cap, 2);
	rc = from_argv(f, &check, 6, "ternd", "--user", "bob:pw", "--fingerprint", "-o",
		       "--realm=r");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 0);
	assert_string_equal(f->c.realm, "r");
	assert_non_null(strstr(out, "command line: warning: coturn option 'user'"));
	assert_non_null(strstr(out, "command line: warning: coturn option 'daemon' is ignored"));
}

static void test_relay_threads_alias(void **state)
{
	struct fixture *f = *state;
	char want[128];

	assert_int_equal(load(f, "relay-threads=6\n"), 0);
	assert_int_equal(f->c.workers, 6);
	snprintf(want, sizeof(want), "%s:1", f->path);
	assert_string_equal(config_origin(&f->c, "workers"), want);
	assert_int_equal(set(f, "relay-threads", "2000"), -1);
	assert_string_equal(f->err, "test: relay-threads: '2000' is not a number from 0 to 1024");
}

static void test_free_is_reusable(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "listening-ip", "192.0.2.1"), 0);
	assert_int_equal(set(f, "cert", "/x"), 0);
	config_free(&f->c);
	assert_null(f->c.stats_listen);
	assert_int_equal(f->c.n_listening_ip, 0);
	config_free(&f->c);
	config_defaults(&f->c);
	assert_int_equal(f->c.listening_port, 3478);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_bool_values),
		T(test_bool_bad_value),
		T(test_software_attribute_inverts),
		T(test_verbose_sets_debug),
		T(test_int_range),
		T(test_port),
		T(test_string_replace_and_unset),
		T(test_listening_ip_repeatable),
		T(test_listening_ip_not_literal),
		T(test_external_ip),
		T(test_stats_listen),
		T(test_prometheus_maps_to_stats_listen),
		T(test_file_syntax),
		T(test_file_bom_and_dos_line_ends),
		T(test_file_origin_lines),
		T(test_file_unterminated_quote),
		T(test_file_repeatable),
		T(test_file_coturn_option_warns),
		T(test_file_unknown_option),
		T(test_file_bad_port),
		T(test_file_missing),
		T(test_file_long_line),
		T(test_min_above_max),
		T(test_missing_cert_names_line),
		T(test_cert_without_pkey),
		T(test_no_tls_skips_cert_check),
		T(test_nothing_to_listen_on),
		T(test_check_file_counts_every_problem),
		T(test_argv_forms),
		T(test_argv_flag_value_and_glued_short),
		T(test_argv_file_then_overrides),
		T(test_argv_file_error),
		T(test_argv_validates),
		T(test_argv_no_file),
		T(test_argv_check_reads_file_quietly),
		T(test_argv_check_still_rejects_bad_arguments),
		T(test_argv_version),
		T(test_argv_help),
		T(test_argv_errors),
		T(test_argv_coturn_options_take_values),
		T(test_relay_threads_alias),
		T(test_free_is_reusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
