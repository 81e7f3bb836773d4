/*
 * TCP allocations (RFC 6062), the engine's half. A TCP allocation's relay
 * handle is a listening socket; each connection to or from a peer gets a
 * CONNECTION-ID and a record here while it lives:
 *
 *   Connect -> CONNECTING --connected--> PENDING --ConnectionBind--> BOUND
 *   peer connects ----------ConnectionAttempt--> PENDING
 *
 * A connection not bound within 30 s is closed (s5.2, s5.3), and so is every
 * connection of an allocation that goes away. The ConnectionBind arrives on
 * a new client connection that any worker may have accepted, so the bind
 * itself is the shell's (ops->tcp_bind, on a table all workers share); this
 * engine learns of it by asking ops->tcp_state on its tick.
 *
 * A connection id is shard (8 bits) | generation (6) | slot (18): the slot
 * finds the record in one load, the shard names the worker that owns it,
 * and the generation keeps a reused slot from repeating a recent id.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/engine.h"

enum {
	SLOT_MASK = (1u << RELAY_TCP_SLOT_BITS) - 1,
	GEN_MASK = 0x3f,
	TCP_MSG_MAX = 512,
};

static struct tcpc *tcp_find(const struct relay *r, uint32_t cid)
{
	uint32_t slot = cid & SLOT_MASK;

	if (slot >= r->tcp_used || r->tcp[slot].state == TCPC_FREE ||
	    r->tcp[slot].cid != cid)
		return NULL;
	return &r->tcp[slot];
}

/* A fresh record linked to a, or NULL at the engine's limit. */
static struct tcpc *tcp_new(struct relay *r, struct alloc *a, const struct stun_addr *peer,
			    uint8_t state, uint64_t expires)
{
	struct tcpc *t;
	uint32_t slot;

	if (r->tcp_free) {
		slot = r->tcp_free - 1;
		r->tcp_free = r->tcp[slot].next;
	} else {
		if (r->tcp_used == r->tcp_cap) {
			uint32_t cap = r->tcp_cap ? 2 * r->tcp_cap : 64;
			struct tcpc *n;

			if (cap > SLOT_MASK + 1u)
				cap = SLOT_MASK + 1u;
			if (cap == r->tcp_cap || !(n = realloc(r->tcp, cap * sizeof *n)))
				return NULL;
			memset(n + r->tcp_cap, 0, (cap - r->tcp_cap) * sizeof *n);
			r->tcp = n;
			r->tcp_cap = cap;
		}
		slot = r->tcp_used++;
	}
	t = &r->tcp[slot];
	t->gen = (uint8_t)((t->gen + 1) & GEN_MASK);
	t->cid = (uint32_t)r->cfg->shard << 24 | (uint32_t)t->gen << RELAY_TCP_SLOT_BITS | slot;
	t->alloc_id = a->id;
	t->state = state;
	t->peer = *peer;
	t->expires = expires;
	t->keylen = 0;
	t->next = a->tcp_first;
	a->tcp_first = slot + 1;
	a->n_tcp++;
	return t;
}

/* Unlink t from a and put its slot on the free list. */
static void tcp_drop(struct relay *r, struct alloc *a, struct tcpc *t)
{
	uint32_t slot = (uint32_t)(t - r->tcp), *p = &a->tcp_first;

	while (*p && *p != slot + 1)
		p = &r->tcp[*p - 1].next;
	if (*p)
		*p = t->next;
	a->n_tcp--;
	memset(t->key, 0, sizeof t->key);
	t->state = TCPC_FREE;
	t->next = r->tcp_free;
	r->tcp_free = slot + 1;
}

/* The Connect's answer, sent when the connection is made or has failed. */
static void answer_connect(struct relay *r, const struct alloc *a, struct tcpc *t, int code)
{
	uint8_t buf[TCP_MSG_MAX];
	struct stun_builder b;
	size_t len;

	stun_build_init(&b, buf, sizeof buf,
			stun_type(TURN_CONNECT, code ? STUN_ERROR : STUN_SUCCESS), t->tid);
	if (code)
		stun_put_error(&b, code, stun_reason(code));
	else
		stun_put_u32(&b, TURN_ATTR_CONNECTION_ID, t->cid);
	len = reply_seal(&b, r, t->key, t->keylen, t->sha256, t->fingerprint);
	memset(t->key, 0, sizeof t->key);
	if (len)
		r->ops->send(r->ops->ctx, &a->key, buf, len);
}

struct relay_action tcp_connect_request(struct relay *r, struct alloc *a,
					const struct stun_msg *m,
					const struct auth_result *auth, uint64_t now,
					uint8_t *out, size_t cap)
{
	struct relay_action none = { .peer_handle = -1 };
	struct stun_addr peer;
	struct tcpc *t;
	int code, h;

	if (!a->tcp || !m->a[SA_XOR_PEER_ADDRESS].v ||
	    !stun_attr_addr(m, &m->a[SA_XOR_PEER_ADDRESS], true, &peer))
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	code = request_peer_allowed(r, a, &peer, PEER_STREAM);
	if (code)
		return reply_error(r, &a->key, m, auth, code, now, out, cap);
	/* s5.2: one connection (or attempt) per peer address */
	for (uint32_t s = a->tcp_first; s; s = r->tcp[s - 1].next)
		if (addr_equal(&r->tcp[s - 1].peer, &peer))
			return reply_error(r, &a->key, m, auth,
					   STUN_ERR_CONNECTION_ALREADY_EXISTS, now, out, cap);
	t = a->n_tcp < RELAY_TCP_PER_ALLOC
		    ? tcp_new(r, a, &peer, TCPC_CONNECTING, now + RELAY_TCP_TIMEOUT_MS)
		    : NULL;
	if (!t) {
		stat_inc(&r->stats.tcp_refused, 1);
		return reply_error(r, &a->key, m, auth, STUN_ERR_INSUFFICIENT_CAPACITY, now,
				   out, cap);
	}
	memcpy(t->tid, m->tid, STUN_TID_LEN);
	memcpy(t->key, auth->key, auth->keylen);
	t->keylen = (uint8_t)auth->keylen;
	t->sha256 = auth->sha256_integrity;
	t->fingerprint = m->fp_off != 0;
	h = a->handle[peer.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4];
	code = r->ops->tcp_connect(r->ops->ctx, h, t->cid, &peer);
	if (code < 0) {
		stat_inc(&r->stats.tcp_failed, 1);
		tcp_drop(r, a, t);
		/* -EEXIST: the kernel already has this very connection, e.g. the
		 * peer's own connect to us still waiting to be accepted */
		return reply_error(r, &a->key, m, auth,
				   code == -EEXIST ? STUN_ERR_CONNECTION_ALREADY_EXISTS
						   : STUN_ERR_CONNECTION_TIMEOUT,
				   now, out, cap);
	}
	return none; /* answered by relay_tcp_connected() or the tick */
}

bool relay_tcp_connected(struct relay *r, uint32_t cid, int err, uint64_t now_ms)
{
	struct tcpc *t = tcp_find(r, cid);
	struct alloc *a;

	if (!t || t->state != TCPC_CONNECTING || !(a = alloc_by_id(r->allocs, t->alloc_id)))
		return false;
	answer_connect(r, a, t, err ? STUN_ERR_CONNECTION_TIMEOUT : 0);
	if (err) {
		stat_inc(&r->stats.tcp_failed, 1);
		tcp_drop(r, a, t);
		return false;
	}
	stat_inc(&r->stats.tcp_connected, 1);
	t->state = TCPC_PENDING;
	t->expires = now_ms + RELAY_TCP_TIMEOUT_MS;
	return true;
}

uint32_t relay_tcp_accepted(struct relay *r, uint32_t id, const struct stun_addr *peer,
			    uint64_t now_ms)
{
	struct alloc *a = alloc_by_id(r->allocs, id);
	struct tcpc *t;

	if (!a || !a->tcp)
		return 0;
	/* s5.3: only peers the client gave a permission to */
	if (!perm_find(a, peer, now_ms)) {
		stat_inc(&r->stats.dropped[RD_NO_PERMISSION], 1);
		return 0;
	}
	t = a->n_tcp < RELAY_TCP_PER_ALLOC
		    ? tcp_new(r, a, peer, TCPC_PENDING, now_ms + RELAY_TCP_TIMEOUT_MS)
		    : NULL;
	if (!t) {
		stat_inc(&r->stats.tcp_refused, 1);
		return 0;
	}
	stat_inc(&r->stats.tcp_accepted, 1);
	return t->cid;
}

const struct relay_key *relay_tcp_announce(struct relay *r, uint32_t cid, uint8_t *out,
					   size_t cap, size_t *len)
{
	struct tcpc *t = tcp_find(r, cid);
	uint8_t tid[STUN_TID_LEN];
	struct stun_builder b;
	struct alloc *a;

	if (!t || t->state != TCPC_PENDING || !(a = alloc_by_id(r->allocs, t->alloc_id)))
		return NULL;
	r->ops->random(r->ops->ctx, tid, sizeof tid);
	stun_build_init(&b, out, cap, stun_type(TURN_CONNECTION_ATTEMPT, STUN_INDICATION),
			tid);
	stun_put_u32(&b, TURN_ATTR_CONNECTION_ID, t->cid);
	stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &t->peer, true);
	*len = reply_seal(&b, r, NULL, 0, false, false);
	return *len ? &a->key : NULL;
}

struct relay_action tcp_bind_request(struct relay *r, const struct relay_key *k,
				     const struct stun_msg *m,
				     const struct auth_result *auth, uint64_t now,
				     uint8_t *out, size_t cap)
{
	struct relay_action act = { .peer_handle = -1 };
	struct reply rp;
	uint32_t cid;

	/* s5.4: only on a new TCP or TLS connection, for a pending connection
	 * of the same user (the id alone must not be enough) */
	if (k->transport != TURN_TRANSPORT_TCP || !r->ops->tcp_bind ||
	    !stun_attr_u32(&m->a[SA_CONNECTION_ID], &cid) ||
	    r->ops->tcp_bind(r->ops->ctx, cid, auth->user, auth->user_len, k) != 0)
		return reply_error(r, k, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	reply_start(&rp, r, m, auth, STUN_SUCCESS, out, cap);
	act.reply_len = reply_finish(&rp, r);
	return act;
}

bool relay_tcp_owner(const struct relay *r, uint32_t cid, const uint8_t **user,
		     size_t *len, struct stun_addr *client)
{
	const struct tcpc *t = tcp_find(r, cid);
	const struct alloc *a;

	if (!t || !(a = alloc_by_id(r->allocs, t->alloc_id)))
		return false;
	*user = a->user;
	*len = a->user_len;
	*client = a->key.client;
	return true;
}

bool tcp_bind_origin(const struct relay *r, const struct relay_key *k,
		     const struct stun_msg *m, struct stun_addr *origin)
{
	uint32_t cid;

	return m->method == TURN_CONNECTION_BIND && k->transport == TURN_TRANSPORT_TCP &&
	       r->ops->tcp_origin && stun_attr_u32(&m->a[SA_CONNECTION_ID], &cid) &&
	       r->ops->tcp_origin(r->ops->ctx, cid, origin);
}

void tcp_release(struct relay *r, struct alloc *a)
{
	while (a->tcp_first) {
		struct tcpc *t = &r->tcp[a->tcp_first - 1];

		if (t->state == TCPC_CONNECTING)
			answer_connect(r, a, t, STUN_ERR_CONNECTION_TIMEOUT);
		r->ops->tcp_close(r->ops->ctx, t->cid);
		tcp_drop(r, a, t);
	}
}

/* Connects that took too long, binds that never came, splices that ended. */
void tcp_tick(struct relay *r, uint64_t now)
{
	for (uint32_t s = 0; s < r->tcp_used; s++) {
		struct tcpc *t = &r->tcp[s];
		struct alloc *a;
		int st;

		if (t->state == TCPC_FREE || !(a = alloc_by_id(r->allocs, t->alloc_id)))
			continue;
		if (t->state != TCPC_BOUND && t->expires > now)
			continue;
		if (t->state == TCPC_CONNECTING) {
			stat_inc(&r->stats.tcp_failed, 1);
			answer_connect(r, a, t, STUN_ERR_CONNECTION_TIMEOUT);
			r->ops->tcp_close(r->ops->ctx, t->cid);
			tcp_drop(r, a, t);
			continue;
		}
		st = r->ops->tcp_state(r->ops->ctx, t->cid);
		if (st == RELAY_TCP_BOUND) {
			t->state = TCPC_BOUND;
			continue;
		}
		if (st == RELAY_TCP_PENDING) /* 30 s and no ConnectionBind */
			r->ops->tcp_close(r->ops->ctx, t->cid);
		tcp_drop(r, a, t);
	}
}

void tcp_free_all(struct relay *r)
{
	free(r->tcp);
	r->tcp = NULL;
}
