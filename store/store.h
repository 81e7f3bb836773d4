/*
 * The state store (DESIGN.md s6): the one header the rest of ternd
 * includes for it. store_open() picks one of two backends from the config,
 * and every function below answers for both:
 *
 *   memory  the default, no redis-url: nothing is shared and nothing can
 *           be down. Credentials are the config's (its userdb file is read
 *           again on SIGHUP); no allocation records, since a single box has
 *           nothing to restore them from; no fleet.
 *   redis   redis-url: this node is a member of a fleet. On the main loop,
 *           the node registry, the fleet view and the credentials in
 *           coturn's userdb schema (store/redis.h); on each worker, its
 *           allocations' records (store/records.h). With redis-sentinel,
 *           every connection goes to the master the sentinels name
 *           (store/sentinel.h).
 *
 * Where the memory backend has nothing to do, each function says what it
 * answers. The store runs on the main loop but for the records' writers,
 * one on each worker's loop; the workers only read the rest (store_state,
 * store_full, store_alternate). Nothing in ternd blocks but store_open()
 * and store_records_start(), before the workers start: a Redis outage only
 * turns /readyz to "degraded".
 *
 * The headers of store/ other than this one are its backends' own; only
 * tests/ include them, to test a module through its own header.
 * redis-url's parser (store/redis_url.h) comes with this one: the config
 * checks the option with it, and ternctl connects with it.
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
struct worker;
struct relay_key;

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
/* Attempts to reconnect to Redis; 0 for the memory backend. */
uint64_t store_reconnects(const struct store *s);
/* With redis-sentinel: whether the sentinels name a master now (false
 * during a failover, until the new one answers). true otherwise. */
bool store_master_known(const struct store *s);
/* With redis-sentinel: times the master moved to another address. */
uint64_t store_failovers(const struct store *s);
/* node-id, or the host name: both backends have one (/stats names it). */
const char *store_node_id(const struct store *s);
/* SIGHUP: read the credentials again (the userdb file, and Redis's). */
void store_reload(struct store *s);
/* Another live ternd took the node id: the main loop was stopped for it.
 * Never with the memory backend. */
bool store_lost(const struct store *s);
/* This node holds its registry entry: its records and counts may be
 * written (the Redis backend's writers ask). false for the memory backend. */
bool store_claimed(const struct store *s);

/* This node's allocations now, all workers. */
uint64_t store_allocations(const struct server *srv);
/* This node takes no more allocations: draining, or total-quota reached. */
bool store_full(const struct server *srv);

/* ---- the fleet ----------------------------------------------------------- */

enum { FLEET_MAX_NODES = 256 };

struct fleet_node {
	char id[65];
	uint64_t allocations;
	bool full;         /* it said it takes no more Allocates */
	int64_t heartbeat; /* Unix seconds */
	char listening[256];
	char public[256];  /* the listeners as clients reach them (external-ip) */
	uint64_t wg_peers, wg_sessions; /* its WireGuard peers in memory, sessions */
};

/* The last complete read of the registry. */
struct fleet_view {
	struct fleet_node node[FLEET_MAX_NODES];
	int n;
	int64_t at; /* Unix seconds; 0: never read */
};

/* The fleet as last read (store/fleet.h); NULL for the memory backend. */
const struct fleet_view *store_fleet(const struct store *s);
/* Another node for an Allocate this one cannot take (store/fleet.h): any
 * thread. false for the memory backend, which has no other node. */
bool store_alternate(const struct store *s, enum transport tp, uint8_t family,
		     struct stun_addr *out);

/* ---- allocation records -------------------------------------------------- */

/*
 * With Redis and TURN, before the workers start: take back this node's
 * allocations (blocking, a few seconds at most when Redis does not answer)
 * and give each worker its writer (store/records.h). The memory backend
 * keeps no records: 0 at once. -1 without memory.
 */
int store_records_start(struct store *s, struct server *srv);
/* A stop (SIGTERM), on w's own loop: hand Redis what changed last, then
 * break the loop. -1 if w has no writer (the memory backend). */
int store_records_finish(struct worker *w);
/* Free w's writer, if it has one. */
void store_records_stop(struct worker *w);
/* After the engine answered a request: a new or deleted allocation's
 * record goes to Redis now, ahead of the answer (no-op in memory). */
void store_records_now(struct worker *w);
/* redis-required: hold a new allocation's answer until Redis acknowledges
 * its record (store/records.h: records_hold). */
void store_hold(struct worker *w, const struct relay_key *k, const uint8_t *tid, int fd,
		const struct stun_addr *to, const uint8_t *p, size_t len, size_t fallback_len);

/* ---- WireGuard peers ------------------------------------------------------ */

/*
 * The responder's peers in Redis (schema: store/wgpeer.h), for the tunnel's
 * thread: with redis-url, a connection on its loop; without, none (the
 * memory backend's peers are the tunnel's own, from wg-config and wg set).
 * Not thread-safe: the loop's thread only.
 */
#include "store/wgpeer.h"

struct wgstore;

enum wgstore_result {
	WGSTORE_FOUND,  /* the record (and the timestamp was taken as its newest) */
	WGSTORE_ABSENT, /* no record, or a damaged one (logged) */
	WGSTORE_REPLAY, /* the record has a timestamp as new or newer */
	WGSTORE_DOWN,   /* Redis could not be asked, or did not answer */
};
/* An answer to wgstore_lookup(ticket); rec only for WGSTORE_FOUND, and only
 * for the call. */
typedef void (*wgstore_answer_fn)(void *ctx, uint32_t ticket, enum wgstore_result r,
				  const struct wgpeer *rec);
/* A peer's record was written (deleted false) or deleted, as announced on
 * tern:wg. */
typedef void (*wgstore_changed_fn)(void *ctx, const uint8_t key[32], bool deleted);

/* The Redis backend's settings, sentinels included, for wgstore_open();
 * NULL for the memory backend. */
const struct redis_url *store_redis_url(const struct store *s);
/* Connect to u (store_redis_url) on base for the responder with that
 * public key. NULL with err filled for no memory; a Redis that is not
 * there is no error (every question is answered WGSTORE_DOWN until it is). */
struct wgstore *wgstore_open(struct event_base *base, const struct redis_url *u,
			     const uint8_t responder[32], wgstore_answer_fn answer,
			     wgstore_changed_fn changed, void *ctx, char *err, size_t errlen);
/* Close; questions in flight are answered to no one. */
void wgstore_free(struct wgstore *ws);
bool wgstore_up(const struct wgstore *ws);
/* Find key's record and take tai64n as its newest timestamp if it is newer:
 * answer(ticket) later, never from inside this call. */
void wgstore_lookup(struct wgstore *ws, const uint8_t key[32], const uint8_t tai64n[12],
		    uint32_t ticket);
/* wg set's changes, written as ternctl peer writes them and announced:
 * the record's allowed IPs, preshared key and keepalive (its timestamp
 * and transfer stay), or its deletion. Logged if Redis is away. */
void wgstore_save(struct wgstore *ws, const struct wgpeer *p);
void wgstore_delete(struct wgstore *ws, const uint8_t key[32]);
/* Bytes a peer received and sent, added to its record's totals (if it
 * still has one); dropped while Redis is away. */
void wgstore_traffic(struct wgstore *ws, const uint8_t key[32], uint64_t rx, uint64_t tx);
/* An event (a JSON object) on tern:events; dropped while Redis is away. */
void wgstore_event(struct wgstore *ws, const char *json);

/* ---- for ternctl --------------------------------------------------------- */

/*
 * A blocking connection to the Redis at u: connected, AUTH and SELECT done,
 * every command bounded by timeout_s. NULL with err filled (never the
 * password). The caller frees it with redisFree().
 */
struct redisContext;
struct redisContext *store_redis_connect(const struct redis_url *u, int timeout_s, char *err,
					 size_t errlen);
/* With c's redis-sentinel: u's connections go to the master the sentinels
 * name (asked, blocking, when connecting). 0 (nothing to do without), or
 * -1 with err. store_redis_forget() lets go after. */
struct config;
int store_redis_sentinels(const struct config *c, struct redis_url *u, char *err,
			  size_t errlen);
void store_redis_forget(struct redis_url *u);

#endif
