/*
 * Reading ternd's config files and checking the configuration as a whole.
 * The dialect is coturn's (`key=value`, `key = value`, `key value`, bare
 * flags, `#` comments, quotes), so an operator's turnserver.conf keeps
 * working; each line goes through config_set_option() in config.c. After
 * everything is read, config_validate() runs the checks that span options
 * (port ranges, TLS files, addresses, credentials, the process user), and
 * config_check_file() lists every problem for --check, then the warnings.
 * userdb files of user lines are read here too. Problems come back as
 * "file:line: what is wrong"; nothing here exits.
 */
#include "server/config.h"
#include "server/config_opt.h"
#include "server/wgconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- problems: the first one, or all of them for --check ---------------- */

static void problem(struct config_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct config_sink *s, const char *fmt, ...)
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

static void apply_line(struct config *c, char *line, const char *where, struct config_sink *s)
{
	char why[CONFIG_ERR_LEN], err[CONFIG_ERR_LEN];
	char *name, *value;
	int rc = split_line(line, &name, &value, why, sizeof(why));

	if (rc < 0)
		problem(s, "%s: %s", where, why);
	else if (rc > 0 &&
		 config_set_option(c, name, value, where, !s->quiet, err, sizeof(err)) < 0)
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

void config_load_file(struct config *c, const char *path, struct config_sink *s)
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
	explicit_bzero(line, sizeof(line)); /* it may have held a password */
	if (ferror(f))
		problem(s, "%s: read error: %s", path, strerror(errno));
	fclose(f);
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	struct config_sink s = { .err = err, .errlen = errlen };

	config_load_file(c, path, &s);
	return s.count ? -1 : 0;
}

/* ---- userdb: a file of user lines ----------------------------------------- */

/* Open a regular file to read, or NULL with why. */
static FILE *open_regular(const char *path, char *why, size_t n)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO named as a certificate must not hang --check */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	FILE *f;

	if (fd < 0) {
		snprintf(why, n, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(why, n, "'%s' is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		snprintf(why, n, "cannot read '%s': %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

/* coturn's userdb is an SQLite database, whose files start with this. */
static bool is_sqlite(FILE *f)
{
	static const char magic[16] = "SQLite format 3";
	char head[sizeof(magic)];
	bool yes = fread(head, 1, sizeof(head), f) == sizeof(head) &&
		   memcmp(head, magic, sizeof(magic)) == 0;

	rewind(f);
	return yes;
}

typedef int (*user_fn)(void *ctx, const struct config_user *u);

/* One line: 0 to go on, -1 with err, or what fn returned. */
static int userdb_line(char *line, const char *where, unsigned int *users, user_fn fn,
		       void *ctx, char *err, size_t errlen)
{
	char why[CONFIG_ERR_LEN];
	struct config_user u;
	char *s = skip_blanks(line);
	int rc;

	rstrip(s);
	if (*s == '\0' || *s == '#')
		return 0;
	if (++*users > CONFIG_MAX_USERDB_USERS) {
		snprintf(err, errlen, "%s: more than %d users", where, CONFIG_MAX_USERDB_USERS);
		return -1;
	}
	if (!config_parse_user(s, &u, why, sizeof(why))) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	rc = fn ? fn(ctx, &u) : 0;
	explicit_bzero(&u, sizeof(u));
	return rc;
}

int config_userdb_read(const char *path, user_fn fn, void *ctx, char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE], where[PATH_MAX + 32];
	unsigned int lineno = 0, users = 0;
	FILE *f = open_regular(path, err, errlen);
	int rc = 0;

	if (!f)
		return -1;
	if (is_sqlite(f)) {
		snprintf(err, errlen,
			 "'%s' is not a text file of user lines (coturn's SQLite userdb)", path);
		fclose(f);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		snprintf(where, sizeof(where), "%s:%u", path, ++lineno);
		if (!whole_line(line, f)) {
			snprintf(err, errlen, "%s: line is longer than %d bytes", where,
				 CONFIG_MAX_LINE - 2);
			rc = -1;
		} else {
			if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
				memmove(line, line + 3, strlen(line + 3) + 1);
			rc = userdb_line(line, where, &users, fn, ctx, err, errlen);
		}
	}
	explicit_bzero(line, sizeof(line));
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(f);
	return rc;
}

/* ---- cross-option checks ------------------------------------------------- */

/* The prefix for a message about option name: where it was set. */
static const char *from(const struct config *c, const char *name)
{
	const char *o = config_origin(c, name);

	return o ? o : "ternd";
}

static void check_readable(const struct config *c, const char *name, const char *path,
			   struct config_sink *s)
{
	char why[CONFIG_ERR_LEN];
	FILE *f = open_regular(path, why, sizeof(why));

	if (!f)
		problem(s, "%s: %s: %s", from(c, name), name, why);
	else
		fclose(f);
}

static bool tls_on(const struct config *c)
{
	return !c->no_tls && c->cert && c->pkey;
}

static bool dtls_on(const struct config *c)
{
	return !c->no_dtls && c->cert && c->pkey;
}

static void check_tls(const struct config *c, struct config_sink *s)
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

static void check_ports(const struct config *c, struct config_sink *s)
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
	if (c->no_udp && c->no_tcp && !tls_on(c) && !dtls_on(c) && !c->wg_config)
		problem(s, "%s: no-udp and no-tcp are set and TLS and DTLS are off: nothing to listen on",
			from(c, "no-tcp"));
}

static void check_list(const struct config *c, const char *name, char *const *list, int n,
		       struct config_sink *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!config_ip_family(list[i]))
			problem(s, "%s: %s: '%s' is not an IPv4 or IPv6 address", from(c, name),
				name, list[i]);
}

static void check_ranges(const struct config *c, const char *name, char *const *list, int n,
			 struct config_sink *s)
{
	char why[CONFIG_ERR_LEN];
	int i;

	for (i = 0; i < n; i++)
		if (!config_valid_peer_range(list[i], why, sizeof(why)))
			problem(s, "%s: %s: %s", from(c, name), name, why);
}

static void check_addrs(const struct config *c, struct config_sink *s)
{
	char host[256];
	uint16_t port;

	check_list(c, "listening-ip", c->listening_ip, c->n_listening_ip, s);
	check_list(c, "relay-ip", c->relay_ip, c->n_relay_ip, s);
	check_ranges(c, "allowed-peer-ip", c->allowed_peer_ip, c->n_allowed_peer_ip, s);
	check_ranges(c, "denied-peer-ip", c->denied_peer_ip, c->n_denied_peer_ip, s);
	if (c->external_ip && !config_valid_extip(c->external_ip))
		problem(s, "%s: external-ip: '%s' is not an address or a public/private pair",
			from(c, "external-ip"), c->external_ip);
	if (!config_stats_off(c->stats_listen) &&
	    !config_split_hostport(c->stats_listen, host, sizeof(host), &port))
		problem(s, "%s: stats-listen: '%s' is not host:port, [ipv6]:port or off",
			from(c, "stats-listen"), c->stats_listen);
	else if (!config_stats_off(c->stats_listen) && !config_loopback(host) &&
		 !(c->stats_token && *c->stats_token))
		problem(s, "%s: stats-listen: %s is not a loopback address, and the endpoint "
			   "serves /allocations and admin actions: set stats-token",
			from(c, "stats-listen"), c->stats_listen);
}

/*
 * userdb must be a readable text file of valid user lines: a problem with
 * the file names the userdb line, a bad user names the file's own line.
 */
static void check_userdb(const struct config *c, struct config_sink *s)
{
	char why[CONFIG_ERR_LEN];
	FILE *f;
	bool sqlite;

	if (!c->userdb)
		return;
	if (!(f = open_regular(c->userdb, why, sizeof(why)))) {
		problem(s, "%s: userdb: %s", from(c, "userdb"), why);
		return;
	}
	sqlite = is_sqlite(f);
	fclose(f);
	if (sqlite)
		problem(s,
			"%s: userdb: '%s' is not a text file of user lines (coturn's SQLite userdb)",
			from(c, "userdb"), c->userdb);
	else if (config_userdb_read(c->userdb, NULL, NULL, why, sizeof(why)) < 0)
		problem(s, "%s", why);
}

static void check_auth(const struct config *c, struct config_sink *s)
{
	/* with Redis, the secrets can be there (turn/realm/<realm>/secret) */
	if (c->use_auth_secret && c->n_static_auth_secret == 0 && !(c->redis_url && *c->redis_url))
		problem(s, "%s: use-auth-secret: no static-auth-secret given (nor redis-url)",
			from(c, "use-auth-secret"));
	check_userdb(c, s);
}

/* redis-sentinel names where the master is; redis-url stays the switch to
 * the Redis backend and carries the master's password and db. */
static void check_sentinel(const struct config *c, struct config_sink *s)
{
	if (!c->redis_sentinel || !*c->redis_sentinel)
		return;
	if (!c->redis_url || !*c->redis_url)
		problem(s, "%s: redis-sentinel needs redis-url too (its password and db are the "
			   "master's; write the master's name as its host)", from(c, "redis-sentinel"));
	if (!c->redis_master_name || !*c->redis_master_name)
		problem(s, "%s: redis-sentinel needs redis-master-name (the name the sentinels "
			   "monitor the master under)", from(c, "redis-sentinel"));
}

static void check_process(const struct config *c, struct config_sink *s)
{
	if (c->proc_user && !getpwnam(c->proc_user))
		problem(s, "%s: proc-user: no such user '%s'", from(c, "proc-user"), c->proc_user);
	if (c->proc_group && !getgrnam(c->proc_group))
		problem(s, "%s: proc-group: no such group '%s'", from(c, "proc-group"),
			c->proc_group);
}

static void wg_problem(void *ctx, const char *msg)
{
	problem(ctx, "%s", msg);
}

/* The WireGuard file is read whole, so --check reports its own lines. */
static void check_wg(const struct config *c, struct config_sink *s)
{
	struct wgconf wc;

	if (!c->wg_config) {
		if (c->wg_tun || c->n_wg_address)
			problem(s, "%s: %s needs wg-config (the keys and peers)",
				from(c, c->wg_tun ? "wg-tun" : "wg-address"),
				c->wg_tun ? "wg-tun" : "wg-address");
		return;
	}
	if (c->n_wg_address && !c->wg_tun)
		problem(s, "%s: wg-address is for the wg-tun device, and wg-tun is not set",
			from(c, "wg-address"));
	wgconf_load(c->wg_config, &wc, wg_problem, s);
	wgconf_free(&wc);
}

static void validate(const struct config *c, struct config_sink *s)
{
	check_wg(c, s);
	check_ports(c, s);
	check_addrs(c, s);
	check_tls(c, s);
	check_auth(c, s);
	check_sentinel(c, s);
	check_process(c, s);
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	struct config_sink s = { .err = err, .errlen = errlen };

	validate(c, &s);
	return s.count ? -1 : 0;
}

int config_warnings(const struct config *c,
		    void (*warn)(void *ctx, const char *where, const char *msg), void *ctx)
{
	const char *colon;
	int i, n = 0;

	if (c->n_static_auth_secret && !c->use_auth_secret) {
		warn(ctx, from(c, "use-auth-secret"),
		     "static-auth-secret is ignored: use-auth-secret is off");
		n++;
	}
	if (c->redis_required && !(c->redis_url && *c->redis_url)) {
		warn(ctx, from(c, "redis-required"), "redis-required is ignored: no redis-url");
		n++;
	}
	if ((c->redis_master_name || c->redis_sentinel_password) && !c->redis_sentinel) {
		warn(ctx, from(c, c->redis_master_name ? "redis-master-name" : "redis-sentinel-password"),
		     "redis-master-name and redis-sentinel-password are ignored: no redis-sentinel");
		n++;
	}
	for (i = 0; i < c->n_user && !config_origin(c, "realm"); i++) {
		colon = strchr(c->user[i], ':');
		if (colon && strncmp(colon + 1, "0x", 2) == 0) {
			warn(ctx, from(c, "user"),
			     "user: a 0x key is made with the realm, and realm is not set "
			     "(the default is tern.invalid)");
			return n + 1;
		}
	}
	return n;
}

static void print_warning(void *ctx, const char *where, const char *msg)
{
	fprintf((FILE *)ctx, "%s: warning: %s\n", where, msg);
}

int config_check_file(const char *path)
{
	struct config_sink s = { .out = stderr, .all = true };
	struct config c;

	config_defaults(&c);
	if (path)
		config_load_file(&c, path, &s);
	validate(&c, &s);
	config_warnings(&c, print_warning, stderr);
	config_free(&c);
	return s.count;
}
