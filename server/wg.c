/*
 * The tunnel's thread (see wg.h): datagrams in batches with recvmmsg,
 * packets from the TUN device, the 100 ms tick, the UAPI socket, and
 * SIGHUP's reload, all on one event loop.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "relay/record.h"
#include "server/config.h"
#include "server/handover.h"
#include "server/json.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/netaddr.h"
#include "server/tun.h"
#include "server/tungro.h"
#include "server/uapi.h"
#include "server/wg.h"
#include "server/wgconf.h"
#include "server/worker.h"
#include "store/store.h"
#include "tunnel/tunnel.h"

enum {
	WG_SOCKS = 2 * CONFIG_MAX_LISTEN_IPS,
	WG_BATCH = 16,
	WG_SLOT = 65536 + TUNNEL_TAILROOM,      /* a datagram, sealed again in place */
	WG_READS_PER_EVENT = 1,                 /* batches, so the TUN gets its turn */
	WG_TUN_READS_PER_EVENT = 64,
	WG_TICK_MS = 100,
	WG_LOOKUP_TIMEOUT_MS = 2000,            /* a handshake waits for Redis */
	WG_COPY_SLOT = 256,                     /* a copied datagram; bigger go alone */
	WG_TUN_SLOT = TUNNEL_HEADROOM + 65536 + TUNNEL_TAILROOM,
};

/*
 * The datagrams the event being handled makes, sent with one sendmmsg per
 * run of one socket when it is done (or the queue is full). A datagram in
 * a receive buffer or a TUN buffer is sent from where it is, since neither
 * is reused before the flush; one anywhere else (a response, a cookie
 * reply, a keepalive: all small) is copied first.
 */
struct wg_txq {
	struct mmsghdr m[WG_BATCH];
	struct iovec iov[WG_BATCH];
	struct sockaddr_storage to[WG_BATCH];
	int fd[WG_BATCH];
	uint8_t copy[WG_BATCH][WG_COPY_SLOT];
	int n;
};

struct wg_sock {
	struct wg *w;
	int fd;
	struct event *ev;
	uint8_t family; /* STUN_FAMILY_* */
	char name[NETADDR_STRLEN];
};

struct wg {
	const struct server *srv;
	const struct config *cfg;
	struct event_base *base;
	pthread_t thread;
	bool running;
	struct tunnel *t;
	struct tunnel_ops ops;
	struct wg_sock sock[WG_SOCKS];
	int n_sock;
	int tun_fd;
	struct event *tun_ev, *tick;
	struct uapi *uapi;
	struct uapi_env env;
	uint16_t port;
	_Atomic uint64_t send_errors, tun_errors;
	_Atomic uint64_t tun_writes, tun_segments; /* the gro's, for the stats thread */
	/* receive buffers */
	struct mmsghdr rx[WG_BATCH];
	struct iovec iov[WG_BATCH];
	struct sockaddr_storage from[WG_BATCH];
	uint8_t (*buf)[WG_SLOT];
	/* packets from the TUN, each kept until the flush that sends it */
	uint8_t (*tunbuf)[WG_TUN_SLOT];
	int tun_used;
	struct wg_txq tx;
	struct tungro gro; /* packets for the TUN, joined per batch */
	struct wgstore *store; /* peers in Redis; NULL: all in memory */
	struct handover *ho;   /* TURN clients' datagrams, from the workers */
	struct event *ho_ev;
	int ho_next;           /* the worker whose lane is read first */
	_Atomic uint64_t udp_in, udp_out; /* datagrams on the sockets */
	struct tunnel_endpoint ep[WG_BATCH]; /* where each received one came from */
};

/*
 * A peer reached through a TURN allocation on this node has an endpoint
 * with conn = VIA_TURN | worker << 32 | allocation id, addr = its TURN
 * client's address (what wg show shows) and listener = the own address it
 * sent to (policy_local()), the one the answers must come from.
 */
#define VIA_TURN ((uintptr_t)1 << 62)
/* A peer on a WebSocket connection (/wg, server/wsconn.c): the same, with
 * the connection's id in place of the allocation's. */
#define VIA_WEBSOCKET ((uintptr_t)1 << 61)

static uintptr_t turn_conn(int worker, uint32_t alloc, uint8_t kind)
{
	return (kind == HO_WEBSOCKET ? VIA_WEBSOCKET : VIA_TURN) | (uintptr_t)worker << 32 | alloc;
}

static uint64_t now_ms(struct wg *w)
{
	struct timeval tv;

	event_base_gettimeofday_cached(w->base, &tv);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* ---- the engine's ops ------------------------------------------------------ */

/* Everything queued goes out now: one sendmmsg per run of one socket. */
static void flush(struct wg *w)
{
	struct wg_txq *q = &w->tx;
	int at = 0;

	while (at < q->n) {
		int run = 1, n;

		while (at + run < q->n && q->fd[at + run] == q->fd[at])
			run++;
		n = sendmmsg(q->fd[at], q->m + at, (unsigned)run, 0);
		if (n <= 0) { /* the kernel took none: drop this one, go on */
			w->send_errors++;
			n = 1;
		} else {
			atomic_store_explicit(&w->udp_out, w->udp_out + (uint64_t)n,
					      memory_order_relaxed);
		}
		at += n;
	}
	q->n = 0;
	w->tun_used = 0;
	for (int i = 0; w->ho && i < handover_workers(w->ho); i++)
		handover_wake(handover_down(w->ho, i));
}

/* Whether p lies in a receive buffer (kept until the next recvmmsg). */
static bool in_rx(const struct wg *w, const uint8_t *p)
{
	uintptr_t a = (uintptr_t)p, rx = (uintptr_t)w->buf;

	return a >= rx && a < rx + (uintptr_t)WG_BATCH * WG_SLOT;
}

/* Whether p lies in a buffer that stays put until the next flush. */
static bool stable(const struct wg *w, const uint8_t *p)
{
	uintptr_t a = (uintptr_t)p, tun = (uintptr_t)w->tunbuf;

	return in_rx(w, p) || (a >= tun && a < tun + (uintptr_t)WG_BATCH * WG_TUN_SLOT);
}

/* To a peer behind a TURN allocation: back to the worker that owns it. */
static void send_turn(struct wg *w, const struct tunnel_endpoint *to, const uint8_t *p,
		      size_t len)
{
	int worker = (int)(to->conn >> 32 & 0xffff);
	struct handover_msg m = { .alloc = (uint32_t)to->conn, .local = (uint8_t)to->listener,
				  .kind = to->conn & VIA_WEBSOCKET ? HO_WEBSOCKET : HO_TURN,
				  .client = to->addr };

	if (w->ho && worker < handover_workers(w->ho))
		handover_push(handover_down(w->ho, worker), &m, p, len);
}

static void ops_send(void *ctx, const struct tunnel_endpoint *to, const uint8_t *p, size_t len)
{
	struct wg *w = ctx;
	struct wg_txq *q = &w->tx;
	socklen_t sl;
	int fd;

	if (to->conn & (VIA_TURN | VIA_WEBSOCKET)) {
		send_turn(w, to, p, len);
		return;
	}
	if (to->listener >= w->n_sock || to->conn)
		return;
	fd = w->sock[to->listener].fd;
	if (!stable(w, p) && len > WG_COPY_SLOT) {
		struct sockaddr_storage ss;

		flush(w); /* keep the order */
		sl = netaddr_from_stun(&to->addr, &ss);
		if (sendto(fd, p, len, 0, (struct sockaddr *)&ss, sl) < 0)
			w->send_errors++;
		return;
	}
	if (q->n == WG_BATCH)
		flush(w);
	if (!stable(w, p)) {
		memcpy(q->copy[q->n], p, len);
		p = q->copy[q->n];
	}
	sl = netaddr_from_stun(&to->addr, &q->to[q->n]);
	q->fd[q->n] = fd;
	q->iov[q->n] = (struct iovec){ (void *)(uintptr_t)p, len };
	q->m[q->n].msg_hdr = (struct msghdr){ .msg_name = &q->to[q->n], .msg_namelen = sl,
					      .msg_iov = &q->iov[q->n], .msg_iovlen = 1 };
	q->n++;
}

static void tun_write(void *ctx, const struct iovec *iov, int n)
{
	struct wg *w = ctx;
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (writev(w->tun_fd, iov, n) != (ssize_t)len)
		w->tun_errors++;
}

/* Joined with the batch's other segments of its flow when it lies in a
 * receive buffer (kept until the batch's tungro_flush), else alone. */
static void ops_deliver(void *ctx, const uint8_t *p, size_t len)
{
	struct wg *w = ctx;

	if (w->tun_fd < 0) {
		w->tun_errors++;
		return;
	}
	tungro_add(&w->gro, p, len);
	if (!in_rx(w, p))
		tungro_flush(&w->gro);
}

static void ops_random(void *ctx, void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

static void ops_lookup(void *ctx, const uint8_t key[WG_KEY_LEN],
		       const uint8_t tai64n[WG_TAI64N_LEN], uint32_t ticket)
{
	struct wg *w = ctx;

	wgstore_lookup(w->store, key, tai64n, ticket);
}

/* The store's answer: the handshake it held goes on (a response goes out
 * now, not at the next event's flush). */
static void on_store_answer(void *ctx, uint32_t ticket, enum wgstore_result r,
			    const struct wgpeer *rec)
{
	static const enum tunnel_lookup_result map[] = {
		[WGSTORE_FOUND] = TUNNEL_FOUND, [WGSTORE_ABSENT] = TUNNEL_ABSENT,
		[WGSTORE_REPLAY] = TUNNEL_REPLAY, [WGSTORE_DOWN] = TUNNEL_STORE_DOWN,
	};
	static struct tunnel_prefix px[WGPEER_MAX_ALLOWED];
	struct tunnel_peer_conf pc = { .stored = true };
	struct wg *w = ctx;
	int n = 0;

	if (rec) {
		memcpy(pc.public_key, rec->public_key, WG_KEY_LEN);
		memcpy(pc.preshared_key, rec->preshared_key, WG_KEY_LEN);
		pc.has_preshared_key = rec->has_preshared_key;
		pc.keepalive = rec->keepalive;
		for (; n < rec->n_allowed; n++) {
			px[n].family = rec->allowed[n].family;
			px[n].plen = rec->allowed[n].plen;
			memcpy(px[n].ip, rec->allowed[n].ip, 16);
		}
	}
	tunnel_lookup_done(w->t, ticket, map[r], rec ? &pc : NULL, px, n, now_ms(w));
	sodium_memzero(&pc, sizeof pc);
	flush(w);
}

static void on_store_changed(void *ctx, const uint8_t key[32], bool deleted)
{
	struct wg *w = ctx;

	tunnel_store_changed(w->t, key, deleted);
}

struct record_of {
	const uint8_t *key;
	struct wgpeer *rec;
};

static void allowed_of(void *ctx, const uint8_t *key, int family, const uint8_t *ip,
		       uint8_t plen)
{
	struct record_of *r = ctx;
	struct wgconf_prefix *px;

	if (memcmp(key, r->key, WG_KEY_LEN) || r->rec->n_allowed == WGPEER_MAX_ALLOWED)
		return;
	px = &r->rec->allowed[r->rec->n_allowed++];
	px->family = (uint8_t)family;
	px->plen = plen;
	memset(px->ip, 0, sizeof px->ip);
	memcpy(px->ip, ip, family == 4 ? 4 : 16);
}

/* wg set changed a peer: with Redis, the change is the store's too, and the
 * peer is a stored one, as if ternctl had added it. */
static void on_uapi_changed(void *ctx, const uint8_t key[WG_KEY_LEN], bool removed)
{
	static struct wgpeer rec;
	struct wg *w = ctx;
	struct tunnel_peer_conf pc;

	if (!w->store)
		return;
	if (removed) {
		wgstore_delete(w->store, key);
		return;
	}
	if (tunnel_peer_get(w->t, key, &pc) < 0)
		return;
	memset(&rec, 0, sizeof rec);
	memcpy(rec.public_key, key, WG_KEY_LEN);
	memcpy(rec.preshared_key, pc.preshared_key, WG_KEY_LEN);
	rec.has_preshared_key = pc.has_preshared_key;
	rec.keepalive = pc.keepalive;
	tunnel_allowed_each(w->t, allowed_of, &(struct record_of){ key, &rec });
	wgstore_save(w->store, &rec);
	pc.stored = true;
	tunnel_peer_set(w->t, &pc);
	sodium_memzero(&rec, sizeof rec);
	sodium_memzero(&pc, sizeof pc);
}

/* tern:events: {"event":"wg_session_started"|"wg_session_ended","node":ID,
 * "time_ms":T,"peer":KEY,"endpoint":"ip:port"[,"rx_bytes":N,"tx_bytes":N]} */
static void ops_session(void *ctx, const struct tunnel_session_event *ev)
{
	struct wg *w = ctx;
	char json[512], node[6 * STORE_NODE_ID_MAX + 3], peer[WGPEER_B64], ep[64] = "";
	const char *id;
	int n;

	if (!w->store)
		return;
	id = store_node_id(w->srv->store);
	if (!json_quote(node, sizeof node, id, strlen(id)))
		snprintf(node, sizeof node, "\"\"");
	wgpeer_b64(ev->public_key, peer);
	if (ev->endpoint)
		record_addr_str(&ev->endpoint->addr, true, ep, sizeof ep);
	n = snprintf(json, sizeof json,
		     "{\"event\":\"wg_session_%s\",\"node\":%s,\"time_ms\":%llu,"
		     "\"peer\":\"%s\",\"endpoint\":\"%s\"",
		     ev->up ? "started" : "ended", node, (unsigned long long)now_ms(w), peer, ep);
	if (!ev->up && n > 0 && (size_t)n < sizeof json)
		n += snprintf(json + n, sizeof json - (size_t)n,
			      ",\"rx_bytes\":%llu,\"tx_bytes\":%llu",
			      (unsigned long long)ev->rx_bytes, (unsigned long long)ev->tx_bytes);
	if (n > 0 && (size_t)n + 2 <= sizeof json) {
		memcpy(json + n, "}", 2);
		wgstore_event(w->store, json);
	}
}

static void ops_traffic(void *ctx, const uint8_t key[WG_KEY_LEN], uint64_t rx, uint64_t tx)
{
	struct wg *w = ctx;

	if (w->store)
		wgstore_traffic(w->store, key, rx, tx);
}

static int listener_for(void *ctx, uint8_t family)
{
	struct wg *w = ctx;

	for (int i = 0; i < w->n_sock; i++)
		if (w->sock[i].family == family)
			return i;
	return -1;
}

/* ---- events ----------------------------------------------------------------- */

/* The n datagrams in w->buf, from w->ep: into the engine, then out. */
static void receive(struct wg *w, int n, uint64_t now)
{
	for (int i = 0; i < n; i++)
		if (w->rx[i].msg_len)
			tunnel_from_network(w->t, &w->ep[i], w->buf[i], w->rx[i].msg_len, WG_SLOT,
					    now);
	tungro_flush(&w->gro);
	atomic_store_explicit(&w->tun_writes, w->gro.packets, memory_order_relaxed);
	atomic_store_explicit(&w->tun_segments, w->gro.segments, memory_order_relaxed);
	flush(w);
}

static void wg_on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct wg_sock *s = arg;
	struct wg *w = s->w;
	uint64_t now = now_ms(w);

	for (int round = 0; round < WG_READS_PER_EVENT; round++) {
		int n;

		for (int i = 0; i < WG_BATCH; i++) {
			w->rx[i].msg_hdr.msg_namelen = sizeof w->from[i];
			w->rx[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, w->rx, WG_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		atomic_store_explicit(&w->udp_in, w->udp_in + (uint64_t)n, memory_order_relaxed);
		for (int i = 0; i < n; i++) {
			w->ep[i] = (struct tunnel_endpoint){ .listener = (uint16_t)(s - w->sock) };
			if (w->rx[i].msg_hdr.msg_flags & MSG_TRUNC ||
			    !netaddr_to_stun((struct sockaddr *)&w->from[i], &w->ep[i].addr))
				w->rx[i].msg_len = 0; /* nothing the engine takes */
		}
		receive(w, n, now);
		if (n < WG_BATCH)
			return;
	}
}

/*
 * Datagrams TURN clients sent to this node's WireGuard port, handed over
 * by the workers: the same as from a socket, with the endpoint naming the
 * allocation. Lanes are read in turn, a batch at a time.
 */
static void wg_on_handover(evutil_socket_t fd, short what, void *arg)
{
	struct wg *w = arg;
	int lanes = handover_workers(w->ho), budget = WG_BATCH * 8, n = 0, idle = 0;
	uint64_t now = now_ms(w);

	handover_clear(fd);
	while (budget > 0 && idle < lanes) {
		int worker = w->ho_next;
		struct handover_lane *l = handover_up(w->ho, worker);
		struct handover_msg m;
		const uint8_t *p;
		size_t len;

		w->ho_next = (w->ho_next + 1) % lanes;
		idle++;
		while (n < WG_BATCH && (p = handover_peek(l, &m, &len))) {
			idle = 0;
			budget--;
			if (len > WG_SLOT - TUNNEL_TAILROOM) {
				handover_pop(l);
				handover_lost(l);
				continue;
			}
			memcpy(w->buf[n], p, len);
			handover_pop(l);
			w->rx[n].msg_len = (unsigned)len;
			w->ep[n++] = (struct tunnel_endpoint){ .addr = m.client, .listener = m.local,
							       .conn = turn_conn(worker, m.alloc,
										 m.kind) };
		}
		if (n == WG_BATCH) {
			receive(w, n, now);
			n = 0;
		}
	}
	if (n)
		receive(w, n, now);
	if (budget <= 0)
		event_active(w->ho_ev, EV_READ, 0); /* the rest after the sockets' turn */
}

static void wg_on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct wg *w = arg;
	uint64_t now = now_ms(w);
	uint8_t vh[TUNGRO_VNET_HDR];
	struct iovec iov[2] = { { vh, sizeof vh }, { NULL, 65536 } };

	for (int i = 0; i < WG_TUN_READS_PER_EVENT; i++) {
		uint8_t *b;
		ssize_t n;

		/* room for this packet, and for its datagram in the queue */
		if (w->tun_used == WG_BATCH || w->tx.n == WG_BATCH)
			flush(w);
		b = w->tunbuf[w->tun_used];
		iov[1].iov_base = b + TUNNEL_HEADROOM;
		n = readv(fd, iov, 2) - TUNGRO_VNET_HDR;
		if (n < 0)
			break;
		if (!tungro_complete(vh, b + TUNNEL_HEADROOM, (size_t)n)) {
			w->tun_errors++;
			continue;
		}
		w->tun_used++;
		tunnel_from_tun(w->t, b, (size_t)n, WG_TUN_SLOT, now); /* sealed in place */
	}
	flush(w);
}

static void wg_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct wg *w = arg;

	tunnel_tick(w->t, now_ms(w));
	flush(w);
}

/* ---- peers from the file ------------------------------------------------------ */

static int apply_peer(struct wg *w, const struct wgconf_peer *p)
{
	struct tunnel_peer_conf pc = { .keepalive = p->keepalive };
	int rc;

	memcpy(pc.public_key, p->public_key, 32);
	if (p->has_preshared_key) {
		memcpy(pc.preshared_key, p->preshared_key, 32);
		pc.has_preshared_key = true;
	}
	if (p->has_endpoint && listener_for(w, p->endpoint.family) >= 0) {
		pc.has_endpoint = true;
		pc.endpoint.addr = p->endpoint;
		pc.endpoint.listener = (uint16_t)listener_for(w, p->endpoint.family);
	}
	rc = tunnel_peer_set(w->t, &pc);
	/* the file's list replaces the peer's */
	if (rc == 0)
		rc = tunnel_peer_allow(w->t, pc.public_key, true, 4, NULL, 0);
	for (int i = 0; rc == 0 && i < p->n_allowed; i++)
		rc = tunnel_peer_allow(w->t, pc.public_key, false, p->allowed[i].family,
				       p->allowed[i].ip, p->allowed[i].plen);
	sodium_memzero(&pc, sizeof pc);
	return rc;
}

static int apply_peers(struct wg *w, const struct wgconf *wc, char *err, size_t errlen)
{
	for (int i = 0; i < wc->n_peers; i++) {
		int rc = apply_peer(w, &wc->peers[i]);

		if (rc < 0) {
			snprintf(err, errlen, "%s:%d: peer: %s", w->cfg->wg_config,
				 wc->peers[i].line,
				 rc == -EINVAL ? "a public key no handshake can use (or ours)"
					       : strerror(-rc));
			return -1;
		}
	}
	return 0;
}

/* ---- start-up ------------------------------------------------------------------ */

static int open_socket(struct wg *w, const char *ip, char *err, size_t errlen)
{
	struct wg_sock *s = &w->sock[w->n_sock];
	struct sockaddr_storage ss;
	struct stun_addr a;
	int buf = UDP_SOCKBUF;
	socklen_t len;

	if (!netaddr_parse_ip(ip, w->port, &ss, &len) ||
	    !netaddr_to_stun((struct sockaddr *)&ss, &a)) {
		snprintf(err, errlen, "wireguard: bad address %s", ip);
		return -1;
	}
	s->fd = netaddr_bind((struct sockaddr *)&ss, len, SOCK_DGRAM, false, err, errlen);
	if (s->fd < 0)
		return -1;
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	s->w = w;
	s->family = a.family;
	netaddr_str((struct sockaddr *)&ss, s->name, sizeof s->name);
	s->ev = event_new(w->base, s->fd, EV_READ | EV_PERSIST, wg_on_udp, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		snprintf(err, errlen, "wireguard: out of memory");
		if (s->ev)
			event_free(s->ev);
		close(s->fd);
		return -1;
	}
	w->n_sock++;
	return 0;
}

static int open_sockets(struct wg *w, char *err, size_t errlen)
{
	const struct config *c = w->cfg;

	for (int i = 0; i < c->n_listening_ip; i++)
		if (open_socket(w, c->listening_ip[i], err, errlen) < 0)
			return -1;
	if (c->n_listening_ip)
		return 0;
	return open_socket(w, "0.0.0.0", err, errlen) < 0 ||
			       open_socket(w, "::", err, errlen) < 0
		       ? -1
		       : 0;
}

static int open_tun(struct wg *w, char *err, size_t errlen)
{
	const struct config *c = w->cfg;

	w->tun_fd = -1;
	if (!c->wg_tun)
		return 0;
	w->tun_fd = tun_open(c->wg_tun, c->wg_mtu, c->wg_address, c->n_wg_address, err, errlen);
	if (w->tun_fd < 0)
		return -1;
	w->tun_ev = event_new(w->base, w->tun_fd, EV_READ | EV_PERSIST, wg_on_tun, w);
	if (!w->tun_ev || event_add(w->tun_ev, NULL) < 0) {
		snprintf(err, errlen, "wireguard: out of memory");
		return -1;
	}
	return 0;
}

static void first_problem(void *ctx, const char *msg)
{
	char *err = ctx;

	if (!*err)
		snprintf(err, CONFIG_ERR_LEN, "%s", msg);
}

/* The engine, from the file. */
static int make_engine(struct wg *w, struct wgconf *wc, char *err, size_t errlen)
{
	const struct config *c = w->cfg;
	struct tunnel_config tc = {
		.cookie_threshold = (uint32_t)c->wg_cookie_threshold,
		.gateway = c->wg_tun != NULL,
		.mtu = (uint16_t)c->wg_mtu,
		.lookup_rate = (uint32_t)c->wg_lookup_rate,
		.lookup_timeout_ms = WG_LOOKUP_TIMEOUT_MS,
		.peer_idle_ms = (uint32_t)c->wg_peer_idle * 1000u,
		.max_stored_peers = (uint32_t)c->wg_max_peers,
		.traffic_interval_ms = (uint32_t)c->traffic_interval * 1000u,
	};
	char first[CONFIG_ERR_LEN] = "";

	if (wgconf_load(c->wg_config, wc, first_problem, first) > 0) {
		snprintf(err, errlen, "%s", first);
		return -1;
	}
	memcpy(tc.private_key, wc->private_key, 32);
	w->ops = (struct tunnel_ops){ .ctx = w, .send = ops_send, .deliver = ops_deliver,
				      .random = ops_random,
				      .lookup = c->redis_url ? ops_lookup : NULL,
				      .session = ops_session, .traffic = ops_traffic };
	w->t = tunnel_new(&tc, &w->ops);
	sodium_memzero(&tc, sizeof tc);
	if (!w->t) {
		snprintf(err, errlen, "%s: the private key makes no key pair (or no memory)",
			 c->wg_config);
		return -1;
	}
	w->port = c->wg_listening_port ? c->wg_listening_port
		  : wc->listen_port    ? (uint16_t)wc->listen_port
				       : 51820;
	return 0;
}

static void log_start(struct wg *w, int peers)
{
	char pub[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(pub, sizeof pub, tunnel_public_key(w->t), 32,
			  sodium_base64_VARIANT_ORIGINAL);
	for (int i = 0; i < w->n_sock; i++)
		log_info("wireguard: listening on udp %s", w->sock[i].name);
	log_info("wireguard: public key %s, %d peers, %s, wg show %s", pub, peers,
		 w->cfg->wg_tun ? "gateway (TUN device)" : "hub only (no wg-tun)",
		 w->cfg->wg_tun ? w->cfg->wg_tun : w->cfg->wg_name);
}

struct wg *wg_new(const struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	struct wg *w;
	struct wgconf wc = { 0 };

	err[0] = '\0';
	if (!c->wg_config)
		return NULL;
	w = calloc(1, sizeof *w);
	if (!w || !(w->buf = calloc(WG_BATCH, WG_SLOT)) ||
	    !(w->tunbuf = calloc(WG_BATCH, WG_TUN_SLOT)) || !(w->base = event_base_new())) {
		snprintf(err, errlen, "wireguard: out of memory");
		goto fail;
	}
	w->srv = srv;
	w->cfg = c;
	w->tun_fd = -1;
	tungro_init(&w->gro, tun_write, w);
	for (int i = 0; i < WG_BATCH; i++) {
		w->iov[i] = (struct iovec){ w->buf[i], 65536 };
		w->rx[i].msg_hdr = (struct msghdr){ .msg_name = &w->from[i],
						    .msg_namelen = sizeof w->from[i],
						    .msg_iov = &w->iov[i], .msg_iovlen = 1 };
	}
	if (make_engine(w, &wc, err, errlen) < 0 || open_sockets(w, err, errlen) < 0 ||
	    apply_peers(w, &wc, err, errlen) < 0 || open_tun(w, err, errlen) < 0)
		goto fail;
	w->env = (struct uapi_env){ .t = w->t, .listen_port = w->port,
				    .listener_for = listener_for, .changed = on_uapi_changed,
				    .ctx = w };
	tunnel_tick(w->t, now_ms(w)); /* the engine's clock, before any wg set */
	w->uapi = uapi_listen(w->base, c->wg_tun ? c->wg_tun : c->wg_name, &w->env, err, errlen);
	w->tick = event_new(w->base, -1, EV_PERSIST, wg_on_tick, w);
	w->ho = srv->handover;
	if (w->ho)
		w->ho_ev = event_new(w->base, handover_responder_fd(w->ho), EV_READ | EV_PERSIST,
				     wg_on_handover, w);
	if (!w->uapi || !w->tick ||
	    event_add(w->tick, &(struct timeval){ 0, WG_TICK_MS * 1000 }) < 0 ||
	    (w->ho && (!w->ho_ev || event_add(w->ho_ev, NULL) < 0))) {
		if (!*err)
			snprintf(err, errlen, "wireguard: out of memory");
		goto fail;
	}
	log_start(w, wc.n_peers);
	wgconf_free(&wc);
	return w;
fail:
	wgconf_free(&wc);
	wg_free(w);
	return NULL;
}

static void *wg_main(void *arg)
{
	struct wg *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

int wg_start(struct wg *w)
{
	const struct redis_url *u;
	char why[256];

	if (!w)
		return 0;
	/* the store's settings (with redis-sentinel, its sentinels) exist now */
	u = store_redis_url(w->srv->store);
	if (u && w->cfg->redis_url) {
		w->store = wgstore_open(w->base, u, tunnel_public_key(w->t), on_store_answer,
					on_store_changed, w, why, sizeof why);
		if (!w->store) {
			log_err("wireguard: redis: %s", why);
			return -1;
		}
	}
	if (pthread_create(&w->thread, NULL, wg_main, w) != 0)
		return -1;
	w->running = true;
	return 0;
}

void wg_stop(struct wg *w)
{
	if (!w || !w->running)
		return;
	event_base_loopbreak(w->base);
	pthread_join(w->thread, NULL);
	w->running = false;
}

void wg_free(struct wg *w)
{
	if (!w)
		return;
	uapi_free(w->uapi);
	if (w->tick)
		event_free(w->tick);
	if (w->ho_ev)
		event_free(w->ho_ev);
	if (w->tun_ev)
		event_free(w->tun_ev);
	if (w->tun_fd >= 0)
		close(w->tun_fd);
	for (int i = 0; i < w->n_sock; i++) {
		event_free(w->sock[i].ev);
		close(w->sock[i].fd);
	}
	wgstore_free(w->store); /* before the engine its answers go to */
	w->store = NULL;        /* and the engine's last session events go nowhere */
	tunnel_free(w->t);
	if (w->base)
		event_base_free(w->base);
	free(w->buf);
	free(w->tunbuf);
	free(w);
}

/* ---- SIGHUP ------------------------------------------------------------------------ */

struct keep {
	const struct wgconf *wc;
	uint8_t (*gone)[32];
	int n_gone;
};

static void not_in_file(void *ctx, const struct tunnel_peer_info *p)
{
	struct keep *k = ctx;

	for (int i = 0; i < k->wc->n_peers; i++)
		if (memcmp(k->wc->peers[i].public_key, p->public_key, 32) == 0)
			return;
	if (k->gone)
		memcpy(k->gone[k->n_gone++], p->public_key, 32);
}

static void log_problem(void *ctx, const char *msg)
{
	log_err("SIGHUP: %s", msg);
}

static void wg_on_reload(evutil_socket_t fd, short what, void *arg)
{
	struct wg *w = arg;
	struct wgconf wc;
	struct keep k = { .wc = &wc };
	char err[CONFIG_ERR_LEN] = "";
	uint8_t pub[32];

	if (wgconf_load(w->cfg->wg_config, &wc, log_problem, NULL) > 0) {
		log_err("SIGHUP: %s not applied: nothing changed", w->cfg->wg_config);
		goto out;
	}
	crypto_scalarmult_base(pub, wc.private_key);
	if (memcmp(pub, tunnel_public_key(w->t), 32) != 0)
		log_warn("SIGHUP: %s has a new PrivateKey: it takes a restart; the peers are "
			 "applied under the old one", w->cfg->wg_config);
	/* the file is the truth, as with wg syncconf: peers it lacks go */
	k.gone = malloc(((size_t)tunnel_stats(w->t)->peers + 1) * 32);
	if (k.gone)
		tunnel_peer_each(w->t, not_in_file, &k);
	for (int i = 0; i < k.n_gone; i++)
		tunnel_peer_remove(w->t, k.gone[i]);
	if (apply_peers(w, &wc, err, sizeof err) < 0)
		log_err("SIGHUP: %s", err);
	log_info("SIGHUP: %s: %d peers, %d removed", w->cfg->wg_config, wc.n_peers, k.n_gone);
	free(k.gone);
out:
	wgconf_free(&wc);
}

void wg_reload(struct wg *w)
{
	if (w)
		event_base_once(w->base, -1, EV_TIMEOUT, wg_on_reload, w, NULL);
}

/* ---- statistics ----------------------------------------------------------------------- */

uint16_t wg_port(const struct wg *w)
{
	return w ? w->port : 0;
}

const struct tunnel_stats *wg_stats(const struct wg *w)
{
	return w ? tunnel_stats(w->t) : NULL;
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

/* Datagrams by the way they came and went: the responder's own sockets,
 * or a TURN allocation or WebSocket connection on this node (handed over,
 * no socket). */
static void turn_metrics(const struct wg *w, struct evbuffer *b)
{
	struct handover_totals t = { 0 };

	if (w->ho)
		handover_totals(w->ho, &t);
	evbuffer_add_printf(b,
		"# HELP tern_wg_datagrams_total WireGuard datagrams, by the way they came or "
		"went: the responder's UDP sockets, or a TURN allocation or WebSocket connection "
		"on this node, handed over in the process.\n# TYPE tern_wg_datagrams_total counter\n"
		"tern_wg_datagrams_total{via=\"udp\",direction=\"in\"} %llu\n"
		"tern_wg_datagrams_total{via=\"udp\",direction=\"out\"} %llu\n"
		"tern_wg_datagrams_total{via=\"turn\",direction=\"in\"} %llu\n"
		"tern_wg_datagrams_total{via=\"turn\",direction=\"out\"} %llu\n"
		"tern_wg_datagrams_total{via=\"websocket\",direction=\"in\"} %llu\n"
		"tern_wg_datagrams_total{via=\"websocket\",direction=\"out\"} %llu\n"
		"# HELP tern_wg_turn_dropped_total Datagrams between TURN allocations and the "
		"responder dropped, by reason.\n# TYPE tern_wg_turn_dropped_total counter\n"
		"tern_wg_turn_dropped_total{reason=\"queue_full\",direction=\"in\"} %llu\n"
		"tern_wg_turn_dropped_total{reason=\"queue_full\",direction=\"out\"} %llu\n"
		"tern_wg_turn_dropped_total{reason=\"no_allocation\"} %llu\n",
		LOAD(w->udp_in), LOAD(w->udp_out), (unsigned long long)t.to_responder[HO_TURN],
		(unsigned long long)t.to_client[HO_TURN],
		(unsigned long long)t.to_responder[HO_WEBSOCKET],
		(unsigned long long)t.to_client[HO_WEBSOCKET], (unsigned long long)t.full_up,
		(unsigned long long)t.full_down, (unsigned long long)t.lost);
}

void wg_metrics(const struct wg *w, struct evbuffer *b)
{
	const struct tunnel_stats *s;

	if (!w)
		return;
	s = tunnel_stats(w->t);
	evbuffer_add_printf(b,
		"# HELP tern_wg_peers WireGuard peers in memory.\n# TYPE tern_wg_peers gauge\n"
		"tern_wg_peers %llu\n"
		"# HELP tern_wg_sessions WireGuard sessions (keypairs) held.\n"
		"# TYPE tern_wg_sessions gauge\ntern_wg_sessions %llu\n"
		"# HELP tern_wg_under_load 1 while handshakes must carry a cookie.\n"
		"# TYPE tern_wg_under_load gauge\ntern_wg_under_load %d\n"
		"# HELP tern_wg_handshakes_total WireGuard handshake messages, by kind.\n"
		"# TYPE tern_wg_handshakes_total counter\n"
		"tern_wg_handshakes_total{kind=\"initiation\"} %llu\n"
		"tern_wg_handshakes_total{kind=\"response\"} %llu\n"
		"tern_wg_handshakes_total{kind=\"cookie_reply\"} %llu\n"
		"tern_wg_handshakes_total{kind=\"cookie_taken\"} %llu\n"
		"# HELP tern_wg_packets_total Inner packets, by direction.\n"
		"# TYPE tern_wg_packets_total counter\n"
		"tern_wg_packets_total{direction=\"from_peers\"} %llu\n"
		"tern_wg_packets_total{direction=\"to_peers\"} %llu\n"
		"# HELP tern_wg_bytes_total Inner bytes, by direction.\n"
		"# TYPE tern_wg_bytes_total counter\n"
		"tern_wg_bytes_total{direction=\"from_peers\"} %llu\n"
		"tern_wg_bytes_total{direction=\"to_peers\"} %llu\n"
		"# HELP tern_wg_keepalives_total Keepalives sent.\n"
		"# TYPE tern_wg_keepalives_total counter\ntern_wg_keepalives_total %llu\n"
		"# HELP tern_wg_dropped_total WireGuard messages and packets dropped, by reason.\n"
		"# TYPE tern_wg_dropped_total counter\n",
		LOAD(s->peers), LOAD(s->sessions), (int)atomic_load(&s->under_load),
		LOAD(s->initiations), LOAD(s->responses), LOAD(s->cookie_replies),
		LOAD(s->cookies_taken), LOAD(s->rx_packets), LOAD(s->tx_packets),
		LOAD(s->rx_bytes), LOAD(s->tx_bytes), LOAD(s->keepalives));
	for (int d = 0; d < TD_COUNT; d++)
		evbuffer_add_printf(b, "tern_wg_dropped_total{reason=\"%s\"} %llu\n",
				    tunnel_drop_name(d), LOAD(s->dropped[d]));
	evbuffer_add_printf(b, "tern_wg_dropped_total{reason=\"send_error\"} %llu\n"
			       "tern_wg_dropped_total{reason=\"tun_error\"} %llu\n"
			       "# HELP tern_wg_tun_writes_total Writes to the TUN device; one GSO "
			       "write carries several TCP segments.\n"
			       "# TYPE tern_wg_tun_writes_total counter\ntern_wg_tun_writes_total %llu\n"
			       "# HELP tern_wg_tun_segments_total Packets those writes carried.\n"
			       "# TYPE tern_wg_tun_segments_total counter\n"
			       "tern_wg_tun_segments_total %llu\n"
			       "# HELP tern_wg_lookups_total Peers asked of Redis at a handshake.\n"
			       "# TYPE tern_wg_lookups_total counter\ntern_wg_lookups_total %llu\n"
			       "# HELP tern_wg_evictions_total Peers from Redis let go of memory.\n"
			       "# TYPE tern_wg_evictions_total counter\ntern_wg_evictions_total %llu\n",
			    LOAD(w->send_errors), LOAD(w->tun_errors), LOAD(w->tun_writes),
			    LOAD(w->tun_segments), LOAD(s->lookups), LOAD(s->evictions));
	turn_metrics(w, b);
}

void wg_counts(const struct wg *w, char peers[24], char sessions[24])
{
	const struct tunnel_stats *s = w ? tunnel_stats(w->t) : NULL;

	snprintf(peers, 24, "%llu", s ? LOAD(s->peers) : 0ULL);
	snprintf(sessions, 24, "%llu", s ? LOAD(s->sessions) : 0ULL);
}

void wg_json(const struct wg *w, struct evbuffer *b)
{
	const struct tunnel_stats *s;
	uint64_t dropped = 0;

	if (!w)
		return;
	s = tunnel_stats(w->t);
	for (int d = 0; d < TD_COUNT; d++)
		dropped += LOAD(s->dropped[d]);
	evbuffer_add_printf(b,
		",\"wireguard\":{\"port\":%u,\"peers\":%llu,\"sessions\":%llu,"
		"\"under_load\":%s,\"initiations\":%llu,\"responses\":%llu,"
		"\"cookie_replies\":%llu,\"packets_from_peers\":%llu,\"packets_to_peers\":%llu,"
		"\"bytes_from_peers\":%llu,\"bytes_to_peers\":%llu,\"dropped\":%llu}",
		(unsigned)w->port, LOAD(s->peers), LOAD(s->sessions),
		atomic_load(&s->under_load) ? "true" : "false", LOAD(s->initiations),
		LOAD(s->responses), LOAD(s->cookie_replies), LOAD(s->rx_packets),
		LOAD(s->tx_packets), LOAD(s->rx_bytes), LOAD(s->tx_bytes),
		(unsigned long long)dropped);
}
