/*
 * The Redis backend behind store.h, on the main loop: store/store.c opens it
 * when redis-url is set, and each store_* function that the backends answer
 * differently asks it. It owns the node registry, on a connection of its
 * own (store/rconn.h), whose state is what /readyz reports. Every 5 s a
 * heartbeat writes this node's entry, if this process holds it (see
 * store/claim.h: one node id, one live process)
 *
 *   tern:node:{ID}   hash: token, boot, pidns, host, pid, start, seq, id,
 *                    version, started, heartbeat, workers, allocations,
 *                    listening, public, full; expires after 15 s
 *   tern:nodes       set of node ids
 *
 * so a Redis that restarts empty has the registry back within one beat,
 * and a node that dies leaves nothing behind for long. Around it: the
 * fleet (store/fleet.h) and the credentials (store/authsync.h). The
 * allocations' records are the workers' own (store/records.h). Private to
 * store/.
 */
#ifndef TERN_STORE_REDIS_H
#define TERN_STORE_REDIS_H

#include "store/store.h"

struct redis;

/*
 * With srv->cfg's redis-url, as node_id: claim the registry entry, blocking
 * for up to about CLAIM_WATCH_MS while a holder on another host is watched,
 * then connect in the background. NULL with err filled: a bad redis-url, no
 * memory or randomness, or another live ternd holding the node id.
 */
struct redis *redis_open(struct event_base *base, struct server *srv, const char *node_id,
			 char *err, size_t errlen);
void redis_close(struct redis *s);
/* Restore this node's allocations, then start every worker's writer. */
int redis_records_start(struct redis *s, struct server *srv);

enum store_state redis_state(const struct redis *s);
uint64_t redis_reconnects(const struct redis *s);
/* redis-url, and with redis-sentinel the sentinels (store/sentinel.h). */
const struct redis_url *redis_url_of(const struct redis *s);
/* false only with redis-sentinel, while no master is known */
bool redis_master_known(const struct redis *s);
uint64_t redis_failovers(const struct redis *s);
bool redis_alternate(const struct redis *s, enum transport tp, uint8_t family,
		     struct stun_addr *out);
void redis_reload(struct redis *s);
const struct fleet_view *redis_fleet(const struct redis *s);
bool redis_claimed(const struct redis *s);
bool redis_lost(const struct redis *s);

#endif
