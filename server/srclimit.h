/*
 * How many stream connections (TCP, TLS) one source may hold, and all of
 * them together (issue 9, defect 3). A source is an IPv4 address or an IPv6
 * /64, as in relay/ratelimit.h: one host on IPv6 can hold a whole /64.
 *
 * The counts are the whole process's, because the kernel spreads one
 * source's connections over every worker's SO_REUSEPORT socket. So the
 * table sits behind one mutex; it is touched when a connection is accepted
 * and when it closes, never per message. Sources hash with SipHash under a
 * random key into an open-addressed table twice the size of the total cap,
 * so it never fills and a stranger cannot make its chains long.
 *
 * Ownership: srclimit_new() returns an object freed with srclimit_free().
 * Thread-safe.
 */
#ifndef TERN_SERVER_SRCLIMIT_H
#define TERN_SERVER_SRCLIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "stun/stun.h"

enum { SRCLIMIT_MAX_TOTAL = 1 << 20 };

enum srclimit_verdict {
	SRCLIMIT_OK,
	SRCLIMIT_SOURCE, /* the source holds per_source already */
	SRCLIMIT_TOTAL,  /* the process holds total already */
};

/* per_source 0: no cap per source; total from 1 to SRCLIMIT_MAX_TOTAL.
 * NULL for a bad total or no memory. */
struct srclimit *srclimit_new(uint32_t per_source, uint32_t total);
void srclimit_free(struct srclimit *sl);

/* One more connection from src, if the caps allow it (then give it back
 * with srclimit_give when it closes). */
enum srclimit_verdict srclimit_take(struct srclimit *sl, const struct stun_addr *src);
void srclimit_give(struct srclimit *sl, const struct stun_addr *src);

/* Connections held now, all sources. */
uint32_t srclimit_open(struct srclimit *sl);

#endif
