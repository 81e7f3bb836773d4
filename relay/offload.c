/*
 * The engine's side of the kernel fast path (relay.h: ops->channel): after
 * any change to an allocation, each of its channels is said again with
 * how long the shell may relay its ChannelData to the peer on its own, and
 * the peer's datagrams back as ChannelData (as relay_from_peer() would:
 * that also needs the peer's permission), so the shell never relays what
 * the engine would refuse.
 *
 * What the shell relays that way the engine never sees; it asks the shell
 * for each channel's counts (ops->channel_counts) when it reports an
 * allocation's totals (relay_traffic, relay_each) and before an entry
 * goes with them, and adds what is new to the allocation's totals (not
 * to relay_stats, which stay the engine's own relaying).
 */
#include "relay/engine.h"
#include "relay/policy.h"

static bool offloadable(const struct relay *r, const struct alloc *a)
{
	return r->ops->channel && !r->closing && !a->tcp && !r->cfg->max_bps &&
	       !r->cfg->capacity_bps && a->key.transport == TURN_TRANSPORT_UDP &&
	       a->key.conn == 0;
}

/* What relay_from_client_channel() checks beyond the channel itself. */
static bool routable(const struct relay *r, const struct stun_addr *peer)
{
	const struct policy *p = r->cfg->policy;

	return !p || (policy_local(p, peer) < 0 && !policy_port_refused(p, peer));
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int family(const struct chan *c)
{
	return c->peer.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4;
}

static struct relay_channel describe(const struct alloc *a, const struct chan *c,
				     uint64_t expires, uint64_t to_client)
{
	return (struct relay_channel){ .key = a->key, .number = c->number, .peer = c->peer,
				       .relayed = a->relayed[family(c)], .expires_ms = expires,
				       .to_client_ms = to_client };
}

/* How far the shell's count got past *seen; an entry made again (without
 * the engine saying so) counts from 0, so a count below *seen is all new. */
static uint64_t since(uint64_t count, uint64_t *seen)
{
	uint64_t more = count >= *seen ? count - *seen : count;

	*seen = count;
	return more;
}

/* What the shell relayed for c since the last look, into a's totals. */
static void collect(struct relay *r, struct alloc *a, struct chan *c)
{
	struct relay_channel rc = describe(a, c, 0, 0);
	uint64_t packets[2] = { 0, 0 }, bytes[2] = { 0, 0 };

	if (!r->ops->channel_counts || !(c->offloaded[TO_PEER] || c->offloaded[TO_CLIENT]))
		return;
	r->ops->channel_counts(r->ops->ctx, &rc, packets, bytes);
	for (int d = TO_PEER; d <= TO_CLIENT; d++) {
		if (!c->offloaded[d])
			continue;
		a->packets[d] += since(packets[d], &c->seen_packets[d]);
		a->bytes[d] += since(bytes[d], &c->seen_bytes[d]);
	}
}

/* Direction d's entry is live until the time said (ms), or gone (0): the
 * next one counts from 0. */
static void mark(struct chan *c, enum direction d, uint64_t until)
{
	bool live = until != 0;

	c->offloaded[d] = live;
	c->until[d] = until;
	if (!live)
		c->seen_packets[d] = c->seen_bytes[d] = 0;
}

static void say(struct relay *r, struct alloc *a, struct chan *c, uint64_t expires,
		uint64_t to_client)
{
	struct relay_channel rc = describe(a, c, expires, to_client);

	if (a->handle[family(c)] < 0)
		return;
	/* an entry said gone leaves with its counts: take them first */
	if ((!expires && c->offloaded[TO_PEER]) || (!to_client && c->offloaded[TO_CLIENT]))
		collect(r, a, c);
	r->ops->channel(r->ops->ctx, &rc);
	mark(c, TO_PEER, expires);
	mark(c, TO_CLIENT, to_client);
}

void offload_sync(struct relay *r, struct alloc *a, uint64_t now)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++) {
		struct chan *c = &a->chans[i];
		bool live = c->expires > now && a->expires > now && routable(r, &c->peer);
		uint64_t until = live ? min_u64(c->expires, a->expires) : 0;
		const struct perm *p = live ? perm_find(a, &c->peer, now) : NULL;

		say(r, a, c, until, p ? min_u64(until, p->expires) : 0);
	}
}

void offload_gone(struct relay *r, struct alloc *a)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++)
		say(r, a, &a->chans[i], 0, 0);
}

void offload_expired(struct relay *r, struct alloc *a, uint64_t now)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++) {
		struct chan *c = &a->chans[i];

		if (c->expires <= now && (c->offloaded[TO_PEER] || c->offloaded[TO_CLIENT]))
			say(r, a, c, 0, 0);
	}
}

void offload_lapsed(struct relay *r, struct alloc *a, uint64_t now)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++) {
		const struct chan *c = &a->chans[i];

		if ((c->offloaded[TO_PEER] && c->until[TO_PEER] <= now) ||
		    (c->offloaded[TO_CLIENT] && c->until[TO_CLIENT] <= now)) {
			offload_sync(r, a, now);
			return;
		}
	}
}

void offload_collect(struct relay *r, struct alloc *a)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++)
		collect(r, a, &a->chans[i]);
}
