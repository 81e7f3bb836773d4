/*
 * A per-source token bucket for work done before authentication (DESIGN.md
 * s7): 401 challenges, which a spoofed source can aim at a victim, and the
 * HMAC work of checking a request's credentials. Modelled on WireGuard's
 * ratelimiter: a fixed table keyed by a keyed hash of the source, IPv4 by
 * address and IPv6 by /64, entries that lapse once they have refilled, and a
 * hard cap on entries. Sans-I/O: the caller passes the time in milliseconds
 * and the hash key (16 random bytes) at creation.
 *
 * Ownership: ratelimit_new() returns an object the caller frees with
 * ratelimit_free(). It is not thread-safe: one per worker.
 */
#ifndef TERN_RELAY_RATELIMIT_H
#define TERN_RELAY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"

enum ratelimit_limits {
	RATELIMIT_KEY_LEN = 16,
	RATELIMIT_WAYS = 8,               /* entries that share one hash bucket */
	RATELIMIT_MAX_ENTRIES = 1 << 20,  /* 24 MiB of table */
	RATELIMIT_MAX_RATE = 1000000,     /* tokens per second */
	RATELIMIT_MAX_BURST = 1000000,
};

struct ratelimit_stats {
	uint64_t allowed;
	uint64_t limited; /* the source had used up its tokens */
	uint64_t full;    /* a new source found no free entry: refused */
	uint64_t refunded; /* tokens given back (ratelimit_refund) */
	uint32_t entries; /* the table's size, after rounding */
};

/*
 * A limiter granting each source rate_per_s tokens a second, holding at most
 * burst. table_size is the hard cap on sources tracked at once; it is rounded
 * down to a power of two, at least RATELIMIT_WAYS. Returns NULL for a rate or
 * burst of 0 or above the maxima, or when out of memory.
 */
struct ratelimit *ratelimit_new(uint32_t rate_per_s, uint32_t burst, uint32_t table_size,
				const uint8_t key[RATELIMIT_KEY_LEN]);
void ratelimit_free(struct ratelimit *rl);

/*
 * Spend one token of src's bucket at now_ms. src's port is ignored; an
 * IPv4-mapped IPv6 address counts as its IPv4 address. Returns false when
 * the source is out of tokens, when the table has no room for a new source
 * (fail closed: see ratelimit.c), and for an address of no known family.
 */
bool ratelimit_allow(struct ratelimit *rl, const struct stun_addr *src, uint64_t now_ms);

/*
 * Give src back one token, up to the burst: the work it was charged for
 * turned out to be a client's, not a stranger's (a challenge answered with
 * valid credentials). A source with no entry is left without one.
 */
void ratelimit_refund(struct ratelimit *rl, const struct stun_addr *src, uint64_t now_ms);

void ratelimit_stats(const struct ratelimit *rl, struct ratelimit_stats *out);

/*
 * What counts as one source, here and wherever else a source is limited
 * (server/srclimit.h): the IPv4 address (an IPv4-mapped IPv6 one counts as
 * IPv4), or the IPv6 /64, one host's share. Sets *family and *prefix;
 * false for an address of no known family.
 */
bool ratelimit_source(const struct stun_addr *a, uint8_t *family, uint64_t *prefix);

#endif
