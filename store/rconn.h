/*
 * One asynchronous connection to Redis on an event base (hiredis and its
 * libevent adapter): AUTH and SELECT from the URL, then PING; up once PING
 * answers. Lost or refused, it retries after a backoff (250 ms doubling to
 * 5 s); a connect with no answer in 3 s is abandoned (hiredis 0.14 has no
 * connect timeout of its own). The main loop has one for the node registry
 * (store/redis.c); each worker has one for its allocations' records
 * (store/records.c). Nothing here blocks.
 */
#ifndef TERN_STORE_RCONN_H
#define TERN_STORE_RCONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "store/redis_url.h"

enum {
	RCONN_CONNECT_TIMEOUT_MS = 3000,
	RCONN_BACKOFF_MIN_MS = 250,
	RCONN_BACKOFF_MAX_MS = 5000,
};

struct rconn;

struct rconn_cb {
	void *ctx;
	void (*up)(void *ctx, redisAsyncContext *ac); /* connected and answering */
	void (*down)(void *ctx);                      /* lost it (or never had it) */
};

/*
 * Start connecting to u on base. who names the connection in the log; with
 * loud, the first failure of an outage is a warning (later ones, and every
 * one when not loud, go to debug). NULL only without memory.
 */
struct rconn *rconn_new(struct event_base *base, const struct redis_url *u, const char *who,
			bool loud, const struct rconn_cb *cb);
void rconn_free(struct rconn *c);
/* Stop: send what is queued, wait for its replies, close, then done(arg)
 * (at once if not connected). No reconnect after. */
void rconn_close(struct rconn *c, void (*done)(void *arg), void *arg);
/* The context while up, else NULL: commands go out with argv only. */
redisAsyncContext *rconn_ctx(const struct rconn *c);
uint64_t rconn_reconnects(const struct rconn *c);

/*
 * A blocking connection, for what runs before the loop (the restore at
 * start) and for ternctl: connected, AUTH and SELECT done, every command
 * bounded by timeout_s. NULL with err filled (never the password).
 */
struct redisContext;
struct redisContext *rconn_sync(const struct redis_url *u, int timeout_s, char *err,
				size_t errlen);

#endif
