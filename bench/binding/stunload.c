/*
 * stunload: a STUN Binding load generator for bench/binding/run.sh. It opens
 * N connected UDP sockets to one server, keeps a window of W requests
 * outstanding on each, and for a fixed time sends with sendmmsg and receives
 * with recvmmsg, counting the answers that are Binding success responses to
 * a request it sent. A socket that hears nothing for 200 ms writes its
 * outstanding requests off as lost and refills its window, so a dropped
 * datagram costs throughput but never stalls the run.
 *
 *   stunload -s 127.0.0.1 -p 3478 [-c 16] [-w 32] [-d 10]
 *
 * Prints one line of key=value: sent, received, lost, bad, seconds, rps,
 * resp_bytes (size of the last answer), cpu (this process's CPU seconds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_SOCKS = 1024,
	MAX_WINDOW = 256,
	BATCH = 64,
	REQ_LEN = 20,
	BUF_LEN = 1500,
	LOSS_MS = 200,
	DRAIN_MS = 100,
};

struct flow {
	int fd;
	int outstanding;
	uint64_t seq;
	double last_rx;
};

static struct {
	uint64_t sent, received, lost, bad;
	size_t resp_bytes;
} st;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A Binding request whose transaction id is (flow index, sequence). */
static void make_request(uint8_t *p, uint32_t idx, uint64_t seq)
{
	static const uint8_t head[8] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42 };

	memcpy(p, head, sizeof head);
	memcpy(p + 8, &idx, 4);
	memcpy(p + 12, &seq, 8);
}

static int is_answer(const uint8_t *p, ssize_t n, uint32_t idx)
{
	uint32_t got;

	if (n < 20 || p[0] != 0x01 || p[1] != 0x01)
		return 0;
	if (p[4] != 0x21 || p[5] != 0x12 || p[6] != 0xA4 || p[7] != 0x42)
		return 0;
	if (20 + (((size_t)p[2] << 8) | p[3]) != (size_t)n)
		return 0;
	memcpy(&got, p + 8, 4);
	return got == idx;
}

static void fill(struct flow *f, uint32_t idx, int window)
{
	static uint8_t reqs[MAX_WINDOW][REQ_LEN];
	struct mmsghdr msgs[MAX_WINDOW];
	struct iovec iov[MAX_WINDOW];
	int n = window - f->outstanding, i, sent;

	if (n <= 0)
		return;
	memset(msgs, 0, sizeof(msgs[0]) * (size_t)n);
	for (i = 0; i < n; i++) {
		make_request(reqs[i], idx, f->seq++);
		iov[i].iov_base = reqs[i];
		iov[i].iov_len = REQ_LEN;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	sent = sendmmsg(f->fd, msgs, (unsigned)n, MSG_DONTWAIT);
	if (sent > 0) {
		f->outstanding += sent;
		st.sent += (uint64_t)sent;
	}
}

static void drain(struct flow *f, uint32_t idx, double t)
{
	static uint8_t bufs[BATCH][BUF_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int i, n;

	for (;;) {
		memset(msgs, 0, sizeof msgs);
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = BUF_LEN;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(f->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN, or ECONNREFUSED: nobody listening */
		for (i = 0; i < n; i++) {
			if (!is_answer(bufs[i], msgs[i].msg_len, idx)) {
				st.bad++;
				continue;
			}
			st.received++;
			st.resp_bytes = msgs[i].msg_len;
			if (f->outstanding > 0)
				f->outstanding--;
		}
		f->last_rx = t;
		if (n < BATCH)
			return;
	}
}

static int open_flow(struct flow *f, const struct sockaddr_storage *to, socklen_t len, int ep,
		     uint32_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };
	int buf = 1 << 20;

	f->fd = socket(to->ss_family, SOCK_DGRAM, 0);
	if (f->fd < 0 || connect(f->fd, (const struct sockaddr *)to, len) < 0)
		return -1;
	setsockopt(f->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	return epoll_ctl(ep, EPOLL_CTL_ADD, f->fd, &ev);
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return -1;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void run(struct flow *flows, int nflows, int ep, int window, double duration)
{
	struct epoll_event evs[MAX_SOCKS];
	double t0 = now(), t = t0, end = t0 + duration;
	int i, n;

	for (i = 0; i < nflows; i++) {
		flows[i].last_rx = t0;
		fill(&flows[i], (uint32_t)i, window);
	}
	while ((t = now()) < end + DRAIN_MS / 1000.0) {
		int sending = t < end;

		n = epoll_wait(ep, evs, nflows, 10);
		t = now();
		for (i = 0; i < n; i++) {
			uint32_t idx = evs[i].data.u32;

			drain(&flows[idx], idx, t);
			if (sending)
				fill(&flows[idx], idx, window);
		}
		for (i = 0; sending && i < nflows; i++) {
			struct flow *f = &flows[i];

			if (f->outstanding > 0 && t - f->last_rx > LOSS_MS / 1000.0) {
				st.lost += (uint64_t)f->outstanding;
				f->outstanding = 0;
				f->last_rx = t;
				fill(f, (uint32_t)i, window);
			}
		}
	}
	for (i = 0; i < nflows; i++)
		st.lost += (uint64_t)flows[i].outstanding;
	printf("sent=%llu received=%llu lost=%llu bad=%llu seconds=%.3f rps=%.0f "
	       "resp_bytes=%zu cpu=%.2f\n",
	       (unsigned long long)st.sent, (unsigned long long)st.received,
	       (unsigned long long)st.lost, (unsigned long long)st.bad, t - t0,
	       (double)st.received / (t - t0), st.resp_bytes, cpu_seconds());
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	int port = 3478, nflows = 16, window = 32, opt, ep, i;
	double duration = 10;
	struct sockaddr_storage to;
	socklen_t tolen;
	static struct flow flows[MAX_SOCKS];

	while ((opt = getopt(argc, argv, "s:p:c:w:d:")) != -1) {
		switch (opt) {
		case 's': host = optarg; break;
		case 'p': port = (int)strtol(optarg, NULL, 10); break;
		case 'c': nflows = (int)strtol(optarg, NULL, 10); break;
		case 'w': window = (int)strtol(optarg, NULL, 10); break;
		case 'd': duration = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: %s [-s host] [-p port] [-c sockets] [-w window] [-d seconds]\n",
				argv[0]);
			return 2;
		}
	}
	if (nflows < 1 || nflows > MAX_SOCKS || window < 1 || window > MAX_WINDOW ||
	    duration <= 0 || port < 1 || port > 65535 || parse_addr(host, port, &to, &tolen) < 0) {
		fprintf(stderr, "stunload: bad arguments\n");
		return 2;
	}
	ep = epoll_create1(0);
	if (ep < 0) {
		perror("epoll_create1");
		return 1;
	}
	for (i = 0; i < nflows; i++) {
		if (open_flow(&flows[i], &to, tolen, ep, (uint32_t)i) < 0) {
			perror("stunload: socket");
			return 1;
		}
	}
	run(flows, nflows, ep, window, duration);
	return 0;
}
