/*
 * The tunnel engine without sockets: a handshake checked byte for byte
 * against one made by an independent implementation (tests/interop/
 * wgtool.py vector: python3-nacl and hashlib), then an initiator written
 * here from the protocol drives the engine through key confirmation, the
 * data path, allowed IPs, replays, floods, cookies, eight sessions at once,
 * hub routing, roaming, keepalives and expiry, with time as a parameter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#define WGINIT_CHECK(x) assert_true(x)
#include "tests/unit/wginit.h"

#define T0 1700000000000ull /* ms */

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
	return n;
}

/* ---- the world: the engine's ops, recorded ---------------------------------- */

struct sent {
	struct tunnel_endpoint to;
	uint8_t p[2048];
	size_t len;
};

struct world {
	struct tunnel *t;
	struct tunnel_ops ops;
	struct blake2s *b;
	struct sent sent[16];
	int n_sent;
	uint8_t delivered[2048];
	size_t delivered_len;
	int n_delivered;
	/* random: scripted bytes first, then from libsodium */
	uint8_t script[256];
	size_t script_len, script_pos;
	uint8_t responder_private[32], responder_public[32];
	/* the store's questions (ops.lookup) */
	struct {
		uint8_t key[32], ts[12];
		uint32_t ticket;
	} lk[64];
	int n_lk;
	int ups, downs; /* session events */
	uint64_t rx_reported, tx_reported;
	int reports;
};

static void w_send(void *ctx, const struct tunnel_endpoint *to, const uint8_t *p, size_t len)
{
	struct world *w = ctx;
	struct sent *s = &w->sent[w->n_sent++ % 16];

	assert_true(len <= sizeof s->p);
	s->to = *to;
	memcpy(s->p, p, len);
	s->len = len;
}

static void w_deliver(void *ctx, const uint8_t *p, size_t len)
{
	struct world *w = ctx;

	memcpy(w->delivered, p, len);
	w->delivered_len = len;
	w->n_delivered++;
}

static void w_random(void *ctx, void *buf, size_t len)
{
	struct world *w = ctx;

	if (w->script_pos + len <= w->script_len) {
		memcpy(buf, w->script + w->script_pos, len);
		w->script_pos += len;
		return;
	}
	randombytes_buf(buf, len);
}

static struct sent *last_sent(struct world *w)
{
	assert_true(w->n_sent > 0);
	return &w->sent[(w->n_sent - 1) % 16];
}

static void world_start(struct world *w, uint32_t cookie_threshold, bool gateway)
{
	struct tunnel_config cfg = { .cookie_threshold = cookie_threshold, .gateway = gateway };

	memcpy(cfg.private_key, w->responder_private, 32);
	w->ops = (struct tunnel_ops){ .ctx = w, .send = w_send, .deliver = w_deliver,
				      .random = w_random };
	w->t = tunnel_new(&cfg, &w->ops);
	assert_non_null(w->t);
	memcpy(w->responder_public, tunnel_public_key(w->t), 32);
}

static void w_lookup(void *ctx, const uint8_t key[32], const uint8_t ts[12], uint32_t ticket)
{
	struct world *w = ctx;

	assert_true(w->n_lk < 64);
	memcpy(w->lk[w->n_lk].key, key, 32);
	memcpy(w->lk[w->n_lk].ts, ts, 12);
	w->lk[w->n_lk++].ticket = ticket;
}

static void w_session(void *ctx, const struct tunnel_session_event *ev)
{
	struct world *w = ctx;

	assert_non_null(ev->public_key);
	if (ev->up) {
		assert_non_null(ev->endpoint); /* where the handshake came from */
		w->ups++;
	} else {
		w->downs++;
	}
}

static void w_traffic(void *ctx, const uint8_t key[32], uint64_t rx, uint64_t tx)
{
	struct world *w = ctx;

	assert_true(rx || tx);
	w->rx_reported += rx;
	w->tx_reported += tx;
	w->reports++;
}

/* The engine again, with a store: rate lookups a second, idle and max for
 * stored peers. */
static void world_store(struct world *w, uint32_t rate, uint32_t idle_ms, uint32_t max)
{
	struct tunnel_config cfg = { .cookie_threshold = 1000, .gateway = true,
				     .lookup_rate = rate, .lookup_timeout_ms = 1000,
				     .peer_idle_ms = idle_ms, .max_stored_peers = max,
				     .traffic_interval_ms = 5000 };

	tunnel_free(w->t);
	memcpy(cfg.private_key, w->responder_private, 32);
	w->ops.lookup = w_lookup;
	w->ops.session = w_session;
	w->ops.traffic = w_traffic;
	w->t = tunnel_new(&cfg, &w->ops);
	assert_non_null(w->t);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);

	w->b = blake2s_new();
	randombytes_buf(w->responder_private, 32);
	world_start(w, 1000, true);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	tunnel_free(w->t);
	blake2s_free(w->b);
	free(w);
	return 0;
}

/* An IPv4 packet of len bytes from src to dst (last octets of 10.0.0.x). */
static size_t ipv4(uint8_t *p, uint8_t src, uint8_t dst, size_t len)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
	p[8] = 64, p[9] = 17;
	memcpy(p + 12, (uint8_t[4]){ 10, 0, 0, src }, 4);
	memcpy(p + 16, (uint8_t[4]){ 10, 0, 0, dst }, 4);
	for (size_t i = 20; i < len; i++)
		p[i] = (uint8_t)i;
	return len;
}

static void net_in(struct world *w, const struct initiator *x, uint8_t *p, size_t len,
		   uint64_t now)
{
	uint8_t buf[2048];

	memcpy(buf, p, len);
	tunnel_from_network(w->t, &x->at, buf, len, sizeof buf, now);
}

/* Add x as a peer with prefix 10.0.0.<host>/32. */
static void add_peer(struct world *w, const struct initiator *x, uint8_t host)
{
	struct tunnel_peer_conf pc = { 0 };

	memcpy(pc.public_key, x->pub, 32);
	assert_int_equal(tunnel_peer_set(w->t, &pc), 0);
	assert_int_equal(tunnel_peer_allow(w->t, x->pub, true, 4, (uint8_t[4]){ 10, 0, 0, host },
					   32), 0);
}

/* A full handshake from x at now: true if answered and checked. */
static bool handshake(struct world *w, struct initiator *x, uint64_t now)
{
	uint8_t msg[148];
	int before = w->n_sent;

	initiation(w->b, x, msg);
	net_in(w, x, msg, sizeof msg, now);
	if (w->n_sent == before)
		return false;
	return response(w->b, x, last_sent(w)->p, last_sent(w)->len);
}

static uint64_t dropped(struct world *w, enum tunnel_drop d)
{
	return tunnel_stats(w->t)->dropped[d];
}

/* ---- the tests ------------------------------------------------------------- */

/* Python's handshake from fixed keys, replayed into ternd with its
 * ephemeral key and index scripted: the response must match to the byte. */
static void test_known_answer(void **state)
{
	struct world *w = *state;
	uint8_t init[148], want[92], ipriv[32], ipub[32], eph[32], psk[32];
	struct tunnel_peer_conf pc = { .has_preshared_key = true };
	struct initiator x;

	tunnel_free(w->t);
	unhex(w->responder_private, 32,
	      "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40");
	world_start(w, 1000, true);
	unhex(ipriv, 32, "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
	unhex(eph, 32, "6162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80");
	unhex(psk, 32, "7777777777777777777777777777777777777777777777777777777777777777");
	unhex(init, 148,
	      "010000004433221164b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466"
	      "158a0e4ca242d151ca97ab90159a98b67e616625e68b4065d357376b6598e644ad7d678c0295d22d"
	      "e4cb43d5135581ed36346bfa7cf42a12266235863f4efbc62519f49f8f62661b44a6a84392de152f"
	      "aa48fb09b8e579485abacbea00000000000000000000000000000000");
	unhex(want, 92,
	      "020000008877665544332211244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebf"
	      "e7adad49050b31cae27fdf641c3bb19bb97c83b5d21ba9217cd6f2b1b061977b4a04f33c00000000"
	      "000000000000000000000000");
	crypto_scalarmult_base(ipub, ipriv);
	memcpy(pc.public_key, ipub, 32);
	memcpy(pc.preshared_key, psk, 32);
	assert_int_equal(tunnel_peer_set(w->t, &pc), 0);
	/* the engine asks for the index (4 bytes), then the ephemeral key */
	memcpy(w->script, (uint8_t[4]){ 0x88, 0x77, 0x66, 0x55 }, 4);
	memcpy(w->script + 4, eph, 32);
	w->script_len = 36;
	initiator_init(&x, w->responder_public, 40000);
	net_in(w, &x, init, sizeof init, T0);
	assert_int_equal(w->n_sent, 1);
	assert_int_equal(last_sent(w)->len, 92);
	assert_memory_equal(last_sent(w)->p, want, 92);
	assert_int_equal(tunnel_stats(w->t)->responses, 1);
	assert_int_equal(tunnel_stats(w->t)->sessions, 1);
}

/* Checked both ways: our initiator accepts ternd's response, and the
 * session keys agree in both directions. The new keypair does not send
 * until the peer has used it. */
static void test_handshake_and_key_confirmation(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t buf[2048], msg[2048];
	size_t n;

	initiator_init(&x, w->responder_public, 40001);
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0));
	assert_int_equal(last_sent(w)->to.addr.port, 40001);
	/* a packet for the peer before it confirmed: no session to send on */
	n = ipv4(buf + 16, 1, 2, 60);
	tunnel_from_tun(w->t, buf, n, sizeof buf, T0 + 1);
	assert_int_equal(w->n_sent, 1);
	assert_int_equal(dropped(w, TD_NO_SESSION), 1);
	/* the initiator's keepalive confirms it */
	n = seal(&x.s, NULL, 0, msg);
	net_in(w, &x, msg, n, T0 + 2);
	n = ipv4(buf + 16, 1, 2, 60);
	tunnel_from_tun(w->t, buf, n, sizeof buf, T0 + 3); /* sealed in place */
	assert_int_equal(w->n_sent, 2);
	memcpy(msg, last_sent(w)->p, last_sent(w)->len);
	assert_int_equal(last_sent(w)->len, 16 + 64 + 16); /* padded to 16 */
	assert_int_equal(open_(&x.s, msg, last_sent(w)->len), 64);
	ipv4(buf, 1, 2, 60);
	assert_memory_equal(msg + 16, buf, 60);
	/* and data from the peer reaches the TUN */
	n = seal(&x.s, buf + 16, ipv4(buf + 16, 2, 1, 84), msg);
	net_in(w, &x, msg, n, T0 + 4);
	assert_int_equal(w->n_delivered, 1);
	assert_int_equal(w->delivered_len, 84);
	assert_int_equal(tunnel_stats(w->t)->rx_packets, 1);
}

static void test_allowed_ips_and_replay(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t ip[128], msg[256], copy[256];
	size_t n;

	initiator_init(&x, w->responder_public, 40002);
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0));
	/* an inner source that is not the peer's */
	n = seal(&x.s, ip, ipv4(ip, 3, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 1);
	assert_int_equal(dropped(w, TD_ALLOWED_IPS), 1);
	assert_int_equal(w->n_delivered, 0);
	/* a good one, then the same bytes again */
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	memcpy(copy, msg, n);
	net_in(w, &x, msg, n, T0 + 2);
	net_in(w, &x, copy, n, T0 + 3);
	assert_int_equal(w->n_delivered, 1);
	assert_int_equal(dropped(w, TD_REPLAY), 1);
	/* one bit flipped: it does not authenticate */
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	msg[20] ^= 1;
	net_in(w, &x, msg, n, T0 + 4);
	assert_int_equal(dropped(w, TD_DECRYPT), 1);
	/* not an IP packet */
	memset(ip, 0x11, 40);
	n = seal(&x.s, ip, 40, msg);
	net_in(w, &x, msg, n, T0 + 5);
	assert_int_equal(dropped(w, TD_BAD_PACKET), 1);
	/* an index that is nobody's */
	wg_put32(msg + 4, x.s.remote ^ 0x5a5a);
	net_in(w, &x, msg, n, T0 + 6);
	assert_int_equal(dropped(w, TD_UNKNOWN_INDEX), 1);
}

static void test_initiation_checks(void **state)
{
	struct world *w = *state;
	struct initiator x, stranger;
	uint8_t msg[148], copy[148];

	initiator_init(&x, w->responder_public, 40003);
	initiator_init(&stranger, w->responder_public, 40004);
	add_peer(w, &x, 2);
	/* an unknown key: no answer at all, counted */
	initiation(w->b, &stranger, msg);
	net_in(w, &stranger, msg, sizeof msg, T0);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(dropped(w, TD_UNKNOWN_PEER), 1);
	/* a bad mac1 */
	initiation(w->b, &x, msg);
	msg[120] ^= 1;
	net_in(w, &x, msg, sizeof msg, T0);
	assert_int_equal(dropped(w, TD_MAC1), 1);
	/* a good one */
	initiation(w->b, &x, msg);
	memcpy(copy, msg, sizeof msg);
	net_in(w, &x, msg, sizeof msg, T0);
	assert_int_equal(w->n_sent, 1);
	/* a newer one within 20 ms of it: over 50 a second */
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, sizeof msg, T0 + 10);
	assert_int_equal(dropped(w, TD_FLOOD), 1);
	/* a dropped initiation's timestamp did not count: it goes through
	 * once the flood window has passed */
	net_in(w, &x, msg, sizeof msg, T0 + 100);
	assert_int_equal(w->n_sent, 2);
	/* the first one's bytes again, a second later: a replay */
	net_in(w, &x, copy, sizeof copy, T0 + 1000);
	assert_int_equal(w->n_sent, 2);
	assert_int_equal(dropped(w, TD_TIMESTAMP), 1);
	/* a response, sent to a responder */
	memset(msg, 0, 92);
	msg[0] = 2;
	net_in(w, &x, msg, 92, T0 + 2000);
	assert_int_equal(dropped(w, TD_UNEXPECTED), 1);
}

/* Under load (forced here: threshold 0), an initiation without mac2 gets
 * a cookie reply; with the cookie's mac2 it is answered. */
static void test_cookie_reply(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[148], key[32];
	struct sent *s;

	tunnel_free(w->t);
	world_start(w, 0, true);
	initiator_init(&x, w->responder_public, 40005);
	add_peer(w, &x, 2);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, sizeof msg, T0);
	s = last_sent(w);
	assert_int_equal(s->len, 64);
	assert_int_equal(s->p[0], 3);
	assert_int_equal(wg_get32(s->p + 4), x.next_sender);
	assert_true(blake2s_hash(w->b, key, (const uint8_t *)WG_LABEL_COOKIE, 8, x.rpub, 32));
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
				 x.cookie, NULL, NULL, s->p + 32, 32, x.mac1, 16, s->p + 8, key),
			 0);
	x.has_cookie = true;
	assert_true(handshake(w, &x, T0 + 100));
	assert_int_equal(tunnel_stats(w->t)->cookie_replies, 1);
	/* the cookie is bound to the source address: from elsewhere, another reply */
	x.at.addr.port++;
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, sizeof msg, T0 + 200);
	assert_int_equal(last_sent(w)->p[0], 3);
	assert_int_equal(tunnel_stats(w->t)->cookie_replies, 2);
}

/* Nine handshakes, each followed by a packet under every earlier session:
 * the last eight sessions all still open packets; the first is retired. */
static void test_eight_sessions(void **state)
{
	struct world *w = *state;
	struct initiator x;
	struct session s[9];
	uint8_t ip[128], msg[256];
	size_t n;

	initiator_init(&x, w->responder_public, 40006);
	add_peer(w, &x, 2);
	for (int i = 0; i < 9; i++) {
		assert_true(handshake(w, &x, T0 + 1000 * (uint64_t)i));
		s[i] = x.s;
		for (int j = 0; j <= i; j++) {
			n = seal(&s[j], ip, ipv4(ip, 2, 1, 40), msg);
			net_in(w, &x, msg, n, T0 + 1000 * (uint64_t)i + 1);
		}
	}
	/* 45 packets sent; the ones under s[0] after the 9th handshake lost */
	assert_int_equal(w->n_delivered, 44);
	assert_int_equal(dropped(w, TD_UNKNOWN_INDEX), 1);
	assert_int_equal(tunnel_stats(w->t)->sessions, 8);
	/* we send with the newest session the peer has used */
	n = ipv4(ip + 16, 1, 2, 40);
	tunnel_from_tun(w->t, ip, n, sizeof ip, T0 + 9000);
	memcpy(msg, last_sent(w)->p, last_sent(w)->len);
	assert_true(open_(&s[8], msg, last_sent(w)->len) >= 40);
}

/* Hub: a packet from one peer to another's address is sealed for it. */
static void test_hub_routing(void **state)
{
	struct world *w = *state;
	struct initiator a, b;
	uint8_t ip[256], msg[256];
	size_t n;

	tunnel_free(w->t);
	world_start(w, 1000, false); /* no TUN: hub only */
	initiator_init(&a, w->responder_public, 40007);
	initiator_init(&b, w->responder_public, 40008);
	add_peer(w, &a, 2);
	add_peer(w, &b, 3);
	assert_true(handshake(w, &a, T0));
	assert_true(handshake(w, &b, T0));
	n = seal(&b.s, NULL, 0, msg); /* b confirms its session */
	net_in(w, &b, msg, n, T0 + 1);
	n = seal(&a.s, ip, ipv4(ip, 2, 3, 100), msg);
	net_in(w, &a, msg, n, T0 + 2);
	assert_int_equal(last_sent(w)->to.addr.port, 40008);
	memcpy(msg, last_sent(w)->p, last_sent(w)->len);
	assert_int_equal(open_(&b.s, msg, last_sent(w)->len), 112);
	assert_memory_equal(msg + 16, ip, 100);
	/* to an address nobody has, with no TUN: nowhere */
	n = seal(&a.s, ip, ipv4(ip, 2, 9, 100), msg);
	net_in(w, &a, msg, n, T0 + 3);
	assert_int_equal(dropped(w, TD_NO_ROUTE), 1);
	assert_int_equal(w->n_delivered, 0);
}

/* The endpoint is wherever the latest authenticated packet came from. */
static void test_roaming(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t ip[128], msg[256];
	size_t n;

	initiator_init(&x, w->responder_public, 40009);
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0));
	x.at.addr.ip[3] = 99;
	x.at.addr.port = 50000;
	n = seal(&x.s, NULL, 0, msg);
	net_in(w, &x, msg, n, T0 + 1);
	tunnel_from_tun(w->t, ip, ipv4(ip + 16, 1, 2, 40), sizeof ip, T0 + 2);
	assert_int_equal(last_sent(w)->to.addr.port, 50000);
	assert_int_equal(last_sent(w)->to.addr.ip[3], 99);
	/* a forged packet from elsewhere does not move it */
	x.at.addr.port = 50001;
	n = seal(&x.s, NULL, 0, msg);
	msg[18] ^= 1;
	net_in(w, &x, msg, n, T0 + 3);
	tunnel_from_tun(w->t, ip, ipv4(ip + 16, 1, 2, 40), sizeof ip, T0 + 4);
	assert_int_equal(last_sent(w)->to.addr.port, 50000);
}

/* Data in and nothing back for 10 s: a keepalive. Persistent keepalive.
 * A session past 180 s opens nothing and goes. */
static void test_timers(void **state)
{
	struct world *w = *state;
	struct initiator x;
	struct tunnel_peer_conf pc = { .keepalive = 25 };
	uint8_t ip[128], msg[256];
	size_t n;
	int sent;

	initiator_init(&x, w->responder_public, 40010);
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0));
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 1);
	sent = w->n_sent;
	tunnel_tick(w->t, T0 + 5000);
	assert_int_equal(w->n_sent, sent);
	tunnel_tick(w->t, T0 + 10001);
	assert_int_equal(w->n_sent, sent + 1);
	memcpy(msg, last_sent(w)->p, last_sent(w)->len);
	assert_int_equal(open_(&x.s, msg, last_sent(w)->len), 0); /* a keepalive */
	tunnel_tick(w->t, T0 + 12000);
	assert_int_equal(w->n_sent, sent + 1); /* owed once */
	/* persistent keepalive every 25 s */
	memcpy(pc.public_key, x.pub, 32);
	assert_int_equal(tunnel_peer_set(w->t, &pc), 0);
	tunnel_tick(w->t, T0 + 30000);
	assert_int_equal(w->n_sent, sent + 1);
	tunnel_tick(w->t, T0 + 35002);
	assert_int_equal(w->n_sent, sent + 2);
	/* expiry */
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 180000);
	assert_int_equal(dropped(w, TD_EXPIRED), 1);
	tunnel_tick(w->t, T0 + 180001);
	assert_int_equal(tunnel_stats(w->t)->sessions, 0);
	net_in(w, &x, msg, n, T0 + 180002);
	assert_int_equal(dropped(w, TD_UNKNOWN_INDEX), 1);
}

static void test_peer_removal_and_bad_keys(void **state)
{
	struct world *w = *state;
	struct initiator x;
	struct tunnel_peer_conf pc = { 0 };
	uint8_t ip[128], msg[256];
	size_t n;

	initiator_init(&x, w->responder_public, 40011);
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0));
	assert_int_equal(tunnel_peer_remove(w->t, x.pub), 0);
	assert_int_equal(tunnel_peer_remove(w->t, x.pub), -ENOENT);
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 1);
	assert_int_equal(dropped(w, TD_UNKNOWN_INDEX), 1);
	assert_int_equal(tunnel_stats(w->t)->sessions, 0);
	assert_int_equal(tunnel_stats(w->t)->peers, 0);
	/* a key of all zeros makes an all-zero DH: refused; so is our own */
	assert_int_equal(tunnel_peer_set(w->t, &pc), -EINVAL);
	memcpy(pc.public_key, w->responder_public, 32);
	assert_int_equal(tunnel_peer_set(w->t, &pc), -EINVAL);
	assert_int_equal(tunnel_peer_allow(w->t, x.pub, false, 4, ip, 32), -ENOENT);
}

/* ---- peers in a store ------------------------------------------------------ */

/* The store's record for x: allowed 10.0.0.<host>/32. */
static void answer(struct world *w, int i, enum tunnel_lookup_result r, const struct initiator *x,
		   uint8_t host, uint64_t now)
{
	struct tunnel_peer_conf pc = { .stored = true };
	struct tunnel_prefix px = { .family = 4, .plen = 32, .ip = { 10, 0, 0, host } };

	memcpy(pc.public_key, x->pub, 32);
	tunnel_lookup_done(w->t, w->lk[i].ticket, r, &pc, &px, 1, now);
}

/* x's next initiation at now, which must ask the store, and the store's
 * answer r (x's record: 10.0.0.<host>/32) a millisecond later. */
static void store_try(struct world *w, struct initiator *x, enum tunnel_lookup_result r,
		      uint8_t host, uint64_t now)
{
	uint8_t msg[148];
	int i = w->n_lk;

	initiation(w->b, x, msg);
	net_in(w, x, msg, sizeof msg, now);
	assert_int_equal(w->n_lk, i + 1);
	answer(w, i, r, x, host, now + 1);
}

/* x, a new initiator at port, handshakes at now through the store, which
 * answers with x's record (10.0.0.<host>/32); the response is checked. */
static void store_handshake(struct world *w, struct initiator *x, uint16_t port, uint8_t host,
			    uint64_t now)
{
	uint8_t msg[148];
	int i = w->n_lk;

	initiator_init(x, w->responder_public, port);
	initiation(w->b, x, msg);
	net_in(w, x, msg, sizeof msg, now);
	assert_int_equal(w->n_lk, i + 1);
	answer(w, i, TUNNEL_FOUND, x, host, now + 1);
	assert_true(response(w->b, x, last_sent(w)->p, last_sent(w)->len));
}

/* A cold handshake waits for the store, which is asked once with the key
 * and the initiation's timestamp; the record's allowed IPs then hold. */
static void test_store_cold_handshake(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[256], ip[128];
	size_t n;

	world_store(w, 100, 0, 0);
	initiator_init(&x, w->responder_public, 41001);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(w->n_lk, 1);
	assert_memory_equal(w->lk[0].key, x.pub, 32);
	assert_int_equal(w->lk[0].ts[7], (uint8_t)x.ts); /* TAI64N seconds, low byte */
	answer(w, 0, TUNNEL_FOUND, &x, 2, T0 + 1);
	assert_int_equal(w->n_sent, 1);
	assert_true(response(w->b, &x, last_sent(w)->p, last_sent(w)->len));
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 2);
	assert_int_equal(w->n_delivered, 1);
	n = seal(&x.s, ip, ipv4(ip, 3, 1, 40), msg); /* not its address */
	net_in(w, &x, msg, n, T0 + 3);
	assert_int_equal(dropped(w, TD_ALLOWED_IPS), 1);
	/* an answer again, or for no handshake, does nothing */
	answer(w, 0, TUNNEL_FOUND, &x, 2, T0 + 4);
	tunnel_lookup_done(w->t, 0, TUNNEL_FOUND, NULL, NULL, 0, T0 + 4);
	assert_int_equal(w->n_sent, 1);
	/* a stored peer in memory is asked again at its next handshake */
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0 + 1000);
	assert_int_equal(w->n_lk, 2);
	assert_int_equal(w->n_sent, 1);
	answer(w, 1, TUNNEL_FOUND, &x, 2, T0 + 1001);
	assert_int_equal(w->n_sent, 2);
	/* but a peer of the operator's own is answered from memory */
	add_peer(w, &x, 2);
	assert_true(handshake(w, &x, T0 + 2000));
	assert_int_equal(w->n_lk, 2);
}

/* Unknown keys: no answer, then not asked again for TUNNEL_NEGATIVE_MS; a
 * flood of new ones spends the lookup budget and no more. */
static void test_store_unknown_keys(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[256];

	world_store(w, 5, 0, 0);
	initiator_init(&x, w->responder_public, 41002);
	store_try(w, &x, TUNNEL_ABSENT, 0, T0);
	assert_int_equal(w->n_sent, 0);
	assert_int_equal(dropped(w, TD_UNKNOWN_PEER), 1);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0 + 1000);
	assert_int_equal(w->n_lk, 1);
	assert_int_equal(dropped(w, TD_UNKNOWN_PEER), 2);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0 + 1 + TUNNEL_NEGATIVE_MS);
	assert_int_equal(w->n_lk, 2);
	answer(w, 1, TUNNEL_ABSENT, &x, 0, T0 + 2 + TUNNEL_NEGATIVE_MS);
	/* unless the store says the key was added since */
	tunnel_store_changed(w->t, x.pub, false);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0 + 3 + TUNNEL_NEGATIVE_MS);
	assert_int_equal(w->n_lk, 3);
	/* 20 new keys in one millisecond: 4 tokens left of 5 */
	for (int i = 0; i < 20; i++) {
		struct initiator y;

		initiator_init(&y, w->responder_public, (uint16_t)(42000 + i));
		initiation(w->b, &y, msg);
		net_in(w, &y, msg, 148, T0 + 20000);
	}
	assert_int_equal(w->n_lk, 3 + 5);
	assert_int_equal(dropped(w, TD_LOOKUP_LIMIT), 15);
	assert_int_equal(tunnel_stats(w->t)->lookups, 8);
}

/* Replays: one the peer in memory has seen goes nowhere; one the store
 * has seen (on another node) gets no answer. */
static void test_store_replay(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[256], again[256];

	world_store(w, 100, 0, 0);
	initiator_init(&x, w->responder_public, 41003);
	initiation(w->b, &x, msg);
	memcpy(again, msg, 148);
	net_in(w, &x, msg, 148, T0);
	answer(w, 0, TUNNEL_FOUND, &x, 2, T0 + 1);
	assert_int_equal(w->n_sent, 1);
	net_in(w, &x, again, 148, T0 + 1000);
	assert_int_equal(w->n_lk, 1);
	assert_int_equal(dropped(w, TD_TIMESTAMP), 1);
	store_try(w, &x, TUNNEL_REPLAY, 2, T0 + 2000);
	assert_int_equal(w->n_sent, 1);
	assert_int_equal(dropped(w, TD_TIMESTAMP), 2);
}

/* A peer removed from the store: refused at its next handshake, and its
 * live sessions end with it. */
static void test_store_removed(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[256], ip[128];
	size_t n;

	world_store(w, 100, 0, 0);
	store_handshake(w, &x, 41004, 2, T0);
	assert_int_equal(w->ups, 1);
	store_try(w, &x, TUNNEL_ABSENT, 2, T0 + 1000);
	assert_int_equal(w->n_sent, 1);
	assert_int_equal(w->downs, 1); /* its session ended with it */
	assert_int_equal(tunnel_stats(w->t)->peers, 0);
	assert_int_equal(tunnel_stats(w->t)->sessions, 0);
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 40), msg);
	net_in(w, &x, msg, n, T0 + 1002);
	assert_int_equal(dropped(w, TD_UNKNOWN_INDEX), 1);
	/* deleted while it has a session, as announced: its sessions end now */
	store_try(w, &x, TUNNEL_FOUND, 2, T0 + 20000);
	assert_true(response(w->b, &x, last_sent(w)->p, last_sent(w)->len));
	assert_int_equal(tunnel_stats(w->t)->sessions, 1);
	tunnel_store_changed(w->t, x.pub, false);
	assert_int_equal(tunnel_stats(w->t)->sessions, 1);
	tunnel_store_changed(w->t, x.pub, true);
	assert_int_equal(tunnel_stats(w->t)->sessions, 0);
	assert_false(tunnel_peer_exists(w->t, x.pub));
}

/* No answer in time: dropped, and a late answer does nothing. With the
 * store away, a peer in memory is judged here and an unknown key is not. */
static void test_store_timeout_and_down(void **state)
{
	struct world *w = *state;
	struct initiator x, y;
	uint8_t msg[256];

	world_store(w, 100, 0, 0);
	initiator_init(&x, w->responder_public, 41005);
	initiation(w->b, &x, msg);
	net_in(w, &x, msg, 148, T0);
	tunnel_tick(w->t, T0 + 999);
	assert_int_equal(dropped(w, TD_LOOKUP_TIMEOUT), 0);
	tunnel_tick(w->t, T0 + 1000);
	assert_int_equal(dropped(w, TD_LOOKUP_TIMEOUT), 1);
	answer(w, 0, TUNNEL_FOUND, &x, 2, T0 + 1001);
	assert_int_equal(w->n_sent, 0);
	store_try(w, &x, TUNNEL_FOUND, 2, T0 + 2000);
	assert_int_equal(w->n_sent, 1);
	store_try(w, &x, TUNNEL_STORE_DOWN, 2, T0 + 3000);
	assert_int_equal(w->n_sent, 2);
	assert_true(response(w->b, &x, last_sent(w)->p, last_sent(w)->len));
	initiator_init(&y, w->responder_public, 41006);
	store_try(w, &y, TUNNEL_STORE_DOWN, 3, T0 + 3002);
	assert_int_equal(w->n_sent, 2);
	assert_int_equal(dropped(w, TD_STORE_DOWN), 1);
}

/* Stored peers leave memory when idle, and past the cap, oldest first;
 * one that comes back is asked of the store again. */
static void test_store_eviction(void **state)
{
	struct world *w = *state;
	struct initiator x[3];
	uint8_t msg[256];

	world_store(w, 100, 60000, 2);
	for (int i = 0; i < 3; i++) {
		initiator_init(&x[i], w->responder_public, (uint16_t)(41010 + i));
		initiation(w->b, &x[i], msg);
		net_in(w, &x[i], msg, 148, T0 + (uint64_t)i);
		answer(w, i, TUNNEL_FOUND, &x[i], (uint8_t)(2 + i), T0 + (uint64_t)i);
	}
	assert_int_equal(tunnel_stats(w->t)->peers, 2);
	assert_int_equal(tunnel_stats(w->t)->evictions, 1);
	assert_false(tunnel_peer_exists(w->t, x[0].pub));
	tunnel_tick(w->t, T0 + 1 + 59999);
	assert_int_equal(tunnel_stats(w->t)->peers, 2);
	tunnel_tick(w->t, T0 + 1 + 60000);
	assert_false(tunnel_peer_exists(w->t, x[1].pub));
	assert_true(tunnel_peer_exists(w->t, x[2].pub));
	tunnel_tick(w->t, T0 + 2 + 60000);
	assert_int_equal(tunnel_stats(w->t)->peers, 0);
	assert_int_equal(tunnel_stats(w->t)->evictions, 3);
	initiation(w->b, &x[0], msg);
	net_in(w, &x[0], msg, 148, T0 + 70000);
	assert_int_equal(w->n_lk, 4);
}

/* A stored peer's traffic is reported every traffic_interval_ms while it
 * has a session, only what is new, and the rest when it goes. */
static void test_store_traffic(void **state)
{
	struct world *w = *state;
	struct initiator x;
	uint8_t msg[256], ip[128];
	size_t n;

	world_store(w, 100, 0, 0);
	store_handshake(w, &x, 41020, 2, T0);
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 100), msg);
	net_in(w, &x, msg, n, T0 + 2);
	tunnel_tick(w->t, T0 + 5000);
	assert_int_equal(w->reports, 1);
	assert_int_equal(w->rx_reported, n);
	tunnel_tick(w->t, T0 + 10000); /* nothing new: nothing said */
	assert_int_equal(w->reports, 1);
	n = seal(&x.s, ip, ipv4(ip, 2, 1, 60), msg);
	net_in(w, &x, msg, n, T0 + 10001);
	assert_int_equal(tunnel_peer_remove(w->t, x.pub), 0);
	assert_int_equal(w->reports, 2);
	assert_int_equal(w->rx_reported, 16 + 112 + 16 + n); /* both messages */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_known_answer),
		T(test_handshake_and_key_confirmation),
		T(test_allowed_ips_and_replay),
		T(test_initiation_checks),
		T(test_cookie_reply),
		T(test_eight_sessions),
		T(test_hub_routing),
		T(test_roaming),
		T(test_timers),
		T(test_peer_removal_and_bad_keys),
		T(test_store_cold_handshake),
		T(test_store_unknown_keys),
		T(test_store_replay),
		T(test_store_removed),
		T(test_store_timeout_and_down),
		T(test_store_eviction),
		T(test_store_traffic),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
