/*
 * DTLS sessions. Datagrams from a known client address feed its session's
 * memory BIO; what OpenSSL writes leaves at once through a small BIO of our
 * own that sends each record as one datagram to the client. A datagram from
 * an unknown address goes through DTLSv1_listen on a spare SSL: until the
 * client echoes a cookie (an HMAC over its address and the current minute)
 * nothing is allocated for it (coturn's GHSA-5x2p-4vqj-f6m4 was the
 * opposite). Decrypted records go to the same service entry as every other
 * transport; peer data comes back through conn_send().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "server/conn.h"
#include "server/dtls.h"
#include "server/netaddr.h"
#include "server/service.h"

enum {
	DTLS_SESSIONS_MAX = 16384, /* per worker */
	DTLS_BUCKETS = 4096,
	DTLS_MTU = 1200,           /* records fit any path that carries UDP */
	DTLS_COOKIE_LEN = 16,
	DTLS_READS_PER_EVENT = 64,
	DTLS_REPLY_MAX = 4096,
};

/* Where our BIO sends: the socket and a client address. */
struct target {
	int fd;
	struct sockaddr_storage sa;
	socklen_t len;
};

struct dtls_session {
	struct conn base; /* first: a relay_key's conn points here */
	struct dtls_listener *l;
	struct stun_addr peer;
	struct target to;
	SSL *ssl;
	BIO *rbio;
	struct event *timer;
	time_t started;
	bool up;
	struct dtls_session *next;
};

struct dtls_listener {
	struct worker *w;
	const struct listener_spec *ls;
	int fd;
	struct event *ev;
	BIO_METHOD *meth;
	SSL *spare;           /* runs DTLSv1_listen for strangers */
	BIO *spare_rbio;
	struct target spare_to;
	BIO_ADDR *client;
	uint8_t cookie_key[32];
	struct dtls_session *bucket[DTLS_BUCKETS];
	int n;
	uint8_t rx[UDP_MAX_DATAGRAM];
	uint8_t app[UDP_MAX_DATAGRAM];
};

/* --- our datagram BIO ---------------------------------------------------- */

static int dgram_write(BIO *b, const char *in, int inl)
{
	struct target *t = BIO_get_data(b);

	/* a lost record is DTLS's to retransmit, not an error of the BIO */
	(void)sendto(t->fd, in, (size_t)inl, 0, (struct sockaddr *)&t->sa, t->len);
	return inl;
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return DTLS_MTU;
	default:
		return 0;
	}
}

static BIO *dgram_bio(BIO_METHOD *m, struct target *t)
{
	BIO *b = BIO_new(m);

	if (b) {
		BIO_set_data(b, t);
		BIO_set_init(b, 1);
	}
	return b;
}

/* --- cookies (RFC 6347 s4.2.1) --------------------------------------------- */

static void cookie_for(const struct dtls_listener *l, const struct target *t,
		       long minute, uint8_t out[DTLS_COOKIE_LEN])
{
	uint8_t mac[EVP_MAX_MD_SIZE], msg[sizeof t->sa + sizeof minute];
	size_t n = 0;

	memcpy(msg, &t->sa, t->len);
	memcpy(msg + t->len, &minute, sizeof minute);
	EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, l->cookie_key, sizeof l->cookie_key,
		  msg, t->len + sizeof minute, mac, sizeof mac, &n);
	memcpy(out, mac, DTLS_COOKIE_LEN);
}

static int dtls_on_cookie_make(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	struct dtls_listener *l = SSL_get_app_data(ssl);

	cookie_for(l, &l->spare_to, time(NULL) / 60, cookie);
	*len = DTLS_COOKIE_LEN;
	return 1;
}

static int dtls_on_cookie_check(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
	struct dtls_listener *l = SSL_get_app_data(ssl);
	long now = time(NULL) / 60;
	uint8_t want[DTLS_COOKIE_LEN];

	if (len != DTLS_COOKIE_LEN)
		return 0;
	for (long m = now; m >= now - 1; m--) { /* this minute or the last */
		cookie_for(l, &l->spare_to, m, want);
		if (CRYPTO_memcmp(want, cookie, DTLS_COOKIE_LEN) == 0)
			return 1;
	}
	return 0;
}

void dtls_prepare_ctx(SSL_CTX *ctx)
{
	SSL_CTX_set_cookie_generate_cb(ctx, dtls_on_cookie_make);
	SSL_CTX_set_cookie_verify_cb(ctx, dtls_on_cookie_check);
	SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_QUERY_MTU);
}

/* --- sessions ---------------------------------------------------------------- */

static size_t bucket_of(const struct stun_addr *a)
{
	uint32_t h = a->port;

	for (int i = 0; i < 16; i++)
		h = h * 31 + a->ip[i];
	return h % DTLS_BUCKETS;
}

static struct dtls_session *find(struct dtls_listener *l, const struct stun_addr *a)
{
	struct dtls_session *s = l->bucket[bucket_of(a)];
	size_t n = a->family == STUN_FAMILY_IPV4 ? 4 : 16;

	while (s && !(s->peer.family == a->family && s->peer.port == a->port &&
		      memcmp(s->peer.ip, a->ip, n) == 0))
		s = s->next;
	return s;
}

static void session_close(struct dtls_session *s)
{
	struct dtls_listener *l = s->l;
	struct dtls_session **p = &l->bucket[bucket_of(&s->peer)];

	service_conn_gone(l->w, l->ls, &s->peer, (uintptr_t)s);
	while (*p != s)
		p = &(*p)->next;
	*p = s->next;
	l->n--;
	counter_dec(&l->w->counters.open_connections[TP_DTLS]);
	if (s->up)
		SSL_shutdown(s->ssl); /* close_notify; best effort */
	SSL_free(s->ssl);
	event_free(s->timer);
	free(s);
}

static void arm(struct dtls_session *s)
{
	struct timeval tv = { s->l->w->srv->cfg->stream_idle_timeout, 0 };

	if (!s->up && DTLSv1_get_timeout(s->ssl, &tv) <= 0)
		tv = (struct timeval){ 1, 0 };
	evtimer_add(s->timer, &tv);
}

static void dtls_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dtls_session *s = arg;

	const struct config *c = s->l->w->srv->cfg;

	/* quiet, but with an allocation: its lifetime governs, as on TCP */
	if (s->up && service_conn_allocated(s->l->w, s->l->ls, &s->peer, (uintptr_t)s)) {
		arm(s);
		return;
	}
	if (s->up || time(NULL) - s->started > c->stream_handshake_timeout ||
	    DTLSv1_handle_timeout(s->ssl) < 0) {
		session_close(s); /* idle, or a handshake that never finished */
		return;
	}
	arm(s);
}

/* Answer every whole record that has arrived; false: the session is over. */
static bool pump(struct dtls_session *s)
{
	struct dtls_listener *l = s->l;
	uint8_t out[DTLS_REPLY_MAX];
	int n;

	/* SSL_get_error() reads the thread's error queue: another session's
	 * failure left there would end this one */
	ERR_clear_error();
	if (!s->up) {
		n = SSL_do_handshake(s->ssl);
		if (n != 1) {
			n = SSL_get_error(s->ssl, n);
			return n == SSL_ERROR_WANT_READ || n == SSL_ERROR_WANT_WRITE;
		}
		s->up = true;
	}
	while ((n = SSL_read(s->ssl, l->app, sizeof l->app)) > 0) {
		struct service_reply r;

		counter_add(&l->w->counters.rx_bytes[TP_DTLS], (uint64_t)n);
		r = service_handle(l->w, l->ls, l->app, (size_t)n, &s->peer, (uintptr_t)s,
				   out, sizeof out);
		if (r.len && SSL_write(s->ssl, out, (int)r.len) > 0)
			counter_add(&l->w->counters.tx_bytes[TP_DTLS], r.len);
	}
	return SSL_get_error(s->ssl, n) == SSL_ERROR_WANT_READ;
}

static bool session_send(struct conn *base, const uint8_t *p, size_t len)
{
	struct dtls_session *s = (struct dtls_session *)base;

	ERR_clear_error();
	if (!s->up || SSL_write(s->ssl, p, (int)len) <= 0)
		return false;
	counter_add(&s->l->w->counters.tx_bytes[TP_DTLS], len);
	return true;
}

/* A fresh spare SSL for the next stranger. */
static bool make_spare(struct dtls_listener *l)
{
	BIO *wbio;

	l->spare = SSL_new(l->w->srv->dtls);
	l->spare_rbio = BIO_new(BIO_s_mem());
	wbio = dgram_bio(l->meth, &l->spare_to);
	if (!l->spare || !l->spare_rbio || !wbio) {
		SSL_free(l->spare);
		BIO_free(l->spare_rbio);
		BIO_free(wbio);
		l->spare = NULL;
		return false;
	}
	BIO_set_mem_eof_return(l->spare_rbio, -1); /* empty is "try again" */
	SSL_set_bio(l->spare, l->spare_rbio, wbio);
	SSL_set_app_data(l->spare, l);
	DTLS_set_link_mtu(l->spare, DTLS_MTU);
	return true;
}

/* The spare passed the cookie check: it becomes this client's session. */
static void adopt(struct dtls_listener *l, const struct stun_addr *peer)
{
	struct dtls_session *s = calloc(1, sizeof *s);
	BIO *wbio;
	size_t b;

	if (!s)
		goto drop;
	s->to = l->spare_to;
	wbio = dgram_bio(l->meth, &s->to);
	s->timer = evtimer_new(l->w->base, dtls_on_timer, s);
	if (!wbio || !s->timer) {
		BIO_free(wbio);
		if (s->timer)
			event_free(s->timer);
		free(s);
		goto drop;
	}
	s->base.send = session_send;
	s->l = l;
	s->peer = *peer;
	s->ssl = l->spare;
	s->rbio = l->spare_rbio;
	SSL_set0_wbio(s->ssl, wbio);
	s->started = time(NULL);
	b = bucket_of(peer);
	s->next = l->bucket[b];
	l->bucket[b] = s;
	l->n++;
	counter_inc(&l->w->counters.connections[TP_DTLS]);
	counter_inc(&l->w->counters.open_connections[TP_DTLS]);
	l->spare = NULL;
	make_spare(l);
	if (!pump(s))
		session_close(s);
	else
		arm(s);
	ERR_clear_error();
	return;
drop:
	SSL_clear(l->spare);
}

/* A handshake record of epoch 0: a ClientHello starting an association. */
static bool fresh_hello(const uint8_t *p, size_t n)
{
	return n > 13 && p[0] == 22 && p[3] == 0 && p[4] == 0;
}

/*
 * RFC 6347 s4.2.1: a stranger gets a HelloVerifyRequest and no state. Once
 * it echoes the cookie it gets a session; a client that restarts from the
 * same address (s4.2.8) replaces its old session only then, so a forged
 * hello cannot tear down a live one.
 */
static void stranger(struct dtls_listener *l, struct dtls_session *old,
		     const struct stun_addr *peer, size_t n)
{
	int r;

	/* a spare made before a certificate reload: the next client gets the new one */
	if (l->spare && SSL_get_SSL_CTX(l->spare) != l->w->srv->dtls) {
		SSL_free(l->spare); /* and its BIOs */
		l->spare = NULL;
		l->spare_rbio = NULL;
	}
	if (!fresh_hello(l->rx, n) || l->n >= DTLS_SESSIONS_MAX ||
	    (!l->spare && !make_spare(l))) {
		counter_inc(&l->w->counters.dropped[TP_DTLS][DROP_UNKNOWN_PROTOCOL]);
		return;
	}
	(void)BIO_reset(l->spare_rbio);
	BIO_write(l->spare_rbio, l->rx, (int)n);
	r = DTLSv1_listen(l->spare, l->client);
	if (r > 0) {
		if (old)
			session_close(old);
		adopt(l, peer);
		return;
	}
	if (r < 0)
		SSL_clear(l->spare);
	ERR_clear_error();
}

static void dtls_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct dtls_listener *l = arg;

	for (int i = 0; i < DTLS_READS_PER_EVENT; i++) {
		struct dtls_session *s;
		struct stun_addr peer;
		ssize_t n;

		l->spare_to.len = sizeof l->spare_to.sa;
		n = recvfrom(fd, l->rx, sizeof l->rx, 0, (struct sockaddr *)&l->spare_to.sa,
			     &l->spare_to.len);
		if (n < 0 || !netaddr_to_stun((struct sockaddr *)&l->spare_to.sa, &peer))
			return;
		s = find(l, &peer);
		if (!s || (s->up && fresh_hello(l->rx, (size_t)n))) {
			stranger(l, s, &peer, (size_t)n);
			continue;
		}
		BIO_write(s->rbio, l->rx, (int)n);
		if (!pump(s))
			session_close(s);
		else
			arm(s);
		ERR_clear_error();
	}
}

struct dtls_listener *dtls_listen(struct worker *w, const struct listener_spec *ls,
				  char *err, size_t errlen)
{
	struct dtls_listener *l = calloc(1, sizeof *l);

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->fd = -1;
	l->w = w;
	l->ls = ls;
	l->fd = netaddr_bind((const struct sockaddr *)&ls->addr, ls->addrlen, SOCK_DGRAM,
			     true, err, errlen);
	if (l->fd < 0)
		goto fail;
	l->spare_to.fd = l->fd;
	l->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-dgram");
	l->client = BIO_ADDR_new();
	if (!l->meth || !l->client ||
	    getrandom(l->cookie_key, sizeof l->cookie_key, 0) != sizeof l->cookie_key)
		goto nomem;
	BIO_meth_set_write(l->meth, dgram_write);
	BIO_meth_set_ctrl(l->meth, dgram_ctrl);
	l->ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST, dtls_on_read, l);
	if (!l->ev || event_add(l->ev, NULL) < 0 || !make_spare(l))
		goto nomem;
	return l;
nomem:
	snprintf(err, errlen, "dtls: out of memory");
fail:
	dtls_listener_free(l);
	return NULL;
}

void dtls_listener_free(struct dtls_listener *l)
{
	if (!l)
		return;
	for (int b = 0; b < DTLS_BUCKETS; b++)
		while (l->bucket[b])
			session_close(l->bucket[b]);
	SSL_free(l->spare);
	if (l->ev)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	BIO_meth_free(l->meth);
	BIO_ADDR_free(l->client);
	OPENSSL_cleanse(l->cookie_key, sizeof l->cookie_key);
	free(l);
}
