/*
 * The store's API (see store.h): store_open() picks the backend, and each
 * function that the backends answer differently asks the Redis one
 * (store/redis.h) or answers for the memory one, which holds nothing yet
 * but the node id and, with TURN, the config's credentials.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/netaddr.h"
#include "server/quota.h"
#include "server/worker.h"
#include "store/authsync.h"
#include "store/rconn.h"
#include "store/records.h"
#include "store/redis.h"
#include "store/sentinel.h"
#include "store/store.h"

struct store {
	char node_id[STORE_NODE_ID_MAX + 1];
	struct redis *redis;       /* the Redis backend; NULL: the memory one */
	struct authsync *authsync; /* the memory backend's credentials; NULL without TURN */
};

const char *store_state_name(enum store_state st)
{
	static const char *const names[] = { "memory", "up", "down" };

	return names[st];
}

/* ---- what does not depend on the backend --------------------------------- */

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

bool store_full(const struct server *srv)
{
	return atomic_load(&srv->draining) || (srv->quota && quota_full(srv->quota));
}

const char *store_node_id(const struct store *s)
{
	return s->node_id;
}

struct redisContext *store_redis_connect(const struct redis_url *u, int timeout_s, char *err,
					 size_t errlen)
{
	return rconn_sync(u, timeout_s, err, errlen);
}

int store_redis_sentinels(const struct config *c, struct redis_url *u, char *err,
			  size_t errlen)
{
	if (!c->redis_sentinel || !*c->redis_sentinel)
		return 0;
	u->sentinel = sentinel_new(NULL, c->redis_sentinel, c->redis_master_name,
				   c->redis_sentinel_password, u, err, errlen);
	return u->sentinel ? 0 : -1;
}

void store_redis_forget(struct redis_url *u)
{
	sentinel_close(u->sentinel);
	u->sentinel = NULL;
}

int store_records_finish(struct worker *w)
{
	return records_finish(w);
}

void store_records_stop(struct worker *w)
{
	records_stop(w);
}

void store_records_now(struct worker *w)
{
	if (w->records)
		records_now(w);
}

void store_hold(struct worker *w, const struct relay_key *k, const uint8_t *tid, int fd,
		const struct stun_addr *to, const uint8_t *p, size_t len, size_t fallback_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = netaddr_from_stun(to, &ss);

	records_hold(w, k, tid, fd, (struct sockaddr *)&ss, sl, p, len, fallback_len);
}

/* ---- opening: the choice of backend -------------------------------------- */

struct store *store_open(struct event_base *base, struct server *srv, char *err,
			 size_t errlen)
{
	const struct config *c = srv->cfg;
	struct store *s = calloc(1, sizeof *s);

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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
	if (c->redis_url && *c->redis_url) {
		s->redis = redis_open(base, srv, s->node_id, err, errlen);
		if (!s->redis) {
			free(s);
			return NULL;
		}
	} else if (srv->turn && !(s->authsync = authsync_new(base, srv, NULL))) {
		/* the memory backend: credentials reload on SIGHUP */
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	redis_close(s->redis);
	authsync_free(s->authsync);
	free(s);
}

/* ---- the rest: the Redis backend's answer, or the memory one's ----------- */

int store_records_start(struct store *s, struct server *srv)
{
	/* a single box has nothing to restore the records from: it keeps none */
	if (!s->redis || !srv->relay.persist || !srv->turn)
		return 0;
	return redis_records_start(s->redis, srv);
}

enum store_state store_state(const struct store *s)
{
	return s && s->redis ? redis_state(s->redis) : STORE_MEMORY;
}

uint64_t store_reconnects(const struct store *s)
{
	return s && s->redis ? redis_reconnects(s->redis) : 0;
}

bool store_master_known(const struct store *s)
{
	return !s || !s->redis || redis_master_known(s->redis);
}

uint64_t store_failovers(const struct store *s)
{
	return s && s->redis ? redis_failovers(s->redis) : 0;
}

const struct redis_url *store_redis_url(const struct store *s)
{
	return s && s->redis ? redis_url_of(s->redis) : NULL;
}

bool store_alternate(const struct store *s, enum transport tp, uint8_t family,
		     struct stun_addr *out)
{
	return s && s->redis && redis_alternate(s->redis, tp, family, out);
}

void store_reload(struct store *s)
{
	if (s && s->redis)
		redis_reload(s->redis);
	else if (s && s->authsync)
		authsync_reload(s->authsync);
}

const struct fleet_view *store_fleet(const struct store *s)
{
	return s && s->redis ? redis_fleet(s->redis) : NULL;
}

bool store_claimed(const struct store *s)
{
	return s && s->redis && redis_claimed(s->redis);
}

bool store_lost(const struct store *s)
{
	return s && s->redis && redis_lost(s->redis);
}
