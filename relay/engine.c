/*
 * The engine: lifecycle, the request gate (rate limit, authentication,
 * 5-tuple and username checks) and the two hot-path calls. Time arrives as
 * milliseconds; nothing here reads a clock or touches a socket.
 */
#include <stdlib.h>
#include <string.h>

#include "relay/engine.h"

struct relay *relay_new(const struct relay_config *cfg, const struct relay_ops *ops)
{
	struct relay *r = calloc(1, sizeof *r);
	uint8_t key[16];
	uint64_t seed;

	if (!r)
		return NULL;
	r->cfg = cfg;
	r->ops = ops;
	ops->random(ops->ctx, &seed, sizeof seed);
	ops->random(ops->ctx, key, sizeof key);
	r->allocs = alloc_table_new(cfg->max_allocations, seed);
	if (cfg->unauth_rate)
		r->unauth = ratelimit_new(cfg->unauth_rate, cfg->unauth_burst ? cfg->unauth_burst
									: cfg->unauth_rate,
					  UNAUTH_TABLE, key);
	if (!r->allocs || (cfg->unauth_rate && !r->unauth) || persist_init(r) < 0) {
		relay_free(r);
		return NULL;
	}
	return r;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	r->closing = true; /* a stop is not a deletion: the records stay */
	for (uint32_t id = 0; r->allocs && id < alloc_capacity(r->allocs); id++) {
		struct alloc *a = alloc_by_id(r->allocs, id);

		if (a)
			allocate_release(r, a);
	}
	tcp_free_all(r);
	persist_free(r);
	alloc_table_free(r->allocs);
	ratelimit_free(r->unauth);
	free(r);
}

static void remember_deleted(struct relay *r, const struct relay_key *k,
			     const uint8_t *tid, uint64_t now)
{
	struct gone *g = &r->gone[r->gone_next++ % GONE_MAX];

	g->key = *k;
	memcpy(g->tid, tid, STUN_TID_LEN);
	g->at = now;
}

static bool was_deleted(const struct relay *r, const struct relay_key *k,
			const uint8_t *tid, uint64_t now)
{
	for (int i = 0; i < GONE_MAX; i++) {
		const struct gone *g = &r->gone[i];

		if (g->at && now - g->at < GONE_MS &&
		    memcmp(g->tid, tid, STUN_TID_LEN) == 0 &&
		    g->key.listener == k->listener && addr_equal(&g->key.client, &k->client))
			return true;
	}
	return false;
}

/* RFC 8656 s7.3: the retransmit of a deleting Refresh succeeds again. */
static struct relay_action redelete(struct relay *r, const struct stun_msg *m,
				    const struct auth_result *auth, uint8_t *out,
				    size_t cap)
{
	struct relay_action act = { .peer_handle = -1 };
	struct reply rp;

	reply_start(&rp, r, m, auth, STUN_SUCCESS, out, cap);
	stun_put_u32(&rp.b, TURN_ATTR_LIFETIME, 0);
	act.reply_len = reply_finish(&rp, r);
	return act;
}

/* a request changed a: the store and the fast path hear of it */
static void changed(struct relay *r, struct alloc *a, uint64_t now)
{
	persist_mark(r, a);
	offload_sync(r, a, now);
}

static struct relay_action on_allocation(struct relay *r, struct alloc *a,
					 const struct stun_msg *m,
					 const struct auth_result *auth, uint64_t now,
					 uint8_t *out, size_t cap)
{
	struct relay_action act;

	/* s5: every request on an allocation must come from its user */
	if (auth->user_len != a->user_len || memcmp(auth->user, a->user, a->user_len))
		return reply_error(r, &a->key, m, auth, STUN_ERR_WRONG_CREDENTIALS, now,
				   out, cap);
	switch (m->method) {
	case TURN_REFRESH: {
		struct relay_key k = a->key;

		act = request_refresh(r, a, m, auth, now, out, cap);
		a = alloc_find(r->allocs, &k);
		if (!a)
			remember_deleted(r, &k, m->tid, now);
		else if (!act.error)
			changed(r, a, now);
		return act;
	}
	case TURN_CREATE_PERMISSION:
		act = request_permission(r, a, m, auth, now, out, cap);
		if (!act.error)
			changed(r, a, now);
		return act;
	case TURN_CHANNEL_BIND:
		act = request_channel_bind(r, a, m, auth, now, out, cap);
		if (!act.error)
			changed(r, a, now);
		return act;
	case TURN_CONNECT:
		return tcp_connect_request(r, a, m, auth, now, out, cap);
	default: /* ConnectionBind on a control connection among them (RFC 6062 s5.4) */
		return reply_error(r, &a->key, m, auth, STUN_ERR_BAD_REQUEST, now, out, cap);
	}
}

static struct relay_action indication(struct relay *r, const struct relay_key *k,
				      const struct stun_msg *m, uint64_t now)
{
	struct relay_action none = { .peer_handle = -1 };
	struct alloc *a = alloc_find(r->allocs, k);

	if (m->method != TURN_SEND)
		return none;
	if (!a) {
		stat_inc(&r->stats.dropped[RD_NO_ALLOCATION], 1);
		return none;
	}
	return request_send(r, a, m, now);
}

static struct relay_action authenticated(struct relay *r, const struct relay_key *k,
					 const struct stun_msg *m,
					 const struct auth_result *auth, uint64_t now,
					 uint8_t *out, size_t cap)
{
	struct alloc *a;

	if (m->method == TURN_ALLOCATE)
		return allocate_handle(r, k, m, auth, now, out, cap);
	a = alloc_find(r->allocs, k);
	if (a)
		return on_allocation(r, a, m, auth, now, out, cap);
	if (m->method == TURN_CONNECTION_BIND)
		return tcp_bind_request(r, k, m, auth, now, out, cap);
	if (m->method == TURN_REFRESH && was_deleted(r, k, m->tid, now))
		return redelete(r, m, auth, out, cap);
	return reply_error(r, k, m, auth, STUN_ERR_ALLOCATION_MISMATCH, now, out, cap);
}

/* Authenticate m from k: its own nonce, or for a ConnectionBind the one its
 * control connection was given. */
static int check(struct relay *r, const struct relay_key *k, const struct stun_msg *m,
		 uint64_t now_ms, struct auth_result *auth)
{
	const struct relay_config *c = r->cfg;
	struct stun_addr origin;

	if (auth_check(c->auth, m, now_ms / 1000, &k->client, c->nonce_secret,
		       (size_t)c->n_nonce_secrets, auth) == 0)
		return 0;
	if (auth->reason != AUTH_BAD_NONCE || !tcp_bind_origin(r, k, m, &origin))
		return auth->code;
	return auth_check(c->auth, m, now_ms / 1000, &origin, c->nonce_secret,
			  (size_t)c->n_nonce_secrets, auth);
}

/*
 * Whether to answer a request that failed authentication, or drop it: a
 * source's budget of unauthenticated answers (unauthorized-ratelimit-rps).
 * Over UDP every such answer costs a token: the source may be forged, and a
 * challenge is bigger than the request it answers. Over TCP and TLS the
 * handshake proved the address, so only wrong credentials cost one (a
 * guesser's budget). A request that then authenticates gives the token
 * back, so clients that complete the handshake, however many share one
 * address, are never throttled; user-quota and total-quota bound them.
 */
static bool unauth_allow(struct relay *r, const struct relay_key *k, enum auth_fail why,
			 uint64_t now_ms)
{
	if (!r->unauth)
		return true;
	if (k->transport != TURN_TRANSPORT_UDP &&
	    (why == AUTH_NO_INTEGRITY || why == AUTH_STALE_NONCE || why == AUTH_BAD_NONCE))
		return true;
	return ratelimit_allow(r->unauth, &k->client, now_ms);
}

struct relay_action relay_from_client(struct relay *r, const struct relay_key *k,
				      const struct stun_msg *m, uint64_t now_ms,
				      uint8_t *out, size_t cap)
{
	struct relay_action none = { .peer_handle = -1 }, act;
	struct auth_result auth;

	if (m->cls == STUN_INDICATION)
		return indication(r, k, m, now_ms);
	if (m->cls != STUN_REQUEST)
		return none;
	if (m->n_unknown) /* RFC 8489 s6.3.1.1 */
		return reply_error(r, k, m, NULL, STUN_ERR_UNKNOWN_ATTRIBUTE, now_ms, out, cap);
	if (check(r, k, m, now_ms, &auth) != 0) {
		/* a first request without credentials is the normal challenge */
		if (auth.reason == AUTH_NO_INTEGRITY)
			stat_inc(&r->stats.challenges, 1);
		else
			stat_inc(&r->stats.auth_failures[auth.reason], 1);
		if (!unauth_allow(r, k, auth.reason, now_ms)) {
			stat_inc(&r->stats.rate_limited, 1);
			none.limited = true;
			return none;
		}
		act = reply_error(r, k, m, &auth, auth.code, now_ms, out, cap);
		if (auth.reason != AUTH_NO_INTEGRITY)
			act.auth_fail = (uint8_t)auth.reason;
		return act;
	}
	/* over UDP, the source's challenge was a client's, not aimed at a
	 * victim (over TCP and TLS challenges cost nothing to refund) */
	if (r->unauth && k->transport == TURN_TRANSPORT_UDP)
		ratelimit_refund(r->unauth, &k->client, now_ms);
	act = authenticated(r, k, m, &auth, now_ms, out, cap);
	auth_result_wipe(&auth);
	return act;
}

/* A token bucket in bytes, refilled by elapsed time, one second deep. */
static bool take(uint64_t rate, uint64_t *at, uint64_t *tokens, size_t len, uint64_t now)
{
	if (!rate)
		return true;
	if (now > *at) {
		uint64_t add = (now - *at) * rate / 1000;

		*tokens = *tokens + add > rate ? rate : *tokens + add;
		*at = now;
	}
	if (*tokens < len)
		return false;
	*tokens -= len;
	return true;
}

/* max-bps per allocation, then this engine's share of bps-capacity. */
bool engine_within_bandwidth(struct relay *r, struct alloc *a, enum direction d,
			     size_t len, uint64_t now)
{
	return take(r->cfg->max_bps, &a->bucket_ms[d], &a->tokens[d], len, now) &&
	       take(r->cfg->capacity_bps, &r->cap_ms[d], &r->cap_tokens[d], len, now);
}

struct relay_action relay_from_client_channel(struct relay *r, const struct relay_key *k,
					      uint16_t channel, const uint8_t *data,
					      size_t len, uint64_t now_ms)
{
	struct relay_action act = { .peer_handle = -1 };
	struct alloc *a = alloc_find(r->allocs, k);
	struct chan *c;

	if (!a) {
		stat_inc(&r->stats.dropped[RD_NO_ALLOCATION], 1);
		return act;
	}
	c = chan_by_number(a, channel, now_ms);
	if (!c) {
		stat_inc(&r->stats.dropped[RD_NO_CHANNEL], 1);
		return act;
	}
	act.peer = c->peer;
	if (!engine_route(r, a, &act)) {
		stat_inc(&r->stats.dropped[RD_NO_PERMISSION], 1);
		return (struct relay_action){ .peer_handle = -1 };
	}
	if (!engine_within_bandwidth(r, a, TO_PEER, len, now_ms)) {
		stat_inc(&r->stats.dropped[RD_BANDWIDTH], 1);
		return (struct relay_action){ .peer_handle = -1 };
	}
	act.peer_handle = a->handle[c->peer.family == STUN_FAMILY_IPV6 ? ALLOC_V6 : ALLOC_V4];
	act.data = data;
	act.data_len = len;
	engine_count(r, a, TO_PEER, len);
	return act;
}

bool engine_route(const struct relay *r, const struct alloc *a, struct relay_action *act)
{
	const struct policy *p = r->cfg->policy;
	int i;

	act->alloc = a->id;
	if (!p)
		return true;
	i = policy_local(p, &act->peer);
	if (i >= 0) {
		act->local = true;
		act->local_index = (uint8_t)i;
		return true;
	}
	return !policy_port_refused(p, &act->peer);
}

/* Zero the 0-3 padding bytes after len (the shell leaves that tailroom). */
static size_t pad4(uint8_t *data, size_t len)
{
	size_t pad = (4 - (len & 3)) & 3;

	memset(data + len, 0, pad);
	return len + pad;
}

/*
 * s12.4 ChannelData or s11.4 Data indication, written into the headroom in
 * front of data, so the payload itself is never copied.
 */
static size_t frame(const struct alloc *a, const struct chan *c,
		    const struct stun_addr *peer, uint8_t *data, size_t len, uint8_t **msg)
{
	uint8_t tid[STUN_TID_LEN] = { 0 };
	struct stun_builder b;
	size_t hdr, body;

	if (c) {
		*msg = data - CHANNEL_HEADER_LEN;
		channel_put_header(*msg, c->number, (uint16_t)len);
		/* over streams ChannelData is padded to 4 (s12.5) */
		if (a->key.transport == TURN_TRANSPORT_TCP)
			len = pad4(data, len);
		return CHANNEL_HEADER_LEN + len;
	}
	hdr = STUN_HEADER_LEN + STUN_ATTR_HEADER_LEN +
	      (peer->family == STUN_FAMILY_IPV6 ? 20 : 8) + STUN_ATTR_HEADER_LEN;
	if (len > 65535 - hdr)
		return 0;
	*msg = data - hdr;
	memcpy(tid, &a->id, sizeof a->id); /* indications are never answered */
	stun_build_init(&b, *msg, hdr - STUN_ATTR_HEADER_LEN,
			stun_type(TURN_DATA, STUN_INDICATION), tid);
	stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer, true);
	if (stun_build_finish(&b) != hdr - STUN_ATTR_HEADER_LEN)
		return 0;
	/* the DATA attribute's header, then the payload already in place */
	data[-4] = TURN_ATTR_DATA >> 8;
	data[-3] = TURN_ATTR_DATA & 0xff;
	data[-2] = (uint8_t)(len >> 8);
	data[-1] = (uint8_t)len;
	body = hdr - STUN_HEADER_LEN + pad4(data, len);
	(*msg)[2] = (uint8_t)(body >> 8);
	(*msg)[3] = (uint8_t)body;
	return STUN_HEADER_LEN + body;
}

const struct relay_key *relay_from_peer(struct relay *r, uint32_t id,
					const struct stun_addr *peer, uint8_t *data,
					size_t len, uint64_t now_ms, uint8_t **msg,
					size_t *msg_len)
{
	struct alloc *a = alloc_by_id(r->allocs, id);

	if (!a)
		return NULL;
	if (!perm_find(a, peer, now_ms) || /* s10.3, s11.6: silently dropped */
	    (r->cfg->policy && policy_port_refused(r->cfg->policy, peer))) {
		stat_inc(&r->stats.dropped[RD_NO_PERMISSION], 1);
		return NULL;
	}
	if (!engine_within_bandwidth(r, a, TO_CLIENT, len, now_ms)) {
		stat_inc(&r->stats.dropped[RD_BANDWIDTH], 1);
		return NULL;
	}
	*msg_len = frame(a, chan_by_peer(a, peer, now_ms), peer, data, len, msg);
	if (!*msg_len)
		return NULL;
	engine_count(r, a, TO_CLIENT, len);
	return &a->key;
}

bool relay_serves(const struct relay *r, uint32_t id, const struct stun_addr *client)
{
	const struct alloc *a = alloc_by_id(r->allocs, id);

	return a && addr_equal(&a->key.client, client);
}

void relay_tick(struct relay *r, uint64_t now_ms)
{
	uint32_t cap = alloc_capacity(r->allocs);
	/* sweep the whole table about once per call; cheap at 100k entries */
	for (uint32_t n = 0; n < cap; n++) {
		struct alloc *a = alloc_by_id(r->allocs, r->sweep_next);

		r->sweep_next = (r->sweep_next + 1) % cap;
		if (a && a->expires <= now_ms)
			allocate_release(r, a);
		else if (a)
			offload_lapsed(r, a, now_ms);
	}
	tcp_tick(r, now_ms);
}

void relay_client_gone(struct relay *r, const struct relay_key *k)
{
	struct alloc *a = alloc_find(r->allocs, k);

	if (a)
		allocate_release(r, a);
}

bool relay_has_allocation(const struct relay *r, const struct relay_key *k)
{
	return alloc_find(r->allocs, k) != NULL;
}

const struct relay_stats *relay_stats(const struct relay *r)
{
	return &r->stats;
}
