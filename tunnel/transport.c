/*
 * Data messages: open, check, route; seal, send. This is the hot path:
 * one index lookup, one AEAD call and one or two prefix lookups per
 * packet, in place, with no allocation, lock or log line.
 *
 * The counter is checked against the replay window after the packet has
 * authenticated (a forged counter must not move the window). The inner
 * source must be one of the sender's allowed IPs. The destination decides:
 * another peer's prefix (hub: sealed again for that peer, in the same
 * buffer), else the TUN device (gateway), else nowhere.
 */
#include <string.h>

#include "tunnel/engine.h"

/* An inner IP packet's version, real length (padding cut off) and
 * addresses; false if it is neither IPv4 nor IPv6 or is cut short. */
struct inner {
	int family;
	size_t len;
	const uint8_t *src, *dst;
};

static bool inner_of(const uint8_t *p, size_t len, struct inner *in)
{
	if (len >= 20 && p[0] >> 4 == 4) {
		size_t total = (size_t)p[2] << 8 | p[3];

		if (total < 20 || total > len || (p[0] & 0xF) < 5)
			return false;
		*in = (struct inner){ 4, total, p + 12, p + 16 };
		return true;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		size_t total = ((size_t)p[4] << 8 | p[5]) + 40;

		if (total > len)
			return false;
		*in = (struct inner){ 6, total, p + 8, p + 24 };
		return true;
	}
	return false;
}

void transport_send(struct tunnel *t, struct peer *p, uint8_t *buf, size_t len, uint64_t now)
{
	struct keypair *kp = p->current;
	size_t n;

	if (!kp || !p->has_endpoint || !keypair_alive(kp, now, true)) {
		tdrop(t, TD_NO_SESSION);
		return;
	}
	n = keypair_seal(kp, buf, len, t->cfg.mtu);
	if (!n) {
		tdrop(t, TD_EXPIRED);
		return;
	}
	p->last_sent = now;
	p->keepalive_due = 0;
	p->tx_bytes += n;
	if (len) {
		tstat(&t->stats.tx_packets, 1);
		tstat(&t->stats.tx_bytes, len);
	}
	t->ops->send(t->ops->ctx, &p->endpoint, buf, n);
}

/* Where an authenticated packet from p goes. */
static void route(struct tunnel *t, struct peer *p, uint8_t *msg, size_t plain, size_t cap,
		  uint64_t now)
{
	uint8_t *ip = msg + WG_DATA_HEADER_LEN;
	struct inner in;
	struct peer *to;

	if (!inner_of(ip, plain, &in)) {
		tdrop(t, TD_BAD_PACKET);
		return;
	}
	if (allowedips_lookup(t->allowed, in.family, in.src) != p) {
		tdrop(t, TD_ALLOWED_IPS);
		return;
	}
	tstat(&t->stats.rx_packets, 1);
	tstat(&t->stats.rx_bytes, in.len);
	/* the module's rule: data in, and nothing back within 10 s, then a
	 * keepalive */
	if (!p->keepalive_due)
		p->keepalive_due = now + WG_KEEPALIVE_MS;
	to = allowedips_lookup(t->allowed, in.family, in.dst);
	if (to && to != p && cap >= WG_DATA_HEADER_LEN + in.len + TUNNEL_TAILROOM)
		transport_send(t, to, msg, in.len, now);
	else if (!to && t->cfg.gateway)
		t->ops->deliver(t->ops->ctx, ip, in.len);
	else
		tdrop(t, TD_NO_ROUTE);
}

void transport_receive(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *msg,
		       size_t len, size_t cap, uint64_t now)
{
	struct keypair *kp = index_find(t->index, wg_get32(msg + WG_DATA_RECEIVER));
	struct peer *p;

	if (!kp) {
		tdrop(t, TD_UNKNOWN_INDEX);
		return;
	}
	if (!keypair_alive(kp, now, false)) {
		tdrop(t, TD_EXPIRED);
		return;
	}
	if (!keypair_open(kp, msg, len)) {
		tdrop(t, TD_DECRYPT);
		return;
	}
	if (!replay_check(&kp->replay, wg_get64(msg + WG_DATA_COUNTER))) {
		tdrop(t, TD_REPLAY);
		return;
	}
	p = kp->peer;
	if (!kp->confirmed)
		session_confirm(t, kp);
	/* roaming: the endpoint is where the latest authenticated packet came from */
	p->endpoint = *from;
	p->has_endpoint = true;
	p->rx_bytes += len;
	if (len > WG_DATA_MIN_LEN)
		route(t, p, msg, len - WG_DATA_MIN_LEN, cap, now);
}
