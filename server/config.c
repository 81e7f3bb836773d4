/*
 * ternd's configuration. Every option is one row of a table (name, type,
 * field, range, default, help), so the file parser, the command line,
 * --help and the defaults cannot drift apart. The file dialect is coturn's
 * (`key=value`, `key = value`, `key value`, bare flags, `#` comments,
 * quotes), so an operator's turnserver.conf keeps working: coturn options
 * tern does not have yet are a warning, anything else unknown is an error.
 * Nothing here exits: problems come back as "file:line: what is wrong".
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#define TERN_VERSION PACKAGE_VERSION
#else
#define TERN_VERSION "0.1.0-dev"
#endif

#include "server/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(f) offsetof(struct config, f)

enum opt_type {
	T_BOOL,      /* bool; a bare flag means true */
	T_NOTBOOL,   /* bool stored inverted: software-attribute */
	T_LEVEL,     /* int log level: true means debug */
	T_INT,       /* int in [min, max] */
	T_PORT,      /* uint16_t in [min, max] */
	T_STR,       /* char *; "" unsets */
	T_IPLIST,    /* repeatable IP literal: char *[max] plus an int count */
	T_EXTIP,     /* "public" or "public/private" IP literals */
	T_HOSTPORT,  /* "host:port", "[v6]:port" or "off" */
	T_PROM_PORT, /* coturn prometheus-port: the port of stats-listen */
	T_PROM_ADDR, /* coturn prometheus-address: the host of stats-listen */
	T_NTYPES
};

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;      /* the field in struct config */
	size_t off_n;    /* T_IPLIST: the count field */
	long min, max;   /* T_INT, T_PORT: range; T_IPLIST: max is the limit */
	const char *def; /* applied by config_defaults(), shown by --help */
	const char *arg; /* --help's name for the value */
	const char *help;
};

#define FLAG(n, f, h) { .name = n, .type = T_BOOL, .off = FIELD(f), .help = h }
#define PORT(n, f, lo, d, h) \
	{ .name = n, .type = T_PORT, .off = FIELD(f), .min = lo, .max = 65535, \
	  .def = d, .arg = "PORT", .help = h }
#define STR(n, f, a, h) { .name = n, .type = T_STR, .off = FIELD(f), .arg = a, .help = h }
#define IPLIST(n, f, max_, h) \
	{ .name = n, .type = T_IPLIST, .off = FIELD(f), .off_n = FIELD(n_##f), \
	  .max = max_, .arg = "ADDR", .help = h }

/*
 * Rows that write the same field share one origin slot (the first such
 * row), so an alias such as relay-threads reports where workers was set.
 */
static const struct opt options[] = {
	IPLIST("listening-ip", listening_ip, CONFIG_MAX_LISTEN_IPS,
	       "Address to listen on; repeatable, at most 8. Default: all addresses."),
	PORT("listening-port", listening_port, 1, "3478", "STUN/TURN port, UDP and TCP."),
	PORT("tls-listening-port", tls_listening_port, 1, "5349",
	     "TLS port; used when cert and pkey are set."),
	PORT("alt-listening-port", alt_listening_port, 0, NULL,
	     "RFC 5780 alternate port. Default: listening-port + 1."),
	PORT("alt-tls-listening-port", alt_tls_listening_port, 0, NULL,
	     "Alternate TLS port. Default: tls-listening-port + 1."),
	FLAG("no-udp", no_udp, "Do not listen on UDP."),
	FLAG("no-tcp", no_tcp, "Do not listen on TCP."),
	FLAG("no-tls", no_tls, "Do not listen on TLS even when cert is set."),
	FLAG("no-dtls", no_dtls, "Do not listen on DTLS."),
	IPLIST("relay-ip", relay_ip, CONFIG_MAX_RELAY_IPS,
	       "Address relayed traffic leaves from; repeatable (at most 8)."),
	{ .name = "external-ip", .type = T_EXTIP, .off = FIELD(external_ip),
	  .arg = "PUBLIC[/PRIVATE]", .help = "Public address when behind 1:1 NAT." },
	PORT("min-port", min_port, 1, "49152", "Lowest relay port."),
	PORT("max-port", max_port, 1, "65535", "Highest relay port."),
	STR("realm", realm, "REALM", "Realm for long-term credentials."),
	STR("cert", cert, "FILE", "TLS certificate chain (PEM)."),
	STR("pkey", pkey, "FILE", "TLS private key (PEM)."),
	STR("cipher-list", cipher_list, "LIST", "OpenSSL cipher list for TLS 1.2."),
	FLAG("rfc5780", rfc5780, "Answer RFC 5780 NAT behaviour discovery."),
	FLAG("no-software-attribute", no_software_attribute,
	     "Do not send the SOFTWARE attribute."),
	{ .name = "software-attribute", .type = T_NOTBOOL, .off = FIELD(no_software_attribute),
	  .help = "coturn 4.7's inverse of no-software-attribute." },
	{ .name = "workers", .type = T_INT, .off = FIELD(workers), .min = 0, .max = 1024,
	  .arg = "N", .help = "Worker threads; 0: one per online CPU (the default)." },
	{ .name = "relay-threads", .type = T_INT, .off = FIELD(workers), .min = 0, .max = 1024,
	  .arg = "N", .help = "coturn's name for workers." },
	STR("pidfile", pidfile, "FILE", "Write the process id here."),
	STR("proc-user", proc_user, "USER", "Drop privileges to this user after binding."),
	STR("proc-group", proc_group, "GROUP", "Drop privileges to this group after binding."),
	STR("log-file", log_file, "FILE", "Log to FILE, or to stdout or stderr (the default)."),
	FLAG("syslog", syslog, "Log to syslog (facility daemon)."),
	FLAG("log-json", log_json, "Write log lines as JSON objects."),
	{ .name = "verbose", .type = T_LEVEL, .off = FIELD(verbose),
	  .help = "Log debug messages too (also -v)." },
	{ .name = "Verbose", .type = T_LEVEL, .off = FIELD(verbose),
	  .help = "coturn's extra verbose; the same as verbose." },
	{ .name = "stats-listen", .type = T_HOSTPORT, .off = FIELD(stats_listen),
	  .def = "127.0.0.1:9641", .arg = "HOST:PORT",
	  .help = "Serve /metrics and /healthz here; \"off\" disables." },
	{ .name = "prometheus-port", .type = T_PROM_PORT, .off = FIELD(stats_listen),
	  .arg = "PORT", .help = "coturn's name: sets the port of stats-listen." },
	{ .name = "prometheus-address", .type = T_PROM_ADDR, .off = FIELD(stats_listen),
	  .arg = "ADDR", .help = "coturn's name: sets the address of stats-listen." },
};

_Static_assert(ARRAY_SIZE(options) <= CONFIG_MAX_OPTIONS, "raise CONFIG_MAX_OPTIONS");

/*
 * coturn options ternd accepts and ignores with a warning, so a coturn
 * config still starts. value: whether coturn's command line takes a value
 * after the name (`--user NAME` against `--fingerprint`).
 */
struct coturn_opt {
	const char *name;
	bool value;
	const char *note; /* replaces "not supported by ternd yet" */
};

#define V(n) { .name = n, .value = true }
#define F(n) { .name = n }
#define NOTE(n, why) { .name = n, .note = why }

static const struct coturn_opt coturn_only[] = {
	V("listening-device"), V("relay-device"), V("tcp-proxy-port"),
	F("lt-cred-mech"), F("no-auth"), V("user"), V("userdb"),
	V("db"), V("psql-userdb"), V("sql-userdb"),
	V("mysql-userdb"), V("mongo-userdb"), V("redis-userdb"),
	V("redis-statsdb"), F("use-auth-secret"),
	V("static-auth-secret"), V("secret-key-file"),
	V("rest-api-separator"), F("no-auth-pings"),
	F("no-dynamic-ip-list"), F("no-dynamic-realms"),
	V("server-name"), F("oauth"), V("user-quota"),
	V("total-quota"), V("max-bps"), V("bps-capacity"),
	F("fingerprint"), F("check-origin-consistency"),
	F("no-udp-relay"), F("no-tcp-relay"), F("stale-nonce"),
	F("stateless-nonce"), V("stateless-nonce-secret"),
	F("max-allocate-lifetime"), F("channel-lifetime"),
	F("permission-lifetime"), V("max-allocate-timeout"),
	F("stun-only"), F("no-stun"), F("secure-stun"),
	F("raw-public-keys"), V("pkey-pwd"), V("CA-file"),
	V("dh-file"), V("ec-curve-name"), F("dh566"),
	F("dh1066"), F("dtls"), F("no-tlsv1_2"),
	NOTE("no-tlsv1", "ternd never offers TLS older than 1.2"),
	NOTE("no-tlsv1_1", "ternd never offers TLS older than 1.2"),
	NOTE("tlsv1", "ternd never offers TLS older than 1.2"),
	NOTE("tlsv1_1", "ternd never offers TLS older than 1.2"),
	NOTE("no-stdout-log", "ternd logs to one place: log-file, else syslog, else stderr"),
	NOTE("simple-log", "ternd always uses the log-file name as given"),
	F("new-log-timestamp"), V("new-log-timestamp-format"),
	V("syslog-facility"), F("log-binding"),
	NOTE("daemon", "ternd runs in the foreground; use a service manager"),
	V("aux-server"), F("udp-self-balance"), V("alternate-server"),
	V("tls-alternate-server"), V("udp-alternate-server"),
	V("tcp-alternate-server"), F("no-multicast-peers"),
	F("allow-loopback-peers"), V("allowed-peer-ip"),
	V("denied-peer-ip"), F("server-relay"), F("mobility"),
	NOTE("no-cli", "ternd has no telnet CLI"), F("cli"), V("cli-ip"),
	V("cli-port"), V("cli-password"), V("cli-max-output-sessions"),
	F("web-admin"), V("web-admin-ip"), V("web-admin-port"),
	F("web-admin-listen-on-workers"), V("ne"),
	F("keep-address-family"), V("allocation-default-address-family"),
	V("acme-redirect"), F("no-rfc5780"),
	F("no-stun-backward-compatibility"), F("stun-backward-compatibility"),
	F("rfc3489-compatibility"), F("response-origin-only-with-rfc5780"),
	F("respond-http-unsupported"), F("rfc5766-channel-numbers"),
	F("unauthorized-ratelimit"), F("drop-invalid-packets"),
	F("udp-recvmmsg"), F("multiplex-peer"), F("udp-gso"),
	V("drain-min-allocations"), V("sock-buf-size"),
	NOTE("prometheus", "ternd always serves /metrics on stats-listen"),
	F("prometheus-username-labels"), V("prometheus-path"),
	F("prometheus-tls"),
};

/* coturn's one-letter options, mapped to their long names. */
static const struct {
	char letter;
	const char *name;
} short_opts[] = {
	{ 'p', "listening-port" }, { 'L', "listening-ip" }, { 'E', "relay-ip" },
	{ 'X', "external-ip" }, { 'r', "realm" }, { 'm', "relay-threads" },
	{ 'l', "log-file" }, { 'v', "verbose" }, { 'V', "Verbose" }, { 'o', "daemon" },
	{ 'a', "lt-cred-mech" }, { 'z', "no-auth" }, { 'f', "fingerprint" },
	{ 'u', "user" }, { 'S', "stun-only" }, { 'b', "userdb" }, { 'd', "listening-device" },
	{ 'i', "relay-device" }, { 'q', "user-quota" }, { 'Q', "total-quota" },
	{ 's', "max-bps" }, { 'B', "bps-capacity" }, { 'N', "redis-userdb" },
	{ 'O', "redis-statsdb" }, { 'C', "rest-api-separator" },
};

/* ---- looking options up ------------------------------------------------ */

static const struct opt *opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static const struct coturn_opt *coturn_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(coturn_only); i++)
		if (strcmp(coturn_only[i].name, name) == 0)
			return &coturn_only[i];
	return NULL;
}

/* The origin slot of o: the first row that writes the same field. */
static size_t opt_slot(const struct opt *o)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].off == o->off)
			return i;
	return (size_t)(o - options);
}

static bool is_flag(const struct opt *o)
{
	return o->type == T_BOOL || o->type == T_NOTBOOL || o->type == T_LEVEL;
}

const char *config_origin(const struct config *c, const char *name)
{
	const struct opt *o = opt_find(name);

	return o ? c->origin[opt_slot(o)] : NULL;
}

/* ---- value parsers -------------------------------------------------------- */

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	if (!s || !*s) {
		*out = true; /* a bare flag */
		return true;
	}
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		*out = strcasecmp(s, yes[i]) == 0;
		if (*out || strcasecmp(s, no[i]) == 0)
			return true;
	}
	return false;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return false; /* no sign, no leading blanks */
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int ip_family(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

static bool is_hostname(const char *s)
{
	if (!*s || strlen(s) > 253 || *s == '-' || *s == '.')
		return false;
	if (strspn(s, "0123456789.") == strlen(s))
		return false; /* a broken IPv4 address, not a name */
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-") == strlen(s);
}

bool config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *h = s, *colon;
	size_t hl;
	long p;

	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return false;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':'))
			return false; /* IPv6 needs brackets */
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || !parse_long(colon + 1, 1, 65535, &p))
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	if (s[0] == '[')
		return ip_family(host) == AF_INET6;
	return ip_family(host) == AF_INET || is_hostname(host);
}

static bool stats_off(const char *s)
{
	return !s || !*s || strcmp(s, "off") == 0;
}

/* ---- setters: one per type; why gets the problem without a prefix -------- */

typedef int (*setter_fn)(struct config *c, const struct opt *o, const char *v, char *why,
			 size_t n);

#define AT(c, o, type) ((type *)(void *)((char *)(c) + (o)->off))

static int set_bool(struct config *c, const struct opt *o, const char *v, char *why, size_t n)
{
	bool b;

	if (!parse_bool(v, &b)) {
		snprintf(why, n, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", v);
		return -1;
	}
	if (o->type == T_NOTBOOL)
		b = !b;
	if (o->type == T_LEVEL)
		*AT(c, o, int) = b ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	else
		*AT(c, o, bool) = b;
	return 0;
}

static int set_number(struct config *c, const struct opt *o, const char *v, char *why,
		      size_t n)
{
	long x;

	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!parse_long(v, o->min, o->max, &x)) {
		if (o->type == T_PORT)
			snprintf(why, n, "'%s' is not a port (%ld-%ld)", v, o->min, o->max);
		else
			snprintf(why, n, "'%s' is not a number from %ld to %ld", v, o->min, o->max);
		return -1;
	}
	if (o->type == T_PORT)
		*AT(c, o, uint16_t) = (uint16_t)x;
	else
		*AT(c, o, int) = (int)x;
	return 0;
}

/* Replace the string at field o with a copy of v ("" and NULL unset it). */
static int replace_str(struct config *c, const struct opt *o, const char *v, char *why,
		       size_t n)
{
	char **field = AT(c, o, char *);
	char *copy = NULL;

	if (v && *v && !(copy = strdup(v))) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

static int set_str(struct config *c, const struct opt *o, const char *v, char *why, size_t n)
{
	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	return replace_str(c, o, v, why, n);
}

static int set_iplist(struct config *c, const struct opt *o, const char *v, char *why,
		      size_t n)
{
	char **list = AT(c, o, char *);
	int *count = (int *)(void *)((char *)c + o->off_n);
	int i;

	if (!v || !ip_family(v)) {
		snprintf(why, n, "'%s' is not an IPv4 or IPv6 address", v ? v : "");
		return -1;
	}
	for (i = 0; i < *count; i++) {
		if (strcmp(list[i], v) == 0) {
			snprintf(why, n, "'%s' is given twice", v);
			return -1;
		}
	}
	if (*count >= o->max) {
		snprintf(why, n, "more than %ld addresses", o->max);
		return -1;
	}
	if (!(list[*count] = strdup(v))) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	(*count)++;
	return 0;
}

static bool valid_extip(const char *v)
{
	char pub[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);

	if (len >= sizeof(pub))
		return false;
	memcpy(pub, v, len);
	pub[len] = '\0';
	if (!slash)
		return ip_family(pub) != 0;
	return ip_family(pub) != 0 && ip_family(pub) == ip_family(slash + 1);
}

static int set_extip(struct config *c, const struct opt *o, const char *v, char *why,
		     size_t n)
{
	if (!v || !valid_extip(v)) {
		snprintf(why, n, "'%s' is not an address or a public/private address pair",
			 v ? v : "");
		return -1;
	}
	return replace_str(c, o, v, why, n);
}

static int set_hostport(struct config *c, const struct opt *o, const char *v, char *why,
			size_t n)
{
	char host[256];
	uint16_t port;

	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!stats_off(v) && !config_split_hostport(v, host, sizeof(host), &port)) {
		snprintf(why, n, "'%s' is not host:port, [ipv6]:port or off", v);
		return -1;
	}
	return replace_str(c, o, *v ? v : "off", why, n);
}

/*
 * coturn's prometheus-port and prometheus-address edit one half of
 * stats-listen each, so they compose in either order.
 */
static int set_prom(struct config *c, const struct opt *o, const char *v, char *why, size_t n)
{
	const char *cur = *AT(c, o, char *);
	char host[256] = "127.0.0.1", buf[300];
	uint16_t port = 9641;
	long x;

	if (!stats_off(cur))
		config_split_hostport(cur, host, sizeof(host), &port);
	if (o->type == T_PROM_PORT && !parse_long(v, 1, 65535, &x)) {
		snprintf(why, n, "'%s' is not a port (1-65535)", v ? v : "");
		return -1;
	}
	if (o->type == T_PROM_ADDR && (!v || !ip_family(v))) {
		snprintf(why, n, "'%s' is not an IPv4 or IPv6 address", v ? v : "");
		return -1;
	}
	if (o->type == T_PROM_PORT)
		port = (uint16_t)x;
	else
		snprintf(host, sizeof(host), "%s", v);
	snprintf(buf, sizeof(buf), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
		 (unsigned int)port);
	return replace_str(c, o, buf, why, n);
}

static const setter_fn setters[T_NTYPES] = {
	[T_BOOL] = set_bool,	   [T_NOTBOOL] = set_bool,	[T_LEVEL] = set_bool,
	[T_INT] = set_number,	   [T_PORT] = set_number,	[T_STR] = set_str,
	[T_IPLIST] = set_iplist,   [T_EXTIP] = set_extip,	[T_HOSTPORT] = set_hostport,
	[T_PROM_PORT] = set_prom,  [T_PROM_ADDR] = set_prom,
};

/* ---- applying one option ------------------------------------------------ */

static int unknown_option(const char *name, const char *where, bool warn, char *err,
			  size_t errlen)
{
	const struct coturn_opt *k = coturn_find(name);

	if (!k) {
		snprintf(err, errlen, "%s: unknown option '%s'", where, name);
		return -1;
	}
	if (!warn)
		return 0;
	if (k->note)
		fprintf(stderr, "%s: warning: coturn option '%s' is ignored: %s\n", where, name,
			k->note);
	else
		fprintf(stderr,
			"%s: warning: coturn option '%s' is not supported by ternd yet, ignored\n",
			where, name);
	return 0;
}

static int set_option(struct config *c, const char *name, const char *value, const char *where,
		      bool warn, char *err, size_t errlen)
{
	const struct opt *o = opt_find(name);
	char why[CONFIG_ERR_LEN];
	size_t slot;
	char *copy;

	if (!where)
		where = "ternd";
	if (!o)
		return unknown_option(name, where, warn && !c->quiet, err, errlen);
	if (setters[o->type](c, o, value, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s: %s", where, name, why);
		return -1;
	}
	slot = opt_slot(o);
	if (!(copy = strdup(where))) {
		snprintf(err, errlen, "%s: %s: out of memory", where, name);
		return -1;
	}
	free(c->origin[slot]);
	c->origin[slot] = copy;
	return 0;
}

int config_set(struct config *c, const char *name, const char *value, const char *where,
	       char *err, size_t errlen)
{
	return set_option(c, name, value, where, true, err, errlen);
}

void config_defaults(struct config *c)
{
	char why[CONFIG_ERR_LEN];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->verbose = LOG_LVL_INFO;
	for (i = 0; i < ARRAY_SIZE(options); i++) {
		if (options[i].def &&
		    setters[options[i].type](c, &options[i], options[i].def, why, sizeof(why)) < 0)
			abort(); /* a bad built-in default, or no memory at start-up */
	}
}

void config_free(struct config *c)
{
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(options); i++) {
		const struct opt *o = &options[i];

		if (o->type == T_IPLIST) {
			for (j = 0; j < *(int *)(void *)((char *)c + o->off_n); j++)
				free(AT(c, o, char *)[j]);
		} else if (o->type == T_STR || o->type == T_EXTIP || o->type == T_HOSTPORT) {
			free(*AT(c, o, char *));
		}
	}
	for (i = 0; i < CONFIG_MAX_OPTIONS; i++)
		free(c->origin[i]);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

/* ---- problems: the first one, or all of them for --check ---------------- */

struct sink {
	FILE *out;     /* --check: print every problem here */
	char *err;     /* otherwise keep the first one here */
	size_t errlen;
	bool all;      /* go on after the first problem */
	bool quiet;    /* no warnings either: the file is checked again later */
	int count;
};

static void problem(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct sink *s, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->out)
		fprintf(s->out, "%s\n", msg);
	else if (s->count == 0 && s->err && s->errlen)
		snprintf(s->err, s->errlen, "%s", msg);
	s->count++;
}

/* ---- the file --------------------------------------------------------------- */

static char *skip_blanks(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
}

/* A quoted value: "..." or '...', then only blanks or a comment. */
static int unquote(char *p, char **value, char *why, size_t n)
{
	char *close = strchr(p + 1, *p), *rest;

	if (!close) {
		snprintf(why, n, "unterminated %c quote", *p);
		return -1;
	}
	*close = '\0';
	rest = skip_blanks(close + 1);
	if (*rest && *rest != '#') {
		snprintf(why, n, "unexpected text after the closing quote: '%s'", rest);
		return -1;
	}
	*value = p + 1;
	return 1;
}

/*
 * Split one line in place. Like coturn, the name ends at a blank or '=',
 * and any run of blanks and '=' separates it from the value. A '#' after a
 * blank starts a comment. Returns 1 with name and value (NULL for a bare
 * flag), 0 for a blank or comment line, -1 with why.
 */
static int split_line(char *s, char **name, char **value, char *why, size_t n)
{
	char *sep, *p, *q;
	bool blank_before;

	s = skip_blanks(s);
	rstrip(s);
	if (*s == '\0' || *s == '#')
		return 0;
	*name = s;
	sep = s + strcspn(s, " \t=");
	for (p = sep; *p == ' ' || *p == '\t' || *p == '='; p++)
		;
	blank_before = p > sep && (p[-1] == ' ' || p[-1] == '\t');
	*sep = '\0';
	*value = NULL;
	if (**name == '\0') {
		snprintf(why, n, "no option name before '='");
		return -1;
	}
	if (*p == '\0' || (*p == '#' && blank_before))
		return 1;
	if (*p == '"' || *p == '\'')
		return unquote(p, value, why, n);
	for (q = p + 1; *q; q++) {
		if (*q == '#' && (q[-1] == ' ' || q[-1] == '\t')) {
			*q = '\0';
			break;
		}
	}
	rstrip(p);
	*value = p;
	return 1;
}

static void apply_line(struct config *c, char *line, const char *where, struct sink *s)
{
	char why[CONFIG_ERR_LEN], err[CONFIG_ERR_LEN];
	char *name, *value;
	int rc = split_line(line, &name, &value, why, sizeof(why));

	if (rc < 0)
		problem(s, "%s: %s", where, why);
	else if (rc > 0 && set_option(c, name, value, where, !s->quiet, err, sizeof(err)) < 0)
		problem(s, "%s", err);
}

/* False if fgets() stopped because line was full; the rest is skipped. */
static bool whole_line(const char *line, FILE *f)
{
	int ch;

	if (strchr(line, '\n'))
		return true;
	ch = getc(f);
	if (ch == EOF)
		return true;
	while (ch != '\n' && ch != EOF)
		ch = getc(f);
	return false;
}

static void load_file(struct config *c, const char *path, struct sink *s)
{
	char line[CONFIG_MAX_LINE], where[PATH_MAX + 32];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	char *copy;

	if (!f) {
		problem(s, "%s: cannot open: %s", path, strerror(errno));
		return;
	}
	if ((copy = strdup(path))) {
		free(c->path);
		c->path = copy;
	}
	while ((s->all || s->count == 0) && fgets(line, sizeof(line), f)) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		if (!whole_line(line, f)) {
			problem(s, "%s: line is longer than %d bytes", where, CONFIG_MAX_LINE - 2);
			continue;
		}
		/* a UTF-8 byte order mark from a Windows editor */
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			memmove(line, line + 3, strlen(line + 3) + 1);
		apply_line(c, line, where, s);
	}
	if (ferror(f))
		problem(s, "%s: read error: %s", path, strerror(errno));
	fclose(f);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct sink s = { .err = err, .errlen = errlen };

	load_file(c, path, &s);
	return s.count ? -1 : 0;
}

/* ---- cross-option checks ------------------------------------------------- */

/* The prefix for a message about option name: where it was set. */
static const char *from(const struct config *c, const char *name)
{
	const char *o = config_origin(c, name);

	return o ? o : "ternd";
}

static void check_readable(const struct config *c, const char *name, const char *path,
			   struct sink *s)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO named as a certificate must not hang --check */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		problem(s, "%s: %s: cannot read '%s': %s", from(c, name), name, path,
			strerror(errno));
		return;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		problem(s, "%s: %s: '%s' is not a regular file", from(c, name), name, path);
	close(fd);
}

static bool tls_on(const struct config *c)
{
	return !c->no_tls && c->cert && c->pkey;
}

static void check_tls(const struct config *c, struct sink *s)
{
	if (c->no_tls || (!c->cert && !c->pkey))
		return;
	if (!c->pkey)
		problem(s, "%s: cert: is set but pkey is not; TLS needs both", from(c, "cert"));
	if (!c->cert)
		problem(s, "%s: pkey: is set but cert is not; TLS needs both", from(c, "pkey"));
	if (c->cert)
		check_readable(c, "cert", c->cert, s);
	if (c->pkey)
		check_readable(c, "pkey", c->pkey, s);
}

static void check_ports(const struct config *c, struct sink *s)
{
	if (c->min_port > c->max_port)
		problem(s, "%s: min-port %u is above max-port %u",
			config_origin(c, "min-port") ? from(c, "min-port") : from(c, "max-port"),
			c->min_port, c->max_port);
	if (c->alt_listening_port && c->alt_listening_port == c->listening_port)
		problem(s, "%s: alt-listening-port: must differ from listening-port (%u)",
			from(c, "alt-listening-port"), c->listening_port);
	if (tls_on(c) && !c->no_tcp && c->tls_listening_port == c->listening_port)
		problem(s, "%s: tls-listening-port: %u is also listening-port (TCP)",
			from(c, "tls-listening-port"), c->tls_listening_port);
	if (c->no_udp && c->no_tcp && !tls_on(c))
		problem(s, "%s: no-udp and no-tcp are set and TLS is off: nothing to listen on",
			from(c, "no-tcp"));
}

static void check_list(const struct config *c, const char *name, char *const *list, int n,
		       struct sink *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!ip_family(list[i]))
			problem(s, "%s: %s: '%s' is not an IPv4 or IPv6 address", from(c, name),
				name, list[i]);
}

static void check_addrs(const struct config *c, struct sink *s)
{
	char host[256];
	uint16_t port;

	check_list(c, "listening-ip", c->listening_ip, c->n_listening_ip, s);
	check_list(c, "relay-ip", c->relay_ip, c->n_relay_ip, s);
	if (c->external_ip && !valid_extip(c->external_ip))
		problem(s, "%s: external-ip: '%s' is not an address or a public/private pair",
			from(c, "external-ip"), c->external_ip);
	if (!stats_off(c->stats_listen) &&
	    !config_split_hostport(c->stats_listen, host, sizeof(host), &port))
		problem(s, "%s: stats-listen: '%s' is not host:port, [ipv6]:port or off",
			from(c, "stats-listen"), c->stats_listen);
}

static void check_process(const struct config *c, struct sink *s)
{
	if (c->proc_user && !getpwnam(c->proc_user))
		problem(s, "%s: proc-user: no such user '%s'", from(c, "proc-user"), c->proc_user);
	if (c->proc_group && !getgrnam(c->proc_group))
		problem(s, "%s: proc-group: no such group '%s'", from(c, "proc-group"),
			c->proc_group);
}

static void validate(const struct config *c, struct sink *s)
{
	check_ports(c, s);
	check_addrs(c, s);
	check_tls(c, s);
	check_process(c, s);
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	struct sink s = { .err = err, .errlen = errlen };

	validate(c, &s);
	return s.count ? -1 : 0;
}

int config_check_file(const char *path)
{
	struct sink s = { .out = stderr, .all = true };
	struct config c;

	config_defaults(&c);
	if (path)
		load_file(&c, path, &s);
	validate(&c, &s);
	config_free(&c);
	return s.count;
}

/* ---- the command line ------------------------------------------------------ */

struct arg {
	char name[64];     /* an option name, or "-c", "-n", "check", "help", "version" */
	const char *value; /* NULL for a flag */
};

static bool is_meta(const char *name)
{
	return strcmp(name, "check") == 0 || strcmp(name, "help") == 0 ||
	       strcmp(name, "version") == 0;
}

/* Whether option name takes the next argument as its value. */
static int wants_value(const char *name, bool *wants)
{
	const struct opt *o = opt_find(name);
	const struct coturn_opt *k = coturn_find(name);

	if (!o && !k && !is_meta(name))
		return -1;
	*wants = o ? !is_flag(o) : k ? k->value : false;
	return 0;
}

/* The value that follows: glued ("-p3478"), or the next argument. */
static int take_value(int argc, char **argv, int *i, const char *glued, struct arg *a,
		      char *err, size_t errlen)
{
	if (glued && *glued) {
		a->value = glued;
		return 0;
	}
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "command line: %s: needs a value", a->name);
		return -1;
	}
	a->value = argv[++*i];
	return 0;
}

static int long_arg(int argc, char **argv, int *i, struct arg *a, char *err, size_t errlen)
{
	const char *s = argv[*i] + 2, *eq = strchr(s, '=');
	size_t len = eq ? (size_t)(eq - s) : strlen(s);
	bool wants;

	if (len == 0 || len >= sizeof(a->name)) {
		snprintf(err, errlen, "command line: bad option '%s'", argv[*i]);
		return -1;
	}
	memcpy(a->name, s, len);
	a->name[len] = '\0';
	a->value = eq ? eq + 1 : NULL;
	if (wants_value(a->name, &wants) < 0) {
		snprintf(err, errlen, "command line: unknown option '--%s'", a->name);
		return -1;
	}
	if (eq || !wants)
		return 0;
	return take_value(argc, argv, i, NULL, a, err, errlen);
}

/* A one-letter flag must stand alone: "-nv" is not "-n -v". */
static int alone(const char *arg, char *err, size_t errlen)
{
	if (arg[2] == '\0')
		return 0;
	snprintf(err, errlen, "command line: bad option '%s'", arg);
	return -1;
}

static int short_arg(int argc, char **argv, int *i, struct arg *a, char *err, size_t errlen)
{
	char letter = argv[*i][1];
	size_t k;
	bool wants = false;

	a->value = NULL;
	if (letter == 'c' || letter == 'n' || letter == 'h') {
		snprintf(a->name, sizeof(a->name), "%s",
			 letter == 'c' ? "-c" : letter == 'n' ? "-n" : "help");
		if (letter != 'c')
			return alone(argv[*i], err, errlen);
		return take_value(argc, argv, i, argv[*i] + 2, a, err, errlen);
	}
	for (k = 0; k < ARRAY_SIZE(short_opts) && short_opts[k].letter != letter; k++)
		;
	if (k == ARRAY_SIZE(short_opts)) {
		snprintf(err, errlen, "command line: unknown option '%s'", argv[*i]);
		return -1;
	}
	snprintf(a->name, sizeof(a->name), "%s", short_opts[k].name);
	wants_value(a->name, &wants);
	if (!wants)
		return alone(argv[*i], err, errlen);
	return take_value(argc, argv, i, argv[*i] + 2, a, err, errlen);
}

/* Read the option at argv[*i], and its value if separate; *i moves past it. */
static int next_arg(int argc, char **argv, int *i, struct arg *a, char *err, size_t errlen)
{
	const char *s = argv[*i];

	if (s[0] == '-' && s[1] == '-' && s[2] != '\0')
		return long_arg(argc, argv, i, a, err, errlen);
	if (s[0] == '-' && s[1] != '\0' && s[1] != '-')
		return short_arg(argc, argv, i, a, err, errlen);
	snprintf(err, errlen, "command line: unexpected argument '%s'", s);
	return -1;
}

struct meta {
	const char *path;
	bool no_file, check, help, version;
};

/* First pass: -c, -n, --check, --help, --version, and the syntax of the rest. */
static int scan_meta(int argc, char **argv, struct meta *m, char *err, size_t errlen)
{
	struct arg a;
	int i;

	for (i = 1; i < argc; i++) {
		if (next_arg(argc, argv, &i, &a, err, errlen) < 0)
			return -1;
		if (strcmp(a.name, "-c") == 0)
			m->path = a.value;
		m->no_file |= strcmp(a.name, "-n") == 0;
		m->check |= strcmp(a.name, "check") == 0;
		m->help |= strcmp(a.name, "help") == 0;
		m->version |= strcmp(a.name, "version") == 0;
	}
	if (m->path && m->no_file) {
		snprintf(err, errlen, "command line: -c and -n cannot be used together");
		return -1;
	}
	return 0;
}

/* Second pass: every ordinary option, over what the file set. */
static int apply_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	struct arg a;
	int i;

	for (i = 1; i < argc; i++) {
		next_arg(argc, argv, &i, &a, err, errlen);
		if (a.name[0] == '-' || is_meta(a.name))
			continue;
		if (config_set(c, a.name, a.value, "command line", err, errlen) < 0)
			return -1;
	}
	return 0;
}

/*
 * With --check the file is read quietly, past any problem: the caller runs
 * config_check_file() to report every problem in it, and, when there is
 * none, config_validate() on c to check the file and the command line
 * together. Without --check the first problem is returned.
 */
int config_from_argv(struct config *c, int argc, char **argv, bool *check_only, char *err,
		     size_t errlen)
{
	struct meta m = { 0 };

	*check_only = false;
	if (scan_meta(argc, argv, &m, err, errlen) < 0)
		return -1;
	if (m.help) {
		config_usage(argc > 0 ? argv[0] : "ternd");
		return 1;
	}
	if (m.version) {
		printf("ternd %s\n", TERN_VERSION);
		return 1;
	}
	*check_only = m.check;
	if (m.path && m.check) {
		struct sink quiet = { .all = true, .quiet = true };

		free(c->path);
		if (!(c->path = strdup(m.path))) {
			snprintf(err, errlen, "%s: out of memory", m.path);
			return -1;
		}
		load_file(c, m.path, &quiet);
	} else if (m.path && config_load(c, m.path, err, errlen) < 0) {
		return -1;
	}
	if (apply_args(c, argc, argv, err, errlen) < 0)
		return -1;
	return m.check ? 0 : config_validate(c, err, errlen);
}

/* ---- --help ------------------------------------------------------------------- */

void config_usage(const char *argv0)
{
	size_t i;

	printf("Usage: %s [-c FILE | -n] [--check] [--OPTION[=VALUE]]...\n"
	       "STUN/TURN relay. Options are read from FILE (coturn's turnserver.conf\n"
	       "syntax: 'option = value' or a bare flag), then from the command line.\n"
	       "Without -c, no file is read.\n\n"
	       "  -c FILE        read options from FILE\n"
	       "  -n             read no file (the default)\n"
	       "  --check        check the configuration, print every problem, exit\n"
	       "  -v             the same as --verbose\n"
	       "  --version      print the version and exit\n"
	       "  --help, -h     print this and exit\n\n"
	       "Options (flags take an optional =yes/no):\n",
	       argv0);
	for (i = 0; i < ARRAY_SIZE(options); i++) {
		const struct opt *o = &options[i];

		if (is_flag(o))
			printf("  --%s\n", o->name);
		else
			printf("  --%s=%s\n", o->name, o->arg ? o->arg : "VALUE");
		printf("        %s%s%s%s\n", o->help, o->def ? " (default: " : "",
		       o->def ? o->def : "", o->def ? ")" : "");
	}
	printf("\nSee ternd(8) and ternd.conf(5).\n");
}
