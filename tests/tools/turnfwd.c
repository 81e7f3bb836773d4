/*
 * turnfwd: carry UDP datagrams through a TURN allocation, for the tests and
 * benchmarks of WireGuard through TURN. It allocates on SERVER (UDP,
 * long-term credentials), binds a channel to PEER (or, with --send, only
 * permits it and uses Send indications), then forwards: every datagram a
 * local program sends to LISTEN goes to PEER through the relay, and what
 * PEER sends back goes to that program (the latest address that sent to
 * LISTEN). Point wireguard-go's endpoint at LISTEN and its datagrams reach
 * PEER from the relayed address.
 *
 *   turnfwd --server IP:PORT --user U --password P --peer IP:PORT
 *           [--listen IP:PORT] [--send]
 *
 * Prints "relayed=IP:PORT" once the allocation and the channel stand (or
 * "error: ..." and exits 1), refreshes both every minute, and on SIGINT or
 * SIGTERM deletes the allocation and prints "up=N down=M" (datagrams each
 * way). Batches of datagrams move with recvmmsg and sendmmsg, so a
 * benchmark measures the server rather than this.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <getopt.h>

#include "server/netaddr.h"
#include "stun/stun.h"

enum {
	BATCH = 32,
	SLOT = 2048,
	CHANNEL = 0x4000,
	REFRESH_S = 60,
	LIFETIME_S = 600,
};

struct fwd {
	int srv, loc; /* sockets: to the server (connected), for the local program */
	struct stun_addr peer;
	const char *user, *pass;
	char realm[STUN_MAX_REALM + 1], nonce[STUN_MAX_NONCE + 1];
	uint8_t key[32];
	size_t keylen;
	bool send_mode;
	struct sockaddr_storage client; /* the local program; family 0 until it sends */
	socklen_t client_len;
	unsigned long long up, down;
	uint8_t rx[BATCH][SLOT], tx[BATCH][SLOT];
	struct mmsghdr rmsg[BATCH], smsg[BATCH];
	struct iovec riov[BATCH], siov[BATCH];
	struct sockaddr_storage from[BATCH];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what, const char *why)
{
	printf("error: %s: %s\n", what, why);
	exit(1);
}

static size_t build(struct fwd *f, uint8_t *buf, size_t cap, uint16_t method,
		    uint16_t cls, uint8_t tid[STUN_TID_LEN], int lifetime, bool channel)
{
	struct stun_builder b;

	if (getrandom(tid, STUN_TID_LEN, 0) != STUN_TID_LEN)
		die("getrandom", strerror(errno));
	stun_build_init(&b, buf, cap, stun_type(method, cls), tid);
	if (method == TURN_ALLOCATE)
		stun_put_u32(&b, TURN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
	if (lifetime >= 0)
		stun_put_u32(&b, TURN_ATTR_LIFETIME, (uint32_t)lifetime);
	if (channel)
		stun_put_u32(&b, TURN_ATTR_CHANNEL_NUMBER, (uint32_t)CHANNEL << 16);
	if (method == TURN_CHANNEL_BIND || method == TURN_CREATE_PERMISSION)
		stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &f->peer, true);
	if (f->keylen) {
		stun_put(&b, STUN_ATTR_USERNAME, f->user, strlen(f->user));
		stun_put(&b, STUN_ATTR_REALM, f->realm, strlen(f->realm));
		stun_put(&b, STUN_ATTR_NONCE, f->nonce, strlen(f->nonce));
		stun_put_integrity(&b, f->key, f->keylen);
	}
	return stun_build_finish(&b);
}

static void copy_text(char *dst, size_t cap, const struct stun_attr *a)
{
	size_t n = a->len < cap - 1 ? a->len : cap - 1;

	memcpy(dst, a->v, n);
	dst[n] = '\0';
}

/* One request, answered: retried on loss, once more with credentials after
 * a 401 or a 438. Returns the response's class; *m views buf. */
static uint16_t request(struct fwd *f, uint16_t method, int lifetime, bool channel,
			struct stun_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t tid[STUN_TID_LEN], req[1024];

	for (int auth_tries = 0; auth_tries < 3; auth_tries++) {
		size_t len = build(f, req, sizeof req, method, STUN_REQUEST, tid, lifetime, channel);
		const uint8_t *reason;
		size_t reason_len;
		int code = 0;

		for (int tries = 0;; tries++) {
			struct pollfd p = { f->srv, POLLIN, 0 };
			ssize_t n;

			if (tries == 7)
				die("request", "no answer from the server");
			if (send(f->srv, req, len, 0) < 0)
				die("send", strerror(errno));
			if (poll(&p, 1, 500 << (tries < 3 ? tries : 3)) <= 0)
				continue;
			n = recv(f->srv, buf, cap, 0);
			if (n > 0 && stun_parse(m, buf, (size_t)n) == STUN_OK &&
			    memcmp(m->tid, tid, STUN_TID_LEN) == 0)
				break;
		}
		if (m->cls != STUN_ERROR)
			return m->cls;
		stun_attr_error(&m->a[SA_ERROR_CODE], &code, &reason, &reason_len);
		if ((code != 401 && code != 438) || !m->a[SA_NONCE].v)
			return m->cls;
		copy_text(f->nonce, sizeof f->nonce, &m->a[SA_NONCE]);
		if (m->a[SA_REALM].v)
			copy_text(f->realm, sizeof f->realm, &m->a[SA_REALM]);
		f->keylen = stun_lt_key(STUN_PWALG_MD5, f->user, strlen(f->user), f->realm, strlen(f->realm),
					f->pass, strlen(f->pass), f->key);
	}
	return m->cls;
}

static void must_succeed(struct fwd *f, const char *what, uint16_t method, int lifetime,
			 bool channel, struct stun_msg *m, uint8_t *buf, size_t cap)
{
	const uint8_t *reason;
	size_t reason_len;
	char why[64];
	int code = 0;

	if (request(f, method, lifetime, channel, m, buf, cap) == STUN_SUCCESS)
		return;
	stun_attr_error(&m->a[SA_ERROR_CODE], &code, &reason, &reason_len);
	snprintf(why, sizeof why, "error %d", code);
	die(what, why);
}

/* The periodic refresh, answered in the main loop (and ignored there). */
static void refresh(struct fwd *f)
{
	uint8_t tid[STUN_TID_LEN], req[1024];
	size_t n;

	n = build(f, req, sizeof req, TURN_REFRESH, STUN_REQUEST, tid, LIFETIME_S, false);
	send(f->srv, req, n, 0);
	n = f->send_mode
		    ? build(f, req, sizeof req, TURN_CREATE_PERMISSION, STUN_REQUEST, tid, -1, false)
		    : build(f, req, sizeof req, TURN_CHANNEL_BIND, STUN_REQUEST, tid, -1, true);
	send(f->srv, req, n, 0);
}

static void send_batch(int fd, struct mmsghdr *m, int n)
{
	for (int at = 0; at < n;) {
		int r = sendmmsg(fd, m + at, (unsigned)(n - at), 0);

		at += r > 0 ? r : 1; /* a datagram the kernel refused is lost */
	}
}

static int receive(struct fwd *f, int fd, size_t headroom)
{
	for (int i = 0; i < BATCH; i++) {
		f->riov[i] = (struct iovec){ f->rx[i] + headroom, SLOT - headroom };
		f->rmsg[i].msg_hdr = (struct msghdr){ .msg_name = &f->from[i],
						      .msg_namelen = sizeof f->from[i],
						      .msg_iov = &f->riov[i], .msg_iovlen = 1 };
	}
	return recvmmsg(fd, f->rmsg, BATCH, MSG_DONTWAIT, NULL);
}

/* The local program's datagrams, to the peer. */
static void upstream(struct fwd *f)
{
	int n = receive(f, f->loc, 4), q = 0;

	for (int i = 0; i < n; i++) {
		size_t len = f->rmsg[i].msg_len;

		f->client = f->from[i];
		f->client_len = f->rmsg[i].msg_hdr.msg_namelen;
		if (f->send_mode) {
			struct stun_builder b;
			uint8_t tid[STUN_TID_LEN] = { 0 };

			memcpy(tid, &f->up, sizeof f->up < sizeof tid ? sizeof f->up : sizeof tid);
			stun_build_init(&b, f->tx[q], SLOT, stun_type(TURN_SEND, STUN_INDICATION), tid);
			stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &f->peer, true);
			stun_put(&b, TURN_ATTR_DATA, f->rx[i] + 4, len);
			f->siov[q] = (struct iovec){ f->tx[q], stun_build_finish(&b) };
			if (!f->siov[q].iov_len)
				continue;
		} else {
			channel_put_header(f->rx[i], CHANNEL, (uint16_t)len);
			f->siov[q] = (struct iovec){ f->rx[i], len + 4 };
		}
		f->smsg[q].msg_hdr = (struct msghdr){ .msg_iov = &f->siov[q], .msg_iovlen = 1 };
		q++;
		f->up++;
	}
	send_batch(f->srv, f->smsg, q);
}

/* The server's: ChannelData and Data indications to the local program;
 * answers to refreshes are dropped here. */
static void downstream(struct fwd *f)
{
	int n = receive(f, f->srv, 0), q = 0;

	for (int i = 0; i < n; i++) {
		const uint8_t *p = f->rx[i], *data = NULL;
		size_t len = f->rmsg[i].msg_len;
		uint16_t ch, dlen = 0;
		struct stun_msg m;

		if (channel_looks_like(p, len) && channel_parse(p, len, &ch, &data, &dlen)) {
		} else if (stun_parse(&m, p, len) == STUN_OK && m.method == TURN_DATA &&
			   m.cls == STUN_INDICATION && m.a[SA_DATA].v) {
			data = m.a[SA_DATA].v;
			dlen = m.a[SA_DATA].len;
		}
		if (!data || !f->client_len)
			continue;
		f->siov[q] = (struct iovec){ (void *)(uintptr_t)data, dlen };
		f->smsg[q].msg_hdr = (struct msghdr){ .msg_name = &f->client,
						      .msg_namelen = f->client_len,
						      .msg_iov = &f->siov[q], .msg_iovlen = 1 };
		q++;
		f->down++;
	}
	send_batch(f->loc, f->smsg, q);
}

static int udp_socket(const char *hostport, bool do_bind, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	int fd, size = 4 << 20;

	if (!netaddr_parse_hostport(hostport, ss, len))
		die(hostport, "not IP:PORT");
	fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
	if (do_bind ? bind(fd, (struct sockaddr *)ss, *len) : connect(fd, (struct sockaddr *)ss, *len))
		die(hostport, strerror(errno));
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", 1, NULL, 's' }, { "user", 1, NULL, 'u' },
		{ "password", 1, NULL, 'w' }, { "peer", 1, NULL, 'p' },
		{ "listen", 1, NULL, 'l' }, { "send", 0, NULL, 'S' }, { 0 },
	};
	static struct fwd f;
	const char *server = NULL, *peer = NULL, *listen = "127.0.0.1:51821";
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t buf[2048];
	struct stun_msg m;
	struct stun_addr relayed;
	char text[NETADDR_STRLEN];
	time_t next;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'u': f.user = optarg; break;
		case 'w': f.pass = optarg; break;
		case 'p': peer = optarg; break;
		case 'l': listen = optarg; break;
		case 'S': f.send_mode = true; break;
		default: return 2;
		}
	}
	if (!server || !peer || !f.user || !f.pass) {
		fprintf(stderr, "usage: turnfwd --server IP:PORT --user U --password P "
				"--peer IP:PORT [--listen IP:PORT] [--send]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!netaddr_parse_hostport(peer, &ss, &sl) ||
	    !netaddr_to_stun((struct sockaddr *)&ss, &f.peer))
		die(peer, "not IP:PORT");
	f.srv = udp_socket(server, false, &ss, &sl);
	f.loc = udp_socket(listen, true, &ss, &sl);
	must_succeed(&f, "allocate", TURN_ALLOCATE, LIFETIME_S, false, &m, buf, sizeof buf);
	if (!m.a[SA_XOR_RELAYED_ADDRESS].v ||
	    !stun_attr_addr(&m, &m.a[SA_XOR_RELAYED_ADDRESS], true, &relayed))
		die("allocate", "no XOR-RELAYED-ADDRESS");
	if (f.send_mode)
		must_succeed(&f, "create permission", TURN_CREATE_PERMISSION, -1, false, &m, buf,
			     sizeof buf);
	else
		must_succeed(&f, "channel bind", TURN_CHANNEL_BIND, -1, true, &m, buf, sizeof buf);
	netaddr_from_stun(&relayed, &ss);
	printf("relayed=%s\n", netaddr_str((struct sockaddr *)&ss, text, sizeof text));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	next = time(NULL) + REFRESH_S;
	while (!stop) {
		struct pollfd p[2] = { { f.loc, POLLIN, 0 }, { f.srv, POLLIN, 0 } };

		if (poll(p, 2, 1000) > 0) {
			if (p[0].revents & POLLIN)
				upstream(&f);
			if (p[1].revents & POLLIN)
				downstream(&f);
		}
		if (time(NULL) >= next) {
			refresh(&f);
			next = time(NULL) + REFRESH_S;
		}
	}
	{ /* delete the allocation; no need to hear the answer */
		uint8_t tid[STUN_TID_LEN], req[1024];
		size_t n = build(&f, req, sizeof req, TURN_REFRESH, STUN_REQUEST, tid, 0, false);

		send(f.srv, req, n, 0);
	}
	printf("up=%llu down=%llu\n", f.up, f.down);
	return 0;
}
