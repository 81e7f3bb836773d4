/*
 * A Redis connection that keeps itself up (see rconn.h).
 *
 * hiredis frees an async context itself after its connect callback reports
 * a failure and after its disconnect callback, so c->ac is cleared in both
 * and never touched again. Commands are always sent with argv (never a
 * format string built from data: coturn's GHSA-4g7c-p5wg-j4hp).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/hiredis.h>

#include "server/log.h"
#include "store/rconn.h"

struct rconn {
	struct event_base *base;
	struct redis_url url;
	char who[64];
	bool loud;
	struct rconn_cb cb;
	redisAsyncContext *ac;
	bool up;
	bool closing;
	bool quiet;      /* this outage has been reported */
	void (*done)(void *arg); /* rconn_close(): closed */
	void *done_arg;
	char why[256];   /* why the server refused us, for the next down() */
	uint64_t reconnects;
	int backoff_ms;
	struct event *retry; /* reconnect after backoff, or give up connecting */
};

static void rconn_connect(struct rconn *c);

static void arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

/* Lost or never had it: say so (once, if loud), retry after the backoff. */
static void down(struct rconn *c, const char *why)
{
	bool was_up = c->up;

	if (c->why[0]) /* the server's refusal says more than the hang-up */
		why = c->why;
	if (c->loud && !c->quiet)
		log_warn("redis %s:%u: %s: %s; this node runs on its own state until it is back",
			 c->url.host, (unsigned)c->url.port, c->who, why);
	else
		log_debug("redis %s:%u: %s: %s", c->url.host, (unsigned)c->url.port, c->who, why);
	c->quiet = true;
	c->why[0] = '\0';
	c->up = false;
	if (c->closing)
		return;
	arm(c->retry, c->backoff_ms);
	c->backoff_ms = c->backoff_ms * 2 > RCONN_BACKOFF_MAX_MS ? RCONN_BACKOFF_MAX_MS
								 : c->backoff_ms * 2;
	if (was_up && c->cb.down)
		c->cb.down(c->cb.ctx);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;

	if (!c) /* abandoned by on_retry */
		return;
	if (status == REDIS_OK)
		return; /* up once PING answers, after AUTH and SELECT */
	c->ac = NULL; /* hiredis frees it after this returns */
	down(c, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn *c = ac->data;

	if (!c) /* abandoned by on_retry */
		return;
	c->ac = NULL;
	if (c->closing) {
		if (c->done)
			c->done(c->done_arg);
		c->done = NULL;
		return;
	}
	down(c, status == REDIS_OK ? "disconnected" : ac->errstr[0] ? ac->errstr : "connection lost");
}

/* An error reply to AUTH, SELECT or PING: drop the connection, retry later. */
static bool refused(struct rconn *c, redisAsyncContext *ac, const redisReply *r,
		    const char *what)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return false;
	if (!r)
		return true; /* the context is going away */
	if (!c->why[0])
		snprintf(c->why, sizeof c->why, "%s refused: %.200s", what, r->str);
	redisAsyncDisconnect(ac);
	return true;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	refused(arg, ac, reply, "AUTH");
}

static void on_select(redisAsyncContext *ac, void *reply, void *arg)
{
	refused(arg, ac, reply, "SELECT");
}

static void on_ping(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn *c = arg;

	if (refused(c, ac, reply, "PING"))
		return;
	evtimer_del(c->retry);
	if (c->loud)
		log_info("redis %s:%u: %s: connected", c->url.host, (unsigned)c->url.port, c->who);
	c->up = true;
	c->quiet = false;
	c->backoff_ms = RCONN_BACKOFF_MIN_MS;
	if (c->cb.up)
		c->cb.up(c->cb.ctx, ac);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	if (c->ac) { /* still connecting after RCONN_CONNECT_TIMEOUT_MS */
		redisAsyncContext *ac = c->ac;

		/* hiredis still calls the disconnect callback (setting it to NULL
		 * is refused once set): it finds no rconn and returns */
		c->ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
		down(c, "no answer within 3 s");
		return;
	}
	c->reconnects++;
	rconn_connect(c);
}

static void rconn_connect(struct rconn *c)
{
	const struct redis_url *u = &c->url;
	redisAsyncContext *ac = redisAsyncConnect(u->host, u->port);
	char db[16];

	if (!ac || ac->err) {
		down(c, ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		return;
	}
	ac->data = c;
	c->ac = ac;
	redisLibeventAttach(ac, c->base);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (u->password[0] && u->user[0]) {
		const char *argv[] = { "AUTH", u->user, u->password };

		redisAsyncCommandArgv(ac, on_auth, c, 3, argv, NULL);
	} else if (u->password[0]) {
		const char *argv[] = { "AUTH", u->password };

		redisAsyncCommandArgv(ac, on_auth, c, 2, argv, NULL);
	}
	if (u->db) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", u->db);
		redisAsyncCommandArgv(ac, on_select, c, 2, argv, NULL);
	}
	redisAsyncCommand(ac, on_ping, c, "PING");
	arm(c->retry, RCONN_CONNECT_TIMEOUT_MS);
}

struct rconn *rconn_new(struct event_base *base, const struct redis_url *u, const char *who,
			bool loud, const struct rconn_cb *cb)
{
	struct rconn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->base = base;
	c->url = *u;
	snprintf(c->who, sizeof c->who, "%s", who);
	c->loud = loud;
	c->cb = *cb;
	c->backoff_ms = RCONN_BACKOFF_MIN_MS;
	c->retry = evtimer_new(base, on_retry, c);
	if (!c->retry) {
		free(c);
		return NULL;
	}
	rconn_connect(c);
	return c;
}

void rconn_free(struct rconn *c)
{
	if (!c)
		return;
	c->closing = true;
	if (c->ac) {
		redisAsyncContext *ac = c->ac;

		c->ac = NULL;
		redisAsyncFree(ac); /* on_disconnect may still run: closing is set */
	}
	event_free(c->retry);
	explicit_bzero(&c->url, sizeof c->url);
	free(c);
}

void rconn_close(struct rconn *c, void (*done)(void *arg), void *arg)
{
	c->closing = true;
	evtimer_del(c->retry);
	if (!c->ac || !c->up) {
		done(arg);
		return;
	}
	c->done = done;
	c->done_arg = arg;
	redisAsyncDisconnect(c->ac); /* flushes, waits for the replies, then on_disconnect */
}

redisAsyncContext *rconn_ctx(const struct rconn *c)
{
	return c && c->up && !c->closing ? c->ac : NULL;
}

uint64_t rconn_reconnects(const struct rconn *c)
{
	return c ? c->reconnects : 0;
}

/* One command's reply, or why it failed, for rconn_sync(). */
static bool sync_ok(redisContext *c, int argc, const char **argv, const char *what, char *err,
		    size_t errlen)
{
	redisReply *r = redisCommandArgv(c, argc, argv, NULL);
	bool ok = r && r->type != REDIS_REPLY_ERROR;

	if (!ok)
		snprintf(err, errlen, "%s refused: %.200s", what,
			 r ? r->str : c->errstr[0] ? c->errstr : "no answer");
	freeReplyObject(r);
	return ok;
}

redisContext *rconn_sync(const struct redis_url *u, int timeout_s, char *err, size_t errlen)
{
	struct timeval limit = { timeout_s, 0 };
	redisContext *c = redisConnectWithTimeout(u->host, u->port, limit);
	char db[16];

	if (!c || c->err) {
		snprintf(err, errlen, "%s", c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, limit);
	snprintf(db, sizeof db, "%d", u->db);
	if ((u->password[0] &&
	     !(u->user[0] ? sync_ok(c, 3, (const char *[]){ "AUTH", u->user, u->password }, "AUTH",
				    err, errlen)
			  : sync_ok(c, 2, (const char *[]){ "AUTH", u->password }, "AUTH", err,
				    errlen))) ||
	    !sync_ok(c, 2, (const char *[]){ "SELECT", db }, "SELECT", err, errlen)) {
		redisFree(c);
		return NULL;
	}
	return c;
}
