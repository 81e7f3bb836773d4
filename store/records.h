/*
 * Allocation records in Redis (issue 4, part 2): each worker writes its UDP
 * allocations' records on a connection of its own, and a node that starts
 * with the same node id takes back the ones not expired, on the same relay
 * ports, before it serves anything.
 *
 *   tern:alloc:{ID}:<relayed address>   string: relay/record.h's line;
 *                                       expires with the allocation
 *
 * Writes follow changes (Allocate, Refresh, CreatePermission, ChannelBind,
 * deletion and expiry), never packets. A new allocation's record, and a
 * deletion, go to Redis's socket at once, before the client's answer is
 * sent (records_now), so a crash cannot lose an allocation its client was
 * told it has (with redis-required the answer also waits for Redis to
 * acknowledge it: records_hold). Other changes wait: the engine flags them and a 50 ms timer
 * hands the flags to Redis, so a thousand Refreshes between two flushes
 * are one SET. While Redis is away the flags wait (bounded by the
 * allocation table); when it answers again, everything is written anew,
 * which also refills a Redis that came back empty. A stop writes what
 * changed last before the worker's loop ends (a second at most).
 */
#ifndef TERN_STORE_RECORDS_H
#define TERN_STORE_RECORDS_H

#include <sys/socket.h>

#include "relay/relay.h"
#include "store/redis_url.h"

struct server;
struct worker;

enum {
	RECORDS_FLUSH_MS = 50,
	RECORDS_HOLD_MS = 1000,   /* redis-required: the most an answer waits */
	RECORDS_HELD_MAX = 1024,  /* answers waiting at once, a worker */
	RECORDS_HELD_BYTES = 1024 /* an answer and its 508 */
};

/*
 * Take back this node's allocations, before the workers start: blocking,
 * at most a few seconds when Redis does not answer. Attaches the steering
 * program (server/steer.h) to every UDP listener, so each allocation lands
 * on the worker its client's datagrams reach. Logs what it did; an outage
 * here only means nothing is restored.
 */
void records_restore(struct server *srv, const struct redis_url *u, const char *node_id);

/* The worker's writer: its own connection and flush timer. 0 or -1. */
int records_start(struct worker *w, const struct redis_url *u, const char *node_id);
void records_stop(struct worker *w);
/* An allocation was just made or deleted: write its record now, before
 * the answer goes (relay_sync_urgent). */
void records_now(struct worker *w);
/*
 * redis-required: the answer to k's new allocation (Allocate tid), len
 * bytes at p followed by fallback_len bytes of 508, for fd to send to `to`
 * once Redis has acknowledged the record (a PING written after it is
 * answered), or the 508 if it was refused, the connection went, or
 * RECORDS_HOLD_MS passed; the engine releases the allocation then
 * (relay_held_done). Without room to hold it: the 508 at once.
 */
void records_hold(struct worker *w, const struct relay_key *k, const uint8_t *tid, int fd,
		  const struct sockaddr *to, socklen_t tolen, const uint8_t *p, size_t len,
		  size_t fallback_len);
/* A stop (SIGTERM): on the worker's own loop, hand Redis what changed last,
 * wait for it to be written, then break the loop. -1 if it cannot be asked. */
int records_finish(struct worker *w);

#endif
