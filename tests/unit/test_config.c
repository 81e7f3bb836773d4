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
 * Write n bytes to a fresh temporary file; its name goes to path, and the
 * file path named before, if any, is removed.
 */
static void write_temp_n(char *path, size_t len, const char *text, size_t n)
{
	int fd;

	if (path[0])
		unlink(path);
	snprintf(path, len, "/tmp/tern-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static void write_temp(char *path, size_t len, const char *text)
{
	write_temp_n(path, len, text, strlen(text));
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

static void test_defaults_turn(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->c.realm, "tern.invalid");
	assert_int_equal(f->c.max_allocations, 65536);
	assert_int_equal(f->c.max_allocate_lifetime, 3600);
	assert_int_equal(f->c.channel_lifetime, 600);
	assert_int_equal(f->c.permission_lifetime, 300);
	assert_int_equal(f->c.stale_nonce, 600);
	assert_int_equal(f->c.rest_api_separator, ':');
	assert_int_equal(f->c.user_quota + f->c.total_quota, 0);
	assert_true(f->c.max_bps == 0 && f->c.bps_capacity == 0);
	assert_int_equal(f->c.n_user + f->c.n_static_auth_secret, 0);
	assert_int_equal(f->c.n_allowed_peer_ip + f->c.n_denied_peer_ip, 0);
	assert_false(f->c.use_auth_secret || f->c.has_nonce_secret || f->c.allow_loopback_peers);
	assert_false(f->c.no_udp_relay || f->c.no_tcp_relay);
	assert_null(f->c.userdb);
	assert_null(config_origin(&f->c, "realm"));
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
	/* a string with a default gets it back; one without is unset */
	assert_int_equal(set(f, "realm", ""), 0);
	assert_string_equal(f->c.realm, "tern.invalid");
	assert_int_equal(set(f, "pidfile", "/run/ternd.pid"), 0);
	assert_int_equal(set(f, "pidfile", ""), 0);
	assert_null(f->c.pidfile);
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
	rc = load(f, "listening-port=3478\nfingerprint\nserver-name=secret.example\n"
		     "max-port=60000\nlt-cred-mech\nno-multicast-peers\n");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want),
		 "%s:2: warning: coturn option 'fingerprint' is not supported by ternd yet, "
		 "ignored\n",
		 f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:3: warning: coturn option 'server-name'", f->path);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "secret")); /* a value is never echoed */
	assert_null(strstr(out, "lt-cred-mech")); /* accepted, not warned about */
	assert_null(strstr(out, "multicast"));
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

/* stats-listen off loopback needs stats-token; loopback, localhost and off do not. */
static void test_stats_token(void **state)
{
	struct fixture *f = *state;

	assert_true(config_loopback("127.0.0.2") && config_loopback("::1") &&
		    config_loopback("localhost"));
	assert_false(config_loopback("0.0.0.0") || config_loopback("::") ||
		     config_loopback("10.0.0.1") || config_loopback("example.org"));
	assert_int_equal(load(f, "stats-listen=0.0.0.0:9641\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 1, "stats-listen: 0.0.0.0:9641 is not a loopback address, and the "
			    "endpoint serves /allocations and admin actions: set stats-token");
	assert_int_equal(set(f, "stats-token", "short"), -1);
	assert_int_equal(set(f, "stats-token", "sixteen chars ok"), -1); /* spaces */
	assert_int_equal(set(f, "stats-token", "0123456789abcdef"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	assert_int_equal(set(f, "stats-listen", "[::1]:9641"), 0);
	assert_int_equal(set(f, "stats-token", ""), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
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
	assert_err_at(f, 2, "no-udp and no-tcp are set and TLS and DTLS are off: nothing to listen on");
}

/* The WireGuard options: names, CIDR lists, and wg-config read whole by the
 * validation, its problems at the file's own lines. */
static void test_wireguard(void **state)
{
	struct fixture *f = *state;
	char want[CONFIG_ERR_LEN];

	assert_int_equal(set(f, "wg-tun", "tern0"), 0);
	assert_int_equal(set(f, "wg-tun", "this-name-is-too-long"), -1);
	assert_string_equal(f->err,
			    "test: wg-tun: 'this-name-is-too-long' is not 1-15 of A-Z a-z 0-9 . _ -");
	assert_int_equal(set(f, "wg-name", "../x"), -1);
	assert_int_equal(set(f, "wg-address", "10.0.0.1/24"), 0);
	assert_int_equal(set(f, "wg-address", "fd00::1/64"), 0);
	assert_int_equal(f->c.n_wg_address, 2);
	assert_int_equal(set(f, "wg-address", "10.0.0.1"), -1);
	assert_int_equal(set(f, "wg-address", "10.0.0.1/33"), -1);
	assert_int_equal(f->c.wg_cookie_threshold, 4000);
	assert_int_equal(f->c.wg_mtu, 1420);
	assert_string_equal(f->c.wg_name, "tern0");
	/* wg-tun without wg-config */
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "test: wg-tun needs wg-config (the keys and peers)");
	/* a file with a problem: reported at its own line */
	write_temp(f->path2, sizeof(f->path2),
		   "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n"
		   "[Peer]\nPublicKey = nope\n");
	assert_int_equal(set(f, "wg-config", f->path2), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	snprintf(want, sizeof(want), "%s:4: PublicKey: not a base64 key of 32 bytes", f->path2);
	assert_string_equal(f->err, want);
	assert_int_equal(set(f, "wg-config", "/nonexistent/wg.conf"), -1);
	/* with only WireGuard on, there is something to listen on */
	write_temp(f->path2, sizeof(f->path2),
		   "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n");
	assert_int_equal(set(f, "wg-config", f->path2), 0);
	assert_int_equal(set(f, "no-udp", "yes"), 0);
	assert_int_equal(set(f, "no-tcp", "yes"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
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
	snprintf(want, sizeof(want), "%s:2: max-port: '70000' is not a port (1024-65535)", f->path);
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
		   "listening-port=4000\nbogus-option=1\nfingerprint\nmax-port=2000\n");
	capture_start(&cap, 2);
	rc = from_argv(f, &check, 5, "ternd", "--check", "-c", f->path, "--min-port=3000");
	capture_end(&cap, out, sizeof(out));
	/* problems are left to config_check_file(), which prints them all */
	assert_int_equal(rc, 0);
	assert_true(check);
	assert_string_equal(out, "");
	assert_string_equal(f->c.path, f->path);
	/* the file and the command line are merged for config_validate() */
	assert_int_equal(f->c.listening_port, 4000);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "command line: min-port 3000 is above max-port 2000");
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

	/* --server-name takes the next argument; --fingerprint does not */
	capture_start(&cap, 2);
	rc = from_argv(f, &check, 8, "ternd", "--server-name", "turn.example", "--fingerprint",
		       "-o", "--realm=r", "-u", "bob:pw");
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(rc, 0);
	assert_string_equal(f->c.realm, "r");
	assert_int_equal(f->c.n_user, 1);
	assert_string_equal(f->c.user[0], "bob:pw");
	assert_non_null(strstr(out, "command line: warning: coturn option 'server-name'"));
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

/* ---- TURN relay ------------------------------------------------------------ */

#define KEY32 "0123456789abcdef0123456789ABCDEF"

static void test_relay_port_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "min-port", "1023"), -1);
	assert_string_equal(f->err, "test: min-port: '1023' is not a port (1024-65535)");
	assert_int_equal(set(f, "max-port", "80"), -1);
	assert_string_equal(f->err, "test: max-port: '80' is not a port (1024-65535)");
	assert_int_equal(set(f, "min-port", "1024"), 0);
	assert_int_equal(set(f, "max-port", "1024"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0); /* one port */
	assert_int_equal(set(f, "min-port", "1025"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "test: min-port 1025 is above max-port 1024");
}

static void test_external_ip_v6_pair(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "external-ip", "2001:db8::1/fd00::1"), 0);
	assert_int_equal(set(f, "external-ip", "203.0.113.5/10.0.0.5/1"), -1);
	assert_string_equal(f->err, "test: external-ip: '203.0.113.5/10.0.0.5/1' is not an "
				    "address or a public/private address pair");
}

static void test_relay_flags_and_table(void **state)
{
	struct fixture *f = *state;

	assert_false(f->c.rfc8656_channel_numbers);
	assert_int_equal(load(f, "no-udp-relay\nno-tcp-relay=yes\nmax-allocations=16\n"
				 "rfc8656-channel-numbers\n"),
			 0);
	assert_true(f->c.no_udp_relay && f->c.no_tcp_relay && f->c.rfc8656_channel_numbers);
	/* coturn's rfc5766-channel-numbers names the default, the wide range */
	assert_int_equal(set(f, "rfc5766-channel-numbers", "yes"), 0);
	assert_false(f->c.rfc8656_channel_numbers);
	assert_int_equal(f->c.max_allocations, 16);
	assert_int_equal(set(f, "max-allocations", "4194304"), 0);
	assert_int_equal(set(f, "max-allocations", "15"), -1);
	assert_string_equal(f->err, "test: max-allocations: '15' is not a number from 16 to 4194304");
	assert_int_equal(set(f, "max-allocations", "4194305"), -1);
}

static void test_lifetimes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "max-allocate-lifetime", "600"), 0);
	assert_int_equal(f->c.max_allocate_lifetime, 600);
	assert_int_equal(set(f, "max-allocate-lifetime", "59"), -1);
	assert_string_equal(f->err,
			    "test: max-allocate-lifetime: '59' is not a number from 60 to 86400");
	assert_int_equal(set(f, "max-allocate-lifetime", "86401"), -1);
	/* coturn's channel-lifetime=-1 ("never") is refused */
	assert_int_equal(set(f, "channel-lifetime", "-1"), -1);
	assert_string_equal(f->err, "test: channel-lifetime: '-1' is not a number from 60 to 3600");
	assert_int_equal(set(f, "permission-lifetime", "3600"), 0);
	assert_int_equal(set(f, "permission-lifetime", "3601"), -1);
	assert_int_equal(set(f, "stale-nonce", "29"), -1);
	assert_string_equal(f->err, "test: stale-nonce: '29' is not a number from 30 to 86400");
	assert_int_equal(set(f, "stale-nonce", "0"), -1);
	assert_int_equal(set(f, "stale-nonce", "120"), 0);
	/* as in coturn, a bare lifetime option means its default */
	assert_int_equal(set(f, "stale-nonce", NULL), 0);
	assert_int_equal(f->c.stale_nonce, 600);
	assert_int_equal(load(f, "channel-lifetime=120\nchannel-lifetime\n"), 0);
	assert_int_equal(f->c.channel_lifetime, 600);
}

static void test_quotas_and_bandwidth(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "user-quota", "5"), 0);
	assert_int_equal(set(f, "total-quota", "1000"), 0);
	assert_int_equal(set(f, "max-bps", "12500000000"), 0); /* 100 Gbit/s: past INT_MAX */
	assert_int_equal(set(f, "bps-capacity", "1000000000000"), 0);
	assert_int_equal(f->c.user_quota, 5);
	assert_int_equal(f->c.total_quota, 1000);
	assert_true(f->c.max_bps == 12500000000ULL);
	assert_true(f->c.bps_capacity == 1000000000000ULL);
	assert_int_equal(set(f, "bps-capacity", "1000000000001"), -1);
	assert_string_equal(f->err,
			    "test: bps-capacity: '1000000000001' is not a number from 0 to 1000000000000");
	assert_int_equal(set(f, "max-bps", "-1"), -1);
	assert_int_equal(set(f, "user-quota", "x"), -1);
	assert_string_equal(f->err, "test: user-quota: 'x' is not a number from 0 to 1000000000");
}

static void test_argv_relay_short_options(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(from_argv(f, &check, 9, "ternd", "-q", "3", "-Q10", "-s", "1000", "-B",
				   "2000", "-a"),
			 0);
	assert_int_equal(f->c.user_quota, 3);
	assert_int_equal(f->c.total_quota, 10);
	assert_true(f->c.max_bps == 1000 && f->c.bps_capacity == 2000);
	assert_true(f->c.lt_cred_mech);
}

static void test_argv_lifetime_value_is_glued(void **state)
{
	struct fixture *f = *state;
	bool check;

	/* coturn's optional value: a bare --stale-nonce leaves the next argument alone */
	assert_int_equal(from_argv(f, &check, 4, "ternd", "--stale-nonce=120", "--stale-nonce",
				   "--realm=r"),
			 0);
	assert_int_equal(f->c.stale_nonce, 600);
	assert_string_equal(f->c.realm, "r");
	assert_int_equal(from_argv(f, &check, 3, "ternd", "--max-allocate-lifetime", "600"), -1);
	assert_string_equal(f->err, "command line: unexpected argument '600'");
}

/* ---- peers ------------------------------------------------------------------ */

static void test_peer_ranges(void **state)
{
	struct fixture *f = *state;
	static const char *const good[] = {
		"192.0.2.7", "203.0.113.0/24", "10.0.0.1-10.0.0.9", "2001:db8::/32",
		"::1", "0.0.0.0/0", "10.0.0.1 - 10.0.0.1", "fe80::/10", "10.0.0.0 / 8",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(set(f, "allowed-peer-ip", good[i]), 0);
	assert_int_equal(f->c.n_allowed_peer_ip, (int)ARRAY_SIZE(good));
	assert_string_equal(f->c.allowed_peer_ip[2], "10.0.0.1-10.0.0.9");
	assert_int_equal(load(f, "denied-peer-ip=172.16.0.0/12\ndenied-peer-ip 100.64.0.0/10\n"), 0);
	assert_int_equal(f->c.n_denied_peer_ip, 2);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
}

static void test_peer_ranges_bad(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *v, *err;
	} bad[] = {
		{ "10.1.2.3/8", "'10.1.2.3/8': host bits are set after the prefix" },
		{ "2001:db8::1/32", "'2001:db8::1/32': host bits are set after the prefix" },
		{ "10.0.0.9-10.0.0.1", "'10.0.0.9-10.0.0.1': the range ends before it starts" },
		{ "10.0.0.1-::1", "'10.0.0.1-::1': the range mixes IPv4 and IPv6" },
		{ "10.0.0.0/33", "'10.0.0.0/33': the prefix length is not 0-32" },
		{ "::/129", "'::/129': the prefix length is not 0-128" },
		{ "10.0.0.0/", "'10.0.0.0/': the prefix length is not 0-32" },
		{ "10.0.0.0/+8", "'10.0.0.0/+8': the prefix length is not 0-32" },
		{ "10.0.0.0/0008", "'10.0.0.0/0008': the prefix length is not 0-32" },
		{ "peer.example", "'peer.example' is not an address, ip1-ip2 or ip/len" },
		{ "10.0.0.1-", "'10.0.0.1-' is not an address, ip1-ip2 or ip/len" },
		{ "10.0.0.1-10.0.0.2-10.0.0.3",
		  "'10.0.0.1-10.0.0.2-10.0.0.3' is not an address, ip1-ip2 or ip/len" },
		{ "10.0.0.1-10.0.0.5/8", "'10.0.0.1-10.0.0.5/8' is not an address, ip1-ip2 or ip/len" },
		{ "", "'' is not an address, ip1-ip2 or ip/len" },
	};
	char want[CONFIG_ERR_LEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(set(f, "denied-peer-ip", bad[i].v), -1);
		snprintf(want, sizeof(want), "test: denied-peer-ip: %s", bad[i].err);
		assert_string_equal(f->err, want);
	}
	assert_int_equal(f->c.n_denied_peer_ip, 0);
	assert_int_equal(set(f, "allowed-peer-ip", NULL), -1);
	assert_string_equal(f->err, "test: allowed-peer-ip: needs a value");
}

static void test_peer_ranges_limit(void **state)
{
	struct fixture *f = *state;
	char ip[32];
	int i;

	for (i = 0; i < CONFIG_MAX_PEER_RANGES; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.0/24", i / 256, i % 256);
		assert_int_equal(set(f, "denied-peer-ip", ip), 0);
	}
	assert_int_equal(set(f, "denied-peer-ip", "192.0.2.1"), -1);
	assert_string_equal(f->err, "test: denied-peer-ip: more than 1024 ranges");
	/* the other list has its own limit */
	assert_int_equal(set(f, "allowed-peer-ip", "192.0.2.1"), 0);
}

static void test_peer_flags(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[256];

	capture_start(&cap, 2);
	assert_int_equal(load(f, "allow-loopback-peers\nno-multicast-peers\n"), 0);
	capture_end(&cap, out, sizeof(out));
	assert_string_equal(out, ""); /* no-multicast-peers is a quiet no-op */
	assert_true(f->c.allow_loopback_peers);
}

/* ---- authentication -------------------------------------------------------- */

static void test_no_auth_refused(void **state)
{
	struct fixture *f = *state;
	bool check;

	assert_int_equal(set(f, "no-auth", NULL), -1);
	assert_string_equal(f->err, "test: no-auth: tern never relays without authentication");
	assert_int_equal(load(f, "realm=example.org\nno-auth=yes\n"), -1);
	assert_err_at(f, 2, "no-auth: tern never relays without authentication");
	assert_int_equal(from_argv(f, &check, 2, "ternd", "-z"), -1);
	assert_string_equal(f->err,
			    "command line: no-auth: tern never relays without authentication");
	/* turning it off is harmless */
	assert_int_equal(set(f, "no-auth", "no"), 0);
	assert_true(f->c.lt_cred_mech);
	assert_int_equal(set(f, "lt-cred-mech", NULL), 0);
}

static void test_user_forms(void **state)
{
	struct fixture *f = *state;
	struct config_user u;
	char why[CONFIG_ERR_LEN];

	assert_int_equal(load(f, "user=bob:secret\nuser=alice:0x" KEY32 "\n"
				 "user = carol:pass:with:colons\nuser=\"dave:two words\"\n"),
			 0);
	assert_int_equal(f->c.n_user, 4);
	assert_string_equal(f->c.user[2], "carol:pass:with:colons");
	assert_string_equal(f->c.user[3], "dave:two words");
	assert_true(config_parse_user(f->c.user[1], &u, why, sizeof(why)));
	assert_int_equal(u.name_len, 5);
	assert_memory_equal(u.name, "alice", 5);
	assert_null(u.password);
	assert_int_equal(u.key[0], 0x01);
	assert_int_equal(u.key[15], 0xef);
	assert_true(config_parse_user(f->c.user[2], &u, why, sizeof(why)));
	assert_int_equal(u.password_len, strlen("pass:with:colons"));
	assert_memory_equal(u.password, "pass:with:colons", u.password_len);
}

static void test_user_bad(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *v, *err;
	} bad[] = {
		{ "hunter2", "not name:password or name:0xKEY" },
		{ ":hunter2", "no name before ':'" },
		{ "bob:", "'bob': no password after ':'" },
		{ "bob:0x", "'bob': a 0x key must be 32 hex digits" },
		{ "bob:0x0123456789abcdef0123456789abcdeg", "'bob': a 0x key must be 32 hex digits" },
		{ "bob:0x" KEY32 "0", "'bob': a 0x key must be 32 hex digits" },
		{ "bob:0x" KEY32 " ", "'bob': a 0x key must be 32 hex digits" },
	};
	char want[CONFIG_ERR_LEN], big[600];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(set(f, "user", bad[i].v), -1);
		snprintf(want, sizeof(want), "test: user: %s", bad[i].err);
		assert_string_equal(f->err, want);
	}
	memset(big, 'n', sizeof(big));
	snprintf(big + 509, sizeof(big) - 509, ":pw");
	assert_int_equal(set(f, "user", big), -1);
	assert_string_equal(f->err, "test: user: the name is longer than 508 bytes");
	big[508] = ':'; /* a 508-byte name is fine */
	assert_int_equal(set(f, "user", big), 0);
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "bob:", 4);
	assert_int_equal(set(f, "user", big), -1);
	assert_string_equal(f->err, "test: user: 'bob': the password is longer than 256 bytes");
	assert_int_equal(set(f, "user", NULL), -1);
	assert_string_equal(f->err, "test: user: needs a value");
	assert_int_equal(f->c.n_user, 1);
}

static void test_user_twice(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "user=bob:one\nuser=bobby:two\nuser=bob:0x" KEY32 "\n"), -1);
	assert_err_at(f, 3, "user: 'bob' is given twice");
	assert_null(strstr(f->err, "one")); /* a password is never repeated */
}

static void test_user_limit(void **state)
{
	struct fixture *f = *state;
	char line[32];
	int i;

	for (i = 0; i < CONFIG_MAX_USERS; i++) {
		snprintf(line, sizeof(line), "u%d:pw%d", i, i);
		assert_int_equal(set(f, "user", line), 0);
	}
	assert_int_equal(set(f, "user", "one-more:pw"), -1);
	assert_string_equal(f->err, "test: user: more than 4096 users (put the rest in userdb)");
	assert_int_equal(f->c.n_user, CONFIG_MAX_USERS);
}

static int count_user(void *ctx, const struct config_user *u)
{
	int *n = ctx;

	(*n)++;
	if (*n == 2) {
		assert_memory_equal(u->name, "alice", u->name_len);
		assert_null(u->password);
	}
	return *n == 99 ? 7 : 0;
}

static void test_userdb_file(void **state)
{
	struct fixture *f = *state;
	char text[256];
	int n = 0;

	write_temp(f->path2, sizeof(f->path2),
		   "\xef\xbb\xbf# users\n\nbob:secret\r\n  alice:0x" KEY32 "  \n"
		   "   # indented comment\ncarol:a # b\n");
	snprintf(text, sizeof(text), "realm=example.org\nuserdb=%s\n", f->path2);
	assert_int_equal(load(f, text), 0);
	assert_string_equal(f->c.userdb, f->path2);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	assert_int_equal(config_userdb_read(f->path2, count_user, &n, f->err, sizeof(f->err)), 0);
	assert_int_equal(n, 3);
	n = 98; /* a non-zero return stops the read and comes back */
	assert_int_equal(config_userdb_read(f->path2, count_user, &n, f->err, sizeof(f->err)), 7);
}

static void test_userdb_bad_line(void **state)
{
	struct fixture *f = *state;
	char text[256], want[256];

	write_temp(f->path2, sizeof(f->path2), "bob:secret\n\nalice:0x1234\n");
	snprintf(text, sizeof(text), "userdb=%s\n", f->path2);
	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	snprintf(want, sizeof(want), "%s:3: 'alice': a 0x key must be 32 hex digits", f->path2);
	assert_string_equal(f->err, want);
}

static void test_userdb_missing_or_sqlite(void **state)
{
	struct fixture *f = *state;
	static const char sqlite[] = "SQLite format 3\0\x10\0\x01\x01";
	char text[256], want[256];

	assert_int_equal(load(f, "realm=x\ndb=/nonexistent/turndb\n"), 0);
	assert_string_equal(f->c.userdb, "/nonexistent/turndb");
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 2,
		      "userdb: cannot read '/nonexistent/turndb': No such file or directory");
	write_temp_n(f->path2, sizeof(f->path2), sqlite, sizeof(sqlite));
	snprintf(text, sizeof(text), "userdb=%s\n", f->path2);
	assert_int_equal(load(f, text), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	snprintf(want, sizeof(want),
		 "userdb: '%s' is not a text file of user lines (coturn's SQLite userdb)", f->path2);
	assert_err_at(f, 1, want);
	assert_int_equal(config_userdb_read(f->path2, NULL, NULL, f->err, sizeof(f->err)), -1);
	assert_non_null(strstr(f->err, "is not a text file of user lines"));
}

static void test_auth_secret(void **state)
{
	struct fixture *f = *state;
	char name[32];
	int i;

	assert_int_equal(load(f, "realm=x\nuse-auth-secret\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 2, "use-auth-secret: no static-auth-secret given (nor redis-url)");
	/* with Redis, the secrets may come from there */
	config_free(&f->c);
	config_defaults(&f->c);
	assert_int_equal(load(f, "use-auth-secret\nredis-url=redis://127.0.0.1/2\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	/* as in coturn, a secret alone turns the REST API on */
	config_free(&f->c);
	config_defaults(&f->c);
	assert_int_equal(load(f, "static-auth-secret=north\nstatic-auth-secret=south\n"), 0);
	assert_true(f->c.use_auth_secret);
	assert_int_equal(f->c.n_static_auth_secret, 2);
	assert_string_equal(f->c.static_auth_secret[1], "south");
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	for (i = 2; i < CONFIG_MAX_AUTH_SECRETS; i++) {
		snprintf(name, sizeof(name), "secret-%d", i);
		assert_int_equal(set(f, "static-auth-secret", name), 0);
	}
	assert_int_equal(set(f, "static-auth-secret", "one-too-many"), -1);
	assert_string_equal(f->err, "test: static-auth-secret: more than 16 secrets");
	assert_int_equal(set(f, "static-auth-secret", ""), -1);
	assert_string_equal(f->err, "test: static-auth-secret: needs a value");
}

/* redis-sentinel: its list checked at its line, and what it needs with it */
static void test_redis_sentinel(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[][2] = {
		{ "redis-sentinel=127.0.0.1:0\n", "redis-sentinel: the port is not 1-65535" },
		{ "redis-sentinel=a:1,,b\n", "redis-sentinel: an empty entry" },
		{ "redis-sentinel=a,a:26379\n", "redis-sentinel: a:26379 is listed twice" },
		{ "redis-master-name=my master\n",
		  "redis-master-name: not 1-128 printable characters without blanks" },
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		config_free(&f->c);
		config_defaults(&f->c);
		assert_int_equal(load(f, bad[i][0]), -1);
		assert_err_at(f, 1, bad[i][1]);
	}
	config_free(&f->c);
	config_defaults(&f->c);
	assert_int_equal(load(f, "redis-url=redis://m/3\nredis-sentinel=10.0.0.1, [::1]:26380\n"),
			 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 2, "redis-sentinel needs redis-master-name (the name the sentinels "
			    "monitor the master under)");
	assert_int_equal(set(f, "redis-master-name", "m"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	config_free(&f->c);
	config_defaults(&f->c);
	assert_int_equal(load(f, "redis-master-name=m\nredis-sentinel=h\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), -1);
	assert_err_at(f, 2, "redis-sentinel needs redis-url too (its password and db are the "
			    "master's; write the master's name as its host)");
}

static void test_auth_secret_too_long(void **state)
{
	struct fixture *f = *state;
	char big[CONFIG_MAX_SECRET_LEN + 2];

	memset(big, 's', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(set(f, "static-auth-secret", big), -1);
	assert_string_equal(f->err, "test: static-auth-secret: the secret is longer than 256 bytes");
	big[sizeof(big) - 2] = '\0';
	assert_int_equal(set(f, "static-auth-secret", big), 0);
}

struct warned {
	int n;
	char where[128], msg[256];
};

static void on_warning(void *ctx, const char *where, const char *msg)
{
	struct warned *w = ctx;

	w->n++;
	snprintf(w->where, sizeof(w->where), "%s", where);
	snprintf(w->msg, sizeof(w->msg), "%s", msg);
}

static void test_warnings(void **state)
{
	struct fixture *f = *state;
	struct warned w = { 0 };
	char want[128];

	assert_int_equal(load(f, "static-auth-secret=s\nuse-auth-secret=no\n"), 0);
	assert_int_equal(config_validate(&f->c, f->err, sizeof(f->err)), 0);
	assert_int_equal(config_warnings(&f->c, on_warning, &w), 1);
	snprintf(want, sizeof(want), "%s:2", f->path);
	assert_string_equal(w.where, want);
	assert_string_equal(w.msg, "static-auth-secret is ignored: use-auth-secret is off");
	/* a 0x key is made with the realm, so the default realm is suspect */
	memset(&w, 0, sizeof(w));
	assert_int_equal(set(f, "user", "bob:0x" KEY32), 0);
	assert_int_equal(set(f, "use-auth-secret", "yes"), 0);
	assert_int_equal(config_warnings(&f->c, on_warning, &w), 1);
	assert_string_equal(w.where, "test");
	assert_string_equal(w.msg, "user: a 0x key is made with the realm, and realm is not set "
				   "(the default is tern.invalid)");
	assert_int_equal(set(f, "realm", "example.org"), 0);
	assert_int_equal(config_warnings(&f->c, on_warning, &w), 0);
}

static void test_check_file_prints_warnings(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[1024], want[256];
	int n;

	write_temp(f->path, sizeof(f->path), "static-auth-secret=s\nuse-auth-secret=off\nno-auth\n");
	capture_start(&cap, 2);
	n = config_check_file(f->path);
	capture_end(&cap, out, sizeof(out));
	assert_int_equal(n, 1); /* a warning is not a problem */
	snprintf(want, sizeof(want),
		 "%s:2: warning: static-auth-secret is ignored: use-auth-secret is off\n", f->path);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "%s:3: no-auth: tern never relays", f->path);
	assert_non_null(strstr(out, want));
}

static void test_rest_api_separator(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "rest-api-separator", "-"), 0);
	assert_int_equal(f->c.rest_api_separator, '-');
	assert_int_equal(set(f, "rest-api-separator", "ab"), -1);
	assert_string_equal(f->err, "test: rest-api-separator: 'ab' is not one punctuation character");
	assert_int_equal(set(f, "rest-api-separator", "a"), -1);
	assert_int_equal(set(f, "rest-api-separator", ""), -1);
	assert_int_equal(set(f, "rest-api-separator", NULL), -1);
	assert_int_equal(f->c.rest_api_separator, '-');
}

static void test_nonce_secret(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f, "nonce-secret", KEY32 KEY32), 0);
	assert_true(f->c.has_nonce_secret);
	assert_int_equal(f->c.nonce_secret[0], 0x01);
	assert_int_equal(f->c.nonce_secret[31], 0xef);
	assert_int_equal(set(f, "nonce-secret", KEY32 "0123456789abcdef0123456789abcde"), -1);
	assert_string_equal(f->err, "test: nonce-secret: not 64 hex digits");
	assert_int_equal(set(f, "nonce-secret", KEY32 "0123456789abcdef0123456789abcdeX"), -1);
	assert_string_equal(f->err, "test: nonce-secret: not 64 hex digits");
	assert_int_equal(f->c.nonce_secret[0], 0x01); /* unchanged */
	assert_int_equal(set(f, "nonce-secret", ""), 0);
	assert_false(f->c.has_nonce_secret);
	assert_int_equal(f->c.nonce_secret[31], 0);
}

static void test_help_shows_turn_options(void **state)
{
	struct fixture *f = *state;
	struct capture cap;
	char out[16384];
	bool check;

	capture_start(&cap, 1);
	assert_int_equal(from_argv(f, &check, 2, "ternd", "--help"), 1);
	capture_end(&cap, out, sizeof(out));
	assert_non_null(strstr(out, "--stale-nonce[=SECONDS]"));
	assert_non_null(strstr(out, "--user=NAME:PASSWORD"));
	assert_non_null(strstr(out, "(default: tern.invalid)"));
	assert_non_null(strstr(out, "--no-auth\n"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_defaults_turn),
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
		T(test_wireguard),
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
		T(test_relay_port_range),
		T(test_external_ip_v6_pair),
		T(test_relay_flags_and_table),
		T(test_lifetimes),
		T(test_quotas_and_bandwidth),
		T(test_argv_relay_short_options),
		T(test_argv_lifetime_value_is_glued),
		T(test_peer_ranges),
		T(test_peer_ranges_bad),
		T(test_peer_ranges_limit),
		T(test_peer_flags),
		T(test_no_auth_refused),
		T(test_user_forms),
		T(test_user_bad),
		T(test_user_twice),
		T(test_user_limit),
		T(test_userdb_file),
		T(test_userdb_bad_line),
		T(test_userdb_missing_or_sqlite),
		T(test_auth_secret),
		T(test_redis_sentinel),
		T(test_auth_secret_too_long),
		T(test_warnings),
		T(test_check_file_prints_warnings),
		T(test_rest_api_separator),
		T(test_nonce_secret),
		T(test_stats_token),
		T(test_help_shows_turn_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
