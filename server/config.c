/*
 * ternd's option model. Every option is one row of a table (name, type,
 * field, range, default, help), so the file parser (config_file.c), the
 * command line and --help (config_argv.c) and the defaults cannot drift
 * apart. This file owns that table, the value parsers (user lines and peer
 * ranges included) and one setter per type, and config_set(), through which
 * every option is applied and its origin recorded; coturn options tern lacks
 * are config_coturn.c's. Nothing here exits: problems come back as "where:
 * what is wrong", and never repeat a password or a secret.
 */
#include "server/config.h"
#include "server/config_opt.h"
#include "store/sentinel_msg.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(f) offsetof(struct config, f)

#define FLAG(n, f, h) { .name = n, .type = T_BOOL, .off = FIELD(f), .help = h }
#define PORT(n, f, lo, d, h) \
	{ .name = n, .type = T_PORT, .off = FIELD(f), .min = lo, .max = 65535, \
	  .def = d, .arg = "PORT", .help = h }
#define STR(n, f, a, h) { .name = n, .type = T_STR, .off = FIELD(f), .arg = a, .help = h }
#define LIST(n, t, f, max_, a, h) \
	{ .name = n, .type = t, .off = FIELD(f), .off_n = FIELD(n_##f), .max = max_, \
	  .arg = a, .help = h }
#define IPLIST(n, f, max_, h) LIST(n, T_IPLIST, f, max_, "ADDR", h)
#define NUM(n, t, f, lo, hi, d, a, h) \
	{ .name = n, .type = t, .off = FIELD(f), .min = lo, .max = hi, .def = d, .arg = a, \
	  .help = h }
#define SECS(n, f, lo, hi, d, h) NUM(n, T_SECS, f, lo, hi, d, "SECONDS", h)

bool config_valid_node_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return false;
	return true;
}

static bool check_node_id(const char *v, char *why, size_t n)
{
	if (config_valid_node_id(v))
		return true;
	snprintf(why, n, "'%s' is not 1-64 of A-Z a-z 0-9 . _ -", v);
	return false;
}

/* ws-path-prefix: "" or "/seg[/seg...]" of URL path characters, no '/' at the end. */
static bool check_ws_prefix(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);
	bool ok = len < 128 && (len == 0 || (v[0] == '/' && v[len - 1] != '/'));

	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)v[i]) || strchr("/-._~!$&'()*+,;=:@%", v[i]);
	if (ok)
		return true;
	snprintf(why, n, "'%s' is not a URL path like /relay (no '/' at the end)", v);
	return false;
}

/* alternate-domain: a DNS name every node's certificate is valid for. */
static bool check_xdp_mode(const char *v, char *why, size_t n)
{
	if (strcmp(v, "auto") == 0 || strcmp(v, "native") == 0 || strcmp(v, "generic") == 0)
		return true;
	snprintf(why, n, "'%s' is not native, generic or auto", v);
	return false;
}

static bool check_domain(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);
	bool ok = len >= 1 && len <= 253 && v[0] != '.' && v[0] != '-' && v[len - 1] != '.';

	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '-' || v[i] == '.';
	if (ok)
		return true;
	snprintf(why, n, "'%s' is not a DNS name", v);
	return false;
}

/* stats-token: 16 to 256 printable characters, no spaces (it goes in a header). */
static bool check_token(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);
	bool ok = len >= 16 && len <= 256;

	for (size_t i = 0; ok && i < len; i++)
		ok = v[i] > 0x20 && v[i] < 0x7f;
	if (ok)
		return true;
	snprintf(why, n, "not 16 to 256 printable characters without spaces");
	return false;
}

/* A network interface name: 1-15 of A-Z a-z 0-9 . _ - (IFNAMSIZ). */
static bool check_ifname(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);

	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '.' && v[i] != '_')
			len = 0;
	if (len >= 1 && len <= 15 && strcmp(v, ".") != 0 && strcmp(v, "..") != 0)
		return true;
	snprintf(why, n, "'%s' is not 1-15 of A-Z a-z 0-9 . _ -", v);
	return false;
}

static bool check_readable(const char *v, char *why, size_t n)
{
	if (access(v, R_OK) == 0)
		return true;
	snprintf(why, n, "%s: %s", v, strerror(errno));
	return false;
}

/* The parsers name the option themselves; the caller does too. */
static void unprefix(char *why, const char *name)
{
	size_t len = strlen(name);

	if (strncmp(why, name, len) == 0 && strncmp(why + len, ": ", 2) == 0)
		memmove(why, why + len + 2, strlen(why + len + 2) + 1);
}

static bool check_redis_url(const char *v, char *why, size_t n)
{
	struct redis_url u;
	bool ok = redis_url_parse(v, &u, why, n) == 0;

	explicit_bzero(&u, sizeof u);
	if (!ok)
		unprefix(why, "redis-url");
	return ok;
}

static bool check_sentinels(const char *v, char *why, size_t n)
{
	struct sentinel_list l;

	if (sentinel_msg_list(v, &l, why, n) == 0)
		return true;
	unprefix(why, "redis-sentinel");
	return false;
}

static bool check_master_name(const char *v, char *why, size_t n)
{
	if (sentinel_msg_name_ok(v))
		return true;
	snprintf(why, n, "not 1-%d printable characters without blanks", SENTINEL_NAME_MAX);
	return false;
}

static bool check_password(const char *v, char *why, size_t n)
{
	if (strlen(v) < REDIS_URL_FIELD)
		return true;
	snprintf(why, n, "longer than %d characters", REDIS_URL_FIELD - 1);
	return false;
}

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
	PORT("min-port", min_port, 1024, "49152", "Lowest relay port."),
	PORT("max-port", max_port, 1024, "65535", "Highest relay port."),
	FLAG("no-udp-relay", no_udp_relay, "Refuse allocations that relay UDP."),
	FLAG("no-tcp-relay", no_tcp_relay, "Refuse allocations that relay TCP (RFC 6062)."),
	FLAG("rfc8656-channel-numbers", rfc8656_channel_numbers,
	     "Accept only channel numbers 0x4000-0x4FFF (RFC 8656), not up to 0x7FFF."),
	{ .name = "rfc5766-channel-numbers", .type = T_NOTBOOL,
	  .off = FIELD(rfc8656_channel_numbers),
	  .help = "Channel numbers 0x4000-0x7FFF (RFC 5766), the default." },
	NUM("max-allocations", T_INT, max_allocations, 16, 4194304, "65536", "N",
	    "Allocations each worker can hold."),
	SECS("max-allocate-lifetime", max_allocate_lifetime, 60, 86400, "3600",
	     "Longest allocation lifetime a client gets."),
	SECS("channel-lifetime", channel_lifetime, 60, 3600, "600",
	     "Channel binding lifetime; RFC 8656 fixes it at 600."),
	SECS("permission-lifetime", permission_lifetime, 60, 3600, "300",
	     "Permission lifetime; RFC 8656 fixes it at 300."),
	NUM("user-quota", T_INT, user_quota, 0, 1000000000, "0", "N",
	    "Allocations per user at once; 0: unlimited."),
	NUM("total-quota", T_INT, total_quota, 0, 1000000000, "0", "N",
	    "Allocations at once, all users; 0: unlimited."),
	{ .name = "unauthorized-ratelimit", .type = T_NOTBOOL, .off = FIELD(no_unauth_ratelimit),
	  .help = "Limit unauthenticated answers per source (on by default; coturn's flag)." },
	NUM("unauthorized-ratelimit-rps", T_INT, unauth_ratelimit_rps, 0, 1000000, "100", "N",
	    "Unauthenticated answers per source address a second; 0: no limit."),
	NUM("unauthorized-ratelimit-burst", T_INT, unauth_ratelimit_burst, 1, 1000000, "200",
	    "N", "How many of them a source may have at once."),
	NUM("max-bps", T_U64, max_bps, 0, 1000000000000LL, "0", "BYTES",
	    "Bytes per second per allocation and direction; 0: unlimited."),
	NUM("bps-capacity", T_U64, bps_capacity, 0, 1000000000000LL, "0", "BYTES",
	    "Bytes per second, all allocations together; 0: unlimited."),
	LIST("allowed-peer-ip", T_RANGELIST, allowed_peer_ip, CONFIG_MAX_PEER_RANGES, "RANGE",
	     "Peers to allow although denied by default; repeatable."),
	LIST("denied-peer-ip", T_RANGELIST, denied_peer_ip, CONFIG_MAX_PEER_RANGES, "RANGE",
	     "More peers to deny; repeatable."),
	FLAG("allow-loopback-peers", allow_loopback_peers, "Allow peers on 127.0.0.0/8 and ::1."),
	FLAG("no-multicast-peers", no_multicast_peers,
	     "Accepted: multicast peers are always denied."),
	{ .name = "realm", .type = T_STR, .off = FIELD(realm), .def = "tern.invalid",
	  .arg = "REALM", .help = "Realm for long-term credentials." },
	FLAG("lt-cred-mech", lt_cred_mech, "Accepted: long-term credentials are always on."),
	{ .name = "no-auth", .type = T_NOTBOOL, .off = FIELD(lt_cred_mech),
	  .refuse = "tern never relays without authentication",
	  .help = "Refused: tern never relays without authentication." },
	LIST("user", T_USERLIST, user, CONFIG_MAX_USERS, "NAME:PASSWORD",
	     "A user, or NAME:0xKEY; repeatable, at most 4096."),
	STR("userdb", userdb, "FILE", "A file of user lines, one per line."),
	STR("db", userdb, "FILE", "coturn's name for userdb."),
	FLAG("use-auth-secret", use_auth_secret, "TURN REST API credentials."),
	LIST("static-auth-secret", T_SECRETLIST, static_auth_secret, CONFIG_MAX_AUTH_SECRETS,
	     "SECRET", "Secret for use-auth-secret; repeatable (at most 16), turns it on."),
	{ .name = "rest-api-separator", .type = T_CHAR, .off = FIELD(rest_api_separator),
	  .def = ":", .arg = "CHAR", .help = "Between expiry and name in REST user names." },
	SECS("stale-nonce", stale_nonce, 30, 86400, "600", "Nonce lifetime."),
	{ .name = "nonce-secret", .type = T_KEY32, .off = FIELD(nonce_secret),
	  .off_n = FIELD(has_nonce_secret), .arg = "HEX",
	  .help = "64 hex digits that sign nonces. Default: random at start." },
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
	SECS("stream-handshake-timeout", stream_handshake_timeout, 1, 3600, "10",
	     "A TCP or TLS connection's handshake and first message must come within this."),
	SECS("stream-idle-timeout", stream_idle_timeout, 1, 86400, "60",
	     "A TCP or TLS connection without an allocation closes when quiet this long."),
	NUM("max-stream-connections-per-source", T_INT, stream_max_per_source, 0, 1048576,
	    "1000", "N", "TCP and TLS connections one address (IPv6: /64) may hold; 0: any."),
	NUM("max-stream-connections", T_INT, stream_max, 0, 1048576, "0", "N",
	    "TCP and TLS connections in all; 0: half the open-file limit."),
	FLAG("no-websocket", no_websocket,
	     "Do not answer WebSocket upgrades on the TCP and TLS ports."),
	{ .name = "ws-path-prefix", .type = T_STR, .off = FIELD(ws_path_prefix), .def = "",
	  .arg = "PATH", .check = check_ws_prefix,
	  .help = "WebSocket paths are PATH/turn, PATH/wg and PATH/ (default: none)." },
	LIST("ws-allowed-origin", T_ORIGINLIST, ws_allowed_origin, CONFIG_MAX_WS_ORIGINS,
	     "ORIGIN", "A browser Origin allowed to upgrade; repeatable. Default: any."),
	NUM("ws-max-header", T_INT, ws_max_header, 256, 65536, "8192", "BYTES",
	    "Largest HTTP request head before a WebSocket upgrade."),
	NUM("ws-max-message", T_INT, ws_max_message, 1500, 1048576, "65536", "BYTES",
	    "Largest WebSocket message (or length-prefixed datagram) accepted."),
	SECS("ws-ping-interval", ws_ping_interval, 1, 3600, "30",
	     "A quiet WebSocket client gets a ping after this long, and is closed after "
	     "twice this long without a frame."),
	{ .name = "wg-config", .type = T_STR, .off = FIELD(wg_config), .arg = "FILE",
	  .check = check_readable,
	  .help = "WireGuard keys and peers, in wg setconf format: turns the responder on." },
	PORT("wg-listening-port", wg_listening_port, 0, NULL,
	     "WireGuard UDP port. Default: the file's ListenPort, else 51820."),
	{ .name = "wg-tun", .type = T_STR, .off = FIELD(wg_tun), .arg = "NAME",
	  .check = check_ifname, .help = "Gateway mode: make TUN device NAME for the tunnel." },
	LIST("wg-address", T_CIDRLIST, wg_address, CONFIG_MAX_WG_ADDRESSES, "CIDR",
	     "An address of the wg-tun device, as ip/len; repeatable."),
	{ .name = "wg-name", .type = T_STR, .off = FIELD(wg_name), .def = "tern0", .arg = "NAME",
	  .check = check_ifname, .help = "The UAPI socket's name when there is no wg-tun." },
	NUM("wg-mtu", T_INT, wg_mtu, 576, 65535, "1420", "BYTES", "The wg-tun device's MTU."),
	NUM("wg-cookie-threshold", T_INT, wg_cookie_threshold, 0, 10000000, "4000", "N",
	    "Handshakes a second past which cookies are demanded; 0: always."),
	SECS("wg-peer-idle", wg_peer_idle, 0, 86400 * 365, "600",
	    "With redis-url: a peer from Redis leaves memory this long after its last "
	    "handshake; 0: never."),
	NUM("wg-max-peers", T_INT, wg_max_peers, 0, 4194304, "1000000", "N",
	    "With redis-url: peers from Redis held in memory at most (least recent go "
	    "first); 0: no cap."),
	NUM("wg-lookup-rate", T_INT, wg_lookup_rate, 1, 1000000, "1000", "N",
	    "With redis-url: Redis lookups a second of keys not in memory."),
	STR("pidfile", pidfile, "FILE", "Write the process id here."),
	STR("proc-user", proc_user, "USER", "Drop privileges to this user after binding."),
	STR("proc-group", proc_group, "GROUP", "Drop privileges to this group after binding."),
	STR("log-file", log_file, "FILE", "Log to FILE, or to stdout or stderr (the default)."),
	FLAG("syslog", syslog, "Log to syslog (facility daemon)."),
	FLAG("log-json", log_json, "Write log lines as JSON objects."),
	SECS("log-repeat-interval", log_repeat_interval, 0, 86400, "60",
	     "Bad input from one source (failed credentials, malformed messages, refused "
	     "connections) is logged once this long, then as a count; 0: every time."),
	{ .name = "verbose", .type = T_LEVEL, .off = FIELD(verbose),
	  .help = "Log debug messages too (also -v)." },
	{ .name = "Verbose", .type = T_LEVEL, .off = FIELD(verbose),
	  .help = "coturn's extra verbose; the same as verbose." },
	{ .name = "stats-listen", .type = T_HOSTPORT, .off = FIELD(stats_listen),
	  .def = "127.0.0.1:9641", .arg = "HOST:PORT",
	  .help = "Serve /metrics and /healthz here; \"off\" disables." },
	{ .name = "stats-token", .type = T_STR, .off = FIELD(stats_token), .arg = "TOKEN",
	  .check = check_token,
	  .help = "Bearer token that /allocations and the admin actions (POST /drain, "
		  "/reload) require; needed when stats-listen is not on loopback." },
	{ .name = "prometheus-port", .type = T_PROM_PORT, .off = FIELD(stats_listen),
	  .arg = "PORT", .help = "coturn's name: sets the port of stats-listen." },
	{ .name = "prometheus-address", .type = T_PROM_ADDR, .off = FIELD(stats_listen),
	  .arg = "ADDR", .help = "coturn's name: sets the address of stats-listen." },
	{ .name = "redis-url", .type = T_STR, .off = FIELD(redis_url), .check = check_redis_url,
	  .arg = "URL", .help = "redis://[[user]:password@]host[:port][/db]: share state "
				"with a fleet. Default: in memory." },
	{ .name = "redis-sentinel", .type = T_STR, .off = FIELD(redis_sentinel),
	  .check = check_sentinels, .arg = "HOST:PORT[,...]",
	  .help = "Redis Sentinel: ask these sentinels for the master (redis-url then gives "
		  "only the password and db)." },
	{ .name = "redis-master-name", .type = T_STR, .off = FIELD(redis_master_name),
	  .check = check_master_name, .arg = "NAME",
	  .help = "With redis-sentinel: the master's name there." },
	{ .name = "redis-sentinel-password", .type = T_STR, .off = FIELD(redis_sentinel_password),
	  .check = check_password, .arg = "PASSWORD",
	  .help = "With redis-sentinel: the sentinels' own password (AUTH). Default: none." },
	{ .name = "node-id", .type = T_STR, .off = FIELD(node_id), .check = check_node_id,
	  .arg = "ID", .help = "This node's name in the fleet. Default: the host name." },
	SECS("redis-userdb-interval", redis_userdb_interval, 1, 3600, "30",
	     "With redis-url: seconds between reads of the users and REST secrets in "
	     "Redis (at once when ternctl changes them)."),
	SECS("traffic-interval", traffic_interval, 1, 3600, "30",
	     "With redis-url: seconds between the traffic events each allocation "
	     "that relayed anything gets on tern:events."),
	NUM("drain-min-allocations", T_INT, drain_min_allocations, 0, 100000000, "0", "N",
	    "After SIGUSR1 (draining: no new allocations), stop once at most N remain."),
	{ .name = "alternate-domain", .type = T_STR, .off = FIELD(alternate_domain),
	  .arg = "NAME", .check = check_domain,
	  .help = "With redis-url: the fleet's TLS certificate name, sent as ALTERNATE-DOMAIN "
		  "when a TLS or DTLS client is sent to another node (300)." },
	FLAG("redis-required", redis_required,
	     "Refuse new allocations (508) while Redis is unreachable, instead of "
	     "taking them on local state."),
	LIST("xdp-interface", T_IFLIST, xdp_interface, CONFIG_MAX_XDP_INTERFACES, "NAME",
	     "Relay ChannelData in XDP on this interface (repeatable); without it, or when "
	     "the program cannot attach, userspace relays it all."),
	{ .name = "xdp-mode", .type = T_STR, .off = FIELD(xdp_mode), .def = "auto",
	  .arg = "MODE", .check = check_xdp_mode,
	  .help = "How to attach: native (the driver's), generic (any interface, slower), "
		  "or auto (native, else generic)." },
};

const size_t config_n_options = ARRAY_SIZE(config_options);

_Static_assert(ARRAY_SIZE(config_options) <= CONFIG_MAX_OPTIONS, "raise CONFIG_MAX_OPTIONS");

/* ---- looking options up ------------------------------------------------ */

const struct config_opt *config_opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_options); i++)
		if (strcmp(config_options[i].name, name) == 0)
			return &config_options[i];
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

static bool is_list(const struct config_opt *o)
{
	return o->type == T_IPLIST || o->type == T_USERLIST || o->type == T_SECRETLIST ||
	       o->type == T_RANGELIST || o->type == T_CIDRLIST || o->type == T_ORIGINLIST ||
	       o->type == T_IFLIST;
}

/* Bytes of row o's field; lists: the array (their count is off_n). */
static size_t field_size(const struct config_opt *o)
{
	switch (o->type) {
	case T_BOOL:
	case T_NOTBOOL:
		return sizeof(bool);
	case T_LEVEL:
	case T_INT:
	case T_SECS:
		return sizeof(int);
	case T_U64:
		return sizeof(uint64_t);
	case T_PORT:
		return sizeof(uint16_t);
	case T_CHAR:
		return sizeof(char);
	case T_KEY32:
		return CONFIG_NONCE_SECRET_LEN;
	case T_IPLIST:
	case T_USERLIST:
	case T_SECRETLIST:
	case T_RANGELIST:
	case T_CIDRLIST:
	case T_ORIGINLIST:
	case T_IFLIST:
		return (size_t)o->max * sizeof(char *);
	default: /* T_STR, T_EXTIP, T_HOSTPORT, T_PROM_*: a string */
		return sizeof(char *);
	}
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_value(const struct config *a, const struct config *b, const struct config_opt *o)
{
	const char *pa = (const char *)a + o->off, *pb = (const char *)b + o->off;
	char *const *la = (char *const *)(const void *)pa, *const *lb = (char *const *)(const void *)pb;

	if (is_list(o)) {
		int n = *(const int *)(const void *)((const char *)a + o->off_n);

		if (n != *(const int *)(const void *)((const char *)b + o->off_n))
			return false;
		for (int i = 0; i < n; i++)
			if (!same_str(la[i], lb[i]))
				return false;
		return true;
	}
	if (o->type == T_KEY32)
		return *(const bool *)(const void *)((const char *)a + o->off_n) ==
			       *(const bool *)(const void *)((const char *)b + o->off_n) &&
		       memcmp(pa, pb, CONFIG_NONCE_SECRET_LEN) == 0;
	if (field_size(o) == sizeof(char *) && o->type != T_U64)
		return same_str(*la, *lb);
	return memcmp(pa, pb, field_size(o)) == 0;
}

void config_each_change(const struct config *a, const struct config *b,
			void (*fn)(void *ctx, const char *name), void *ctx)
{
	for (size_t i = 0; i < ARRAY_SIZE(config_options); i++) {
		const struct config_opt *o = &config_options[i];

		if (opt_slot(o) == i && !same_value(a, b, o))
			fn(ctx, o->name);
	}
}

static void swap_bytes(void *x, void *y, size_t n)
{
	unsigned char *p = x, *q = y, t;

	for (size_t i = 0; i < n; i++) {
		t = p[i];
		p[i] = q[i];
		q[i] = t;
	}
}

void config_adopt(struct config *live, struct config *fresh, const char *name)
{
	const struct config_opt *o = config_opt_find(name);
	size_t slot;

	if (!o)
		return;
	slot = opt_slot(o);
	o = &config_options[slot];
	swap_bytes((char *)live + o->off, (char *)fresh + o->off, field_size(o));
	if (is_list(o))
		swap_bytes((char *)live + o->off_n, (char *)fresh + o->off_n, sizeof(int));
	else if (o->type == T_KEY32)
		swap_bytes((char *)live + o->off_n, (char *)fresh + o->off_n, sizeof(bool));
	swap_bytes(&live->origin[slot], &fresh->origin[slot], sizeof(char *));
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

static bool parse_long(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || *s < '0' || *s > '9')
		return false; /* no sign, no leading blanks */
	errno = 0;
	v = strtoll(s, &end, 10);
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
	long long p;

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

bool config_loopback(const char *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(ip, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
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
	if (b && o->refuse) {
		snprintf(why, n, "%s", o->refuse);
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
	long long x;

	if (!v && o->type == T_SECS)
		v = o->def; /* coturn: a bare stale-nonce means the default */
	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!parse_long(v, o->min, o->max, &x)) {
		if (o->type == T_PORT)
			snprintf(why, n, "'%s' is not a port (%lld-%lld)", v, o->min, o->max);
		else
			snprintf(why, n, "'%s' is not a number from %lld to %lld", v, o->min,
				 o->max);
		return -1;
	}
	if (o->type == T_PORT)
		*AT(c, o, uint16_t) = (uint16_t)x;
	else if (o->type == T_U64)
		*AT(c, o, uint64_t) = (uint64_t)x;
	else
		*AT(c, o, int) = (int)x;
	return 0;
}

static int set_char(struct config *c, const struct config_opt *o, const char *v, char *why,
		    size_t n)
{
	if (!v || strlen(v) != 1 || !ispunct((unsigned char)*v)) {
		snprintf(why, n, "'%s' is not one punctuation character", v ? v : "");
		return -1;
	}
	*AT(c, o, char) = *v;
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
	if (o->check && *v && !o->check(v, why, n))
		return -1;
	return replace_str(c, o, *v || !o->def ? v : o->def, why, n);
}

/* ---- repeatable options ------------------------------------------------------ */

static int *count_of(struct config *c, const struct config_opt *o)
{
	return (int *)(void *)((char *)c + o->off_n);
}

/* Append a copy of v to o's list; noun names the items for "more than N". */
static int list_add(struct config *c, const struct config_opt *o, const char *v,
		    const char *noun, char *why, size_t n)
{
	char **list = AT(c, o, char *);
	int *count = count_of(c, o);

	if (*count >= o->max) {
		snprintf(why, n, "more than %lld %s", o->max, noun);
		return -1;
	}
	if (!(list[*count] = strdup(v))) {
		snprintf(why, n, "out of memory");
		return -1;
	}
	(*count)++;
	return 0;
}

static int set_iplist(struct config *c, const struct config_opt *o, const char *v, char *why,
		      size_t n)
{
	char **list = AT(c, o, char *);
	int *count = count_of(c, o);
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
	return list_add(c, o, v, "addresses", why, n);
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

/* ---- credentials and peers ---------------------------------------------- */

/* Exactly 2 * len hex digits into out. */
static bool hex_decode(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len || strspn(s, "0123456789abcdefABCDEF") != 2 * len)
		return false;
	for (i = 0; i < len; i++) {
		char byte[3] = { s[2 * i], s[2 * i + 1], '\0' };

		out[i] = (uint8_t)strtoul(byte, NULL, 16);
	}
	return true;
}

/* Put the problem in why, naming the user once the name is known; false. */
static bool user_fail(const struct config_user *u, char *why, size_t n, const char *what)
{
	if (u->name_len)
		snprintf(why, n, "'%.*s': %s", (int)u->name_len, u->name, what);
	else
		snprintf(why, n, "%s", what);
	return false;
}

bool config_parse_user(const char *s, struct config_user *u, char *why, size_t n)
{
	const char *colon = strchr(s, ':');
	const char *pw = colon ? colon + 1 : NULL;

	memset(u, 0, sizeof(*u));
	if (!colon)
		return user_fail(u, why, n, "not name:password or name:0xKEY");
	if (colon == s)
		return user_fail(u, why, n, "no name before ':'");
	if (colon - s > CONFIG_MAX_USERNAME_LEN)
		return user_fail(u, why, n, "the name is longer than 508 bytes");
	u->name = s;
	u->name_len = (size_t)(colon - s);
	if (strncmp(pw, "0x", 2) == 0) {
		if (hex_decode(pw + 2, u->key, sizeof(u->key)))
			return true;
		explicit_bzero(u->key, sizeof(u->key));
		return user_fail(u, why, n, "a 0x key must be 32 hex digits");
	}
	if (!*pw)
		return user_fail(u, why, n, "no password after ':'");
	if (strlen(pw) > CONFIG_MAX_SECRET_LEN)
		return user_fail(u, why, n, "the password is longer than 256 bytes");
	u->password = pw;
	u->password_len = strlen(pw);
	return true;
}

static int set_user(struct config *c, const struct config_opt *o, const char *v, char *why,
		    size_t n)
{
	char **list = AT(c, o, char *);
	struct config_user u;
	int i;

	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!config_parse_user(v, &u, why, n))
		return -1;
	explicit_bzero(u.key, sizeof(u.key));
	/* stored lines are valid, so a match up to and with ':' is the name */
	for (i = 0; i < *count_of(c, o); i++) {
		if (strncmp(list[i], v, u.name_len + 1) == 0) {
			snprintf(why, n, "'%.*s' is given twice", (int)u.name_len, v);
			return -1;
		}
	}
	return list_add(c, o, v, "users (put the rest in userdb)", why, n);
}

/* A static-auth-secret turns use-auth-secret on, as it does in coturn. */
static int set_secret(struct config *c, const struct config_opt *o, const char *v, char *why,
		      size_t n)
{
	if (!v || !*v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (strlen(v) > CONFIG_MAX_SECRET_LEN) {
		snprintf(why, n, "the secret is longer than %d bytes", CONFIG_MAX_SECRET_LEN);
		return -1;
	}
	if (list_add(c, o, v, "secrets", why, n) < 0)
		return -1;
	c->use_auth_secret = true;
	return 0;
}

/* One address of a range, blanks around it ignored; 0 if it is not one. */
static int range_ip(const char *s, size_t len, uint8_t ip[16])
{
	char buf[INET6_ADDRSTRLEN];

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(ip, 0, 16);
	if (inet_pton(AF_INET, buf, ip) == 1)
		return AF_INET;
	return inet_pton(AF_INET6, buf, ip) == 1 ? AF_INET6 : 0;
}

/* "ip/len": a prefix length of 0-32 or 0-128 and no host bits set. */
static bool range_cidr(const char *v, const char *slash, char *why, size_t n)
{
	const char *p = slash + 1 + strspn(slash + 1, " \t");
	size_t i, digits = strspn(p, "0123456789");
	uint8_t ip[16];
	int family = range_ip(v, (size_t)(slash - v), ip);
	size_t bits = family == AF_INET ? 32 : 128;
	size_t plen = 0;

	if (!family) {
		snprintf(why, n, "'%s' is not an address, ip1-ip2 or ip/len", v);
		return false;
	}
	for (i = 0; i < digits && i < 4; i++)
		plen = plen * 10 + (size_t)(p[i] - '0');
	if (digits == 0 || digits > 3 || p[digits + strspn(p + digits, " \t")] != '\0' ||
	    plen > bits) {
		snprintf(why, n, "'%s': the prefix length is not 0-%zu", v, bits);
		return false;
	}
	for (i = 0; i < bits / 8; i++) {
		size_t left = plen > 8 * i ? plen - 8 * i : 0;
		uint8_t mask = left >= 8 ? 0xff : (uint8_t)(0xff00 >> left);

		if (ip[i] & (uint8_t)~mask) {
			snprintf(why, n, "'%s': host bits are set after the prefix", v);
			return false;
		}
	}
	return true;
}

bool config_valid_peer_range(const char *v, char *why, size_t n)
{
	const char *dash = strchr(v, '-'), *slash = strchr(v, '/');
	uint8_t lo[16], hi[16];
	int family, family_hi;

	if (strlen(v) > CONFIG_MAX_PEER_RANGE_LEN) {
		snprintf(why, n, "a range is at most %d bytes", CONFIG_MAX_PEER_RANGE_LEN);
		return false;
	}
	if (slash && (!dash || slash < dash))
		return range_cidr(v, slash, why, n);
	family = range_ip(v, dash ? (size_t)(dash - v) : strlen(v), lo);
	family_hi = dash ? range_ip(dash + 1, strlen(dash + 1), hi) : family;
	if (!family || !family_hi) {
		snprintf(why, n, "'%s' is not an address, ip1-ip2 or ip/len", v);
		return false;
	}
	if (family != family_hi) {
		snprintf(why, n, "'%s': the range mixes IPv4 and IPv6", v);
		return false;
	}
	if (dash && memcmp(lo, hi, family == AF_INET ? 4 : 16) > 0) {
		snprintf(why, n, "'%s': the range ends before it starts", v);
		return false;
	}
	return true;
}

static int set_range(struct config *c, const struct config_opt *o, const char *v, char *why,
		     size_t n)
{
	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (!config_valid_peer_range(v, why, n))
		return -1;
	return list_add(c, o, v, "ranges", why, n);
}

/* 64 hex digits into a 32-byte field; "" unsets it. Never echoes the value. */
static int set_key32(struct config *c, const struct config_opt *o, const char *v, char *why,
		     size_t n)
{
	uint8_t *key = AT(c, o, uint8_t);
	bool *set = (bool *)(void *)((char *)c + o->off_n);
	uint8_t tmp[CONFIG_NONCE_SECRET_LEN];

	if (!v) {
		snprintf(why, n, "needs a value");
		return -1;
	}
	if (*v && !hex_decode(v, tmp, sizeof(tmp))) {
		explicit_bzero(tmp, sizeof(tmp));
		snprintf(why, n, "not %zu hex digits", 2 * sizeof(tmp));
		return -1;
	}
	if (*v)
		memcpy(key, tmp, sizeof(tmp));
	else
		explicit_bzero(key, sizeof(tmp));
	explicit_bzero(tmp, sizeof(tmp));
	*set = *v != '\0';
	return 0;
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
	long long x;

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

/* "ip/len": an address of the TUN device with its prefix length. */
static int set_cidr(struct config *c, const struct config_opt *o, const char *v, char *why,
		    size_t n)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = v ? strchr(v, '/') : NULL;
	long long len;
	int family;

	if (!slash || (size_t)(slash - v) >= sizeof ip) {
		snprintf(why, n, "'%s' is not address/length", v ? v : "");
		return -1;
	}
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = '\0';
	family = config_ip_family(ip);
	if (!family || !parse_long(slash + 1, 0, family == AF_INET ? 32 : 128, &len)) {
		snprintf(why, n, "'%s' is not address/length", v);
		return -1;
	}
	return list_add(c, o, v, "addresses", why, n);
}

/* A browser origin as it appears in Origin: "scheme://host[:port]", or "null". */
static int set_origin(struct config *c, const struct config_opt *o, const char *v, char *why,
		      size_t n)
{
	const char *sep = v ? strstr(v, "://") : NULL;
	bool ok = v && (strcmp(v, "null") == 0 || (sep && sep > v && sep[3]));

	for (const char *p = v; ok && *p; p++)
		ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != ',' &&
		     (p < sep + 3 || *p != '/');
	if (!ok || strlen(v) >= 256) {
		snprintf(why, n, "'%s' is not an origin like https://example.com", v ? v : "");
		return -1;
	}
	return list_add(c, o, v, "origins", why, n);
}

/* A network interface's name as the kernel takes it: 1-15 bytes, no '/',
 * blank or ':' (IFNAMSIZ, dev_valid_name). */
static int set_ifname(struct config *c, const struct config_opt *o, const char *v, char *why,
		      size_t n)
{
	bool ok = v && *v && strlen(v) < 16 && strcmp(v, ".") != 0 && strcmp(v, "..") != 0;

	for (const char *p = v; ok && *p; p++)
		ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '/' && *p != ':';
	if (!ok) {
		snprintf(why, n, "'%s' is not a network interface name", v ? v : "");
		return -1;
	}
	return list_add(c, o, v, "interfaces", why, n);
}

static const setter_fn setters[T_NTYPES] = {
	[T_BOOL] = set_bool,	     [T_NOTBOOL] = set_bool,	[T_LEVEL] = set_bool,
	[T_INT] = set_number,	     [T_SECS] = set_number,	[T_U64] = set_number,
	[T_PORT] = set_number,	     [T_CHAR] = set_char,	[T_STR] = set_str,
	[T_IPLIST] = set_iplist,     [T_USERLIST] = set_user,	[T_SECRETLIST] = set_secret,
	[T_RANGELIST] = set_range,   [T_EXTIP] = set_extip,	[T_KEY32] = set_key32,
	[T_HOSTPORT] = set_hostport, [T_PROM_PORT] = set_prom,	[T_PROM_ADDR] = set_prom,
	[T_CIDRLIST] = set_cidr,     [T_ORIGINLIST] = set_origin,	[T_IFLIST] = set_ifname,
};

/* ---- applying one option ------------------------------------------------ */

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
		return config_coturn_unknown(name, where, warn && !c->quiet, err, errlen);
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

/* Free what row o owns; passwords and secrets are wiped first. */
static void free_row(struct config *c, const struct config_opt *o)
{
	bool secret = o->type == T_USERLIST || o->type == T_SECRETLIST;
	char **list = AT(c, o, char *);
	int j;

	if (is_list(o)) {
		for (j = 0; j < *count_of(c, o); j++) {
			if (secret)
				explicit_bzero(list[j], strlen(list[j]));
			free(list[j]);
		}
	} else if (o->type == T_STR || o->type == T_EXTIP || o->type == T_HOSTPORT) {
		if (*list && o->check == check_token)
			explicit_bzero(*list, strlen(*list));
		free(*list);
	} else if (o->type == T_KEY32) {
		explicit_bzero(AT(c, o, uint8_t), CONFIG_NONCE_SECRET_LEN);
	}
}

void config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(config_options); i++)
		if (opt_slot(&config_options[i]) == i) /* an alias frees nothing */
			free_row(c, &config_options[i]);
	for (i = 0; i < CONFIG_MAX_OPTIONS; i++)
		free(c->origin[i]);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
