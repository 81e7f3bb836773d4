/*
 * What config.c, config_file.c and config_argv.c share, and nothing else:
 * the option table and its row type, lookups in it and in the table of
 * coturn options tern ignores, applying one option, the value checks the
 * cross-option validation repeats, and the problem sink the file reader and
 * the command line feed. Internal to the config module; the rest of ternd
 * uses server/config.h.
 */
#ifndef TERN_SERVER_CONFIG_OPT_H
#define TERN_SERVER_CONFIG_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/config.h"

enum config_opt_type {
	T_BOOL,       /* bool; a bare flag means true */
	T_NOTBOOL,    /* bool stored inverted: software-attribute, no-auth */
	T_LEVEL,      /* int log level: true means debug */
	T_INT,        /* int in [min, max] */
	T_SECS,       /* int in [min, max]; bare, like coturn, means the default */
	T_U64,        /* uint64_t in [min, max] */
	T_PORT,       /* uint16_t in [min, max] */
	T_CHAR,       /* char: one punctuation character */
	T_STR,        /* char *; "" unsets, or restores the default if there is one */
	T_IPLIST,     /* repeatable IP literal: char *[max] plus an int count */
	T_USERLIST,   /* repeatable user line, likewise */
	T_SECRETLIST, /* repeatable static-auth-secret, likewise */
	T_RANGELIST,  /* repeatable peer range, likewise */
	T_CIDRLIST,   /* repeatable "address/length", likewise */
	T_ORIGINLIST, /* repeatable browser origin ("scheme://host[:port]"), likewise */
	T_IFLIST,     /* repeatable network interface name, likewise */
	T_EXTIP,      /* "public" or "public/private" IP literals */
	T_KEY32,      /* 64 hex digits: uint8_t[32], off_n is the bool "set" */
	T_HOSTPORT,   /* "host:port", "[v6]:port" or "off" */
	T_PROM_PORT,  /* coturn prometheus-port: the port of stats-listen */
	T_PROM_ADDR,  /* coturn prometheus-address: the host of stats-listen */
	T_NTYPES
};

/* One row of the option table. */
struct config_opt {
	const char *name;
	enum config_opt_type type;
	size_t off;          /* the field in struct config */
	size_t off_n;        /* lists: the count field; T_KEY32: the bool */
	long long min, max;  /* numbers: range; lists: max is the limit */
	const char *def;     /* applied by config_defaults(), shown by --help */
	const char *arg;     /* --help's name for the value */
	const char *help;
	const char *refuse;  /* flags: turning it on is an error saying this */
	/* T_STR: the value must also pass this; false fills why */
	bool (*check)(const char *v, char *why, size_t n);
};

/* The table, in --help order; a row's index is its slot in c->origin. */
extern const struct config_opt config_options[];
extern const size_t config_n_options;

/* The row named name, or NULL. */
const struct config_opt *config_opt_find(const char *name);

/*
 * A coturn option ternd accepts and ignores with a warning. value: whether
 * coturn's command line takes a value after the name (`--user NAME` against
 * `--fingerprint`).
 */
struct config_coturn_opt {
	const char *name;
	bool value;
	const char *note; /* replaces "not supported by ternd yet" */
};

/* The coturn-only option named name, or NULL (config_coturn.c). */
const struct config_coturn_opt *config_coturn_find(const char *name);

/*
 * An option name that is not in the table: a coturn option is a warning
 * on stderr (when warn) and returns 0; anything else is "where: unknown
 * option 'name'" in err and -1.
 */
int config_coturn_unknown(const char *name, const char *where, bool warn, char *err,
			  size_t errlen);

/*
 * config_set(), with warn false to keep quiet about ignored coturn options
 * (c->quiet silences them too).
 */
int config_set_option(struct config *c, const char *name, const char *value, const char *where,
		      bool warn, char *err, size_t errlen);

/* AF_INET or AF_INET6 for an IP literal, else 0. */
int config_ip_family(const char *s);
/* external-ip: "public" or "public/private" of one family. */
bool config_valid_extip(const char *v);
/*
 * allowed-peer-ip, denied-peer-ip: "ip", "ip1-ip2" (one family, ip1 <= ip2)
 * or "ip/len" with no host bits set, as relay/policy.c reads them. False
 * with the problem in why.
 */
bool config_valid_peer_range(const char *v, char *why, size_t n);

/* ---- problems: the first one, or all of them for --check ---------------- */

struct config_sink {
	FILE *out;     /* --check: print every problem here */
	char *err;     /* otherwise keep the first one here */
	size_t errlen;
	bool all;      /* go on after the first problem */
	bool quiet;    /* no warnings either: the file is checked again later */
	int count;
};

/* Read the file at path into c, reporting each problem to s. */
void config_load_file(struct config *c, const char *path, struct config_sink *s);

#endif
