/*
 * Redis high availability with Sentinel (issue 13): where the master is.
 *
 * With redis-sentinel, redis-url still chooses the Redis backend and gives
 * the master's user, password and db, but no connection goes to its host:
 * each asks this module for the master the sentinels name now. It asks
 * them in turn (SENTINEL get-master-addr-by-name, each bounded by
 * SENTINEL_ASK_MS), then asks the node it was given for ROLE, since a
 * sentinel can be stale: only a node that says "master" is published.
 * One connection to a sentinel (the next one in turn whenever it drops)
 * is subscribed to +switch-master, and a switch is followed at once. Any
 * connection that loses the master, or finds a replica there, reports it
 * (sentinel_lost): the master is unknown until the sentinels have been
 * asked again, so nothing retries an old address. A round that finds no
 * master is tried again after a backoff (250 ms doubling to 2 s).
 *
 * Publishing wakes every watching connection on its own loop (the store's
 * connections live on the main loop, the workers' and the WireGuard
 * thread's), which reconnects if the master is elsewhere now; each one's
 * owner rewrites its state on "up" as after an outage (store/records.h).
 *
 * Ownership: made by the store on the main loop, shared by reference
 * (each rconn that uses it holds one). sentinel_close() ends the main
 * loop's part; the memory goes with the last reference. The questions and
 * the subscription run on the main loop only; sentinel_master,
 * sentinel_lost, sentinel_watch and the counters are safe from any thread.
 */
#ifndef TERN_STORE_SENTINEL_H
#define TERN_STORE_SENTINEL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "store/redis_url.h"
#include "store/sentinel_msg.h"

enum {
	SENTINEL_ASK_MS = 1000,      /* one question to a sentinel, or ROLE to a master */
	SENTINEL_RETRY_MIN_MS = 250, /* a round found no master: ask again after this */
	SENTINEL_RETRY_MAX_MS = 2000,
	SENTINEL_WATCH_MAX = 1024,   /* connections following the master */
};

struct sentinel;

/*
 * list: redis-sentinel's value; name: redis-master-name; password:
 * redis-sentinel-password (NULL or "": none); master: redis-url, parsed,
 * whose user, password and db the master connections use. With base, the
 * first round starts at once; without (ternctl), only sentinel_resolve()
 * asks. NULL with err filled: a bad list or name, or no memory.
 */
struct sentinel *sentinel_new(struct event_base *base, const char *list, const char *name,
			      const char *password, const struct redis_url *master, char *err,
			      size_t errlen);
/* The owner's end, on the main loop: stop asking and listening, and drop
 * the owner's reference. */
void sentinel_close(struct sentinel *s);
struct sentinel *sentinel_ref(struct sentinel *s);
void sentinel_unref(struct sentinel *s);

/* The master now: true with its address and generation (which changes
 * with every publication), false while none is known. Any thread. */
bool sentinel_master(struct sentinel *s, struct sentinel_addr *out, uint64_t *gen);
/* A connection to generation gen's master was lost or found no master
 * there: forget it and ask the sentinels again (once per generation). */
void sentinel_lost(struct sentinel *s, uint64_t gen);
/* ev (on any base) is made active whenever a master is published. -1
 * past SENTINEL_WATCH_MAX or without memory. */
int sentinel_watch(struct sentinel *s, struct event *ev);
void sentinel_unwatch(struct sentinel *s, struct event *ev);

/* Blocking, before the loop runs (and for ternctl): if no master is known,
 * ask every sentinel in turn, each bounded by timeout_s, and publish what
 * is found. 0, or -1 with why in err. */
int sentinel_resolve(struct sentinel *s, int timeout_s, char *err, size_t errlen);

bool sentinel_known(struct sentinel *s);
/* Times the master moved to another address since the first one. */
uint64_t sentinel_failovers(const struct sentinel *s);
/* "mymaster", for log lines. */
const char *sentinel_name(const struct sentinel *s);

#endif
