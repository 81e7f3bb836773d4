/*
 * The Redis backend on the main loop (see redis.h): the node registry, on a
 * connection of its own (store/rconn.c), which is also what /readyz
 * reports; and around it the fleet and the credentials from Redis.
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

#include "relay/record.h"
#include "server/counters.h"
#include "server/log.h"
#include "server/wg.h"
#include "server/worker.h"
#include "store/authsync.h"
#include "store/claim.h"
#include "store/fleet.h"
#include "store/rconn.h"
#include "store/records.h"
#include "store/redis.h"
#include "store/redis_url.h"
#include "store/sentinel.h"
#include "store/store.h"

struct redis {
	const struct server *srv;
	struct redis_url url; /* with the sentinels, if any (url.sentinel) */
	struct sentinel *sentinel; /* redis-sentinel: where the master is; NULL without */
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
	/* the node id's instance token (store/claim.h) */
	struct claim_who me;
	char dead[CLAIM_TOKEN_LEN + 1]; /* a dead holder's token we may replace */
	struct claim_who watched;       /* a holder we cannot judge from here */
	uint64_t watch_since_ms;
	_Atomic bool claimed; /* the entry is ours: the workers may write */
	bool lost;            /* another live process holds the id: stop */
};

/* The registry entry as one script call (claim.h): its arguments. */
struct entry {
	char ttl[8], pid[24], start[24], started[24], now[24], workers[16], allocs[24];
	char wg_peers[24], wg_sessions[24];
	char listen[1024], public[1024];
	const char *argv[48];
	int argc;
};

static void beat(struct redis *s);

static void on_up(void *ctx, redisAsyncContext *ac)
{
	struct redis *s = ctx;

	s->state = STORE_UP;
	beat(s); /* an empty Redis gets the registry back at once */
	if (s->authsync)
		authsync_reload(s->authsync);
}

static void on_down(void *ctx)
{
	((struct redis *)ctx)->state = STORE_DOWN;
}

/* ---- the node registry --------------------------------------------------- */

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

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void entry_build(struct redis *s, struct entry *e)
{
	const struct server *srv = s->srv;
	const char **a = e->argv;
	int n = 0;

	snprintf(e->ttl, sizeof e->ttl, "%d", STORE_NODE_TTL_S);
	snprintf(e->pid, sizeof e->pid, "%ld", s->me.pid);
	snprintf(e->start, sizeof e->start, "%llu", s->me.start);
	snprintf(e->started, sizeof e->started, "%lld", (long long)s->started);
	snprintf(e->now, sizeof e->now, "%lld", (long long)time(NULL));
	snprintf(e->workers, sizeof e->workers, "%d", srv->n_workers);
	snprintf(e->allocs, sizeof e->allocs, "%llu", (unsigned long long)store_allocations(srv));
	wg_counts(srv->wg, e->wg_peers, e->wg_sessions);
	listeners(srv, false, e->listen, sizeof e->listen);
	listeners(srv, true, e->public, sizeof e->public);
	a[n++] = "EVAL", a[n++] = claim_script, a[n++] = "1", a[n++] = s->key;
	a[n++] = s->me.token, a[n++] = s->dead, a[n++] = e->ttl;
	a[n++] = "token", a[n++] = s->me.token, a[n++] = "boot", a[n++] = s->me.boot;
	a[n++] = "pidns", a[n++] = s->me.pidns, a[n++] = "host", a[n++] = s->me.host;
	a[n++] = "pid", a[n++] = e->pid, a[n++] = "start", a[n++] = e->start;
	a[n++] = "id", a[n++] = s->node_id, a[n++] = "version", a[n++] = PACKAGE_VERSION;
	a[n++] = "started", a[n++] = e->started, a[n++] = "heartbeat", a[n++] = e->now;
	a[n++] = "workers", a[n++] = e->workers, a[n++] = "allocations", a[n++] = e->allocs;
	a[n++] = "listening", a[n++] = e->listen, a[n++] = "public", a[n++] = e->public;
	a[n++] = "full", a[n++] = store_full(srv) ? "1" : "0";
	a[n++] = "wg_peers", a[n++] = e->wg_peers, a[n++] = "wg_sessions", a[n++] = e->wg_sessions;
	e->argc = n;
}

/*
 * The entry is held by holder, not us: what now. CLAIM_DEAD: retry, taking
 * it over. CLAIM_ALIVE: give up, why in out. CLAIM_UNKNOWN: ask again
 * later; a holder whose heartbeat has not moved for CLAIM_WATCH_MS is dead.
 */
static enum claim_verdict held(struct redis *s, const struct claim_who *holder, char *out,
			       size_t cap)
{
	enum claim_verdict v = claim_judge(&s->me, holder);
	uint64_t now = mono_ms();

	if (v == CLAIM_UNKNOWN) {
		if (strcmp(s->watched.token, holder->token) != 0) {
			s->watched = *holder;
			s->watch_since_ms = now;
		} else if (holder->seq != s->watched.seq) {
			v = CLAIM_ALIVE;
		} else if (now - s->watch_since_ms >= CLAIM_WATCH_MS) {
			v = CLAIM_DEAD;
		}
	}
	if (v == CLAIM_DEAD) {
		snprintf(s->dead, sizeof s->dead, "%s", holder->token);
		log_warn("redis: node %s: the process that held this node-id (pid %ld on %s) is "
			 "gone: taking its entry and records over", s->node_id, holder->pid,
			 holder->host[0] ? holder->host : "?");
	} else if (v == CLAIM_ALIVE) {
		claim_describe(s->node_id, holder, out, cap);
	}
	return v;
}

static void claimed(struct redis *s)
{
	if (!s->claimed)
		log_info("redis: node %s: registry entry held", s->node_id);
	s->claimed = true;
	s->dead[0] = '\0';
	s->watched.token[0] = '\0';
}

static void on_beat_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct redis *s = arg;
	const redisReply *r = reply;
	struct claim_who holder;
	char why[512];

	if (!r)
		return;
	if (r->type == REDIS_REPLY_STATUS) {
		claimed(s);
		fleet_beat(s->fleet);
		return;
	}
	if (!claim_parse(r, &holder)) {
		log_debug("redis: heartbeat: %s", r->type == REDIS_REPLY_ERROR ? r->str : "?");
		return;
	}
	s->claimed = false; /* whatever happens next, the workers stop writing */
	switch (held(s, &holder, why, sizeof why)) {
	case CLAIM_DEAD:
		beat(s);
		break;
	case CLAIM_ALIVE:
		log_err("%s; stopping", why);
		s->lost = true;
		event_base_loopbreak(s->srv->base);
		break;
	case CLAIM_UNKNOWN:
		break; /* the next beat looks again */
	}
}

static void on_sadd_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply *r = reply;

	if (r && r->type == REDIS_REPLY_ERROR)
		log_debug("redis: registry: %s", r->str);
}

static void beat(struct redis *s)
{
	redisAsyncContext *ac = rconn_ctx(s->conn);
	struct entry e;

	if (!ac || s->lost)
		return;
	s->full_written = store_full(s->srv);
	entry_build(s, &e);
	redisAsyncCommandArgv(ac, on_beat_reply, s, e.argc, e.argv, NULL);
	redisAsyncCommandArgv(ac, on_sadd_reply, s, 3,
			      (const char *[]){ "SADD", "tern:nodes", s->node_id }, NULL);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
	beat(arg);
}

/* Full (or draining) now, or no longer: the fleet should know before the
 * next beat, or it keeps sending Allocates here. */
static void on_full_check(evutil_socket_t fd, short what, void *arg)
{
	struct redis *s = arg;

	if (store_full(s->srv) != s->full_written) {
		beat(s);
		fleet_announce(s->fleet);
	}
}

/*
 * Before serving: make this process the holder of node-id's registry entry,
 * blocking for up to about CLAIM_WATCH_MS while a holder elsewhere is
 * watched. 0: held, or Redis does not answer (the heartbeat claims it
 * later); -1 with err: another live ternd holds it.
 */
static int claim_at_start(struct redis *s, char *err, size_t errlen)
{
	redisContext *c;
	char why[256], at[REDIS_URL_FIELD + 16];
	int rc = 0;

	c = rconn_sync(&s->url, 3, why, sizeof why);
	if (!c) {
		log_warn("redis %s: %s; node-id %s will be claimed once Redis answers",
			 rconn_where(&s->url, at, sizeof at), why, s->node_id);
		return 0;
	}
	for (int tries = 0; !s->claimed && tries < 2 * CLAIM_WATCH_MS / CLAIM_POLL_MS; tries++) {
		struct claim_who holder;
		struct entry e;
		redisReply *r;

		entry_build(s, &e);
		r = redisCommandArgv(c, e.argc, e.argv, NULL);
		if (r && r->type == REDIS_REPLY_STATUS) {
			claimed(s);
		} else if (!claim_parse(r, &holder)) {
			log_warn("redis: node %s: registry entry not written (%s); trying again once "
				 "connected", s->node_id, r && r->type == REDIS_REPLY_ERROR ? r->str
							   : c->errstr[0] ? c->errstr : "?");
			freeReplyObject(r);
			break;
		} else if (held(s, &holder, err, errlen) == CLAIM_ALIVE) {
			rc = -1;
		} else if (!s->dead[0]) {
			usleep(CLAIM_POLL_MS * 1000); /* watching a holder elsewhere */
		}
		freeReplyObject(r);
		if (rc < 0)
			break;
	}
	redisFree(c);
	return rc;
}

/* ---- the backend's side of the API --------------------------------------- */

static void on_auth_changed(void *ctx)
{
	authsync_reload(ctx);
}

struct redis *redis_open(struct event_base *base, struct server *srv, const char *node_id,
			 char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	struct redis *s = calloc(1, sizeof *s);
	static const struct timeval beat_every = { STORE_BEAT_MS / 1000, 0 };
	static const struct timeval full_every = { 0, 200 * 1000 };
	char who[STORE_NODE_ID_MAX + 8];

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->srv = srv;
	s->started = time(NULL);
	if (claim_self(&s->me) < 0) {
		snprintf(err, errlen, "no random numbers for the instance token");
		free(s);
		return NULL;
	}
	snprintf(s->node_id, sizeof s->node_id, "%s", node_id);
	snprintf(s->key, sizeof s->key, "tern:node:{%s}", s->node_id);
	if (redis_url_parse(c->redis_url, &s->url, err, errlen) < 0) {
		free(s);
		return NULL;
	}
	if (c->redis_sentinel && *c->redis_sentinel) {
		s->sentinel = sentinel_new(base, c->redis_sentinel, c->redis_master_name,
					   c->redis_sentinel_password, &s->url, err, errlen);
		if (!s->sentinel) {
			free(s);
			return NULL;
		}
		s->url.sentinel = s->sentinel;
	}
	if (claim_at_start(s, err, errlen) < 0) {
		sentinel_close(s->sentinel);
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
		redis_close(s);
		return NULL;
	}
	if (s->sentinel)
		log_info("redis: master %s from the sentinels %s, db %d: connecting as node %s",
			 sentinel_name(s->sentinel), c->redis_sentinel, s->url.db, s->node_id);
	else
		log_info("redis %s:%u db %d: connecting as node %s", s->url.host,
			 (unsigned)s->url.port, s->url.db, s->node_id);
	return s;
}

void redis_close(struct redis *s)
{
	if (!s)
		return;
	rconn_free(s->conn); /* first: the fleet's pending replies run now */
	fleet_free(s->fleet);
	authsync_free(s->authsync);
	sentinel_close(s->sentinel); /* the workers' connections keep their references */
	if (s->beat)
		event_free(s->beat);
	if (s->full_check)
		event_free(s->full_check);
	explicit_bzero(&s->url, sizeof s->url);
	free(s);
}

int redis_records_start(struct redis *s, struct server *srv)
{
	records_restore(srv, &s->url, s->node_id);
	for (int i = 0; i < srv->n_workers; i++)
		if (records_start(srv->workers[i], &s->url, s->node_id) < 0)
			return -1;
	return 0;
}

enum store_state redis_state(const struct redis *s)
{
	return s->state;
}

uint64_t redis_reconnects(const struct redis *s)
{
	return rconn_reconnects(s->conn);
}

const struct redis_url *redis_url_of(const struct redis *s)
{
	return &s->url;
}

bool redis_master_known(const struct redis *s)
{
	return !s->sentinel || sentinel_known(s->sentinel);
}

uint64_t redis_failovers(const struct redis *s)
{
	return s->sentinel ? sentinel_failovers(s->sentinel) : 0;
}

bool redis_alternate(const struct redis *s, enum transport tp, uint8_t family,
		     struct stun_addr *out)
{
	return s->fleet && fleet_alternate(s->fleet, counters_transport_name(tp), family, out);
}

void redis_reload(struct redis *s)
{
	if (s->authsync)
		authsync_rebuild(s->authsync);
}

const struct fleet_view *redis_fleet(const struct redis *s)
{
	return fleet_view(s->fleet);
}

bool redis_claimed(const struct redis *s)
{
	return s->claimed;
}

bool redis_lost(const struct redis *s)
{
	return s->lost;
}
