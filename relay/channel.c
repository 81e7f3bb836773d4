/*
 * Channel bindings (RFC 8656 s12). A channel number maps to one peer
 * transport address and back. A binding lasts channel_lifetime (600 s);
 * after it expires, neither the number nor the peer may be bound to anything
 * else for five more minutes (s12), so late packets cannot reach the wrong
 * peer. Reserved entries are reclaimed once that time is up too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/alloc.h"

enum { CHAN_QUARANTINE_MS = 300 * 1000 };

bool chan_stale(const struct chan *c, uint64_t now)
{
	return c->expires + CHAN_QUARANTINE_MS <= now;
}

static void sweep(struct alloc *a, uint64_t now)
{
	uint8_t j = 0;

	for (uint8_t i = 0; i < a->n_chans; i++)
		if (!chan_stale(&a->chans[i], now))
			a->chans[j++] = a->chans[i];
	a->n_chans = j;
}

struct chan *chan_by_number(struct alloc *a, uint16_t number, uint64_t now)
{
	for (uint8_t i = 0; i < a->n_chans; i++)
		if (a->chans[i].number == number)
			return a->chans[i].expires > now ? &a->chans[i] : NULL;
	return NULL;
}

struct chan *chan_by_peer(struct alloc *a, const struct stun_addr *peer, uint64_t now)
{
	for (uint8_t i = 0; i < a->n_chans; i++)
		if (addr_equal(&a->chans[i].peer, peer))
			return a->chans[i].expires > now ? &a->chans[i] : NULL;
	return NULL;
}

int chan_bind(struct alloc *a, uint16_t number, const struct stun_addr *peer,
	      uint64_t expires, uint64_t now)
{
	struct chan *c;

	sweep(a, now);
	for (uint8_t i = 0; i < a->n_chans; i++) {
		c = &a->chans[i];
		bool num = c->number == number, addr = addr_equal(&c->peer, peer);

		if (num && addr) { /* refresh (s12.2), also from quarantine */
			c->expires = expires;
			return 0;
		}
		if (num || addr)
			return -EEXIST;
	}
	if (a->n_chans >= RELAY_MAX_CHANNELS)
		return -ENOSPC;
	c = realloc(a->chans, (a->n_chans + 1u) * sizeof *c);
	if (!c)
		return -ENOSPC;
	a->chans = c;
	c = &a->chans[a->n_chans++];
	c->number = number;
	c->peer = *peer;
	c->expires = expires;
	return 0;
}
