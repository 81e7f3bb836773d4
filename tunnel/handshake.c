/*
 * Initiations in, responses and cookie replies out (the module's
 * receive.c and noise.c). The order of checks is the point: what costs
 * least and needs no secret comes first.
 *
 *   1. mac1: does the sender know our public key? (a MAC, no DH)
 *   2. under load: mac2, else a cookie reply; then the source's budget
 *   3. e, es, s: one DH, and now we know who says they are calling
 *   4. the peer: unknown keys get no answer at all (with a store, keys
 *      not in memory and stored peers are asked of it: tunnel/lookup.c)
 *   5. at most 50 initiations a second per peer
 *   6. ss (precomputed) and the timestamp, which must be newer than the
 *      last one this peer sent
 *   7. the response: a fresh index and ephemeral key, two more DHs
 */
#include <string.h>

#include <sodium.h>

#include "tunnel/engine.h"

static uint32_t rnd32(void *ctx)
{
	struct tunnel *t = ctx;
	uint32_t v;

	t->ops->random(t->ops->ctx, &v, sizeof v);
	return v;
}

/* Initiations this second, and whether that (or the operator) makes us
 * demand mac2. Under load stays on for a second after the rate drops. */
static bool under_load(struct tunnel *t, uint64_t now)
{
	uint64_t second = now / 1000;

	if (second != t->second) {
		t->second = second;
		t->in_second = 0;
	}
	if (++t->in_second > t->cfg.cookie_threshold)
		t->under_load_until = now + WG_UNDER_LOAD_HOLD_MS;
	atomic_store_explicit(&t->stats.under_load,
			      t->forced || now < t->under_load_until, memory_order_relaxed);
	return t->forced || !t->cfg.cookie_threshold || now < t->under_load_until;
}

/* Steps 1 and 2: false when the message is answered (cookie) or dropped. */
static bool admit(struct tunnel *t, const struct tunnel_endpoint *from, const uint8_t *msg,
		  size_t len, uint64_t now)
{
	uint8_t src[COOKIE_SOURCE_MAX], nonce[WG_COOKIE_NONCE_LEN], reply[WG_COOKIE_REPLY_LEN];
	size_t srclen = cookie_source(&from->addr, src);
	bool loaded = under_load(t, now);

	if (loaded && cookie_secret_stale(&t->cookies, now)) {
		uint8_t secret[WG_HASH_LEN];

		t->ops->random(t->ops->ctx, secret, sizeof secret);
		cookie_new_secret(&t->cookies, secret, now);
		sodium_memzero(secret, sizeof secret);
	}
	switch (cookie_validate(&t->cookies, t->b2s, msg, len, src, srclen, loaded)) {
	case COOKIE_BAD_MAC1:
		tdrop(t, TD_MAC1);
		return false;
	case COOKIE_NO_MAC2:
		t->ops->random(t->ops->ctx, nonce, sizeof nonce);
		if (cookie_reply(&t->cookies, t->b2s, msg, len, src, srclen, nonce, reply)) {
			t->ops->send(t->ops->ctx, from, reply, sizeof reply);
			tstat(&t->stats.cookie_replies, 1);
		}
		return false;
	case COOKIE_MAC2_OK:
		break;
	}
	if (loaded && !ratelimit_allow(t->limiter, &from->addr, now)) {
		tdrop(t, TD_RATELIMIT);
		return false;
	}
	return true;
}

/* Steps 5 and 6: the peer's own checks; its replay state moves only once
 * everything has passed. */
bool handshake_fresh(struct tunnel *t, struct peer *p, struct noise_initiation *in,
		     uint64_t now)
{
	uint8_t ts[WG_TAI64N_LEN];
	bool ok = false;

	if (p->last_initiation && now >= p->last_initiation &&
	    now - p->last_initiation < 1000 / WG_INITIATIONS_PER_SECOND) {
		tdrop(t, TD_FLOOD);
		return false;
	}
	if (!noise_finish(t->b2s, in, p->ss, ts)) {
		tdrop(t, TD_HANDSHAKE);
		goto out;
	}
	if (memcmp(ts, p->timestamp, WG_TAI64N_LEN) <= 0) {
		tdrop(t, TD_TIMESTAMP);
		goto out;
	}
	memcpy(p->timestamp, ts, WG_TAI64N_LEN);
	p->last_initiation = now;
	ok = true;
out:
	sodium_memzero(ts, sizeof ts);
	return ok;
}

/* Step 7: answer, and keep the new keypair (unconfirmed) for receiving. */
void handshake_respond(struct tunnel *t, struct peer *p, const struct tunnel_endpoint *from,
		       struct noise_initiation *in, uint64_t now)
{
	uint8_t e[WG_KEY_LEN], msg[WG_RESPONSE_LEN];
	struct noise_keys keys;
	struct keypair *kp = keypair_new(p, in->sender, now);
	uint32_t index = kp ? index_add(t->index, kp, rnd32, t) : 0;
	const uint8_t *cookie;

	if (!index) {
		keypair_free(kp);
		return;
	}
	kp->local = index;
	t->ops->random(t->ops->ctx, e, sizeof e);
	cookie = p->cookie_at && now - p->cookie_at < WG_COOKIE_SECRET_MAX_AGE_MS - 5000
			 ? p->cookie : NULL;
	if (!noise_respond(t->b2s, in, e, p->psk, index, msg, &keys) ||
	    !cookie_add_macs(t->b2s, msg, sizeof msg, p->mac1_key, cookie)) {
		index_remove(t->index, index);
		keypair_free(kp);
		goto out;
	}
	memcpy(kp->send_key, keys.send, WG_KEY_LEN);
	memcpy(kp->recv_key, keys.recv, WG_KEY_LEN);
	memcpy(p->last_mac1, msg + WG_RESP_MAC1, WG_MAC_LEN);
	p->endpoint = *from;
	p->has_endpoint = true;
	session_add(t, p, kp);
	p->handshake_at = now;
	t->ops->send(t->ops->ctx, from, msg, sizeof msg);
	tstat(&t->stats.responses, 1);
out:
	sodium_memzero(e, sizeof e);
	sodium_memzero(&keys, sizeof keys);
}

void handshake_initiation(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *msg,
			  uint64_t now)
{
	struct noise_initiation in;
	struct peer *p;

	tstat(&t->stats.initiations, 1);
	if (!admit(t, from, msg, WG_INITIATION_LEN, now))
		return;
	if (!noise_open(&t->me, t->b2s, msg, &in)) {
		tdrop(t, TD_HANDSHAKE);
		return;
	}
	p = peers_find(t->peers, in.static_key);
	if (t->ops->lookup && (!p || p->stored))
		lookup_begin(t, p, from, &in, now); /* answered when the store is */
	else if (!p)
		tdrop(t, TD_UNKNOWN_PEER); /* no answer at all */
	else if (handshake_fresh(t, p, &in, now))
		handshake_respond(t, p, from, &in, now);
	sodium_memzero(&in, sizeof in);
}

/* A cookie reply to one of our responses: the peer is under load and wants
 * mac2 on the next one. */
void handshake_cookie(struct tunnel *t, const uint8_t *msg, uint64_t now)
{
	struct keypair *kp = index_find(t->index, wg_get32(msg + WG_COOKIE_RECEIVER));
	struct peer *p = kp ? kp->peer : NULL;
	uint8_t cookie[WG_MAC_LEN];

	if (!p || crypto_aead_xchacha20poly1305_ietf_decrypt(
			  cookie, NULL, NULL, msg + WG_COOKIE_ENCRYPTED, WG_MAC_LEN + WG_TAG_LEN,
			  p->last_mac1, WG_MAC_LEN, msg + WG_COOKIE_NONCE, p->reply_key) != 0) {
		tdrop(t, TD_HANDSHAKE);
		return;
	}
	memcpy(p->cookie, cookie, WG_MAC_LEN);
	p->cookie_at = now ? now : 1;
	tstat(&t->stats.cookies_taken, 1);
	sodium_memzero(cookie, sizeof cookie);
}
