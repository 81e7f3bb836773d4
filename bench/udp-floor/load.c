/*
 * load: UDP load generator and echo peer for bench/udp-floor and bench/relay.
 *
 * Client mode: N connected UDP sockets send fixed-size datagrams to a relay
 * (or straight to an echo) and count the echoes that come back. Each socket
 * keeps at most W datagrams outstanding. Without -r it sends as fast as the
 * windows refill; with -r the whole generator is paced to R datagrams per
 * second, sent as they fall due, or with -T in one burst every T
 * microseconds (-T 4000 mimics turnutils_uclient's timer at HZ=250). Every
 * datagram carries its socket, a sequence number and its send time
 * (CLOCK_MONOTONIC), so an echo gives an exact round-trip time. A socket
 * that has heard nothing for 200 ms while it has datagrams outstanding
 * writes them off as lost and refills its window; an echo of a datagram
 * already written off counts as "late", not as received.
 *
 *   load -s 127.0.0.1:4000 [-c sockets] [-l bytes] [-d seconds] [-w window] [-r pps [-T us]]
 *
 * prints one line of key=value, times in microseconds:
 *
 *   sockets size seconds sent received lost late send_fail pps
 *   rtt_avg rtt_p50 rtt_p90 rtt_p99 rtt_p999 rtt_max cpu
 *
 * sent counts datagrams the kernel accepted, send_fail those it refused
 * (EAGAIN/ENOBUFS, not retried), pps is received / seconds (echoes per
 * second of the send phase), cpu this process's own CPU seconds. After the
 * send phase it waits up to 200 ms for echoes still in flight.
 *
 * TURN mode (-t secret -p peer): each socket first makes a TURN allocation
 * on the server (Allocate, answered 401, then again with TURN REST
 * credentials for user "bench" made from secret, as coturn's -W does) and
 * binds channel 0x4000 to the peer; then every datagram goes out as
 * ChannelData and comes back as ChannelData. The load pattern is the same
 * as without -t, byte for byte, plus the 4-byte ChannelData header, so a
 * TURN server and the floor can be measured under identical load.
 *
 *   load -s tern:3478 -t secret -p 127.0.0.1:3480 [-c ...]
 *
 * Echo mode: one socket sends every datagram it receives back to its
 * source, with recvmmsg/sendmmsg, until SIGTERM or -d seconds:
 *
 *   load -e 127.0.0.1:3480 [-d seconds]
 *
 * and on exit prints echoed=N cpu=S.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h> /* MD5_DIGEST_LENGTH */

enum {
	MAX_SOCKS = 4096,
	MAX_WINDOW = 1024,
	BATCH = 32,
	BUF_LEN = 2048,
	MIN_SIZE = 24, /* the header below */
	LOSS_MS = 200,
	HIST_US = 200000, /* RTT histogram: 1 us buckets up to 200 ms */
	CHANNEL = 0x4000, /* TURN mode: the channel every socket binds */
	CD_HDR = 4,       /* ChannelData header */
	MAGIC = 0x7465726e, /* "tern" */
	SOCK_BUF = 4 << 20,
};

/* The start of every datagram. */
struct stamp {
	uint32_t magic;
	uint32_t sock;
	uint64_t seq;
	uint64_t sent_ns;
};

struct sock {
	int fd;
	uint64_t next_seq;
	uint64_t cutoff; /* echoes of seq < cutoff were written off */
	int outstanding;
	uint64_t progress_ns; /* last send into an empty window, or last echo */
};

struct stats {
	uint64_t sent, received, lost, late, send_fail;
	uint64_t max_ns, sum_ns;
	uint32_t hist[HIST_US + 1];
};

static volatile sig_atomic_t got_stop;

static void on_signal(int sig)
{
	(void)sig;
	got_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- echo ------------------------------------------------------------------ */

static int run_echo(const struct sockaddr_storage *addr, socklen_t len, double seconds)
{
	static uint8_t buf[BATCH][BUF_LEN];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage from[BATCH];
	uint64_t deadline = seconds > 0 ? now_ns() + (uint64_t)(seconds * 1e9) : 0;
	uint64_t echoed = 0;
	int fd = udp_socket(addr->ss_family);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };

	if (fd < 0 || ep < 0 || bind(fd, (const struct sockaddr *)addr, len) < 0) {
		perror("load: echo");
		return 1;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	while (!got_stop && (!deadline || now_ns() < deadline)) {
		if (epoll_wait(ep, &ev, 1, 100) <= 0)
			continue;
		for (;;) {
			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){ buf[i], BUF_LEN };
				msg[i].msg_hdr = (struct msghdr){ .msg_name = &from[i],
								  .msg_namelen = sizeof(from[i]),
								  .msg_iov = &iov[i],
								  .msg_iovlen = 1 };
			}
			int n = recvmmsg(fd, msg, BATCH, MSG_DONTWAIT, NULL);
			if (n <= 0)
				break;
			for (int i = 0; i < n; i++)
				iov[i].iov_len = msg[i].msg_len;
			for (int done = 0; done < n;) {
				int k = sendmmsg(fd, msg + done, (unsigned)(n - done), MSG_DONTWAIT);
				if (k <= 0)
					break;
				done += k;
				echoed += (uint64_t)k;
			}
			if (n < BATCH)
				break;
		}
	}
	printf("echoed=%llu cpu=%.2f\n", (unsigned long long)echoed, cpu_seconds());
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

struct gen {
	struct sock sock[MAX_SOCKS];
	int nsock, size, window;
	int outstanding; /* sum over the sockets */
	struct stats st;
};

static uint8_t send_buf[BATCH][BUF_LEN + CD_HDR];
static int turn_mode; /* -t: ChannelData framing on every datagram */

/* Send k datagrams on socket i; returns how many the kernel took. */
static int send_some(struct gen *g, int i, int k, uint64_t now)
{
	struct sock *s = &g->sock[i];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];

	for (int j = 0; j < k; j++) {
		struct stamp h = { MAGIC, (uint32_t)i, s->next_seq + (uint64_t)j, now };
		int off = turn_mode ? CD_HDR : 0;

		memcpy(send_buf[j] + off, &h, sizeof(h));
		if (turn_mode) {
			send_buf[j][0] = CHANNEL >> 8;
			send_buf[j][1] = CHANNEL & 0xff;
			send_buf[j][2] = (uint8_t)(g->size >> 8);
			send_buf[j][3] = (uint8_t)g->size;
		}
		iov[j] = (struct iovec){ send_buf[j], (size_t)(g->size + off) };
		msg[j].msg_hdr = (struct msghdr){ .msg_iov = &iov[j], .msg_iovlen = 1 };
	}
	int n = sendmmsg(s->fd, msg, (unsigned)k, MSG_DONTWAIT);
	if (n < 0)
		n = 0;
	if (n > 0 && s->outstanding == 0)
		s->progress_ns = now;
	s->next_seq += (uint64_t)n;
	s->outstanding += n;
	g->outstanding += n;
	g->st.sent += (uint64_t)n;
	g->st.send_fail += (uint64_t)(k - n);
	return n;
}

static void count_echo(struct gen *g, int i, const uint8_t *p, unsigned len, uint64_t now)
{
	struct sock *s = &g->sock[i];
	struct stamp h;

	if (len < MIN_SIZE)
		return;
	memcpy(&h, p, sizeof(h));
	if (h.magic != MAGIC || h.sock != (uint32_t)i || h.seq >= s->next_seq)
		return;
	if (h.seq < s->cutoff) {
		g->st.late++;
		return;
	}
	s->outstanding--;
	g->outstanding--;
	s->progress_ns = now;
	g->st.received++;
	uint64_t rtt = now - h.sent_ns;
	g->st.sum_ns += rtt;
	if (rtt > g->st.max_ns)
		g->st.max_ns = rtt;
	g->st.hist[rtt / 1000 < HIST_US ? rtt / 1000 : HIST_US]++;
}

static void recv_all(struct gen *g, int i)
{
	static uint8_t buf[BATCH][BUF_LEN];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	int n;

	do {
		for (int j = 0; j < BATCH; j++) {
			iov[j] = (struct iovec){ buf[j], BUF_LEN };
			msg[j].msg_hdr = (struct msghdr){ .msg_iov = &iov[j], .msg_iovlen = 1 };
		}
		n = recvmmsg(g->sock[i].fd, msg, BATCH, MSG_DONTWAIT, NULL);
		uint64_t now = now_ns();
		for (int j = 0; j < n; j++) {
			if (!turn_mode)
				count_echo(g, i, buf[j], msg[j].msg_len, now);
			else if (msg[j].msg_len > CD_HDR && buf[j][0] == CHANNEL >> 8)
				count_echo(g, i, buf[j] + CD_HDR, msg[j].msg_len - CD_HDR, now);
		}
	} while (n == BATCH);
}

/* Write off what a socket silent for LOSS_MS still has outstanding. */
static void expire(struct gen *g, uint64_t now)
{
	for (int i = 0; i < g->nsock; i++) {
		struct sock *s = &g->sock[i];
		if (s->outstanding == 0 || now - s->progress_ns < (uint64_t)LOSS_MS * 1000000u)
			continue;
		g->st.lost += (uint64_t)s->outstanding;
		g->outstanding -= s->outstanding;
		s->outstanding = 0;
		s->cutoff = s->next_seq;
		s->progress_ns = now;
	}
}

static uint64_t percentile(const struct stats *st, double q)
{
	uint64_t want = (uint64_t)(q * (double)st->received), seen = 0;

	for (int us = 0; us <= HIST_US; us++) {
		seen += st->hist[us];
		if (seen > want)
			return (uint64_t)us;
	}
	return st->max_ns / 1000;
}

/* ---- TURN mode: one allocation and one channel per socket --------------- */

struct turn_setup {
	const char *secret;
	struct sockaddr_in peer;
};

static size_t put_attr(uint8_t *m, size_t at, uint16_t type, const void *v, size_t n)
{
	m[at] = (uint8_t)(type >> 8);
	m[at + 1] = (uint8_t)type;
	m[at + 2] = (uint8_t)(n >> 8);
	m[at + 3] = (uint8_t)n;
	memcpy(m + at + 4, v, n);
	memset(m + at + 4 + n, 0, (4 - n % 4) % 4);
	return at + 4 + n + (4 - n % 4) % 4;
}

static void set_len(uint8_t *m, size_t at)
{
	m[2] = (uint8_t)((at - 20) >> 8);
	m[3] = (uint8_t)(at - 20);
}

/* A request on fd, answered within 2 s: the answer's class bits and length. */
static int exchange(int fd, const uint8_t *req, size_t len, uint8_t *resp)
{
	for (int tries = 0; tries < 20; tries++) {
		if (send(fd, req, len, 0) < 0)
			return -1;
		for (int waited = 0; waited < 100; waited++) {
			ssize_t n = recv(fd, resp, BUF_LEN, MSG_DONTWAIT);
			if (n >= 20 && memcmp(resp + 8, req + 8, 12) == 0)
				return (int)n;
			usleep(1000);
		}
	}
	return -1;
}

/* The value of attribute type in a response, or NULL. */
static const uint8_t *find_attr(const uint8_t *m, int n, uint16_t type, size_t *len)
{
	for (int at = 20; at + 4 <= n;) {
		uint16_t t = (uint16_t)(m[at] << 8 | m[at + 1]), l = (uint16_t)(m[at + 2] << 8 | m[at + 3]);
		if (at + 4 + l > n)
			return NULL;
		if (t == type) {
			*len = l;
			return m + at + 4;
		}
		at += 4 + l + (4 - l % 4) % 4;
	}
	return NULL;
}

/* What a socket's later requests need: its REST name, the key, realm and nonce. */
struct turn_cred {
	char user[64];
	uint8_t key[MD5_DIGEST_LENGTH];
	uint8_t realm[256], nonce[256];
	size_t rlen, nlen;
};

static struct turn_cred creds[MAX_SOCKS];

/* Sign req[0..at) with c (if it has a nonce), send it, await the answer in resp. */
static int turn_exchange(int fd, const struct turn_cred *c, uint8_t *req, size_t at,
			 uint8_t *resp)
{
	uint8_t mac[20];
	unsigned maclen = 0;

	if (c->nlen) {
		at = put_attr(req, at, 0x0006, c->user, strlen(c->user));
		at = put_attr(req, at, 0x0014, c->realm, c->rlen);
		at = put_attr(req, at, 0x0015, c->nonce, c->nlen);
		set_len(req, at + 24);
		HMAC(EVP_sha1(), c->key, sizeof c->key, req, at, mac, &maclen);
		at = put_attr(req, at, 0x0008, mac, 20);
	}
	set_len(req, at);
	return exchange(fd, req, at, resp);
}

static size_t turn_header(uint8_t *req, uint16_t type, uint32_t salt, uint32_t step)
{
	uint32_t cookie = htonl(0x2112A442), tid[3] = { salt, step, 0x74657272 };

	req[0] = (uint8_t)(type >> 8);
	req[1] = (uint8_t)type;
	memcpy(req + 4, &cookie, 4);
	memcpy(req + 8, tid, 12);
	return 20;
}

static int success(const uint8_t *resp)
{
	return (resp[0] & 0x01) && !(resp[1] & 0x10);
}

/* Allocate (401 dance, REST credentials), then ChannelBind CHANNEL to peer. */
static int turn_prepare(int fd, const struct turn_setup *t, uint32_t salt, struct turn_cred *c)
{
	uint8_t req[512], resp[BUF_LEN], mac[20], xpa[8] = { 0, 1 };
	uint32_t cookie = htonl(0x2112A442), ip = t->peer.sin_addr.s_addr ^ cookie;
	uint16_t port = ntohs(t->peer.sin_port) ^ 0x2112;
	char pass[64], kin[512];
	unsigned maclen = 0;
	const uint8_t *v;
	size_t at;
	int n;

	memset(c, 0, sizeof *c);
	snprintf(c->user, sizeof c->user, "%ld:bench", (long)time(NULL) + 86400);
	HMAC(EVP_sha1(), t->secret, (int)strlen(t->secret), (const uint8_t *)c->user,
	     strlen(c->user), mac, &maclen);
	EVP_EncodeBlock((uint8_t *)pass, mac, (int)maclen);
	for (uint32_t step = 0; step < 2; step++) { /* the challenge, then the real one */
		at = put_attr(req, turn_header(req, 0x0003, salt, step), 0x0019, "\x11\0\0\0", 4);
		n = turn_exchange(fd, c, req, at, resp);
		if (n < 0)
			return -1;
		if (step == 1)
			break;
		if (!(v = find_attr(resp, n, 0x0014, &c->rlen)) || c->rlen >= sizeof c->realm)
			return -1;
		memcpy(c->realm, v, c->rlen);
		if (!(v = find_attr(resp, n, 0x0015, &c->nlen)) || c->nlen >= sizeof c->nonce)
			return -1;
		memcpy(c->nonce, v, c->nlen);
		snprintf(kin, sizeof kin, "%s:%.*s:%s", c->user, (int)c->rlen, c->realm, pass);
		EVP_Digest(kin, strlen(kin), c->key, NULL, EVP_md5(), NULL);
	}
	if (!success(resp))
		return -1;
	xpa[2] = (uint8_t)(port >> 8);
	xpa[3] = (uint8_t)port;
	memcpy(xpa + 4, &ip, 4);
	at = put_attr(req, turn_header(req, 0x0009, salt, 2), 0x000C, "\x40\0\0\0", 4);
	at = put_attr(req, at, 0x0012, xpa, 8);
	n = turn_exchange(fd, c, req, at, resp);
	return n >= 0 && success(resp) ? 0 : -1;
}

/* Refresh with LIFETIME 0: the allocation goes, so a later run that gets the
 * same source port from the kernel does not find it (437). */
static void turn_release(int fd, const struct turn_cred *c, uint32_t salt)
{
	uint8_t req[512], resp[BUF_LEN];

	turn_exchange(fd, c, req, put_attr(req, turn_header(req, 0x0004, salt, 3), 0x000D,
					   "\0\0\0\0", 4), resp);
}

static int run_client(struct gen *g, const struct sockaddr_storage *to, socklen_t len,
		      double seconds, double rate, double tick_us, const struct turn_setup *t)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	for (int i = 0; i < g->nsock; i++) {
		int fd = udp_socket(to->ss_family);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (fd < 0 || connect(fd, (const struct sockaddr *)to, len) < 0) {
			perror("load: socket");
			return 1;
		}
		g->sock[i].fd = fd;
		if (t && turn_prepare(fd, t, (uint32_t)i, &creds[i]) < 0) {
			fprintf(stderr, "load: socket %d: TURN allocation or channel failed\n", i);
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	for (int j = 0; j < BATCH; j++)
		memset(send_buf[j], 0x5a, BUF_LEN);

	double cpu0 = cpu_seconds();
	uint64_t start = now_ns(), end = start + (uint64_t)(seconds * 1e9), last_expire = start;
	uint64_t tick = (uint64_t)(tick_us * 1000);
	int64_t burst = rate > 0 ? (int64_t)(rate * (tick ? tick : 2000000) / 1e9) + BATCH : INT64_MAX;
	int rr = 0;

	while (!got_stop) {
		uint64_t now = now_ns();
		if (now >= end && (g->outstanding == 0 || now >= end + (uint64_t)LOSS_MS * 1000000u))
			break;
		if (now < end) {
			int64_t budget = INT64_MAX;
			if (rate > 0) {
				uint64_t t = tick ? (now - start) / tick * tick : now - start;
				int64_t due = (int64_t)((double)t * rate / 1e9);
				budget = due - (int64_t)(g->st.sent + g->st.send_fail);
				if (budget > burst)
					budget = burst;
			}
			for (int k = 0; k < g->nsock && budget > 0; k++) {
				int i = (rr + k) % g->nsock;
				int64_t room = g->window - g->sock[i].outstanding;
				int n = (int)(room < budget ? room : budget);
				if (n > BATCH)
					n = BATCH;
				if (n > 0)
					budget -= send_some(g, i, n, now);
			}
			rr = (rr + 1) % g->nsock;
		}
		struct epoll_event ev[256];
		int n = epoll_wait(ep, ev, 256, 1);
		for (int k = 0; k < n; k++)
			recv_all(g, (int)ev[k].data.u32);
		if (now - last_expire > 10000000u) {
			last_expire = now_ns(); /* not now: echoes since then moved progress_ns on */
			expire(g, last_expire);
		}
	}
	g->st.lost += (uint64_t)g->outstanding;

	const struct stats *st = &g->st;
	printf("sockets=%d size=%d seconds=%.3f sent=%llu received=%llu lost=%llu late=%llu "
	       "send_fail=%llu pps=%.0f rtt_avg=%.0f rtt_p50=%llu rtt_p90=%llu rtt_p99=%llu rtt_p999=%llu "
	       "rtt_max=%llu cpu=%.2f\n",
	       g->nsock, g->size, seconds, (unsigned long long)st->sent,
	       (unsigned long long)st->received, (unsigned long long)st->lost,
	       (unsigned long long)st->late, (unsigned long long)st->send_fail,
	       (double)st->received / seconds,
	       st->received ? (double)st->sum_ns / 1e3 / (double)st->received : 0.0,
	       (unsigned long long)percentile(st, 0.5),
	       (unsigned long long)percentile(st, 0.9), (unsigned long long)percentile(st, 0.99),
	       (unsigned long long)percentile(st, 0.999), (unsigned long long)(st->max_ns / 1000),
	       cpu_seconds() - cpu0);
	for (int i = 0; t && i < g->nsock; i++)
		turn_release(g->sock[i].fd, &creds[i], (uint32_t)i);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: load -s addr:port [-t secret -p peer:port] [-c sockets] [-l bytes] [-d seconds] [-w window] [-r pps [-T us]]\n"
			"       load -e addr:port [-d seconds]\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct gen g = { .nsock = 1, .size = 100, .window = 32 };
	struct sockaddr_storage addr;
	socklen_t len = 0;
	double seconds = -1, rate = 0, tick_us = 0;
	int echo = 0, opt;
	struct turn_setup turn = { 0 };
	struct sockaddr_storage peer;
	socklen_t peer_len = 0;

	while ((opt = getopt(argc, argv, "s:e:c:l:d:w:r:T:t:p:")) != -1) {
		switch (opt) {
		case 'e':
			echo = 1;
			/* fall through */
		case 's':
			if (parse_addr(optarg, &addr, &len) < 0)
				return usage();
			break;
		case 'c': g.nsock = atoi(optarg); break;
		case 'l': g.size = atoi(optarg); break;
		case 'd': seconds = atof(optarg); break;
		case 'w': g.window = atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'T': tick_us = atof(optarg); break;
		case 't': turn.secret = optarg; turn_mode = 1; break;
		case 'p':
			if (parse_addr(optarg, &peer, &peer_len) < 0 || peer.ss_family != AF_INET)
				return usage();
			memcpy(&turn.peer, &peer, sizeof turn.peer);
			break;
		default: return usage();
		}
	}
	if (seconds < 0)
		seconds = echo ? 0 : 10; /* an echo runs until SIGTERM by default */
	if (!len || g.nsock < 1 || g.nsock > MAX_SOCKS || g.size < MIN_SIZE || g.size > BUF_LEN ||
	    g.window < 1 || g.window > MAX_WINDOW || (!echo && seconds <= 0))
		return usage();

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (turn_mode && !peer_len)
		return usage();
	return echo ? run_echo(&addr, len, seconds)
		    : run_client(&g, &addr, len, seconds, rate, tick_us, turn_mode ? &turn : NULL);
}
