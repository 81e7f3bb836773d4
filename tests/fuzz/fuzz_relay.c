/*
 * The TURN engine end to end: the input is a script of client messages,
 * each with a source port, a time step and a transport, run through one
 * engine with fake relay sockets. Peer data comes back through
 * relay_from_peer for whatever allocation the script reached. A crash, a
 * leak, or an answer our own parser rejects is a bug.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { HANDLES = 64 };

enum { CIDS = 64 };

struct fake {
	bool open[HANDLES];
	uint32_t rnd;
	/* RFC 6062 peer connections the engine knows of: live until closed
	 * by the engine or reported gone */
	uint32_t cid[CIDS];
	bool live[CIDS];
	int n_cid;
	uint32_t last_cid, last_connect;
};

static int f_open(void *ctx, uint32_t id, const struct stun_addr *b, bool df)
{
	struct fake *f = ctx;

	for (int h = 0; h < HANDLES; h++) {
		if (!f->open[h]) {
			f->open[h] = true;
			return h;
		}
	}
	return -ENOSPC;
}

static void f_close(void *ctx, int h)
{
	struct fake *f = ctx;

	if (h < 0 || h >= HANDLES || !f->open[h])
		abort(); /* the engine closed something it does not own */
	f->open[h] = false;
}

static int f_reserve(void *ctx, const struct stun_addr *b, const uint8_t t[8], uint64_t n)
{
	return -ENOSPC;
}

static int f_redeem(void *ctx, uint32_t id, const uint8_t t[8], bool df, uint64_t n,
		    struct stun_addr *bound)
{
	return -ENOENT;
}

static bool f_take(void *ctx, const uint8_t *u, size_t n) { return true; }
static void f_give(void *ctx, const uint8_t *u, size_t n) { }

static void f_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;

	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)((f->rnd = f->rnd * 1103515245u + 12345u) >> 16);
}

static uint32_t f_rand(struct fake *f)
{
	return (f->rnd = f->rnd * 1103515245u + 12345u) >> 16;
}

static int f_open_tcp(void *ctx, uint32_t id, const struct stun_addr *b)
{
	return f_open(ctx, id, b, false);
}

static void track(struct fake *f, uint32_t cid)
{
	f->last_cid = cid;
	if (f->n_cid < CIDS) {
		f->cid[f->n_cid] = cid;
		f->live[f->n_cid++] = true;
	}
}

static bool *liveness(struct fake *f, uint32_t cid)
{
	for (int i = f->n_cid - 1; i >= 0; i--)
		if (f->cid[i] == cid)
			return &f->live[i];
	return NULL;
}

static int f_tcp_connect(void *ctx, int h, uint32_t cid, const struct stun_addr *peer)
{
	struct fake *f = ctx;

	if (h < 0 || h >= HANDLES || !f->open[h])
		abort();
	if (f_rand(f) % 8 == 0)
		return -EMFILE;
	track(f, cid);
	f->last_connect = cid;
	return 0;
}

static void f_tcp_close(void *ctx, uint32_t cid)
{
	bool *live = liveness(ctx, cid);

	if (live && !*live)
		abort(); /* closed twice */
	if (live)
		*live = false;
}

static int f_tcp_state(void *ctx, uint32_t cid)
{
	struct fake *f = ctx;
	bool *live = liveness(f, cid);
	int st = (int)(f_rand(f) % 3);

	if (live && !*live)
		abort(); /* asked about a connection it closed */
	if (st == RELAY_TCP_GONE && live)
		*live = false;
	return st;
}

static int f_tcp_bind(void *ctx, uint32_t cid, const uint8_t *u, size_t n,
		      const struct relay_key *k)
{
	return cid == ((struct fake *)ctx)->last_cid ? 0 : -ENOENT;
}

static bool f_tcp_origin(void *ctx, uint32_t cid, struct stun_addr *client)
{
	*client = (struct stun_addr){ STUN_FAMILY_IPV4, 40000, { 192, 0, 2, 1 } };
	return cid == ((struct fake *)ctx)->last_cid;
}

static void f_send(void *ctx, const struct relay_key *k, const uint8_t *msg, size_t len)
{
	struct stun_msg m;

	if (stun_parse(&m, msg, len) != STUN_OK)
		abort();
}

struct run {
	struct fake *f;
	struct relay *r;
	uint64_t now;
	uint8_t nonce[8][64]; /* per client port: the last nonce we were given */
	size_t nonce_len[8];
};

static struct relay_key key_of(uint8_t port, uint8_t flags)
{
	struct relay_key k = {
		.transport = (flags & 0x40) ? TURN_TRANSPORT_TCP : TURN_TRANSPORT_UDP,
		.client = { STUN_FAMILY_IPV4, (uint16_t)(40000 + port % 8), { 192, 0, 2, 1 } },
		.conn = (flags & 0x40) ? 1 : 0,
	};

	return k;
}

/* Run m through the engine; keep any nonce; every answer must parse. */
static void deliver(struct run *x, const struct relay_key *k, const uint8_t *p, size_t len)
{
	uint8_t out[2048];
	struct stun_msg m, back;
	struct relay_action a;
	size_t i = k->client.port % 8;

	if (stun_parse(&m, p, len) != STUN_OK)
		return;
	a = relay_from_client(x->r, k, &m, x->now, out, sizeof out);
	if (!a.reply_len)
		return;
	if (stun_parse(&back, out, a.reply_len) != STUN_OK)
		abort();
	if (back.a[SA_NONCE].v && back.a[SA_NONCE].len <= sizeof x->nonce[i]) {
		memcpy(x->nonce[i], back.a[SA_NONCE].v, back.a[SA_NONCE].len);
		x->nonce_len[i] = back.a[SA_NONCE].len;
	}
}

/* A request signed as user "a" (password "b"), with attributes from arg. */
static void signed_request(struct run *x, const struct relay_key *k, uint16_t method,
			   const uint8_t *arg, size_t arglen)
{
	const struct stun_addr peer = { STUN_FAMILY_IPV4, (uint16_t)(5000 + (arglen ? arg[0] : 0)),
					{ 8, 8, 8, (uint8_t)(arglen > 1 ? arg[1] : 8) } };
	uint8_t buf[512], tid[STUN_TID_LEN] = { (uint8_t)x->now, (uint8_t)(x->now >> 8) };
	uint8_t key[32];
	size_t i = k->client.port % 8;
	struct stun_builder b;

	stun_build_init(&b, buf, sizeof buf, stun_type(method, STUN_REQUEST), tid);
	if (method == TURN_ALLOCATE)
		stun_put_u32(&b, TURN_ATTR_REQUESTED_TRANSPORT,
			     (arglen > 3 && (arg[3] & 1) ? 6u : 17u) << 24);
	if (method == TURN_CONNECT)
		stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &peer, true);
	if (method == TURN_CONNECTION_BIND)
		stun_put_u32(&b, TURN_ATTR_CONNECTION_ID,
			     arglen > 3 && (arg[3] & 2) ? x->f->last_cid ^ arg[0] : x->f->last_cid);
	if (method == TURN_ALLOCATE && arglen > 2 && (arg[2] & 1))
		stun_put_u32(&b, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, 2u << 24);
	if (method == TURN_REFRESH && arglen > 2)
		stun_put_u32(&b, TURN_ATTR_LIFETIME, arg[2] < 16 ? 0 : (uint32_t)arg[2] * 20);
	if (method == TURN_CHANNEL_BIND)
		stun_put_u32(&b, TURN_ATTR_CHANNEL_NUMBER,
			     (uint32_t)(0x4000 + (arglen > 2 ? arg[2] : 0)) << 16);
	if (method == TURN_CREATE_PERMISSION || method == TURN_CHANNEL_BIND)
		stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &peer, true);
	if (x->nonce_len[i]) {
		stun_put(&b, STUN_ATTR_USERNAME, "a", 1);
		stun_put(&b, STUN_ATTR_REALM, "example.org", 11);
		stun_put(&b, STUN_ATTR_NONCE, x->nonce[i], x->nonce_len[i]);
		stun_lt_key(STUN_PWALG_MD5, "a", 1, "example.org", 11, "b", 1, key);
		stun_put_integrity(&b, key, 16);
	}
	deliver(x, k, buf, stun_build_finish(&b));
}

/* RFC 6062: Connect, ConnectionBind, connect results, peers connecting. */
static void step_tcp(struct run *x, const uint8_t *p, size_t len, uint8_t port, uint8_t op)
{
	const struct stun_addr peer = { STUN_FAMILY_IPV4, (uint16_t)(5000 + (len ? p[0] : 0)),
					{ 8, 8, 8, (uint8_t)(len > 1 ? p[1] : 8) } };
	struct relay_key k = key_of(port, op);
	uint32_t cid;

	switch (op & 3) {
	case 0:
		signed_request(x, &k, TURN_CONNECT, p, len);
		break;
	case 1:
		signed_request(x, &k, TURN_CONNECTION_BIND, p, len);
		break;
	case 2: { /* the shell reports only attempts it still has */
		bool *live = liveness(x->f, x->f->last_connect);

		if (!live || !*live)
			break;
		if (!relay_tcp_connected(x->r, x->f->last_connect,
					 len % 2 ? -ECONNREFUSED : 0, x->now))
			*live = false; /* and closes it */
		x->f->last_connect = 0;
		break;
	}
	default:
		cid = relay_tcp_accepted(x->r, len % 4, &peer, x->now);
		if (cid) {
			uint8_t out[512];
			size_t n = 0;
			struct stun_msg m;

			track(x->f, cid);
			if (!relay_tcp_announce(x->r, cid, out, sizeof out, &n) ||
			    stun_parse(&m, out, n) != STUN_OK)
				abort();
		}
	}
}

/* Each step: [port][seconds][op|flags][len hi][len lo], then len bytes. */
static void step(struct run *x, const uint8_t *p, size_t len, uint8_t port, uint8_t op)
{
	static const uint16_t methods[4] = { TURN_ALLOCATE, TURN_REFRESH,
					     TURN_CREATE_PERMISSION, TURN_CHANNEL_BIND };
	const struct stun_addr peer = { STUN_FAMILY_IPV4, 5000, { 8, 8, 8, 8 } };
	uint8_t buf[RELAY_HEADROOM + 256 + RELAY_TAILROOM], *msg;
	struct relay_key k = key_of(port, op);
	uint16_t ch, dlen;
	const uint8_t *d;
	size_t mlen;

	if (op & 0x80) {
		step_tcp(x, p, len, port, op);
		return;
	}
	switch (op & 7) {
	case 0:
		deliver(x, &k, p, len);
		break;
	case 1: case 2: case 3: case 4:
		signed_request(x, &k, methods[(op & 7) - 1], p, len);
		break;
	case 5:
		if (channel_parse(p, len, &ch, &d, &dlen))
			relay_from_client_channel(x->r, &k, ch, d, dlen, x->now);
		break;
	case 6:
		memset(buf, 0xab, sizeof buf);
		for (uint32_t id = 0; id < 4; id++)
			relay_from_peer(x->r, id, &peer, buf + RELAY_HEADROOM, len % 200,
					x->now, &msg, &mlen);
		break;
	default:
		relay_tick(x->r, x->now);
		if (len)
			relay_client_gone(x->r, &k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake f = { .rnd = 1 };
	struct relay_ops ops = {
		.ctx = &f, .open = f_open, .close = f_close, .reserve = f_reserve,
		.redeem = f_redeem, .quota_take = f_take, .quota_give = f_give,
		.random = f_random, .open_tcp = f_open_tcp, .tcp_connect = f_tcp_connect,
		.tcp_close = f_tcp_close, .tcp_state = f_tcp_state, .tcp_bind = f_tcp_bind,
		.send = f_send, .tcp_origin = f_tcp_origin,
	};
	struct relay_config cfg = {
		.default_lifetime = 600, .max_lifetime = 3600, .permission_lifetime = 300,
		.channel_lifetime = 600, .nonce_lifetime = 600, .min_port = 49152,
		.max_port = 65535, .has_v4 = true, .has_v6 = true,
		.relay_v4 = { STUN_FAMILY_IPV4, 0, { 203, 0, 113, 1 } },
		.public_v4 = { STUN_FAMILY_IPV4, 0, { 203, 0, 113, 1 } },
		.relay_v6 = { STUN_FAMILY_IPV6, 0, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		.public_v6 = { STUN_FAMILY_IPV6, 0, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } },
		.max_allocations = 4, .channel_max = CHANNEL_MAX_RFC5766,
		.unauth_rate = 100, .unauth_burst = 200, /* the defaults */
		.n_nonce_secrets = 1,
	};
	struct auth *auth = auth_new("example.org");
	struct policy *policy = policy_new();
	struct run x = { .f = &f, .now = 1700000000000ull };
	char err[64];

	if (!auth || !policy || auth_add_user(auth, "a:b", err, sizeof err) < 0)
		abort();
	auth_use_secret(auth, true);
	auth_add_secret(auth, "s");
	cfg.auth = auth;
	cfg.policy = policy;
	x.r = relay_new(&cfg, &ops);
	while (x.r && size >= 5) {
		size_t len = ((size_t)data[3] << 8 | data[4]) % 1500;

		if (len > size - 5)
			len = size - 5;
		x.now += (uint64_t)data[1] * 1000;
		step(&x, data + 5, len, data[0], data[2]);
		data += 5 + len;
		size -= 5 + len;
	}
	relay_free(x.r);
	for (int h = 0; h < HANDLES; h++)
		if (f.open[h])
			abort(); /* a relay socket outlived the engine */
	for (int i = 0; i < f.n_cid; i++)
		if (f.live[i])
			abort(); /* a peer connection outlived its allocation */
	auth_free(auth);
	policy_free(policy);
	return 0;
}
