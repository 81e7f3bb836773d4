/*
 * Worker threads. Sockets are opened in worker_new, in the main thread, so
 * that a port in use or a bad address fails start-up before any thread runs;
 * from worker_start on, everything a worker owns is touched only by its own
 * thread, until worker_stop has joined it.
 */
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/stream.h"
#include "server/udp.h"
#include "server/worker.h"

static int open_listeners(struct worker *w, char *err, size_t errlen)
{
	const struct server *srv = w->srv;

	for (int i = 0; i < srv->n_spec; i++) {
		const struct listener_spec *ls = &srv->spec[i];

		if (ls->tp == TP_UDP) {
			w->udp[w->n_udp] = udp_open(w, w->batch, ls, err, errlen);
			if (!w->udp[w->n_udp])
				return -1;
			w->n_udp++;
		} else {
			w->stream[w->n_stream] = stream_listen(w, ls, err, errlen);
			if (!w->stream[w->n_stream])
				return -1;
			w->n_stream++;
		}
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
	w->base = event_base_new();
	w->batch = udp_batch_new();
	if (!w->base || !w->batch) {
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
	event_base_loopbreak(w->base);
	pthread_join(w->thread, NULL);
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	stream_close_all(w);
	for (int i = 0; i < w->n_stream; i++)
		stream_listener_free(w->stream[i]);
	for (int i = 0; i < w->n_udp; i++)
		udp_close(w->udp[i]);
	udp_batch_free(w->batch);
	if (w->base)
		event_base_free(w->base);
	free(w);
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
