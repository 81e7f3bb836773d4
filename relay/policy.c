/*
 * The peer-address policy. Addresses are compared as big-endian byte strings
 * of their family's length (4 or 16 bytes, laid out as in struct stun_addr),
 * so a range check is two memcmp() calls and IPv4 and IPv6 never meet by
 * accident. The built-in ranges are a first-match table of prefixes; the
 * operator's ranges are start/end pairs in fixed arrays, scanned linearly:
 * the check runs once per CreatePermission or ChannelBind, not per packet,
 * and a thousand memcmp() pairs cost less than the HMAC that preceded it.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/policy.h"

enum { V4_LEN = 4, V6_LEN = 16 };

struct range {
	uint8_t family;
	uint8_t lo[V6_LEN], hi[V6_LEN];
};

struct range_list {
	size_t n;
	struct range r[POLICY_MAX_RANGES];
};

struct own {
	uint8_t family;
	uint8_t ip[V6_LEN];
};

struct policy {
	struct range_list allow, deny;
	struct own own[POLICY_MAX_OWN];
	size_t n_own;
	bool loopback;
	uint16_t local_port; /* 0: no service in this process */
};

/* Where an IPv6 form keeps the IPv4 address it carries. */
enum embed {
	EMBED_NONE,
	EMBED_LOW32, /* bytes 12..15: mapped, compatible, translated, NAT64 */
	EMBED_6TO4,  /* bytes 2..5 (RFC 3056 s2) */
	EMBED_TEREDO /* server 4..7, client 12..15 inverted (RFC 4380 s4) */
};

struct special {
	uint8_t family;
	uint8_t plen;
	uint8_t embed;         /* enum embed */
	uint8_t verdict;       /* enum policy_verdict */
	bool loopback;         /* lifted by allow-loopback-peers */
	uint8_t ip[V6_LEN];
};

#define V4(a, b, c, d, len, v) \
	{ STUN_FAMILY_IPV4, len, EMBED_NONE, POLICY_DENY_##v, false, { a, b, c, d } }
#define V6(len, e, v, ...) \
	{ STUN_FAMILY_IPV6, len, EMBED_##e, POLICY_DENY_##v, false, { __VA_ARGS__ } }

/*
 * The defaults, IANA's special-purpose registries (RFC 6890) read for a
 * relay: first match wins, so a narrower prefix comes before the one that
 * holds it. The documentation and benchmarking ranges are refused too: no
 * peer on the Internet has one, and the only networks where they route are
 * those that use them internally (proxies hand out 198.18.0.0/15 as fake
 * IPs), which is what this table protects. A lab that needs them says so
 * with allowed-peer-ip.
 */
static const struct special specials[] = {
	V4(0, 0, 0, 0, 8, UNSPECIFIED),   /* "this network"; reaches the host */
	V4(10, 0, 0, 0, 8, PRIVATE),
	V4(100, 64, 0, 0, 10, CGNAT),     /* also Alibaba's 100.100.100.200 */
	{ STUN_FAMILY_IPV4, 8, EMBED_NONE, POLICY_DENY_LOOPBACK, true, { 127 } },
	V4(169, 254, 0, 0, 16, LINK_LOCAL), /* and 169.254.169.254 metadata */
	V4(172, 16, 0, 0, 12, PRIVATE),
	V4(192, 0, 0, 0, 24, RESERVED),
	V4(192, 0, 2, 0, 24, DOCUMENTATION),
	V4(192, 168, 0, 0, 16, PRIVATE),
	V4(198, 18, 0, 0, 15, RESERVED),  /* benchmarking, RFC 2544 */
	V4(198, 51, 100, 0, 24, DOCUMENTATION),
	V4(203, 0, 113, 0, 24, DOCUMENTATION),
	V4(224, 0, 0, 0, 4, MULTICAST),
	V4(255, 255, 255, 255, 32, BROADCAST),
	V4(240, 0, 0, 0, 4, RESERVED),

	V6(128, NONE, UNSPECIFIED, 0),
	{ STUN_FAMILY_IPV6, 128, EMBED_NONE, POLICY_DENY_LOOPBACK, true,
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
	/* A dual-stack socket delivers ::ffff:127.0.0.1 to 127.0.0.1. */
	{ STUN_FAMILY_IPV6, 104, EMBED_LOW32, POLICY_DENY_MAPPED, true,
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127 } },
	V6(96, LOW32, MAPPED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff),
	V6(96, LOW32, MAPPED, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0), /* SIIT */
	V6(96, LOW32, MAPPED, 0),                       /* compatible, RFC 4291 */
	V6(96, LOW32, MAPPED, 0x00, 0x64, 0xff, 0x9b),  /* NAT64, RFC 6052 */
	V6(48, NONE, MAPPED, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01), /* RFC 8215 */
	V6(64, NONE, RESERVED, 0x01, 0x00),             /* discard, RFC 6666 */
	V6(32, TEREDO, MAPPED, 0x20, 0x01, 0x00, 0x00),
	V6(48, NONE, RESERVED, 0x20, 0x01, 0x00, 0x02), /* benchmarking */
	V6(32, NONE, DOCUMENTATION, 0x20, 0x01, 0x0d, 0xb8),
	V6(16, 6TO4, MAPPED, 0x20, 0x02),
	V6(20, NONE, DOCUMENTATION, 0x3f, 0xff),        /* RFC 9637 */
	V6(7, NONE, ULA, 0xfc),                         /* and fd00:ec2::254 */
	V6(10, NONE, LINK_LOCAL, 0xfe, 0x80),
	V6(10, NONE, SITE_LOCAL, 0xfe, 0xc0),
	V6(8, NONE, MULTICAST, 0xff),
	/* Only 2000::/3 is global unicast (RFC 4291 s2.4); the rest is IETF's. */
	V6(3, NONE, RESERVED, 0x00),
	V6(2, NONE, RESERVED, 0x40),
	V6(1, NONE, RESERVED, 0x80),
};

static const char *const verdict_names[POLICY_VERDICT_COUNT] = {
	[POLICY_ALLOW] = "allow",
	[POLICY_DENY_UNSPECIFIED] = "unspecified",
	[POLICY_DENY_LOOPBACK] = "loopback",
	[POLICY_DENY_PRIVATE] = "private",
	[POLICY_DENY_CGNAT] = "cgnat",
	[POLICY_DENY_LINK_LOCAL] = "link_local",
	[POLICY_DENY_MULTICAST] = "multicast",
	[POLICY_DENY_BROADCAST] = "broadcast",
	[POLICY_DENY_RESERVED] = "reserved",
	[POLICY_DENY_DOCUMENTATION] = "documentation",
	[POLICY_DENY_MAPPED] = "mapped",
	[POLICY_DENY_ULA] = "ula",
	[POLICY_DENY_SITE_LOCAL] = "site_local",
	[POLICY_DENY_OWN] = "own",
	[POLICY_DENY_RANGE] = "denied_range",
	[POLICY_DENY_FAMILY] = "bad_family",
};

const char *policy_verdict_name(enum policy_verdict v)
{
	if ((unsigned)v >= POLICY_VERDICT_COUNT)
		return "unknown";
	return verdict_names[v];
}

static size_t addr_len(uint8_t family)
{
	if (family == STUN_FAMILY_IPV4)
		return V4_LEN;
	if (family == STUN_FAMILY_IPV6)
		return V6_LEN;
	return 0;
}

/* The mask byte for byte i of a prefix of plen bits. */
static uint8_t mask_byte(unsigned plen, size_t i)
{
	if (plen >= 8 * (i + 1))
		return 0xff;
	if (plen <= 8 * i)
		return 0;
	return (uint8_t)(0xff << (8 - (plen - 8 * i)));
}

static bool prefix_match(const uint8_t *ip, const uint8_t *pfx, unsigned plen)
{
	size_t whole = plen / 8;

	if (memcmp(ip, pfx, whole) != 0)
		return false;
	if (plen % 8 == 0)
		return true;
	return ((ip[whole] ^ pfx[whole]) & mask_byte(plen, whole)) == 0;
}

static const struct special *special_find(uint8_t family, const uint8_t *ip)
{
	size_t i;

	for (i = 0; i < sizeof specials / sizeof specials[0]; i++)
		if (specials[i].family == family &&
		    prefix_match(ip, specials[i].ip, specials[i].plen))
			return &specials[i];
	return NULL;
}

static bool list_has(const struct range_list *l, uint8_t family, const uint8_t *ip)
{
	size_t n = addr_len(family), i;

	for (i = 0; i < l->n; i++)
		if (l->r[i].family == family && memcmp(ip, l->r[i].lo, n) >= 0 &&
		    memcmp(ip, l->r[i].hi, n) <= 0)
			return true;
	return false;
}

static int own_index(const struct policy *p, uint8_t family, const uint8_t *ip)
{
	size_t n = addr_len(family), i;

	for (i = 0; i < p->n_own; i++)
		if (p->own[i].family == family && memcmp(ip, p->own[i].ip, n) == 0)
			return (int)i;
	return -1;
}

static bool own_has(const struct policy *p, uint8_t family, const uint8_t *ip)
{
	return own_index(p, family, ip) >= 0;
}

static enum policy_verdict judge(const struct policy *p, uint8_t family,
				 const uint8_t *ip);

/*
 * The IPv4 addresses an allowed IPv6 form carries, each judged as an IPv4
 * peer. judge() recurses at most once: no IPv4 entry embeds anything.
 */
static enum policy_verdict judge_embedded(const struct policy *p,
					  const struct special *s, const uint8_t *ip)
{
	uint8_t v4[2][V4_LEN];
	enum policy_verdict v;
	size_t n = 1, i, k;

	if (s->embed == EMBED_6TO4) {
		memcpy(v4[0], ip + 2, V4_LEN);
	} else if (s->embed == EMBED_TEREDO) {
		for (k = 0; k < V4_LEN; k++)
			v4[0][k] = (uint8_t)~ip[12 + k];
		memcpy(v4[1], ip + 4, V4_LEN);
		n = 2;
	} else {
		memcpy(v4[0], ip + 12, V4_LEN);
	}
	for (i = 0; i < n; i++) {
		v = judge(p, STUN_FAMILY_IPV4, v4[i]);
		if (v != POLICY_ALLOW)
			return v;
	}
	return POLICY_ALLOW;
}

static enum policy_verdict judge(const struct policy *p, uint8_t family,
				 const uint8_t *ip)
{
	const struct special *s = special_find(family, ip);
	bool lifted = s && s->loopback && p->loopback;

	/* Not a destination but "this host" (CVE-2020-26262): nothing lifts it. */
	if (s && s->verdict == POLICY_DENY_UNSPECIFIED)
		return s->verdict;
	if (list_has(&p->allow, family, ip))
		return s && s->embed ? judge_embedded(p, s, ip) : POLICY_ALLOW;
	/*
	 * allow-loopback-peers means "everything here is on this host": a
	 * loopback relay address is then one of the peers the operator meant.
	 */
	if (own_has(p, family, ip) && !lifted)
		return POLICY_DENY_OWN;
	if (s && !lifted)
		return s->verdict;
	if (list_has(&p->deny, family, ip))
		return POLICY_DENY_RANGE;
	if (s && s->embed)
		return judge_embedded(p, s, ip);
	return POLICY_ALLOW;
}

enum policy_verdict policy_check(const struct policy *p, const struct stun_addr *peer)
{
	uint8_t ip[V6_LEN] = { 0 };
	size_t n = addr_len(peer->family);

	if (n == 0)
		return POLICY_DENY_FAMILY;
	memcpy(ip, peer->ip, n);
	return judge(p, peer->family, ip);
}

void policy_set_local_port(struct policy *p, uint16_t port)
{
	p->local_port = port;
}

int policy_local(const struct policy *p, const struct stun_addr *peer)
{
	if (!p->local_port || peer->port != p->local_port || addr_len(peer->family) == 0)
		return -1;
	return own_index(p, peer->family, peer->ip);
}

bool policy_local_addr(const struct policy *p, int i, struct stun_addr *out)
{
	size_t n;

	if (!p->local_port || i < 0 || (size_t)i >= p->n_own)
		return false;
	n = addr_len(p->own[i].family);
	memset(out, 0, sizeof *out);
	out->family = p->own[i].family;
	out->port = p->local_port;
	memcpy(out->ip, p->own[i].ip, n);
	return true;
}

bool policy_port_refused(const struct policy *p, const struct stun_addr *peer)
{
	return p->local_port && peer->port != p->local_port && addr_len(peer->family) &&
	       own_has(p, peer->family, peer->ip) && policy_check(p, peer) != POLICY_ALLOW;
}

enum policy_verdict policy_check_permission(const struct policy *p,
					    const struct stun_addr *peer)
{
	if (p->local_port && addr_len(peer->family) && own_has(p, peer->family, peer->ip))
		return POLICY_ALLOW;
	return policy_check(p, peer);
}

enum policy_verdict policy_check_datagram(const struct policy *p,
					  const struct stun_addr *peer)
{
	return policy_local(p, peer) >= 0 ? POLICY_ALLOW : policy_check(p, peer);
}

/* ---- parsing ranges ------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *what, const char *text)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: '%s'", what, text);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static bool parse_ip(const char *s, uint8_t *family, uint8_t ip[V6_LEN])
{
	memset(ip, 0, V6_LEN);
	if (inet_pton(AF_INET, s, ip) == 1) {
		*family = STUN_FAMILY_IPV4;
		return true;
	}
	if (inet_pton(AF_INET6, s, ip) == 1) {
		*family = STUN_FAMILY_IPV6;
		return true;
	}
	return false;
}

/* Decimal, one to three digits, nothing else: "08" is 8, "+8" and "" fail. */
static bool parse_plen(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (i == 3 || s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_cidr(char *ip, char *len, struct range *r, char *err,
		       size_t errlen)
{
	unsigned plen;
	size_t n, i;
	uint8_t m;

	ip = trim(ip);
	len = trim(len);
	if (!parse_ip(ip, &r->family, r->lo)) {
		set_err(err, errlen, "bad address", ip);
		return false;
	}
	n = addr_len(r->family);
	if (!parse_plen(len, (unsigned)(8 * n), &plen)) {
		set_err(err, errlen, "bad prefix length", len);
		return false;
	}
	memcpy(r->hi, r->lo, sizeof r->hi);
	for (i = 0; i < n; i++) {
		m = mask_byte(plen, i);
		if (r->lo[i] & (uint8_t)~m) {
			/* 10.1.2.3/8 is a typo for something; refuse to guess. */
			set_err(err, errlen, "host bits set after the prefix", ip);
			return false;
		}
		r->hi[i] = (uint8_t)(r->lo[i] | (uint8_t)~m);
	}
	return true;
}

static bool parse_span(char *a, char *b, struct range *r, char *err, size_t errlen)
{
	uint8_t family_b;

	a = trim(a);
	b = trim(b);
	if (!parse_ip(a, &r->family, r->lo)) {
		set_err(err, errlen, "bad address", a);
		return false;
	}
	if (!parse_ip(b, &family_b, r->hi)) {
		set_err(err, errlen, "bad address", b);
		return false;
	}
	if (family_b != r->family) {
		set_err(err, errlen, "range mixes IPv4 and IPv6", b);
		return false;
	}
	if (memcmp(r->lo, r->hi, addr_len(r->family)) > 0) {
		set_err(err, errlen, "range ends before it starts", b);
		return false;
	}
	return true;
}

static bool parse_range(const char *text, struct range *r, char *err, size_t errlen)
{
	char buf[POLICY_MAX_RANGE_TEXT + 1];
	char *dash, *slash, *s;
	size_t len = text ? strnlen(text, sizeof buf) : 0;

	if (len == sizeof buf) {
		set_err(err, errlen, "range too long", "...");
		return false;
	}
	memcpy(buf, text ? text : "", len);
	buf[len] = '\0';
	s = trim(buf);
	if (*s == '\0') {
		set_err(err, errlen, "empty range", s);
		return false;
	}
	dash = strchr(s, '-');
	slash = strchr(s, '/');
	if (slash && dash && dash < slash) {
		set_err(err, errlen, "a range is ip1-ip2 or ip/len, not both", s);
		return false;
	}
	if (slash) {
		*slash = '\0';
		return parse_cidr(s, slash + 1, r, err, errlen);
	}
	if (dash) {
		*dash = '\0';
		return parse_span(s, dash + 1, r, err, errlen);
	}
	if (!parse_ip(s, &r->family, r->lo)) {
		set_err(err, errlen, "bad address", s);
		return false;
	}
	memcpy(r->hi, r->lo, sizeof r->hi);
	return true;
}

static bool list_add(struct range_list *l, const char *what, const char *text,
		     char *err, size_t errlen)
{
	struct range r;

	if (l->n == POLICY_MAX_RANGES) {
		if (err && errlen)
			snprintf(err, errlen, "%s list full (%d ranges)", what,
				 POLICY_MAX_RANGES);
		return false;
	}
	if (!parse_range(text, &r, err, errlen))
		return false;
	l->r[l->n++] = r;
	return true;
}

/* ---- configuration ------------------------------------------------------- */

struct policy *policy_new(void)
{
	return calloc(1, sizeof(struct policy));
}

struct policy *policy_new_like(const struct policy *p)
{
	struct policy *n = policy_new();

	if (n) {
		memcpy(n->own, p->own, p->n_own * sizeof p->own[0]);
		n->n_own = p->n_own;
		n->local_port = p->local_port;
	}
	return n;
}

void policy_free(struct policy *p)
{
	free(p);
}

bool policy_allow_range(struct policy *p, const char *range, char *err, size_t errlen)
{
	return list_add(&p->allow, "allowed-peer-ip", range, err, errlen);
}

bool policy_deny_range(struct policy *p, const char *range, char *err, size_t errlen)
{
	return list_add(&p->deny, "denied-peer-ip", range, err, errlen);
}

void policy_allow_loopback(struct policy *p, bool on)
{
	p->loopback = on;
}

bool policy_add_own(struct policy *p, const struct stun_addr *a)
{
	static const uint8_t zero[V6_LEN];
	size_t n = addr_len(a->family);

	if (n == 0 || memcmp(a->ip, zero, n) == 0)
		return false;
	if (own_has(p, a->family, a->ip))
		return true;
	if (p->n_own == POLICY_MAX_OWN)
		return false;
	p->own[p->n_own].family = a->family;
	memset(p->own[p->n_own].ip, 0, V6_LEN);
	memcpy(p->own[p->n_own].ip, a->ip, n);
	p->n_own++;
	return true;
}
