/*
 * ternd's command line: -c FILE, -n, --option=value, --option value, bare
 * --flags and coturn's one-letter options, read in two passes (first -c, -n
 * and the meta options --check, --help and --version, then every ordinary
 * option over what the file set), and the --help text, printed from the
 * option table in config.c so it cannot drift from what is accepted.
 */
#ifdef HAVE_CONFIG_H
#include "autoconf.h"
#define TERN_VERSION PACKAGE_VERSION
#else
#define TERN_VERSION "0.1.0-dev"
#endif

#include "server/config.h"
#include "server/config_opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static bool is_flag(const struct config_opt *o)
{
	return o->type == T_BOOL || o->type == T_NOTBOOL || o->type == T_LEVEL;
}

/*
 * Whether a value may come as the next argument. coturn's lifetimes
 * (T_SECS) take an optional value, which must then be glued with '='.
 */
static bool takes_next(const struct config_opt *o)
{
	return !is_flag(o) && o->type != T_SECS;
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
	const struct config_opt *o = config_opt_find(name);
	const struct config_coturn_opt *k = config_coturn_find(name);

	if (!o && !k && !is_meta(name))
		return -1;
	*wants = o ? takes_next(o) : k ? k->value : false;
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
		struct config_sink quiet = { .all = true, .quiet = true };

		free(c->path);
		if (!(c->path = strdup(m.path))) {
			snprintf(err, errlen, "%s: out of memory", m.path);
			return -1;
		}
		config_load_file(c, m.path, &quiet);
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
	for (i = 0; i < config_n_options; i++) {
		const struct config_opt *o = &config_options[i];

		if (is_flag(o))
			printf("  --%s\n", o->name);
		else if (!takes_next(o))
			printf("  --%s[=%s]\n", o->name, o->arg);
		else
			printf("  --%s=%s\n", o->name, o->arg ? o->arg : "VALUE");
		printf("        %s%s%s%s\n", o->help, o->def ? " (default: " : "",
		       o->def ? o->def : "", o->def ? ")" : "");
	}
	printf("\nSee ternd(8) and ternd.conf(5).\n");
}
