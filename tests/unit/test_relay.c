/*
 * The TURN engine without sockets: fake relay_ops record what the engine
 * opens, closes and counts, a test client does the 401 dance and signs its
 * requests, and time is a parameter, so ten-minute lifetimes expire in
 * microseconds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay/record.h"
#include "relay/relay.h"

enum { MAX_HANDLES = 256, T0 = 1700000000 };

struct fake {
	bool open[MAX_HANDLES];
	struct stun_addr bound[MAX_HANDLES];
	uint32_t id[MAX_HANDLES];
	bool df[MAX_HANDLES];
	int n_open;
	int busy_ports;     /* fail this many opens with EADDRINUSE first */
	uint32_t used, max; /* quota */
	uint8_t token[8];   /* one held port, as the shell's table would */
	struct stun_addr held;
	uint64_t held_until;
	int held_handle;
	uint32_t rnd;
	/* RFC 6062: what the engine asked of the shell */
	bool tcp[MAX_HANDLES];
	uint32_t connect_cid[8];
	struct stun_addr connect_peer[8];
	int connect_handle, n_connects, connect_err;
	uint32_t closed[8];
	int n_closed;
	int state;              /* what tcp_state answers */
	uint32_t pending_cid;   /* the one connection tcp_bind knows */
	const char *pending_user;
	struct stun_addr pending_origin;
	struct relay_key bound_to;
	uint8_t sent[512];      /* the last message sent on the engine's own */
	size_t sent_len;
	struct relay_key sent_to;
	int n_sent;
	bool full;              /* admit: redirect, besides a full table */
	int refuse;             /* admit: answer this instead */
	bool saw_table_full;
	/* ops->channel: what the fast path was told last, and how often */
	struct relay_channel chan;
	int n_chan;
	/* the fast path's entries by channel, as server/xdp.c keeps them: a
	 * change keeps a direction's counts, an expiry of 0 drops them; and
	 * how often ops->channel_counts asked */
	struct f_entry {
		uint16_t number;
		bool live[2];
		uint64_t packets[2], bytes[2];
	} entry[4];
	int n_counts;
};

/* What an allocation relayed, by direction: [0] to the peer, [1] back. */
struct totals {
	uint64_t packets[2], bytes[2];
};

static int f_open(void *ctx, uint32_t id, const struct stun_addr *bind, bool df)
{
	struct fake *f = ctx;

	if (f->busy_ports > 0) {
		f->busy_ports--;
		return -EADDRINUSE;
	}
	for (int h = 0; h < MAX_HANDLES; h++) {
		if (f->open[h])
			continue;
		for (int j = 0; j < MAX_HANDLES; j++)
			if (f->open[j] && f->bound[j].port == bind->port &&
			    f->bound[j].family == bind->family)
				return -EADDRINUSE;
		f->open[h] = true;
		f->bound[h] = *bind;
		f->id[h] = id;
		f->df[h] = df;
		f->n_open++;
		return h;
	}
	return -ENOSPC;
}

static void f_close(void *ctx, int h)
{
	struct fake *f = ctx;

	assert_true(h >= 0 && h < MAX_HANDLES && f->open[h]);
	f->open[h] = false;
	f->n_open--;
}

static int f_reserve(void *ctx, const struct stun_addr *bind, const uint8_t token[8],
		     uint64_t now)
{
	struct fake *f = ctx;
	int h = f_open(ctx, UINT32_MAX, bind, false);

	if (h < 0)
		return h;
	memcpy(f->token, token, 8);
	f->held = *bind;
	f->held_until = now + 30000;
	f->held_handle = h;
	return 0;
}

static int f_redeem(void *ctx, uint32_t id, const uint8_t token[8], bool df, uint64_t now,
		    struct stun_addr *bound)
{
	struct fake *f = ctx;

	if (!f->held_until || now >= f->held_until || memcmp(token, f->token, 8) != 0)
		return -ENOENT;
	f->held_until = 0;
	f->id[f->held_handle] = id;
	f->df[f->held_handle] = df;
	*bound = f->held;
	return f->held_handle;
}

static bool f_take(void *ctx, const uint8_t *u, size_t n)
{
	struct fake *f = ctx;

	if (f->max && f->used >= f->max)
		return false;
	f->used++;
	return true;
}

static void f_give(void *ctx, const uint8_t *u, size_t n)
{
	struct fake *f = ctx;

	assert_true(f->used > 0);
	f->used--;
}

static void f_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		f->rnd = f->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(f->rnd >> 16);
	}
}

static int f_open_tcp(void *ctx, uint32_t id, const struct stun_addr *bind)
{
	struct fake *f = ctx;
	int h = f_open(ctx, id, bind, false);

	if (h >= 0)
		f->tcp[h] = true;
	return h;
}

static int f_tcp_connect(void *ctx, int handle, uint32_t cid, const struct stun_addr *peer)
{
	struct fake *f = ctx;

	assert_true(handle >= 0 && handle < MAX_HANDLES && f->open[handle] && f->tcp[handle]);
	if (f->connect_err)
		return f->connect_err;
	assert_true(f->n_connects < 8);
	f->connect_handle = handle;
	f->connect_cid[f->n_connects] = cid;
	f->connect_peer[f->n_connects++] = *peer;
	return 0;
}

static void f_tcp_close(void *ctx, uint32_t cid)
{
	struct fake *f = ctx;

	assert_true(f->n_closed < 8);
	f->closed[f->n_closed++] = cid;
}

static int f_tcp_state(void *ctx, uint32_t cid)
{
	return ((struct fake *)ctx)->state;
}

static int f_tcp_bind(void *ctx, uint32_t cid, const uint8_t *user, size_t len,
		      const struct relay_key *k)
{
	struct fake *f = ctx;

	if (!f->pending_cid || cid != f->pending_cid)
		return -ENOENT;
	if (len != strlen(f->pending_user) || memcmp(user, f->pending_user, len) != 0)
		return -EPERM;
	f->bound_to = *k;
	f->pending_cid = 0;
	return 0;
}

static bool f_tcp_origin(void *ctx, uint32_t cid, struct stun_addr *client)
{
	struct fake *f = ctx;

	if (!f->pending_cid || cid != f->pending_cid)
		return false;
	*client = f->pending_origin;
	return true;
}

static void f_send(void *ctx, const struct relay_key *k, const uint8_t *msg, size_t len)
{
	struct fake *f = ctx;

	assert_true(len <= sizeof f->sent);
	memcpy(f->sent, msg, len);
	f->sent_len = len;
	f->sent_to = *k;
	f->n_sent++;
}

static struct f_entry *f_entry(struct fake *f, uint16_t number)
{
	for (int i = 0; i < 4; i++)
		if (f->entry[i].number == number)
			return &f->entry[i];
	for (int i = 0; i < 4; i++)
		if (!f->entry[i].number) {
			f->entry[i].number = number;
			return &f->entry[i];
		}
	fail();
	return NULL;
}

static void f_channel(void *ctx, const struct relay_channel *c)
{
	struct fake *f = ctx;
	struct f_entry *e = f_entry(f, c->number);
	const uint64_t until[2] = { c->expires_ms, c->to_client_ms };

	f->chan = *c;
	f->n_chan++;
	for (int d = 0; d < 2; d++) {
		e->live[d] = until[d] != 0;
		if (!e->live[d])
			e->packets[d] = e->bytes[d] = 0;
	}
}

static void f_counts(void *ctx, const struct relay_channel *c, uint64_t packets[2],
		     uint64_t bytes[2])
{
	struct fake *f = ctx;
	const struct f_entry *e = f_entry(f, c->number);

	assert_int_equal(c->relayed.port, f->bound[0].port);
	f->n_counts++;
	memcpy(packets, e->packets, sizeof e->packets);
	memcpy(bytes, e->bytes, sizeof e->bytes);
}

/* The fast path relays packets datagrams of bytes in all for channel
 * number, in direction d: only through a live entry. */
static void f_xdp(struct fake *f, uint16_t number, int d, uint64_t packets, uint64_t bytes)
{
	struct f_entry *e = f_entry(f, number);

	assert_true(e->live[d]);
	e->packets[d] += packets;
	e->bytes[d] += bytes;
}

static int f_admit(void *ctx, const struct relay_key *k, bool table_full,
		   struct stun_addr *alt, const char **domain)
{
	struct fake *f = ctx;

	if (k->transport == TURN_TRANSPORT_TCP)
		*domain = "relay.example.org";
	f->saw_table_full = table_full;
	if (f->refuse)
		return f->refuse;
	if (!f->full && !table_full)
		return 0;
	*alt = (struct stun_addr){ STUN_FAMILY_IPV4, 3479, { 198, 51, 100, 7 } };
	return 300;
}

struct world {
	int traffic;
	uint64_t traffic_bytes;
	struct totals traffic_totals; /* the last traffic record's */
	struct fake f;
	struct relay_ops ops;
	struct relay_config cfg;
	struct auth *auth;
	struct policy *policy;
	struct relay *r;
};

static const struct stun_addr relay4 = { STUN_FAMILY_IPV4, 0, { 203, 0, 113, 1 } };
static const struct stun_addr relay6 = { STUN_FAMILY_IPV6, 0, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };

static int setup(void **state)
{
	static struct world w;
	char err[128];

	memset(&w, 0, sizeof w);
	w.ops = (struct relay_ops){ .ctx = &w.f, .open = f_open, .close = f_close,
				    .reserve = f_reserve, .redeem = f_redeem,
				    .quota_take = f_take, .quota_give = f_give,
				    .random = f_random };
	w.auth = auth_new("example.org");
	assert_int_equal(auth_add_user(w.auth, "alice:secret", err, sizeof err), 0);
	assert_int_equal(auth_add_user(w.auth, "bob:hunter2", err, sizeof err), 0);
	w.policy = policy_new();
	w.cfg = (struct relay_config){
		.default_lifetime = 600, .max_lifetime = 3600,
		.permission_lifetime = 300, .channel_lifetime = 600,
		.nonce_lifetime = 600, .min_port = 49152, .max_port = 65535,
		.has_v4 = true, .has_v6 = true,
		.relay_v4 = relay4, .relay_v6 = relay6,
		.public_v4 = relay4, .public_v6 = relay6,
		.max_allocations = 8, .channel_max = CHANNEL_MAX_RFC5766,
		.auth = w.auth, .policy = w.policy,
		.n_nonce_secrets = 1,
	};
	memset(w.cfg.nonce_secret[0], 7, sizeof w.cfg.nonce_secret[0]);
	w.r = relay_new(&w.cfg, &w.ops);
	assert_non_null(w.r);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	relay_free(w->r);
	assert_int_equal(w->f.n_open, 0); /* every socket closed */
	assert_int_equal(w->f.used, 0);   /* every quota given back */
	auth_free(w->auth);
	policy_free(w->policy);
	return 0;
}

/* A TURN client: its 5-tuple, credentials and the nonce it was given. */
struct client {
	struct relay_key k;
	const char *user, *pass;
	uint8_t nonce[256];
	size_t nonce_len;
	uint8_t tid[STUN_TID_LEN];
	uint8_t out[2048];
	struct stun_msg resp;
	struct relay_action act;
};

static void client_init(struct client *c, uint16_t port, const char *user,
			const char *pass)
{
	memset(c, 0, sizeof *c);
	c->k.transport = TURN_TRANSPORT_UDP;
	c->k.client = (struct stun_addr){ STUN_FAMILY_IPV4, port, { 192, 0, 2, 10 } };
	c->user = user;
	c->pass = pass;
}

typedef void (*attrs_fn)(struct stun_builder *b, const void *arg);

/* Send one request (signed when the client has a nonce); parse the reply. */
static int request_once(struct world *w, struct client *c, uint16_t method, attrs_fn fn,
		   const void *arg, uint64_t now_s, bool new_tid)
{
	uint8_t buf[1024], key[32];
	struct stun_builder b;
	struct stun_msg m;
	int code;

	if (new_tid)
		c->tid[0]++, c->tid[11] = (uint8_t)method;
	stun_build_init(&b, buf, sizeof buf, stun_type(method, STUN_REQUEST), c->tid);
	if (fn)
		fn(&b, arg);
	if (c->nonce_len) {
		stun_put(&b, STUN_ATTR_USERNAME, c->user, strlen(c->user));
		stun_put(&b, STUN_ATTR_REALM, "example.org", 11);
		stun_put(&b, STUN_ATTR_NONCE, c->nonce, c->nonce_len);
		stun_lt_key(STUN_PWALG_MD5, c->user, strlen(c->user), "example.org", 11,
			    c->pass, strlen(c->pass), key);
		stun_put_integrity(&b, key, 16);
	}
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	c->act = relay_from_client(w->r, &c->k, &m, now_s * 1000, c->out, sizeof c->out);
	if (!c->act.reply_len)
		return -1;
	assert_int_equal(stun_parse(&c->resp, c->out, c->act.reply_len), STUN_OK);
	assert_memory_equal(c->resp.tid, c->tid, STUN_TID_LEN);
	if (c->resp.cls == STUN_SUCCESS)
		return 0;
	assert_true(stun_attr_error(&c->resp.a[SA_ERROR_CODE], &code, &(const uint8_t *){ 0 },
				    &(size_t){ 0 }));
	if (code == 401 || code == 438) { /* take the fresh nonce */
		assert_non_null(c->resp.a[SA_NONCE].v);
		c->nonce_len = c->resp.a[SA_NONCE].len;
		memcpy(c->nonce, c->resp.a[SA_NONCE].v, c->nonce_len);
	}
	return code;
}

/* As request_once, retrying once with the fresh nonce after a 438. */
static int request(struct world *w, struct client *c, uint16_t method, attrs_fn fn,
		   const void *arg, uint64_t now_s, bool new_tid)
{
	int code = request_once(w, c, method, fn, arg, now_s, new_tid);

	return code == 438 ? request_once(w, c, method, fn, arg, now_s, true) : code;
}

static void udp_transport(struct stun_builder *b, const void *arg)
{
	stun_put_u32(b, TURN_ATTR_REQUESTED_TRANSPORT, (uint32_t)TURN_TRANSPORT_UDP << 24);
}

static void put_lifetime(struct stun_builder *b, const void *arg)
{
	stun_put_u32(b, TURN_ATTR_LIFETIME, *(const uint32_t *)arg);
}

static void put_peer(struct stun_builder *b, const void *arg)
{
	stun_put_addr(b, TURN_ATTR_XOR_PEER_ADDRESS, arg, true);
}

struct bind_args {
	uint16_t channel;
	struct stun_addr peer;
};

static void put_bind(struct stun_builder *b, const void *arg)
{
	const struct bind_args *a = arg;

	stun_put_u32(b, TURN_ATTR_CHANNEL_NUMBER, (uint32_t)a->channel << 16);
	stun_put_addr(b, TURN_ATTR_XOR_PEER_ADDRESS, &a->peer, true);
}

static int allocate(struct world *w, struct client *c, uint64_t now)
{
	int code = request(w, c, TURN_ALLOCATE, udp_transport, NULL, now, true);

	if (code == 401 && c->nonce_len)
		code = request(w, c, TURN_ALLOCATE, udp_transport, NULL, now, true);
	return code;
}


/* documentation ranges are denied by default; our fake peers are public */
static const struct stun_addr pub1 = { STUN_FAMILY_IPV4, 5000, { 8, 8, 8, 8 } };
static const struct stun_addr pub2 = { STUN_FAMILY_IPV4, 6000, { 1, 1, 1, 1 } };
static const struct stun_addr pub3 = { STUN_FAMILY_IPV4, 7000, { 9, 9, 9, 9 } };
static const struct stun_addr pub4 = { STUN_FAMILY_IPV4, 8000, { 4, 2, 2, 1 } };

static void test_allocate_challenge_then_success(void **state)
{
	struct world *w = *state;
	struct client c;
	struct stun_addr relayed, mapped;
	uint32_t life;

	client_init(&c, 40000, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, true), 401);
	assert_non_null(c.resp.a[SA_REALM].v);
	assert_int_equal(c.resp.mi_off, 0); /* a challenge is not signed */
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, true), 0);
	assert_true(c.resp.mi_off > 0);
	assert_true(stun_attr_addr(&c.resp, &c.resp.a[SA_XOR_RELAYED_ADDRESS], true, &relayed));
	assert_memory_equal(relayed.ip, relay4.ip, 4);
	assert_true(relayed.port >= 49152);
	assert_true(stun_attr_addr(&c.resp, &c.resp.a[SA_XOR_MAPPED_ADDRESS], true, &mapped));
	assert_int_equal(mapped.port, 40000);
	assert_true(stun_attr_u32(&c.resp.a[SA_LIFETIME], &life));
	assert_int_equal(life, 600);
	assert_int_equal(w->f.n_open, 1);
	assert_int_equal(w->f.used, 1);
	assert_int_equal(relay_stats(w->r)->allocations[0], 1);
}

static void test_wrong_password_401(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40001, "alice", "nope");
	assert_int_equal(allocate(w, &c, T0), 401);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(relay_stats(w->r)->auth_failures[AUTH_BAD_INTEGRITY], 1);
}

static void test_stale_nonce_438(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40002, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, true), 401);
	/* the nonce lives 600 s; at 601 s it is stale and a fresh one comes */
	assert_int_equal(request_once(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0 + 601,
				      true), 438);
	assert_int_equal(request_once(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0 + 601,
				      true), 0);
}

static void test_allocate_retransmit_and_mismatch(void **state)
{
	struct world *w = *state;
	struct client c;
	uint8_t first[2048];
	size_t first_len;

	client_init(&c, 40003, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	memcpy(first, c.out, c.act.reply_len);
	first_len = c.act.reply_len;
	/* same transaction again: the same answer, not 437 */
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0 + 1, false), 0);
	assert_int_equal(c.act.reply_len, first_len);
	assert_memory_equal(c.out, first, first_len);
	assert_int_equal(w->f.n_open, 1);
	/* a new transaction on the same 5-tuple: 437 */
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0 + 2, true), 437);
}

static void test_requested_transport(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40004, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, NULL, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, NULL, NULL, T0, true), 400);
}

static void tcp_transport(struct stun_builder *b, const void *arg)
{
	stun_put_u32(b, TURN_ATTR_REQUESTED_TRANSPORT, (uint32_t)TURN_TRANSPORT_TCP << 24);
}

static void test_unsupported_transport_442(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40005, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 442);
}


static void test_refresh_and_expiry(void **state)
{
	struct world *w = *state;
	struct client c;
	uint32_t life = 1200, got;

	client_init(&c, 40010, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &life, T0 + 100, true), 0);
	assert_true(stun_attr_u32(&c.resp.a[SA_LIFETIME], &got));
	assert_int_equal(got, 1200);
	/* expires exactly at T0 + 100 + 1200 s */
	relay_tick(w->r, (T0 + 1299) * 1000ull + 999);
	assert_int_equal(w->f.n_open, 1);
	relay_tick(w->r, (T0 + 1300) * 1000ull);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(w->f.used, 0);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &life, T0 + 1301, true),
			 437);
}

static void test_refresh_clamped_to_max(void **state)
{
	struct world *w = *state;
	struct client c;
	uint32_t life = 100000, got;

	client_init(&c, 40011, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &life, T0, true), 0);
	assert_true(stun_attr_u32(&c.resp.a[SA_LIFETIME], &got));
	assert_int_equal(got, 3600);
}

static void test_refresh_zero_deletes_and_retransmit_succeeds(void **state)
{
	struct world *w = *state;
	struct client c;
	uint32_t zero = 0, got = 1;

	client_init(&c, 40012, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 5, true), 0);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(w->f.used, 0);
	/* the same Refresh retransmitted: success again, not 437 */
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 6, false), 0);
	assert_true(stun_attr_u32(&c.resp.a[SA_LIFETIME], &got));
	assert_int_equal(got, 0);
	/* a new one: 437 */
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 7, true), 437);
}

static void test_wrong_user_on_allocation_441(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40013, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	c.user = "bob";
	c.pass = "hunter2";
	assert_int_equal(request(w, &c, TURN_REFRESH, NULL, NULL, T0, true), 441);
}

static void test_permission_and_send(void **state)
{
	struct world *w = *state;
	uint8_t buf[512];
	struct stun_builder b;
	struct stun_msg m;
	struct client c;

	client_init(&c, 40014, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	/* Send before any permission: dropped */
	stun_build_init(&b, buf, sizeof buf, stun_type(TURN_SEND, STUN_INDICATION), c.tid);
	stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &pub1, true);
	stun_put(&b, TURN_ATTR_DATA, "hello", 5);
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	c.act = relay_from_client(w->r, &c.k, &m, T0 * 1000ull, c.out, sizeof c.out);
	assert_int_equal(c.act.peer_handle, -1);
	assert_int_equal(c.act.reply_len, 0);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	c.act = relay_from_client(w->r, &c.k, &m, T0 * 1000ull, c.out, sizeof c.out);
	assert_true(c.act.peer_handle >= 0);
	assert_int_equal(c.act.data_len, 5);
	assert_memory_equal(c.act.data, "hello", 5);
	assert_int_equal(c.act.peer.port, 5000);
	/* permissions are by IP: another port of the same peer works too */
	/* and they last exactly 300 s */
	c.act = relay_from_client(w->r, &c.k, &m, (T0 + 300) * 1000ull, c.out, sizeof c.out);
	assert_int_equal(c.act.peer_handle, -1);
}

static void test_permission_policy_403(void **state)
{
	struct world *w = *state;
	struct client c;
	const struct stun_addr loop = { STUN_FAMILY_IPV4, 9, { 127, 0, 0, 1 } };
	const struct stun_addr any = { STUN_FAMILY_IPV4, 9, { 0, 0, 0, 0 } };

	client_init(&c, 40015, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &loop, T0, true),
			 403);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &any, T0, true),
			 403);
	assert_int_equal(relay_stats(w->r)->policy_denied[POLICY_DENY_LOOPBACK], 1);
	assert_int_equal(relay_stats(w->r)->policy_denied[POLICY_DENY_UNSPECIFIED], 1);
}

static void test_permission_family_mismatch_443(void **state)
{
	struct world *w = *state;
	struct client c;
	const struct stun_addr v6 = { STUN_FAMILY_IPV6, 9,
				      { 0x20, 0x01, 0x48, 0x60, 0x48, 0x60, [15] = 0x88 } };

	client_init(&c, 40016, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0); /* IPv4 only */
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &v6, T0, true),
			 443);
}

static void test_channel_bind_and_data(void **state)
{
	struct world *w = *state;
	struct bind_args ba = { 0x4001, pub1 };
	uint8_t pkt[RELAY_HEADROOM + 16 + RELAY_TAILROOM], *msg;
	const struct relay_key *to;
	struct client c;
	size_t len;

	client_init(&c, 40017, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0, true), 0);
	/* client -> peer over the channel */
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"abc", 3,
					  T0 * 1000ull);
	assert_true(c.act.peer_handle >= 0);
	assert_int_equal(c.act.peer.port, pub1.port);
	/* an unbound channel is dropped */
	c.act = relay_from_client_channel(w->r, &c.k, 0x4002, (const uint8_t *)"abc", 3,
					  T0 * 1000ull);
	assert_int_equal(c.act.peer_handle, -1);
	/* peer -> client: framed in place as ChannelData */
	memcpy(pkt + RELAY_HEADROOM, "xyz", 3);
	to = relay_from_peer(w->r, w->f.id[0], &pub1, pkt + RELAY_HEADROOM, 3,
			     T0 * 1000ull, &msg, &len);
	assert_non_null(to);
	assert_int_equal(to->client.port, 40017);
	assert_int_equal(len, 7);
	assert_ptr_equal(msg, pkt + RELAY_HEADROOM - 4);
	assert_memory_equal(msg, "\x40\x01\x00\x03xyz", 7);
}

static void test_data_indication_from_peer(void **state)
{
	struct world *w = *state;
	uint8_t pkt[RELAY_HEADROOM + 16 + RELAY_TAILROOM], *msg;
	struct stun_addr from;
	struct stun_msg m;
	struct client c;
	size_t len;

	client_init(&c, 40018, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	/* no permission: dropped */
	assert_null(relay_from_peer(w->r, w->f.id[0], &pub2, pkt + RELAY_HEADROOM, 5,
				    T0 * 1000ull, &msg, &len));
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub2, T0, true), 0);
	memcpy(pkt + RELAY_HEADROOM, "hello", 5);
	assert_non_null(relay_from_peer(w->r, w->f.id[0], &pub2, pkt + RELAY_HEADROOM, 5,
					T0 * 1000ull, &msg, &len));
	assert_int_equal(stun_parse(&m, msg, len), STUN_OK);
	assert_int_equal(m.method, TURN_DATA);
	assert_int_equal(m.cls, STUN_INDICATION);
	assert_int_equal(m.a[SA_DATA].len, 5);
	assert_memory_equal(m.a[SA_DATA].v, "hello", 5);
	assert_true(stun_attr_addr(&m, &m.a[SA_XOR_PEER_ADDRESS], true, &from));
	assert_int_equal(from.port, pub2.port);
}

/* A Send indication from c to peer, as the engine answers it. */
static struct relay_action send_to(struct world *w, struct client *c,
				   const struct stun_addr *peer)
{
	uint8_t buf[512];
	struct stun_builder b;
	struct stun_msg m;

	stun_build_init(&b, buf, sizeof buf, stun_type(TURN_SEND, STUN_INDICATION), c->tid);
	stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer, true);
	stun_put(&b, TURN_ATTR_DATA, "wg", 2);
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	return relay_from_client(w->r, &c->k, &m, T0 * 1000ull, c->out, sizeof c->out);
}

/*
 * The in-process service (the WireGuard responder at port 51820 of the
 * relay's own address): permitted, bound, and marked for hand-over; every
 * other port of the own address stays closed both ways.
 */
static void test_local_service(void **state)
{
	struct world *w = *state;
	struct stun_addr wg = relay4, other = relay4;
	struct bind_args ba = { 0x4001, relay4 }, bad = { 0x4002, relay4 };
	uint8_t pkt[RELAY_HEADROOM + 16 + RELAY_TAILROOM], *msg;
	const struct relay_key *to;
	struct client c, d;
	size_t len;

	wg.port = ba.peer.port = 51820;
	other.port = bad.peer.port = 6379;
	assert_true(policy_add_own(w->policy, &relay4));
	client_init(&c, 40030, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	/* no service: the own address is refused as ever */
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &wg, T0, true), 403);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0, true), 403);

	policy_set_local_port(w->policy, 51820);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &bad, T0, true), 403);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0, true), 0);
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"wg", 2,
					  T0 * 1000ull);
	assert_true(c.act.peer_handle >= 0);
	assert_true(c.act.local);
	assert_int_equal(c.act.local_index, 0);
	assert_int_equal(c.act.alloc, w->f.id[0]);
	/* Send: the permission is for the IP, but only the service's port goes */
	c.act = send_to(w, &c, &wg);
	assert_true(c.act.local);
	assert_int_equal(c.act.data_len, 2);
	c.act = send_to(w, &c, &other);
	assert_int_equal(c.act.peer_handle, -1);
	assert_false(c.act.local);
	/* an ordinary peer is not local */
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	c.act = send_to(w, &c, &pub1);
	assert_true(c.act.peer_handle >= 0);
	assert_false(c.act.local);
	/* the service answers: framed on the channel; another own port: dropped */
	memcpy(pkt + RELAY_HEADROOM, "ok", 2);
	to = relay_from_peer(w->r, w->f.id[0], &wg, pkt + RELAY_HEADROOM, 2, T0 * 1000ull,
			     &msg, &len);
	assert_non_null(to);
	assert_memory_equal(msg, "\x40\x01\x00\x02ok", 6);
	assert_null(relay_from_peer(w->r, w->f.id[0], &other, pkt + RELAY_HEADROOM, 2,
				    T0 * 1000ull, &msg, &len));
	/* an answer finds its allocation only with the client it was for */
	assert_true(relay_serves(w->r, w->f.id[0], &c.k.client));
	client_init(&d, 40031, "alice", "secret");
	assert_false(relay_serves(w->r, w->f.id[0], &d.k.client));
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &(uint32_t){ 0 }, T0, true), 0);
	assert_false(relay_serves(w->r, w->f.id[0], &c.k.client));
}

/* max-bps holds in each direction on its own, and Send counts as relayed. */
static void test_bandwidth_per_direction(void **state)
{
	struct world *w = *state;
	uint8_t pkt[RELAY_HEADROOM + 600 + RELAY_TAILROOM], *msg, buf[1024];
	struct stun_builder b;
	struct stun_msg m;
	struct client c;
	size_t len;

	w->cfg.max_bps = 1000;
	client_init(&c, 40034, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	stun_build_init(&b, buf, sizeof buf, stun_type(TURN_SEND, STUN_INDICATION), c.tid);
	stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &pub1, true);
	stun_put(&b, TURN_ATTR_DATA, pkt, 600);
	assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
	/* each bucket starts full: one second (1000 B) deep */
	c.act = relay_from_client(w->r, &c.k, &m, (T0 + 1) * 1000ull, c.out, sizeof c.out);
	assert_true(c.act.peer_handle >= 0);
	assert_int_equal(relay_stats(w->r)->to_peer_packets, 1);
	assert_int_equal(relay_stats(w->r)->to_peer_bytes, 600);
	c.act = relay_from_client(w->r, &c.k, &m, (T0 + 1) * 1000ull, c.out, sizeof c.out);
	assert_int_equal(c.act.peer_handle, -1); /* 400 B left: dropped */
	assert_int_equal(relay_stats(w->r)->dropped[RD_BANDWIDTH], 1);
	/* the other direction has its own second's worth */
	assert_non_null(relay_from_peer(w->r, w->f.id[0], &pub1, pkt + RELAY_HEADROOM, 600,
					(T0 + 1) * 1000ull, &msg, &len));
	/* bps-capacity: the engine's own bucket, shared by its allocations */
	w->cfg.max_bps = 0;
	w->cfg.capacity_bps = 1000;
	c.act = relay_from_client(w->r, &c.k, &m, (T0 + 5) * 1000ull, c.out, sizeof c.out);
	assert_true(c.act.peer_handle >= 0);
	c.act = relay_from_client(w->r, &c.k, &m, (T0 + 5) * 1000ull, c.out, sizeof c.out);
	assert_int_equal(c.act.peer_handle, -1);
	assert_int_equal(relay_stats(w->r)->dropped[RD_BANDWIDTH], 2);
	w->cfg.capacity_bps = 0;
}

static void test_channel_rebinding_rules(void **state)
{
	struct world *w = *state;
	struct bind_args a = { 0x4001, pub1 }, other_peer = { 0x4001, pub2 },
			 other_num = { 0x4002, pub1 }, bad = { 0x3fff, pub1 },
			 old = { 0x5000, pub2 }, top = { 0x7FFF, pub3 },
			 over = { 0x8000, pub4 }, newer = { 0x5001, pub4 };
	struct client c;

	client_init(&c, 40019, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &a, T0, true), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &a, T0 + 10, true), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &other_peer, T0, true),
			 400);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &other_num, T0, true),
			 400);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &bad, T0, true), 400);
	/* 0x5000-0x7FFF by default (RFC 5766, as coturn's clients pick them) */
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &old, T0, true), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &top, T0, true), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &over, T0, true), 400);
	/* and only 0x4000-0x4FFF with rfc8656-channel-numbers */
	w->cfg.channel_max = CHANNEL_MAX;
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &newer, T0, true), 400);
	w->cfg.channel_max = CHANNEL_MAX_RFC5766;
	/* expired at T0+10+600, still reserved for 5 more minutes */
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &other_peer,
				 T0 + 700, true), 400);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &other_peer,
				 T0 + 911, true), 0);
}

static void test_user_quota_486(void **state)
{
	struct world *w = *state;
	struct client c1, c2;

	w->f.max = 1;
	client_init(&c1, 40020, "alice", "secret");
	client_init(&c2, 40021, "alice", "secret");
	assert_int_equal(allocate(w, &c1, T0), 0);
	assert_int_equal(allocate(w, &c2, T0), 486);
	assert_int_equal(w->f.n_open, 1);
}

static void test_table_full_508(void **state)
{
	struct world *w = *state;
	struct client c[9];

	for (int i = 0; i < 8; i++) {
		client_init(&c[i], (uint16_t)(41000 + i), "bob", "hunter2");
		assert_int_equal(allocate(w, &c[i], T0), 0);
	}
	client_init(&c[8], 41008, "bob", "hunter2");
	assert_int_equal(allocate(w, &c[8], T0), 508);
	assert_int_equal(w->f.used, 8); /* the refused one gave its quota back */
}

static void test_port_in_use_retried(void **state)
{
	struct world *w = *state;
	struct client c;

	w->f.busy_ports = 5;
	client_init(&c, 40022, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(w->f.n_open, 1);
	w->f.busy_ports = RELAY_PORT_TRIES;
	client_init(&c, 40023, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 508);
}

static void dual(struct stun_builder *b, const void *arg)
{
	udp_transport(b, arg);
	stun_put_u32(b, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, (uint32_t)STUN_FAMILY_IPV6 << 24);
}

static void test_dual_allocation(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40024, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, dual, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, dual, NULL, T0, true), 0);
	assert_int_equal(w->f.n_open, 2);
	assert_int_equal(relay_stats(w->r)->allocations[1], 1);
}

static void even_reserve(struct stun_builder *b, const void *arg)
{
	uint8_t r[4] = { TURN_EVEN_PORT_R };

	udp_transport(b, arg);
	stun_put(b, TURN_ATTR_EVEN_PORT, r, 1);
}

static void with_token(struct stun_builder *b, const void *arg)
{
	udp_transport(b, arg);
	stun_put(b, TURN_ATTR_RESERVATION_TOKEN, arg, 8);
}

static void test_even_port_and_reservation(void **state)
{
	struct world *w = *state;
	struct client c, d;
	struct stun_addr r1, r2;
	uint8_t token[8];

	client_init(&c, 40025, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, even_reserve, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, even_reserve, NULL, T0, true), 0);
	assert_true(stun_attr_addr(&c.resp, &c.resp.a[SA_XOR_RELAYED_ADDRESS], true, &r1));
	assert_int_equal(r1.port % 2, 0);
	assert_int_equal(c.resp.a[SA_RESERVATION_TOKEN].len, 8);
	memcpy(token, c.resp.a[SA_RESERVATION_TOKEN].v, 8);
	assert_int_equal(w->f.n_open, 2); /* the allocation and the held port */
	client_init(&d, 40026, "alice", "secret");
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 1, true), 401);
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 1, true), 0);
	assert_true(stun_attr_addr(&d.resp, &d.resp.a[SA_XOR_RELAYED_ADDRESS], true, &r2));
	assert_int_equal(r2.port, r1.port + 1);
	/* a token is good once */
	client_init(&d, 40027, "alice", "secret");
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 1, true), 401);
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 1, true), 508);
}

static void test_reservation_expires(void **state)
{
	struct world *w = *state;
	struct client c, d;
	uint8_t token[8];

	client_init(&c, 40028, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, even_reserve, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, even_reserve, NULL, T0, true), 0);
	memcpy(token, c.resp.a[SA_RESERVATION_TOKEN].v, 8);
	client_init(&d, 40033, "alice", "secret");
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 30, true), 401);
	assert_int_equal(request(w, &d, TURN_ALLOCATE, with_token, token, T0 + 30, true), 508);
	w->f.open[w->f.held_handle] = false; /* the shell's table closes it */
	w->f.n_open--;
}

static void udp_df(struct stun_builder *b, const void *arg)
{
	udp_transport(b, arg);
	stun_put(b, TURN_ATTR_DONT_FRAGMENT, "", 0);
}

static void test_dont_fragment(void **state)
{
	struct world *w = *state;
	struct client c, d;

	client_init(&c, 40029, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_df, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_df, NULL, T0, true), 0);
	assert_true(w->f.df[0]);
	client_init(&d, 40032, "alice", "secret");
	assert_int_equal(allocate(w, &d, T0), 0);
	assert_false(w->f.df[1]);
}

static void test_client_gone_frees(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40030, "alice", "secret");
	c.k.transport = TURN_TRANSPORT_TCP;
	c.k.conn = 1234;
	assert_int_equal(allocate(w, &c, T0), 0);
	relay_client_gone(w->r, &c.k);
	assert_int_equal(w->f.n_open, 0);
}

static void test_unknown_attribute_420(void **state)
{
	struct world *w = *state;
	struct client c;

	client_init(&c, 40031, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, even_reserve, NULL, T0, true), 401);
	{
		uint8_t buf[256];
		struct stun_builder b;
		struct stun_msg m;

		stun_build_init(&b, buf, sizeof buf, stun_type(TURN_ALLOCATE, STUN_REQUEST),
				c.tid);
		stun_put_u32(&b, 0x7ff0, 1);
		assert_int_equal(stun_parse(&m, buf, stun_build_finish(&b)), STUN_OK);
		c.act = relay_from_client(w->r, &c.k, &m, T0 * 1000ull, c.out, sizeof c.out);
		assert_int_equal(c.act.error, 420);
	}
}

/* RFC 6062 ---------------------------------------------------------------- */

static void enable_tcp(struct world *w)
{
	w->ops.open_tcp = f_open_tcp;
	w->ops.tcp_connect = f_tcp_connect;
	w->ops.tcp_close = f_tcp_close;
	w->ops.tcp_state = f_tcp_state;
	w->ops.tcp_bind = f_tcp_bind;
	w->ops.send = f_send;
	w->ops.tcp_origin = f_tcp_origin;
}

/* A client on a TCP control connection with a TCP allocation. */
static void tcp_client(struct world *w, struct client *c, uint16_t port, uintptr_t conn)
{
	client_init(c, port, "alice", "secret");
	c->k.transport = TURN_TRANSPORT_TCP;
	c->k.conn = conn;
	assert_int_equal(request(w, c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 401);
	assert_int_equal(request(w, c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 0);
}

/* The message the engine sent on its own, parsed; its error code or 0. */
static int sent_message(struct world *w, struct stun_msg *m, uint16_t method, uint16_t cls)
{
	int code = 0;

	assert_true(w->f.sent_len > 0);
	assert_int_equal(stun_parse(m, w->f.sent, w->f.sent_len), STUN_OK);
	assert_int_equal(m->method, method);
	assert_int_equal(m->cls, cls);
	if (cls == STUN_ERROR)
		assert_true(stun_attr_error(&m->a[SA_ERROR_CODE], &code,
					    &(const uint8_t *){ 0 }, &(size_t){ 0 }));
	return code;
}

static bool owned(struct world *w, uint32_t cid)
{
	const uint8_t *u;
	size_t n;
	struct stun_addr a;

	return relay_tcp_owner(w->r, cid, &u, &n, &a);
}

static void tcp_with_df(struct stun_builder *b, const void *arg)
{
	tcp_transport(b, arg);
	stun_put(b, TURN_ATTR_DONT_FRAGMENT, NULL, 0);
}

static void tcp_with_even_port(struct stun_builder *b, const void *arg)
{
	const uint8_t r = 0;

	tcp_transport(b, arg);
	stun_put(b, TURN_ATTR_EVEN_PORT, &r, 1);
}

static void alice_key(uint8_t key[32])
{
	stun_lt_key(STUN_PWALG_MD5, "alice", 5, "example.org", 11, "secret", 6, key);
}

struct listed {
	int n, stop_after;
	uint16_t ports[4];
	uint8_t transport[4];
	bool tcp_relay[4];
};

static bool list_one(void *ctx, const struct relay_record *rec, uint8_t transport, bool tcp)
{
	struct listed *l = ctx;

	assert_true(l->n < 4);
	assert_memory_equal(rec->user, "alice", 5);
	l->ports[l->n] = rec->client.port;
	l->transport[l->n] = transport;
	l->tcp_relay[l->n++] = tcp;
	return l->n != l->stop_after;
}

/* relay_each: every allocation, UDP and TCP relays, over any transport. */
static void test_each_allocation(void **state)
{
	struct world *w = *state;
	struct client a, b;
	struct listed l = { 0 };

	enable_tcp(w);
	client_init(&a, 40001, "alice", "secret");
	assert_int_equal(allocate(w, &a, T0), 0);
	tcp_client(w, &b, 40002, 9);
	relay_each(w->r, T0, list_one, &l);
	assert_int_equal(l.n, 2);
	for (int i = 0; i < 2; i++) {
		bool udp = l.ports[i] == 40001;

		assert_true(udp || l.ports[i] == 40002);
		assert_int_equal(l.transport[i], udp ? TURN_TRANSPORT_UDP : TURN_TRANSPORT_TCP);
		assert_int_equal(l.tcp_relay[i], !udp);
	}
	l = (struct listed){ .stop_after = 1 };
	relay_each(w->r, T0, list_one, &l);
	assert_int_equal(l.n, 1);
}

static void test_tcp_allocate_rules(void **state)
{
	struct world *w = *state;
	struct client c;
	int h = -1;

	enable_tcp(w);
	/* s5.1: a TCP allocation needs a stream control connection */
	client_init(&c, 41000, "alice", "secret");
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 400);
	/* and no EVEN-PORT, RESERVATION-TOKEN or DONT-FRAGMENT */
	c.k.transport = TURN_TRANSPORT_TCP;
	c.k.conn = 7;
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_with_df, NULL, T0, true), 400);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_with_even_port, NULL, T0, true),
			 400);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 0);
	for (int i = 0; i < MAX_HANDLES; i++)
		if (w->f.open[i])
			h = i;
	assert_true(h >= 0 && w->f.tcp[h]);
	assert_int_equal(w->f.n_open, 1);
	/* channels and Send carry datagrams: not on a TCP allocation */
	{
		struct bind_args ba = { 0x4000, pub1 };

		assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0, true),
				 400);
	}
	relay_client_gone(w->r, &c.k);
	assert_int_equal(w->f.n_open, 0);
}

static void test_tcp_connect_answered_later(void **state)
{
	struct world *w = *state;
	struct client c;
	struct stun_msg m;
	uint8_t key[32];
	uint32_t cid;
	uint8_t connect_tid[STUN_TID_LEN];

	enable_tcp(w);
	tcp_client(w, &c, 41001, 11);
	/* s5.2: no answer until the connection is made */
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), -1);
	memcpy(connect_tid, c.tid, STUN_TID_LEN);
	assert_int_equal(w->f.n_connects, 1);
	cid = w->f.connect_cid[0];
	assert_memory_equal(&w->f.connect_peer[0], &pub1, sizeof pub1);
	assert_int_equal(relay_tcp_shard(cid), 0);
	assert_int_equal(w->f.n_sent, 0);
	/* a second Connect to the same peer while the first is pending: 446 */
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), 446);
	assert_true(relay_tcp_connected(w->r, cid, 0, T0 * 1000ull + 5));
	assert_int_equal(w->f.n_sent, 1);
	assert_int_equal(w->f.sent_to.conn, 11);
	assert_int_equal(sent_message(w, &m, TURN_CONNECT, STUN_SUCCESS), 0);
	assert_memory_equal(m.tid, connect_tid, STUN_TID_LEN);
	{
		uint32_t got;

		assert_true(stun_attr_u32(&m.a[SA_CONNECTION_ID], &got));
		assert_int_equal(got, cid);
	}
	alice_key(key);
	assert_true(stun_check_integrity(&m, key, 16));
	/* the connection is pending now, and still the peer's */
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), 446);
	{
		size_t len = 0;
		const uint8_t *u = NULL;
		struct stun_addr origin;

		assert_true(relay_tcp_owner(w->r, cid, &u, &len, &origin));
		assert_int_equal(len, 5);
		assert_memory_equal(u, "alice", 5);
		assert_memory_equal(&origin, &c.k.client, sizeof origin);
	}
	assert_int_equal(relay_stats(w->r)->tcp_connected, 1);
	/* a late or repeated report changes nothing */
	assert_false(relay_tcp_connected(w->r, cid, 0, T0 * 1000ull + 6));
	assert_int_equal(w->f.n_sent, 1);
}

static void test_tcp_connect_failures(void **state)
{
	struct world *w = *state;
	struct client c;
	struct stun_msg m;
	const struct stun_addr lo = { STUN_FAMILY_IPV4, 22, { 127, 0, 0, 1 } };
	const struct stun_addr v6 = { STUN_FAMILY_IPV6, 22, { 0x20, 0x01, 0x48, 0x60, [15] = 8 } };

	enable_tcp(w);
	tcp_client(w, &c, 41002, 12);
	assert_int_equal(request(w, &c, TURN_CONNECT, NULL, NULL, T0, true), 400);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &lo, T0, true), 403);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &v6, T0, true), 443);
	/* refused by the peer: 447, and the peer may be tried again */
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), -1);
	assert_false(relay_tcp_connected(w->r, w->f.connect_cid[0], -ECONNREFUSED,
					 T0 * 1000ull));
	assert_int_equal(sent_message(w, &m, TURN_CONNECT, STUN_ERROR), 447);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), -1);
	assert_int_equal(w->f.n_connects, 2);
	/* no answer within 30 s: 447 and the attempt is closed */
	relay_tick(w->r, T0 * 1000ull + RELAY_TCP_TIMEOUT_MS - 1);
	assert_int_equal(w->f.n_closed, 0);
	relay_tick(w->r, T0 * 1000ull + RELAY_TCP_TIMEOUT_MS);
	assert_int_equal(w->f.n_closed, 1);
	assert_int_equal(w->f.closed[0], w->f.connect_cid[1]);
	assert_int_equal(sent_message(w, &m, TURN_CONNECT, STUN_ERROR), 447);
	assert_int_equal(relay_stats(w->r)->tcp_failed, 2);
	/* the shell could not even start: 447 at once */
	w->f.connect_err = -EMFILE;
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub2, T0 + 31, true), 447);
	/* the kernel has that connection already (the peer's, not accepted yet) */
	w->f.connect_err = -EEXIST;
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub2, T0 + 31, true), 446);
}

/* The service is UDP: a TCP allocation cannot Connect to an own address. */
static void test_local_service_not_over_tcp(void **state)
{
	struct world *w = *state;
	struct stun_addr wg = relay4;
	struct client c;

	wg.port = 51820;
	assert_true(policy_add_own(w->policy, &relay4));
	policy_set_local_port(w->policy, 51820);
	enable_tcp(w);
	tcp_client(w, &c, 41030, 30);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &wg, T0, true), 403);
	assert_int_equal(w->f.n_connects, 0);
}

static void test_tcp_connect_needs_tcp_allocation(void **state)
{
	struct world *w = *state;
	struct client c;

	enable_tcp(w);
	client_init(&c, 41003, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), 400);
	assert_int_equal(w->f.n_connects, 0);
	/* and a Connect with no allocation at all */
	client_init(&c, 41004, "alice", "secret");
	c.k.transport = TURN_TRANSPORT_TCP;
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), 401);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub1, T0, true), 437);
}

static void test_tcp_incoming_needs_permission(void **state)
{
	struct world *w = *state;
	struct client c;
	struct stun_msg m;
	struct stun_addr peer;
	uint32_t id, cid, got;

	enable_tcp(w);
	tcp_client(w, &c, 41005, 13);
	id = w->f.id[0];
	/* s5.3: no permission, no connection; the client hears nothing */
	assert_int_equal(relay_tcp_accepted(w->r, id, &pub1, T0 * 1000ull), 0);
	assert_int_equal(w->f.n_sent, 0);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	cid = relay_tcp_accepted(w->r, id, &pub1, T0 * 1000ull);
	assert_int_not_equal(cid, 0);
	assert_int_equal(w->f.n_sent, 0); /* announced when the shell says */
	{
		const struct relay_key *to;

		to = relay_tcp_announce(w->r, cid, w->f.sent, sizeof w->f.sent,
					&w->f.sent_len);
		assert_non_null(to);
		assert_int_equal(to->conn, 13);
		assert_null(relay_tcp_announce(w->r, cid ^ 1, w->f.sent, sizeof w->f.sent,
					       &(size_t){ 0 }));
	}
	sent_message(w, &m, TURN_CONNECTION_ATTEMPT, STUN_INDICATION);
	assert_true(stun_attr_u32(&m.a[SA_CONNECTION_ID], &got));
	assert_int_equal(got, cid);
	assert_true(stun_attr_addr(&m, &m.a[SA_XOR_PEER_ADDRESS], true, &peer));
	assert_memory_equal(&peer, &pub1, sizeof peer);
	/* another port of the same IP is permitted too (permissions are by IP) */
	peer.port++;
	assert_int_not_equal(relay_tcp_accepted(w->r, id, &peer, T0 * 1000ull), 0);
	/* an unknown allocation id, and a UDP allocation's, get nothing */
	assert_int_equal(relay_tcp_accepted(w->r, id + 1, &pub1, T0 * 1000ull), 0);
	assert_int_equal(relay_stats(w->r)->tcp_accepted, 2);
}

static void test_tcp_pending_expires_or_binds(void **state)
{
	struct world *w = *state;
	struct client c;
	uint32_t id, a1, a2;
	uint64_t t0 = T0 * 1000ull;

	enable_tcp(w);
	tcp_client(w, &c, 41006, 14);
	id = w->f.id[0];
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	a1 = relay_tcp_accepted(w->r, id, &pub1, t0);
	a2 = relay_tcp_accepted(w->r, id, &pub2, t0);
	assert_int_equal(a2, 0); /* pub2 has no permission */
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub2, T0, true), 0);
	a2 = relay_tcp_accepted(w->r, id, &pub2, t0);
	assert_int_not_equal(a1, a2);
	/* 30 s later: a1 was never bound (closed), a2 was (kept) */
	w->f.state = RELAY_TCP_PENDING;
	relay_tick(w->r, t0 + RELAY_TCP_TIMEOUT_MS - 1);
	assert_int_equal(w->f.n_closed, 0);
	relay_tick(w->r, t0 + RELAY_TCP_TIMEOUT_MS); /* both asked; both pending */
	assert_int_equal(w->f.n_closed, 2);
	/* again, with the shell saying bound: kept until the shell says gone */
	a1 = relay_tcp_accepted(w->r, id, &pub1, t0 + 40000);
	w->f.state = RELAY_TCP_BOUND;
	relay_tick(w->r, t0 + 80000);
	relay_tick(w->r, t0 + 90000);
	assert_int_equal(w->f.n_closed, 2);
	assert_true(owned(w, a1));
	w->f.state = RELAY_TCP_GONE;
	relay_tick(w->r, t0 + 91000);
	assert_int_equal(w->f.n_closed, 2); /* gone by itself: nothing to close */
	assert_false(owned(w, a1));
	/* the slot comes back with a new id */
	a2 = relay_tcp_accepted(w->r, id, &pub1, t0 + 92000);
	assert_int_not_equal(a2, 0);
	assert_int_not_equal(a2, a1);
}

static void put_connection_id(struct stun_builder *b, const void *arg)
{
	stun_put_u32(b, TURN_ATTR_CONNECTION_ID, *(const uint32_t *)arg);
}

static void test_tcp_connection_bind(void **state)
{
	struct world *w = *state;
	struct client c, d, e;
	uint32_t id, cid, wrong;

	enable_tcp(w);
	tcp_client(w, &c, 41007, 15);
	id = w->f.id[0];
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	cid = relay_tcp_accepted(w->r, id, &pub1, T0 * 1000ull);
	w->f.pending_cid = cid;
	w->f.pending_user = "alice";
	/* on the control connection itself: 400 */
	assert_int_equal(request(w, &c, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 400);
	/* over UDP: 400 */
	client_init(&d, 41008, "alice", "secret");
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 401);
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 400);
	/* a new TCP connection, unauthenticated first: the usual 401 */
	client_init(&d, 41009, "alice", "secret");
	d.k.transport = TURN_TRANSPORT_TCP;
	d.k.conn = 16;
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 401);
	/* an unknown id, no id: 400 */
	wrong = cid ^ 1;
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &wrong, T0,
				 true), 400);
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, NULL, NULL, T0, true), 400);
	/* another user who learnt the id: 400 */
	client_init(&e, 41010, "bob", "hunter2");
	e.k.transport = TURN_TRANSPORT_TCP;
	e.k.conn = 17;
	assert_int_equal(request(w, &e, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 401);
	assert_int_equal(request(w, &e, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 400);
	/* the owner: success, signed, and the shell joins the connections */
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 0);
	assert_true(d.resp.mi_off > 0);
	assert_int_equal(w->f.bound_to.conn, 16);
	/* only once */
	assert_int_equal(request(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				 true), 400);
}

/* coturn's clients sign the ConnectionBind with their control connection's
 * nonce: good for that connection's ids, and only for them. */
static void test_tcp_bind_with_control_nonce(void **state)
{
	struct world *w = *state;
	struct client c, d;
	uint32_t id, cid, other;

	enable_tcp(w);
	tcp_client(w, &c, 41020, 21);
	id = w->f.id[0];
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	cid = relay_tcp_accepted(w->r, id, &pub1, T0 * 1000ull);
	other = relay_tcp_accepted(w->r, id, &pub2, T0 * 1000ull);
	(void)other;
	w->f.pending_cid = cid;
	w->f.pending_user = "alice";
	w->f.pending_origin = c.k.client;
	client_init(&d, 41021, "alice", "secret");
	d.k.transport = TURN_TRANSPORT_TCP;
	d.k.conn = 22;
	memcpy(d.nonce, c.nonce, c.nonce_len);
	d.nonce_len = c.nonce_len;
	/* another connection id: the nonce is not this connection's, 438 */
	w->f.pending_origin.port++;
	assert_int_equal(request_once(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				      true), 438);
	/* the control connection's own: accepted at once */
	w->f.pending_origin = c.k.client;
	memcpy(d.nonce, c.nonce, c.nonce_len);
	d.nonce_len = c.nonce_len;
	assert_int_equal(request_once(w, &d, TURN_CONNECTION_BIND, put_connection_id, &cid, T0,
				      true), 0);
	assert_int_equal(w->f.bound_to.conn, 22);
}

static void test_tcp_allocation_gone_closes_all(void **state)
{
	struct world *w = *state;
	struct client c;
	struct stun_msg m;
	uint32_t id, acc;
	uint32_t zero = 0;

	enable_tcp(w);
	tcp_client(w, &c, 41011, 18);
	id = w->f.id[0];
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0, true), 0);
	acc = relay_tcp_accepted(w->r, id, &pub1, T0 * 1000ull);
	assert_int_equal(request(w, &c, TURN_CONNECT, put_peer, &pub2, T0, true), -1);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0, true), 0);
	/* both closed; the pending Connect got its 447 */
	assert_int_equal(w->f.n_closed, 2);
	assert_true((w->f.closed[0] == acc && w->f.closed[1] == w->f.connect_cid[0]) ||
		    (w->f.closed[1] == acc && w->f.closed[0] == w->f.connect_cid[0]));
	assert_int_equal(sent_message(w, &m, TURN_CONNECT, STUN_ERROR), 447);
	assert_int_equal(w->f.n_open, 0);
	assert_false(owned(w, acc));
	assert_false(relay_tcp_connected(w->r, w->f.connect_cid[0], 0, T0 * 1000ull));
}

/* ---- the store: records, change tracking, restore ----------------------- */

/* An engine that keeps records for the store; hold: redis-required's too. */
static int setup_store(void **state, bool hold)
{
	struct world *w;

	setup(state);
	w = *state;
	relay_free(w->r);
	w->cfg.persist = true;
	w->cfg.hold_new = hold;
	w->r = relay_new(&w->cfg, &w->ops);
	assert_non_null(w->r);
	return 0;
}

static int setup_persist(void **state)
{
	return setup_store(state, false);
}

struct synced {
	struct relay_record put[4];
	int n_put;
	struct stun_addr del[4];
	uint64_t del_tag[4];
	uint64_t gone_bytes[4];
	struct totals gone[4];
	bool gone_user[4];
	int n_del;
};

static void s_put(void *ctx, struct relay_record *rec)
{
	struct synced *s = ctx;

	assert_true(s->n_put < 4);
	s->put[s->n_put++] = *rec;
}

static void s_del(void *ctx, const struct stun_addr *key, uint64_t tag,
		  const struct relay_gone *gone)
{
	struct synced *s = ctx;

	assert_true(s->n_del < 4);
	s->del[s->n_del] = *key;
	s->gone_bytes[s->n_del] = gone->bytes[0];
	memcpy(s->gone[s->n_del].packets, gone->packets, sizeof gone->packets);
	memcpy(s->gone[s->n_del].bytes, gone->bytes, sizeof gone->bytes);
	s->gone_user[s->n_del] = gone->user_len && memcmp(gone->user, "alice", 5) == 0;
	s->del_tag[s->n_del++] = tag;
}

static void on_traffic(void *ctx, struct relay_record *rec)
{
	struct world *w = ctx;

	w->traffic++;
	w->traffic_bytes = rec->bytes[0];
	memcpy(w->traffic_totals.packets, rec->packets, sizeof rec->packets);
	memcpy(w->traffic_totals.bytes, rec->bytes, sizeof rec->bytes);
}

static void sync_into(struct world *w, struct synced *s, uint64_t now_s)
{
	const struct relay_sync_ops ops = { s, s_put, s_del };

	memset(s, 0, sizeof *s);
	relay_sync(w->r, now_s * 1000, &ops);
	assert_false(relay_sync_pending(w->r));
}

static void test_record_roundtrip(void **state)
{
	static struct relay_record in, out;
	static char line[RECORD_MAX], again[RECORD_MAX];
	static const char *const bad[] = {
		"",
		"tern1",
		"tern2 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u=",
		/* every fixed field is needed */
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3",
		/* and a relayed address */
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 u=",
		/* repeated, unknown, out of range, malformed */
		"tern1 n=0000000000000001 l=0 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u=",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u= x=1",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=2 r=1.2.3.4:3 u=",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:65536 e=1 g=1 df=0 r=1.2.3.4:3 u=",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=-1 g=1 df=0 r=1.2.3.4:3 u=",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u=6",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u= ",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u= ch=16383,1.2.3.4:5@1",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u= p=1.2.3.4:5@1",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=[::1:2 e=1 g=1 df=0 r=1.2.3.4:3 u=",
		"tern1 n=0000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 r=5.6.7.8:9 u=",
		"tern1 n=000000000000001 l=0 a=1.2.3.4:1 c=1.2.3.4:2 e=1 g=1 df=0 r=1.2.3.4:3 u=",
	};
	size_t n;

	memset(&in, 0, sizeof in);
	in.tag = 0x0123456789abcdefull;
	in.listener = 3;
	in.local = (struct stun_addr){ STUN_FAMILY_IPV4, 3478, { 192, 0, 2, 1 } };
	in.client = (struct stun_addr){ STUN_FAMILY_IPV6, 40000, { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 } };
	in.expires = T0 * 1000ull + 600000;
	in.granted = 600;
	in.dont_fragment = true;
	in.has[0] = in.has[1] = true;
	in.relayed[0] = relay4;
	in.relayed[0].port = 49152;
	in.relayed[1] = relay6;
	in.relayed[1].port = 65535;
	memcpy(in.user, "17000:al ice=\x01\xff", 15); /* a REST name, odd bytes */
	in.user_len = 15;
	in.n_perms = 2;
	in.perms[0].ip = pub1;
	in.perms[0].ip.port = 0;
	in.perms[0].expires = T0 * 1000ull + 300000;
	in.perms[1].ip = relay6;
	in.perms[1].expires = 1;
	in.n_chans = 1;
	in.chans[0].number = 0x4001;
	in.chans[0].peer = pub2;
	in.chans[0].expires = T0 * 1000ull + 600000;
	n = record_format(&in, line, sizeof line);
	assert_true(n > 0 && n == strlen(line));
	assert_int_equal(record_parse(line, n, &out), 0);
	/* the same record: it formats to the same line, and spot checks */
	assert_int_equal(record_format(&out, again, sizeof again), n);
	assert_string_equal(line, again);
	assert_int_equal(out.tag, in.tag);
	assert_int_equal(out.client.family, STUN_FAMILY_IPV6);
	assert_memory_equal(out.client.ip, in.client.ip, 16);
	assert_int_equal(out.relayed[1].port, 65535);
	assert_int_equal(out.user_len, 15);
	assert_memory_equal(out.user, in.user, 15);
	assert_int_equal(out.perms[1].expires, 1);
	assert_int_equal(out.chans[0].peer.port, pub2.port);
	assert_true(out.dont_fragment);
	assert_ptr_equal(record_key(&out), &out.relayed[0]);
	/* too small a buffer is refused, not cut short */
	assert_int_equal(record_format(&in, line, n), 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		print_message("bad[%zu]\n", i);
		assert_int_equal(record_parse(bad[i], strlen(bad[i]), &out), -1);
	}
}

static int setup_hold(void **state)
{
	return setup_store(state, true);
}

/* redis-required: a new allocation's answer is held with a 508 behind it;
 * a retransmit meanwhile gets nothing; the store's yes keeps it, its no
 * releases it. */
static void test_hold_new_allocation(void **state)
{
	struct world *w = *state;
	struct stun_msg fb;
	struct client c, d;
	uint8_t tid[STUN_TID_LEN];
	const uint8_t *reason;
	size_t rlen;
	int code;

	client_init(&c, 40300, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0); /* the success, held */
	assert_true(c.act.hold);
	assert_true(c.act.fallback_len > 0);
	assert_int_equal(stun_parse(&fb, c.out + c.act.reply_len, c.act.fallback_len), STUN_OK);
	assert_int_equal(fb.cls, STUN_ERROR);
	assert_memory_equal(fb.tid, c.tid, STUN_TID_LEN);
	assert_true(stun_attr_error(&fb.a[SA_ERROR_CODE], &code, &reason, &rlen));
	assert_int_equal(code, 508);
	assert_true(fb.mi_off > 0); /* signed, as the success is */
	/* the client's retransmit while held: nothing, the held answer will go */
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, false), -1);
	memcpy(tid, c.tid, sizeof tid);
	tid[5] ^= 1;
	assert_false(relay_held_done(w->r, &c.k, tid, true)); /* another Allocate's */
	assert_true(relay_held_done(w->r, &c.k, c.tid, true));
	assert_false(relay_held_done(w->r, &c.k, c.tid, true)); /* once */
	/* acknowledged: a retransmit is answered again, not held */
	assert_int_equal(request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, false), 0);
	assert_false(c.act.hold);
	assert_true(relay_has_allocation(w->r, &c.k));

	/* the store did not acknowledge: the allocation goes, its port too */
	client_init(&d, 40301, "alice", "secret");
	assert_int_equal(allocate(w, &d, T0), 0);
	assert_true(d.act.hold);
	assert_int_equal(relay_stats(w->r)->allocations[0], 2);
	assert_true(relay_held_done(w->r, &d.k, d.tid, false));
	assert_false(relay_has_allocation(w->r, &d.k));
	assert_int_equal(relay_stats(w->r)->allocations[0], 1);
	assert_int_equal(w->f.n_open, 1);
}

static void test_persist_tracks_changes(void **state)
{
	struct world *w = *state;
	struct bind_args ba = { 0x4001, pub1 };
	struct synced s;
	struct client c, t;
	uint32_t zero = 0;
	uint64_t tag;

	client_init(&c, 40100, "alice", "secret");
	assert_false(relay_sync_urgent(w->r));
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_true(relay_sync_urgent(w->r)); /* a new one: written before its answer */
	sync_into(w, &s, T0);
	assert_false(relay_sync_urgent(w->r));
	assert_int_equal(s.n_put, 1);
	assert_int_equal(s.n_del, 0);
	assert_int_equal(s.put[0].client.port, 40100);
	assert_true(s.put[0].has[0]);
	assert_int_equal(s.put[0].relayed[0].port, w->f.bound[0].port);
	assert_memory_equal(s.put[0].user, "alice", 5);
	assert_int_equal(s.put[0].expires, (T0 + 600) * 1000ull);
	assert_true(s.put[0].fresh); /* the store's "allocated" event */
	tag = s.put[0].tag;
	sync_into(w, &s, T0); /* nothing changed */
	assert_int_equal(s.n_put + s.n_del, 0);
	/* many changes, one write, in the latest state */
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 1, true), 0);
	assert_int_equal(request(w, &c, TURN_REFRESH, NULL, NULL, T0 + 2, true), 0);
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub2, T0 + 3, true), 0);
	assert_true(relay_sync_pending(w->r));
	assert_false(relay_sync_urgent(w->r)); /* changes wait for the batch */
	sync_into(w, &s, T0 + 3);
	assert_int_equal(s.n_put, 1);
	assert_false(s.put[0].fresh); /* "refreshed" */
	assert_int_equal(s.put[0].n_chans, 1);
	assert_int_equal(s.put[0].chans[0].number, 0x4001);
	assert_int_equal(s.put[0].n_perms, 2);
	assert_int_equal(s.put[0].expires, (T0 + 2 + 600) * 1000ull);
	/* a failed request changes nothing */
	ba.channel = 0x3000;
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 4, true), 400);
	assert_false(relay_sync_pending(w->r));
	/* a TCP allocation is never on record: it cannot outlive its connection */
	client_init(&t, 40101, "alice", "secret");
	t.k.transport = TURN_TRANSPORT_TCP;
	t.k.conn = 1;
	assert_int_equal(allocate(w, &t, T0), 0);
	assert_false(relay_sync_pending(w->r));
	/* traffic: what each allocation relayed since the last report */
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"abcd", 4,
					  (T0 + 4) * 1000ull);
	assert_true(c.act.peer_handle >= 0);
	w->traffic = 0;
	relay_traffic(w->r, (T0 + 4) * 1000ull, on_traffic, w);
	assert_int_equal(w->traffic, 1);
	assert_int_equal(w->traffic_bytes, 4);
	relay_traffic(w->r, (T0 + 4) * 1000ull, on_traffic, w); /* nothing new */
	assert_int_equal(w->traffic, 1);
	/* deleted: filed under its relayed address, with its tag, user and totals */
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 5, true), 0);
	assert_true(relay_sync_urgent(w->r)); /* a deletion goes at once too */
	sync_into(w, &s, T0 + 5);
	assert_int_equal(s.n_put, 0);
	assert_int_equal(s.n_del, 1);
	assert_int_equal(s.del_tag[0], tag);
	assert_int_equal(s.gone_bytes[0], 4);
	assert_true(s.gone_user[0]);
	/* everything again, for a store that came back empty */
	client_init(&c, 40102, "bob", "hunter2");
	assert_int_equal(allocate(w, &c, T0 + 6), 0);
	sync_into(w, &s, T0 + 6);
	relay_mark_all(w->r);
	sync_into(w, &s, T0 + 6);
	assert_int_equal(s.n_put, 1);
	assert_memory_equal(s.put[0].user, "bob", 3);
}

static void test_persist_expiry_and_stop(void **state)
{
	struct world *w = *state;
	struct synced s;
	struct client c;

	client_init(&c, 40110, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	client_init(&c, 40111, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0 + 100), 0);
	sync_into(w, &s, T0 + 100);
	assert_int_equal(s.n_put, 2);
	relay_tick(w->r, (T0 + 600) * 1000ull); /* the first expires */
	sync_into(w, &s, T0 + 600);
	assert_int_equal(s.n_del, 1);
	/* stopping is not deleting: the other record stays for the restart */
	relay_free(w->r);
	w->r = relay_new(&w->cfg, &w->ops);
	assert_non_null(w->r);
	assert_false(relay_sync_pending(w->r));
}

static void test_restore(void **state)
{
	struct world *w = *state;
	struct bind_args ba = { 0x4001, pub1 };
	uint8_t pkt[RELAY_HEADROOM + 16 + RELAY_TAILROOM], *msg;
	const struct relay_key *to;
	struct relay_record rec;
	struct synced s;
	struct client c;
	uint16_t port;
	size_t len;

	client_init(&c, 40120, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0, true), 0);
	sync_into(w, &s, T0);
	rec = s.put[0];
	port = rec.relayed[0].port;
	/* the process ends; a new one takes the allocation back */
	relay_free(w->r);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(w->f.used, 0);
	w->r = relay_new(&w->cfg, &w->ops);
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 10) * 1000ull), 0);
	assert_int_equal(w->f.n_open, 1);
	assert_int_equal(w->f.bound[0].port, port); /* the same relayed address */
	assert_int_equal(w->f.used, 1);            /* counted against the quota */
	assert_int_equal(relay_stats(w->r)->allocations[0], 1);
	assert_int_equal(relay_stats(w->r)->restored, 1);
	assert_false(relay_sync_pending(w->r));    /* the store has it already */
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 10) * 1000ull), -EEXIST);
	/* the same 5-tuple's ChannelData goes on, without a new Allocate */
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"abc", 3,
					  (T0 + 10) * 1000ull);
	assert_int_equal(c.act.peer_handle, 0);
	assert_int_equal(c.act.peer.port, pub1.port);
	memcpy(pkt + RELAY_HEADROOM, "xyz", 3);
	to = relay_from_peer(w->r, w->f.id[0], &pub1, pkt + RELAY_HEADROOM, 3,
			     (T0 + 10) * 1000ull, &msg, &len);
	assert_non_null(to);
	assert_int_equal(to->client.port, 40120);
	assert_memory_equal(msg, "\x40\x01\x00\x03xyz", 7);
	/* and its Refresh is accepted, with the same credentials */
	assert_int_equal(request(w, &c, TURN_REFRESH, NULL, NULL, T0 + 11, true), 0);
	/* what expired meanwhile is not taken back */
	relay_free(w->r);
	w->r = relay_new(&w->cfg, &w->ops);
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 600) * 1000ull), -ETIMEDOUT);
	/* a channel that expired is left out, the allocation kept */
	rec.chans[0].expires = (T0 + 5) * 1000ull;
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 10) * 1000ull), 0);
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"abc", 3,
					  (T0 + 10) * 1000ull);
	assert_int_equal(c.act.peer_handle, -1);
	relay_client_gone(w->r, &c.k);
	/* a port someone else holds now: refused, nothing left behind */
	w->f.busy_ports = 1;
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 10) * 1000ull), -EADDRINUSE);
	assert_int_equal(w->f.n_open, 0);
	assert_int_equal(w->f.used, 0);
	/* over quota */
	w->f.max = 1;
	w->f.used = 1;
	assert_int_equal(relay_restore(w->r, &rec, (T0 + 10) * 1000ull), -EDQUOT);
	w->f.used = 0;
}

static void test_fleet_redirect_300(void **state)
{
	struct world *w = *state;
	struct stun_addr alt;
	struct client c;
	int code;

	w->ops.admit = f_admit;
	client_init(&c, 40200, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0); /* not full: served here */
	w->f.full = true;
	client_init(&c, 40201, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 300);
	assert_true(c.resp.mi_off > 0); /* signed: the client can trust it */
	assert_true(stun_attr_addr(&c.resp, &c.resp.a[SA_ALTERNATE_SERVER], false, &alt));
	assert_int_equal(alt.port, 3479);
	assert_int_equal(alt.ip[0], 198);
	assert_null(c.resp.a[SA_ALTERNATE_DOMAIN].v); /* not over TLS */
	/* over a stream the shell may name the domain (RFC 8489 s14.16) */
	client_init(&c, 40220, "alice", "secret");
	c.k.transport = TURN_TRANSPORT_TCP;
	c.k.conn = 11;
	assert_int_equal(allocate(w, &c, T0), 300);
	assert_int_equal(c.resp.a[SA_ALTERNATE_DOMAIN].len, strlen("relay.example.org"));
	assert_memory_equal(c.resp.a[SA_ALTERNATE_DOMAIN].v, "relay.example.org", 17);
	assert_int_equal(w->f.n_open, 1);  /* nothing opened, nothing counted */
	assert_int_equal(w->f.used, 1);
	assert_int_equal(relay_stats(w->r)->redirected, 2);
	/* a full table is the engine's own reason */
	w->f.full = false;
	for (uint16_t p = 40202; p < 40202 + 7; p++) {
		client_init(&c, p, "alice", "secret");
		assert_int_equal(allocate(w, &c, T0), 0);
		assert_false(w->f.saw_table_full);
	}
	client_init(&c, 40210, "alice", "secret");
	code = allocate(w, &c, T0);
	assert_true(w->f.saw_table_full);
	assert_int_equal(code, 300);
	/* without a fleet to send it to: 508, as before */
	w->ops.admit = NULL;
	client_init(&c, 40211, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 508);
}

/* ops->channel: a bound channel is said with the earlier of its and its
 * allocation's expiry, again after each change, and as gone with the
 * allocation; not at all under max-bps, which the engine must meter. */
static void test_channel_offload(void **state)
{
	struct world *w = *state;
	struct bind_args ba = { 0x4001, pub1 };
	uint32_t zero = 0, life = 60;
	struct client c;

	w->ops.channel = f_channel;
	client_init(&c, 40400, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(w->f.n_chan, 0); /* no channel yet */
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 1, true), 0);
	assert_int_equal(w->f.n_chan, 1);
	assert_int_equal(w->f.chan.number, 0x4001);
	assert_int_equal(w->f.chan.peer.port, pub1.port);
	assert_int_equal(w->f.chan.relayed.port, w->f.bound[0].port);
	assert_int_equal(w->f.chan.key.client.port, 40400);
	/* the channel (T0 + 601) outlives its allocation (T0 + 600): the earlier */
	assert_int_equal(w->f.chan.expires_ms, (T0 + 600) * 1000ull);
	/* the peer's way back also needs its permission (from T0 + 1, 300 s) */
	assert_int_equal(w->f.chan.to_client_ms, (T0 + 301) * 1000ull);
	/* a Refresh to 60 s shortens it */
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &life, T0 + 2, true), 0);
	assert_int_equal(w->f.n_chan, 2);
	assert_int_equal(w->f.chan.expires_ms, (T0 + 62) * 1000ull);
	assert_int_equal(w->f.chan.to_client_ms, (T0 + 62) * 1000ull);
	/* deleted: gone */
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 3, true), 0);
	assert_int_equal(w->f.n_chan, 3);
	assert_int_equal(w->f.chan.expires_ms, 0);
	assert_int_equal(w->f.chan.to_client_ms, 0);

	/* with max-bps nothing is offloaded */
	relay_free(w->r);
	w->cfg.max_bps = 1000;
	w->r = relay_new(&w->cfg, &w->ops);
	client_init(&c, 40401, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 1, true), 0);
	assert_int_equal(w->f.n_chan, 3);
}

static bool total_one(void *ctx, const struct relay_record *rec, uint8_t transport, bool tcp)
{
	struct totals *t = ctx;

	memcpy(t->packets, rec->packets, sizeof rec->packets);
	memcpy(t->bytes, rec->bytes, sizeof rec->bytes);
	return true;
}

/* The totals of the one allocation there is, as relay_each says them. */
static struct totals totals_now(struct world *w, uint64_t now_s)
{
	struct totals t = { { 0, 0 }, { 0, 0 } };

	relay_each(w->r, now_s * 1000, total_one, &t);
	return t;
}

static void assert_totals(struct totals t, uint64_t to_peer, uint64_t to_client,
			  uint64_t to_peer_bytes, uint64_t to_client_bytes)
{
	assert_int_equal(t.packets[0], to_peer);
	assert_int_equal(t.packets[1], to_client);
	assert_int_equal(t.bytes[0], to_peer_bytes);
	assert_int_equal(t.bytes[1], to_client_bytes);
}

/* ops->channel_counts: what the fast path relayed is in the allocation's
 * totals (relay_each, relay_traffic, the deletion's record), once, and not
 * in the engine's own counters; an entry said gone takes its counts with
 * it, and the next one starts from 0. */
static void test_channel_counts(void **state)
{
	struct world *w = *state;
	struct bind_args ba = { 0x4001, pub1 };
	struct synced s;
	struct client c;
	uint32_t zero = 0;

	w->ops.channel = f_channel;
	w->ops.channel_counts = f_counts;
	client_init(&c, 40410, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 0);
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 1, true), 0);
	f_xdp(&w->f, 0x4001, 0, 10, 1000);
	f_xdp(&w->f, 0x4001, 1, 7, 700);
	/* and one datagram through the engine */
	c.act = relay_from_client_channel(w->r, &c.k, 0x4001, (const uint8_t *)"abcd", 4,
					  (T0 + 2) * 1000ull);
	assert_true(c.act.peer_handle >= 0);
	assert_int_equal(w->f.n_counts, 0); /* never asked per datagram */
	assert_totals(totals_now(w, T0 + 2), 11, 7, 1004, 700);
	assert_int_equal(w->f.n_counts, 1);
	assert_totals(totals_now(w, T0 + 2), 11, 7, 1004, 700); /* nothing twice */
	assert_int_equal(relay_stats(w->r)->to_peer_packets, 1);
	assert_int_equal(relay_stats(w->r)->to_client_packets, 0);
	/* traffic: the totals, then nothing new, then the fast path's alone */
	relay_traffic(w->r, (T0 + 2) * 1000ull, on_traffic, w);
	assert_int_equal(w->traffic, 1);
	assert_totals(w->traffic_totals, 11, 7, 1004, 700);
	relay_traffic(w->r, (T0 + 3) * 1000ull, on_traffic, w);
	assert_int_equal(w->traffic, 1);
	f_xdp(&w->f, 0x4001, 1, 5, 500);
	relay_traffic(w->r, (T0 + 4) * 1000ull, on_traffic, w);
	assert_int_equal(w->traffic, 2);
	assert_totals(w->traffic_totals, 11, 12, 1004, 1200);
	/* the peer's permission lapsed (T0 + 301): the next change says the
	 * way back gone, taking what it relayed since the last look first */
	f_xdp(&w->f, 0x4001, 1, 1, 100);
	assert_int_equal(request(w, &c, TURN_REFRESH, NULL, NULL, T0 + 302, true), 0);
	assert_int_equal(w->f.chan.to_client_ms, 0);
	assert_false(f_entry(&w->f, 0x4001)->live[1]);
	assert_totals(totals_now(w, T0 + 302), 11, 13, 1004, 1300);
	/* a permission again: a new entry, counted from 0 */
	assert_int_equal(request(w, &c, TURN_CREATE_PERMISSION, put_peer, &pub1, T0 + 303, true),
			 0);
	f_xdp(&w->f, 0x4001, 1, 20, 2000);
	assert_totals(totals_now(w, T0 + 303), 11, 33, 1004, 3300);
	/* an entry the shell made again on its own counts from less than was
	 * seen: all of it is new */
	f_entry(&w->f, 0x4001)->packets[0] = 2;
	f_entry(&w->f, 0x4001)->bytes[0] = 200;
	assert_totals(totals_now(w, T0 + 303), 13, 33, 1204, 3300);
	/* deleted: the deletion's record has what was relayed until then */
	f_xdp(&w->f, 0x4001, 0, 1, 50);
	assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0 + 304, true), 0);
	assert_false(f_entry(&w->f, 0x4001)->live[0]);
	sync_into(w, &s, T0 + 304);
	assert_int_equal(s.n_del, 1);
	assert_totals(s.gone[0], 14, 33, 1254, 3300);
}

/* A channel expired past its quarantine is forgotten by the next
 * ChannelBind: it is said gone first, with what it relayed. */
/* c's allocation for an hour, offloaded, with channel 0x4001 to pub1 bound
 * at T0 + 1 (to T0 + 601, its permission to T0 + 301) */
static void offloaded_channel(struct world *w, struct client *c, uint16_t port)
{
	struct bind_args ba = { 0x4001, pub1 };
	uint32_t hour = 3600;

	w->ops.channel = f_channel;
	w->ops.channel_counts = f_counts;
	client_init(c, port, "alice", "secret");
	assert_int_equal(allocate(w, c, T0), 0);
	assert_int_equal(request(w, c, TURN_REFRESH, put_lifetime, &hour, T0, true), 0);
	assert_int_equal(request(w, c, TURN_CHANNEL_BIND, put_bind, &ba, T0 + 1, true), 0);
}

static void test_channel_counts_expired(void **state)
{
	struct world *w = *state;
	struct bind_args ba2 = { 0x4002, pub2 };
	struct client c;

	offloaded_channel(w, &c, 40411);
	f_xdp(&w->f, 0x4001, 0, 4, 400);
	/* T0 + 601 it expired, T0 + 901 its quarantine ended */
	assert_int_equal(request(w, &c, TURN_CHANNEL_BIND, put_bind, &ba2, T0 + 1000, true), 0);
	assert_false(f_entry(&w->f, 0x4001)->live[0]);
	assert_true(f_entry(&w->f, 0x4002)->live[0]);
	assert_totals(totals_now(w, T0 + 1000), 4, 0, 400, 0);
}

/* A permission that lapses under a live channel, and then the channel:
 * the sweep says each, so the shell's entries go (with their counts)
 * without waiting for a request on the allocation. */
static void test_channel_lapse_swept(void **state)
{
	struct world *w = *state;
	struct client c;
	int n;

	offloaded_channel(w, &c, 40412);
	f_xdp(&w->f, 0x4001, 1, 3, 300);
	n = w->f.n_chan;
	relay_tick(w->r, (T0 + 300) * 1000ull); /* the permission holds to T0 + 301 */
	assert_int_equal(w->f.n_chan, n);
	assert_true(f_entry(&w->f, 0x4001)->live[1]);
	relay_tick(w->r, (T0 + 301) * 1000ull);
	assert_int_equal(w->f.n_chan, n + 1);
	assert_true(f_entry(&w->f, 0x4001)->live[0]);
	assert_false(f_entry(&w->f, 0x4001)->live[1]);
	assert_totals(totals_now(w, T0 + 301), 0, 3, 0, 300);
	relay_tick(w->r, (T0 + 400) * 1000ull); /* nothing more lapsed */
	assert_int_equal(w->f.n_chan, n + 1);
	relay_tick(w->r, (T0 + 601) * 1000ull); /* the channel */
	assert_int_equal(w->f.n_chan, n + 2);
	assert_false(f_entry(&w->f, 0x4001)->live[0]);
}

static void test_admit_refuses(void **state)
{
	struct world *w = *state;
	struct client c;

	w->ops.admit = f_admit;
	w->f.refuse = 508; /* redis-required, and Redis away */
	client_init(&c, 40220, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), 508);
	assert_int_equal(w->f.n_open + (int)w->f.used, 0);
	assert_int_equal(relay_stats(w->r)->capacity_rejected, 1);
	w->f.refuse = 0; /* back */
	assert_int_equal(allocate(w, &c, T0), 0);
}

/* A new engine for w with an unauthenticated budget of rate a second. */
static void with_budget(struct world *w, uint32_t rate, uint32_t burst)
{
	relay_free(w->r);
	w->cfg.unauth_rate = rate;
	w->cfg.unauth_burst = burst;
	w->r = relay_new(&w->cfg, &w->ops);
	assert_non_null(w->r);
}

/*
 * Issue 9, defect 4: a thousand clients behind one address, each with its
 * own port and its own challenge, all in the same second: none throttled,
 * because each one that authenticates gives its challenge's token back.
 */
static void test_budget_spares_clients_behind_one_address(void **state)
{
	struct world *w = *state;
	const uint32_t zero = 0;
	struct client c;

	with_budget(w, 10, 20);
	for (int i = 0; i < 1000; i++) {
		client_init(&c, (uint16_t)(20000 + i), "alice", "secret");
		assert_int_equal(allocate(w, &c, T0), 0);
		assert_int_equal(request(w, &c, TURN_REFRESH, put_lifetime, &zero, T0, true), 0);
	}
	assert_int_equal(relay_stats(w->r)->rate_limited, 0);
	assert_int_equal(relay_stats(w->r)->challenges, 1000);
}

/* A stranger's flood of challenges, or of wrong passwords, is cut to the
 * burst, then to the rate; over TCP only wrong passwords are charged. */
static void test_budget_cuts_strangers(void **state)
{
	struct world *w = *state;
	struct client c;
	int answered = 0;

	with_budget(w, 10, 20);
	for (int i = 0; i < 1000; i++) {
		client_init(&c, (uint16_t)(20000 + i), "alice", "secret");
		answered += request(w, &c, TURN_ALLOCATE, udp_transport, NULL, T0, true) == 401;
	}
	assert_int_equal(answered, 20);
	assert_int_equal(relay_stats(w->r)->rate_limited, 980);
	client_init(&c, 19999, "alice", "secret");
	assert_int_equal(allocate(w, &c, T0), -1); /* even a real client, for now */
	assert_int_equal(allocate(w, &c, T0 + 1), 0); /* a second later: 10 more */
	/* wrong passwords over TCP spend the budget; challenges do not */
	with_budget(w, 10, 20);
	answered = 0;
	for (int i = 0; i < 100; i++) {
		client_init(&c, (uint16_t)(20000 + i), "alice", "wrong");
		c.k.transport = TURN_TRANSPORT_TCP;
		c.k.conn = (uintptr_t)(i + 1);
		assert_int_equal(request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true), 401);
		answered += request(w, &c, TURN_ALLOCATE, tcp_transport, NULL, T0, true) == 401;
	}
	assert_int_equal(answered, 20);
	/* rate 0: no budget at all */
	with_budget(w, 0, 0);
	for (int i = 0; i < 1000; i++) {
		client_init(&c, (uint16_t)(20000 + i), "alice", "wrong");
		assert_int_equal(allocate(w, &c, T0), 401);
	}
	assert_int_equal(relay_stats(w->r)->rate_limited, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_allocate_challenge_then_success),
		T(test_budget_spares_clients_behind_one_address),
		T(test_budget_cuts_strangers),
		T(test_wrong_password_401),
		T(test_stale_nonce_438),
		T(test_allocate_retransmit_and_mismatch),
		T(test_requested_transport),
		T(test_unsupported_transport_442),
		T(test_refresh_and_expiry),
		T(test_refresh_clamped_to_max),
		T(test_refresh_zero_deletes_and_retransmit_succeeds),
		T(test_wrong_user_on_allocation_441),
		T(test_permission_and_send),
		T(test_permission_policy_403),
		T(test_permission_family_mismatch_443),
		T(test_channel_bind_and_data),
		T(test_local_service),
		T(test_local_service_not_over_tcp),
		T(test_data_indication_from_peer),
		T(test_channel_rebinding_rules),
		T(test_bandwidth_per_direction),
		T(test_user_quota_486),
		T(test_table_full_508),
		T(test_port_in_use_retried),
		T(test_dual_allocation),
		T(test_even_port_and_reservation),
		T(test_reservation_expires),
		T(test_dont_fragment),
		T(test_client_gone_frees),
		T(test_unknown_attribute_420),
		T(test_each_allocation),
		T(test_tcp_allocate_rules),
		T(test_tcp_connect_answered_later),
		T(test_tcp_connect_failures),
		T(test_tcp_connect_needs_tcp_allocation),
		T(test_tcp_incoming_needs_permission),
		T(test_tcp_pending_expires_or_binds),
		T(test_tcp_connection_bind),
		T(test_tcp_allocation_gone_closes_all),
		T(test_tcp_bind_with_control_nonce),
		T(test_record_roundtrip),
		T(test_fleet_redirect_300),
		T(test_admit_refuses),
		cmocka_unit_test_setup_teardown(test_persist_tracks_changes, setup_persist, teardown),
		cmocka_unit_test_setup_teardown(test_hold_new_allocation, setup_hold, teardown),
		cmocka_unit_test_setup_teardown(test_channel_offload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_counts, setup_persist, teardown),
		cmocka_unit_test_setup_teardown(test_channel_counts_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_lapse_swept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_expiry_and_stop, setup_persist, teardown),
		cmocka_unit_test_setup_teardown(test_restore, setup_persist, teardown),
#undef T
	};

	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
