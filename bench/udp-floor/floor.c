/*
 * floor: the smallest UDP relay that can exist, to measure what this kernel
 * charges per relayed packet. One listening socket faces the clients. The
 * first datagram from a new client source address creates a flow: a UDP
 * socket of its own, connected to the one fixed peer. Datagrams from a
 * client go out of its flow socket to the peer; datagrams the peer sends to
 * a flow socket go back to that flow's client from the listening socket.
 * There is no TURN framing, no auth, no expiry, no logging: only recvmmsg,
 * a lookup by source address in a flat open-addressing table, and sendmmsg,
 * in batches of up to 32, on one thread driven by epoll.
 *
 *   floor -l 127.0.0.1:4000 -p 127.0.0.1:3480 [-t seconds]
 *
 * Addresses are IPv4 a.b.c.d:port or IPv6 [addr]:port. On SIGUSR1 it prints
 * one line of counters to stdout, and on SIGTERM/SIGINT (or after -t
 * seconds) it prints it and exits:
 *
 *   flows=N c2p=N p2c=N c2p_drop=N p2c_drop=N
 *
 * c2p counts datagrams received from clients and handed to the kernel on
 * the flow socket (client->peer), p2c datagrams received from the peer and
 * handed to the kernel on the listening socket (peer->client); each is one
 * relayed packet. *_drop counts datagrams received but not sent (a full
 * send buffer, or the flow table full).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	BATCH = 32,
	BUF_LEN = 2048,
	MAX_FLOWS = 16384,
	TABLE_SIZE = 2 * MAX_FLOWS, /* power of two, load factor <= 0.5 */
	SOCK_BUF = 4 << 20,
	LISTEN_TAG = MAX_FLOWS, /* epoll data for the listening socket */
};

struct flow {
	struct sockaddr_storage client;
	socklen_t client_len;
	int fd;
};

/* One batch of buffers, reused for every recvmmsg; sends point into it. */
struct batch {
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage addr[BATCH];
	uint8_t buf[BATCH][BUF_LEN];
};

struct relay {
	int lfd, ep;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct flow flows[MAX_FLOWS];
	int nflows;
	int32_t table[TABLE_SIZE]; /* flow index, or -1 when empty */
	uint64_t c2p, p2c, c2p_drop, p2c_drop;
};

static volatile sig_atomic_t got_usr1, got_stop;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = 0;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[n - 1] = 0;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)atoi(colon + 1));
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)atoi(colon + 1));
	*len = sizeof(*a4);
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

static int udp_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int sz = SOCK_BUF;

	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return fd;
}

/* Hash of the family, port and address of a source: the lookup key. */
static uint32_t addr_hash(const struct sockaddr_storage *a)
{
	uint64_t h;

	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
		h = ((uint64_t)a4->sin_addr.s_addr << 16) | a4->sin_port;
	} else {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
		uint64_t w[2];
		memcpy(w, &a6->sin6_addr, sizeof(w));
		h = (w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull)) + a6->sin6_port;
	}
	h *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32);
}

static int addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* The flow of a client source address, created on first sight; -1 if the
 * table is full or the socket cannot be made. */
static int flow_get(struct relay *r, const struct sockaddr_storage *src, socklen_t len)
{
	uint32_t i = addr_hash(src) & (TABLE_SIZE - 1);

	for (; r->table[i] >= 0; i = (i + 1) & (TABLE_SIZE - 1))
		if (addr_equal(&r->flows[r->table[i]].client, src))
			return r->table[i];
	if (r->nflows == MAX_FLOWS)
		return -1;

	int fd = udp_socket(r->peer.ss_family);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&r->peer, r->peer_len) < 0) {
		close(fd);
		return -1;
	}
	int idx = r->nflows++;
	struct flow *f = &r->flows[idx];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)idx };

	memcpy(&f->client, src, len);
	f->client_len = len;
	f->fd = fd;
	epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev);
	r->table[i] = idx;
	return idx;
}

static void batch_init(struct batch *b)
{
	for (int i = 0; i < BATCH; i++) {
		b->iov[i] = (struct iovec){ b->buf[i], BUF_LEN };
		b->msg[i].msg_hdr = (struct msghdr){
			.msg_name = &b->addr[i],
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
	}
}

static int batch_recv(struct batch *b, int fd)
{
	for (int i = 0; i < BATCH; i++) {
		b->iov[i].iov_len = BUF_LEN;
		b->msg[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
	}
	return recvmmsg(fd, b->msg, BATCH, MSG_DONTWAIT, NULL);
}

/* Send msg[0..n) on fd; returns how many the kernel took. */
static int batch_send(int fd, struct mmsghdr *msg, int n)
{
	int sent = 0;

	while (sent < n) {
		int k = sendmmsg(fd, msg + sent, (unsigned)(n - sent), MSG_DONTWAIT);
		if (k <= 0)
			break;
		sent += k;
	}
	return sent;
}

/* Client -> peer: each datagram goes out of its flow's socket. Runs of
 * datagrams from the same flow go in one sendmmsg. */
static void relay_from_clients(struct relay *r, struct batch *b)
{
	int flow_of[BATCH];
	int n;

	while ((n = batch_recv(b, r->lfd)) > 0) {
		for (int i = 0; i < n; i++) {
			b->iov[i].iov_len = b->msg[i].msg_len;
			flow_of[i] = flow_get(r, &b->addr[i], b->msg[i].msg_hdr.msg_namelen);
			b->msg[i].msg_hdr.msg_name = NULL;
			b->msg[i].msg_hdr.msg_namelen = 0;
		}
		for (int i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && flow_of[j] == flow_of[i]; j++)
				;
			int sent = flow_of[i] < 0 ? 0 : batch_send(r->flows[flow_of[i]].fd, b->msg + i, j - i);
			r->c2p += (uint64_t)sent;
			r->c2p_drop += (uint64_t)(j - i - sent);
		}
		for (int i = 0; i < n; i++)
			b->msg[i].msg_hdr.msg_name = &b->addr[i];
		if (n < BATCH)
			break;
	}
}

/* Peer -> client: everything read from a flow socket goes to its client
 * from the listening socket, in one sendmmsg per batch. */
static void relay_from_peer(struct relay *r, struct batch *b, struct flow *f)
{
	int n;

	while ((n = batch_recv(b, f->fd)) > 0) {
		for (int i = 0; i < n; i++) {
			b->iov[i].iov_len = b->msg[i].msg_len;
			memcpy(&b->addr[i], &f->client, f->client_len);
			b->msg[i].msg_hdr.msg_namelen = f->client_len;
		}
		int sent = batch_send(r->lfd, b->msg, n);
		r->p2c += (uint64_t)sent;
		r->p2c_drop += (uint64_t)(n - sent);
		if (n < BATCH)
			break;
	}
}

static void print_counters(const struct relay *r)
{
	printf("flows=%d c2p=%llu p2c=%llu c2p_drop=%llu p2c_drop=%llu\n", r->nflows,
	       (unsigned long long)r->c2p, (unsigned long long)r->p2c,
	       (unsigned long long)r->c2p_drop, (unsigned long long)r->p2c_drop);
	fflush(stdout);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct relay r;
	static struct batch b;
	struct sockaddr_storage listen_addr;
	socklen_t listen_len = 0;
	double limit = 0;
	int opt;

	r.peer_len = 0;
	while ((opt = getopt(argc, argv, "l:p:t:")) != -1) {
		if (opt == 'l' && parse_addr(optarg, &listen_addr, &listen_len) == 0)
			continue;
		if (opt == 'p' && parse_addr(optarg, &r.peer, &r.peer_len) == 0)
			continue;
		if (opt == 't') {
			limit = atof(optarg);
			continue;
		}
		fprintf(stderr, "usage: floor -l listen-addr:port -p peer-addr:port [-t seconds]\n");
		return 2;
	}
	if (!listen_len || !r.peer_len) {
		fprintf(stderr, "floor: -l and -p are required\n");
		return 2;
	}

	memset(r.table, 0xff, sizeof(r.table));
	batch_init(&b);
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	r.lfd = udp_socket(listen_addr.ss_family);
	if (r.ep < 0 || r.lfd < 0 || bind(r.lfd, (struct sockaddr *)&listen_addr, listen_len) < 0) {
		perror("floor: listen");
		return 1;
	}
	struct epoll_event lev = { .events = EPOLLIN, .data.u32 = LISTEN_TAG };
	epoll_ctl(r.ep, EPOLL_CTL_ADD, r.lfd, &lev);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	double deadline = limit > 0 ? now_s() + limit : 0;

	while (!got_stop) {
		struct epoll_event ev[64];
		int n = epoll_wait(r.ep, ev, 64, deadline ? 100 : -1);

		if (got_usr1) {
			got_usr1 = 0;
			print_counters(&r);
		}
		if (deadline && now_s() > deadline)
			break;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == LISTEN_TAG)
				relay_from_clients(&r, &b);
			else
				relay_from_peer(&r, &b, &r.flows[ev[i].data.u32]);
		}
	}
	print_counters(&r);
	return 0;
}
