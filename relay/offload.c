/*
 * The engine's side of the kernel fast path (relay.h: ops->channel): after
 * any change to an allocation, each of its channels is said again with
 * how long the shell may relay its ChannelData to the peer on its own, so
 * the shell never relays for a channel the engine would refuse.
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

static void say(struct relay *r, const struct alloc *a, const struct chan *c, uint64_t expires)
{
	int f = c->peer.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4;
	struct relay_channel rc = { .key = a->key, .number = c->number, .peer = c->peer,
				    .relayed = a->relayed[f], .expires_ms = expires };

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

		say(r, a, c, live ? (c->expires < a->expires ? c->expires : a->expires) : 0);
	}
}

void offload_gone(struct relay *r, struct alloc *a)
{
	if (!offloadable(r, a))
		return;
	for (uint8_t i = 0; i < a->n_chans; i++)
		say(r, a, &a->chans[i], 0);
}
