/*
 * Classify a client's message (RFC 7983: first byte 0-3 is STUN, 64-79 is
 * ChannelData), parse it, count it, and let the owning core answer: the
 * Binding service for Binding, the worker's TURN engine for the rest. Data
 * a client relays leaves here, on the allocation's relay socket.
 */
#include "server/peer.h"
#include "server/service.h"
#include "server/srclog.h"
#include "store/store.h"

enum { LOG_USER_MAX = 64 }; /* bytes of a username a log line shows */

static void drop(struct worker *w, enum transport tp, enum drop_reason r)
{
	counter_inc(&w->counters.dropped[tp][r]);
}

/* Bad input from src: counted always, logged by srclog (once an interval). */
static void malformed(struct worker *w, enum transport tp, enum drop_reason r,
		      const struct stun_addr *src)
{
	drop(w, tp, r);
	srclog_note(w->srclog, SRCLOG_MALFORMED, counters_transport_name(tp), src,
		    worker_now_ms(w), "dropped: %s", counters_drop_name(r));
}

/* What the engine said of a request's credentials, for the log. A stale
 * nonce is routine (the client retries with the fresh one), not bad input. */
static void say_auth(struct worker *w, enum transport tp, const struct stun_msg *m,
		     const struct stun_addr *src, const struct relay_action *a)
{
	const struct stun_attr *u = &m->a[SA_USERNAME];
	int ulen = u->v ? (u->len > LOG_USER_MAX ? LOG_USER_MAX : u->len) : 0;

	if (a->limited)
		srclog_note(w->srclog, SRCLOG_LIMITED, counters_transport_name(tp), src,
			    worker_now_ms(w), "unanswered: over the unauthenticated budget");
	else if (a->auth_fail && a->auth_fail != AUTH_STALE_NONCE)
		srclog_note(w->srclog, SRCLOG_AUTH, counters_transport_name(tp), src,
			    worker_now_ms(w), "%d %s, user \"%.*s%s\"", a->error,
			    auth_fail_name((enum auth_fail)a->auth_fail), ulen,
			    u->v ? (const char *)u->v : "", u->v && u->len > ulen ? "..." : "");
}

static struct relay_key key_of(const struct worker *w, const struct listener_spec *ls,
			       const struct stun_addr *src, uintptr_t conn)
{
	struct relay_key k = {
		.listener = (uint16_t)(ls - w->srv->spec),
		.transport = ls->tp == TP_UDP || ls->tp == TP_DTLS ? TURN_TRANSPORT_UDP
								  : TURN_TRANSPORT_TCP,
		.client = *src,
		.conn = conn,
	};

	return k;
}

/* From UDP clients, queued: udp.c flushes once per batch it read. Data for
 * the in-process WireGuard responder is handed over (its lane counts what
 * it drops). */
static void to_peer(struct worker *w, enum transport tp, const struct relay_key *k,
		    const struct relay_action *a)
{
	bool ok;

	if (a->peer_handle < 0)
		return;
	if (a->local) {
		peer_hand_over(w, a, &k->client);
		if (tp != TP_UDP)
			peer_flush(w);
		return;
	}
	ok = tp == TP_UDP ? peer_queue(w, a->peer_handle, &a->peer, a->data, a->data_len)
			  : peer_send(w, a->peer_handle, &a->peer, a->data, a->data_len);
	if (!ok)
		drop(w, tp, DROP_SEND_ERROR);
}

static void channel_data(struct worker *w, const struct listener_spec *ls,
			 const uint8_t *p, size_t len, const struct stun_addr *src,
			 uintptr_t conn)
{
	struct relay_key k = key_of(w, ls, src, conn);
	struct relay_action a;
	const uint8_t *data;
	uint16_t ch, dlen;

	if (!w->engine || !channel_parse(p, len, &ch, &data, &dlen)) {
		malformed(w, ls->tp, DROP_UNKNOWN_PROTOCOL, src);
		return;
	}
	a = relay_from_client_channel(w->engine, &k, ch, data, dlen, worker_now_ms(w));
	to_peer(w, ls->tp, &k, &a);
}

static struct service_reply turn(struct worker *w, const struct listener_spec *ls,
				 const struct stun_msg *m, const struct stun_addr *src,
				 uintptr_t conn, uint8_t *out, size_t cap)
{
	struct service_reply sr = { 0 };
	struct relay_key k = key_of(w, ls, src, conn);
	struct relay_action a;

	a = relay_from_client(w->engine, &k, m, worker_now_ms(w), out, cap);
	/* before the answer: see relay_sync_urgent(); UDP's batch does it once
	 * for all it read (server/udp.c) */
	if (ls->tp != TP_UDP)
		store_records_now(w);
	if (a.auth_fail || a.limited)
		say_auth(w, ls->tp, m, src, &a);
	to_peer(w, ls->tp, &k, &a);
	if (a.hold) { /* redis-required: the answer waits for Redis (udp only) */
		store_hold(w, &k, m->tid, worker_udp_fd(w, k.listener), src, out, a.reply_len,
			   a.fallback_len);
		return sr;
	}
	if (a.reply_len)
		counter_inc(&w->counters.responses[ls->tp][a.error ? AC_ERROR : AC_SUCCESS]);
	sr.len = a.reply_len;
	return sr;
}

struct service_reply service_handle(struct worker *w, const struct listener_spec *ls,
				    const uint8_t *p, size_t len,
				    const struct stun_addr *src, uintptr_t conn,
				    uint8_t *out, size_t cap)
{
	struct service_reply sr = { 0 };
	enum transport tp = ls->tp;
	struct binding_reply br;
	enum stun_parse_error e;
	struct stun_msg m;

	if (channel_looks_like(p, len)) {
		channel_data(w, ls, p, len, src, conn);
		return sr;
	}
	if (!stun_looks_like(p, len)) {
		malformed(w, tp, DROP_UNKNOWN_PROTOCOL, src);
		return sr;
	}
	e = stun_parse(&m, p, len);
	if (e != STUN_OK) {
		malformed(w, tp, (enum drop_reason)e, src);
		return sr;
	}
	if (m.cls == STUN_REQUEST)
		counter_inc(&w->counters.requests[tp][counters_method(m.method)]);
	if (m.method != STUN_BINDING && w->engine)
		return turn(w, ls, &m, src, conn, out, cap);
	if (m.cls != STUN_REQUEST) {
		drop(w, tp, DROP_UNEXPECTED_CLASS);
		return sr;
	}
	br = binding_answer(&ls->binding, &m, src, &ls->local, out, cap);
	if (br.len == 0)
		return sr;
	counter_inc(&w->counters.responses[tp][br.error ? AC_ERROR : AC_SUCCESS]);
	sr.len = br.len;
	sr.change = br.change;
	sr.response_port = br.response_port;
	return sr;
}

bool service_conn_allocated(struct worker *w, const struct listener_spec *ls,
			    const struct stun_addr *src, uintptr_t conn)
{
	struct relay_key k = key_of(w, ls, src, conn);

	return w->engine && relay_has_allocation(w->engine, &k);
}

void service_conn_gone(struct worker *w, const struct listener_spec *ls,
		       const struct stun_addr *src, uintptr_t conn)
{
	struct relay_key k = key_of(w, ls, src, conn);

	if (w->engine)
		relay_client_gone(w->engine, &k);
}
