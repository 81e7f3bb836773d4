/*
 * The store on the main loop: the node registry, on a connection of its
 * own (server/rconn.c), which is also what /readyz reports (see store.h).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <hiredis/hiredis.h>

#include "server/authsync.h"
#include "server/counters.h"
#include "server/fleet.h"
#include "server/log.h"
#include "server/quota.h"
#include "relay/record.h"
#include "server/netaddr.h"
#include "server/rconn.h"
#include "server/redis_url.h"
#include "server/store.h"
#include "server/worker.h"

struct store {
	const struct server *srv;
	struct redis_url url;
	char node_id[STORE_NODE_ID_MAX + 1];
	char key[STORE_NODE_ID_MAX + 16]; /* tern:node:{ID} */
	struct rconn *conn;
	struct fleet *fleet;
	struct authsync *authsync; /* users and secrets; NULL without TURN */
	_Atomic enum store_state state; /* read by the workers too */
	struct event *beat;
	struct event *full_check; /* rewrite the entry when "full" flips */
	bool full_written;
	time_t started;
};

static void beat(struct store *s);

const char *store_state_name(enum store_state st)
{
	static const char *const names[] = { "memory", "up", "down" };

	return names[st];
}

static void on_up(void *ctx, redisAsyncContext *ac)
{
	struct store *s = ctx;

	s->state = STORE_UP;
	beat(s); /* an empty Redis gets the registry back at once */
	if (s->authsync)
		authsync_reload(s->authsync);
}

static void on_down(void *ctx)
{
	((struct store *)ctx)->state = STORE_DOWN;
}

/* ---- the node registry --------------------------------------------------- */

uint64_t store_allocations(const struct server *srv)
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

/*
 * "udp 127.0.0.1:3478 tcp ..." for every listener, bounded by cap. With
 * public, the address clients reach it at: external-ip's public address in
 * place of the listener's own, for the family it is set for (a node behind
 * 1:1 NAT, or listening on a wildcard address).
 */
static void listeners(const struct server *srv, bool public, char *out, size_t cap)
{
	const struct relay_config *rc = &srv->relay;
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < srv->n_spec && o + 80 < cap; i++) {
		struct stun_addr a = srv->spec[i].local;
		const struct stun_addr *pub = a.family == STUN_FAMILY_IPV6 ? &rc->public_v6
									: &rc->public_v4;
		char s[INET6_ADDRSTRLEN + 8];

		if (public && srv->cfg->external_ip && pub->family == a.family) {
			uint16_t port = a.port;

			a = *pub;
			a.port = port;
		}
		if (!record_addr_str(&a, true, s, sizeof s))
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%s%s %s", o ? " " : "",
				      counters_transport_name(srv->spec[i].tp), s);
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
	char started[24], now[24], workers[16], allocs[24], ttl[8], listen[1024], public[1024];
	const char *full = store_full(s->srv) ? "1" : "0";
	const struct server *srv = s->srv;
	redisAsyncContext *ac = rconn_ctx(s->conn);

	if (!ac)
		return;
	s->full_written = full[0] == '1';
	snprintf(started, sizeof started, "%lld", (long long)s->started);
	snprintf(now, sizeof now, "%lld", (long long)time(NULL));
	snprintf(workers, sizeof workers, "%d", srv->n_workers);
	snprintf(allocs, sizeof allocs, "%llu", (unsigned long long)store_allocations(srv));
	snprintf(ttl, sizeof ttl, "%d", STORE_NODE_TTL_S);
	listeners(srv, false, listen, sizeof listen);
	listeners(srv, true, public, sizeof public);
	{
		const char *hset[] = { "HSET", s->key, "id", s->node_id, "version", PACKAGE_VERSION,
				       "started", started, "heartbeat", now, "workers", workers,
				       "allocations", allocs, "listening", listen, "public", public,
				       "full", full };
		const char *expire[] = { "EXPIRE", s->key, ttl };
		const char *sadd[] = { "SADD", "tern:nodes", s->node_id };

		redisAsyncCommandArgv(ac, on_beat_reply, s, sizeof hset / sizeof *hset, hset, NULL);
		redisAsyncCommandArgv(ac, on_beat_reply, s, 3, expire, NULL);
		redisAsyncCommandArgv(ac, on_beat_reply, s, 3, sadd, NULL);
	}
	fleet_beat(s->fleet);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	beat(arg);
}

/* Full (or draining) now, or no longer: the fleet should know before the
 * next beat, or it keeps sending Allocates here. */
static void on_full_check(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;

	if (store_full(s->srv) != s->full_written) {
		beat(s);
		fleet_announce(s->fleet);
	}
}

/* ---- the API ----------------------------------------------------------- */

static void on_auth_changed(void *ctx)
{
	authsync_reload(ctx);
}

struct store *store_open(struct event_base *base, struct server *srv, char *err,
			 size_t errlen)
{
	const struct config *c = srv->cfg;
	struct store *s = calloc(1, sizeof *s);
	static const struct timeval beat_every = { STORE_BEAT_MS / 1000, 0 };
	static const struct timeval full_every = { 0, 200 * 1000 };
	char who[STORE_NODE_ID_MAX + 8];

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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
	if (!c->redis_url || !*c->redis_url) {
		/* the memory backend: credentials reload on SIGHUP */
		if (srv->turn && !(s->authsync = authsync_new(base, srv, NULL))) {
			snprintf(err, errlen, "out of memory");
			free(s);
			return NULL;
		}
		return s;
	}
	if (redis_url_parse(c->redis_url, &s->url, err, errlen) < 0) {
		free(s);
		return NULL;
	}
	s->state = STORE_DOWN;
	s->beat = event_new(base, -1, EV_PERSIST, on_beat, s);
	s->full_check = event_new(base, -1, EV_PERSIST, on_full_check, s);
	snprintf(who, sizeof who, "node %s", s->node_id);
	s->conn = rconn_new(base, &s->url, who, true,
			    &(struct rconn_cb){ .ctx = s, .up = on_up, .down = on_down });
	s->fleet = s->conn ? fleet_new(base, srv, &s->url, s->node_id, s->conn) : NULL;
	if (s->fleet && srv->turn) {
		s->authsync = authsync_new(base, srv, s->conn);
		if (s->authsync)
			fleet_on_auth(s->fleet, on_auth_changed, s->authsync);
	}
	if (!s->beat || !s->full_check || !s->fleet || (srv->turn && !s->authsync) ||
	    event_add(s->beat, &beat_every) < 0 || event_add(s->full_check, &full_every) < 0) {
		snprintf(err, errlen, "out of memory");
		store_close(s);
		return NULL;
	}
	log_info("redis %s:%u db %d: connecting as node %s", s->url.host, (unsigned)s->url.port,
		 s->url.db, s->node_id);
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	rconn_free(s->conn); /* first: the fleet's pending replies run now */
	fleet_free(s->fleet);
	authsync_free(s->authsync);
	if (s->beat)
		event_free(s->beat);
	if (s->full_check)
		event_free(s->full_check);
	explicit_bzero(&s->url, sizeof s->url);
	free(s);
}

enum store_state store_state(const struct store *s)
{
	return s ? s->state : STORE_MEMORY;
}

uint64_t store_reconnects(const struct store *s)
{
	return s ? rconn_reconnects(s->conn) : 0;
}

bool store_alternate(const struct store *s, enum transport tp, uint8_t family,
		     struct stun_addr *out)
{
	return s && s->fleet && fleet_alternate(s->fleet, counters_transport_name(tp), family, out);
}

bool store_full(const struct server *srv)
{
	const struct config *c = srv->cfg;

	return atomic_load(&srv->draining) ||
	       (srv->quota && c->total_quota && quota_total(srv->quota) >= (uint32_t)c->total_quota);
}

void store_reload(struct store *s)
{
	if (s && s->authsync)
		authsync_reload(s->authsync);
}

const struct fleet_view *store_fleet(const struct store *s)
{
	return s ? fleet_view(s->fleet) : NULL;
}

const struct redis_url *store_url(const struct store *s)
{
	return s && s->state != STORE_MEMORY ? &s->url : NULL;
}

const char *store_node_id(const struct store *s)
{
	return s->node_id;
}
