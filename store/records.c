/*
 * Allocation records in Redis: the workers' writers and the restore at start
 * (see records.h). Commands go out with argv only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <arpa/inet.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "relay/record.h"
#include "server/json.h"
#include "server/log.h"
#include "server/steer.h"
#include "server/worker.h"
#include "store/rconn.h"
#include "store/records.h"
#include "store/store.h"

/* Remove a record only if it is still the one this allocation wrote: its
 * port may already carry another worker's new allocation. */
static const char del_script[] =
	"local v = redis.call('GET', KEYS[1]) "
	"if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) end return 0";

#define NONCE_SECRET_KEY "tern:nonce-secret"
#define EVENTS_CHANNEL "tern:events"

/* An Allocate's answer waiting for Redis to acknowledge its record
 * (redis-required): the success, then the 508 sent instead if the wait fails. */
struct held {
	uint64_t deadline; /* ms */
	uint64_t marker;   /* the PING after its record: its reply acknowledges it */
	struct relay_key key;
	uint8_t tid[STUN_TID_LEN];
	int fd;
	struct sockaddr_storage to;
	socklen_t tolen;
	uint16_t len, fallback_len;
	uint8_t buf[RECORDS_HELD_BYTES];
};

struct records {
	struct worker *w;
	/* held answers, oldest first, in a ring of RECORDS_HELD_MAX */
	struct held *held;
	uint32_t held_head, n_held;
	uint64_t marker_next;  /* the next PING's number */
	uint64_t marker_acked; /* how many PINGs have been answered */
	bool write_failed;     /* a write since the last PING was refused */
	struct rconn *conn;
	struct event *flush;
	struct event *traffic;
	char node_id[STORE_NODE_ID_MAX + 1];
	char prefix[STORE_NODE_ID_MAX + 16]; /* tern:alloc:{ID}: */
	char line[RECORD_MAX];
	char event[6 * RECORD_USER_MAX + 1024]; /* room for the longest user name */
};

static void key_of(const char *prefix, const struct stun_addr *a, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "%s", prefix);

	record_addr_str(a, true, out + n, cap - n);
}

static uint64_t wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* ---- the workers' writers ------------------------------------------------ */

static void on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply *r = reply;
	struct records *rs = arg;

	if (!r || r->type == REDIS_REPLY_ERROR) {
		rs->write_failed = true;
		if (r)
			log_debug("redis: allocation record: %s", r->str);
	}
}

/* ---- events: PUBLISH tern:events, one JSON object each -------------------- */

struct ev {
	char *p;
	size_t n, cap;
};

static void ev_add(struct ev *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ev_add(struct ev *e, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (e->n >= e->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->p + e->n, e->cap - e->n, fmt, ap);
	va_end(ap);
	e->n = n < 0 || (size_t)n >= e->cap - e->n ? e->cap : e->n + (size_t)n;
}

/* ,"name":"192.0.2.1:3478" */
static void ev_addr(struct ev *e, const char *name, const struct stun_addr *a)
{
	char s[INET6_ADDRSTRLEN + 8];

	if (record_addr_str(a, true, s, sizeof s))
		ev_add(e, ",\"%s\":\"%s\"", name, s);
}

/* {"event":NAME,"node":ID,"time_ms":T,"client":...,"user":... */
static void ev_start(struct records *rs, struct ev *e, const char *name,
		     const struct stun_addr *client, const uint8_t *user, size_t user_len)
{
	char q[6 * RECORD_USER_MAX + 3]; /* every byte escaped at worst */

	e->p = rs->event;
	e->n = 0;
	e->cap = sizeof rs->event;
	ev_add(e, "{\"event\":\"%s\",\"node\":\"%s\",\"time_ms\":%llu", name, rs->node_id,
	       (unsigned long long)worker_now_ms(rs->w));
	ev_addr(e, "client", client);
	if (json_quote(q, sizeof q, user, user_len))
		ev_add(e, ",\"user\":%s", q);
}

static void ev_counters(struct ev *e, const uint64_t packets[2], const uint64_t bytes[2])
{
	ev_add(e, ",\"to_peer_packets\":%llu,\"to_peer_bytes\":%llu,\"to_client_packets\":%llu,"
		  "\"to_client_bytes\":%llu", (unsigned long long)packets[0],
	       (unsigned long long)bytes[0], (unsigned long long)packets[1],
	       (unsigned long long)bytes[1]);
}

static void ev_relayed(struct ev *e, const struct relay_record *rec)
{
	for (int f = 0; f < 2; f++)
		if (rec->has[f])
			ev_addr(e, f ? "relayed_ipv6" : "relayed", &rec->relayed[f]);
}

static void ev_publish(struct records *rs, struct ev *e)
{
	redisAsyncContext *ac = rconn_ctx(rs->conn);

	ev_add(e, "}");
	if (ac && e->n < e->cap)
		redisAsyncCommandArgv(ac, on_reply, rs, 3,
				      (const char *[]){ "PUBLISH", EVENTS_CHANNEL, e->p }, NULL);
}

/* "allocated" the first time the store sees it, "refreshed" after. */
static void ev_changed(struct records *rs, const struct relay_record *rec)
{
	struct ev e;

	ev_start(rs, &e, rec->fresh ? "allocated" : "refreshed", &rec->client, rec->user,
		 rec->user_len);
	ev_relayed(&e, rec);
	ev_add(&e, ",\"expires_ms\":%llu,\"lifetime\":%u,\"permissions\":%u,\"channels\":%u",
	       (unsigned long long)rec->expires, (unsigned)rec->granted, (unsigned)rec->n_perms,
	       (unsigned)rec->n_chans);
	ev_publish(rs, &e);
}

static void on_traffic_rec(void *ctx, struct relay_record *rec)
{
	struct records *rs = ctx;
	struct ev e;

	ev_start(rs, &e, "traffic", &rec->client, rec->user, rec->user_len);
	ev_relayed(&e, rec);
	ev_counters(&e, rec->packets, rec->bytes);
	ev_publish(rs, &e);
}

static void on_traffic(evutil_socket_t fd, short what, void *arg)
{
	struct records *rs = arg;

	if (rconn_ctx(rs->conn))
		relay_traffic(rs->w->engine, worker_now_ms(rs->w), on_traffic_rec, rs);
}

/* ---- records ------------------------------------------------------------ */

static void put(void *ctx, struct relay_record *rec)
{
	struct records *rs = ctx;
	const struct server *srv = rs->w->srv;
	redisAsyncContext *ac = rconn_ctx(rs->conn);
	uint64_t now = worker_now_ms(rs->w);
	char key[sizeof rs->prefix + 64], ttl[24];

	if (!ac || rec->listener >= srv->n_spec || rec->expires <= now)
		return;
	rec->local = srv->spec[rec->listener].local;
	if (!record_format(rec, rs->line, sizeof rs->line))
		return;
	key_of(rs->prefix, record_key(rec), key, sizeof key);
	snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)(rec->expires - now));
	redisAsyncCommandArgv(ac, on_reply, rs, 5,
			      (const char *[]){ "SET", key, rs->line, "PX", ttl }, NULL);
	ev_changed(rs, rec);
}

static void del(void *ctx, const struct stun_addr *a, uint64_t tag,
		const struct relay_gone *gone)
{
	struct records *rs = ctx;
	redisAsyncContext *ac = rconn_ctx(rs->conn);
	char key[sizeof rs->prefix + 64], head[32];

	if (!ac)
		return;
	key_of(rs->prefix, a, key, sizeof key);
	snprintf(head, sizeof head, "tern1 n=%016llx ", (unsigned long long)tag);
	redisAsyncCommandArgv(ac, on_reply, rs, 5,
			      (const char *[]){ "EVAL", del_script, "1", key, head }, NULL);
	{
		struct ev e;

		ev_start(rs, &e, "deleted", &gone->client, gone->user, gone->user_len);
		ev_addr(&e, "relayed", a);
		ev_counters(&e, gone->packets, gone->bytes);
		ev_publish(rs, &e);
	}
}

static void flush(struct records *rs)
{
	const struct relay_sync_ops ops = { rs, put, del };

	/* until this process holds the node id, its records are not its own */
	if (rconn_ctx(rs->conn) && store_claimed(rs->w->srv->store) &&
	    relay_sync_pending(rs->w->engine))
		relay_sync(rs->w->engine, worker_now_ms(rs->w), &ops);
}

/* ---- answers held for Redis's acknowledgement (redis-required) ------------ */

/* Send the oldest held answer, or its 508 when !ok, and drop it. */
static void release(struct records *rs, bool ok)
{
	struct held *h = &rs->held[rs->held_head];
	struct worker *w = rs->w;
	const uint8_t *p = ok ? h->buf : h->buf + h->len;
	size_t n = ok ? h->len : h->fallback_len;

	if (relay_held_done(w->engine, &h->key, h->tid, ok) && n &&
	    sendto(h->fd, p, n, 0, (struct sockaddr *)&h->to, h->tolen) >= 0) {
		counter_inc(&w->counters.responses[TP_UDP][ok ? AC_SUCCESS : AC_ERROR]);
		counter_add(&w->counters.tx_bytes[TP_UDP], n);
	}
	if (!ok)
		counter_inc(&w->counters.held_failed);
	rs->held_head = (rs->held_head + 1) % RECORDS_HELD_MAX;
	rs->n_held--;
}

/* Redis answered a PING (reply NULL: the connection went): every answer
 * held before it is acknowledged, unless a write was refused meanwhile. */
static void on_ack(redisAsyncContext *ac, void *reply, void *arg)
{
	struct records *rs = arg;
	const redisReply *r = reply;
	uint64_t marker = rs->marker_acked++;
	bool ok = r && r->type != REDIS_REPLY_ERROR && !rs->write_failed;

	rs->write_failed = false;
	while (rs->n_held && rs->held[rs->held_head].marker <= marker)
		release(rs, ok);
}

/* The wait's bound: what Redis has not acknowledged in time gets 508. */
static void expire_held(struct records *rs, uint64_t now)
{
	while (rs->n_held && rs->held[rs->held_head].deadline <= now)
		release(rs, false);
}

void records_hold(struct worker *w, const struct relay_key *k, const uint8_t *tid, int fd,
		  const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t len,
		  size_t fallback_len)
{
	struct records *rs = w->records;
	struct held *h;

	if (!rs || (!rs->held && !(rs->held = calloc(RECORDS_HELD_MAX, sizeof *rs->held))) ||
	    rs->n_held == RECORDS_HELD_MAX || len + fallback_len > RECORDS_HELD_BYTES ||
	    tolen > sizeof h->to) {
		/* nowhere to wait: the 508 at once */
		if (relay_held_done(w->engine, k, tid, false) && fallback_len &&
		    sendto(fd, p + len, fallback_len, 0, to, tolen) >= 0)
			counter_inc(&w->counters.responses[TP_UDP][AC_ERROR]);
		counter_inc(&w->counters.held_failed);
		return;
	}
	h = &rs->held[(rs->held_head + rs->n_held++) % RECORDS_HELD_MAX];
	h->deadline = worker_now_ms(w) + RECORDS_HOLD_MS;
	h->marker = rs->marker_next;
	h->key = *k;
	memcpy(h->tid, tid, STUN_TID_LEN);
	h->fd = fd;
	memcpy(&h->to, to, tolen);
	h->tolen = tolen;
	h->len = (uint16_t)len;
	h->fallback_len = (uint16_t)fallback_len;
	memcpy(h->buf, p, len + fallback_len);
}

/* After the records just written: a PING whose answer acknowledges them,
 * if an answer waits on them. */
static void mark(struct records *rs)
{
	redisAsyncContext *ac = rconn_ctx(rs->conn);

	if (!rs->n_held || rs->held[(rs->held_head + rs->n_held - 1) % RECORDS_HELD_MAX].marker !=
			   rs->marker_next)
		return; /* nothing new waits */
	if (!ac || !store_claimed(rs->w->srv->store) ||
	    redisAsyncCommand(ac, on_ack, rs, "PING") != REDIS_OK) {
		while (rs->n_held) /* not written: the 508s now */
			release(rs, false);
		return;
	}
	rs->marker_next++;
}

void records_now(struct worker *w)
{
	struct records *rs = w->records;
	redisAsyncContext *ac;

	if (!rs || !relay_sync_urgent(w->engine))
		return;
	flush(rs);
	mark(rs);
	/* onto the socket now, not at the loop's next turn: ahead of the answer */
	ac = rconn_ctx(rs->conn);
	if (ac)
		redisAsyncHandleWrite(ac);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct records *rs = arg;

	flush(rs);
	expire_held(rs, worker_now_ms(rs->w));
}

/* The fleet's nonce secret: take it, keeping ours for the nonces already out. */
static void on_secret(redisAsyncContext *ac, void *reply, void *arg)
{
	struct records *rs = arg;
	struct relay_config *rc = &rs->w->relay; /* the engine's: this thread's own */
	const redisReply *r = reply;
	uint8_t secret[NONCE_SECRET_LEN];

	if (!r || r->type != REDIS_REPLY_STRING || r->len != 2 * NONCE_SECRET_LEN)
		return;
	for (size_t i = 0; i < NONCE_SECRET_LEN; i++) {
		int hi = OPENSSL_hexchar2int((unsigned char)r->str[2 * i]);
		int lo = OPENSSL_hexchar2int((unsigned char)r->str[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return;
		secret[i] = (uint8_t)(hi << 4 | lo);
	}
	if (memcmp(secret, rc->nonce_secret[0], NONCE_SECRET_LEN) != 0) {
		memcpy(rc->nonce_secret[1], rc->nonce_secret[0], NONCE_SECRET_LEN);
		memcpy(rc->nonce_secret[0], secret, NONCE_SECRET_LEN);
		rc->n_nonce_secrets = 2;
	}
	OPENSSL_cleanse(secret, sizeof secret);
}

/*
 * Nonces are HMACs under a secret (DESIGN.md s6): one secret for the fleet,
 * so a nonce from any node is good on every other, and across restarts.
 * The first node to get there sets it; nonce-secret in the config wins.
 */
static void share_nonce_secret(struct records *rs, redisAsyncContext *ac)
{
	char hex[2 * NONCE_SECRET_LEN + 1];

	if (rs->w->srv->cfg->has_nonce_secret)
		return;
	for (size_t i = 0; i < NONCE_SECRET_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", rs->w->relay.nonce_secret[0][i]);
	redisAsyncCommandArgv(ac, on_reply, rs, 4,
			      (const char *[]){ "SET", NONCE_SECRET_KEY, hex, "NX" }, NULL);
	redisAsyncCommandArgv(ac, on_secret, rs, 2, (const char *[]){ "GET", NONCE_SECRET_KEY },
			      NULL);
	OPENSSL_cleanse(hex, sizeof hex);
}

/* Connected (again): Redis may have lost anything, even everything. */
static void on_up(void *ctx, redisAsyncContext *ac)
{
	struct records *rs = ctx;

	share_nonce_secret(rs, ac);
	relay_mark_all(rs->w->engine);
	flush(rs);
}

int records_start(struct worker *w, const struct redis_url *u, const char *node_id)
{
	static const struct timeval every = { 0, RECORDS_FLUSH_MS * 1000 };
	const struct timeval traffic_every = { w->srv->cfg->traffic_interval, 0 };
	struct records *rs = calloc(1, sizeof *rs);
	char who[32];

	if (!rs)
		return -1;
	w->records = rs;
	rs->w = w;
	snprintf(rs->prefix, sizeof rs->prefix, "tern:alloc:{%s}:", node_id);
	snprintf(rs->node_id, sizeof rs->node_id, "%s", node_id);
	snprintf(who, sizeof who, "worker %d", w->id);
	rs->flush = event_new(w->base, -1, EV_PERSIST, on_flush, rs);
	rs->traffic = event_new(w->base, -1, EV_PERSIST, on_traffic, rs);
	rs->conn = rconn_new(w->base, u, who, false, &(struct rconn_cb){ .ctx = rs, .up = on_up });
	if (!rs->flush || !rs->traffic || !rs->conn || event_add(rs->flush, &every) < 0 ||
	    event_add(rs->traffic, &traffic_every) < 0) {
		records_stop(w);
		return -1;
	}
	return 0;
}

static void on_closed(void *arg)
{
	struct records *rs = arg;

	event_base_loopbreak(rs->w->base);
}

static void on_finish(evutil_socket_t fd, short what, void *arg)
{
	struct records *rs = arg;

	flush(rs);
	rconn_close(rs->conn, on_closed, rs);
}

int records_finish(struct worker *w)
{
	struct records *rs = w->records;

	return rs ? event_base_once(w->base, -1, EV_TIMEOUT, on_finish, rs, NULL) : -1;
}

void records_stop(struct worker *w)
{
	struct records *rs = w->records;

	if (!rs)
		return;
	rconn_free(rs->conn); /* fails what is held (on_ack with no reply) */
	free(rs->held);
	if (rs->flush)
		event_free(rs->flush);
	if (rs->traffic)
		event_free(rs->traffic);
	free(rs);
	w->records = NULL;
}

/* ---- the restore at start ------------------------------------------------ */

enum { RESTORE_LOG_MAX = 10 }; /* records named in the log, of each kind */

struct restore {
	struct server *srv;
	uint64_t now;
	unsigned restored, expired, failed, bad;
	int last_error;
	redisContext *c;
	char **drop; /* keys of records that cannot come back */
	size_t n_drop, cap_drop;
	struct relay_record rec;
};

static redisReply *command(redisContext *c, int argc, const char **argv)
{
	return redisCommandArgv(c, argc, argv, NULL);
}

/* The UDP listener a record came in on, by its address, or -1. */
static int listener_of(const struct server *srv, const struct stun_addr *local)
{
	for (int i = 0; i < srv->n_spec; i++) {
		const struct stun_addr *l = &srv->spec[i].local;
		size_t n = l->family == STUN_FAMILY_IPV4 ? 4 : 16;

		if (srv->spec[i].tp == TP_UDP && l->family == local->family &&
		    l->port == local->port && memcmp(l->ip, local->ip, n) == 0)
			return i;
	}
	return -1;
}

static void drop_later(struct restore *rs, const char *key)
{
	if (rs->n_drop == rs->cap_drop) {
		size_t cap = rs->cap_drop ? 2 * rs->cap_drop : 256;
		char **d = realloc(rs->drop, cap * sizeof *d);

		if (!d)
			return; /* it expires on its own */
		rs->drop = d;
		rs->cap_drop = cap;
	}
	rs->drop[rs->n_drop++] = strdup(key);
	if (!rs->drop[rs->n_drop - 1])
		rs->n_drop--;
}

/* Whether a record that could not be restored is gone for good (then it is
 * removed): not for a want of resources, which a restart with a higher
 * ulimit or more memory would not have; those records expire by their TTL. */
static bool for_good(int rc)
{
	return rc == -ETIMEDOUT || rc == -ENOENT || rc == -EADDRINUSE || rc == -EEXIST;
}

static void restore_one(struct restore *rs, const char *key, const redisReply *v)
{
	struct relay_record *rec = &rs->rec;
	const struct server *srv = rs->srv;
	int l, rc;

	if (!v || v->type != REDIS_REPLY_STRING)
		return; /* gone since SCAN saw it */
	if (record_parse(v->str, v->len, rec) < 0) {
		if (rs->bad++ < RESTORE_LOG_MAX)
			log_warn("redis: %s: not an allocation record; removed", key);
		drop_later(rs, key);
		return;
	}
	l = listener_of(srv, &rec->local);
	if (l < 0) {
		rc = -ENOENT;
	} else {
		rec->listener = (uint16_t)l;
		rc = relay_restore(srv->workers[steer_pick(&rec->client, srv->n_workers)]->engine,
				   rec, rs->now);
	}
	if (rc == 0) {
		rs->restored++;
		return;
	}
	if (rc == -ETIMEDOUT) {
		rs->expired++;
	} else {
		rs->failed++;
		rs->last_error = rc;
		if (rs->failed <= RESTORE_LOG_MAX)
			log_info("redis: %s: not restored: %s%s", key,
				 rc == -ENOENT ? "no UDP listener on its address now" : strerror(-rc),
				 for_good(rc) ? "" : " (kept: it expires by itself)");
	}
	if (for_good(rc))
		drop_later(rs, key);
}

/* SCAN the node's records, MGET each batch, restore what it can. */
static void restore_all(struct restore *rs, const char *match)
{
	char cursor[32] = "0";

	do {
		redisReply *r = command(rs->c, 6, (const char *[]){ "SCAN", cursor, "MATCH", match,
								   "COUNT", "1000" });
		redisReply *keys, *vals;
		const char **argv;

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[0]->type != REDIS_REPLY_STRING) {
			freeReplyObject(r);
			return;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		keys = r->element[1];
		argv = keys->elements ? calloc(keys->elements + 1, sizeof *argv) : NULL;
		if (argv) {
			argv[0] = "MGET";
			for (size_t i = 0; i < keys->elements; i++)
				argv[i + 1] = keys->element[i]->str;
			vals = command(rs->c, (int)keys->elements + 1, argv);
			for (size_t i = 0; vals && vals->type == REDIS_REPLY_ARRAY &&
					   i < vals->elements && i < keys->elements; i++)
				restore_one(rs, keys->element[i]->str, vals->element[i]);
			freeReplyObject(vals);
			free(argv);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
}

static void steer_all(struct server *srv)
{
	for (int i = 0; i < srv->n_spec; i++) {
		int e;

		if (srv->spec[i].tp != TP_UDP)
			continue;
		e = steer_attach(srv->workers[0]->udp_fd[i], srv->n_workers);
		if (e < 0)
			log_warn("listener %d: cannot steer clients to workers (%s): restored "
				 "allocations may land on the wrong worker", i, strerror(-e));
	}
}

void records_restore(struct server *srv, const struct redis_url *u, const char *node_id)
{
	struct restore rs = { .srv = srv, .now = wall_ms() };
	char match[STORE_NODE_ID_MAX + 24], err[256];
	uint64_t t0 = rs.now;

	steer_all(srv);
	rs.c = rconn_sync(u, 3, err, sizeof err);
	if (!rs.c) {
		char at[REDIS_URL_FIELD + 16];

		log_warn("redis %s: %s; no allocations restored", rconn_where(u, at, sizeof at), err);
		return;
	}
	snprintf(match, sizeof match, "tern:alloc:{%s}:*", node_id);
	restore_all(&rs, match);
	for (size_t i = 0; i < rs.n_drop; i++) {
		freeReplyObject(command(rs.c, 2, (const char *[]){ "DEL", rs.drop[i] }));
		free(rs.drop[i]);
	}
	log_info("redis: restored %u allocations in %llu ms (%u expired, %u not restorable, "
		 "%u unreadable)", rs.restored, (unsigned long long)(wall_ms() - t0), rs.expired,
		 rs.failed, rs.bad);
	if (rs.failed > RESTORE_LOG_MAX)
		log_warn("redis: %u allocations not restored, the last for: %s", rs.failed,
			 strerror(-rs.last_error));
	free(rs.drop);
	redisFree(rs.c);
}
