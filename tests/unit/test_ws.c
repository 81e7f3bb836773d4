/*
 * The WebSocket opening handshake (server/ws.h): RFC 6455's own example,
 * heads that arrive in pieces or never end, every way a request can be
 * refused, and the responses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/ws.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static const char good[] = "GET /turn?x=1 HTTP/1.1\r\n"
			   "Host: server.example.com\r\n"
			   "Upgrade: websocket\r\n"
			   "Connection: keep-alive, Upgrade\r\n"
			   "Sec-WebSocket-Key: " KEY "\r\n"
			   "Origin: http://example.com\r\n"
			   "Sec-WebSocket-Protocol: chat\r\n"
			   "Sec-WebSocket-Protocol: turn\r\n"
			   "Sec-WebSocket-Version: 13\r\n\r\n"
			   "\x82\x00"; /* a first frame, right behind the head */

static int parse(const char *head, struct ws_request *r)
{
	assert_int_equal(ws_parse_request(head, strlen(head), 8192, r), WS_DONE);
	return r->status;
}

static void test_rfc6455_example(void **state)
{
	char out[WS_ACCEPT_LEN + 1];

	(void)state;
	ws_accept(KEY, out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_good_request(void **state)
{
	struct ws_request r;

	(void)state;
	assert_int_equal(ws_parse_request(good, sizeof good - 1, 8192, &r), WS_DONE);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.head_len, sizeof good - 3);
	assert_string_equal(r.path, "/turn");
	assert_string_equal(r.key, KEY);
	assert_string_equal(r.protocols, "chat, turn");
	assert_true(ws_list_has(r.protocols, "turn"));
	assert_false(ws_list_has(r.protocols, "wireguard"));
	assert_true(r.has_origin);
	assert_string_equal(r.origin, "http://example.com");
}

/* Byte by byte: more, until the blank line; bare LF line ends work too. */
static void test_in_pieces_and_bare_lf(void **state)
{
	const char *lf = "GET /wg HTTP/1.1\nupgrade: WebSocket\nconnection: upgrade\n"
			 "sec-websocket-key: " KEY "\nsec-websocket-version: 13\n\n";
	struct ws_request r;
	size_t n = strlen(lf);

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ws_parse_request(lf, i, 8192, &r), WS_MORE);
	assert_int_equal(ws_parse_request(lf, n, 8192, &r), WS_DONE);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.path, "/wg");
	assert_false(r.has_origin);
}

static void test_too_big(void **state)
{
	char big[600];
	struct ws_request r;

	(void)state;
	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	assert_int_equal(ws_parse_request(big, 100, 512, &r), WS_MORE);
	assert_int_equal(ws_parse_request(big, sizeof big, 512, &r), WS_TOO_BIG);
	/* the end of the head past max does not count */
	memcpy(big + 520, "\r\n\r\n", 4);
	assert_int_equal(ws_parse_request(big, sizeof big, 512, &r), WS_TOO_BIG);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *head;
		int status;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 426 }, /* a plain GET */
		{ "POST /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n", 405 },
		{ "GET /turn HTTP/1.0\r\n\r\n", 505 },
		{ "GET /turn HTTP/2.0\r\n\r\n", 505 },
		{ "GET /turn FTP/1.1\r\n\r\n", 400 },
		{ "GET turn HTTP/1.1\r\n\r\n", 400 },
		{ "GET  /turn HTTP/1.1\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1 x\r\n\r\n", 400 },
		{ "G(T /turn HTTP/1.1\r\n\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nNo colon here\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade : websocket\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\n folded\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400 },
		/* upgrade headers missing or wrong */
		{ "GET /turn HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n", 426 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: close\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n", 426 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n", 426 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: short==\r\nSec-WebSocket-Version: 13\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Key: " KEY "\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ!==\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n", 400 },
		{ "GET /turn HTTP/1.1\r\nOrigin: a\r\nOrigin: b\r\n\r\n", 400 },
	};
	struct ws_request r;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = parse(cases[i].head, &r);

		if (got != cases[i].status)
			fail_msg("case %zu: got %d, want %d", i, got, cases[i].status);
	}
}

static void test_long_fields(void **state)
{
	char head[2048];
	struct ws_request r;

	(void)state;
	snprintf(head, sizeof head, "GET /%0300d HTTP/1.1\r\n\r\n", 0);
	assert_int_equal(parse(head, &r), 414);
	snprintf(head, sizeof head, "GET / HTTP/1.1\r\nOrigin: %0300d\r\n\r\n", 0);
	assert_int_equal(parse(head, &r), 400);
	snprintf(head, sizeof head, "GET / HTTP/1.1\r\nSec-WebSocket-Protocol: %0200d\r\n"
		 "Sec-WebSocket-Protocol: %0100d\r\n\r\n", 0, 0);
	assert_int_equal(parse(head, &r), 400);
}

static void test_list_has(void **state)
{
	(void)state;
	assert_true(ws_list_has("Upgrade", "upgrade"));
	assert_true(ws_list_has(" keep-alive ,\tUPGRADE ", "upgrade"));
	assert_false(ws_list_has("upgraded", "upgrade"));
	assert_false(ws_list_has("", "upgrade"));
	assert_false(ws_list_has(",,", "upgrade"));
}

static void test_responses(void **state)
{
	char out[512], small[40];
	size_t n;

	(void)state;
	n = ws_response(out, sizeof out, 101, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "turn", NULL);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n"
				 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
				 "Sec-WebSocket-Protocol: turn\r\n\r\n");
	n = ws_response(out, sizeof out, 101, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL, NULL);
	assert_null(strstr(out, "Sec-WebSocket-Protocol"));
	n = ws_response(out, sizeof out, 404, NULL, NULL, "no such path: /x");
	assert_string_equal(out, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
				 "Content-Length: 17\r\nConnection: close\r\n\r\nno such path: /x\n");
	n = ws_response(out, sizeof out, 426, NULL, NULL, NULL);
	assert_non_null(strstr(out, "Sec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nUpgrade Required\n"));
	assert_int_equal(ws_response(small, sizeof small, 404, NULL, NULL, "x"), 0);
}

struct got {
	size_t n;
	size_t len[8];
	uint8_t first[8];
};

static void collect(void *arg, const uint8_t *p, size_t n)
{
	struct got *g = arg;

	assert_true(g->n < 8);
	g->len[g->n] = n;
	g->first[g->n++] = p[0];
}

/* flyctl's framing: whole, split anywhere, joined, empty, too long. */
static void test_fly_split(void **state)
{
	static const uint8_t magic[] = { 0x2f, 0xac, 0xed, 0x77 };
	uint8_t stream[64], buf[64];
	size_t have = 0, total = 0;
	struct got g = { 0 };

	(void)state;
	assert_true(ws_fly_magic(magic, 4));
	assert_false(ws_fly_magic(magic, 3));
	assert_false(ws_fly_magic((const uint8_t[]){ 1, 0, 0, 0 }, 4));
	/* three datagrams of 5, 0 and 3 bytes */
	memcpy(stream, (const uint8_t[]){ 0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0,
					  0, 0, 0, 3, 9, 8, 7 }, 20);
	total = 20;
	/* a byte at a time: each datagram once, when whole */
	for (size_t i = 0; i < total; i++) {
		buf[have++] = stream[i];
		assert_true(ws_fly_split(buf, &have, 1500, collect, &g));
	}
	assert_int_equal(g.n, 2);
	assert_int_equal(g.len[0], 5);
	assert_int_equal(g.first[0], 1);
	assert_int_equal(g.len[1], 3);
	assert_int_equal(g.first[1], 9);
	assert_int_equal(have, 0);
	/* all at once, with half of a fourth behind */
	memcpy(buf, stream, total);
	memcpy(buf + total, (const uint8_t[]){ 0, 0, 0, 2, 6 }, 5);
	have = total + 5;
	g.n = 0;
	assert_true(ws_fly_split(buf, &have, 1500, collect, &g));
	assert_int_equal(g.n, 2);
	assert_int_equal(have, 5);
	assert_memory_equal(buf, ((const uint8_t[]){ 0, 0, 0, 2, 6 }), 5);
	/* a length over max: refused, nothing taken */
	memcpy(buf, (const uint8_t[]){ 0, 0, 0x05, 0xdd }, 4);
	have = 4;
	g.n = 0;
	assert_false(ws_fly_split(buf, &have, 1500, collect, &g));
	assert_int_equal(g.n, 0);
	assert_true(ws_fly_split(buf, &have, 1501, collect, &g));
	assert_int_equal(have, 4);
}

/* Text frames become binary, in any cut of the stream; the rest is untouched. */
static void test_retype(void **state)
{
	uint8_t stream[300], want[300], got[300];
	size_t n = 0;

	(void)state;
	/* masked text "abc", a ping, a 200-byte binary (16-bit length), an
	 * unmasked continuation */
	memcpy(stream + n, (const uint8_t[]){ 0x81, 0x83, 1, 2, 3, 4, 'a', 'b', 'c' }, 9);
	n += 9;
	memcpy(stream + n, (const uint8_t[]){ 0x89, 0x80, 9, 9, 9, 9 }, 6);
	n += 6;
	memcpy(stream + n, (const uint8_t[]){ 0x02, 0xfe, 0, 200, 5, 6, 7, 8 }, 8);
	n += 8;
	memset(stream + n, 0x81, 200); /* payload that looks like headers */
	n += 200;
	memcpy(stream + n, (const uint8_t[]){ 0x80, 0x01, 0x81 }, 3);
	n += 3;
	memcpy(want, stream, n);
	want[0] = 0x82;
	for (size_t cut = 1; cut <= n; cut++) {
		struct ws_retype r = { 0 };

		memcpy(got, stream, n);
		for (size_t at = 0; at < n; at += cut)
			ws_retype(&r, got + at, at + cut <= n ? cut : n - at);
		assert_memory_equal(got, want, n);
		assert_int_equal(r.first, 1);
		assert_int_equal(r.left, 0);
		assert_int_equal(r.have, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6455_example),
		cmocka_unit_test(test_good_request),
		cmocka_unit_test(test_in_pieces_and_bare_lf),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_long_fields),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_fly_split),
		cmocka_unit_test(test_retype),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
