/*
 * The fleet as this node sees it (issue 4, part 3), on the main loop:
 *
 *   tern:users:{ID}   hash: user -> this node's allocations of that user;
 *                     rewritten when the counts change (checked every
 *                     50 ms) and at every heartbeat; expires after 15 s
 *   tern:quota        pub/sub channel: a node's id, each time it rewrote
 *                     its tern:users hash
 *   tern:auth         pub/sub channel: users or REST secrets changed
 *                     (store/authsync.h)
 *
 * Every heartbeat, and whenever another node announces a change, the node
 * reads the registry (tern:nodes, each tern:node:{ID}) and the other nodes'
 * tern:users hashes. The users' counts become the fleet part of user-quota
 * (server/quota.h): an Allocate is checked against this node's count plus
 * what the others last reported, and never waits for Redis. Two nodes can
 * overshoot a quota by the Allocates they accept in the same ~100 ms. The
 * registry entries make /stats' fleet totals. Dead nodes drop out when
 * their entries expire.
 */
#ifndef TERN_STORE_FLEET_H
#define TERN_STORE_FLEET_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "store/redis_url.h"
#include "store/store.h" /* struct fleet_view: the API's */
#include "stun/stun.h"

enum { FLEET_QUOTA_CHECK_MS = 50 };

struct server;
struct rconn;
struct fleet;

/* conn: the main loop's connection (the registry's); the subscription gets
 * a connection of its own. NULL without memory. */
struct fleet *fleet_new(struct event_base *base, const struct server *srv,
			const struct redis_url *u, const char *node_id, struct rconn *conn);
/* Call fn(ctx) when the tern:auth channel says users or secrets changed. */
void fleet_on_auth(struct fleet *f, void (*fn)(void *ctx), void *ctx);
void fleet_free(struct fleet *f);
/* At each heartbeat: rewrite this node's counts, read the fleet again. */
void fleet_beat(struct fleet *f);
/* Tell the other nodes to read the registry now (this node's entry changed). */
void fleet_announce(struct fleet *f);
const struct fleet_view *fleet_view(const struct fleet *f);
/*
 * Where to send an Allocate this node cannot take (300 Try Alternate): the
 * live node, other than this one and not full, with the fewest
 * allocations, at its listener for transport ("udp", "tcp", "tls",
 * "dtls") in family, at the address clients reach it at (its external-ip,
 * if it has one). Any thread; false if there is none.
 */
bool fleet_alternate(struct fleet *f, const char *transport, uint8_t family,
		     struct stun_addr *out);

#endif
