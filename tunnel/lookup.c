/*
 * Peers in a store, loaded just in time (tunnel.h: ops.lookup). A handshake
 * from a key not in memory, or from a peer that came from the store, is
 * checked as far as it can be here (mac1, the initiator's identity, ss and
 * the timestamp; for a peer in memory also its flood limit and its own
 * newest timestamp), then waits in a bounded table while the store looks
 * the key up and takes the timestamp (so no node of a fleet accepts one it
 * has already seen). The answer finishes it: a response, or nothing.
 *
 * What a flood of unknown keys costs the store is bounded twice: a key the
 * store did not have is not asked again for TUNNEL_NEGATIVE_MS, and keys
 * not in memory spend a token bucket of lookup_rate a second. Stored peers
 * leave memory when their latest handshake is peer_idle_ms old, or the
 * least recent first past max_stored_peers: their timestamp is the store's
 * (taken at each handshake), so letting them go reopens no replay.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/engine.h"

bool lookup_init(struct tunnel *t)
{
	t->pending = calloc(TUNNEL_PENDING, sizeof *t->pending);
	t->negative = calloc(TUNNEL_NEGATIVE, sizeof *t->negative);
	t->lookup_tokens = t->cfg.lookup_rate;
	return t->pending && t->negative;
}

void lookup_free(struct tunnel *t)
{
	if (t->pending)
		sodium_memzero(t->pending, TUNNEL_PENDING * sizeof *t->pending);
	free(t->pending);
	free(t->negative);
}

static struct negative *negative_slot(struct tunnel *t, const uint8_t key[WG_KEY_LEN])
{
	return &t->negative[(key[0] | key[1] << 8 | key[2] << 16) % TUNNEL_NEGATIVE];
}

static bool negative_hit(struct tunnel *t, const uint8_t key[WG_KEY_LEN], uint64_t now)
{
	const struct negative *n = negative_slot(t, key);

	return now < n->until && !memcmp(n->key, key, WG_KEY_LEN);
}

/* One lookup of a key not in memory, if the budget has it. */
static bool budget(struct tunnel *t, uint64_t now)
{
	double rate = t->cfg.lookup_rate;

	if (now > t->lookup_at) {
		t->lookup_tokens += rate * (double)(now - t->lookup_at) / 1000.0;
		if (t->lookup_tokens > rate)
			t->lookup_tokens = rate;
	}
	t->lookup_at = now;
	if (t->lookup_tokens < 1.0)
		return false;
	t->lookup_tokens -= 1.0;
	return true;
}

static void pending_drop(struct pending *w)
{
	sodium_memzero(w, sizeof *w);
}

/* Open the timestamp of an initiation from a key not in memory: its ss is
 * worked out here, since no peer holds it. */
static bool finish_unknown(struct tunnel *t, struct noise_initiation *in,
			   uint8_t ts[WG_TAI64N_LEN], uint8_t ss[WG_KEY_LEN])
{
	return noise_precompute(&t->me, in->static_key, ss) && noise_finish(t->b2s, in, ss, ts);
}

void lookup_begin(struct tunnel *t, struct peer *p, const struct tunnel_endpoint *from,
		  struct noise_initiation *in, uint64_t now)
{
	uint8_t ts[WG_TAI64N_LEN], ss[WG_KEY_LEN];
	struct pending *w;
	uint32_t ticket;

	if (p) {
		if (!handshake_fresh(t, p, in, now)) /* counted */
			return;
		memcpy(ts, p->timestamp, WG_TAI64N_LEN);
	} else if (negative_hit(t, in->static_key, now)) {
		tdrop(t, TD_UNKNOWN_PEER);
		return;
	} else if (!budget(t, now)) {
		tdrop(t, TD_LOOKUP_LIMIT);
		return;
	} else if (!finish_unknown(t, in, ts, ss)) {
		sodium_memzero(ss, sizeof ss);
		tdrop(t, TD_HANDSHAKE);
		return;
	}
	if (++t->next_ticket == 0)
		t->next_ticket = 1;
	ticket = t->next_ticket;
	w = &t->pending[ticket % TUNNEL_PENDING];
	if (w->ticket) { /* the oldest waiting: the table is full */
		tdrop(t, TD_LOOKUP_TIMEOUT);
		pending_drop(w);
	}
	w->ticket = ticket;
	w->at = now;
	w->from = *from;
	w->in = *in;
	memcpy(w->timestamp, ts, WG_TAI64N_LEN);
	w->has_ss = !p; /* and kept, so loading the peer costs no second DH */
	if (!p)
		memcpy(w->ss, ss, WG_KEY_LEN);
	sodium_memzero(ts, sizeof ts);
	sodium_memzero(ss, sizeof ss);
	tstat(&t->stats.lookups, 1);
	t->ops->lookup(t->ops->ctx, in->static_key, w->timestamp, ticket);
}

/* The record into memory: a new stored peer, or the one there updated. */
static struct peer *load(struct tunnel *t, const struct tunnel_peer_conf *pc,
			 const struct tunnel_prefix *allowed, int n, const struct pending *w,
			 uint64_t now)
{
	struct tunnel_peer_conf c = *pc;
	struct peer *p = peers_find(t->peers, pc->public_key);

	if (p && !p->stored)
		return p; /* the node's own (wg-config) wins */
	c.stored = true;
	if (p) { /* keep what the handshakes learnt */
		c.has_endpoint = p->has_endpoint;
		c.endpoint = p->endpoint;
	}
	if (tunnel_peer_set_ss(t, &c, w->has_ss ? w->ss : NULL) < 0 ||
	    tunnel_peer_allow(t, c.public_key, true, 4, NULL, 0) < 0)
		return NULL;
	for (int i = 0; i < n; i++)
		if (tunnel_peer_allow(t, c.public_key, false, allowed[i].family, allowed[i].ip,
				      allowed[i].plen) < 0)
			return NULL;
	p = peers_find(t->peers, c.public_key);
	lookup_track(t, p, now);
	return p;
}

void tunnel_lookup_done(struct tunnel *t, uint32_t ticket, enum tunnel_lookup_result r,
			const struct tunnel_peer_conf *pc, const struct tunnel_prefix *allowed,
			int n, uint64_t now_ms)
{
	struct pending *w;
	struct peer *p;

	if (!t->pending || !ticket) /* no store, or no question */
		return;
	w = &t->pending[ticket % TUNNEL_PENDING];
	if (w->ticket != ticket)
		return; /* timed out, or pushed out */
	p = peers_find(t->peers, w->in.static_key);
	switch (r) {
	case TUNNEL_FOUND:
		if (!pc || memcmp(pc->public_key, w->in.static_key, WG_KEY_LEN) ||
		    !(p = load(t, pc, allowed, n, w, now_ms))) {
			tdrop(t, TD_HANDSHAKE);
			break;
		}
		if (memcmp(w->timestamp, p->timestamp, WG_TAI64N_LEN) > 0)
			memcpy(p->timestamp, w->timestamp, WG_TAI64N_LEN);
		p->last_initiation = now_ms;
		handshake_respond(t, p, &w->from, &w->in, now_ms);
		break;
	case TUNNEL_ABSENT: {
		struct negative *neg = negative_slot(t, w->in.static_key);

		if (p && p->stored) /* removed from the store: its sessions end now */
			tunnel_peer_remove(t, w->in.static_key);
		memcpy(neg->key, w->in.static_key, WG_KEY_LEN);
		neg->until = now_ms + TUNNEL_NEGATIVE_MS;
		tdrop(t, TD_UNKNOWN_PEER);
		break;
	}
	case TUNNEL_REPLAY:
		tdrop(t, TD_TIMESTAMP);
		break;
	case TUNNEL_STORE_DOWN:
		if (p) { /* checked here already: answered as without a store */
			lookup_track(t, p, now_ms);
			handshake_respond(t, p, &w->from, &w->in, now_ms);
		} else
			tdrop(t, TD_STORE_DOWN);
		break;
	}
	pending_drop(w);
}

void lookup_track(struct tunnel *t, struct peer *p, uint64_t now)
{
	lookup_untrack(t, p); /* if it was on the list: to its end */
	p->stored = true;
	t->n_stored++;
	p->lru_at = now;
	p->lru_prev = t->lru_tail;
	p->lru_next = NULL;
	if (t->lru_tail)
		t->lru_tail->lru_next = p;
	else
		t->lru_head = p;
	t->lru_tail = p;
	while (t->cfg.max_stored_peers && t->n_stored > t->cfg.max_stored_peers &&
	       t->lru_head != p) {
		tunnel_peer_remove(t, t->lru_head->public_key);
		tstat(&t->stats.evictions, 1);
	}
}

void lookup_untrack(struct tunnel *t, struct peer *p)
{
	if (!p->stored)
		return;
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		t->lru_head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		t->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
	p->stored = false;
	t->n_stored--;
}

void lookup_tick(struct tunnel *t, uint64_t now)
{
	if (!t->pending)
		return;
	for (int i = 0; i < TUNNEL_PENDING; i++) {
		struct pending *w = &t->pending[i];

		if (w->ticket && now - w->at >= t->cfg.lookup_timeout_ms) {
			tdrop(t, TD_LOOKUP_TIMEOUT);
			pending_drop(w);
		}
	}
	while (t->cfg.peer_idle_ms && t->lru_head &&
	       now - t->lru_head->lru_at >= t->cfg.peer_idle_ms) {
		tunnel_peer_remove(t, t->lru_head->public_key);
		tstat(&t->stats.evictions, 1);
	}
}

void tunnel_store_changed(struct tunnel *t, const uint8_t key[WG_KEY_LEN], bool deleted)
{
	struct negative *neg;
	struct peer *p = peers_find(t->peers, key);

	if (!t->negative)
		return;
	neg = negative_slot(t, key);
	if (!memcmp(neg->key, key, WG_KEY_LEN))
		neg->until = 0;
	if (deleted && p && p->stored)
		tunnel_peer_remove(t, key);
}
