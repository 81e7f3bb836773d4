/*
 * libFuzzer harness for the WebSocket opening handshake (server/ws.c):
 * any bytes as a request head, at every prefix length the shell could see
 * them. A head is done once and stays done as more bytes come, a done
 * head's length is within what was read, its fields are NUL-terminated
 * within their arrays, and a good upgrade has a 24-byte key whose accept
 * value and 101 response can be made. The same bytes then go through
 * flyctl's length-prefixed deframer in chunks: each datagram it emits is
 * within the limit and the stream, and what it keeps is less than a whole
 * record. Last, the frame path of a /wg connection: the bytes made binary
 * by ws_retype(), read by a wslay server context (messages joined up to a
 * limit), and each message that starts with flyctl's magic split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

#include "server/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FLY_MAX = 1500 };

static void emitted(void *arg, const uint8_t *p, size_t n)
{
	if (n == 0 || n > FLY_MAX || p == NULL || arg == NULL)
		abort();
}

/* data in chunks of 1 to 64 bytes, as WebSocket messages would bring it */
static void fly(const uint8_t *data, size_t size)
{
	static uint8_t buf[4 + FLY_MAX];
	size_t have = 0, at = 0;

	while (at < size) {
		size_t k = (size_t)(data[at] % 64) + 1;

		if (k > size - at)
			k = size - at;
		if (k > sizeof buf - have)
			k = sizeof buf - have;
		memcpy(buf + have, data + at, k);
		have += k;
		at += k;
		if (!ws_fly_split(buf, &have, FLY_MAX, emitted, buf))
			return;
		if (have >= 4 && have >= 4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
					      (size_t)buf[2] << 8 | buf[3]))
			abort(); /* a whole record was left behind */
	}
}

/* The frame walker that hides text frames from wslay on /wg: cut anywhere,
 * it rewrites the same bytes the same way and leaves no text opcode at a
 * frame start. */
static void retype(const uint8_t *data, size_t size)
{
	static uint8_t a[4096], b[4096];
	struct ws_retype ra = { 0 }, rb = { 0 };
	size_t n = size < sizeof a ? size : sizeof a, cut = n ? (size_t)data[0] % 7 + 1 : 1;

	memcpy(a, data, n);
	memcpy(b, data, n);
	ws_retype(&ra, a, n);
	for (size_t at = 0; at < n; at += cut)
		ws_retype(&rb, b + at, at + cut <= n ? cut : n - at);
	if (memcmp(a, b, n) || ra.left != rb.left || ra.have != rb.have || ra.first != rb.first ||
	    ra.have >= sizeof ra.hdr)
		abort();
}

struct feed {
	uint8_t bytes[8192];
	size_t len, at;
	struct ws_retype rt;
	uint8_t stream[4 + FLY_MAX];
	size_t have;
	bool fly;
};

static ssize_t feed_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
			 void *arg)
{
	struct feed *f = arg;
	size_t n = f->len - f->at < len ? f->len - f->at : len;

	if (n > 7)
		n = 7; /* in small pieces, as a slow network brings them */
	if (!n) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	memcpy(buf, f->bytes + f->at, n);
	ws_retype(&f->rt, buf, n);
	f->at += n;
	return (ssize_t)n;
}

static ssize_t feed_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			 int flags, void *arg)
{
	return (ssize_t)len;
}

static void feed_message(wslay_event_context_ptr ctx,
			 const struct wslay_event_on_msg_recv_arg *a, void *arg)
{
	struct feed *f = arg;
	const uint8_t *p = a->msg;
	size_t len = a->msg_length;

	if (a->opcode == WSLAY_TEXT_FRAME)
		abort(); /* ws_retype let a text frame through */
	if (a->opcode != WSLAY_BINARY_FRAME)
		return;
	if (!f->fly && ws_fly_magic(p, len)) {
		f->fly = true;
		p += 4;
		len -= 4;
	}
	while (f->fly && len) {
		size_t k = sizeof f->stream - f->have < len ? sizeof f->stream - f->have : len;

		memcpy(f->stream + f->have, p, k);
		f->have += k;
		p += k;
		len -= k;
		if (!ws_fly_split(f->stream, &f->have, FLY_MAX, emitted, f))
			f->fly = false;
	}
}

static void frames(const uint8_t *data, size_t size)
{
	static const struct wslay_event_callbacks cb = {
		.recv_callback = feed_recv, .send_callback = feed_send,
		.on_msg_recv_callback = feed_message,
	};
	static struct feed f;
	wslay_event_context_ptr ctx;

	memset(&f, 0, sizeof f);
	f.len = size < sizeof f.bytes ? size : sizeof f.bytes;
	memcpy(f.bytes, data, f.len);
	if (wslay_event_context_server_init(&ctx, &cb, &f) != 0)
		return;
	wslay_event_config_set_max_recv_msg_length(ctx, 4096);
	while (f.at < f.len && wslay_event_want_read(ctx) && wslay_event_recv(ctx) == 0)
		wslay_event_send(ctx);
	wslay_event_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	size_t max = size > 2 ? (size_t)data[0] * 8 + 16 : 4096;
	struct ws_request r;
	enum ws_parse last = WS_MORE;

	for (size_t n = 0; n <= size; n += n < 64 ? 1 : 61) {
		enum ws_parse e = ws_parse_request(p, n, max, &r);

		if (last != WS_MORE && e != last)
			abort(); /* done or too big stays so */
		last = e;
		if (e != WS_DONE)
			continue;
		if (r.head_len > n || r.head_len > max ||
		    memchr(r.path, 0, sizeof r.path) == NULL ||
		    memchr(r.protocols, 0, sizeof r.protocols) == NULL ||
		    memchr(r.origin, 0, sizeof r.origin) == NULL)
			abort();
		if (r.status == 0) {
			char accept[WS_ACCEPT_LEN + 1], out[512];

			if (strlen(r.key) != 24 || r.path[0] != '/')
				abort();
			ws_accept(r.key, accept);
			if (strlen(accept) != WS_ACCEPT_LEN ||
			    ws_response(out, sizeof out, 101, accept, "turn", NULL) == 0)
				abort();
		}
	}
	fly(data, size);
	retype(data, size);
	frames(data, size);
	return 0;
}
