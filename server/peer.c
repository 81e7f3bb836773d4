/*
 * Relay sockets. Each is bound to exactly the address the engine chose, with
 * the DF bit set when the client asked for DONT-FRAGMENT (RFC 8656 s7.2),
 * and tagged with its allocation id so a datagram finds its allocation in
 * one load. Datagrams are received RELAY_HEADROOM bytes into their buffer
 * so the engine can write the ChannelData or Data indication header in front
 * of the payload; replies to UDP clients leave in one sendmmsg per batch.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/conn.h"
#include "server/handover.h"
#include "server/wsconn.h"
#include "server/netaddr.h"
#include "server/peer.h"
#include "server/reserve.h"
#include "server/service.h"
#include "server/tcprelay.h"
#include "server/udp.h"

enum {
	PEER_SLOT = RELAY_HEADROOM + UDP_MAX_DATAGRAM + RELAY_TAILROOM,
	PEER_READS_PER_EVENT = 4,
};

struct peer_sock {
	struct worker *w;
	struct event *ev;
	int fd;
	uint32_t id; /* the allocation's, or UINT32_MAX for a reservation */
};

static void peer_on_accept(evutil_socket_t fd, short what, void *arg);

struct peer_table {
	struct peer_sock **sock; /* by handle */
	uint32_t max, n_used;
	int *free_handles;
	uint32_t n_free;
	struct mmsghdr rx[UDP_BATCH];
	struct iovec rxiov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	struct mmsghdr tx[UDP_BATCH];
	struct iovec txiov[UDP_BATCH];
	struct sockaddr_storage to[UDP_BATCH];
	uint8_t buf[UDP_BATCH][PEER_SLOT];
	/* datagrams from UDP clients to peers, sent in runs per relay socket */
	struct mmsghdr out[UDP_BATCH];
	struct iovec outiov[UDP_BATCH];
	struct sockaddr_storage outto[UDP_BATCH];
	int n_out, out_handle;
	uint32_t ids[UDP_BATCH]; /* the allocation of each answer handed over */
};

struct peer_table *peer_table_new(uint32_t max)
{
	struct peer_table *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->max = max;
	t->sock = calloc(max, sizeof *t->sock);
	t->free_handles = calloc(max, sizeof *t->free_handles);
	if (!t->sock || !t->free_handles) {
		peer_table_free(t);
		return NULL;
	}
	for (uint32_t i = 0; i < max; i++)
		t->free_handles[i] = (int)(max - 1 - i);
	t->n_free = max;
	for (int i = 0; i < UDP_BATCH; i++) {
		t->rxiov[i].iov_base = t->buf[i] + RELAY_HEADROOM;
		t->rxiov[i].iov_len = UDP_MAX_DATAGRAM;
	}
	return t;
}

void peer_table_free(struct peer_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->sock && i < t->max; i++) {
		if (t->sock[i]) {
			event_free(t->sock[i]->ev);
			close(t->sock[i]->fd);
			free(t->sock[i]);
		}
	}
	free(t->sock);
	free(t->free_handles);
	free(t);
}

/* Queue one framed message for a UDP client; flushed per batch. */
static int queue(struct peer_table *t, int q, const struct relay_key *k,
		 uint8_t *msg, size_t len)
{
	t->txiov[q].iov_base = msg;
	t->txiov[q].iov_len = len;
	t->tx[q].msg_hdr = (struct msghdr){
		.msg_name = &t->to[q],
		.msg_namelen = netaddr_from_stun(&k->client, &t->to[q]),
		.msg_iov = &t->txiov[q],
		.msg_iovlen = 1,
	};
	return q + 1;
}

static void flush(struct worker *w, int fd, struct mmsghdr *tx, int n)
{
	for (int sent = 0; sent < n;) {
		int r = sendmmsg(fd, tx + sent, (unsigned)(n - sent), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			counter_inc(&w->counters.dropped[TP_UDP][DROP_SEND_ERROR]);
			r = 1;
		}
		sent += r;
	}
}

/* Frame and deliver the n datagrams just read from peers, each for
 * allocation ids[i], or all for id when ids is NULL. */
static void deliver(struct worker *w, uint32_t id, const uint32_t *ids, int n, uint64_t now)
{
	struct peer_table *t = w->peers;
	int q = 0, qfd = -1;

	for (int i = 0; i < n; i++) {
		const struct relay_key *k;
		struct stun_addr from;
		uint8_t *msg;
		size_t len;
		int fd;

		if ((t->rx[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    !netaddr_to_stun((struct sockaddr *)&t->from[i], &from))
			continue;
		k = relay_from_peer(w->engine, ids ? ids[i] : id, &from, t->buf[i] + RELAY_HEADROOM,
				    t->rx[i].msg_len, now, &msg, &len);
		if (!k)
			continue;
		if (k->conn) {
			conn_send(k->conn, msg, len);
			continue;
		}
		fd = worker_udp_fd(w, k->listener);
		if (fd < 0)
			continue;
		if (fd != qfd && q) { /* another listener: send what we have */
			flush(w, qfd, t->tx, q);
			q = 0;
		}
		qfd = fd;
		q = queue(t, q, k, msg, len);
	}
	if (q)
		flush(w, qfd, t->tx, q);
}

static void peer_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct peer_sock *s = arg;
	struct peer_table *t = s->w->peers;

	for (int round = 0; round < PEER_READS_PER_EVENT; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++)
			t->rx[i].msg_hdr = (struct msghdr){
				.msg_name = &t->from[i],
				.msg_namelen = sizeof t->from[i],
				.msg_iov = &t->rxiov[i],
				.msg_iovlen = 1,
			};
		n = recvmmsg(fd, t->rx, UDP_BATCH, 0, NULL);
		if (n <= 0)
			return;
		deliver(s->w, s->id, NULL, n, worker_now_ms(s->w));
		if (n < UDP_BATCH)
			return;
	}
}

/* RFC 8656 s7.2 DONT-FRAGMENT: the DF bit on everything the socket sends. */
static int set_df(int fd, uint8_t family)
{
	int pmtu = IP_PMTUDISC_DO;

	return family == STUN_FAMILY_IPV4
		       ? setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu)
		       : setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
}

static int bind_relay(const struct stun_addr *where, bool dont_fragment)
{
	struct sockaddr_storage ss;
	socklen_t len = netaddr_from_stun(where, &ss);
	int fd, e, one = 1;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
		goto fail;
	if (dont_fragment && set_df(fd, where->family) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

/* Give a bound socket an event on w's loop and a handle. */
static int adopt_cb(struct worker *w, uint32_t id, int fd, event_callback_fn cb)
{
	struct peer_table *t = w->peers;
	struct peer_sock *s;
	int h;

	if (t->n_free == 0 || !(s = calloc(1, sizeof *s))) {
		close(fd);
		return -ENOSPC;
	}
	s->fd = fd;
	s->w = w;
	s->id = id;
	s->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, cb, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		if (s->ev)
			event_free(s->ev);
		close(fd);
		free(s);
		return -ENOMEM;
	}
	h = t->free_handles[--t->n_free];
	t->sock[h] = s;
	return h;
}

static int adopt(struct worker *w, uint32_t id, int fd)
{
	return adopt_cb(w, id, fd, peer_on_read);
}

int peer_open(struct worker *w, uint32_t id, const struct stun_addr *where,
	      bool dont_fragment)
{
	int fd = bind_relay(where, dont_fragment);

	return fd < 0 ? fd : adopt(w, id, fd);
}

int peer_reserve(struct worker *w, const struct stun_addr *where, const uint8_t token[8],
		 uint64_t now)
{
	int fd = bind_relay(where, false);

	if (fd < 0)
		return fd;
	if (!reserve_hold(w->srv->reserve, fd, where, token, now)) {
		close(fd);
		return -ENOSPC;
	}
	return 0;
}

int peer_redeem(struct worker *w, uint32_t id, const uint8_t token[8], bool dont_fragment,
		uint64_t now, struct stun_addr *bound)
{
	int fd = reserve_take(w->srv->reserve, token, now, bound);

	if (fd < 0)
		return -ENOENT;
	if (dont_fragment && set_df(fd, bound->family) < 0) {
		close(fd);
		return -errno;
	}
	return adopt(w, id, fd);
}

void peer_close(struct worker *w, int h)
{
	struct peer_table *t = w->peers;
	struct peer_sock *s;

	if (h < 0 || (uint32_t)h >= t->max || !(s = t->sock[h]))
		return;
	if (t->n_out && t->out_handle == h) /* its queued data leaves first */
		peer_flush(w);
	event_free(s->ev);
	close(s->fd);
	free(s);
	t->sock[h] = NULL;
	t->free_handles[t->n_free++] = h;
}

void peer_flush(struct worker *w)
{
	struct peer_table *t = w->peers;
	int fd = t->n_out && t->sock[t->out_handle] ? t->sock[t->out_handle]->fd : -1;

	for (int sent = 0; fd >= 0 && sent < t->n_out;) {
		int r = sendmmsg(fd, t->out + sent, (unsigned)(t->n_out - sent), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* this one failed; the rest may not */
			counter_inc(&w->counters.dropped[TP_UDP][DROP_SEND_ERROR]);
			r = 1;
		}
		sent += r;
	}
	t->n_out = 0;
	if (w->srv->handover)
		handover_wake(handover_up(w->srv->handover, w->id));
}

bool peer_hand_over(struct worker *w, const struct relay_action *a,
		    const struct stun_addr *client)
{
	struct handover_msg m = { .alloc = a->alloc, .local = a->local_index,
				  .client = *client };

	return w->srv->handover &&
	       handover_push(handover_up(w->srv->handover, w->id), &m, a->data, a->data_len);
}

/*
 * The responder's answers, delivered as if they had come in on the
 * allocation's relay socket from the address the client sent to. One for
 * an allocation that is gone, or now another client's, is dropped.
 */
void peer_on_handover(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct peer_table *t = w->peers;
	struct handover_lane *l = handover_down(w->srv->handover, w->id);

	handover_clear(fd);
	for (int round = 0; round < PEER_READS_PER_EVENT; round++) {
		struct handover_msg m;
		struct stun_addr from;
		const uint8_t *p;
		size_t len;
		int n = 0;

		while (n < UDP_BATCH && (p = handover_peek(l, &m, &len))) {
			if (m.kind == HO_WEBSOCKET) { /* for a /wg connection */
				if (!wsconn_deliver(w, m.alloc, p, len))
					handover_lost(l);
				handover_pop(l);
				continue;
			}
			if (!w->engine || len > UDP_MAX_DATAGRAM ||
			    !relay_serves(w->engine, m.alloc, &m.client) ||
			    !policy_local_addr(w->srv->policy, m.local, &from)) {
				handover_pop(l);
				handover_lost(l);
				continue;
			}
			memcpy(t->buf[n] + RELAY_HEADROOM, p, len);
			handover_pop(l);
			t->rx[n].msg_len = (unsigned)len;
			t->rx[n].msg_hdr.msg_flags = 0;
			netaddr_from_stun(&from, &t->from[n]);
			t->ids[n++] = m.alloc;
		}
		if (n)
			deliver(w, 0, t->ids, n, worker_now_ms(w));
		if (n < UDP_BATCH)
			return;
	}
	event_active(w->handover_ev, EV_READ, 0); /* the rest on the next turn */
}

bool peer_queue(struct worker *w, int h, const struct stun_addr *to, const uint8_t *data,
		size_t len)
{
	struct peer_table *t = w->peers;
	int i;

	if (h < 0 || (uint32_t)h >= t->max || !t->sock[h])
		return false;
	if (t->n_out && (h != t->out_handle || t->n_out == UDP_BATCH))
		peer_flush(w);
	i = t->n_out++;
	t->out_handle = h;
	t->outiov[i].iov_base = (void *)(uintptr_t)data; /* sendmmsg only reads it */
	t->outiov[i].iov_len = len;
	t->out[i].msg_hdr = (struct msghdr){
		.msg_name = &t->outto[i],
		.msg_namelen = netaddr_from_stun(to, &t->outto[i]),
		.msg_iov = &t->outiov[i],
		.msg_iovlen = 1,
	};
	return true;
}

bool peer_send(struct worker *w, int h, const struct stun_addr *to,
	       const uint8_t *data, size_t len)
{
	struct peer_table *t = w->peers;
	struct sockaddr_storage ss;
	socklen_t sl;

	if (h < 0 || (uint32_t)h >= t->max || !t->sock[h])
		return false;
	sl = netaddr_from_stun(to, &ss);
	return sendto(t->sock[h]->fd, data, len, 0, (struct sockaddr *)&ss, sl) >= 0;
}

/* RFC 6062: peers connecting to a TCP allocation's relayed address. */
static void peer_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct peer_sock *s = arg;

	for (int i = 0; i < TCP_ACCEPTS_PER_EVENT; i++) {
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c < 0)
			return; /* EAGAIN, or out of descriptors: the peer waits */
		tcprelay_accepted(s->w, s->id, c);
	}
}

int peer_tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e, one = 1;

	if (fd < 0)
		return -errno;
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/*
 * A TCP allocation's listening socket. SO_REUSEPORT goes on only after the
 * bind: the connects of ops_tcp_connect may then share the port, but no
 * other allocation's listener can, since its own bind happens without it.
 */
int peer_open_tcp(struct worker *w, uint32_t id, const struct stun_addr *where)
{
	struct sockaddr_storage ss;
	socklen_t len = netaddr_from_stun(where, &ss);
	int fd = peer_tcp_socket(ss.ss_family), e, one = 1;

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, TCP_RELAY_BACKLOG) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return adopt_cb(w, id, fd, peer_on_accept);
}

int peer_fd(const struct worker *w, int h)
{
	const struct peer_table *t = w->peers;

	return h >= 0 && (uint32_t)h < t->max && t->sock[h] ? t->sock[h]->fd : -1;
}
