/*
 * One asynchronous connection to Redis on an event base (hiredis and its
 * libevent adapter): AUTH and SELECT from the URL, then PING; up once PING
 * answers. Lost or refused, it retries after a backoff (250 ms doubling to
 * 5 s); a connect with no answer in 3 s is abandoned (hiredis 0.14 has no
 * connect timeout of its own). The main loop has one for the node registry
 * (store/redis.c); each worker has one for its allocations' records
 * (store/records.c). Nothing here blocks.
 *
 * With the URL's sentinel set (redis-sentinel), each attempt goes to the
 * master the sentinels name now (store/sentinel.h), ROLE takes PING's
 * place (up only on a master: a sentinel can be stale), a loss or a
 * replica makes the sentinels be asked again, and a master named elsewhere
 * is followed at once, on the connection's own loop.
 */
#ifndef TERN_STORE_RCONN_H
#define TERN_STORE_RCONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "store/redis_url.h"
#include "store/sentinel_msg.h"

enum {
	RCONN_CONNECT_TIMEOUT_MS = 3000,
	RCONN_BACKOFF_MIN_MS = 250,
	RCONN_BACKOFF_MAX_MS = 5000,
};

struct rconn;

struct rconn_cb {
	void *ctx;
	void (*up)(void *ctx, redisAsyncContext *ac); /* connected and answering */
	void (*down)(void *ctx);                      /* lost it (after up) */
	/* Optional: where each attempt goes instead of the URL's host and port
	 * (the sentinels, each in turn); false: nowhere now, wait the backoff. */
	bool (*where)(void *ctx, struct sentinel_addr *at);
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
 * One command on a connection of its own: connect to at with u's AUTH (and
 * SELECT), send argv, close. answer(arg, reply, why) is called exactly
 * once, within timeout_ms, from base's loop and never from this call:
 * reply is the server's (an error reply too; freed after answer returns),
 * or NULL with why if there was none. NULL only without memory.
 * rconn_ask_cancel() before the answer: no answer, nothing left behind.
 */
struct rconn_ask;
struct redisReply;
typedef void rconn_answer_fn(void *arg, const struct redisReply *reply, const char *why);
struct rconn_ask *rconn_ask(struct event_base *base, const struct redis_url *u,
			    const struct sentinel_addr *at, int argc, const char **argv,
			    int timeout_ms, rconn_answer_fn *answer, void *arg);
void rconn_ask_cancel(struct rconn_ask *q);

/* For log lines: u's "host:port", or with its sentinel "master NAME". */
const char *rconn_where(const struct redis_url *u, char *out, size_t n);

/*
 * A blocking connection, for what runs before the loop (the restore at
 * start) and for ternctl: connected, AUTH and SELECT done, every command
 * bounded by timeout_s. With u's sentinel, to the master it names (asking
 * the sentinels first if it knows none). NULL with err filled (never the
 * password).
 */
struct redisContext;
struct redisContext *rconn_sync(const struct redis_url *u, int timeout_s, char *err,
				size_t errlen);

#endif
