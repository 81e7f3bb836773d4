/*
 * Reading what Redis Sentinel says (see sentinel_msg.h). Strict on the
 * option, since a typo should fail at --check time; strict on answers,
 * since a host we cannot parse is one we must not connect to.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/sentinel_msg.h"

/* A host as a sentinel reports it: a name, or an IPv4 or IPv6 literal. */
static bool host_ok(const char *s, size_t n)
{
	if (n == 0 || n >= REDIS_URL_FIELD)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

/* A decimal port 1-65535, no sign, no blanks. */
static bool port_ok(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static bool addr_set(struct sentinel_addr *a, const char *host, size_t hl, const char *port,
		     size_t pl)
{
	if (!host_ok(host, hl) || !port_ok(port, pl, &a->port))
		return false;
	memcpy(a->host, host, hl);
	a->host[hl] = '\0';
	return true;
}

bool sentinel_msg_same(const struct sentinel_addr *a, const struct sentinel_addr *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int sentinel_msg_list(const char *s, struct sentinel_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!s || !*s) {
		snprintf(err, errlen, "redis-sentinel: needs host:port[,host:port...]");
		return -1;
	}
	for (const char *p = s;;) {
		const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
		struct sentinel_addr *a = &out->at[out->n];

		while (p < end && blank(*p))
			p++;
		while (end > p && blank(end[-1]))
			end--;
		if (out->n == SENTINEL_MAX) {
			snprintf(err, errlen, "redis-sentinel: more than %d sentinels", SENTINEL_MAX);
			return -1;
		}
		if (p == end) {
			snprintf(err, errlen, "redis-sentinel: an empty entry");
			return -1;
		}
		if (redis_url_hostport(p, (size_t)(end - p), SENTINEL_PORT, a->host, sizeof a->host,
				       &a->port, "redis-sentinel", err, errlen) < 0)
			return -1;
		for (int i = 0; i < out->n; i++) {
			if (sentinel_msg_same(&out->at[i], a)) {
				snprintf(err, errlen, "redis-sentinel: %.*s is listed twice",
					 (int)(end - p), p);
				return -1;
			}
		}
		out->n++;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

bool sentinel_msg_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > SENTINEL_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f)
			return false;
	return true;
}

bool sentinel_msg_master(const redisReply *r, struct sentinel_addr *out)
{
	const redisReply *h, *p;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return false;
	h = r->element[0];
	p = r->element[1];
	return h && p && h->type == REDIS_REPLY_STRING && p->type == REDIS_REPLY_STRING &&
	       addr_set(out, h->str, h->len, p->str, p->len);
}

/* The next space-separated field of p[0..len) from *at: its start and length. */
static bool field(const char *p, size_t len, size_t *at, const char **f, size_t *n)
{
	size_t i = *at;

	if (i >= len)
		return false;
	*f = p + i;
	while (i < len && p[i] != ' ')
		i++;
	*n = (size_t)(p + i - *f);
	*at = i < len ? i + 1 : i;
	return *n > 0;
}

bool sentinel_msg_switch(const char *p, size_t len, const char *name,
			 struct sentinel_addr *out)
{
	const char *f[5];
	size_t n[5], at = 0;

	for (int i = 0; i < 5; i++)
		if (!field(p, len, &at, &f[i], &n[i]))
			return false;
	if (at != len || n[0] != strlen(name) || memcmp(f[0], name, n[0]) != 0)
		return false;
	return addr_set(out, f[3], n[3], f[4], n[4]);
}

bool sentinel_msg_role_master(const redisReply *r)
{
	const redisReply *e;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
		return false;
	e = r->element[0];
	return e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
	       e->len == 6 && memcmp(e->str, "master", 6) == 0;
}
