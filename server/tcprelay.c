/*
 * RFC 6062 in the shell: outgoing connects, accepted peer connections, the
 * shared table of pending ones, and the relay_ops the engine calls.
 *
 * The shared table is a chained hash under one mutex, touched a few times
 * per peer connection's life, never per byte. Closing is ordered so a
 * socket number is never reused under someone's feet: the joining worker
 * removes the entry (under the lock) before it closes the socket, and the
 * owning worker shuts a joined socket down only while holding the lock and
 * finding the entry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/netaddr.h"
#include "server/peer.h"
#include "server/stream.h"
#include "server/tcprelay.h"

enum { HUB_BUCKETS = 4096 };

struct hub_entry {
	uint32_t cid;
	int fd;
	bool joined;
	struct stun_addr origin; /* the control connection's client */
	uint16_t user_len;
	struct hub_entry *next;
	uint8_t user[];
};

struct tcp_hub {
	pthread_mutex_t lock;
	uint32_t n;
	struct hub_entry *bucket[HUB_BUCKETS];
};

/* A connect in progress: the owning worker's own, on its own loop. */
struct tcp_attempt {
	struct worker *w;
	uint32_t cid;
	int fd;
	struct event *ev;
	struct tcp_attempt *next;
};

struct tcp_hub *tcp_hub_new(void)
{
	struct tcp_hub *h = calloc(1, sizeof *h);

	if (h)
		pthread_mutex_init(&h->lock, NULL);
	return h;
}

void tcp_hub_free(struct tcp_hub *h)
{
	if (!h)
		return;
	for (int i = 0; i < HUB_BUCKETS; i++) {
		while (h->bucket[i]) {
			struct hub_entry *e = h->bucket[i];

			h->bucket[i] = e->next;
			if (!e->joined) /* a joined one is its stream's to close */
				close(e->fd);
			free(e);
		}
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static struct hub_entry **slot(struct tcp_hub *h, uint32_t cid)
{
	struct hub_entry **p = &h->bucket[(cid ^ (cid >> 12) ^ (cid >> 24)) % HUB_BUCKETS];

	while (*p && (*p)->cid != cid)
		p = &(*p)->next;
	return p;
}

/* fd waits for a ConnectionBind from user; the table owns it from now on. */
static int hub_put(struct tcp_hub *h, uint32_t cid, int fd, const uint8_t *user,
		   size_t len, const struct stun_addr *origin)
{
	struct hub_entry *e = malloc(sizeof *e + len), **p;
	int rc = 0;

	if (!e)
		return -ENOMEM;
	e->cid = cid;
	e->fd = fd;
	e->joined = false;
	e->origin = *origin;
	e->user_len = (uint16_t)len;
	memcpy(e->user, user, len);
	pthread_mutex_lock(&h->lock);
	p = slot(h, cid);
	if (*p || h->n >= TCP_HUB_MAX) {
		rc = *p ? -EEXIST : -ENOSPC;
	} else {
		e->next = NULL;
		*p = e;
		h->n++;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc)
		free(e);
	return rc;
}

/* ConnectionBind: hand the pending socket to the caller, once. */
static int hub_join(struct tcp_hub *h, uint32_t cid, const uint8_t *user, size_t len,
		    int *fd)
{
	struct hub_entry *e;
	int rc = 0;

	pthread_mutex_lock(&h->lock);
	e = *slot(h, cid);
	if (!e || e->joined)
		rc = -ENOENT;
	else if (e->user_len != len || memcmp(e->user, user, len) != 0)
		rc = -EPERM;
	else {
		e->joined = true;
		*fd = e->fd;
	}
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static bool hub_origin(struct tcp_hub *h, uint32_t cid, struct stun_addr *origin)
{
	struct hub_entry *e;

	pthread_mutex_lock(&h->lock);
	e = *slot(h, cid);
	if (e && !e->joined)
		*origin = e->origin;
	pthread_mutex_unlock(&h->lock);
	return e && !e->joined;
}

static int hub_state(struct tcp_hub *h, uint32_t cid)
{
	struct hub_entry *e;
	int st;

	pthread_mutex_lock(&h->lock);
	e = *slot(h, cid);
	st = !e ? RELAY_TCP_GONE : e->joined ? RELAY_TCP_BOUND : RELAY_TCP_PENDING;
	pthread_mutex_unlock(&h->lock);
	return st;
}

/* The owner closes cid: a pending socket here, a joined one by shutdown. */
static void hub_close(struct tcp_hub *h, uint32_t cid)
{
	struct hub_entry **p, *e;

	pthread_mutex_lock(&h->lock);
	p = slot(h, cid);
	e = *p;
	if (e && e->joined) {
		shutdown(e->fd, SHUT_RDWR); /* its stream sees the end and cleans up */
		e = NULL;
	} else if (e) {
		*p = e->next;
		h->n--;
	}
	pthread_mutex_unlock(&h->lock);
	if (e) {
		close(e->fd);
		free(e);
	}
}

void tcp_hub_remove(struct tcp_hub *h, uint32_t cid)
{
	struct hub_entry **p, *e;

	pthread_mutex_lock(&h->lock);
	p = slot(h, cid);
	e = *p;
	if (e) {
		*p = e->next;
		h->n--;
	}
	pthread_mutex_unlock(&h->lock);
	free(e);
}

/* Hand a connected or accepted peer socket to the table; false: closed. */
static bool publish(struct worker *w, uint32_t cid, int fd)
{
	const uint8_t *user;
	struct stun_addr origin;
	size_t len = 0;

	if (!relay_tcp_owner(w->engine, cid, &user, &len, &origin) ||
	    hub_put(w->srv->tcp, cid, fd, user, len, &origin) < 0) {
		close(fd);
		return false;
	}
	return true;
}

static void attempt_free(struct tcp_attempt *a, bool close_fd)
{
	struct tcp_attempt **p = &a->w->tcp_attempts;

	while (*p && *p != a)
		p = &(*p)->next;
	if (*p)
		*p = a->next;
	event_free(a->ev);
	if (close_fd)
		close(a->fd);
	free(a);
}

static void on_connected(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_attempt *a = arg;
	struct worker *w = a->w;
	uint32_t cid = a->cid;
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	attempt_free(a, false);
	if (err) {
		relay_tcp_connected(w->engine, cid, -err, worker_now_ms(w));
		close(fd);
		return;
	}
	/* in the table before the client can hear of it */
	if (!publish(w, cid, fd)) {
		relay_tcp_connected(w->engine, cid, -ENOMEM, worker_now_ms(w));
		return;
	}
	if (!relay_tcp_connected(w->engine, cid, 0, worker_now_ms(w)))
		hub_close(w->srv->tcp, cid);
}

/*
 * A socket bound to exactly the relayed address, as RFC 6062 s5.2 wants the
 * peer to see it. The listening socket shares its port through SO_REUSEPORT,
 * which it turns on only after its own bind, so no other allocation's
 * listener can ever bind the same port (peer.c).
 */
static int ops_tcp_connect(void *ctx, int handle, uint32_t cid, const struct stun_addr *peer)
{
	struct worker *w = ctx;
	struct sockaddr_storage local, to;
	socklen_t llen = sizeof local, tlen = netaddr_from_stun(peer, &to);
	struct tcp_attempt *a;
	int fd, lfd = peer_fd(w, handle), one = 1, e;

	if (lfd < 0 || getsockname(lfd, (struct sockaddr *)&local, &llen) < 0)
		return -EBADF;
	if (local.ss_family != to.ss_family)
		return -EAFNOSUPPORT;
	fd = peer_tcp_socket(local.ss_family);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&local, llen) < 0 ||
	    (connect(fd, (struct sockaddr *)&to, tlen) < 0 && errno != EINPROGRESS))
		goto fail;
	a = calloc(1, sizeof *a);
	if (!a) {
		errno = ENOMEM;
		goto fail;
	}
	a->w = w;
	a->cid = cid;
	a->fd = fd;
	a->ev = event_new(w->base, fd, EV_WRITE, on_connected, a);
	if (!a->ev || event_add(a->ev, NULL) < 0) {
		if (a->ev)
			event_free(a->ev);
		free(a);
		errno = ENOMEM;
		goto fail;
	}
	a->next = w->tcp_attempts;
	w->tcp_attempts = a;
	return 0;
fail:
	e = errno;
	close(fd);
	/* the pair is taken: by a connection from that peer, not yet accepted */
	return e == EADDRNOTAVAIL || e == EADDRINUSE ? -EEXIST : -e;
}

static void ops_tcp_close(void *ctx, uint32_t cid)
{
	struct worker *w = ctx;

	for (struct tcp_attempt *a = w->tcp_attempts; a; a = a->next) {
		if (a->cid == cid) {
			attempt_free(a, true);
			return;
		}
	}
	hub_close(w->srv->tcp, cid);
}

static int ops_tcp_state(void *ctx, uint32_t cid)
{
	struct worker *w = ctx;

	return hub_state(w->srv->tcp, cid);
}

static int ops_tcp_bind(void *ctx, uint32_t cid, const uint8_t *user, size_t len,
			const struct relay_key *k)
{
	struct worker *w = ctx;
	int fd, rc;

	if (!k->conn)
		return -EINVAL;
	rc = hub_join(w->srv->tcp, cid, user, len, &fd);
	if (rc == 0)
		stream_join(k->conn, cid, fd);
	return rc;
}

static bool ops_tcp_origin(void *ctx, uint32_t cid, struct stun_addr *client)
{
	struct worker *w = ctx;

	return hub_origin(w->srv->tcp, cid, client);
}

static void ops_send(void *ctx, const struct relay_key *k, const uint8_t *msg, size_t len)
{
	if (k->conn)
		conn_send(k->conn, msg, len);
}

static int ops_open_tcp(void *ctx, uint32_t id, const struct stun_addr *bind)
{
	return peer_open_tcp(ctx, id, bind);
}

void tcprelay_ops(struct relay_ops *ops)
{
	ops->open_tcp = ops_open_tcp;
	ops->tcp_connect = ops_tcp_connect;
	ops->tcp_close = ops_tcp_close;
	ops->tcp_state = ops_tcp_state;
	ops->tcp_bind = ops_tcp_bind;
	ops->tcp_origin = ops_tcp_origin;
	ops->send = ops_send;
}

void tcprelay_accepted(struct worker *w, uint32_t id, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct stun_addr peer;
	uint32_t cid;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !netaddr_to_stun((struct sockaddr *)&ss, &peer)) {
		close(fd);
		return;
	}
	cid = relay_tcp_accepted(w->engine, id, &peer, worker_now_ms(w));
	if (!cid) {
		close(fd);
		return;
	}
	/* in the table before the client can hear of it */
	if (publish(w, cid, fd)) {
		uint8_t msg[256];
		size_t n = 0;
		const struct relay_key *k = relay_tcp_announce(w->engine, cid, msg, sizeof msg, &n);

		if (k && k->conn)
			conn_send(k->conn, msg, n);
	}
}

void tcprelay_free_attempts(struct worker *w)
{
	while (w->tcp_attempts)
		attempt_free(w->tcp_attempts, true);
}
