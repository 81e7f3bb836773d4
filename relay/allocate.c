/*
 * Allocate (RFC 8656 s7.2, RFC 6156, RFC 8656 s7.2 dual allocation). The
 * checks run in the RFC's order; each failure is its own error code. Relay
 * ports are picked at random in min-port..max-port and the shell tries to
 * bind them; a port in use just means another try. EVEN-PORT with the R bit
 * holds the next port for about 30 s behind a RESERVATION-TOKEN; the shell
 * keeps held ports process-wide, since the redeeming Allocate may land on
 * another worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/engine.h"

struct want {
	bool family[ALLOC_FAMILIES]; /* families to allocate */
	bool additional;             /* v6 via ADDITIONAL-ADDRESS-FAMILY */
	bool even, reserve;          /* EVEN-PORT, and its R bit */
	bool dont_fragment;
	bool tcp;                    /* RFC 6062 */
	const uint8_t *token;        /* RESERVATION-TOKEN, 8 bytes */
	uint32_t lifetime;
};

static uint32_t clamp_lifetime(const struct relay_config *c, const struct stun_msg *m)
{
	uint32_t v;

	if (!m->a[SA_LIFETIME].v || !stun_attr_u32(&m->a[SA_LIFETIME], &v))
		return c->default_lifetime;
	if (v < c->default_lifetime)
		v = c->default_lifetime;
	return v > c->max_lifetime ? c->max_lifetime : v;
}

/* REQUESTED-/ADDITIONAL-ADDRESS-FAMILY (RFC 8656 s7.2 steps 7-9). */
static int families(const struct relay_config *c, const struct stun_msg *m,
		    struct want *w)
{
	const struct stun_attr *raf = &m->a[SA_REQUESTED_ADDRESS_FAMILY];
	const struct stun_attr *aaf = &m->a[SA_ADDITIONAL_ADDRESS_FAMILY];

	if (raf->v && aaf->v)
		return STUN_ERR_BAD_REQUEST;
	if (aaf->v) {
		if (aaf->len != 4 || aaf->v[0] != STUN_FAMILY_IPV6)
			return STUN_ERR_BAD_REQUEST;
		w->family[ALLOC_V4] = w->family[ALLOC_V6] = true;
		w->additional = true;
	} else if (raf->v) {
		if (raf->len != 4 || (raf->v[0] != STUN_FAMILY_IPV4 &&
				      raf->v[0] != STUN_FAMILY_IPV6))
			return STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
		w->family[raf->v[0] == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4] = true;
	} else {
		w->family[ALLOC_V4] = true;
	}
	if (w->family[ALLOC_V4] && !c->has_v4)
		return STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
	if (w->family[ALLOC_V6] && !c->has_v6 && !w->additional)
		return STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED;
	return 0;
}

/* Everything about the request that can fail before any resource is used. */
static int parse_want(const struct relay *r, const struct relay_key *k,
		      const struct stun_msg *m, struct want *w)
{
	const struct relay_config *c = r->cfg;
	const struct stun_attr *rt = &m->a[SA_REQUESTED_TRANSPORT];
	const struct stun_attr *ep = &m->a[SA_EVEN_PORT];
	const struct stun_attr *tok = &m->a[SA_RESERVATION_TOKEN];

	memset(w, 0, sizeof *w);
	if (!rt->v || rt->len != 4)
		return STUN_ERR_BAD_REQUEST;
	if (rt->v[0] == TURN_TRANSPORT_TCP && r->ops->open_tcp) {
		/* RFC 6062 s5.1: over a stream, and none of the UDP extras */
		if (k->transport != TURN_TRANSPORT_TCP || ep->v || tok->v ||
		    m->a[SA_DONT_FRAGMENT].v)
			return STUN_ERR_BAD_REQUEST;
		w->tcp = true;
	} else if (rt->v[0] != TURN_TRANSPORT_UDP || c->no_udp_relay) {
		return STUN_ERR_UNSUPPORTED_TRANSPORT;
	}
	if (tok->v && (ep->v || m->a[SA_REQUESTED_ADDRESS_FAMILY].v ||
		       m->a[SA_ADDITIONAL_ADDRESS_FAMILY].v || tok->len != 8))
		return STUN_ERR_BAD_REQUEST;
	if (ep->v) {
		if (ep->len < 1)
			return STUN_ERR_BAD_REQUEST;
		w->even = true;
		w->reserve = (ep->v[0] & TURN_EVEN_PORT_R) != 0;
	}
	w->token = tok->v;
	w->dont_fragment = m->a[SA_DONT_FRAGMENT].v != NULL;
	w->lifetime = clamp_lifetime(c, m);
	return families(c, m, w);
}

static uint16_t random_port(struct relay *r, bool even)
{
	const struct relay_config *c = r->cfg;
	uint32_t span = (uint32_t)c->max_port - c->min_port + 1, x;
	uint16_t p;

	r->ops->random(r->ops->ctx, &x, sizeof x);
	p = (uint16_t)(c->min_port + x % span);
	if (even && (p & 1))
		p = p > c->min_port ? p - 1 : p + 1;
	return p;
}

/* Hold port+1 behind a fresh token (EVEN-PORT R=1). */
static int reserve_next(struct relay *r, const struct stun_addr *bound, uint64_t now,
			uint8_t token[8])
{
	struct stun_addr next = *bound;

	if (bound->port == 65535)
		return -ENOSPC;
	next.port++;
	r->ops->random(r->ops->ctx, token, 8);
	return r->ops->reserve(r->ops->ctx, &next, token, now);
}

/* Bind one family's relay socket for a; true on success. */
static bool open_family(struct relay *r, struct alloc *a, int fam, const struct want *w,
			uint64_t now, uint8_t token[8])
{
	const struct relay_config *c = r->cfg;
	struct stun_addr bind = fam == ALLOC_V4 ? c->relay_v4 : c->relay_v6;

	for (int i = 0; i < RELAY_PORT_TRIES; i++) {
		int h;

		bind.port = random_port(r, w->even);
		h = w->tcp ? r->ops->open_tcp(r->ops->ctx, a->id, &bind)
			   : r->ops->open(r->ops->ctx, a->id, &bind, w->dont_fragment);
		if (h == -EADDRINUSE || h == -EACCES)
			continue;
		if (h < 0)
			return false;
		if (w->reserve && reserve_next(r, &bind, now, token) < 0) {
			r->ops->close(r->ops->ctx, h);
			continue; /* the next port is taken: try another pair */
		}
		a->handle[fam] = h;
		a->relayed[fam] = bind;
		return true;
	}
	return false;
}

/* RESERVATION-TOKEN: the held port becomes this allocation's. */
static bool open_reserved(struct relay *r, struct alloc *a, const struct want *w,
			  uint64_t now)
{
	struct stun_addr bound;
	int fam, h;

	h = r->ops->redeem(r->ops->ctx, a->id, w->token, w->dont_fragment, now, &bound);
	if (h < 0)
		return false;
	fam = bound.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4;
	a->handle[fam] = h;
	a->relayed[fam] = bound;
	return true;
}

void allocate_release(struct relay *r, struct alloc *a)
{
	offload_gone(r, a);
	persist_forget(r, a);
	tcp_release(r, a);
	for (int f = 0; f < ALLOC_FAMILIES; f++) {
		if (a->handle[f] < 0)
			continue;
		r->ops->close(r->ops->ctx, a->handle[f]);
		if (a->granted) /* counted once it was granted */
			stat_inc(&r->stats.allocations[f], (uint64_t)-1);
	}
	if (a->user)
		r->ops->quota_give(r->ops->ctx, a->user, a->user_len);
	alloc_remove(r->allocs, a);
}

static struct stun_addr advertised(const struct relay_config *c, const struct alloc *a,
				   int fam)
{
	struct stun_addr p = fam == ALLOC_V4 ? c->public_v4 : c->public_v6;

	p.port = a->relayed[fam].port;
	return p;
}

/* The success response; also what a retransmitted Allocate gets again. */
static struct relay_action success(struct relay *r, const struct alloc *a,
				   const struct stun_msg *m, const struct auth_result *auth,
				   const uint8_t *token, bool v6_failed, uint8_t *out,
				   size_t cap)
{
	struct relay_action act = { .peer_handle = -1 };
	struct reply rp;

	reply_start(&rp, r, m, auth, STUN_SUCCESS, out, cap);
	for (int f = 0; f < ALLOC_FAMILIES; f++) {
		struct stun_addr p;

		if (a->handle[f] < 0)
			continue;
		p = advertised(r->cfg, a, f);
		stun_put_addr(&rp.b, TURN_ATTR_XOR_RELAYED_ADDRESS, &p, true);
	}
	if (v6_failed) { /* RFC 8656 s7.2: ADDRESS-ERROR-CODE for the family */
		const uint8_t v[4] = { STUN_FAMILY_IPV6, 0, 4, 40 };

		stun_put(&rp.b, TURN_ATTR_ADDRESS_ERROR_CODE, v, 4);
	}
	stun_put_u32(&rp.b, TURN_ATTR_LIFETIME, a->granted);
	if (token)
		stun_put(&rp.b, TURN_ATTR_RESERVATION_TOKEN, token, 8);
	stun_put_addr(&rp.b, STUN_ATTR_XOR_MAPPED_ADDRESS, &a->key.client, true);
	act.reply_len = reply_finish(&rp, r);
	return act;
}

static int open_all(struct relay *r, struct alloc *a, const struct want *w,
		    uint64_t now, uint8_t token[8], bool *v6_failed)
{
	if (w->token)
		return open_reserved(r, a, w, now) ? 0 : STUN_ERR_INSUFFICIENT_CAPACITY;
	for (int f = 0; f < ALLOC_FAMILIES; f++) {
		if (!w->family[f] || open_family(r, a, f, w, now, token))
			continue;
		if (f == ALLOC_V6 && w->additional) { /* the v4 half still stands */
			*v6_failed = true;
			continue;
		}
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	}
	return 0;
}

struct relay_action allocate_handle(struct relay *r, const struct relay_key *k,
				    const struct stun_msg *m,
				    const struct auth_result *auth, uint64_t now,
				    uint8_t *out, size_t cap)
{
	struct alloc *a = alloc_find(r->allocs, k);
	struct stun_addr alt;
	uint8_t token[8];
	bool v6_failed = false;
	struct want w;
	const char *domain = NULL;
	struct relay_action act;
	int code;

	if (a) { /* s7.2 step 2: a retransmit is answered again, else 437 */
		if (memcmp(a->alloc_tid, m->tid, STUN_TID_LEN) == 0)
			return a->held ? (struct relay_action){ .peer_handle = -1 } /* it will be */
				       : success(r, a, m, auth, NULL, false, out, cap);
		return reply_error(r, k, m, auth, STUN_ERR_ALLOCATION_MISMATCH, now, out, cap);
	}
	code = parse_want(r, k, m, &w);
	if (code)
		return reply_error(r, k, m, auth, code, now, out, cap);
	code = r->ops->admit ? r->ops->admit(r->ops->ctx, k, alloc_count(r->allocs) >=
								  alloc_capacity(r->allocs), &alt, &domain)
			     : 0;
	if (code == STUN_ERR_TRY_ALTERNATE) {
		stat_inc(&r->stats.redirected, 1);
		return reply_alternate(r, m, auth, &alt, domain, out, cap);
	}
	if (code) {
		stat_inc(&r->stats.capacity_rejected, 1);
		return reply_error(r, k, m, auth, code, now, out, cap);
	}
	if (!r->ops->quota_take(r->ops->ctx, auth->user, auth->user_len)) {
		stat_inc(&r->stats.quota_rejected, 1);
		return reply_error(r, k, m, auth, STUN_ERR_ALLOCATION_QUOTA, now, out, cap);
	}
	a = alloc_insert(r->allocs, k);
	if (a && (a->user = malloc(auth->user_len ? auth->user_len : 1))) {
		memcpy(a->user, auth->user, auth->user_len);
		a->user_len = (uint16_t)auth->user_len;
		a->tcp = w.tcp;
		code = open_all(r, a, &w, now, token, &v6_failed);
	} else {
		r->ops->quota_give(r->ops->ctx, auth->user, auth->user_len);
		code = STUN_ERR_INSUFFICIENT_CAPACITY;
	}
	if (code) {
		stat_inc(&r->stats.capacity_rejected, 1);
		if (a)
			allocate_release(r, a);
		return reply_error(r, k, m, auth, code, now, out, cap);
	}
	for (int f = 0; f < ALLOC_FAMILIES; f++)
		if (a->handle[f] >= 0)
			stat_inc(&r->stats.allocations[f], 1);
	stat_inc(&r->stats.allocations_total, 1);
	memcpy(a->alloc_tid, m->tid, STUN_TID_LEN);
	a->granted = w.lifetime;
	a->expires = now + (uint64_t)w.lifetime * 1000;
	a->dont_fragment = w.dont_fragment;
	r->ops->random(r->ops->ctx, &a->tag, sizeof a->tag);
	persist_mark(r, a);
	act = success(r, a, m, auth, w.reserve ? token : NULL, v6_failed, out, cap);
	if (r->cfg->hold_new && persist_wanted(r, a) && act.reply_len) {
		struct relay_action f = reply_error(r, k, m, auth, STUN_ERR_INSUFFICIENT_CAPACITY,
						    now, out + act.reply_len, cap - act.reply_len);

		a->held = true;
		act.hold = true;
		act.fallback_len = f.reply_len;
	}
	return act;
}

bool relay_held_done(struct relay *r, const struct relay_key *k,
		     const uint8_t tid[STUN_TID_LEN], bool ok)
{
	struct alloc *a = alloc_find(r->allocs, k);

	if (!a || !a->held || memcmp(a->alloc_tid, tid, STUN_TID_LEN) != 0)
		return false;
	a->held = false;
	if (!ok) {
		stat_inc(&r->stats.capacity_rejected, 1);
		allocate_release(r, a);
	}
	return true;
}
