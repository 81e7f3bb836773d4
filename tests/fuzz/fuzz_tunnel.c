/*
 * The tunnel engine end to end, time as input. The input is a script: each
 * step is an opcode byte and its operands. Raw bytes go in from the network
 * or the TUN as they are; but random bytes never pass mac1, so the script
 * can also have a real initiator (tests/unit/wginit.h) make an initiation,
 * finish the handshake, and seal data or keepalives under its sessions,
 * with a byte of its choosing flipped, so the fuzzer reaches the handshake,
 * sessions, replay window, routing and timers. Everything random is
 * deterministic. A crash, a leak, or a datagram out that is not a
 * WireGuard message is a bug.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/unit/wginit.h"
#include "tunnel/messages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 1;

static uint32_t next32(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)rng;
}

static void fill(void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)next32();
}

/* libsodium's randombytes, made deterministic */
static const char *r_name(void) { return "fuzz"; }
static uint32_t r_random(void) { return next32(); }
static void r_stir(void) {}
static uint32_t r_uniform(const uint32_t upper) { return upper ? next32() % upper : 0; }
static void r_buf(void *const buf, const size_t size) { fill(buf, size); }
static int r_close(void) { return 0; }
static struct randombytes_implementation fuzz_rng = {
	r_name, r_random, r_stir, r_uniform, r_buf, r_close,
};

struct run {
	struct initiator x[2];
	struct session s[2][3]; /* the latest sessions of each initiator */
	uint8_t last[2048];     /* the last datagram out */
	size_t last_len;
	struct blake2s *b;
	uint32_t ticket;        /* the store's last question */
};

static void f_send(void *ctx, const struct tunnel_endpoint *to, const uint8_t *p, size_t len)
{
	struct run *r = ctx;

	if (!messages_type(p, len) || len > sizeof r->last)
		abort(); /* we only ever send WireGuard messages */
	memcpy(r->last, p, len);
	r->last_len = len;
}

static void f_deliver(void *ctx, const uint8_t *p, size_t len)
{
	if (len < 20 || (p[0] >> 4 != 4 && p[0] >> 4 != 6))
		abort(); /* only IP packets reach the TUN */
}

static void f_random(void *ctx, void *buf, size_t len)
{
	fill(buf, len);
}

static void f_lookup(void *ctx, const uint8_t key[32], const uint8_t ts[12], uint32_t ticket)
{
	struct run *r = ctx;

	r->ticket = ticket;
}

/* The initiator takes a response, if the engine just sent one. */
static void take_response(struct run *r, int who)
{
	if (r->last_len == 92 && response(r->b, &r->x[who], r->last, r->last_len)) {
		memmove(&r->s[who][1], &r->s[who][0], 2 * sizeof r->s[who][0]);
		r->s[who][0] = r->x[who].s;
	} else if (r->last_len == 64) {
		r->x[who].has_cookie = false; /* a cookie reply: not opened here */
	}
}

/* The store answers its last question with result arg, for initiator who. */
static void store_answer(struct tunnel *t, struct run *r, int who, uint8_t arg, uint64_t now)
{
	const struct initiator *x = &r->x[who];
	struct tunnel_peer_conf pc = { .stored = true, .keepalive = arg & 0x10 ? 5 : 0 };
	struct tunnel_prefix px[2] = { { .family = 4, .plen = 31, .ip = { 10, 0, 0, 2 } },
				       { .family = 6, .plen = 128, .ip = { 0xfd, [15] = 9 } } };

	memcpy(pc.public_key, x->pub, 32);
	r->last_len = 0;
	tunnel_lookup_done(t, r->ticket, (enum tunnel_lookup_result)(arg % 4), &pc, px,
			   arg & 0x20 ? 2 : 1, now);
	take_response(r, who);
}

/* Take n operand bytes, or stop. */
static bool take(const uint8_t **d, size_t *n, size_t want, const uint8_t **out)
{
	if (*n < want)
		return false;
	*out = *d;
	*d += want;
	*n -= want;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tunnel_ops ops = { .send = f_send, .deliver = f_deliver, .random = f_random };
	struct tunnel_config cfg = { .gateway = true, .mtu = 1420 };
	uint8_t buf[2048 + TUNNEL_HEADROOM + TUNNEL_TAILROOM];
	static struct run r;
	struct tunnel *t;
	uint64_t now = 1700000000000ull;
	const uint8_t *op, *arg, *payload;

	if (!r.b) {
		randombytes_set_implementation(&fuzz_rng);
		if (sodium_init() < 0 || !(r.b = blake2s_new()))
			abort();
	}
	rng = 1;
	memset(cfg.private_key, 0x42, sizeof cfg.private_key);
	ops.ctx = &r;
	if (!take(&data, &size, 1, &op))
		return 0;
	cfg.cookie_threshold = op[0] & 0x80 ? 0 : op[0]; /* sometimes always under load */
	/* sometimes with a store: the second initiator comes from it */
	ops.lookup = op[0] & 0x40 ? f_lookup : NULL;
	cfg.lookup_rate = 3, cfg.lookup_timeout_ms = 500;
	cfg.peer_idle_ms = op[0] & 0x20 ? 2000 : 0, cfg.max_stored_peers = 1;
	r.ticket = 0;
	t = tunnel_new(&cfg, &ops);
	if (!t)
		abort();
	memset(r.s, 0, sizeof r.s);
	for (int i = 0; i < 2; i++) {
		struct tunnel_peer_conf pc = { .keepalive = (uint16_t)(i * 3) };

		if (i == 1 && ops.lookup) {
			initiator_init(&r.x[i], tunnel_public_key(t), (uint16_t)(1000 + i));
			break;
		}
		initiator_init(&r.x[i], tunnel_public_key(t), (uint16_t)(1000 + i));
		memcpy(pc.public_key, r.x[i].pub, 32);
		if (tunnel_peer_set(t, &pc) != 0 ||
		    tunnel_peer_allow(t, pc.public_key, true, 4, (uint8_t[4]){ 10, 0, 0, 2 }, 31) ||
		    tunnel_peer_allow(t, pc.public_key, false, 6,
				      (uint8_t[16]){ 0xfd, 0, [15] = (uint8_t)i }, 128))
			abort();
	}
	while (take(&data, &size, 1, &op)) {
		int who = op[0] & 1;
		struct initiator *x = &r.x[who];
		size_t len, flip;

		switch (op[0] >> 1 & 7) {
		case 0: /* raw datagram from the network */
		case 1: /* raw packet from the TUN */
			if (!take(&data, &size, 1, &arg) || !take(&data, &size, arg[0], &arg))
				break;
			len = (size_t)arg[-1]; /* the length byte before it */
			memcpy(buf + TUNNEL_HEADROOM, arg, len);
			if ((op[0] >> 1 & 7) == 0)
				tunnel_from_network(t, &x->at, buf + TUNNEL_HEADROOM, len,
						    sizeof buf - TUNNEL_HEADROOM, now);
			else
				tunnel_from_tun(t, buf, len, sizeof buf, now);
			break;
		case 2: /* a real initiation, a byte maybe flipped; take the answer */
			if (!take(&data, &size, 1, &arg))
				break;
			initiation(r.b, x, buf);
			flip = arg[0] % 160;
			if (flip < 148)
				buf[flip] ^= 0x5a;
			r.last_len = 0;
			tunnel_from_network(t, &x->at, buf, 148, sizeof buf, now);
			take_response(&r, who);
			break;
		case 3: /* data under one of its sessions: a payload of our choosing */
			if (!take(&data, &size, 2, &arg))
				break;
			len = arg[1];
			if (!take(&data, &size, len, &payload))
				break;
			{
				struct session *s = &r.s[who][arg[0] % 3];
				size_t n;

				if (!s->remote)
					break;
				n = seal(s, payload, len, buf);
				if (arg[0] & 0x80)
					buf[arg[0] % n] ^= 1;
				tunnel_from_network(t, &x->at, buf, n, sizeof buf, now);
			}
			break;
		case 4: /* time passes */
			if (!take(&data, &size, 1, &arg))
				break;
			now += (uint64_t)arg[0] * (arg[0] > 200 ? 10000 : 50);
			tunnel_tick(t, now);
			break;
		case 5: /* the peer moves */
			x->at.addr.port++;
			break;
		case 6: /* peer changes: remove, then add back */
			if (tunnel_peer_remove(t, x->pub) == 0) {
				struct tunnel_peer_conf pc = { 0 };

				memcpy(pc.public_key, x->pub, 32);
				if (tunnel_peer_set(t, &pc) != 0)
					abort();
			}
			break;
		case 7: /* the store answers, or cookies are forced */
			if (op[0] & 0x20 && take(&data, &size, 1, &arg))
				store_answer(t, &r, who, arg[0], now);
			else
				tunnel_force_cookies(t, op[0] & 0x10);
			break;
		}
	}
	tunnel_free(t);
	return 0;
}
