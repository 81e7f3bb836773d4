/*
 * The state store (DESIGN.md s6). Two backends: memory, the default, where
 * nothing is shared and nothing can be down; and Redis, set with redis-url,
 * which makes this node a member of a fleet.
 *
 * On the main loop: the node registry, on a connection of its own
 * (store/rconn.h), whose state is what /readyz reports. Every 5 s a
 * heartbeat writes this node's entry, if this process holds it (see
 * store/claim.h: one node id, one live process)
 *
 *   tern:node:{ID}   hash: token, boot, pidns, host, pid, start, seq, id,
 *                    version, started, heartbeat, workers, allocations,
 *                    listening, public, full; expires after 15 s
 *   tern:nodes       set of node ids
 *
 * so a Redis that restarts empty has the registry back within one beat,
 * and a node that dies leaves nothing behind for long. Nothing here runs
 * on a worker or blocks: a Redis outage only turns /readyz to "degraded".
 * The allocations' records are the workers' own (store/records.h).
 */
#ifndef TERN_STORE_STORE_H
#define TERN_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "server/counters.h"
#include "store/redis_url.h"
#include "stun/stun.h"

struct server;
struct store;


enum store_state {
	STORE_MEMORY, /* no redis-url: state is this process's own */
	STORE_UP,     /* connected, authenticated, answering */
	STORE_DOWN,   /* redis-url set, not reachable now; retrying */
};

enum {
	STORE_BEAT_MS = 5000,
	STORE_NODE_TTL_S = 15,
	STORE_NODE_ID_MAX = 64,
};

/*
 * Open the store for srv on base (the main loop). With redis-url, first make
 * this process the holder of node-id's registry entry (store/claim.h),
 * blocking for up to about CLAIM_WATCH_MS while a holder on another host is
 * watched; then the connection starts in the background. NULL with err
 * filled for bad settings (node-id), no memory, or another live ternd
 * holding the node id. A Redis that does not answer is no error: the
 * heartbeat claims the entry once it does.
 */
struct store *store_open(struct event_base *base, struct server *srv, char *err,
			 size_t errlen);
void store_close(struct store *s);

enum store_state store_state(const struct store *s);
const char *store_state_name(enum store_state st);
uint64_t store_reconnects(const struct store *s);
const char *store_node_id(const struct store *s);
/* Another node for an Allocate this one cannot take (store/fleet.h). */
bool store_alternate(const struct store *s, enum transport tp, uint8_t family,
		     struct stun_addr *out);
/* This node's allocations now, all workers. */
uint64_t store_allocations(const struct server *srv);
/* This node takes no more allocations: draining, or total-quota reached. */
bool store_full(const struct server *srv);
/* SIGHUP: read the credentials again (the userdb file, and Redis's). */
void store_reload(struct store *s);
/* The fleet as last read (store/fleet.h); NULL for the memory backend. */
struct fleet_view;
const struct fleet_view *store_fleet(const struct store *s);
/* This node holds its entry: its records and counts may be written. */
bool store_claimed(const struct store *s);
/* Another live ternd took the node id: the main loop was stopped for it. */
bool store_lost(const struct store *s);
/* redis-url, parsed; NULL for the memory backend. */
const struct redis_url *store_url(const struct store *s);

#endif
