/*
 * The WireGuard responder's peer records in Redis (store.h, "WireGuard
 * peers"; the schema is store/wgpeer.h): one connection on the tunnel's
 * own loop, and one script a handshake, which in a single step finds the
 * peer's record and takes the initiation's timestamp if it is newer than
 * the record's. So a timestamp accepted by any node of the fleet is
 * refused by every other, and a peer deleted is refused at its next
 * handshake wherever it lands. Every question is answered, and never from
 * inside wgstore_lookup(): with the record, with "no such peer", with
 * "replay", or with "down" when Redis cannot be asked or did not answer.
 * A second connection listens on tern:wg, where ternctl announces each
 * change, so a peer added is not kept out by the memory of its absence
 * and a peer deleted loses its sessions at once.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/async.h>
#include <sodium.h>

#include "server/log.h"
#include "store/rconn.h"
#include "store/store.h"
#include "store/wgpeer.h"

/* KEYS[1] the peer's record, ARGV[1] the initiation's TAI64N in hex:
 * {0} no record, {2} a timestamp as new or newer is there, else the
 * timestamp is taken and {1, allowed, psk, keepalive} comes back. */
static const char lookup_script[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end\n"
	"local h = redis.call('HMGET', KEYS[1], 'tai64n', 'allowed', 'psk', 'keepalive')\n"
	"if h[1] and h[1] >= ARGV[1] then return {2} end\n"
	"redis.call('HSET', KEYS[1], 'tai64n', ARGV[1])\n"
	"return {1, h[2] or '', h[3] or '', h[4] or ''}\n";

/* KEYS record, set; ARGV allowed, psk ('' for none), keepalive, added,
 * the peer's key, the announcement. wg set's change, as ternctl's. */
static const char save_script[] =
	"redis.call('HSET', KEYS[1], 'allowed', ARGV[1], 'keepalive', ARGV[3])\n"
	"if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'psk')\n"
	"else redis.call('HSET', KEYS[1], 'psk', ARGV[2]) end\n"
	"redis.call('HSETNX', KEYS[1], 'added', ARGV[4])\n"
	"redis.call('SADD', KEYS[2], ARGV[5])\n"
	"redis.call('PUBLISH', 'tern:wg', ARGV[6])\n"
	"return 1\n";

/* KEYS record, set; ARGV the peer's key, the announcement. */
static const char delete_script[] =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"redis.call('PUBLISH', 'tern:wg', ARGV[2])\n"
	"return 1\n";

/* KEYS record; ARGV bytes received, sent: added to the record's totals,
 * if it still exists (a deleted peer's totals do not bring it back). */
static const char traffic_script[] =
	"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
	"redis.call('HINCRBY', KEYS[1], 'rx', ARGV[1])\n"
	"redis.call('HINCRBY', KEYS[1], 'tx', ARGV[2])\n"
	"return 1\n";

struct wgstore {
	struct event_base *base;
	struct rconn *conn, *sub; /* questions; SUBSCRIBE tern:wg */
	uint8_t responder[32];
	char responder_b64[WGPEER_B64];
	wgstore_answer_fn answer;
	wgstore_changed_fn changed;
	void *ctx;
	bool closing;
	time_t warned; /* a warning a minute at most */
};

/* One question in flight. */
struct ask {
	struct wgstore *ws;
	uint32_t ticket;
	uint8_t key[32];
};

/* "set R P" or "del R P" on tern:wg (store/wgpeer.h), for our R. */
static void on_message(redisAsyncContext *ac, void *reply, void *arg)
{
	struct wgstore *ws = arg;
	const redisReply *r = reply;
	char what[4], resp[WGPEER_B64], peer[WGPEER_B64];
	uint8_t key[32];

	if (ws->closing || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") ||
	    r->element[2]->type != REDIS_REPLY_STRING ||
	    sscanf(r->element[2]->str, "%3s %44s %44s", what, resp, peer) != 3 ||
	    strcmp(resp, ws->responder_b64) || !wgconf_key(peer, key))
		return;
	if (!strcmp(what, "set") || !strcmp(what, "del"))
		ws->changed(ws->ctx, key, what[0] == 'd');
}

static void on_sub_up(void *ctx, redisAsyncContext *ac)
{
	redisAsyncCommandArgv(ac, on_message, ctx, 2, (const char *[]){ "SUBSCRIBE", "tern:wg" },
			      NULL);
}

struct wgstore *wgstore_open(struct event_base *base, const struct redis_url *u,
			     const uint8_t responder[32], wgstore_answer_fn answer,
			     wgstore_changed_fn changed, void *ctx, char *err, size_t errlen)
{
	struct wgstore *ws = calloc(1, sizeof *ws);

	if (!ws) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ws->base = base;
	memcpy(ws->responder, responder, 32);
	wgpeer_b64(responder, ws->responder_b64);
	ws->answer = answer;
	ws->changed = changed;
	ws->ctx = ctx;
	ws->conn = rconn_new(base, u, "wireguard peers", true, &(struct rconn_cb){ .ctx = ws });
	ws->sub = rconn_new(base, u, "wireguard peer changes", false,
			    &(struct rconn_cb){ .ctx = ws, .up = on_sub_up });
	if (!ws->conn || !ws->sub) {
		snprintf(err, errlen, "out of memory");
		wgstore_free(ws);
		return NULL;
	}
	return ws;
}

void wgstore_free(struct wgstore *ws)
{
	if (!ws)
		return;
	ws->closing = true; /* the questions in flight are answered to no one */
	rconn_free(ws->conn);
	rconn_free(ws->sub);
	free(ws);
}

bool wgstore_up(const struct wgstore *ws)
{
	return rconn_ctx(ws->conn) != NULL;
}

static bool may_warn(struct wgstore *ws)
{
	time_t now = time(NULL);

	if (now - ws->warned < 60)
		return false;
	ws->warned = now;
	return true;
}

static void say(struct ask *a, enum wgstore_result r, const struct wgpeer *rec)
{
	if (!a->ws->closing)
		a->ws->answer(a->ws->ctx, a->ticket, r, rec);
	free(a);
}

static void on_down(evutil_socket_t fd, short what, void *arg)
{
	say(arg, WGSTORE_DOWN, NULL);
}

/* {1, allowed, psk, keepalive} into a record for key. */
static bool record(const redisReply *r, const uint8_t key[32], struct wgpeer *p)
{
	static const char *const names[3] = { "allowed", "psk", "keepalive" };
	const char *f[3], *v[3];
	int n = 0;

	if (r->elements != 4)
		return false;
	for (int i = 0; i < 3; i++) {
		const redisReply *e = r->element[1 + i];

		if (e->type != REDIS_REPLY_STRING)
			return false;
		if (e->len == 0 && i > 0) /* no psk, no keepalive */
			continue;
		f[n] = names[i];
		v[n++] = e->str;
	}
	memset(p, 0, sizeof *p);
	memcpy(p->public_key, key, 32);
	return wgpeer_from_hash(p, f, v, n);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	static struct wgpeer rec; /* the tunnel's thread only */
	const redisReply *r = reply;
	struct ask *a = arg;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER) {
		if (r && r->type == REDIS_REPLY_ERROR && !a->ws->closing && may_warn(a->ws))
			log_warn("wireguard: peer lookup: %s", r->str);
		say(a, WGSTORE_DOWN, NULL);
		return;
	}
	switch (r->element[0]->integer) {
	case 0:
		say(a, WGSTORE_ABSENT, NULL);
		break;
	case 2:
		say(a, WGSTORE_REPLAY, NULL);
		break;
	default:
		if (record(r, a->key, &rec)) {
			say(a, WGSTORE_FOUND, &rec);
		} else {
			char b64[WGPEER_B64];

			wgpeer_b64(a->key, b64);
			if (may_warn(a->ws))
				log_warn("wireguard: peer %s: its record in Redis is damaged", b64);
			say(a, WGSTORE_ABSENT, NULL);
		}
		sodium_memzero(&rec, sizeof rec);
	}
}

void wgstore_lookup(struct wgstore *ws, const uint8_t key[32], const uint8_t tai64n[12],
		    uint32_t ticket)
{
	static const struct timeval now = { 0, 0 };
	redisAsyncContext *ac = rconn_ctx(ws->conn);
	struct ask *a = malloc(sizeof *a);
	char rk[WGPEER_KEY_LEN], hex[WGPEER_TAI64N_HEX];

	if (!a) {
		log_warn("wireguard: peer lookup: out of memory");
		return; /* the handshake times out */
	}
	a->ws = ws;
	a->ticket = ticket;
	memcpy(a->key, key, 32);
	wgpeer_key(rk, ws->responder, key);
	wgpeer_tai64n_hex(tai64n, hex);
	if (!ac || redisAsyncCommandArgv(ac, on_reply, a, 5,
					 (const char *[]){ "EVAL", lookup_script, "1", rk, hex },
					 NULL) != REDIS_OK) {
		if (event_base_once(ws->base, -1, EV_TIMEOUT, on_down, a, &now) < 0)
			free(a); /* the handshake times out */
	}
}

static void on_written(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply *r = reply;
	struct wgstore *ws = arg;

	if (r && r->type == REDIS_REPLY_ERROR && !ws->closing)
		log_warn("wireguard: wg set: not written to Redis: %s", r->str);
}

/* One script of the operator's (wg set) on the question connection. */
static void write_script(struct wgstore *ws, const uint8_t key[32], int argc, const char **argv)
{
	redisAsyncContext *ac = rconn_ctx(ws->conn);
	char b64[WGPEER_B64];

	if (ac && redisAsyncCommandArgv(ac, on_written, ws, argc, argv, NULL) == REDIS_OK)
		return;
	wgpeer_b64(key, b64);
	log_warn("wireguard: wg set: Redis is away; peer %s changed on this node only", b64);
}

void wgstore_save(struct wgstore *ws, const struct wgpeer *p)
{
	static char allowed[WGPEER_ALLOWED_LEN];
	char rk[WGPEER_KEY_LEN], sk[WGPEER_KEY_LEN], pb[WGPEER_B64], psk[WGPEER_B64] = "";
	char keepalive[8], added[24], msg[128];

	wgpeer_key(rk, ws->responder, p->public_key);
	wgpeer_set_key(sk, ws->responder);
	wgpeer_b64(p->public_key, pb);
	if (p->has_preshared_key)
		wgpeer_b64(p->preshared_key, psk);
	wgpeer_allowed_format(p, allowed, sizeof allowed);
	snprintf(keepalive, sizeof keepalive, "%u", p->keepalive);
	snprintf(added, sizeof added, "%lld", (long long)time(NULL));
	snprintf(msg, sizeof msg, "set %s %s", ws->responder_b64, pb);
	write_script(ws, p->public_key, 11,
		     (const char *[]){ "EVAL", save_script, "2", rk, sk, allowed, psk, keepalive,
				       added, pb, msg });
	sodium_memzero(psk, sizeof psk);
}

void wgstore_delete(struct wgstore *ws, const uint8_t key[32])
{
	char rk[WGPEER_KEY_LEN], sk[WGPEER_KEY_LEN], pb[WGPEER_B64], msg[128];

	wgpeer_key(rk, ws->responder, key);
	wgpeer_set_key(sk, ws->responder);
	wgpeer_b64(key, pb);
	snprintf(msg, sizeof msg, "del %s %s", ws->responder_b64, pb);
	write_script(ws, key, 7, (const char *[]){ "EVAL", delete_script, "2", rk, sk, pb, msg });
}

void wgstore_event(struct wgstore *ws, const char *json)
{
	redisAsyncContext *ac = rconn_ctx(ws->conn);

	if (ac)
		redisAsyncCommandArgv(ac, on_written, ws, 3,
				      (const char *[]){ "PUBLISH", "tern:events", json }, NULL);
}

void wgstore_traffic(struct wgstore *ws, const uint8_t key[32], uint64_t rx, uint64_t tx)
{
	redisAsyncContext *ac = rconn_ctx(ws->conn);
	char rk[WGPEER_KEY_LEN], r[24], t[24];

	if (!ac)
		return;
	wgpeer_key(rk, ws->responder, key);
	snprintf(r, sizeof r, "%llu", (unsigned long long)rx);
	snprintf(t, sizeof t, "%llu", (unsigned long long)tx);
	redisAsyncCommandArgv(ac, on_written, ws, 6,
			      (const char *[]){ "EVAL", traffic_script, "1", rk, r, t }, NULL);
}
