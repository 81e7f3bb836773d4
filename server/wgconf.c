/*
 * wg(8)'s setconf format (see wgconf.h). One line at a time: a section
 * header, or "Key = Value" for the section it is in.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "server/wgconf.h"

enum section { NONE, INTERFACE, PEER };

struct parse {
	const char *name;
	int line, problems;
	enum section in;
	struct wgconf *c;
	void (*fn)(void *ctx, const char *problem);
	void *ctx;
};

static void problem(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct parse *p, const char *fmt, ...)
{
	char msg[WGCONF_ERR_LEN], where[WGCONF_ERR_LEN + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(where, sizeof where, "%s:%d: %s", p->name, p->line, msg);
	if (p->fn)
		p->fn(p->ctx, where);
	p->problems++;
}

bool wgconf_key(const char *s, uint8_t out[32])
{
	size_t n = 0;

	return strlen(s) == 44 &&
	       sodium_base642bin(out, 32, s, 44, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) ==
		       0 &&
	       n == 32;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

bool wgconf_prefix(char *s, struct wgconf_prefix *out)
{
	char *slash = strchr(s, '/'), *end;
	long plen = -1;

	if (slash) {
		*slash = '\0';
		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || errno)
			return false;
	}
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, s, out->ip) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, s, out->ip) == 1)
		out->family = 6;
	else
		return false;
	if (plen < 0)
		plen = out->family == 4 ? 32 : 128;
	if (plen > (out->family == 4 ? 32 : 128))
		return false;
	out->plen = (uint8_t)plen;
	return true;
}

/* "1.2.3.4:51820" or "[2001:db8::1]:51820". */
static bool endpoint(char *s, struct stun_addr *out)
{
	char *colon = strrchr(s, ':'), *end, *host = s;
	unsigned long port;
	uint8_t ip[16];

	if (!colon)
		return false;
	*colon = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port == 0 || port > 65535)
		return false;
	memset(out, 0, sizeof *out);
	out->port = (uint16_t)port;
	if (*host == '[') {
		size_t n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			return false;
		host[n - 1] = '\0';
		host++;
		if (inet_pton(AF_INET6, host, ip) != 1)
			return false;
		out->family = STUN_FAMILY_IPV6;
		memcpy(out->ip, ip, 16);
		return true;
	}
	if (inet_pton(AF_INET, host, ip) != 1)
		return false;
	out->family = STUN_FAMILY_IPV4;
	memcpy(out->ip, ip, 4);
	return true;
}

static struct wgconf_peer *peer(struct parse *p)
{
	return &p->c->peers[p->c->n_peers - 1];
}

static void allowed_ips(struct parse *p, char *v)
{
	struct wgconf_peer *pe = peer(p);
	char *save = NULL;

	for (char *item = strtok_r(v, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct wgconf_prefix px;
		char *t = trim(item), copy[64];

		if (!*t)
			continue;
		snprintf(copy, sizeof copy, "%s", t); /* wgconf_prefix() cuts it at the slash */
		if (strlen(t) >= sizeof copy || !wgconf_prefix(copy, &px)) {
			problem(p, "AllowedIPs: '%s' is not an address or prefix", t);
			continue;
		}
		if (pe->n_allowed >= WGCONF_MAX_ALLOWED) {
			problem(p, "AllowedIPs: more than %d for one peer", WGCONF_MAX_ALLOWED);
			return;
		}
		if (pe->n_allowed == pe->cap_allowed) {
			int cap = pe->cap_allowed ? 2 * pe->cap_allowed : 4;
			struct wgconf_prefix *a = realloc(pe->allowed, (size_t)cap * sizeof *a);

			if (!a) {
				problem(p, "out of memory");
				return;
			}
			pe->allowed = a;
			pe->cap_allowed = cap;
		}
		pe->allowed[pe->n_allowed++] = px;
	}
}

static void interface_key(struct parse *p, const char *k, char *v)
{
	char *end;
	long n;

	if (strcasecmp(k, "PrivateKey") == 0) {
		if (!wgconf_key(v, p->c->private_key))
			problem(p, "PrivateKey: not a base64 key of 32 bytes");
		else
			p->c->has_private_key = true;
	} else if (strcasecmp(k, "ListenPort") == 0) {
		n = strtol(v, &end, 10);
		if (end == v || *end || n < 1 || n > 65535)
			problem(p, "ListenPort: '%s' is not a port", v);
		else
			p->c->listen_port = (int)n;
	} else if (strcasecmp(k, "FwMark") != 0) {
		problem(p, "[Interface]: unknown key '%s'%s", k,
			strcasecmp(k, "Address") == 0 || strcasecmp(k, "MTU") == 0 ||
					strcasecmp(k, "DNS") == 0
				? " (wg-quick's, not setconf's: use wg-address and wg-mtu)"
				: "");
	}
}

static void peer_key(struct parse *p, const char *k, char *v)
{
	struct wgconf_peer *pe = peer(p);
	char *end;
	long n;

	if (strcasecmp(k, "PublicKey") == 0) {
		if (!wgconf_key(v, pe->public_key))
			problem(p, "PublicKey: not a base64 key of 32 bytes");
	} else if (strcasecmp(k, "PresharedKey") == 0) {
		if (!wgconf_key(v, pe->preshared_key))
			problem(p, "PresharedKey: not a base64 key of 32 bytes");
		else
			pe->has_preshared_key = true;
	} else if (strcasecmp(k, "AllowedIPs") == 0) {
		allowed_ips(p, v);
	} else if (strcasecmp(k, "Endpoint") == 0) {
		if (!endpoint(v, &pe->endpoint))
			problem(p, "Endpoint: not IP:PORT or [IPv6]:PORT (names are not looked up)");
		else
			pe->has_endpoint = true;
	} else if (strcasecmp(k, "PersistentKeepalive") == 0) {
		n = strcasecmp(v, "off") == 0 ? 0 : strtol(v, &end, 10);
		if (strcasecmp(v, "off") != 0 && (end == v || *end || n < 0 || n > 65535))
			problem(p, "PersistentKeepalive: '%s' is not off or 0-65535 seconds", v);
		else
			pe->keepalive = (uint16_t)n;
	} else {
		problem(p, "[Peer]: unknown key '%s'", k);
	}
}

static void new_peer(struct parse *p)
{
	struct wgconf *c = p->c;

	if (c->n_peers >= WGCONF_MAX_PEERS) {
		problem(p, "more than %d peers", WGCONF_MAX_PEERS);
		p->in = NONE;
		return;
	}
	if (c->n_peers == c->cap_peers) {
		int cap = c->cap_peers ? 2 * c->cap_peers : 8;
		struct wgconf_peer *a = realloc(c->peers, (size_t)cap * sizeof *a);

		if (!a) {
			problem(p, "out of memory");
			p->in = NONE;
			return;
		}
		c->peers = a;
		c->cap_peers = cap;
	}
	memset(&c->peers[c->n_peers], 0, sizeof c->peers[0]);
	c->peers[c->n_peers++].line = p->line;
	p->in = PEER;
}

static void one_line(struct parse *p, char *line)
{
	char *hash = strchr(line, '#'), *eq, *k, *v;

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (!*line)
		return;
	if (*line == '[') {
		if (strcasecmp(line, "[Interface]") == 0)
			p->in = INTERFACE;
		else if (strcasecmp(line, "[Peer]") == 0)
			new_peer(p);
		else
			problem(p, "unknown section %s", line);
		return;
	}
	eq = strchr(line, '=');
	if (!eq) {
		problem(p, "not Key = Value: '%s'", line);
		return;
	}
	*eq = '\0';
	k = trim(line);
	v = trim(eq + 1);
	if (p->in == INTERFACE)
		interface_key(p, k, v);
	else if (p->in == PEER)
		peer_key(p, k, v);
	else
		problem(p, "'%s' outside [Interface] or [Peer]", k);
}

/* After the last line: every peer has a key, and no key twice. */
static void check_peers(struct parse *p)
{
	static const uint8_t zero[32];
	struct wgconf *c = p->c;

	for (int i = 0; i < c->n_peers; i++) {
		p->line = c->peers[i].line;
		if (memcmp(c->peers[i].public_key, zero, 32) == 0) {
			problem(p, "[Peer] without a PublicKey");
			continue;
		}
		for (int j = 0; j < i && c->n_peers <= 4096; j++)
			if (memcmp(c->peers[j].public_key, c->peers[i].public_key, 32) == 0)
				problem(p, "this PublicKey is also the peer's at line %d",
					c->peers[j].line);
	}
	p->line = 0;
	if (!c->has_private_key)
		problem(p, "no [Interface] PrivateKey");
}

int wgconf_parse(const char *text, size_t len, const char *name, struct wgconf *out,
		 void (*fn)(void *ctx, const char *problem), void *ctx)
{
	struct parse p = { .name = name, .c = out, .fn = fn, .ctx = ctx };
	size_t at = 0;

	memset(out, 0, sizeof *out);
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char *line = malloc(n + 1);

		p.line++;
		if (!line) {
			problem(&p, "out of memory");
			break;
		}
		memcpy(line, text + at, n);
		line[n] = '\0';
		if (memchr(line, '\0', n))
			problem(&p, "a NUL byte");
		else
			one_line(&p, line);
		sodium_memzero(line, n);
		free(line);
		at += n + 1;
	}
	check_peers(&p);
	return p.problems;
}

int wgconf_load(const char *path, struct wgconf *out,
		void (*fn)(void *ctx, const char *problem), void *ctx)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, msg[WGCONF_ERR_LEN];
	size_t len = 0, cap = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (!f) {
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		if (fn)
			fn(ctx, msg);
		return 1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *t = cap >= WGCONF_MAX_FILE ? NULL : realloc(text, cap ? 2 * cap : 4096);

			if (!t) {
				snprintf(msg, sizeof msg, "%s: too big or out of memory", path);
				if (fn)
					fn(ctx, msg);
				fclose(f);
				free(text);
				return 1;
			}
			text = t;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	rc = wgconf_parse(text, len, path, out, fn, ctx);
	sodium_memzero(text, cap);
	free(text);
	return rc;
}

void wgconf_free(struct wgconf *c)
{
	for (int i = 0; i < c->n_peers; i++)
		free(c->peers[i].allowed);
	if (c->peers)
		sodium_memzero(c->peers, (size_t)c->cap_peers * sizeof c->peers[0]);
	free(c->peers);
	sodium_memzero(c, sizeof *c);
}
