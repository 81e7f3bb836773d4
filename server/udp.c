/*
 * UDP listeners. Each read event drains the socket in batches of UDP_BATCH
 * datagrams with recvmmsg, answers each through the service, and sends the
 * replies with one sendmmsg. A reply that RFC 5780 wants sent from another
 * address goes out on this worker's socket for that address instead.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/netaddr.h"
#include "server/peer.h"
#include "server/service.h"
#include "server/udp.h"
#include "store/store.h"

enum {
	UDP_TX_SLOT = 4096,   /* a STUN reply, RFC 5780 PADDING included */
	UDP_READS_PER_EVENT = 8, /* batches per wakeup, so sockets take turns */
};

struct udp_batch {
	struct mmsghdr rx[UDP_BATCH];
	struct iovec rxiov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	struct mmsghdr tx[UDP_BATCH];
	struct iovec txiov[UDP_BATCH];
	uint8_t txbuf[UDP_BATCH][UDP_TX_SLOT];
	uint8_t rxbuf[UDP_BATCH][UDP_MAX_DATAGRAM];
};

struct udp_sock {
	struct worker *w;
	struct udp_batch *b;
	const struct listener_spec *ls;
	int fd;
	struct event *ev;
};

struct udp_batch *udp_batch_new(void)
{
	struct udp_batch *b = calloc(1, sizeof *b);

	if (!b)
		return NULL;
	for (int i = 0; i < UDP_BATCH; i++) {
		b->rxiov[i].iov_base = b->rxbuf[i];
		b->rxiov[i].iov_len = sizeof b->rxbuf[i];
		b->txiov[i].iov_base = b->txbuf[i];
	}
	return b;
}

void udp_batch_free(struct udp_batch *b)
{
	free(b);
}

static void send_changed(struct udp_sock *u, const struct sockaddr_storage *to,
			 const uint8_t *p, size_t len, uint8_t change)
{
	const struct binding_config *bc = &u->ls->binding;
	struct stun_addr o = u->ls->local;
	struct udp_sock *other;

	if (change & STUN_CHANGE_IP)
		memcpy(o.ip, bc->other.ip, sizeof o.ip);
	if (change & STUN_CHANGE_PORT)
		o.port = bc->other.port;
	other = worker_udp_for(u->w, &o);
	if (!other) {
		counter_inc(&u->w->counters.dropped[TP_UDP][DROP_SEND_ERROR]);
		return;
	}
	if (sendto(other->fd, p, len, 0, (const struct sockaddr *)to,
		   netaddr_len((const struct sockaddr *)to)) < 0)
		counter_inc(&u->w->counters.dropped[TP_UDP][DROP_SEND_ERROR]);
	else
		counter_add(&u->w->counters.tx_bytes[TP_UDP], len);
}

static void flush(struct udp_sock *u, int n)
{
	struct mmsghdr *tx = u->b->tx;
	int sent = 0;

	while (sent < n) {
		int r = sendmmsg(u->fd, tx + sent, (unsigned)(n - sent), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			/* the first one failed: count it and go past it */
			counter_inc(&u->w->counters.dropped[TP_UDP][DROP_SEND_ERROR]);
			r = 1;
		}
		for (int i = sent; i < sent + r; i++)
			counter_add(&u->w->counters.tx_bytes[TP_UDP], tx[i].msg_len);
		sent += r;
	}
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Answer the n datagrams just received; returns how many replies queued. */
static int answer(struct udp_sock *u, int n)
{
	struct udp_batch *b = u->b;
	struct counters *c = &u->w->counters;
	struct stun_addr src;
	int q = 0;

	for (int i = 0; i < n; i++) {
		struct msghdr *h = &b->rx[i].msg_hdr;
		struct service_reply r;

		counter_add(&c->rx_bytes[TP_UDP], b->rx[i].msg_len);
		if (h->msg_flags & MSG_TRUNC) {
			counter_inc(&c->dropped[TP_UDP][DROP_TRUNCATED]);
			continue;
		}
		if (!netaddr_to_stun((struct sockaddr *)&b->from[i], &src))
			continue;
		r = service_handle(u->w, u->ls, b->rxbuf[i], b->rx[i].msg_len, &src, 0,
				   b->txbuf[q], UDP_TX_SLOT);
		if (r.len == 0)
			continue;
		if (r.response_port) /* RFC 5780 s7.5: same ip, the port asked */
			set_port(&b->from[i], r.response_port);
		if (r.change) {
			send_changed(u, &b->from[i], b->txbuf[q], r.len, r.change);
			continue;
		}
		b->txiov[q].iov_len = r.len;
		b->tx[q].msg_hdr = (struct msghdr){
			.msg_name = &b->from[i],
			.msg_namelen = h->msg_namelen,
			.msg_iov = &b->txiov[q],
			.msg_iovlen = 1,
		};
		q++;
	}
	return q;
}

static void udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *u = arg;
	struct udp_batch *b = u->b;

	for (int round = 0; round < UDP_READS_PER_EVENT; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			b->rx[i].msg_hdr = (struct msghdr){
				.msg_name = &b->from[i],
				.msg_namelen = sizeof b->from[i],
				.msg_iov = &b->rxiov[i],
				.msg_iovlen = 1,
			};
		}
		int n = recvmmsg(fd, b->rx, UDP_BATCH, 0, NULL);

		if (n <= 0)
			return; /* EAGAIN, or an error the next event will show */
		int q = answer(u, n);

		/* new allocations' records onto Redis's socket, one write for the
		 * batch, before the answers go */
		store_records_now(u->w);
		if (u->w->peers)
			peer_flush(u->w); /* what went to peers points into this batch */
		flush(u, q);
		if (n < UDP_BATCH)
			return;
	}
}

/* Bigger kernel buffers ride out bursts; as root, past rmem_max too. */
static void sockbuf(int fd)
{
	int size = UDP_SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

struct udp_sock *udp_open(struct worker *w, struct udp_batch *b,
			  const struct listener_spec *ls, char *err, size_t errlen)
{
	struct udp_sock *u = calloc(1, sizeof *u);

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->w = w;
	u->b = b;
	u->ls = ls;
	u->fd = netaddr_bind((const struct sockaddr *)&ls->addr, ls->addrlen, SOCK_DGRAM,
			     true, err, errlen);
	if (u->fd < 0)
		goto fail;
	sockbuf(u->fd);
	u->ev = event_new(w->base, u->fd, EV_READ | EV_PERSIST, udp_on_read, u);
	if (!u->ev || event_add(u->ev, NULL) < 0) {
		snprintf(err, errlen, "udp: cannot register event");
		goto fail;
	}
	return u;
fail:
	udp_close(u);
	return NULL;
}

void udp_close(struct udp_sock *u)
{
	if (!u)
		return;
	if (u->ev)
		event_free(u->ev);
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

const struct listener_spec *udp_spec(const struct udp_sock *u)
{
	return u->ls;
}

int udp_fd(const struct udp_sock *u)
{
	return u->fd;
}
