/*
 * The requests made on an existing allocation: Refresh (RFC 8656 s7.3),
 * CreatePermission (s9), ChannelBind (s12.1) and the Send indication
 * (s10.1). The engine has already authenticated the request, found the
 * allocation by 5-tuple and checked the username is the one that made it.
 */
#include <errno.h>
#include <string.h>

#include "relay/engine.h"

static struct relay_action ok(struct relay *r, const struct stun_msg *m,
			      const struct auth_result *auth, uint8_t *out, size_t cap,
			      const uint32_t *lifetime)
{
	struct relay_action act = { .peer_handle = -1 };
	struct reply rp;

	reply_start(&rp, r, m, auth, STUN_SUCCESS, out, cap);
	if (lifetime)
		stun_put_u32(&rp.b, TURN_ATTR_LIFETIME, *lifetime);
	act.reply_len = reply_finish(&rp, r);
	return act;
}

static int family_index(const struct stun_addr *a)
{
	return a->family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4;
}

struct relay_action request_refresh(struct relay *r, struct alloc *a,
				    const struct stun_msg *m,
				    const struct auth_result *auth, uint64_t now,
				    uint8_t *out, size_t cap)
{
	const struct relay_config *c = r->cfg;
	uint32_t v = c->default_lifetime;

	if (m->a[SA_LIFETIME].v && !stun_attr_u32(&m->a[SA_LIFETIME], &v))
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	if (v == 0) { /* the engine remembers this tid for a retransmit */
		uint32_t zero = 0;

		allocate_release(r, a);
		return ok(r, m, auth, out, cap, &zero);
	}
	if (v > c->max_lifetime)
		v = c->max_lifetime;
	a->granted = v;
	a->expires = now + (uint64_t)v * 1000;
	memcpy(a->refresh_tid, m->tid, STUN_TID_LEN);
	return ok(r, m, auth, out, cap, &v);
}

int request_peer_allowed(struct relay *r, const struct alloc *a,
			 const struct stun_addr *peer, enum peer_use use)
{
	const struct policy *p = r->cfg->policy;
	enum policy_verdict v;

	if (a->handle[family_index(peer)] < 0)
		return STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH;
	v = use == PEER_PERMISSION ? policy_check_permission(p, peer)
	    : use == PEER_DATAGRAM ? policy_check_datagram(p, peer)
				   : policy_check(p, peer);
	if (v == POLICY_ALLOW)
		return 0;
	stat_inc(&r->stats.policy_denied[v], 1);
	return STUN_ERR_FORBIDDEN;
}

/* s9.2: every peer address must pass before any permission is installed. */
struct relay_action request_permission(struct relay *r, struct alloc *a,
				       const struct stun_msg *m,
				       const struct auth_result *auth, uint64_t now,
				       uint8_t *out, size_t cap)
{
	struct stun_addr peer[STUN_MAX_PEER_ADDRS];
	uint64_t expires = now + (uint64_t)r->cfg->permission_lifetime * 1000;
	int code = 0;

	if (m->n_peer == 0)
		code = STUN_ERR_BAD_REQUEST;
	for (uint8_t i = 0; i < m->n_peer && !code; i++) {
		if (!stun_attr_addr(m, &m->peer[i], true, &peer[i]))
			code = STUN_ERR_BAD_REQUEST;
		else
			code = request_peer_allowed(r, a, &peer[i], PEER_PERMISSION);
	}
	for (uint8_t i = 0; i < m->n_peer && !code; i++)
		if (!perm_install(a, &peer[i], expires, now))
			code = STUN_ERR_INSUFFICIENT_CAPACITY;
	if (code)
		return reply_error(r, &a->key, m, auth, code, now, out, cap);
	return ok(r, m, auth, out, cap, NULL);
}

struct relay_action request_channel_bind(struct relay *r, struct alloc *a,
					 const struct stun_msg *m,
					 const struct auth_result *auth, uint64_t now,
					 uint8_t *out, size_t cap)
{
	const struct relay_config *c = r->cfg;
	uint64_t ch_exp = now + (uint64_t)c->channel_lifetime * 1000;
	uint64_t perm_exp = now + (uint64_t)c->permission_lifetime * 1000;
	struct stun_addr peer;
	uint32_t v;
	int code, e;

	if (a->tcp || /* channels carry datagrams: not on a TCP allocation */
	    !stun_attr_u32(&m->a[SA_CHANNEL_NUMBER], &v) ||
	    !m->a[SA_XOR_PEER_ADDRESS].v ||
	    !stun_attr_addr(m, &m->a[SA_XOR_PEER_ADDRESS], true, &peer))
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	v >>= 16;
	if (v < CHANNEL_MIN || v > c->channel_max) /* s12.1 */
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	code = request_peer_allowed(r, a, &peer, PEER_DATAGRAM);
	if (code)
		return reply_error(r, &a->key, m, auth, code, now, out, cap);
	offload_stale(r, a, now);
	e = chan_bind(a, (uint16_t)v, &peer, ch_exp, now);
	if (e == -EEXIST)
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	/* s12.2: a binding also installs or refreshes the peer's permission */
	if (e < 0 || !perm_install(a, &peer, perm_exp, now))
		return reply_error(r, &a->key, m, auth, STUN_ERR_INSUFFICIENT_CAPACITY, now,
				   out, cap);
	return ok(r, m, auth, out, cap, NULL);
}

/* s10.2: no answer either way; a bad or unpermitted Send is dropped. */
struct relay_action request_send(struct relay *r, struct alloc *a,
				 const struct stun_msg *m, uint64_t now)
{
	struct relay_action act = { .peer_handle = -1 };
	struct stun_addr peer;

	if (a->tcp || !m->a[SA_XOR_PEER_ADDRESS].v || !m->a[SA_DATA].v ||
	    !stun_attr_addr(m, &m->a[SA_XOR_PEER_ADDRESS], true, &peer)) {
		stat_inc(&r->stats.dropped[RD_BAD_INDICATION], 1);
		return act;
	}
	if (!perm_find(a, &peer, now) || a->handle[family_index(&peer)] < 0) {
		stat_inc(&r->stats.dropped[RD_NO_PERMISSION], 1);
		return act;
	}
	act.peer = peer;
	if (!engine_route(r, a, &act)) {
		stat_inc(&r->stats.dropped[RD_NO_PERMISSION], 1);
		return (struct relay_action){ .peer_handle = -1 };
	}
	if (!engine_within_bandwidth(r, a, TO_PEER, m->a[SA_DATA].len, now)) {
		stat_inc(&r->stats.dropped[RD_BANDWIDTH], 1);
		return (struct relay_action){ .peer_handle = -1 };
	}
	engine_count(r, a, TO_PEER, m->a[SA_DATA].len);
	act.peer_handle = a->handle[family_index(&peer)];
	act.data = m->a[SA_DATA].v;
	act.data_len = m->a[SA_DATA].len;
	return act;
}
