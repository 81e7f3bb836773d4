/*
 * Per-source token buckets in a fixed, set-associative table. A source (an
 * IPv4 address or an IPv6 /64) hashes with SipHash-2-4 under a per-instance
 * random key to one bucket of RATELIMIT_WAYS entries, so a stranger cannot
 * aim sources at one bucket. Tokens are counted in thousandths, so any rate
 * up to RATELIMIT_MAX_RATE refills exactly with integer arithmetic on
 * millisecond timestamps.
 *
 * There is no garbage collector and no timer: an entry whose bucket has
 * refilled to the brim is indistinguishable from no entry at all, so it is
 * simply reused when a new source needs the slot. Nothing is ever evicted
 * early.
 *
 * When every entry of a bucket belongs to a source still short of tokens, a
 * new source is refused (fail closed), as WireGuard's limiter refuses once
 * its table is full. Evicting instead would hand every fresh spoofed source
 * a fresh burst, so a flood from many addresses would do unbounded work;
 * failing closed caps the work at roughly entries x rate per second. The
 * price is that while a flood from enough distinct sources keeps the table
 * full, a newcomer hashing to a full bucket waits; the `full` counter shows
 * when that happens and the table should grow.
 */
#include <stdlib.h>
#include <string.h>

#include "relay/ratelimit.h"

enum {
	MILLI = 1000, /* thousandths of a token per token: the cost of one */
	FAMILY_NONE = 0,
};

struct entry {
	uint64_t prefix;  /* IPv4 address, or the top 64 bits of an IPv6 one */
	uint64_t last_ms; /* when credit was last brought up to date */
	uint32_t credit;  /* thousandths of a token */
	uint8_t family;   /* STUN_FAMILY_*, or FAMILY_NONE for a free entry */
};

struct ratelimit {
	struct entry *e;
	uint32_t mask; /* buckets - 1 */
	uint32_t rate; /* tokens per second: thousandths per millisecond */
	uint32_t max;  /* burst, in thousandths */
	uint64_t k0, k1;
	struct ratelimit_stats st;
};

static uint64_t get64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

#define SIPROUND                                   \
	do {                                       \
		v0 += v1;                          \
		v1 = rotl(v1, 13) ^ v0;            \
		v0 = rotl(v0, 32);                 \
		v2 += v3;                          \
		v3 = rotl(v3, 16) ^ v2;            \
		v0 += v3;                          \
		v3 = rotl(v3, 21) ^ v0;            \
		v2 += v1;                          \
		v1 = rotl(v1, 17) ^ v2;            \
		v2 = rotl(v2, 32);                 \
	} while (0)

/* SipHash-2-4 of the 9-byte message prefix (little-endian) | family. */
static uint64_t siphash(const struct ratelimit *rl, uint64_t prefix, uint8_t family)
{
	uint64_t v0 = rl->k0 ^ 0x736f6d6570736575ULL, v1 = rl->k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = rl->k0 ^ 0x6c7967656e657261ULL, v3 = rl->k1 ^ 0x7465646279746573ULL;
	uint64_t last = (uint64_t)9 << 56 | family;

	v3 ^= prefix;
	SIPROUND;
	SIPROUND;
	v0 ^= prefix;
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct ratelimit *ratelimit_new(uint32_t rate_per_s, uint32_t burst, uint32_t table_size,
				const uint8_t key[RATELIMIT_KEY_LEN])
{
	struct ratelimit *rl;
	uint32_t entries = RATELIMIT_WAYS;

	if (!rate_per_s || rate_per_s > RATELIMIT_MAX_RATE || !burst ||
	    burst > RATELIMIT_MAX_BURST || table_size < RATELIMIT_WAYS || !key)
		return NULL;
	if (table_size > RATELIMIT_MAX_ENTRIES)
		table_size = RATELIMIT_MAX_ENTRIES;
	while (entries * 2 <= table_size)
		entries *= 2;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->e = calloc(entries, sizeof(*rl->e));
	if (!rl->e) {
		free(rl);
		return NULL;
	}
	rl->mask = entries / RATELIMIT_WAYS - 1;
	rl->rate = rate_per_s;
	rl->max = burst * MILLI;
	rl->k0 = get64le(key);
	rl->k1 = get64le(key + 8);
	rl->st.entries = entries;
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->e);
	free(rl);
}

bool ratelimit_source(const struct stun_addr *a, uint8_t *family, uint64_t *prefix)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *p = a->ip;

	*family = a->family;
	if (a->family == STUN_FAMILY_IPV6 && memcmp(a->ip, mapped, sizeof(mapped)) == 0) {
		*family = STUN_FAMILY_IPV4;
		p += 12;
	}
	if (*family == STUN_FAMILY_IPV4) {
		*prefix = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
		return true;
	}
	if (*family != STUN_FAMILY_IPV6)
		return false;
	*prefix = 0;
	for (int i = 0; i < 8; i++)
		*prefix = *prefix << 8 | p[i];
	return true;
}

/* e's credit as of now, capped at the burst; time going back adds nothing. */
static uint32_t refill(const struct ratelimit *rl, const struct entry *e, uint64_t now)
{
	uint64_t elapsed = now > e->last_ms ? now - e->last_ms : 0;

	/* past this, the bucket is full whatever the credit was */
	if (elapsed >= rl->max / rl->rate + 1)
		return rl->max;
	elapsed = e->credit + elapsed * rl->rate;
	return elapsed < rl->max ? (uint32_t)elapsed : rl->max;
}

static bool spend(struct ratelimit *rl, struct entry *e, uint64_t now)
{
	e->credit = refill(rl, e, now);
	e->last_ms = now;
	if (e->credit < MILLI) {
		rl->st.limited++;
		return false;
	}
	e->credit -= MILLI;
	rl->st.allowed++;
	return true;
}

/* The bucket of RATELIMIT_WAYS entries where src's entry is or would be. */
static struct entry *bucket(const struct ratelimit *rl, uint8_t family, uint64_t prefix)
{
	return &rl->e[(siphash(rl, prefix, family) & rl->mask) * RATELIMIT_WAYS];
}

bool ratelimit_allow(struct ratelimit *rl, const struct stun_addr *src, uint64_t now_ms)
{
	struct entry *b, *slot = NULL;
	uint64_t prefix;
	uint8_t family;

	if (!ratelimit_source(src, &family, &prefix)) {
		rl->st.limited++;
		return false;
	}
	b = bucket(rl, family, prefix);
	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		if (b[i].family == family && b[i].prefix == prefix)
			return spend(rl, &b[i], now_ms);
		if (!slot && (b[i].family == FAMILY_NONE || refill(rl, &b[i], now_ms) == rl->max))
			slot = &b[i];
	}
	if (!slot) {
		rl->st.full++;
		return false;
	}
	*slot = (struct entry){ .prefix = prefix, .family = family, .last_ms = now_ms,
				.credit = rl->max };
	return spend(rl, slot, now_ms);
}

void ratelimit_refund(struct ratelimit *rl, const struct stun_addr *src, uint64_t now_ms)
{
	struct entry *b;
	uint64_t prefix;
	uint8_t family;

	if (!ratelimit_source(src, &family, &prefix))
		return;
	b = bucket(rl, family, prefix);
	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		if (b[i].family != family || b[i].prefix != prefix)
			continue;
		b[i].credit = refill(rl, &b[i], now_ms);
		b[i].last_ms = now_ms;
		if (b[i].credit < rl->max) {
			b[i].credit = rl->max - b[i].credit < MILLI ? rl->max : b[i].credit + MILLI;
			rl->st.refunded++;
		}
		return;
	}
}

void ratelimit_stats(const struct ratelimit *rl, struct ratelimit_stats *out)
{
	*out = rl->st;
}
