/*
 * The lanes between the TURN workers and the WireGuard responder (see
 * handover.h). A record is a struct handover_msg, then the datagram.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/handover.h"
#include "server/limits.h"

enum {
	LANE_BYTES = 2 << 20, /* each way, per worker: about a socket buffer */
	MSG = (sizeof(struct handover_msg) + 7) & ~(size_t)7,
};

struct handover {
	int n;
	int responder_fd;
	struct handover_lane up[WORKERS_MAX], down[WORKERS_MAX];
};

/* One writer: a plain add, published for the stats thread. */
static void bump(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

struct handover *handover_new(int n_workers)
{
	struct handover *h;
	int e;

	if (n_workers < 1 || n_workers > WORKERS_MAX || !(h = calloc(1, sizeof *h))) {
		errno = n_workers < 1 || n_workers > WORKERS_MAX ? EINVAL : ENOMEM;
		return NULL;
	}
	h->responder_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	for (int i = 0; i < n_workers; i++)
		h->up[i].efd = h->down[i].efd = -1;
	h->n = n_workers;
	if (h->responder_fd < 0)
		goto fail;
	for (int i = 0; i < n_workers; i++) {
		h->up[i].efd = h->responder_fd;
		h->down[i].efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (h->down[i].efd < 0 || ring_init(&h->up[i].ring, LANE_BYTES) < 0 ||
		    ring_init(&h->down[i].ring, LANE_BYTES) < 0)
			goto fail;
	}
	return h;
fail:
	e = errno ? errno : ENOMEM;
	handover_free(h);
	errno = e;
	return NULL;
}

void handover_free(struct handover *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->n; i++) {
		ring_free(&h->up[i].ring);
		ring_free(&h->down[i].ring);
		if (h->down[i].efd >= 0)
			close(h->down[i].efd);
	}
	if (h->responder_fd >= 0)
		close(h->responder_fd);
	free(h);
}

int handover_workers(const struct handover *h)
{
	return h->n;
}

struct handover_lane *handover_up(struct handover *h, int worker)
{
	return &h->up[worker];
}

struct handover_lane *handover_down(struct handover *h, int worker)
{
	return &h->down[worker];
}

int handover_responder_fd(const struct handover *h)
{
	return h->responder_fd;
}

bool handover_push(struct handover_lane *l, const struct handover_msg *m,
		   const uint8_t *p, size_t len)
{
	uint8_t *rec = ring_reserve(&l->ring, MSG + len);

	if (!rec) {
		bump(&l->full);
		return false;
	}
	memcpy(rec, m, sizeof *m);
	memcpy(rec + MSG, p, len);
	ring_commit(&l->ring);
	bump(&l->sent[m->kind < HO_KINDS ? m->kind : HO_TURN]);
	l->pending = true;
	return true;
}

void handover_wake(struct handover_lane *l)
{
	uint64_t one = 1;

	if (!l->pending)
		return;
	l->pending = false;
	/* fails only when the counter is at its maximum: the consumer is awake */
	if (write(l->efd, &one, sizeof one) < 0)
		return;
}

const uint8_t *handover_peek(struct handover_lane *l, struct handover_msg *m, size_t *len)
{
	size_t n;
	const uint8_t *rec = ring_peek(&l->ring, &n);

	if (!rec)
		return NULL;
	memcpy(m, rec, sizeof *m);
	*len = n - MSG;
	return rec + MSG;
}

void handover_pop(struct handover_lane *l)
{
	ring_pop(&l->ring);
}

void handover_lost(struct handover_lane *l)
{
	bump(&l->lost);
}

void handover_clear(int efd)
{
	uint64_t n;

	if (read(efd, &n, sizeof n) < 0)
		return; /* EAGAIN: another consumer pass already reset it */
}

void handover_totals(const struct handover *h, struct handover_totals *t)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < h->n; i++) {
		for (int k = 0; k < HO_KINDS; k++) {
			t->to_responder[k] +=
				atomic_load_explicit(&h->up[i].sent[k], memory_order_relaxed);
			t->to_client[k] +=
				atomic_load_explicit(&h->down[i].sent[k], memory_order_relaxed);
		}
		t->full_up += atomic_load_explicit(&h->up[i].full, memory_order_relaxed);
		t->full_down += atomic_load_explicit(&h->down[i].full, memory_order_relaxed);
		t->lost += atomic_load_explicit(&h->up[i].lost, memory_order_relaxed) +
			   atomic_load_explicit(&h->down[i].lost, memory_order_relaxed);
	}
}
