/*
 * Stream transports. Each worker accepts on its own SO_REUSEPORT socket and
 * owns the connections it accepted; a connection is a bufferevent (an
 * OpenSSL one for TLS) whose input is cut into whole messages and handed to
 * the service one by one. Every growth is bounded: connections per source
 * and in all (server/srclimit.h), unread output, and time. A connection
 * must finish its TLS handshake and send a first whole message within
 * stream-handshake-timeout; after that, one without an allocation is closed
 * once it has been quiet for stream-idle-timeout, while one with an
 * allocation stays as long as the allocation does (RFC 8656 s3.1: the
 * allocation's lifetime governs, and a client refreshes it, not the
 * connection). When accept() runs out of file descriptors the listener
 * pauses on a timer instead of spinning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "server/conn.h"
#include "server/log.h"
#include "server/netaddr.h"
#include "server/service.h"
#include "server/srclimit.h"
#include "server/srclog.h"
#include "server/stream.h"
#include "server/stream_conn.h"
#include "server/tcprelay.h"
#include "server/wsconn.h"

enum {
	STREAM_REPLY_MAX = 4096,     /* a STUN reply, RFC 5780 PADDING included */
};

struct stream_listener {
	struct worker *w;
	const struct listener_spec *ls;
	struct evconnlistener *l;
	struct event *backoff;
};


static bool conn_on_send(struct conn *base, const uint8_t *p, size_t len);
static bool queue(struct stream_conn *c, const uint8_t *p, size_t len);

static void conn_close(struct stream_conn *c)
{
	/* out of the shared table before the socket number can be reused */
	if (c->peer_bev || c->join_fd >= 0)
		tcp_hub_remove(c->w->srv->tcp, c->cid);
	if (c->peer_bev) {
		bufferevent_free(c->peer_bev);
		counter_dec(&c->w->counters.tcp_relay_open);
	} else if (c->join_fd >= 0) {
		close(c->join_fd);
	}
	if (c->ws)
		wsconn_free(c);
	service_conn_gone(c->w, c->ls, &c->peer, (uintptr_t)c);
	srclimit_give(c->w->srv->streams, &c->peer);
	if (c->deadline)
		event_free(c->deadline);
	counter_dec(&c->w->counters.open_connections[c->ls->tp]);
	c->w->n_conns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	free(c);
}

static void arm(struct event *ev, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)(ms % 1000 * 1000) };

	evtimer_add(ev, &tv);
}

/* Log why c is refused or closed: once an interval for its source (srclog.h). */
static void say(struct worker *w, enum transport tp, const struct stun_addr *peer,
		bool refused, const char *detail)
{
	srclog_note(w->srclog, SRCLOG_STREAM, counters_transport_name(tp), peer,
		    worker_now_ms(w), "connection %s: %s", refused ? "refused" : "closed", detail);
}

void stream_conn_close(struct stream_conn *c)
{
	conn_close(c);
}

void stream_conn_arm(struct stream_conn *c, uint64_t ms)
{
	arm(c->deadline, ms);
}

void stream_conn_say(struct stream_conn *c, const char *detail)
{
	say(c->w, c->ls->tp, &c->peer, false, detail);
}

/*
 * The deadline: no first message yet, or quiet for stream-idle-timeout.
 * A quiet connection with an allocation stays: the allocation's lifetime
 * governs, and the client refreshes that.
 */
static void stream_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct stream_conn *c = arg;
	const struct config *cfg = c->w->srv->cfg;
	uint64_t idle = (uint64_t)cfg->stream_idle_timeout * 1000, now = worker_now_ms(c->w);
	enum stream_close why = SC_IDLE;

	if (c->lingering) { /* its last words were not taken in time */
		conn_close(c);
		return;
	}
	if (c->ws) {
		wsconn_on_deadline(c);
		return;
	}
	if (c->talked && now < c->last_ms + idle) {
		arm(c->deadline, now < c->last_ms ? idle : c->last_ms + idle - now);
		return;
	}
	if (c->talked && service_conn_allocated(c->w, c->ls, &c->peer, (uintptr_t)c)) {
		arm(c->deadline, idle);
		return;
	}
	if (!c->talked)
		why = SC_FIRST_MESSAGE;
	counter_inc(&c->w->counters.stream_closed[c->ls->tp][why]);
	say(c->w, c->ls->tp, &c->peer, false,
	    why == SC_IDLE ? "quiet, with no allocation (stream-idle-timeout)"
			   : "no handshake and first message in time (stream-handshake-timeout)");
	conn_close(c);
}

/* Answer one whole message; false when the connection must close. */
bool stream_conn_message(struct stream_conn *c, const uint8_t *p, size_t len)
{
	struct counters *k = &c->w->counters;
	enum transport tp = c->ls->tp;
	uint8_t out[STREAM_REPLY_MAX];
	struct service_reply r;

	counter_add(&k->rx_bytes[tp], len);
	r = service_handle(c->w, c->ls, p, len, &c->peer, (uintptr_t)c, out, sizeof out);
	if (r.len == 0)
		return true;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > STREAM_MAX_OUTPUT) {
		counter_inc(&k->dropped[tp][DROP_STREAM_OVERFLOW]);
		return false;
	}
	counter_add(&k->tx_bytes[tp], r.len);
	return queue(c, out, r.len);
}

static void splice_start(struct stream_conn *c);

static void stream_on_read(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t head[4];

	if (c->ws) {
		wsconn_on_read(c);
		return;
	}
	if (!c->talked && !c->http && evbuffer_copyout(in, head, sizeof head) == sizeof head)
		c->http = wsconn_starts_http(c->w, head);
	if (c->http) {
		wsconn_on_head(c);
		return;
	}
	while (evbuffer_copyout(in, head, sizeof head) == sizeof head) {
		long n = stun_frame_len(head, sizeof head);

		if (n < 0) {
			counter_inc(&c->w->counters.dropped[c->ls->tp][DROP_UNKNOWN_PROTOCOL]);
			say(c->w, c->ls->tp, &c->peer, false, "neither STUN, ChannelData nor HTTP");
			conn_close(c);
			return;
		}
		if (n == 0 || evbuffer_get_length(in) < (size_t)n)
			return;
		c->last_ms = worker_now_ms(c->w);
		if (!c->talked) { /* from now on the idle deadline */
			c->talked = true;
			arm(c->deadline, (uint64_t)c->w->srv->cfg->stream_idle_timeout * 1000);
		}
		if (!stream_conn_message(c, evbuffer_pullup(in, n), (size_t)n)) {
			conn_close(c);
			return;
		}
		evbuffer_drain(in, (size_t)n);
		if (c->join_fd >= 0) { /* ConnectionBind answered: data from here on */
			splice_start(c);
			return;
		}
	}
}

static void stream_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct stream_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) /* TLS handshake done */
		return;
	if (c->ws && (what & BEV_EVENT_TIMEOUT))
		counter_inc(&c->w->counters.ws_closed[WSC_SLOW_READER]);
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_close(c);
}

/* Lingering: all written. An HTTP refusal closes now; a WebSocket close
 * half-closes (plain TCP) and waits a moment for the client's end, so its
 * last bytes in flight do not turn into a reset that loses our close. */
static void stream_on_write(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;

	if (!c->lingering || evbuffer_get_length(bufferevent_get_output(bev)))
		return;
	if (!c->ws) {
		conn_close(c);
		return;
	}
	if (c->ls->tp == TP_TCP)
		shutdown(bufferevent_getfd(bev), SHUT_WR);
	arm(c->deadline, STREAM_LINGER_MS);
}

/* Lingering: what the client still sends is read and dropped. */
static void stream_on_discard(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

void stream_conn_linger(struct stream_conn *c)
{
	c->lingering = true;
	if (c->ws)
		bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	else
		bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, stream_on_discard, stream_on_write, stream_on_event, c);
	arm(c->deadline, (uint64_t)c->w->srv->cfg->stream_handshake_timeout * 1000);
	stream_on_write(c->bev, c);
}

static struct bufferevent *conn_bev(struct stream_listener *sl, evutil_socket_t fd)
{
	struct bufferevent *bev;
	SSL *ssl;

	if (sl->ls->tp != TP_TLS)
		return bufferevent_socket_new(sl->w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(sl->w->srv->tls);
	if (!ssl)
		return NULL;
	bev = bufferevent_openssl_socket_new(sl->w->base, fd, ssl,
					     BUFFEREVENT_SSL_ACCEPTING,
					     BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static void stream_on_accept(struct evconnlistener *l, evutil_socket_t fd,
			     struct sockaddr *sa, int salen, void *arg)
{
	struct stream_listener *sl = arg;
	struct worker *w = sl->w;
	enum transport tp = sl->ls->tp;
	const struct timeval stall = { STREAM_WRITE_STALL_SECONDS, 0 };
	struct stream_conn *c;
	struct stun_addr peer;
	enum srclimit_verdict v;

	netaddr_to_stun(sa, &peer);
	v = srclimit_take(w->srv->streams, &peer);
	if (v != SRCLIMIT_OK) {
		enum stream_close why = v == SRCLIMIT_SOURCE ? SC_SOURCE_LIMIT : SC_TOTAL_LIMIT;

		counter_inc(&w->counters.stream_closed[tp][why]);
		say(w, tp, &peer, true,
		    why == SC_SOURCE_LIMIT ? "this source holds max-stream-connections-per-source"
					   : "max-stream-connections are open");
		close(fd);
		return;
	}
	if (w->n_conns >= STREAM_MAX_PER_WORKER || !(c = calloc(1, sizeof *c))) {
		srclimit_give(w->srv->streams, &peer);
		close(fd);
		return;
	}
	c->base.send = conn_on_send;
	c->join_fd = -1;
	c->w = w;
	c->ls = sl->ls;
	c->peer = peer;
	c->bev = conn_bev(sl, fd);
	c->deadline = evtimer_new(w->base, stream_on_deadline, c);
	if (!c->bev || !c->deadline) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->deadline)
			event_free(c->deadline);
		srclimit_give(w->srv->streams, &peer);
		free(c);
		return;
	}
	w->n_conns++;
	c->next = w->conns;
	if (c->next)
		c->next->prev = c;
	w->conns = c;
	counter_inc(&w->counters.connections[tp]);
	counter_inc(&w->counters.open_connections[tp]);
	bufferevent_setcb(c->bev, stream_on_read, NULL, stream_on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * STUN_MAX_MESSAGE);
	/* a peer that reads nothing of what we write for this long is gone */
	bufferevent_set_timeouts(c->bev, NULL, &stall);
	arm(c->deadline, (uint64_t)w->srv->cfg->stream_handshake_timeout * 1000);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void stream_on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct stream_listener *sl = arg;

	evconnlistener_enable(sl->l);
}

/* OpenBSD relayd's answer to EMFILE: stop accepting for a moment. */
static void stream_on_accept_error(struct evconnlistener *l, void *arg)
{
	struct stream_listener *sl = arg;
	struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };
	int e = EVUTIL_SOCKET_ERROR();

	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	evconnlistener_disable(l);
	evtimer_add(sl->backoff, &tv);
}

struct stream_listener *stream_listen(struct worker *w, const struct listener_spec *ls,
				      char *err, size_t errlen)
{
	struct stream_listener *sl = calloc(1, sizeof *sl);
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC;
	int fd;

	if (!sl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sl->w = w;
	sl->ls = ls;
	fd = netaddr_bind((const struct sockaddr *)&ls->addr, ls->addrlen, SOCK_STREAM,
			  true, err, errlen);
	if (fd < 0)
		goto fail;
	sl->l = evconnlistener_new(w->base, stream_on_accept, sl, flags, STREAM_BACKLOG, fd);
	sl->backoff = evtimer_new(w->base, stream_on_backoff, sl);
	if (!sl->l || !sl->backoff) {
		if (!sl->l)
			close(fd);
		snprintf(err, errlen, "tcp: cannot listen: %s", strerror(errno));
		goto fail;
	}
	evconnlistener_set_error_cb(sl->l, stream_on_accept_error);
	return sl;
fail:
	stream_listener_free(sl);
	return NULL;
}

void stream_listener_free(struct stream_listener *sl)
{
	if (!sl)
		return;
	if (sl->l)
		evconnlistener_free(sl->l);
	if (sl->backoff)
		event_free(sl->backoff);
	free(sl);
}

void stream_close_all(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns);
}

/* evbuffer_add_reference()'s cleanup: the copy made for one TLS record. */
static void free_copy(const void *data, size_t len, void *arg)
{
	free(arg);
}

/*
 * Queue one whole message. Over TLS each message gets its own buffer chain,
 * which bufferevent_openssl writes as its own record: a byte stream may be
 * cut anywhere, but clients such as coturn's take each record as one
 * message and drop the rest (one copy per message is the price).
 */
static bool queue(struct stream_conn *c, const uint8_t *p, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	void *copy;

	if (c->ws)
		return wsconn_send(c, p, len);
	if (c->ls->tp != TP_TLS)
		return evbuffer_add(out, p, len) == 0;
	copy = malloc(len);
	if (!copy)
		return false;
	memcpy(copy, p, len);
	if (evbuffer_add_reference(out, copy, len, free_copy, copy) != 0) {
		free(copy);
		return false;
	}
	return true;
}

static bool conn_on_send(struct conn *base, const uint8_t *p, size_t len)
{
	struct stream_conn *c = (struct stream_conn *)base;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) > STREAM_MAX_OUTPUT) {
		counter_inc(&c->w->counters.dropped[c->ls->tp][DROP_STREAM_OVERFLOW]);
		return false;
	}
	counter_add(&c->w->counters.tx_bytes[c->ls->tp], len);
	return queue(c, p, len);
}

void stream_join(uintptr_t conn, uint32_t cid, int fd)
{
	struct stream_conn *c = (struct stream_conn *)conn;

	c->cid = cid;
	c->join_fd = fd;
}

/*
 * A joined pair (RFC 6062 s5.5): bytes from one side go to the other as
 * they come, no framing. A side whose peer has SPLICE_MAX_OUTPUT unsent
 * stops reading until it drains to half that, so a slow reader slows the
 * writer down (TCP's own back-pressure) instead of growing our buffers.
 */
static void pump(struct stream_conn *c, struct bufferevent *from, struct bufferevent *to,
		 counter_t *bytes)
{
	struct evbuffer *in = bufferevent_get_input(from);
	struct evbuffer *out = bufferevent_get_output(to);

	counter_add(bytes, evbuffer_get_length(in));
	evbuffer_add_buffer(out, in);
	if (evbuffer_get_length(out) >= SPLICE_MAX_OUTPUT)
		bufferevent_disable(from, EV_READ);
}

static void splice_client_read(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;

	pump(c, c->bev, c->peer_bev, &c->w->counters.tcp_relay_bytes[0]);
}

static void splice_peer_read(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;

	pump(c, c->peer_bev, c->bev, &c->w->counters.tcp_relay_bytes[1]);
}

/* to has written down to its low mark: resume its source, or finish. */
static void drained(struct stream_conn *c, struct bufferevent *to, struct bufferevent *from)
{
	if (!c->draining)
		bufferevent_enable(from, EV_READ);
	else if (evbuffer_get_length(bufferevent_get_output(to)) == 0)
		conn_close(c);
}

static void splice_client_write(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;

	drained(c, c->bev, c->peer_bev);
}

static void splice_peer_write(struct bufferevent *bev, void *arg)
{
	struct stream_conn *c = arg;

	drained(c, c->peer_bev, c->bev);
}

/* One side ended: the other gets what is still on its way, then both close. */
static void splice_end(struct stream_conn *c, struct bufferevent *ended)
{
	struct bufferevent *other = ended == c->bev ? c->peer_bev : c->bev;

	if (c->draining || evbuffer_get_length(bufferevent_get_output(other)) == 0) {
		conn_close(c);
		return;
	}
	c->draining = true;
	bufferevent_disable(ended, EV_READ | EV_WRITE);
	bufferevent_disable(other, EV_READ);
}

static void splice_client_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		splice_end(arg, bev);
}

static void splice_peer_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		splice_end(arg, bev);
}

static void splice_start(struct stream_conn *c)
{
	struct bufferevent *pb;

	pb = bufferevent_socket_new(c->w->base, c->join_fd, BEV_OPT_CLOSE_ON_FREE);
	if (!pb) {
		conn_close(c); /* closes join_fd */
		return;
	}
	c->join_fd = -1;
	c->peer_bev = pb;
	counter_inc(&c->w->counters.tcp_relay_open);
	/* the allocation's lifetime governs now, not the idle timer */
	event_free(c->deadline);
	c->deadline = NULL;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_setwatermark(c->bev, EV_WRITE, SPLICE_MAX_OUTPUT / 2, 0);
	bufferevent_setwatermark(pb, EV_WRITE, SPLICE_MAX_OUTPUT / 2, 0);
	bufferevent_setcb(c->bev, splice_client_read, splice_client_write,
			  splice_client_event, c);
	bufferevent_setcb(pb, splice_peer_read, splice_peer_write, splice_peer_event, c);
	bufferevent_enable(pb, EV_READ | EV_WRITE);
	/* what the client sent right behind its ConnectionBind is data already */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)))
		splice_client_read(c->bev, c);
}
