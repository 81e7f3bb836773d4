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
	CONFIG_MAX_LINE = 4096,
	CONFIG_ERR_LEN = 512,
	CONFIG_MAX_OPTIONS = 48, /* rows in config.c's option table */
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
	/* relay (used from the TURN issue on; parsed and checked now) */
	char *relay_ip[CONFIG_MAX_RELAY_IPS];
	int n_relay_ip;
	char *external_ip; /* "public" or "public/private" */
	uint16_t min_port, max_port; /* 49152..65535 */
	char *realm;
	/* TLS */
	char *cert, *pkey, *cipher_list;
	/* STUN behaviour */
	bool rfc5780;               /* on when two listening IPs are set */
	bool no_software_attribute; /* omit SOFTWARE */
	/* process */
	int workers; /* 0: number of online CPUs */
	char *pidfile, *proc_user, *proc_group;
	/* logging */
	char *log_file; /* NULL or "stderr": stderr; "stdout" too */
	bool syslog;
	bool log_json;
	int verbose; /* enum log_level; `verbose` flag means INFO+1 */
	/* stats endpoint */
	char *stats_listen; /* "127.0.0.1:9641"; "" or "off" disables */
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
 * Split a stats-listen style "host:port" or "[v6]:port" into host (without
 * brackets, NUL-terminated, at most hostlen bytes) and port (1-65535).
 * host is an IPv4 or IPv6 literal or a DNS name. False for anything else,
 * including "off".
 */
bool config_split_hostport(const char *s, char *host, size_t hostlen, uint16_t *port);

#endif
