/*
 * The engine's side of the kernel fast path (relay.h: ops->channel): after
 * any change to an allocation, each of its channels is said again with
 * how long the shell may relay its ChannelData to the peer on its own, and
 * the peer's datagrams back as ChannelData (as relay_from_peer() would:
 * that also needs the peer's permission), so the shell never relays what
 * the engine would refuse.
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

static void say(struct relay *r, const struct alloc *a, const struct chan *c, uint64_t expires,
		uint64_t to_client)
{
	int f = c->peer.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4;
	struct relay_channel rc = { .key = a->key, .number = c->number, .peer = c->peer,
				    .relayed = a->relayed[f], .expires_ms = expires,
				    .to_client_ms = to_client };

	if (a->handle[f] >= 0)
		r->ops->channel(r->ops->ctx, &rc);
}

void offload_sync(struct relay *r, struct alloc *a, uint64_t now)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++) {
		const struct chan *c = &a->chans[i];
		bool live = c->expires > now && a->expires > now && routable(r, &c->peer);
		uint64_t until = live ? min_u64(c->expires, a->expires) : 0;
		const struct perm *p = live ? perm_find(a, &c->peer, now) : NULL;

		say(r, a, c, until, p ? min_u64(until, p->expires) : 0);
	}
}

/*
 * The channels chan_bind() is about to drop, past their quarantine, said
 * gone: one that expired with no request on its allocation since was never
 * said so, and once dropped it never would be, its entries left in the
 * shell's maps for as long as the allocation lives. Said before the bind,
 * which may bind the same number again under the same key.
 */
void offload_stale(struct relay *r, struct alloc *a, uint64_t now)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++)
		if (chan_stale(&a->chans[i], now))
			say(r, a, &a->chans[i], 0, 0);
}

void offload_gone(struct relay *r, struct alloc *a)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++)
		say(r, a, &a->chans[i], 0, 0);
}
