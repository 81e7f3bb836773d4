/*
 * tern-wsproxy: the client side of WireGuard (or TURN) over WebSocket
 * (issue 12). A UDP socket on one side, a WebSocket to ternd on the other:
 * each datagram the local client sends becomes one binary message, each
 * message that comes back is sent to the address the latest datagram came
 * from. WireGuard sets Endpoint = 127.0.0.1:51820 and never knows.
 *
 *   tern-wsproxy [--listen ADDR:PORT] [--ca FILE] [--insecure] URL
 *
 * The connection is made again after any failure, with a backoff from a
 * quarter second doubling to 30 s; datagrams that come while it is down are
 * dropped (WireGuard retransmits its handshakes). wss:// checks the
 * server's certificate and name against the system's CAs or --ca.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <wslay/wslay.h>

#include "server/netaddr.h"
#include "server/ws.h"

enum {
	MAX_DATAGRAM = 65536,
	MAX_HEAD = 8192,            /* the server's upgrade response */
	MAX_OUTPUT = 1 << 20,       /* unsent to the server: past it, drop */
	BACKOFF_MIN_MS = 250,
	BACKOFF_MAX_MS = 30000,
	CONNECT_TIMEOUT_S = 10,     /* TCP, TLS and the upgrade together */
};

struct proxy {
	struct event_base *base;
	const char *url;
	bool tls;
	char host[256], port[8], path[512];
	SSL_CTX *ssl_ctx;
	int udp;
	struct event *udp_ev, *retry;
	struct sockaddr_storage client; /* where the latest datagram came from */
	socklen_t client_len;
	struct bufferevent *bev;
	wslay_event_context_ptr ws;  /* once upgraded */
	char key[32];                /* Sec-WebSocket-Key sent */
	int backoff_ms;
	uint8_t buf[MAX_DATAGRAM];
};

static void dial(struct proxy *p);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void usage(void)
{
	fprintf(stderr, "usage: tern-wsproxy [--listen ADDR:PORT] [--ca FILE] [--insecure] URL\n"
			"  URL: ws://HOST[:PORT]/PATH or wss://HOST[:PORT]/PATH (/wg, /turn)\n");
	exit(2);
}

/* ws://host[:port][/path] or wss://...; host may be [v6]. */
static bool parse_url(struct proxy *p, const char *url)
{
	const char *h, *end, *slash;
	size_t n;

	if (!strncmp(url, "wss://", 6))
		p->tls = true, h = url + 6;
	else if (!strncmp(url, "ws://", 5))
		h = url + 5;
	else
		return false;
	slash = strchr(h, '/');
	snprintf(p->path, sizeof p->path, "%s", slash ? slash : "/");
	end = slash ? slash : h + strlen(h);
	snprintf(p->port, sizeof p->port, "%s", p->tls ? "443" : "80");
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb || rb == h + 1)
			return false;
		n = (size_t)(rb - h - 1);
		if (n >= sizeof p->host)
			return false;
		memcpy(p->host, h + 1, n);
		p->host[n] = '\0';
		h = rb + 1;
		if (h < end && *h != ':')
			return false;
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		n = (size_t)((colon ? colon : end) - h);
		if (n == 0 || n >= sizeof p->host)
			return false;
		memcpy(p->host, h, n);
		p->host[n] = '\0';
		h += n;
	}
	if (h < end) { /* ":port" */
		char *e;
		long port = strtol(h + 1, &e, 10);

		if (e != end || port < 1 || port > 65535)
			return false;
		snprintf(p->port, sizeof p->port, "%ld", port);
	}
	return true;
}

/* ---- the WebSocket ---------------------------------------------------------- */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
		       void *arg)
{
	struct proxy *p = arg;
	int n = evbuffer_remove(bufferevent_get_input(p->bev), buf, len);

	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
		       void *arg)
{
	struct proxy *p = arg;

	if (evbuffer_add(bufferevent_get_output(p->bev), data, len) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static int on_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

/* A message from the server: a datagram for the local client. */
static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
		       void *arg)
{
	struct proxy *p = arg;

	if (a->opcode != WSLAY_BINARY_FRAME || !p->client_len)
		return;
	sendto(p->udp, a->msg, a->msg_length, 0, (struct sockaddr *)&p->client, p->client_len);
}

/* Drop the connection and try again after the backoff. */
static void retry(struct proxy *p, const char *why)
{
	struct timeval tv = { p->backoff_ms / 1000, p->backoff_ms % 1000 * 1000 };

	fprintf(stderr, "tern-wsproxy: %s: %s; again in %.2g s\n", p->url, why,
		p->backoff_ms / 1000.0);
	ERR_clear_error();
	if (p->ws)
		wslay_event_context_free(p->ws);
	p->ws = NULL;
	if (p->bev)
		bufferevent_free(p->bev);
	p->bev = NULL;
	evtimer_add(p->retry, &tv);
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static void flush(struct proxy *p)
{
	if (wslay_event_send(p->ws) != 0)
		retry(p, "write failed");
	else if (!wslay_event_want_read(p->ws) && !wslay_event_want_write(p->ws))
		retry(p, "closed by the server");
}

static void on_frames(struct bufferevent *bev, void *arg)
{
	struct proxy *p = arg;

	if (wslay_event_recv(p->ws) != 0) {
		retry(p, "read failed");
		return;
	}
	flush(p);
}

/* The value of header name in the head (NUL-terminated), into out. */
static bool header(const char *head, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (const char *l = strchr(head, '\n'); l; l = strchr(l, '\n')) {
		const char *v, *e;

		l++;
		if (strncasecmp(l, name, n) || l[n] != ':')
			continue;
		for (v = l + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v; *e && *e != '\r' && *e != '\n'; e++)
			;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - v) >= cap)
			return false;
		memcpy(out, v, (size_t)(e - v));
		out[e - v] = '\0';
		return true;
	}
	return false;
}

/* The server's answer to the upgrade: 101 and the right accept value. */
static void on_head(struct bufferevent *bev, void *arg)
{
	static const struct wslay_event_callbacks cb = {
		.recv_callback = on_recv, .send_callback = on_send,
		.genmask_callback = on_genmask, .on_msg_recv_callback = on_message,
	};
	struct proxy *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char head[MAX_HEAD + 1], want[WS_ACCEPT_LEN + 1], got[64], line[80];
	size_t n;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > MAX_HEAD)
			retry(p, "no end to the server's answer");
		return;
	}
	n = (size_t)end.pos + 4;
	if (n > MAX_HEAD) {
		retry(p, "the server's answer is too long");
		return;
	}
	evbuffer_remove(in, head, n);
	head[n] = '\0';
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		snprintf(line, sizeof line, "refused: %.*s", (int)strcspn(head, "\r\n"), head);
		retry(p, line);
		return;
	}
	ws_accept(p->key, want);
	if (!header(head, "Sec-WebSocket-Accept", got, sizeof got) || strcmp(got, want) != 0) {
		retry(p, "not a WebSocket server (Sec-WebSocket-Accept)");
		return;
	}
	if (wslay_event_context_client_init(&p->ws, &cb, p) != 0) {
		retry(p, "out of memory");
		return;
	}
	wslay_event_config_set_max_recv_msg_length(p->ws, MAX_DATAGRAM);
	bufferevent_setcb(bev, on_frames, NULL, on_event, p);
	bufferevent_set_timeouts(bev, NULL, NULL);
	p->backoff_ms = BACKOFF_MIN_MS;
	printf("tern-wsproxy: connected to %s\n", p->url);
	fflush(stdout);
	if (evbuffer_get_length(in))
		on_frames(bev, p);
}

/* The reason a connection failed: the certificate, TLS, or the socket. */
static const char *why_failed(struct proxy *p, struct bufferevent *bev)
{
	static char why[256];
	SSL *ssl = p->tls ? bufferevent_openssl_get_ssl(bev) : NULL;
	long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = p->tls ? bufferevent_get_openssl_error(bev) : 0;
	int se = EVUTIL_SOCKET_ERROR();

	if (v != X509_V_OK)
		snprintf(why, sizeof why, "certificate: %s (--ca FILE, or --insecure)",
			 X509_verify_cert_error_string(v));
	else if (e)
		snprintf(why, sizeof why, "TLS: %s", ERR_reason_error_string(e));
	else
		snprintf(why, sizeof why, "%s", se ? evutil_socket_error_to_string(se) : "failed");
	return why;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct proxy *p = arg;
	char req[1024];
	uint8_t nonce[16];
	bool wg = !strcmp(p->path, "/") || (strlen(p->path) >= 3 &&
					     !strcmp(p->path + strlen(p->path) - 3, "/wg"));

	if (what & BEV_EVENT_CONNECTED) {
		RAND_bytes(nonce, sizeof nonce);
		EVP_EncodeBlock((uint8_t *)p->key, nonce, sizeof nonce);
		snprintf(req, sizeof req,
			 "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
			 p->path, strchr(p->host, ':') ? "[" : "", p->host,
			 strchr(p->host, ':') ? "]" : "", p->port, p->key, wg ? "wireguard" : "turn");
		bufferevent_write(bev, req, strlen(req));
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		retry(p, "timed out");
	else if (what & BEV_EVENT_EOF)
		retry(p, "connection closed");
	else if (what & BEV_EVENT_ERROR)
		retry(p, why_failed(p, bev));
}

static SSL *new_ssl(struct proxy *p)
{
	SSL *ssl = SSL_new(p->ssl_ctx);
	unsigned char ip[16];
	bool literal = inet_pton(AF_INET, p->host, ip) == 1 || inet_pton(AF_INET6, p->host, ip) == 1;

	if (!ssl)
		return NULL;
	if (!literal)
		SSL_set_tlsext_host_name(ssl, p->host);
	if (SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE &&
	    !(literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), p->host)
		      : SSL_set1_host(ssl, p->host))) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

static void dial(struct proxy *p)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { CONNECT_TIMEOUT_S, 0 };
	int rc = getaddrinfo(p->host, p->port, &hints, &ai);

	if (rc != 0) {
		retry(p, gai_strerror(rc));
		return;
	}
	if (p->tls) {
		SSL *ssl = new_ssl(p);

		p->bev = ssl ? bufferevent_openssl_socket_new(p->base, -1, ssl,
							      BUFFEREVENT_SSL_CONNECTING,
							      BEV_OPT_CLOSE_ON_FREE)
			     : NULL;
		if (p->bev)
			bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
		else if (ssl)
			SSL_free(ssl);
	} else {
		p->bev = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!p->bev) {
		freeaddrinfo(ai);
		retry(p, "out of memory");
		return;
	}
	bufferevent_setcb(p->bev, on_head, NULL, on_event, p);
	bufferevent_set_timeouts(p->bev, &tv, &tv);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	rc = bufferevent_socket_connect(p->bev, ai->ai_addr, (int)ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0)
		retry(p, strerror(errno));
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	dial(arg);
}

/* ---- the UDP side --------------------------------------------------------------- */

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, p->buf, sizeof p->buf, 0, (struct sockaddr *)&from, &fl);
		struct wslay_event_msg m = { WSLAY_BINARY_FRAME, p->buf, (size_t)n };

		if (n < 0)
			return;
		p->client = from;
		p->client_len = fl;
		if (!p->ws || evbuffer_get_length(bufferevent_get_output(p->bev)) +
				      wslay_event_get_queued_msg_length(p->ws) > MAX_OUTPUT)
			continue; /* not connected, or the server is behind: dropped */
		if (wslay_event_queue_msg(p->ws, &m) != 0)
			continue;
		flush(p);
	}
}

static int listen_udp(const char *spec)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd;

	if (!netaddr_parse_hostport(spec, &ss, &sl)) {
		fprintf(stderr, "tern-wsproxy: --listen %s: not ADDR:PORT\n", spec);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "tern-wsproxy: --listen %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "ca", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct proxy p = { .backoff_ms = BACKOFF_MIN_MS };
	const char *listen = "127.0.0.1:51820", *ca = NULL;
	bool insecure = false;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'l')
			listen = optarg;
		else if (o == 'c')
			ca = optarg;
		else if (o == 'k')
			insecure = true;
		else
			usage();
	}
	if (optind != argc - 1)
		usage();
	p.url = argv[optind];
	if (!parse_url(&p, p.url)) {
		fprintf(stderr, "tern-wsproxy: '%s' is not ws://HOST[:PORT]/PATH or wss://...\n",
			p.url);
		return 2;
	}
	if (p.tls) {
		p.ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!p.ssl_ctx)
			return 1;
		SSL_CTX_set_min_proto_version(p.ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(p.ssl_ctx, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
		if (ca ? SSL_CTX_load_verify_locations(p.ssl_ctx, ca, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(p.ssl_ctx) != 1) {
			fprintf(stderr, "tern-wsproxy: %s: cannot load CA certificates\n",
				ca ? ca : "the system's");
			return 1;
		}
	}
	p.udp = listen_udp(listen);
	if (p.udp < 0)
		return 1;
	p.base = event_base_new();
	p.udp_ev = p.base ? event_new(p.base, p.udp, EV_READ | EV_PERSIST, on_udp, &p) : NULL;
	p.retry = p.base ? evtimer_new(p.base, on_retry, &p) : NULL;
	if (!p.udp_ev || !p.retry || event_add(p.udp_ev, NULL) < 0)
		return 1;
	dial(&p);
	event_base_dispatch(p.base);
	return 0;
}
