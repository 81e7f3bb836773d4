/*
 * Where the Redis master is, from the sentinels (see sentinel.h): a round
 * of questions on the main loop, the +switch-master subscription, and the
 * master's address that connections on every thread read.
 *
 * A round asks the sentinels in turn, starting with the one that answered
 * last, one question at a time: get-master-addr-by-name, then ROLE of the
 * node named. The first node that says "master" is published, and every
 * watcher is woken. A +switch-master message skips the first question.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "server/log.h"
#include "store/rconn.h"
#include "store/sentinel.h"

#define SWITCH_CHANNEL "+switch-master"

struct sentinel {
	_Atomic int refs;
	struct sentinel_list list;
	char name[SENTINEL_NAME_MAX + 1];
	struct redis_url to_sentinel; /* redis-sentinel-password; no host of its own */
	struct redis_url to_master;   /* redis-url's user, password and db */

	pthread_mutex_t lock; /* the master and the watchers: any thread */
	struct sentinel_addr master; /* the last published, kept when unknown */
	bool known, ever;
	uint64_t gen;
	struct event *watch[SENTINEL_WATCH_MAX];
	int n_watch;
	struct event *wake; /* sentinel_lost() asks for a round; NULL once closed */
	_Atomic uint64_t failovers;

	/* the main loop's */
	struct event_base *base;
	struct rconn_ask *q;       /* the question in flight */
	int next;                  /* the sentinel asked next */
	int asked;                 /* the one asked last */
	int tried;                 /* questions to sentinels this round */
	struct sentinel_addr cand; /* the node whose ROLE is asked */
	int cand_from;             /* the sentinel that named it; -1: +switch-master */
	char why[640];             /* the round's last failure */
	bool quiet;                /* this outage has been logged */
	int backoff_ms;
	struct event *retry;
	struct rconn *sub;         /* SUBSCRIBE +switch-master, on one sentinel */
	int sub_next;
};

static void ask_next(struct sentinel *s);

/* u's credentials, to at. */
static void url_at(struct redis_url *out, const struct redis_url *u,
		   const struct sentinel_addr *at)
{
	*out = *u;
	snprintf(out->host, sizeof out->host, "%s", at->host);
	out->port = at->port;
}

/* ---- the master, for every thread ----------------------------------------- */

static void publish(struct sentinel *s, const struct sentinel_addr *a)
{
	struct sentinel_addr was;
	bool first, moved, again;

	pthread_mutex_lock(&s->lock);
	was = s->master;
	first = !s->ever;
	moved = s->ever && !sentinel_msg_same(&was, a);
	again = s->ever && !s->known;
	s->master = *a;
	s->known = s->ever = true;
	s->gen++;
	for (int i = 0; i < s->n_watch; i++)
		event_active(s->watch[i], EV_TIMEOUT, 0);
	pthread_mutex_unlock(&s->lock);
	if (moved) {
		atomic_fetch_add(&s->failovers, 1);
		log_warn("redis: sentinels: master %s moved from %s:%u to %s:%u", s->name, was.host,
			 (unsigned)was.port, a->host, (unsigned)a->port);
	} else if (first || (again && s->quiet)) {
		log_info("redis: sentinels: master %s is %s:%u", s->name, a->host, (unsigned)a->port);
	}
	s->quiet = false;
	s->backoff_ms = SENTINEL_RETRY_MIN_MS;
}

bool sentinel_master(struct sentinel *s, struct sentinel_addr *out, uint64_t *gen)
{
	bool known;

	pthread_mutex_lock(&s->lock);
	known = s->known;
	if (known) {
		*out = s->master;
		*gen = s->gen;
	}
	pthread_mutex_unlock(&s->lock);
	return known;
}

bool sentinel_known(struct sentinel *s)
{
	struct sentinel_addr a;
	uint64_t gen;

	return sentinel_master(s, &a, &gen);
}

void sentinel_lost(struct sentinel *s, uint64_t gen)
{
	pthread_mutex_lock(&s->lock);
	if (s->known && gen == s->gen) {
		s->known = false;
		if (s->wake)
			event_active(s->wake, EV_TIMEOUT, 0);
	}
	pthread_mutex_unlock(&s->lock);
}

int sentinel_watch(struct sentinel *s, struct event *ev)
{
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	if (s->n_watch < SENTINEL_WATCH_MAX) {
		s->watch[s->n_watch++] = ev;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void sentinel_unwatch(struct sentinel *s, struct event *ev)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_watch; i++) {
		if (s->watch[i] == ev) {
			s->watch[i] = s->watch[--s->n_watch];
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

uint64_t sentinel_failovers(const struct sentinel *s)
{
	return atomic_load(&s->failovers);
}

const char *sentinel_name(const struct sentinel *s)
{
	return s->name;
}

/* ---- a round of questions, on the main loop --------------------------------- */

static void round_failed(struct sentinel *s)
{
	struct timeval tv = { s->backoff_ms / 1000, (s->backoff_ms % 1000) * 1000 };

	if (!s->quiet)
		log_warn("redis: sentinels: no master %s found (%s); asking again until one is",
			 s->name, s->why);
	else
		log_debug("redis: sentinels: no master %s found (%s)", s->name, s->why);
	s->quiet = true;
	evtimer_add(s->retry, &tv);
	s->backoff_ms = s->backoff_ms * 2 > SENTINEL_RETRY_MAX_MS ? SENTINEL_RETRY_MAX_MS
								   : s->backoff_ms * 2;
}

static void round_start(struct sentinel *s)
{
	if (s->q)
		return; /* the round in flight publishes what it finds */
	evtimer_del(s->retry);
	s->tried = 0;
	ask_next(s);
}

static void on_role(void *arg, const redisReply *r, const char *why)
{
	struct sentinel *s = arg;

	s->q = NULL;
	if (sentinel_msg_role_master(r)) {
		if (s->cand_from >= 0)
			s->next = s->cand_from; /* it was right: ask it first next time */
		publish(s, &s->cand);
		return;
	}
	snprintf(s->why, sizeof s->why, "%s:%u, named by %s, %s", s->cand.host,
		 (unsigned)s->cand.port, s->cand_from < 0 ? SWITCH_CHANNEL : "a sentinel",
		 !r ? why : r->type == REDIS_REPLY_ERROR ? "refused ROLE" : "is not a master");
	if (r && !s->quiet) /* it answered: a stale sentinel, worth a line */
		log_info("redis: sentinels: %s", s->why);
	else
		log_debug("redis: sentinels: %s", s->why);
	ask_next(s);
}

/* Is cand the master? from: the sentinel that said so, or -1. */
static void check(struct sentinel *s, const struct sentinel_addr *cand, int from)
{
	s->cand = *cand;
	s->cand_from = from;
	s->q = rconn_ask(s->base, &s->to_master, cand, 1, (const char *[]){ "ROLE" },
			 SENTINEL_ASK_MS, on_role, s);
	if (!s->q) {
		snprintf(s->why, sizeof s->why, "out of memory");
		round_failed(s);
	}
}

static void on_answer(void *arg, const redisReply *r, const char *why)
{
	struct sentinel *s = arg;
	const struct sentinel_addr *at = &s->list.at[s->asked];
	struct sentinel_addr cand;

	s->q = NULL;
	if (sentinel_msg_master(r, &cand)) {
		check(s, &cand, s->asked);
		return;
	}
	snprintf(s->why, sizeof s->why, "sentinel %s:%u: %s", at->host, (unsigned)at->port,
		 !r ? why : r->type == REDIS_REPLY_NIL ? "does not know the name"
			: r->type == REDIS_REPLY_ERROR ? "refused the question" : "a bad answer");
	log_debug("redis: sentinels: %s", s->why);
	ask_next(s);
}

static void ask_next(struct sentinel *s)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", s->name };

	if (s->tried >= s->list.n) {
		round_failed(s);
		return;
	}
	s->asked = s->next;
	s->next = (s->next + 1) % s->list.n;
	s->tried++;
	s->q = rconn_ask(s->base, &s->to_sentinel, &s->list.at[s->asked], 3, argv,
			 SENTINEL_ASK_MS, on_answer, s);
	if (!s->q) {
		snprintf(s->why, sizeof s->why, "out of memory");
		round_failed(s);
	}
}

static void sentinel_on_retry(evutil_socket_t fd, short what, void *arg)
{
	round_start(arg);
}

static void sentinel_on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;

	if (!sentinel_known(s))
		round_start(s);
}

/* ---- +switch-master ----------------------------------------------------------- */

static void on_message(redisAsyncContext *ac, void *reply, void *arg)
{
	struct sentinel *s = arg;
	const redisReply *r = reply;
	struct sentinel_addr to;

	/* ["message", channel, payload]; the subscribe confirmation is ignored */
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") ||
	    r->element[2]->type != REDIS_REPLY_STRING ||
	    !sentinel_msg_switch(r->element[2]->str, r->element[2]->len, s->name, &to))
		return;
	log_info("redis: sentinels: %s %s to %s:%u", SWITCH_CHANNEL, s->name, to.host,
		 (unsigned)to.port);
	if (s->q) /* the freshest news wins over a round in flight */
		rconn_ask_cancel(s->q);
	evtimer_del(s->retry);
	s->tried = 0;
	check(s, &to, -1);
}

/* The subscription goes to each sentinel in turn, one per attempt. */
static bool sub_where(void *ctx, struct sentinel_addr *at)
{
	struct sentinel *s = ctx;

	*at = s->list.at[s->sub_next];
	s->sub_next = (s->sub_next + 1) % s->list.n;
	return true;
}

static void on_sub_up(void *ctx, redisAsyncContext *ac)
{
	struct sentinel *s = ctx;

	redisAsyncCommandArgv(ac, on_message, s, 2, (const char *[]){ "SUBSCRIBE", SWITCH_CHANNEL },
			      NULL);
	round_start(s); /* a switch may have gone by while nobody listened */
}

/* ---- blocking, before the loop ------------------------------------------------ */

/* Ask sentinel i; true with its answer in cand. */
static bool sync_ask(struct sentinel *s, int i, int timeout_s, struct sentinel_addr *cand,
		     char *err, size_t errlen)
{
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", s->name };
	struct redis_url u;
	redisContext *c;
	redisReply *r;
	bool ok;

	url_at(&u, &s->to_sentinel, &s->list.at[i]);
	c = rconn_sync(&u, timeout_s, err, errlen);
	explicit_bzero(&u, sizeof u);
	if (!c)
		return false;
	r = redisCommandArgv(c, 3, argv, NULL);
	ok = sentinel_msg_master(r, cand);
	if (!ok)
		snprintf(err, errlen, "%s", !r ? "no answer" : r->type == REDIS_REPLY_NIL
						 ? "it does not know the name" : "a bad answer");
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

static bool sync_role(struct sentinel *s, const struct sentinel_addr *cand, int timeout_s,
		      char *err, size_t errlen)
{
	struct redis_url u;
	redisContext *c;
	redisReply *r;
	bool ok;

	url_at(&u, &s->to_master, cand);
	c = rconn_sync(&u, timeout_s, err, errlen);
	explicit_bzero(&u, sizeof u);
	if (!c)
		return false;
	r = redisCommandArgv(c, 1, (const char *[]){ "ROLE" }, NULL);
	ok = sentinel_msg_role_master(r);
	if (!ok)
		snprintf(err, errlen, "%s:%u, named by a sentinel, %s", cand->host,
			 (unsigned)cand->port, r ? "is not a master" : "no answer to ROLE");
	if (!ok && r)
		log_info("redis: sentinels: %s", err);
	freeReplyObject(r);
	redisFree(c);
	return ok;
}

int sentinel_resolve(struct sentinel *s, int timeout_s, char *err, size_t errlen)
{
	char why[640] = "";

	/* one hung sentinel must not hold the start for long */
	if (timeout_s > SENTINEL_ASK_MS / 1000)
		timeout_s = SENTINEL_ASK_MS / 1000;
	for (int k = 0; !sentinel_known(s) && k < s->list.n; k++) {
		int i = (s->next + k) % s->list.n;
		struct sentinel_addr cand;

		if (sync_ask(s, i, timeout_s, &cand, why, sizeof why) &&
		    sync_role(s, &cand, timeout_s, why, sizeof why)) {
			s->next = i;
			publish(s, &cand);
		}
		if (!sentinel_known(s))
			log_debug("redis: sentinel %s:%u: %s", s->list.at[i].host,
				  (unsigned)s->list.at[i].port, why);
	}
	if (sentinel_known(s))
		return 0;
	snprintf(err, errlen, "no master %s from %d sentinel%s (the last: %s)", s->name,
		 s->list.n, s->list.n == 1 ? "" : "s", why);
	return -1;
}

/* ---- life --------------------------------------------------------------------- */

struct sentinel *sentinel_ref(struct sentinel *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void sentinel_unref(struct sentinel *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&s->lock);
	explicit_bzero(s, sizeof *s); /* the passwords */
	free(s);
}

static int start(struct sentinel *s, struct event_base *base)
{
	s->base = base;
	s->wake = event_new(base, -1, 0, sentinel_on_wake, s);
	s->retry = evtimer_new(base, sentinel_on_retry, s);
	if (!s->wake || !s->retry)
		return -1;
	s->sub = rconn_new(base, &s->to_sentinel, "sentinel subscription", false,
			   &(struct rconn_cb){ .ctx = s, .up = on_sub_up, .where = sub_where });
	if (!s->sub)
		return -1;
	round_start(s);
	return 0;
}

struct sentinel *sentinel_new(struct event_base *base, const char *list, const char *name,
			      const char *password, const struct redis_url *master, char *err,
			      size_t errlen)
{
	struct sentinel *s = calloc(1, sizeof *s);

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->lock, NULL);
	if (sentinel_msg_list(list, &s->list, err, errlen) < 0) {
		sentinel_unref(s);
		return NULL;
	}
	if (!name || !sentinel_msg_name_ok(name)) {
		snprintf(err, errlen, !name || !*name ? "redis-sentinel needs redis-master-name"
				      : "redis-master-name: not 1-%d printable characters without "
					"blanks", SENTINEL_NAME_MAX);
		sentinel_unref(s);
		return NULL;
	}
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->to_sentinel.password, sizeof s->to_sentinel.password, "%s",
		 password ? password : "");
	s->to_master = *master;
	s->to_master.sentinel = NULL; /* its own address: never asked of us again */
	s->backoff_ms = SENTINEL_RETRY_MIN_MS;
	if (base && start(s, base) < 0) {
		snprintf(err, errlen, "out of memory");
		sentinel_close(s);
		return NULL;
	}
	return s;
}

void sentinel_close(struct sentinel *s)
{
	struct event *wake;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	wake = s->wake;
	s->wake = NULL; /* sentinel_lost() from another thread no longer wakes us */
	pthread_mutex_unlock(&s->lock);
	if (wake)
		event_free(wake);
	if (s->q)
		rconn_ask_cancel(s->q);
	s->q = NULL;
	rconn_free(s->sub);
	s->sub = NULL;
	if (s->retry)
		event_free(s->retry);
	s->retry = NULL;
	sentinel_unref(s);
}
