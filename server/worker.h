/*
 * Workers: one thread and one event_base each, with its own SO_REUSEPORT
 * socket for every listener, so the kernel spreads clients over workers and
 * no state is shared on the per-packet path (DESIGN.md s4).
 */
#ifndef TERN_SERVER_WORKER_H
#define TERN_SERVER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "relay/binding.h"
#include "relay/relay.h"
#include "server/config.h"
#include "server/counters.h"
#include "server/limits.h"

/* One address to listen on, shared read-only by every worker. */
struct listener_spec {
	enum transport tp;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct stun_addr local; /* addr, as the cores see it */
	struct binding_config binding;
};

/* The process: built by main before the workers start, read-only after. */
struct server {
	const struct config *cfg;
	struct listener_spec spec[LISTENERS_MAX];
	int n_spec;
	/* NULL when TLS (DTLS) is off. SIGHUP may swap in a context with a new
	 * certificate (main thread); the one it replaced lives on until the
	 * next swap or exit, for a worker that had just read it (tls_reload) */
	SSL_CTX *_Atomic tls;
	SSL_CTX *_Atomic dtls;
	SSL_CTX *tls_old, *dtls_old;
	/* TURN: NULL auth means STUN only (no credentials configured) */
	struct relay_config relay;
	bool turn;
	struct quota *quota;
	struct reserve *reserve; /* EVEN-PORT held ports, all workers */
	struct auth *auth;
	struct policy *policy;
	struct xdp *xdp; /* the kernel fast path, or NULL (server/xdp.h) */
	struct tcp_hub *tcp;     /* RFC 6062 peer connections, all workers */
	struct srclimit *streams; /* stream connections per source, all workers */
	struct wg *wg;           /* the WireGuard responder's thread, or NULL */
	struct handover *handover; /* WireGuard through TURN: with wg and TURN */
	struct store *store;     /* on the main loop; NULL until run() opens it */
	_Atomic bool draining;   /* SIGUSR1: no new allocations here */
	struct event_base *base; /* the main loop's */
	struct event *drain_tick;
	struct worker *workers[WORKERS_MAX];
	int n_workers;
};

struct udp_sock;
struct stream_listener;
struct dtls_listener;
struct stream_conn;
struct udp_batch;
struct peer_table;
struct quota;
struct reserve;
struct tcp_hub;
struct srclimit;
struct wg;
struct handover;
struct wsconn_table;
struct tcp_attempt;
struct store;
struct records;

struct worker {
	int id;
	const struct server *srv;
	struct event_base *base;
	pthread_t thread;
	struct counters counters;
	struct udp_batch *batch;
	struct relay *engine; /* this worker's allocations; NULL without TURN */
	struct relay_config relay; /* srv->relay, with this worker's shard */
	struct relay_ops ops;
	struct tcp_attempt *tcp_attempts; /* RFC 6062 connects in progress */
	struct records *records;   /* allocation records in Redis, or NULL */
	struct peer_table *peers;
	struct event *tick;
	/* how late the loop ran a 1 s timer, last time, in microseconds (the
	 * worker writes, the stats endpoint reads) */
	struct event *probe;
	uint64_t probe_last_us;
	_Atomic uint64_t loop_lag_us;
	struct srclog *srclog; /* bad input, logged by source (srclog.h) */
	struct event *handover_ev; /* the responder's answers (handover.h), or NULL */
	int udp_fd[LISTENERS_MAX]; /* by listener spec index, -1 if not UDP */
	struct udp_sock *udp[LISTENERS_MAX];
	int n_udp;
	struct stream_listener *stream[LISTENERS_MAX];
	int n_stream;
	struct dtls_listener *dtls[LISTENERS_MAX];
	int n_dtls;
	struct stream_conn *conns; /* open stream connections, owned by stream.c */
	struct wsconn_table *ws_table; /* WebSocket /wg connections by id (wsconn.c) */
	int n_conns;
};

/*
 * Create a worker and open its sockets (in the calling thread, so a bind
 * error surfaces before anything runs). Returns NULL with err filled.
 */
struct worker *worker_new(const struct server *srv, int id, char *err, size_t errlen);
/* Start the worker's thread; it runs its event loop until worker_stop. */
int worker_start(struct worker *w);
/* Ask the loop to exit (thread-safe) and join the thread. */
void worker_stop(struct worker *w);
void worker_free(struct worker *w);

/* The fd of this worker's UDP socket for listener spec i, or -1. */
static inline int worker_udp_fd(const struct worker *w, uint16_t i)
{
	return i < LISTENERS_MAX ? w->udp_fd[i] : -1;
}

/* What a reload changes in the workers (SIGHUP). */
struct worker_limits {
	const struct policy *policy; /* the new peer policy */
	uint64_t max_bps, capacity_bps; /* as in struct relay_config */
	uint64_t log_repeat_ms;
};

/*
 * Each worker takes l in its own thread, between two events, so nothing it
 * relays sees half of it. Once all have, done(arg) runs on main (the old
 * policy can go then). Returns 0, or -1 (no memory: nothing changed).
 */
int workers_set_limits(struct server *srv, struct event_base *main,
		       const struct worker_limits *l, void (*done)(void *arg), void *arg);

/* Wall-clock milliseconds, as cached by the event loop for this round. */
uint64_t worker_now_ms(struct worker *w);

/* The worker's UDP socket bound to exactly this address, or NULL. */
struct udp_sock *worker_udp_for(const struct worker *w, const struct stun_addr *a);

#endif
