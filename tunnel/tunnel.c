/*
 * The engine: lifecycle, the peer list the shell manages, dispatch by
 * message type, and the timer tick. See tunnel.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/engine.h"

struct tunnel *tunnel_new(const struct tunnel_config *cfg, const struct tunnel_ops *ops)
{
	struct tunnel *t = calloc(1, sizeof *t);
	uint8_t key[RATELIMIT_KEY_LEN];

	if (!t || sodium_init() < 0) {
		free(t);
		return NULL;
	}
	t->cfg = *cfg;
	t->ops = ops;
	ops->random(ops->ctx, key, sizeof key);
	t->b2s = blake2s_new();
	t->limiter = ratelimit_new(TUNNEL_RATE, TUNNEL_BURST, TUNNEL_RATE_TABLE, key);
	t->index = index_new(cfg->shard, cfg->shard_bits);
	t->allowed = allowedips_new();
	t->peers = peers_new();
	if (!t->b2s || !t->limiter || !t->index || !t->allowed || !t->peers ||
	    (ops->lookup && !lookup_init(t)) ||
	    !noise_static_init(&t->me, t->b2s, cfg->private_key) ||
	    !cookie_checker_init(&t->cookies, t->b2s, t->me.public_key)) {
		tunnel_free(t);
		return NULL;
	}
	sodium_memzero(t->cfg.private_key, sizeof t->cfg.private_key);
	return t;
}

static void clear_peer(void *ctx, struct peer *p)
{
	session_clear(ctx, p);
}

void tunnel_free(struct tunnel *t)
{
	if (!t)
		return;
	if (t->peers && t->index)
		peers_each(t->peers, clear_peer, t);
	peers_free(t->peers);
	lookup_free(t);
	allowedips_free(t->allowed);
	index_free(t->index);
	ratelimit_free(t->limiter);
	blake2s_free(t->b2s);
	sodium_memzero(t, sizeof *t);
	free(t);
}

const uint8_t *tunnel_public_key(const struct tunnel *t)
{
	return t->me.public_key;
}

void tunnel_private_key(const struct tunnel *t, uint8_t out[WG_KEY_LEN])
{
	memcpy(out, t->me.private_key, WG_KEY_LEN);
}

void tunnel_from_network(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *p,
			 size_t len, size_t cap, uint64_t now_ms)
{
	switch (messages_type(p, len)) {
	case WG_DATA:
		transport_receive(t, from, p, len, cap, now_ms);
		break;
	case WG_INITIATION:
		handshake_initiation(t, from, p, now_ms);
		break;
	case WG_COOKIE_REPLY:
		handshake_cookie(t, p, now_ms);
		break;
	case WG_RESPONSE:
		tdrop(t, TD_UNEXPECTED);
		break;
	default:
		tdrop(t, TD_NOT_WIREGUARD);
	}
}

void tunnel_from_tun(struct tunnel *t, uint8_t *buf, size_t len, size_t cap, uint64_t now_ms)
{
	const uint8_t *ip = buf + TUNNEL_HEADROOM;
	struct peer *p = NULL;

	if (cap < TUNNEL_HEADROOM + len + TUNNEL_TAILROOM || len < 1) {
		tdrop(t, TD_BAD_PACKET);
		return;
	}
	if (ip[0] >> 4 == 4 && len >= 20)
		p = allowedips_lookup(t->allowed, 4, ip + 16);
	else if (ip[0] >> 4 == 6 && len >= 40)
		p = allowedips_lookup(t->allowed, 6, ip + 24);
	else {
		tdrop(t, TD_BAD_PACKET);
		return;
	}
	if (!p) {
		tdrop(t, TD_NO_ROUTE);
		return;
	}
	transport_send(t, p, buf, len, now_ms);
}

void tunnel_tick(struct tunnel *t, uint64_t now_ms)
{
	struct peer *p = t->active, *next;
	bool report = t->cfg.traffic_interval_ms && now_ms - t->traffic_at >= t->cfg.traffic_interval_ms;

	if (report)
		t->traffic_at = now_ms;
	for (; p; p = next) {
		next = p->active_next; /* session_tick may take p off the list */
		if (report)
			session_report(t, p);
		session_tick(t, p, now_ms);
	}
	if (!t->forced && now_ms >= t->under_load_until)
		atomic_store_explicit(&t->stats.under_load, false, memory_order_relaxed);
	t->now = now_ms;
	lookup_tick(t, now_ms);
}

void tunnel_force_cookies(struct tunnel *t, bool on)
{
	t->forced = on;
	atomic_store_explicit(&t->stats.under_load, on, memory_order_relaxed);
}

/* ---- peers ----------------------------------------------------------------- */

/* A new peer for key, its ss given (the lookup worked it out already) or
 * worked out here: NULL for a key that makes an all-zero DH, or no memory
 * (*rc says which). */
static struct peer *insert(struct tunnel *t, const uint8_t key[WG_KEY_LEN],
			   const uint8_t *given_ss, int *rc)
{
	uint8_t ss[WG_KEY_LEN];
	struct peer *p;

	*rc = -EINVAL;
	if (given_ss)
		memcpy(ss, given_ss, WG_KEY_LEN);
	else if (!noise_precompute(&t->me, key, ss))
		return NULL;
	*rc = -ENOMEM;
	p = peers_insert(t->peers, key);
	if (p) {
		memcpy(p->ss, ss, WG_KEY_LEN);
		if (!blake2s_hash(t->b2s, p->mac1_key, (const uint8_t *)WG_LABEL_MAC1, 8,
				  p->public_key, WG_KEY_LEN) ||
		    !blake2s_hash(t->b2s, p->reply_key, (const uint8_t *)WG_LABEL_COOKIE, 8,
				  p->public_key, WG_KEY_LEN)) {
			peers_erase(t->peers, p);
			p = NULL;
		} else {
			tstat(&t->stats.peers, 1);
		}
	}
	sodium_memzero(ss, sizeof ss);
	return p;
}

int tunnel_peer_set(struct tunnel *t, const struct tunnel_peer_conf *pc)
{
	return tunnel_peer_set_ss(t, pc, NULL);
}

int tunnel_peer_set_ss(struct tunnel *t, const struct tunnel_peer_conf *pc,
		       const uint8_t *ss)
{
	struct peer *p = peers_find(t->peers, pc->public_key);
	int rc;

	if (sodium_memcmp(pc->public_key, t->me.public_key, WG_KEY_LEN) == 0)
		return -EINVAL;
	if (!p && !(p = insert(t, pc->public_key, ss, &rc)))
		return rc;
	/* a new preshared key takes effect at the next handshake */
	memset(p->psk, 0, WG_KEY_LEN);
	if (pc->has_preshared_key)
		memcpy(p->psk, pc->preshared_key, WG_KEY_LEN);
	p->has_psk = pc->has_preshared_key;
	p->keepalive = pc->keepalive;
	if (pc->has_endpoint) {
		p->endpoint = pc->endpoint;
		p->has_endpoint = true;
	}
	if (!pc->stored) /* the operator's now: kept, and answered from memory */
		lookup_untrack(t, p);
	else if (!p->stored && t->pending) /* the store's now */
		lookup_track(t, p, t->now);
	return 0;
}

int tunnel_peer_allow(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN], bool replace,
		      int family, const uint8_t *ip, uint8_t plen)
{
	struct peer *p = peers_find(t->peers, public_key);

	if (!p)
		return -ENOENT;
	if (replace)
		allowedips_remove_value(t->allowed, p);
	return ip ? allowedips_insert(t->allowed, family, ip, plen, p) : 0;
}

int tunnel_peer_disallow(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN], int family,
			 const uint8_t *ip, uint8_t plen)
{
	struct peer *p = peers_find(t->peers, public_key);

	if (!p)
		return -ENOENT;
	allowedips_remove(t->allowed, family, ip, plen, p);
	return 0;
}

int tunnel_peer_get(const struct tunnel *t, const uint8_t public_key[WG_KEY_LEN],
		    struct tunnel_peer_conf *pc)
{
	const struct peer *p = peers_find(t->peers, public_key);

	if (!p)
		return -ENOENT;
	memset(pc, 0, sizeof *pc);
	memcpy(pc->public_key, p->public_key, WG_KEY_LEN);
	memcpy(pc->preshared_key, p->psk, WG_KEY_LEN);
	pc->has_preshared_key = p->has_psk;
	pc->keepalive = p->keepalive;
	pc->has_endpoint = p->has_endpoint;
	pc->endpoint = p->endpoint;
	pc->stored = p->stored;
	return 0;
}

struct keys {
	uint8_t (*k)[WG_KEY_LEN];
	size_t n;
};

static void key_of(void *ctx, struct peer *p)
{
	struct keys *ks = ctx;

	memcpy(ks->k[ks->n++], p->public_key, WG_KEY_LEN);
}

int tunnel_peer_clear(struct tunnel *t)
{
	struct keys ks = { .k = malloc((peers_count(t->peers) + 1) * WG_KEY_LEN) };

	if (!ks.k)
		return -ENOMEM;
	/* keys first: removal moves entries in the table being walked */
	peers_each(t->peers, key_of, &ks);
	for (size_t i = 0; i < ks.n; i++)
		tunnel_peer_remove(t, ks.k[i]);
	free(ks.k);
	return 0;
}

int tunnel_peer_remove(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN])
{
	struct peer *p = peers_find(t->peers, public_key);

	if (!p)
		return -ENOENT;
	session_clear(t, p);
	lookup_untrack(t, p);
	allowedips_remove_value(t->allowed, p);
	peers_erase(t->peers, p);
	tstat(&t->stats.peers, (uint64_t)-1);
	return 0;
}

bool tunnel_peer_exists(const struct tunnel *t, const uint8_t public_key[WG_KEY_LEN])
{
	return peers_find(t->peers, public_key) != NULL;
}

struct each {
	void (*fn)(void *ctx, const struct tunnel_peer_info *p);
	void (*allowed)(void *ctx, const uint8_t *public_key, int family, const uint8_t *ip,
			uint8_t plen);
	void *ctx;
};

static void show_peer(void *ctx, struct peer *p)
{
	const struct each *e = ctx;
	struct tunnel_peer_info info = {
		.public_key = p->public_key,
		.preshared_key = p->has_psk ? p->psk : NULL,
		.keepalive = p->keepalive,
		.endpoint = p->has_endpoint ? &p->endpoint : NULL,
		.last_handshake_ms = p->handshake_at,
		.rx_bytes = p->rx_bytes,
		.tx_bytes = p->tx_bytes,
	};

	for (unsigned i = 0; i < TUNNEL_SESSIONS; i++)
		info.sessions += p->kp[i] != NULL;
	e->fn(e->ctx, &info);
}

void tunnel_peer_each(const struct tunnel *t,
		      void (*fn)(void *ctx, const struct tunnel_peer_info *p), void *ctx)
{
	struct each e = { .fn = fn, .ctx = ctx };

	peers_each(t->peers, show_peer, &e);
}

static void show_prefix(void *ctx, int family, const uint8_t *ip, uint8_t plen, void *value)
{
	const struct each *e = ctx;
	const struct peer *p = value;

	e->allowed(e->ctx, p->public_key, family, ip, plen);
}

void tunnel_allowed_each(const struct tunnel *t,
			 void (*fn)(void *ctx, const uint8_t *public_key, int family,
				    const uint8_t *ip, uint8_t plen),
			 void *ctx)
{
	struct each e = { .allowed = fn, .ctx = ctx };

	allowedips_each(t->allowed, show_prefix, &e);
}

const struct tunnel_stats *tunnel_stats(const struct tunnel *t)
{
	return &t->stats;
}

const char *tunnel_drop_name(enum tunnel_drop d)
{
	static const char *const names[TD_COUNT] = {
		"not_wireguard", "mac1",         "unknown_peer", "handshake",
		"timestamp",     "flood",        "ratelimit",    "unknown_index",
		"expired",       "decrypt",      "replay",       "allowed_ips",
		"no_route",      "no_session",   "bad_packet",   "unexpected",
		"lookup_limit",  "lookup_timeout", "store_down",
	};

	return d < TD_COUNT ? names[d] : "unknown";
}
