/*
 * ternd's option model. Every option is one row of a table (name, type,
 * field, range, default, help), so the file parser (config_file.c), the
 * command line and --help (config_argv.c) and the defaults cannot drift
 * apart. This file owns that table, the table of coturn options tern
 * accepts with a warning, the value parsers and one setter per type, and
 * config_set(), through which every option is applied and its origin
 * recorded. Nothing here exits: problems come back as "where: what is wrong".
 */
#include "server/config.h"
#include "server/config_opt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(f) offsetof(struct config, f)

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
const struct config_opt config_options[] = {
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

const size_t config_n_options = ARRAY_SIZE(config_options);

_Static_assert(ARRAY_SIZE(config_options) <= CONFIG_MAX_OPTIONS, "raise CONFIG_MAX_OPTIONS");

/*
 * coturn options ternd accepts and ignores with a warning, so a coturn
 * config still starts.
 */
#define V(n) { .name = n, .value = true }
#define F(n) { .name = n }
#define NOTE(n, why) { .name = n, .note = why }

static const struct config_coturn_opt coturn_only[] = {
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


/* ---- looking options up ------------------------------------------------ */

const struct config_opt *config_opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_options); i++)
		if (strcmp(config_options[i].name, name) == 0)
			return &config_options[i];
	return NULL;
}

const struct config_coturn_opt *config_coturn_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(coturn_only); i++)
		if (strcmp(coturn_only[i].name, name) == 0)
			return &coturn_only[i];
	return NULL;
}

/* The origin slot of o: the first row that writes the same field. */
static size_t opt_slot(const struct config_opt *o)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_options); i++)
		if (config_options[i].off == o->off)
			return i;
	return (size_t)(o - config_options);
}

const char *config_origin(const struct config *c, const char *name)
{
	const struct config_opt *o = config_opt_find(name);

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

int config_ip_family(const char *s)
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
		return config_ip_family(host) == AF_INET6;
	return config_ip_family(host) == AF_INET || is_hostname(host);
}

bool config_stats_off(const char *s)
{
	return !s || !*s || strcmp(s, "off") == 0;
}

/* ---- setters: one per type; why gets the problem without a prefix -------- */

typedef int (*setter_fn)(struct config *c, const struct config_opt *o, const char *v, char *why,
			 size_t n);

#define AT(c, o, type) ((type *)(void *)((char *)(c) + (o)->off))

static int set_bool(struct config *c, const struct config_opt *o, const char *v, char *why,
		    size_t n)
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

static int set_number(struct config *c, const struct config_opt *o, const char *v, char *why,
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
static int replace_str(struct config *c, const struct config_opt *o, const char *v, char *why,
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

static int set_str(struct config *c, const struct config_opt *o, const char *v, char *why, size_t n)
{
	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	return replace_str(c, o, v, why, n);
}

static int set_iplist(struct config *c, const struct config_opt *o, const char *v, char *why,
		      size_t n)
{
	char **list = AT(c, o, char *);
	int *count = (int *)(void *)((char *)c + o->off_n);
	int i;

	if (!v || !config_ip_family(v)) {
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

bool config_valid_extip(const char *v)
{
	char pub[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	size_t len = slash ? (size_t)(slash - v) : strlen(v);

	if (len >= sizeof(pub))
		return false;
	memcpy(pub, v, len);
	pub[len] = '\0';
	if (!slash)
		return config_ip_family(pub) != 0;
	return config_ip_family(pub) != 0 && config_ip_family(pub) == config_ip_family(slash + 1);
}

static int set_extip(struct config *c, const struct config_opt *o, const char *v, char *why,
		     size_t n)
{
	if (!v || !config_valid_extip(v)) {
		snprintf(why, n, "'%s' is not an address or a public/private address pair",
			 v ? v : "");
		return -1;
	}
	return replace_str(c, o, v, why, n);
}

static int set_hostport(struct config *c, const struct config_opt *o, const char *v, char *why,
			size_t n)
{
	char host[256];
	uint16_t port;

	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!config_stats_off(v) && !config_split_hostport(v, host, sizeof(host), &port)) {
		snprintf(why, n, "'%s' is not host:port, [ipv6]:port or off", v);
		return -1;
	}
	return replace_str(c, o, *v ? v : "off", why, n);
}

/*
 * coturn's prometheus-port and prometheus-address edit one half of
 * stats-listen each, so they compose in either order.
 */
static int set_prom(struct config *c, const struct config_opt *o, const char *v, char *why,
		    size_t n)
{
	const char *cur = *AT(c, o, char *);
	char host[256] = "127.0.0.1", buf[300];
	uint16_t port = 9641;
	long x;

	if (!config_stats_off(cur))
		config_split_hostport(cur, host, sizeof(host), &port);
	if (o->type == T_PROM_PORT && !parse_long(v, 1, 65535, &x)) {
		snprintf(why, n, "'%s' is not a port (1-65535)", v ? v : "");
		return -1;
	}
	if (o->type == T_PROM_ADDR && (!v || !config_ip_family(v))) {
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
	const struct config_coturn_opt *k = config_coturn_find(name);

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

int config_set_option(struct config *c, const char *name, const char *value, const char *where,
		      bool warn, char *err, size_t errlen)
{
	const struct config_opt *o = config_opt_find(name);
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
	return config_set_option(c, name, value, where, true, err, errlen);
}

void config_defaults(struct config *c)
{
	char why[CONFIG_ERR_LEN];
	size_t i;

	memset(c, 0, sizeof(*c));
	c->verbose = LOG_LVL_INFO;
	for (i = 0; i < ARRAY_SIZE(config_options); i++) {
		const struct config_opt *o = &config_options[i];

		if (o->def && setters[o->type](c, o, o->def, why, sizeof(why)) < 0)
			abort(); /* a bad built-in default, or no memory at start-up */
	}
}

void config_free(struct config *c)
{
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(config_options); i++) {
		const struct config_opt *o = &config_options[i];

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
