/*
 * Parsing redis-url. Strict: anything not in the grammar of redis_url.h is
 * an error naming the part that is wrong, so a typo fails at --check time
 * instead of as a node that silently never joins its fleet.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "store/redis_url.h"

static int fail(char *err, size_t errlen, const char *what, const char *why)
{
	snprintf(err, errlen, "%s: %s", what, why);
	return -1;
}

/* Percent-decode s[0..n) into out (a C string); false if malformed. */
static bool decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = OPENSSL_hexchar2int((unsigned char)s[i + 1]);
			lo = OPENSSL_hexchar2int((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static bool parse_uint(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

int redis_url_hostport(const char *s, size_t n, uint16_t def, char *host, size_t cap,
		       uint16_t *port, const char *what, char *err, size_t errlen)
{
	const char *end = s + n, *colon;
	long p;

	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1 || (size_t)(close - s - 1) >= cap)
			return fail(err, errlen, what, "bad [IPv6] host");
		for (const char *q = s + 1; q < close; q++)
			if (!(isxdigit((unsigned char)*q) || *q == ':' || *q == '.'))
				return fail(err, errlen, what, "bad [IPv6] host");
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1 < end ? close + 1 : NULL;
		if (colon && *colon != ':')
			return fail(err, errlen, what, "junk after the [IPv6] host");
	} else {
		colon = memchr(s, ':', n);
		size_t hl = colon ? (size_t)(colon - s) : n;

		if (hl == 0 || hl >= cap)
			return fail(err, errlen, what, "no host");
		for (size_t i = 0; i < hl; i++)
			if (!host_char(s[i]))
				return fail(err, errlen, what, "bad character in the host");
		memcpy(host, s, hl);
		host[hl] = '\0';
	}
	*port = def;
	if (colon) {
		if (!parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, &p) || p == 0)
			return fail(err, errlen, what, "the port is not 1-65535");
		*port = (uint16_t)p;
	}
	return 0;
}

int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen)
{
	static const char scheme[] = "redis://";
	const char *rest, *at, *slash, *end;
	long db = 0;

	memset(u, 0, sizeof *u);
	if (!s)
		return fail(err, errlen, "redis-url", "needs a value");
	if (strncmp(s, "rediss://", 9) == 0)
		return fail(err, errlen, "redis-url", "rediss:// (TLS) needs a hiredis with TLS "
					 "support, which this build lacks; reach a remote Redis "
					 "through a local TLS tunnel (see ternd.conf(5))");
	if (strncmp(s, scheme, sizeof scheme - 1) != 0)
		return fail(err, errlen, "redis-url", "must start with redis://");
	rest = s + sizeof scheme - 1;
	end = rest + strlen(rest);
	slash = memchr(rest, '/', (size_t)(end - rest));
	at = memchr(rest, '@', (size_t)((slash ? slash : end) - rest));
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));

		if (!colon)
			return fail(err, errlen, "redis-url", "credentials must be [user]:password@");
		if (!decode(rest, (size_t)(colon - rest), u->user, sizeof u->user) ||
		    !decode(colon + 1, (size_t)(at - colon - 1), u->password, sizeof u->password))
			return fail(err, errlen, "redis-url", "bad percent-encoding or length in "
						 "the user or password");
		rest = at + 1;
	}
	if (redis_url_hostport(rest, (size_t)((slash ? slash : end) - rest), 6379, u->host,
			       sizeof u->host, &u->port, "redis-url", err, errlen) < 0)
		return -1;
	if (slash && slash + 1 < end && !parse_uint(slash + 1, (size_t)(end - slash - 1), 9999, &db))
		return fail(err, errlen, "redis-url", "the database is not a number 0-9999");
	u->db = (int)db;
	return 0;
}
