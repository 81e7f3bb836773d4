/*
 * libFuzzer harness for the UAPI protocol (server/uapi.c) over a real
 * engine: the input is cut into requests at each blank line, as the socket
 * does, and each is answered. Every answer must end in errno=N and a blank
 * line; get must work after any set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "server/uapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void f_send(void *ctx, const struct tunnel_endpoint *to, const uint8_t *p, size_t len) {}
static void f_deliver(void *ctx, const uint8_t *p, size_t len) {}
static void f_random(void *ctx, void *buf, size_t len) { memset(buf, 7, len); }
static int f_listener(void *ctx, uint8_t family) { return family == STUN_FAMILY_IPV4 ? 0 : -1; }

static void answer(const struct uapi_env *e, const char *req, size_t len)
{
	struct evbuffer *out = evbuffer_new();
	size_t n;
	char *text;

	uapi_handle(e, req, len, out);
	n = evbuffer_get_length(out);
	text = (char *)evbuffer_pullup(out, -1);
	if (n < 9 || memcmp(text + n - 2, "\n\n", 2) != 0 || !memmem(text, n, "errno=", 6))
		abort();
	evbuffer_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tunnel_ops ops = { .send = f_send, .deliver = f_deliver,
					       .random = f_random };
	struct tunnel_config cfg = { .cookie_threshold = 100 };
	struct tunnel *t;
	struct uapi_env e = { .listen_port = 51820, .listener_for = f_listener };
	size_t at = 0;

	memset(cfg.private_key, 0x42, sizeof cfg.private_key);
	t = tunnel_new(&cfg, &ops);
	if (!t)
		abort();
	e.t = t;
	while (at < size) {
		const uint8_t *end = memmem(data + at, size - at, "\n\n", 2);
		size_t len = end ? (size_t)(end - (data + at)) + 1 : size - at;

		answer(&e, (const char *)data + at, len);
		at += len + 1;
	}
	answer(&e, "get=1\n", 6);
	tunnel_free(t);
	return 0;
}
