/*
 * WireGuard handshake load for bench/wireguard/run.sh, beside its responder
 * (ternd or wireguard-go): many peers, each on its own UDP socket, each
 * sending initiations built ahead of time (tests/unit/wginit.h) with
 * timestamps that count up, at most one per peer per 25 ms so the
 * responders' 50-a-second flood limit never bites.
 *
 *   hsload keys N FILE          N peer keys: FILE.conf gets "[Peer]" blocks
 *                               for the responder, FILE.key the private keys
 *   hsload x25519 SECONDS       X25519 scalar multiplications per CPU-second
 *   hsload run ADDR:PORT PUB FILE SECONDS WINDOW
 *                               up to WINDOW initiations outstanding; prints
 *                               sent= responses= cookies= seconds=
 *   hsload flood ADDR:PORT PUB FILE SECONDS
 *                               as fast as it can, no window and no gap,
 *                               the same initiations over and over: a flood
 *   hsload lat ADDR:PORT PUB FILE ROUNDS
 *                               one handshake at a time, every peer in turn,
 *                               ROUNDS times: per round p50_us= p99_us=
 *                               answered= of peers= (bench/peers: the first
 *                               round finds them cold, the next warm)
 *   hsload once ADDR:PORT PUB FILE WINDOW
 *                               one initiation per peer, WINDOW outstanding:
 *                               responses= seconds= (every one cold)
 *
 * Not a test: it counts, it does not check the responses' contents.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/wginit.h"

enum { PER_PEER = 48, GAP_MS = 25 };

static double now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_keys(int n, const char *file)
{
	char path[4096], pub[64];
	FILE *conf, *keys;

	snprintf(path, sizeof path, "%s.conf", file);
	conf = fopen(path, "w");
	snprintf(path, sizeof path, "%s.key", file);
	keys = fopen(path, "wb");
	if (!conf || !keys || sodium_init() < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		uint8_t priv[32], p[32];

		randombytes_buf(priv, 32);
		crypto_scalarmult_base(p, priv);
		sodium_bin2base64(pub, sizeof pub, p, 32, sodium_base64_VARIANT_ORIGINAL);
		fprintf(conf, "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\n\n", pub,
			100 + i / 65536, i / 256 % 256, i % 256);
		fwrite(priv, 1, 32, keys);
	}
	fclose(conf);
	return fclose(keys) ? 1 : 0;
}

static int cmd_x25519(double seconds)
{
	uint8_t k[32], u[32], out[32];
	double t0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	long n = 0;

	randombytes_buf(k, 32);
	crypto_scalarmult_base(u, k);
	while (now_s(CLOCK_PROCESS_CPUTIME_ID) - t0 < seconds) {
		for (int i = 0; i < 100; i++, n++)
			if (crypto_scalarmult(out, k, u) == 0)
				u[0] ^= out[0] & 1;
	}
	printf("x25519_per_cpu_second=%.0f\n", (double)n / (now_s(CLOCK_PROCESS_CPUTIME_ID) - t0));
	return 0;
}

struct peer {
	int fd;
	uint8_t (*msg)[148];
	int next;
	double last;
	bool waiting;
};

/* Every peer's initiations (per of them), made before the clock starts. */
static struct peer *prepare(const char *file, const uint8_t server[32], const char *addr,
			    int *n_out, int per)
{
	char path[4096], host[64];
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct blake2s *b = blake2s_new();
	struct peer *peers = NULL;
	FILE *f;
	int n = 0;
	char *colon;

	snprintf(host, sizeof host, "%s", addr);
	colon = strrchr(host, ':');
	if (!colon || !b)
		return NULL;
	*colon = '\0';
	sin.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, host, &sin.sin_addr);
	snprintf(path, sizeof path, "%s.key", file);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	for (;;) {
		struct initiator x;
		uint8_t priv[32];

		if (fread(priv, 1, 32, f) != 32)
			break;
		peers = realloc(peers, (size_t)(n + 1) * sizeof *peers);
		memset(&peers[n], 0, sizeof peers[n]);
		initiator_init(&x, server, 0);
		memcpy(x.priv, priv, 32);
		crypto_scalarmult_base(x.pub, priv);
		x.ts += (uint64_t)time(NULL) - 1700000000; /* newer than any run before */
		peers[n].msg = malloc((size_t)per * sizeof *peers[n].msg);
		if (!peers[n].msg)
			return NULL;
		for (int i = 0; i < per; i++)
			initiation(b, &x, peers[n].msg[i]);
		peers[n].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (peers[n].fd < 0 ||
		    connect(peers[n].fd, (struct sockaddr *)&sin, sizeof sin) < 0)
			return NULL;
		n++;
	}
	fclose(f);
	blake2s_free(b);
	*n_out = n;
	return peers;
}

static int cmd_run(const char *addr, const char *pub, const char *file, double seconds,
		   int window)
{
	uint8_t server[32];
	struct peer *peers;
	struct pollfd *pfd;
	long sent = 0, responses = 0, cookies = 0;
	int n = 0, outstanding = 0, rr = 0;
	struct rlimit rl;
	double t0;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (sodium_init() < 0 || sodium_base642bin(server, 32, pub, strlen(pub), NULL, NULL, NULL,
						   sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    !(peers = prepare(file, server, addr, &n, PER_PEER)) || !n)
		return 1;
	pfd = calloc((size_t)n, sizeof *pfd);
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
	t0 = now_s(CLOCK_MONOTONIC);
	while (now_s(CLOCK_MONOTONIC) - t0 < seconds) {
		double t = now_s(CLOCK_MONOTONIC);

		/* send while the window has room: the next peer that may */
		for (int tries = 0; tries < n && (window <= 0 || outstanding < window); tries++) {
			struct peer *p = &peers[rr];

			rr = (rr + 1) % n;
			if (window <= 0) { /* a flood: again and again, replays too */
				if (send(p->fd, p->msg[p->next++ % PER_PEER], 148, 0) == 148)
					sent++;
				continue;
			}
			if (p->next >= PER_PEER || p->waiting || t - p->last < GAP_MS / 1000.0)
				continue;
			if (send(p->fd, p->msg[p->next], 148, 0) == 148) {
				p->next++, sent++, outstanding++;
				p->last = t, p->waiting = true;
			}
		}
		if (poll(pfd, (nfds_t)n, window > 0 ? 5 : 0) < 0)
			break;
		for (int i = 0; i < n; i++) {
			uint8_t buf[256];
			ssize_t r;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((r = recv(peers[i].fd, buf, sizeof buf, 0)) > 0) {
				responses += buf[0] == 2;
				cookies += buf[0] == 3;
				if (peers[i].waiting) {
					peers[i].waiting = false;
					outstanding--;
				}
			}
		}
		/* an answer lost for good must not hold the window shut */
		for (int i = 0; i < n; i++)
			if (peers[i].waiting && t - peers[i].last > 1.0) {
				peers[i].waiting = false;
				outstanding--;
			}
	}
	printf("sent=%ld responses=%ld cookies=%ld seconds=%.3f peers=%d\n", sent, responses,
	       cookies, now_s(CLOCK_MONOTONIC) - t0, n);
	return 0;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static bool parse_key(const char *pub, uint8_t out[32])
{
	return sodium_init() >= 0 && sodium_base642bin(out, 32, pub, strlen(pub), NULL, NULL, NULL,
						       sodium_base64_VARIANT_ORIGINAL) == 0;
}

/* One peer's handshake, start to response: seconds, or -1 if none in 1 s. */
static double one(struct peer *p, int i)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	uint8_t buf[256];
	double t0 = now_s(CLOCK_MONOTONIC);

	while (recv(p->fd, buf, sizeof buf, 0) > 0) /* a late answer from before */
		;
	if (send(p->fd, p->msg[i], 148, 0) != 148)
		return -1;
	while (poll(&pfd, 1, 1000) == 1)
		if (recv(p->fd, buf, sizeof buf, 0) > 0 && buf[0] == 2)
			return now_s(CLOCK_MONOTONIC) - t0;
	return -1;
}

static int cmd_lat(const char *addr, const char *pub, const char *file, int rounds)
{
	uint8_t server[32];
	struct peer *peers;
	double *lat;
	int n = 0;

	if (rounds < 1 || rounds > PER_PEER || !parse_key(pub, server) ||
	    !(peers = prepare(file, server, addr, &n, rounds)) || !n ||
	    !(lat = calloc((size_t)n, sizeof *lat)))
		return 1;
	for (int r = 0; r < rounds; r++) {
		int got = 0;

		for (int i = 0; i < n; i++) {
			double t = one(&peers[i], r);

			if (t >= 0)
				lat[got++] = t;
			usleep(GAP_MS * 1000 / 10); /* not a load test */
		}
		qsort(lat, (size_t)got, sizeof *lat, by_double);
		printf("round=%d p50_us=%.0f p99_us=%.0f answered=%d peers=%d\n", r + 1,
		       got ? lat[got / 2] * 1e6 : 0, got ? lat[(got * 99) / 100] * 1e6 : 0, got, n);
	}
	return 0;
}

static int cmd_once(const char *addr, const char *pub, const char *file, int window)
{
	uint8_t server[32], buf[256];
	struct peer *peers;
	struct pollfd *pfd;
	long responses = 0;
	int n = 0, next = 0, outstanding = 0;
	struct rlimit rl;
	double t0, last;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!parse_key(pub, server) || !(peers = prepare(file, server, addr, &n, 1)) || !n ||
	    !(pfd = calloc((size_t)n, sizeof *pfd)))
		return 1;
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = peers[i].fd, .events = POLLIN };
	t0 = last = now_s(CLOCK_MONOTONIC);
	while ((next < n || outstanding > 0) && now_s(CLOCK_MONOTONIC) - last < 2.0) {
		for (; next < n && outstanding < window; next++)
			if (send(peers[next].fd, peers[next].msg[0], 148, 0) == 148)
				outstanding++, last = now_s(CLOCK_MONOTONIC);
		if (poll(pfd, (nfds_t)n, 5) < 0)
			break;
		for (int i = 0; i < n; i++)
			if (pfd[i].revents & POLLIN)
				while (recv(peers[i].fd, buf, sizeof buf, 0) > 0) {
					responses += buf[0] == 2;
					outstanding--;
					last = now_s(CLOCK_MONOTONIC);
				}
	}
	printf("responses=%ld seconds=%.3f peers=%d\n", responses, last - t0, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "keys") == 0)
		return cmd_keys(atoi(argv[2]), argv[3]);
	if (argc == 3 && strcmp(argv[1], "x25519") == 0)
		return cmd_x25519(atof(argv[2]));
	if (argc == 7 && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], argv[3], argv[4], atof(argv[5]), atoi(argv[6]));
	if (argc == 6 && strcmp(argv[1], "flood") == 0)
		return cmd_run(argv[2], argv[3], argv[4], atof(argv[5]), 0);
	if (argc == 6 && strcmp(argv[1], "lat") == 0)
		return cmd_lat(argv[2], argv[3], argv[4], atoi(argv[5]));
	if (argc == 6 && strcmp(argv[1], "once") == 0)
		return cmd_once(argv[2], argv[3], argv[4], atoi(argv[5]));
	fprintf(stderr, "usage: hsload keys N FILE | x25519 SECONDS | "
			"run ADDR:PORT PUB FILE SECONDS WINDOW | flood ADDR:PORT PUB FILE SECONDS |\n"
			"       lat ADDR:PORT PUB FILE ROUNDS | once ADDR:PORT PUB FILE WINDOW\n");
	return 2;
}
