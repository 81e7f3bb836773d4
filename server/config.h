/*
 * ternd's configuration: coturn's option names where the feature is the same,
 * from a file (`option = value`, `option=value`, bare flags, `#` comments) and
 * from `--option=value` arguments. Read-only once the workers start; the one
 * global tern allows (STYLE.md rule 10) is a pointer to it.
 */
#ifndef TERN_SERVER_CONFIG_H
#define TERN_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_limits {
	CONFIG_MAX_LISTEN_IPS = 8,
	CONFIG_MAX_RELAY_IPS = 8,
	CONFIG_MAX_USERS = 4096,           /* user lines; more belong in userdb */
	CONFIG_MAX_USERDB_USERS = 1000000, /* lines of a userdb file */
	CONFIG_MAX_AUTH_SECRETS = 16,      /* static-auth-secret, for rotation */
	CONFIG_MAX_PEER_RANGES = 1024,     /* each of allowed- and denied-peer-ip */
	CONFIG_MAX_WG_ADDRESSES = 8,
	CONFIG_MAX_WS_ORIGINS = 64,        /* ws-allowed-origin */
	CONFIG_MAX_XDP_INTERFACES = 16,    /* xdp-interface */
	CONFIG_MAX_PEER_RANGE_LEN = 128,   /* one range as text, in bytes */
	CONFIG_MAX_USERNAME_LEN = 508,     /* RFC 8489 s14.3: under 509 bytes */
	CONFIG_MAX_SECRET_LEN = 256,       /* a password or static-auth-secret */
	CONFIG_USER_KEY_LEN = 16,          /* MD5(name:realm:password) */
	CONFIG_NONCE_SECRET_LEN = 32,
	CONFIG_MAX_LINE = 4096,
	CONFIG_ERR_LEN = 512,
	CONFIG_MAX_OPTIONS = 128, /* rows in config.c's option table */
};

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

struct config {
	/* listeners */
	char *listening_ip[CONFIG_MAX_LISTEN_IPS]; /* none: 0.0.0.0 and :: */
	int n_listening_ip;
	uint16_t listening_port;         /* 3478 */
	uint16_t tls_listening_port;     /* 5349 */
	uint16_t alt_listening_port;     /* 0: listening_port + 1 (RFC 5780) */
	uint16_t alt_tls_listening_port; /* 0: tls_listening_port + 1 */
	bool no_udp, no_tcp, no_tls, no_dtls;
	/* relay */
	char *relay_ip[CONFIG_MAX_RELAY_IPS];
	int n_relay_ip;
	char *external_ip; /* "public" or "public/private": XOR-RELAYED-ADDRESS */
	uint16_t min_port, max_port; /* 49152..65535, within 1024..65535 */
	bool no_udp_relay, no_tcp_relay; /* refuse REQUESTED-TRANSPORT UDP, TCP */
	int max_allocations;             /* allocation table size per worker: 65536 */
	bool rfc8656_channel_numbers;    /* channels up to 0x4FFF only, not 0x7FFF */
	/* lifetimes, in seconds */
	int max_allocate_lifetime; /* 3600: the most an Allocate or Refresh gets */
	int channel_lifetime;      /* 600 (RFC 8656 s12 fixes it at 10 minutes) */
	int permission_lifetime;   /* 300 (RFC 8656 s9 fixes it at 5 minutes) */
	int stale_nonce;           /* 600: an older nonce is answered 438 */
	/* quotas and bandwidth; 0 is unlimited */
	int user_quota;        /* allocations per user name, whole process */
	int total_quota;       /* allocations, whole process */
	uint64_t max_bps;      /* bytes/s per allocation, each direction */
	/* unauthenticated answers per source a second, and their burst */
	int unauth_ratelimit_rps, unauth_ratelimit_burst;
	bool no_unauth_ratelimit;
	uint64_t bps_capacity; /* bytes/s for all allocations together */
	/* peers: each range is "ip", "ip1-ip2" or "ip/len" (relay/policy.h) */
	char *allowed_peer_ip[CONFIG_MAX_PEER_RANGES];
	int n_allowed_peer_ip;
	char *denied_peer_ip[CONFIG_MAX_PEER_RANGES];
	int n_denied_peer_ip;
	bool allow_loopback_peers;
	bool no_multicast_peers; /* no effect: multicast peers are always denied */
	/* authentication: long-term credentials, always on (RFC 8489 s9.2) */
	char *realm;       /* never NULL after config_defaults(): "tern.invalid" */
	bool lt_cred_mech; /* no effect; no-auth is refused */
	char *user[CONFIG_MAX_USERS]; /* "name:password" or "name:0x<32 hex>" */
	int n_user;
	char *userdb;         /* a text file of user lines; see config_userdb_read() */
	bool use_auth_secret; /* TURN REST API; any static-auth-secret sets it */
	char *static_auth_secret[CONFIG_MAX_AUTH_SECRETS]; /* each one is accepted */
	int n_static_auth_secret;
	char rest_api_separator; /* ':' in "expiry:name" REST user names */
	uint8_t nonce_secret[CONFIG_NONCE_SECRET_LEN];
	bool has_nonce_secret; /* false: pick a random one at start */
	/* TLS */
	char *cert, *pkey, *cipher_list;
	/* STUN behaviour */
	bool rfc5780;               /* on when two listening IPs are set */
	bool no_software_attribute; /* omit SOFTWARE */
	/* process */
	int workers; /* 0: number of online CPUs */
	/* stream connections (TCP, TLS): deadlines in seconds, and caps */
	int stream_handshake_timeout; /* to the first whole message */
	int stream_idle_timeout;      /* without an allocation */
	int stream_max_per_source;    /* 0: no cap per source */
	int stream_max;               /* 0: half of RLIMIT_NOFILE */
	/* WebSocket on the stream ports (server/wsconn.c) */
	bool no_websocket;
	char *ws_path_prefix;         /* "" or "/x[/y...]", no trailing slash */
	char *ws_allowed_origin[CONFIG_MAX_WS_ORIGINS]; /* none: any origin */
	int n_ws_allowed_origin;
	int ws_max_header;            /* bytes of the HTTP request head */
	int ws_max_message;           /* bytes of one message (flyctl: datagram) */
	int ws_ping_interval;         /* seconds quiet before a ping; twice: closed */
	/* the kernel fast path (server/xdp.c) */
	char *xdp_interface[CONFIG_MAX_XDP_INTERFACES];
	int n_xdp_interface;
	char *xdp_mode;               /* "auto" (default), "native" or "generic" */
	char *pidfile, *proc_user, *proc_group;
	/* logging */
	char *log_file; /* NULL or "stderr": stderr; "stdout" too */
	bool syslog;
	bool log_json;
	int verbose; /* enum log_level; `verbose` flag means INFO+1 */
	int log_repeat_interval; /* seconds: bad input from one source, one line */
	/* stats endpoint */
	char *stats_listen; /* "127.0.0.1:9641"; "" or "off" disables */
	char *stats_token;  /* Bearer token for /allocations and the admin actions */
	char *alternate_domain; /* ALTERNATE-DOMAIN with 300 over TLS and DTLS, or NULL */
	/* the WireGuard responder: on when wg_config is set */
	char *wg_config;        /* wg(8) setconf file: keys and peers */
	uint16_t wg_listening_port; /* 0: the file's ListenPort, else 51820 */
	char *wg_tun;           /* gateway mode: the TUN device ternd makes */
	char *wg_address[CONFIG_MAX_WG_ADDRESSES]; /* "ip/len" for wg_tun */
	int n_wg_address;
	char *wg_name;          /* the UAPI name when there is no wg_tun */
	int wg_mtu;
	int wg_cookie_threshold; /* handshakes/s past which mac2 is asked; 0: always */
	int wg_peer_idle;       /* seconds: a stored peer leaves memory; 0: never */
	int wg_max_peers;       /* stored peers in memory at most; 0: no cap */
	int wg_lookup_rate;     /* Redis lookups a second of keys not in memory */
	/* the store */
	char *redis_url; /* NULL: state in memory */
	char *redis_sentinel;          /* "host:port,...": the master from there */
	char *redis_master_name;       /* the sentinels' name for it */
	char *redis_sentinel_password; /* AUTH for the sentinels */
	char *node_id;   /* NULL: the host name */
	bool redis_required; /* no new allocations while Redis is away */
	int traffic_interval; /* s between traffic events on tern:events: 30 */
	int redis_userdb_interval; /* s between reads of users and secrets: 30 */
	int drain_min_allocations; /* SIGUSR1: stop once at most this many remain */
	/* bookkeeping */
	char *path; /* config file read, or NULL */
	bool quiet; /* print no warnings on stderr (the fuzzer sets it) */
	/*
	 * Where each option was last set, for messages: "file:line" or
	 * "command line"; NULL while it holds its default. Indexed by the
	 * option's row in config.c; read it through config_origin().
	 */
	char *origin[CONFIG_MAX_OPTIONS];
};

/* Fill c with the built-in defaults. */
void config_defaults(struct config *c);
/* Free every string c owns. */
void config_free(struct config *c);

/*
 * Apply one option by name. value is NULL for a bare flag. where names the
 * source for messages ("file:line" or "command line"). Returns 0, or -1 with
 * "where: problem" in err. A coturn option tern does not support is a warning
 * printed to stderr and returns 0.
 */
int config_set(struct config *c, const char *name, const char *value, const char *where,
	       char *err, size_t errlen);

/*
 * Read a config file. Returns 0, or -1 with "file:line: problem" in err (the
 * first problem; --check lists them all through config_check_file).
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/*
 * Cross-option checks done after everything is read: port ranges, cert and
 * pkey readable when TLS is on, addresses parse. Messages name the line the
 * option came from when it came from a file. Returns 0 or -1 with err.
 */
int config_validate(const struct config *c, char *err, size_t errlen);

/*
 * `ternd --check -c FILE`: print every problem as "file:line: problem" to
 * stderr. Returns the number of problems.
 */
int config_check_file(const char *path);

/*
 * Parse argv: -c FILE, -n (no file), --option=value, --option value,
 * --flag, and coturn's one-letter options. Loads the file first, applies
 * the arguments over it, then runs config_validate(). With --check,
 * *check_only is set and the file is read without reporting its problems:
 * the caller runs config_check_file(c->path) to print them all and, if
 * there are none, config_validate(c) on the file and arguments together.
 * Returns 0, 1 when the caller should exit 0 (--help, --version printed), or
 * -1 with err.
 */
int config_from_argv(struct config *c, int argc, char **argv, bool *check_only,
		     char *err, size_t errlen);

/* Print --help to stdout: every option with its default. */
void config_usage(const char *argv0);

/*
 * Where option name (e.g. "cert") was set: "file:line" or "command line", or
 * NULL while it holds its default. For start-up messages such as a TLS key
 * that does not load. The string belongs to c.
 */
const char *config_origin(const struct config *c, const char *name);

/*
 * SIGHUP: fn(ctx, name) for each option whose value differs between the
 * running config a and the one read again, b (an option and its aliases,
 * verbose and Verbose say, are one).
 */
void config_each_change(const struct config *a, const struct config *b,
			void (*fn)(void *ctx, const char *name), void *ctx);
/* Take option name's value (and where it was set) from fresh into live;
 * fresh gets live's old value, to be freed with it. */
void config_adopt(struct config *live, struct config *fresh, const char *name);

/*
 * Split a stats-listen style "host:port" or "[v6]:port" into host (without
 * brackets, NUL-terminated, at most hostlen bytes) and port (1-65535).
 * host is an IPv4 or IPv6 literal or a DNS name. False for anything else,
 * including "off".
 */
bool config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);
/* Whether a stats-listen value turns the endpoint off (NULL, "" or "off"). */
bool config_stats_off(const char *s);
/* Whether an IP literal is a loopback address (127.0.0.0/8, ::1), or the
 * name is localhost. */
bool config_loopback(const char *ip);

/*
 * One user: a `user` option or a userdb line, `name:password` or
 * `name:0x<32 hex digits>`. name and password point into the parsed text,
 * which must outlive this, and are not NUL-terminated.
 */
struct config_user {
	const char *name;
	size_t name_len;
	const char *password; /* NULL when the line gives a key */
	size_t password_len;
	uint8_t key[CONFIG_USER_KEY_LEN]; /* MD5(name:realm:password), given as 0x... */
};

/*
 * Parse and check one user line. False with the problem in why; the
 * message names the user but never repeats a password or a key.
 */
bool config_parse_user(const char *s, struct config_user *u, char *why, size_t n);

/*
 * Read a userdb file: one user line per line; blank lines and lines whose
 * first non-blank character is '#' are skipped; blanks around a line are
 * not part of it. fn (may be NULL: only check) gets each user; the line
 * buffer is wiped after. A non-zero return from fn stops the read and is
 * returned. Returns 0, or -1 with "file:line: problem" or "file: problem"
 * in err: a bad line, more than CONFIG_MAX_USERDB_USERS users, or an SQLite
 * file (coturn's userdb format).
 */
int config_userdb_read(const char *path, int (*fn)(void *ctx, const struct config_user *u),
		       void *ctx, char *err, size_t errlen);

/*
 * Settings that are accepted but probably not what was meant: a
 * static-auth-secret while use-auth-secret was turned off after it, or
 * 0x user keys with the default realm. Calls warn once for each, with
 * where ("file:line", "command line" or "ternd") and the text, and returns
 * how many. config_check_file() prints them; ternd should log them at start.
 */
int config_warnings(const struct config *c,
		    void (*warn)(void *ctx, const char *where, const char *msg), void *ctx);

/* node-id: 1-64 of A-Z a-z 0-9 . _ - (it goes into Redis key names). */
bool config_valid_node_id(const char *s);

#endif
