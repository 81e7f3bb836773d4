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
#include "store/sentinel.h"

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
	struct sentinel_addr at; /* where the last attempt went */
	/* with the URL's sentinel: the master's generation at that attempt (0:
	 * none was known), and the event it makes active when it publishes */
	uint64_t gen;
	struct event *moved;
};

static void rconn_connect(struct rconn *c);

static void arm(struct event *ev, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

const char *rconn_where(const struct redis_url *u, char *out, size_t n)
{
	if (u->sentinel)
		snprintf(out, n, "master %s", sentinel_name(u->sentinel));
	else
		snprintf(out, n, "%s:%u", u->host, (unsigned)u->port);
	return out;
}

/* "host:port" of the last attempt, or where it is meant to go before any. */
static const char *at_str(const struct rconn *c, char *out, size_t n)
{
	if (!c->at.host[0])
		return rconn_where(&c->url, out, n);
	snprintf(out, n, "%s:%u", c->at.host, (unsigned)c->at.port);
	return out;
}

/* Lost or never had it: say so (once, if loud), retry after the backoff. */
static void down(struct rconn *c, const char *why)
{
	bool was_up = c->up;
	char at[REDIS_URL_FIELD + 16];

	if (c->why[0]) /* the server's refusal says more than the hang-up */
		why = c->why;
	if (c->loud && !c->quiet)
		log_warn("redis %s: %s: %s; this node runs on its own state until it is back",
			 at_str(c, at, sizeof at), c->who, why);
	else
		log_debug("redis %s: %s: %s", at_str(c, at, sizeof at), c->who, why);
	c->quiet = true;
	c->why[0] = '\0';
	c->up = false;
	if (c->closing)
		return;
	if (c->moved && c->gen) /* ask the sentinels, not the same address again */
		sentinel_lost(c->url.sentinel, c->gen);
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

	if (refused(c, ac, reply, c->moved ? "ROLE" : "PING"))
		return;
	if (c->moved && !sentinel_msg_role_master(reply)) { /* a stale sentinel's */
		snprintf(c->why, sizeof c->why, "not the master (ROLE says it is not)");
		redisAsyncDisconnect(ac);
		return;
	}
	evtimer_del(c->retry);
	if (c->loud)
		log_info("redis %s:%u: %s: connected", c->at.host, (unsigned)c->at.port, c->who);
	c->up = true;
	c->quiet = false;
	c->backoff_ms = RCONN_BACKOFF_MIN_MS;
	if (c->cb.up)
		c->cb.up(c->cb.ctx, ac);
}

/* Let go of the context now, from outside its callbacks: the replies it
 * owed come as NULL, and its callbacks find no rconn. Then down(). */
static void drop(struct rconn *c, const char *why)
{
	redisAsyncContext *ac = c->ac;

	/* hiredis may still call the disconnect callback (setting it to NULL
	 * is refused once set): it finds no rconn and returns */
	c->ac = NULL;
	ac->data = NULL;
	redisAsyncFree(ac);
	down(c, why);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;

	if (c->ac) { /* still connecting after RCONN_CONNECT_TIMEOUT_MS */
		drop(c, "no answer within 3 s");
		return;
	}
	c->reconnects++;
	rconn_connect(c);
}

/*
 * The sentinels published a master (sentinel_watch): go there now unless
 * this connection is there already, or failed there and waits its backoff.
 */
static void on_moved(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;
	struct sentinel_addr now;
	uint64_t gen;

	if (c->closing || !sentinel_master(c->url.sentinel, &now, &gen))
		return;
	if (c->gen && sentinel_msg_same(&now, &c->at)) {
		if (c->ac)
			c->gen = gen; /* the same master, asked again: stay */
		return;
	}
	if (c->ac)
		drop(c, "the sentinels name another master");
	c->backoff_ms = RCONN_BACKOFF_MIN_MS;
	evtimer_del(c->retry);
	c->reconnects++;
	rconn_connect(c);
}

/* Where this attempt goes; false (after down()) if nowhere is known. */
static bool target(struct rconn *c)
{
	bool ok = true;

	if (c->cb.where) {
		ok = c->cb.where(c->cb.ctx, &c->at);
	} else if (c->url.sentinel) {
		ok = sentinel_master(c->url.sentinel, &c->at, &c->gen);
		if (!ok)
			c->gen = 0;
	} else {
		snprintf(c->at.host, sizeof c->at.host, "%s", c->url.host);
		c->at.port = c->url.port;
	}
	if (!ok)
		down(c, c->url.sentinel ? "no master known: asking the sentinels" : "nowhere to go");
	return ok;
}

/* AUTH and SELECT as u says, each answer to fn (privdata arg). */
static void hello(redisAsyncContext *ac, const struct redis_url *u, redisCallbackFn *auth,
		  redisCallbackFn *select, void *arg)
{
	char db[16];

	if (u->password[0] && u->user[0]) {
		const char *argv[] = { "AUTH", u->user, u->password };

		redisAsyncCommandArgv(ac, auth, arg, 3, argv, NULL);
	} else if (u->password[0]) {
		const char *argv[] = { "AUTH", u->password };

		redisAsyncCommandArgv(ac, auth, arg, 2, argv, NULL);
	}
	if (u->db) {
		const char *argv[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", u->db);
		redisAsyncCommandArgv(ac, select, arg, 2, argv, NULL);
	}
}

static void rconn_connect(struct rconn *c)
{
	redisAsyncContext *ac;

	if (!target(c))
		return;
	ac = redisAsyncConnect(c->at.host, c->at.port);
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
	hello(ac, &c->url, on_auth, on_select, c);
	redisAsyncCommand(ac, on_ping, c, c->moved ? "ROLE" : "PING");
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
	if (u->sentinel && !cb->where) { /* to the master the sentinels name */
		c->moved = event_new(base, -1, 0, on_moved, c);
		if (c->moved && sentinel_watch(u->sentinel, c->moved) < 0) {
			event_free(c->moved);
			c->moved = NULL;
		}
		if (!c->moved) {
			event_free(c->retry);
			free(c);
			return NULL;
		}
		sentinel_ref(u->sentinel);
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
	if (c->moved) {
		sentinel_unwatch(c->url.sentinel, c->moved); /* before it can be made active again */
		event_free(c->moved);
		sentinel_unref(c->url.sentinel);
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

/* ---- one question (rconn_ask) ------------------------------------------- */

/*
 * The context's data is the question until it is answered; every hiredis
 * callback looks there (never at its privdata), so the replies and the
 * disconnect hiredis delivers after the answer find nothing to do.
 */
struct rconn_ask {
	redisAsyncContext *ac; /* NULL: it could not even start (why) */
	struct event *timeout;
	rconn_answer_fn *answer;
	void *arg;
	char why[128];
};

static void ask_free(struct rconn_ask *q)
{
	event_free(q->timeout);
	free(q);
}

/* Answer once; the context is let go of by the caller's path. */
static void ask_end(struct rconn_ask *q, const redisReply *r, const char *why)
{
	q->ac->data = NULL;
	q->answer(q->arg, r, why);
	ask_free(q);
}

static void ask_on_connect(const redisAsyncContext *ac, int status)
{
	struct rconn_ask *q = ac->data;

	if (q && status != REDIS_OK) /* hiredis frees the context after this */
		ask_end(q, NULL, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void ask_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct rconn_ask *q = ac->data;

	if (q)
		ask_end(q, NULL, ac->errstr[0] ? ac->errstr : "connection lost");
}

static void ask_on_hello(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn_ask *q = ac->data;
	const redisReply *r = reply;

	if (!q || !r || r->type != REDIS_REPLY_ERROR)
		return;
	ask_end(q, NULL, "AUTH or SELECT refused");
	redisAsyncDisconnect(ac);
}

static void ask_on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	struct rconn_ask *q = ac->data;

	if (!q || !reply)
		return;
	ask_end(q, reply, NULL);
	redisAsyncDisconnect(ac); /* after this callback: the reply is freed first */
}

static void ask_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct rconn_ask *q = arg;
	redisAsyncContext *ac = q->ac;

	q->answer(q->arg, NULL, ac ? "no answer in time" : q->why);
	if (ac)
		ac->data = NULL;
	ask_free(q);
	if (ac)
		redisAsyncFree(ac);
}

struct rconn_ask *rconn_ask(struct event_base *base, const struct redis_url *u,
			    const struct sentinel_addr *at, int argc, const char **argv,
			    int timeout_ms, rconn_answer_fn *answer, void *arg)
{
	struct rconn_ask *q = calloc(1, sizeof *q);
	redisAsyncContext *ac;

	if (!q || !(q->timeout = evtimer_new(base, ask_on_timeout, q))) {
		free(q);
		return NULL;
	}
	q->answer = answer;
	q->arg = arg;
	ac = redisAsyncConnect(at->host, at->port);
	if (!ac || ac->err) { /* answered from the loop all the same */
		snprintf(q->why, sizeof q->why, "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		arm(q->timeout, 0);
		return q;
	}
	q->ac = ac;
	ac->data = q;
	redisLibeventAttach(ac, base);
	redisAsyncSetConnectCallback(ac, ask_on_connect);
	redisAsyncSetDisconnectCallback(ac, ask_on_disconnect);
	hello(ac, u, ask_on_hello, ask_on_hello, NULL);
	redisAsyncCommandArgv(ac, ask_on_reply, NULL, argc, argv, NULL);
	arm(q->timeout, timeout_ms);
	return q;
}

void rconn_ask_cancel(struct rconn_ask *q)
{
	redisAsyncContext *ac = q->ac;

	if (ac)
		ac->data = NULL;
	ask_free(q);
	if (ac)
		redisAsyncFree(ac);
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
	struct sentinel_addr at = { .port = u->port };
	redisContext *c;
	uint64_t gen;
	char db[16];

	snprintf(at.host, sizeof at.host, "%s", u->host);
	if (u->sentinel && (sentinel_resolve(u->sentinel, timeout_s, err, errlen) < 0 ||
			    !sentinel_master(u->sentinel, &at, &gen)))
		return NULL;
	c = redisConnectWithTimeout(at.host, at.port, limit);
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
	    (u->db && !sync_ok(c, 2, (const char *[]){ "SELECT", db }, "SELECT", err, errlen))) {
		redisFree(c);
		return NULL;
	}
	return c;
}
