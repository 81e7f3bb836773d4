/*
 * A peer's sessions and timers. Keypairs live in a ring of TUNNEL_SESSIONS:
 * a new one replaces the oldest, so a peer that re-handshakes every few
 * seconds (Firezone's clients do) still has its previous sessions for
 * packets already in flight. A responder's new keypair waits for the
 * peer's first packet on it before we send with it (key confirmation: only
 * then do we know the peer has it); the newest confirmed one sends.
 *
 * The responder never starts a handshake (the initiator rekeys), so the
 * timers here are only: expiry (a keypair lives REJECT_AFTER_TIME), the
 * keepalive owed 10 s after data came in and nothing went back, and the
 * persistent keepalive.
 */
#include "tunnel/engine.h"

void session_report(struct tunnel *t, struct peer *p)
{
	uint64_t rx = p->rx_bytes - p->rx_told, tx = p->tx_bytes - p->tx_told;

	if (!p->stored || !t->ops->traffic || (!rx && !tx))
		return;
	p->rx_told = p->rx_bytes;
	p->tx_told = p->tx_bytes;
	t->ops->traffic(t->ops->ctx, p->public_key, rx, tx);
}

/* A peer's first keypair since it had none, or its last one gone: the
 * shell hears of it (tern:events), and of the traffic not yet reported. */
static void tell(struct tunnel *t, struct peer *p, bool up)
{
	struct tunnel_session_event ev = {
		.public_key = p->public_key, .up = up,
		.endpoint = p->has_endpoint ? &p->endpoint : NULL,
		.rx_bytes = p->rx_bytes, .tx_bytes = p->tx_bytes,
	};

	if (!up)
		session_report(t, p);
	if (t->ops->session)
		t->ops->session(t->ops->ctx, &ev);
}

static void activate(struct tunnel *t, struct peer *p)
{
	if (p->active)
		return;
	tell(t, p, true);
	p->active = true;
	p->active_prev = NULL;
	p->active_next = t->active;
	if (t->active)
		t->active->active_prev = p;
	t->active = p;
}

static void deactivate(struct tunnel *t, struct peer *p)
{
	if (!p->active)
		return;
	tell(t, p, false);
	if (p->active_prev)
		p->active_prev->active_next = p->active_next;
	else
		t->active = p->active_next;
	if (p->active_next)
		p->active_next->active_prev = p->active_prev;
	p->active = false;
	p->active_prev = p->active_next = NULL;
}

static void retire(struct tunnel *t, struct peer *p, unsigned slot)
{
	struct keypair *kp = p->kp[slot];

	if (!kp)
		return;
	if (p->current == kp)
		p->current = NULL;
	index_remove(t->index, kp->local);
	keypair_free(kp);
	p->kp[slot] = NULL;
	tstat(&t->stats.sessions, (uint64_t)-1);
}

void session_add(struct tunnel *t, struct peer *p, struct keypair *kp)
{
	unsigned slot = p->next_slot;

	retire(t, p, slot);
	p->kp[slot] = kp;
	p->next_slot = (slot + 1) % TUNNEL_SESSIONS;
	tstat(&t->stats.sessions, 1);
	activate(t, p);
}

void session_confirm(struct tunnel *t, struct keypair *kp)
{
	struct peer *p = kp->peer;

	kp->confirmed = true;
	if (!p->current || kp->born >= p->current->born)
		p->current = kp;
}

void session_clear(struct tunnel *t, struct peer *p)
{
	for (unsigned i = 0; i < TUNNEL_SESSIONS; i++)
		retire(t, p, i);
	p->keepalive_due = 0;
	deactivate(t, p);
}

void session_keepalive(struct tunnel *t, struct peer *p, uint64_t now)
{
	uint8_t msg[TUNNEL_HEADROOM + TUNNEL_TAILROOM];

	transport_send(t, p, msg, 0, now);
	tstat(&t->stats.keepalives, 1);
}

void session_tick(struct tunnel *t, struct peer *p, uint64_t now)
{
	bool any = false;

	for (unsigned i = 0; i < TUNNEL_SESSIONS; i++) {
		if (p->kp[i] && !keypair_alive(p->kp[i], now, false))
			retire(t, p, i);
		any = any || p->kp[i];
	}
	if (p->current && (p->keepalive_due && now >= p->keepalive_due))
		session_keepalive(t, p, now);
	else if (p->current && p->keepalive &&
		 now - p->last_sent >= (uint64_t)p->keepalive * 1000)
		session_keepalive(t, p, now);
	if (!any) {
		p->keepalive_due = 0;
		deactivate(t, p);
	}
}
