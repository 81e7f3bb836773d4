/*
 * WebSocket connections (see wsconn.h). wslay reads frames out of the
 * bufferevent's input and writes them into its output; every message in
 * is whole (wslay joins fragments, up to ws-max-message) before it is
 * looked at. Output is bounded as the stream's is: a message for a client
 * that has STREAM_MAX_OUTPUT unread is dropped (datagram semantics), and a
 * client that takes nothing for two ping intervals is closed.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <wslay/wslay.h>

#include "server/handover.h"
#include "server/limits.h"
#include "server/service.h"
#include "server/stream_conn.h"
#include "server/ws.h"
#include "server/wsconn.h"

enum {
	WS_RESPONSE_MAX = 512,
	/* a /wg connection the responder answered this recently holds a
	 * session (WireGuard's REJECT_AFTER_TIME), and stays while quiet */
	WS_SESSION_MS = 180 * 1000,
	/* /wg connections per worker: ids are a slot and a generation */
	WS_SLOT_BITS = 14,
};

_Static_assert(STREAM_MAX_PER_WORKER <= 1 << WS_SLOT_BITS, "a slot per connection");

enum framing { WF_UNKNOWN, WF_DATAGRAM, WF_FLY };

struct wsconn {
	wslay_event_context_ptr ctx;
	struct stream_conn *c;
	enum ws_path path;
	enum framing framing;
	uint8_t opcode;        /* flyctl's: it reads what it sends */
	bool in_recv;          /* inside wslay_event_recv: send after */
	bool failed;           /* close at once */
	bool closing;          /* our close is queued: take no more messages */
	bool pinged;
	uint32_t id;           /* /wg: the responder's name for it */
	uint64_t last_rx_ms;   /* any frame, pongs included */
	uint64_t last_down_ms; /* /wg: the responder's latest datagram */
	uint8_t *buf;          /* flyctl: the stream, 4 + ws-max-message */
	size_t have;
	struct ws_retype rt;   /* /wg: text frames made binary for wslay */
};

/* A worker's /wg connections, by id: generation << WS_SLOT_BITS | slot. */
struct wsconn_table {
	struct stream_conn *c[1 << WS_SLOT_BITS];
	uint32_t gen[1 << WS_SLOT_BITS];
	uint16_t free[1 << WS_SLOT_BITS];
	int n_free;
};

/*
 * An HTTP method: upper-case letters, then a space or more of them ("GET ",
 * "POST", "OPTIONS"). A new connection's first message is STUN (its first
 * byte below 0x40); ChannelData, the other thing a stream carries, needs a
 * channel, which a new connection cannot have. So these bytes are never
 * TURN, and a method other than GET gets its 405 at once.
 */
bool wsconn_starts_http(const struct worker *w, const uint8_t head[4])
{
	if (w->srv->cfg->no_websocket || head[0] < 'A' || head[0] > 'Z')
		return false;
	for (int i = 1; i < 4; i++)
		if ((head[i] < 'A' || head[i] > 'Z') && !(i > 2 && head[i] == ' '))
			return false;
	return true;
}

static bool table_add(struct worker *w, struct stream_conn *c, uint32_t *id)
{
	struct wsconn_table *t = w->ws_table;
	int slot;

	if (!t) {
		t = w->ws_table = calloc(1, sizeof *t);
		if (!t)
			return false;
		for (int i = 0; i < 1 << WS_SLOT_BITS; i++)
			t->free[i] = (uint16_t)((1 << WS_SLOT_BITS) - 1 - i);
		t->n_free = 1 << WS_SLOT_BITS;
	}
	if (!t->n_free)
		return false;
	slot = t->free[--t->n_free];
	t->c[slot] = c;
	*id = t->gen[slot] << WS_SLOT_BITS | (uint32_t)slot;
	return true;
}

static void table_remove(struct worker *w, uint32_t id)
{
	struct wsconn_table *t = w->ws_table;
	uint32_t slot = id & ((1 << WS_SLOT_BITS) - 1);

	t->c[slot] = NULL;
	t->gen[slot] = (t->gen[slot] + 1) & ((1u << (32 - WS_SLOT_BITS)) - 1);
	t->free[t->n_free++] = (uint16_t)slot;
}

void wsconn_table_free(struct worker *w)
{
	free(w->ws_table);
	w->ws_table = NULL;
}

/* ---- wslay's callbacks ----------------------------------------------------- */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
		       void *arg)
{
	struct wsconn *ws = arg;
	int n = evbuffer_remove(bufferevent_get_input(ws->c->bev), buf, len);

	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (ws->path == WSP_WG)
		ws_retype(&ws->rt, buf, (size_t)n);
	return n;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
		       int flags, void *arg)
{
	struct wsconn *ws = arg;

	if (evbuffer_add(bufferevent_get_output(ws->c->bev), data, len) < 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* Queue our close; it goes with the next flush, and then c lingers. Once
 * a close is queued, wslay reads no more data messages. */
static void close_with(struct wsconn *ws, uint16_t code, const char *why)
{
	ws->closing = true;
	wslay_event_queue_close(ws->ctx, code, (const uint8_t *)why, strlen(why));
}

static void to_responder(void *arg, const uint8_t *p, size_t len)
{
	struct wsconn *ws = arg;
	struct worker *w = ws->c->w;
	struct handover_msg m = { .alloc = ws->id, .kind = HO_WEBSOCKET, .client = ws->c->peer };

	counter_inc(&w->counters.ws_messages[WSP_WG][0]);
	counter_add(&w->counters.ws_bytes[WSP_WG][0], len);
	handover_push(handover_up(w->srv->handover, w->id), &m, p, len);
}

/* flyctl's stream: append, and hand over every whole datagram. */
static void fly_feed(struct wsconn *ws, const uint8_t *p, size_t len)
{
	size_t cap = 4 + (size_t)ws->c->w->srv->cfg->ws_max_message;

	while (len) {
		size_t k = cap - ws->have < len ? cap - ws->have : len;

		memcpy(ws->buf + ws->have, p, k);
		ws->have += k;
		p += k;
		len -= k;
		if (!ws_fly_split(ws->buf, &ws->have, cap - 4, to_responder, ws)) {
			close_with(ws, WSLAY_CODE_MESSAGE_TOO_BIG, "datagram over ws-max-message");
			return;
		}
	}
}

/* A message on /wg: the first says which framing (every message is binary
 * by now, see ws_retype). */
static void wg_message(struct wsconn *ws, const uint8_t *p, size_t len)
{
	if (ws->framing == WF_UNKNOWN) {
		if (ws_fly_magic(p, len)) { /* flyctl: a stream from here on */
			ws->buf = malloc(4 + (size_t)ws->c->w->srv->cfg->ws_max_message);
			if (!ws->buf) {
				ws->failed = true;
				return;
			}
			ws->framing = WF_FLY;
			ws->opcode = ws->rt.first == 1 ? WSLAY_TEXT_FRAME : WSLAY_BINARY_FRAME;
			p += 4;
			len -= 4;
		} else {
			ws->framing = WF_DATAGRAM;
		}
	}
	if (ws->framing == WF_FLY)
		fly_feed(ws, p, len);
	else
		to_responder(ws, p, len);
}

static void on_message(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
		       void *arg)
{
	struct wsconn *ws = arg;
	struct stream_conn *c = ws->c;

	if (a->opcode != WSLAY_TEXT_FRAME && a->opcode != WSLAY_BINARY_FRAME)
		return; /* ping, pong, close: wslay answers */
	if (ws->failed || ws->closing)
		return;
	c->last_ms = worker_now_ms(c->w);
	if (ws->path == WSP_WG) {
		wg_message(ws, a->msg, a->msg_length);
		return;
	}
	if (a->opcode != WSLAY_BINARY_FRAME) {
		close_with(ws, WSLAY_CODE_UNSUPPORTED_DATA, "binary messages only");
		return;
	}
	counter_inc(&c->w->counters.ws_messages[WSP_TURN][0]);
	counter_add(&c->w->counters.ws_bytes[WSP_TURN][0], a->msg_length);
	if (!stream_conn_message(c, a->msg, a->msg_length)) { /* its replies are not read */
		counter_inc(&c->w->counters.ws_closed[WSC_SLOW_READER]);
		ws->failed = true;
	}
}

/*
 * Write what wslay holds; then close c if it failed, or let it linger once
 * a close frame has gone (ours, wslay's refusal, or the answer to the
 * client's). False when c is closed or closing: do not touch it again.
 */
static bool flush(struct stream_conn *c)
{
	struct wsconn *ws = c->ws;
	uint16_t code;

	if (!ws->failed && wslay_event_send(ws->ctx) != 0)
		ws->failed = true;
	if (ws->failed) {
		stream_conn_close(c);
		return false;
	}
	if (!wslay_event_get_close_sent(ws->ctx))
		return true;
	/* closes for a limit are counted here, whoever queued them */
	code = wslay_event_get_status_code_sent(ws->ctx);
	if (code == WSLAY_CODE_MESSAGE_TOO_BIG)
		counter_inc(&c->w->counters.ws_closed[WSC_MESSAGE_SIZE]);
	else if (code == WSLAY_CODE_PROTOCOL_ERROR || code == WSLAY_CODE_UNSUPPORTED_DATA ||
		 code == WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA)
		counter_inc(&c->w->counters.ws_closed[WSC_PROTOCOL]);
	stream_conn_linger(c);
	return false;
}

void wsconn_on_read(struct stream_conn *c)
{
	struct wsconn *ws = c->ws;
	struct worker *w = c->w;
	int r;

	ws->last_rx_ms = worker_now_ms(w);
	ws->pinged = false;
	ws->in_recv = true;
	r = wslay_event_recv(ws->ctx);
	ws->in_recv = false;
	if (r != 0)
		ws->failed = true;
	if (ws->path == WSP_WG)
		handover_wake(handover_up(w->srv->handover, w->id));
	flush(c);
}

/* Queue one message of opcode; false (counted) if c cannot take it. */
static bool put(struct stream_conn *c, uint8_t opcode, const uint8_t *p, size_t len)
{
	struct wsconn *ws = c->ws;
	struct wslay_event_msg m = { .opcode = opcode, .msg = p, .msg_length = len };

	if (c->lingering || ws->failed || wslay_event_get_close_sent(ws->ctx) ||
	    evbuffer_get_length(bufferevent_get_output(c->bev)) +
			    wslay_event_get_queued_msg_length(ws->ctx) > STREAM_MAX_OUTPUT) {
		counter_inc(&c->w->counters.dropped[c->ls->tp][DROP_STREAM_OVERFLOW]);
		return false;
	}
	return wslay_event_queue_msg(ws->ctx, &m) == 0;
}

bool wsconn_send(struct stream_conn *c, const uint8_t *p, size_t len)
{
	struct wsconn *ws = c->ws;

	if (!put(c, WSLAY_BINARY_FRAME, p, len))
		return false;
	counter_inc(&c->w->counters.ws_messages[WSP_TURN][1]);
	counter_add(&c->w->counters.ws_bytes[WSP_TURN][1], len);
	if (!ws->in_recv && wslay_event_send(ws->ctx) != 0)
		ws->failed = true; /* closed at its next event */
	return true;
}

bool wsconn_deliver(struct worker *w, uint32_t id, const uint8_t *p, size_t len)
{
	struct wsconn_table *t = w->ws_table;
	uint32_t slot = id & ((1 << WS_SLOT_BITS) - 1);
	struct stream_conn *c = t ? t->c[slot] : NULL;
	struct wsconn *ws;
	uint8_t framed[4 + WS_FLY_MAX];
	bool ok;

	if (!c || c->ws->id != id)
		return false;
	ws = c->ws;
	ws->last_down_ms = worker_now_ms(w);
	if (ws->framing == WF_FLY) {
		if (len > WS_FLY_MAX) /* its client would drop it, and the stream with it */
			return true;
		framed[0] = (uint8_t)(len >> 24);
		framed[1] = (uint8_t)(len >> 16);
		framed[2] = (uint8_t)(len >> 8);
		framed[3] = (uint8_t)len;
		memcpy(framed + 4, p, len);
		ok = put(c, ws->opcode, framed, len + 4);
	} else {
		ok = put(c, WSLAY_BINARY_FRAME, p, len);
	}
	if (ok) {
		counter_inc(&w->counters.ws_messages[WSP_WG][1]);
		counter_add(&w->counters.ws_bytes[WSP_WG][1], len);
		flush(c);
	}
	return true;
}

/* ---- the upgrade ------------------------------------------------------------ */

/* Answer with status and close once it is written. */
static void refuse(struct stream_conn *c, int status, enum ws_refusal why, const char *text)
{
	char out[WS_RESPONSE_MAX], detail[128];
	size_t n = ws_response(out, sizeof out, status, NULL, NULL, text);

	counter_inc(&c->w->counters.ws_refused[why]);
	snprintf(detail, sizeof detail, "HTTP %d: %s", status, text);
	stream_conn_say(c, detail);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	if (n)
		evbuffer_add(bufferevent_get_output(c->bev), out, n);
	stream_conn_linger(c);
}

/* The path's service, or -1: prefix/turn, prefix/wg, prefix/ (flyctl). */
static int path_of(const struct stream_conn *c, const char *path)
{
	const char *prefix = c->w->srv->cfg->ws_path_prefix ? c->w->srv->cfg->ws_path_prefix : "";
	size_t n = strlen(prefix);
	bool wg = c->w->srv->handover != NULL;

	if (strncmp(path, prefix, n) != 0)
		return -1;
	path += n;
	if (strcmp(path, "/turn") == 0)
		return WSP_TURN;
	if (wg && (strcmp(path, "/wg") == 0 || strcmp(path, "/") == 0 || (n && !*path)))
		return WSP_WG;
	return -1;
}

static bool origin_allowed(const struct config *cfg, const struct ws_request *r)
{
	if (!cfg->n_ws_allowed_origin || !r->has_origin)
		return true;
	for (int i = 0; i < cfg->n_ws_allowed_origin; i++)
		if (strcasecmp(cfg->ws_allowed_origin[i], r->origin) == 0)
			return true;
	return false;
}

static struct wsconn *wsconn_new(struct stream_conn *c, enum ws_path path)
{
	static const struct wslay_event_callbacks cb = {
		.recv_callback = on_recv,
		.send_callback = on_send,
		.on_msg_recv_callback = on_message,
	};
	struct wsconn *ws = calloc(1, sizeof *ws);

	if (!ws)
		return NULL;
	ws->c = c;
	ws->path = path;
	if (wslay_event_context_server_init(&ws->ctx, &cb, ws) != 0) {
		free(ws);
		return NULL;
	}
	wslay_event_config_set_max_recv_msg_length(ws->ctx,
						   (uint64_t)c->w->srv->cfg->ws_max_message);
	if (path == WSP_WG && !table_add(c->w, c, &ws->id)) {
		wslay_event_context_free(ws->ctx);
		free(ws);
		return NULL;
	}
	return ws;
}

void wsconn_on_head(struct stream_conn *c)
{
	const struct config *cfg = c->w->srv->cfg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), max = (size_t)cfg->ws_max_header;
	const char *proto = NULL, *want;
	char out[WS_RESPONSE_MAX], accept[WS_ACCEPT_LEN + 1];
	struct timeval stall = { 2 * cfg->ws_ping_interval, 0 };
	struct ws_request r;
	enum ws_parse v;
	int path;

	if (len > max)
		len = max;
	v = ws_parse_request((const char *)evbuffer_pullup(in, (ssize_t)len), len, max, &r);
	if (v == WS_MORE)
		return; /* stream-handshake-timeout bounds the wait */
	if (v == WS_TOO_BIG) {
		refuse(c, 431, WSR_HEADER_SIZE, "request head over ws-max-header");
		return;
	}
	if (r.status) {
		refuse(c, r.status, r.status == 426 ? WSR_NOT_WEBSOCKET : WSR_BAD_REQUEST,
		       r.status == 426 ? "this port speaks TURN and WebSocket" : NULL);
		return;
	}
	path = path_of(c, r.path);
	if (path < 0) {
		refuse(c, 404, WSR_NOT_FOUND, "no such WebSocket path here");
		return;
	}
	if (!origin_allowed(cfg, &r)) {
		refuse(c, 403, WSR_ORIGIN, "origin not allowed");
		return;
	}
	want = path == WSP_TURN ? "turn" : "wireguard";
	if (r.protocols[0] && ws_list_has(r.protocols, want))
		proto = want;
	evbuffer_drain(in, r.head_len);
	c->ws = wsconn_new(c, (enum ws_path)path);
	if (!c->ws) {
		refuse(c, 503, WSR_BAD_REQUEST, "out of room");
		return;
	}
	c->http = false;
	ws_accept(r.key, accept);
	evbuffer_add(bufferevent_get_output(c->bev), out,
		     ws_response(out, sizeof out, 101, accept, proto, NULL));
	counter_inc(&c->w->counters.ws_open[path]);
	c->talked = true; /* the upgrade is its first message */
	c->last_ms = c->ws->last_rx_ms = worker_now_ms(c->w);
	bufferevent_set_timeouts(c->bev, NULL, &stall);
	stream_conn_arm(c, (uint64_t)cfg->ws_ping_interval * 1000);
	if (evbuffer_get_length(in))
		wsconn_on_read(c);
}

/* ---- time --------------------------------------------------------------------- */

/* Whether c holds what keeps a quiet connection open: an allocation on
 * /turn, a WireGuard session on /wg (the responder answered lately). */
static bool holds_session(struct stream_conn *c, uint64_t now)
{
	if (c->ws->path == WSP_WG)
		return c->ws->last_down_ms && now < c->ws->last_down_ms + WS_SESSION_MS;
	return service_conn_allocated(c->w, c->ls, &c->peer, (uintptr_t)c);
}

void wsconn_on_deadline(struct stream_conn *c)
{
	const struct config *cfg = c->w->srv->cfg;
	struct wsconn *ws = c->ws;
	uint64_t now = worker_now_ms(c->w), ping = (uint64_t)cfg->ws_ping_interval * 1000,
		 idle = (uint64_t)cfg->stream_idle_timeout * 1000, next;

	if (now >= ws->last_rx_ms + 2 * ping) {
		counter_inc(&c->w->counters.ws_closed[WSC_PING_TIMEOUT]);
		stream_conn_close(c);
		return;
	}
	if (now >= c->last_ms + idle && !holds_session(c, now)) {
		counter_inc(&c->w->counters.stream_closed[c->ls->tp][SC_IDLE]);
		stream_conn_say(c, "WebSocket quiet, with no allocation or session "
					   "(stream-idle-timeout)");
		close_with(ws, WSLAY_CODE_GOING_AWAY, "idle");
		flush(c);
		return;
	}
	if (now >= ws->last_rx_ms + ping && !ws->pinged) {
		struct wslay_event_msg m = { .opcode = WSLAY_PING };

		ws->pinged = true;
		wslay_event_queue_msg(ws->ctx, &m);
		if (!flush(c))
			return;
	}
	next = ws->pinged ? ws->last_rx_ms + 2 * ping : ws->last_rx_ms + ping;
	if (c->last_ms + idle < next)
		next = c->last_ms + idle > now ? c->last_ms + idle : now + ping;
	stream_conn_arm(c, next > now ? next - now : 1);
}

void wsconn_free(struct stream_conn *c)
{
	struct wsconn *ws = c->ws;

	if (ws->path == WSP_WG)
		table_remove(c->w, ws->id);
	counter_dec(&c->w->counters.ws_open[ws->path]);
	wslay_event_context_free(ws->ctx);
	free(ws->buf);
	free(ws);
	c->ws = NULL;
}
