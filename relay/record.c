/*
 * The allocation record's one line of text (see record.h). inet_pton and
 * inet_ntop do the addresses; everything else is decimal or hex, parsed
 * strictly: no signs, no spaces inside a value, nothing left over.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "relay/record.h"

enum { TOKEN_MAX = 2 * RECORD_USER_MAX + 8 };

#define MAGIC "tern1"

size_t record_addr_str(const struct stun_addr *a, bool port, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	bool v6 = a->family == STUN_FAMILY_IPV6;
	int n;

	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof ip))
		return 0;
	if (port)
		n = snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)a->port);
	else
		n = snprintf(out, cap, v6 ? "[%s]" : "%s", ip);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

const struct stun_addr *record_key(const struct relay_record *rec)
{
	return rec->has[0] ? &rec->relayed[0] : &rec->relayed[1];
}

/* ---- format ---------------------------------------------------------- */

struct out {
	char *p;
	size_t n, cap;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->n)
		o->full = true;
	else
		o->n += (size_t)n;
}

static void put_addr(struct out *o, const char *name, const struct stun_addr *a, bool port)
{
	char s[INET6_ADDRSTRLEN + 8];

	if (!record_addr_str(a, port, s, sizeof s))
		o->full = true;
	put(o, " %s=%s", name, s);
}

size_t record_format(const struct relay_record *rec, char *out, size_t cap)
{
	struct out o = { out, 0, cap, cap == 0 };

	put(&o, MAGIC " n=%016llx l=%u", (unsigned long long)rec->tag, (unsigned)rec->listener);
	put_addr(&o, "a", &rec->local, true);
	put_addr(&o, "c", &rec->client, true);
	put(&o, " e=%llu g=%u df=%d", (unsigned long long)rec->expires, (unsigned)rec->granted,
	    rec->dont_fragment);
	for (int f = 0; f < 2; f++)
		if (rec->has[f])
			put_addr(&o, "r", &rec->relayed[f], true);
	put(&o, " u=");
	for (uint16_t i = 0; i < rec->user_len; i++)
		put(&o, "%02x", rec->user[i]);
	for (uint8_t i = 0; i < rec->n_perms; i++) {
		put_addr(&o, "p", &rec->perms[i].ip, false);
		put(&o, "@%llu", (unsigned long long)rec->perms[i].expires);
	}
	for (uint8_t i = 0; i < rec->n_chans; i++) {
		char s[INET6_ADDRSTRLEN + 8];

		if (!record_addr_str(&rec->chans[i].peer, true, s, sizeof s))
			o.full = true;
		put(&o, " ch=%u,%s@%llu", (unsigned)rec->chans[i].number, s,
		    (unsigned long long)rec->chans[i].expires);
	}
	return o.full ? 0 : o.n;
}

/* ---- parse ----------------------------------------------------------- */

static bool parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (x > max)
		return false;
	*v = x;
	return true;
}

static bool parse_hex(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	if (n % 2 || n / 2 > cap)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)s[2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

/* "1.2.3.4:5", "[::1]:5"; with port false "1.2.3.4" or "[::1]". */
static bool parse_addr(const char *s, size_t n, bool port, struct stun_addr *a)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *end;
	size_t iplen;
	uint64_t p = 0;

	memset(a, 0, sizeof *a);
	if (n && s[0] == '[') {
		end = memchr(s, ']', n);
		if (!end)
			return false;
		iplen = (size_t)(end - s - 1);
		s++;
		end++;
		a->family = STUN_FAMILY_IPV6;
	} else {
		end = port ? memchr(s, ':', n) : s + n;
		if (!end)
			return false;
		iplen = (size_t)(end - s);
		a->family = STUN_FAMILY_IPV4;
	}
	if (iplen == 0 || iplen >= sizeof ip)
		return false;
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';
	if (inet_pton(a->family == STUN_FAMILY_IPV6 ? AF_INET6 : AF_INET, ip, a->ip) != 1)
		return false;
	n -= (size_t)(end - (a->family == STUN_FAMILY_IPV6 ? s - 1 : s));
	if (!port)
		return n == 0;
	if (n < 2 || *end != ':' || !parse_u64(end + 1, n - 1, 65535, &p))
		return false;
	a->port = (uint16_t)p;
	return true;
}

/* "<addr>@<ms>": split at the last '@'. */
static bool parse_timed(const char *s, size_t n, bool port, struct stun_addr *a,
			uint64_t *expires)
{
	const char *at = NULL;

	for (size_t i = n; i-- > 0;)
		if (s[i] == '@') {
			at = s + i;
			break;
		}
	return at && parse_addr(s, (size_t)(at - s), port, a) &&
	       parse_u64(at + 1, n - (size_t)(at - s) - 1, UINT64_MAX, expires);
}

static bool parse_chan(const char *s, size_t n, struct relay_record *rec)
{
	const char *comma = memchr(s, ',', n);
	uint64_t num;

	if (!comma || rec->n_chans >= RELAY_MAX_CHANNELS ||
	    !parse_u64(s, (size_t)(comma - s), 0x7FFF, &num) || num < 0x4000)
		return false;
	n -= (size_t)(comma + 1 - s);
	rec->chans[rec->n_chans].number = (uint16_t)num;
	if (!parse_timed(comma + 1, n, true, &rec->chans[rec->n_chans].peer,
			 &rec->chans[rec->n_chans].expires))
		return false;
	rec->n_chans++;
	return true;
}

/* One name=value token; false for anything unknown, repeated or malformed. */
static bool parse_token(const char *s, size_t n, struct relay_record *rec, unsigned *seen)
{
	const char *eq = memchr(s, '=', n);
	size_t klen, vlen;
	const char *v;
	uint64_t x;

	if (!eq)
		return false;
	klen = (size_t)(eq - s);
	v = eq + 1;
	vlen = n - klen - 1;
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(s, k, klen) == 0)
#define ONCE(bit) (!(*seen & (bit)) && (*seen |= (bit)))
	if (KEY("n")) {
		size_t l;
		uint8_t b[8];

		if (!ONCE(1) || vlen != 16 || !parse_hex(v, vlen, b, sizeof b, &l))
			return false;
		rec->tag = 0;
		for (int i = 0; i < 8; i++)
			rec->tag = rec->tag << 8 | b[i];
		return true;
	}
	if (KEY("l")) {
		if (!ONCE(2) || !parse_u64(v, vlen, UINT16_MAX, &x))
			return false;
		rec->listener = (uint16_t)x;
		return true;
	}
	if (KEY("a"))
		return ONCE(4) && parse_addr(v, vlen, true, &rec->local);
	if (KEY("c"))
		return ONCE(8) && parse_addr(v, vlen, true, &rec->client);
	if (KEY("e"))
		return ONCE(16) && parse_u64(v, vlen, UINT64_MAX, &rec->expires);
	if (KEY("g")) {
		if (!ONCE(32) || !parse_u64(v, vlen, UINT32_MAX, &x))
			return false;
		rec->granted = (uint32_t)x;
		return true;
	}
	if (KEY("df")) {
		if (!ONCE(64) || !parse_u64(v, vlen, 1, &x))
			return false;
		rec->dont_fragment = x == 1;
		return true;
	}
	if (KEY("u")) {
		size_t l;

		if (!ONCE(128) || !parse_hex(v, vlen, rec->user, sizeof rec->user, &l))
			return false;
		rec->user_len = (uint16_t)l;
		return true;
	}
	if (KEY("r")) {
		struct stun_addr a;
		int f;

		if (!parse_addr(v, vlen, true, &a))
			return false;
		f = a.family == STUN_FAMILY_IPV6;
		if (rec->has[f])
			return false;
		rec->has[f] = true;
		rec->relayed[f] = a;
		return true;
	}
	if (KEY("p")) {
		if (rec->n_perms >= RELAY_MAX_PERMISSIONS ||
		    !parse_timed(v, vlen, false, &rec->perms[rec->n_perms].ip,
				 &rec->perms[rec->n_perms].expires))
			return false;
		rec->n_perms++;
		return true;
	}
	if (KEY("ch"))
		return parse_chan(v, vlen, rec);
#undef KEY
#undef ONCE
	return false;
}

int record_parse(const char *s, size_t len, struct relay_record *rec)
{
	const char *end = s + len;
	unsigned seen = 0;

	memset(rec, 0, sizeof *rec);
	if (len < sizeof MAGIC || memcmp(s, MAGIC " ", sizeof MAGIC) != 0)
		return -1;
	s += sizeof MAGIC;
	while (s < end) {
		const char *sp = memchr(s, ' ', (size_t)(end - s));
		size_t n = sp ? (size_t)(sp - s) : (size_t)(end - s);

		if (n == 0 || n > TOKEN_MAX || !parse_token(s, n, rec, &seen))
			return -1;
		s += n + (sp ? 1 : 0);
		if (sp && s == end) /* a trailing space */
			return -1;
	}
	/* every fixed field, and at least one relayed address */
	if (seen != 255 || (!rec->has[0] && !rec->has[1]))
		return -1;
	return 0;
}
