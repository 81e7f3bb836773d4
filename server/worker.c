/*
 * Worker threads. Sockets are opened in worker_new, in the main thread, so
 * that a port in use or a bad address fails start-up before any thread runs;
 * from worker_start on, everything a worker owns is touched only by its own
 * thread, until worker_stop has joined it.
 */
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include <openssl/crypto.h>

#include "server/dtls.h"
#include "server/handover.h"
#include "server/wsconn.h"
#include "server/log.h"
#include "server/peer.h"
#include "server/quota.h"
#include "server/reserve.h"
#include "server/srclog.h"
#include "server/stream.h"
#include "server/tcprelay.h"
#include "server/udp.h"
#include "server/worker.h"
#include "server/xdp.h"
#include "store/store.h"

static int open_listeners(struct worker *w, char *err, size_t errlen)
{
	const struct server *srv = w->srv;

	for (int i = 0; i < srv->n_spec; i++) {
		const struct listener_spec *ls = &srv->spec[i];

		if (ls->tp == TP_UDP) {
			w->udp[w->n_udp] = udp_open(w, w->batch, ls, err, errlen);
			if (!w->udp[w->n_udp])
				return -1;
			w->udp_fd[i] = udp_fd(w->udp[w->n_udp]);
			w->n_udp++;
		} else if (ls->tp == TP_DTLS) {
			w->dtls[w->n_dtls] = dtls_listen(w, ls, err, errlen);
			if (!w->dtls[w->n_dtls])
				return -1;
			w->n_dtls++;
		} else {
			w->stream[w->n_stream] = stream_listen(w, ls, err, errlen);
			if (!w->stream[w->n_stream])
				return -1;
			w->n_stream++;
		}
	}
	return 0;
}

static int ops_open(void *ctx, uint32_t id, const struct stun_addr *bind, bool df)
{
	return peer_open(ctx, id, bind, df);
}

static void ops_close(void *ctx, int handle)
{
	peer_close(ctx, handle);
}

static int ops_reserve(void *ctx, const struct stun_addr *bind, const uint8_t token[8],
		       uint64_t now)
{
	return peer_reserve(ctx, bind, token, now);
}

static int ops_redeem(void *ctx, uint32_t id, const uint8_t token[8], bool df,
		      uint64_t now, struct stun_addr *bound)
{
	return peer_redeem(ctx, id, token, df, now, bound);
}

static bool ops_quota_take(void *ctx, const uint8_t *user, size_t len)
{
	struct worker *w = ctx;

	return quota_take(w->srv->quota, user, len);
}

static void ops_quota_give(void *ctx, const uint8_t *user, size_t len)
{
	struct worker *w = ctx;

	quota_give(w->srv->quota, user, len);
}

/*
 * Refuse new Allocates while a required Redis is away; when this node is
 * full or draining, send them to the least loaded other node of the fleet,
 * if there is one.
 */
static int ops_admit(void *ctx, const struct relay_key *k, bool table_full,
		     struct stun_addr *alt, const char **domain)
{
	const struct worker *w = ctx;
	const struct server *srv = w->srv;

	bool alternate;

	if (srv->cfg->redis_required && store_state(srv->store) != STORE_UP)
		return STUN_ERR_INSUFFICIENT_CAPACITY;
	if (!table_full && !store_full(srv))
		return 0;
	alternate = store_alternate(srv->store, srv->spec[k->listener].tp, k->client.family, alt);
	if (alternate) {
		enum transport tp = srv->spec[k->listener].tp;

		/* RFC 8489 s14.16: a TLS client checks the next node's certificate */
		if ((tp == TP_TLS || tp == TP_DTLS) && srv->cfg->alternate_domain &&
		    *srv->cfg->alternate_domain)
			*domain = srv->cfg->alternate_domain;
		return STUN_ERR_TRY_ALTERNATE;
	}
	/* draining takes nothing new; merely full, the engine answers 486/508 */
	return atomic_load(&srv->draining) ? STUN_ERR_INSUFFICIENT_CAPACITY : 0;
}

/* A channel for the kernel fast path to mirror. */
static void ops_channel(void *ctx, const struct relay_channel *c)
{
	const struct worker *w = ctx;

	xdp_channel(w->srv->xdp, &w->srv->spec[c->key.listener].local, c);
}

/* What the kernel fast path relayed for it, for the allocation's totals. */
static void ops_channel_counts(void *ctx, const struct relay_channel *c, uint64_t packets[2],
			       uint64_t bytes[2])
{
	const struct worker *w = ctx;

	xdp_channel_counts(w->srv->xdp, &w->srv->spec[c->key.listener].local, c, packets,
			   bytes);
}

static void ops_random(void *ctx, void *buf, size_t len)
{
	/* getrandom() on a booted kernel never blocks nor fails for <= 256 */
	if (getrandom(buf, len, 0) != (ssize_t)len)
		abort();
}

static void worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	uint64_t now = worker_now_ms(w);

	relay_tick(w->engine, now);
	if (w->id == 0) /* one sweeper is enough for the shared table */
		reserve_expire(w->srv->reserve, now);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Every second: how much later than a second after the last one it ran. */
static void worker_on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = mono_us(), due = w->probe_last_us + 1000000;

	atomic_store_explicit(&w->loop_lag_us, w->probe_last_us && now > due ? now - due : 0,
			      memory_order_relaxed);
	w->probe_last_us = now;
	srclog_tick(w->srclog, worker_now_ms(w));
}

static void srclog_to_log(void *ctx, const char *line)
{
	(void)ctx;
	log_info("%s", line);
}

uint64_t worker_now_ms(struct worker *w)
{
	struct timeval tv;

	event_base_gettimeofday_cached(w->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* The TURN engine, its relay sockets and its once-a-second expiry. */
static int start_engine(struct worker *w, char *err, size_t errlen)
{
	static const struct timeval second = { 1, 0 };
	uint32_t max = w->srv->relay.max_allocations;

	w->ops = (struct relay_ops){
		.ctx = w, .open = ops_open, .close = ops_close,
		.reserve = ops_reserve, .redeem = ops_redeem,
		.quota_take = ops_quota_take, .quota_give = ops_quota_give,
		.random = ops_random,
	};
	if (!w->srv->cfg->no_tcp_relay)
		tcprelay_ops(&w->ops);
	w->ops.admit = ops_admit;
	if (w->srv->xdp) {
		w->ops.channel = ops_channel;
		w->ops.channel_counts = ops_channel_counts;
	}
	w->relay = w->srv->relay;
	w->relay.shard = (uint8_t)w->id;
	/* two families per allocation, plus held EVEN-PORT reservations */
	w->peers = peer_table_new(2 * max + 256);
	w->engine = w->peers ? relay_new(&w->relay, &w->ops) : NULL;
	w->tick = event_new(w->base, -1, EV_PERSIST, worker_on_tick, w);
	if (!w->engine || !w->tick || event_add(w->tick, &second) < 0) {
		snprintf(err, errlen, "worker %d: cannot make a TURN engine for %u "
			 "allocations: out of memory", w->id, max);
		return -1;
	}
	return 0;
}

struct worker *worker_new(const struct server *srv, int id, char *err, size_t errlen)
{
	struct worker *w = calloc(1, sizeof *w);

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->id = id;
	w->srv = srv;
	for (int i = 0; i < LISTENERS_MAX; i++)
		w->udp_fd[i] = -1;
	w->base = event_base_new();
	w->batch = udp_batch_new();
	w->srclog = srclog_new((uint64_t)srv->cfg->log_repeat_interval * 1000, srclog_to_log,
			       NULL);
	if (!w->base || !w->batch || !w->srclog) {
		snprintf(err, errlen, "worker %d: out of memory", id);
		goto fail;
	}
	if (srv->turn && start_engine(w, err, errlen) < 0)
		goto fail;
	w->probe = event_new(w->base, -1, EV_PERSIST, worker_on_probe, w);
	if (!w->probe || event_add(w->probe, &(struct timeval){ 1, 0 }) < 0) {
		snprintf(err, errlen, "worker %d: out of memory", id);
		goto fail;
	}
	/* the responder's answers to this worker's TURN and WebSocket clients */
	if (srv->handover &&
	    (!(w->handover_ev = event_new(w->base, handover_down(srv->handover, id)->efd,
					  EV_READ | EV_PERSIST, peer_on_handover, w)) ||
	     event_add(w->handover_ev, NULL) < 0)) {
		snprintf(err, errlen, "worker %d: out of memory", id);
		goto fail;
	}
	if (open_listeners(w, err, errlen) < 0)
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int worker_start(struct worker *w)
{
	return -pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
	static const struct timeval grace = { 1, 0 };

	/* with Redis: the last changes first, a second at most */
	if (w->records && store_records_finish(w) == 0)
		event_base_loopexit(w->base, &grace);
	else
		event_base_loopbreak(w->base);
	pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	stream_close_all(w);
	for (int i = 0; i < w->n_dtls; i++)
		dtls_listener_free(w->dtls[i]);
	store_records_stop(w);
	relay_free(w->engine); /* closes its relay sockets through peer_close */
	tcprelay_free_attempts(w);
	OPENSSL_cleanse(w->relay.nonce_secret, sizeof w->relay.nonce_secret);
	peer_table_free(w->peers);
	if (w->tick)
		event_free(w->tick);
	if (w->handover_ev)
		event_free(w->handover_ev);
	if (w->probe)
		event_free(w->probe);
	wsconn_table_free(w);
	for (int i = 0; i < w->n_stream; i++)
		stream_listener_free(w->stream[i]);
	for (int i = 0; i < w->n_udp; i++)
		udp_close(w->udp[i]);
	udp_batch_free(w->batch);
	srclog_free(w->srclog);
	if (w->base)
		event_base_free(w->base);
	free(w);
}

/* ---- SIGHUP's limits ----------------------------------------------------------- */

struct limits_job {
	struct worker_limits l;
	_Atomic int left;
	struct event_base *main;
	void (*done)(void *arg);
	void *arg;
	struct limits_slot {
		struct limits_job *job;
		struct worker *w;
	} slot[];
};

static void limits_done(evutil_socket_t fd, short what, void *arg)
{
	struct limits_job *job = arg;

	if (job->done)
		job->done(job->arg);
	free(job);
}

static void limits_apply(evutil_socket_t fd, short what, void *arg)
{
	struct limits_slot *s = arg;
	struct limits_job *job = s->job;
	struct worker *w = s->w;

	w->relay.policy = job->l.policy;
	w->relay.max_bps = job->l.max_bps;
	w->relay.capacity_bps = job->l.capacity_bps;
	srclog_set_interval(w->srclog, job->l.log_repeat_ms);
	if (atomic_fetch_sub(&job->left, 1) == 1 &&
	    event_base_once(job->main, -1, EV_TIMEOUT, limits_done, job, NULL) < 0)
		limits_done(-1, 0, job); /* cannot happen without memory: finish here */
}

int workers_set_limits(struct server *srv, struct event_base *main,
		       const struct worker_limits *l, void (*done)(void *arg), void *arg)
{
	struct limits_job *job = calloc(1, sizeof *job + (size_t)srv->n_workers *
							  sizeof job->slot[0]);

	if (!job)
		return -1;
	*job = (struct limits_job){ .l = *l, .left = srv->n_workers + 1, .main = main,
				    .done = done, .arg = arg };
	for (int i = 0; i < srv->n_workers; i++) {
		job->slot[i] = (struct limits_slot){ job, srv->workers[i] };
		if (event_base_once(srv->workers[i]->base, -1, EV_TIMEOUT, limits_apply,
				    &job->slot[i], NULL) < 0)
			limits_apply(-1, 0, &job->slot[i]); /* out of memory: take it from here */
	}
	/* the +1: no worker finishes the job before all are sent it */
	if (atomic_fetch_sub(&job->left, 1) == 1)
		limits_done(-1, 0, job);
	return 0;
}

struct udp_sock *worker_udp_for(const struct worker *w, const struct stun_addr *a)
{
	for (int i = 0; i < w->n_udp; i++) {
		const struct listener_spec *ls = udp_spec(w->udp[i]);

		if (ls->local.family == a->family && ls->local.port == a->port &&
		    memcmp(ls->local.ip, a->ip, sizeof a->ip) == 0)
			return w->udp[i];
	}
	return NULL;
}
