/*
 * The store's connection to Redis and the node registry (see store.h).
 *
 * hiredis frees an async context itself after its connect callback reports
 * a failure and after its disconnect callback, so s->ac is cleared in both
 * and never touched again. Commands are always sent with argv (never a
 * format string built from data: coturn's GHSA-4g7c-p5wg-j4hp).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "server/counters.h"
#include "server/log.h"
#include "server/netaddr.h"
#include "server/redis_url.h"
#include "server/store.h"
#include "server/worker.h"

struct store {
	struct event_base *base;
	const struct server *srv;
	bool redis;
	struct redis_url url;
	char node_id[STORE_NODE_ID_MAX + 1];
	char key[STORE_NODE_ID_MAX + 16]; /* tern:node:{ID} */
	redisAsyncContext *ac;
	enum store_state state;
	bool closing;
	bool quiet;            /* the outage has been reported; retries go to debug */
	char why[256];         /* why the server refused us, for the next down() */
	uint64_t reconnects;
	int backoff_ms;
	struct event *retry;   /* reconnect after backoff, or give up connecting */
	struct event *beat;
	time_t started;
};

static void store_connect(struct store *s);
static void beat(struct store *s);

const char *store_state_name(enum store_state st)
{
	static const char *const names[] = { "memory", "up", "down" };

	return names[st];
}

static void arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Lost or never had it: say so once, retry after the backoff. */
static void down(struct store *s, const char *why)
{
	if (s->why[0]) /* the server's refusal says more than the hang-up */
		why = s->why;
	if (!s->quiet)
		log_warn("redis %s:%u: %s; node %s runs on its own state until it is back",
			 s->url.host, (unsigned)s->url.port, why, s->node_id);
	else
		log_debug("redis %s:%u: %s", s->url.host, (unsigned)s->url.port, why);
	s->quiet = true;
	s->why[0] = '\0';
	s->state = STORE_DOWN;
	if (s->closing)
		return;
	arm(s->retry, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > STORE_BACKOFF_MAX_MS ? STORE_BACKOFF_MAX_MS
								  : s->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;

	if (status == REDIS_OK)
		return; /* up once PING answers, after AUTH and SELECT */
	s->ac = NULL; /* hiredis frees it after this returns */
	down(s, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct store *s = ac->data;

	s->ac = NULL;
	if (s->closing)
		return;
	down(s, status == REDIS_OK ? "disconnected" : ac->errstr[0] ? ac->errstr : "connection lost");
}

/* An error reply to AUTH, SELECT or PING: drop the connection, retry later. */
static bool refused(struct store *s, redisAsyncContext *ac, const redisReply *r,
		    const char *what)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return false;
	if (!r)
		return true; /* the context is going away */
	if (!s->why[0])
		snprintf(s->why, sizeof s->why, "%s refused: %.200s", what, r->str);
	redisAsyncDisconnect(ac);
	return true;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	refused(arg, ac, reply, "AUTH");
}

static void on_select(redisAsyncContext *ac, void *reply, void *arg)
{
	refused(arg, ac, reply, "SELECT");
}

static void on_ping(redisAsyncContext *ac, void *reply, void *arg)
{
	struct store *s = arg;

	if (refused(s, ac, reply, "PING"))
		return;
	evtimer_del(s->retry);
	if (s->state != STORE_UP)
		log_info("redis %s:%u: connected, node %s in the fleet registry", s->url.host,
			 (unsigned)s->url.port, s->node_id);
	s->state = STORE_UP;
	s->quiet = false;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	beat(s); /* an empty Redis gets the registry back at once */
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;

	if (s->ac) { /* still connecting after STORE_CONNECT_TIMEOUT_MS */
		redisAsyncContext *ac = s->ac;

		s->ac = NULL;
		ac->data = NULL;
		redisAsyncSetDisconnectCallback(ac, NULL);
		redisAsyncFree(ac);
		down(s, "no answer within 3 s");
		return;
	}
	s->reconnects++;
	store_connect(s);
}

static void store_connect(struct store *s)
{
	const struct redis_url *u = &s->url;
	redisAsyncContext *ac = redisAsyncConnect(u->host, u->port);
	char db[16];

	if (!ac || ac->err) {
		down(s, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		return;
	}
	ac->data = s;
	s->ac = ac;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (u->password[0] && u->user[0]) {
		const char *argv[] = { "AUTH", u->user, u->password };

		redisAsyncCommandArgv(ac, on_auth, s, 3, argv, NULL);
	} else if (u->password[0]) {
		const char *argv[] = { "AUTH", u->password };

		redisAsyncCommandArgv(ac, on_auth, s, 2, argv, NULL);
	}
	if (u->db) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", u->db);
		redisAsyncCommandArgv(ac, on_select, s, 2, argv, NULL);
	}
	redisAsyncCommand(ac, on_ping, s, "PING");
	arm(s->retry, STORE_CONNECT_TIMEOUT_MS);
}

/* ---- the node registry --------------------------------------------------- */

static uint64_t allocations(const struct server *srv)
{
	uint64_t n = 0;

	for (int i = 0; i < srv->n_workers; i++) {
		const struct relay_stats *st;

		if (!srv->workers[i] || !srv->workers[i]->engine)
			continue;
		st = relay_stats(srv->workers[i]->engine);
		n += atomic_load_explicit(&st->allocations[0], memory_order_relaxed) +
		     atomic_load_explicit(&st->allocations[1], memory_order_relaxed);
	}
	return n;
}

/* "udp 127.0.0.1:3478 tcp ..." for every listener, bounded by cap. */
static void listeners(const struct server *srv, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < srv->n_spec && o + 80 < cap; i++) {
		char a[INET6_ADDRSTRLEN + 8];

		netaddr_str((const struct sockaddr *)&srv->spec[i].addr, a, sizeof a);
		o += (size_t)snprintf(out + o, cap - o, "%s%s %s", o ? " " : "",
				      counters_transport_name(srv->spec[i].tp), a);
	}
}

static void on_beat_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply *r = reply;

	if (r && r->type == REDIS_REPLY_ERROR)
		log_debug("redis: heartbeat: %s", r->str);
}

static void beat(struct store *s)
{
	char started[24], now[24], workers[16], allocs[24], ttl[8], listen[1024];
	const struct server *srv = s->srv;

	if (s->state != STORE_UP || !s->ac)
		return;
	snprintf(started, sizeof started, "%lld", (long long)s->started);
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	snprintf(workers, sizeof workers, "%d", srv->n_workers);
	snprintf(allocs, sizeof allocs, "%llu", (unsigned long long)allocations(srv));
	snprintf(ttl, sizeof ttl, "%d", STORE_NODE_TTL_S);
	listeners(srv, listen, sizeof listen);
	{
		const char *hset[] = { "HSET", s->key, "id", s->node_id, "version", PACKAGE_VERSION,
				       "started", started, "heartbeat", now, "workers", workers,
				       "allocations", allocs, "listening", listen };
		const char *expire[] = { "EXPIRE", s->key, ttl };
		const char *sadd[] = { "SADD", "tern:nodes", s->node_id };

		redisAsyncCommandArgv(s->ac, on_beat_reply, s, sizeof hset / sizeof *hset, hset, NULL);
		redisAsyncCommandArgv(s->ac, on_beat_reply, s, 3, expire, NULL);
		redisAsyncCommandArgv(s->ac, on_beat_reply, s, 3, sadd, NULL);
	}
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	beat(arg);
}

/* ---- the API ----------------------------------------------------------- */

struct store *store_open(struct event_base *base, const struct server *srv, char *err,
			 size_t errlen)
{
	const struct config *c = srv->cfg;
	struct store *s = calloc(1, sizeof *s);
	static const struct timeval beat_every = { STORE_BEAT_MS / 1000, 0 };

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->srv = srv;
	s->started = time(NULL);
	s->state = STORE_MEMORY;
	if (c->node_id && *c->node_id) {
		snprintf(s->node_id, sizeof s->node_id, "%s", c->node_id);
	} else if (gethostname(s->node_id, sizeof s->node_id - 1) < 0 || !config_valid_node_id(s->node_id)) {
		snprintf(s->node_id, sizeof s->node_id, "tern");
	}
	if (!config_valid_node_id(s->node_id)) {
		snprintf(err, errlen, "node-id: '%s' is not 1-%d of A-Z a-z 0-9 . _ -", c->node_id,
			 STORE_NODE_ID_MAX);
		free(s);
		return NULL;
	}
	snprintf(s->key, sizeof s->key, "tern:node:{%s}", s->node_id);
	if (!c->redis_url || !*c->redis_url)
		return s;
	if (redis_url_parse(c->redis_url, &s->url, err, errlen) < 0) {
		free(s);
		return NULL;
	}
	s->redis = true;
	s->state = STORE_DOWN;
	s->backoff_ms = STORE_BACKOFF_MIN_MS;
	s->retry = evtimer_new(base, on_retry, s);
	s->beat = event_new(base, -1, EV_PERSIST, on_beat, s);
	if (!s->retry || !s->beat || event_add(s->beat, &beat_every) < 0) {
		snprintf(err, errlen, "out of memory");
		store_close(s);
		return NULL;
	}
	log_info("redis %s:%u db %d: connecting as node %s", s->url.host, (unsigned)s->url.port,
		 s->url.db, s->node_id);
	store_connect(s);
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	s->closing = true;
	if (s->ac) {
		redisAsyncContext *ac = s->ac;

		s->ac = NULL;
		ac->data = s; /* on_disconnect may still run, closing is set */
		redisAsyncFree(ac);
	}
	if (s->retry)
		event_free(s->retry);
	if (s->beat)
		event_free(s->beat);
	explicit_bzero(&s->url, sizeof s->url);
	free(s);
}

enum store_state store_state(const struct store *s)
{
	return s ? s->state : STORE_MEMORY;
}

uint64_t store_reconnects(const struct store *s)
{
	return s ? s->reconnects : 0;
}

const char *store_node_id(const struct store *s)
{
	return s->node_id;
}
