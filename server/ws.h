/*
 * WebSocket (RFC 6455) on the TCP and TLS listeners, issue 12: the opening
 * handshake, sans-I/O. A stream whose first bytes are "GET " is an HTTP/1.1
 * request; ws_parse_request() reads its head as it arrives, and the shell
 * answers with ws_response(): 101 and the Sec-WebSocket-Accept for a good
 * upgrade, a short 4xx otherwise. Frames are wslay's (server/wsconn.c).
 */
#ifndef TERN_SERVER_WS_H
#define TERN_SERVER_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	WS_PATH_MAX = 256,
	WS_FIELD_MAX = 256,   /* Origin, Sec-WebSocket-Protocol, Host: longer is refused */
	WS_ACCEPT_LEN = 28,   /* base64 of a SHA-1 */
};

enum ws_parse {
	WS_MORE,     /* no end of the head yet, and room for more */
	WS_DONE,     /* a whole head: see ws_request.status */
	WS_TOO_BIG,  /* no end of the head within max bytes: 431, then close */
};

/* What the head said. status is 0 for a valid WebSocket upgrade, else the
 * HTTP status to answer with (400 bad request, 404 is the shell's, 405 not
 * GET, 426 not an upgrade or not version 13, 505 not HTTP/1.1). */
struct ws_request {
	int status;
	size_t head_len;                  /* bytes up to and including the blank line */
	char path[WS_PATH_MAX];           /* the target, without any query */
	char key[32];                     /* Sec-WebSocket-Key, as sent */
	char protocols[WS_FIELD_MAX];     /* Sec-WebSocket-Protocol, or "" */
	char origin[WS_FIELD_MAX];        /* Origin, or "" */
	bool has_origin;
};

/* Parse the request head in p[0..len), at most max bytes of it. */
enum ws_parse ws_parse_request(const char *p, size_t len, size_t max, struct ws_request *r);

/* Whether the comma-separated list holds token (case-insensitive). */
bool ws_list_has(const char *list, const char *token);

/* Sec-WebSocket-Accept for key: base64(SHA-1(key GUID)), NUL-terminated. */
void ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);

/*
 * The response head into out (at most cap bytes); its length, or 0 if it
 * does not fit. For 101, accept and protocol (NULL: none chosen); for an
 * error, a one-line text body saying why, and Connection: close (426
 * names the version this server speaks).
 */
size_t ws_response(char *out, size_t cap, int status, const char *accept, const char *protocol,
		   const char *why);

/*
 * Fly.io's framing for WireGuard over WebSocket (flyctl): the client's
 * first bytes are this magic, then each datagram is a 4-byte big-endian
 * length and the payload, cut into messages of any type anywhere. Its
 * client drops any datagram longer than WS_FLY_MAX, so none is sent.
 */
enum { WS_FLY_MAGIC = 0x2FACED77, WS_FLY_MAX = 1500 };

/* Whether p[0..len) begins with the magic (a WireGuard message cannot:
 * its first byte is a type, 1 to 4). */
bool ws_fly_magic(const uint8_t *p, size_t len);

/*
 * Take the whole datagrams out of buf[0..*have): emit(arg, datagram, n)
 * for each (empty ones are skipped), then the partial rest moves to the
 * front and *have says how much that is. False, with nothing more taken,
 * at a length over max: the stream cannot be followed any further.
 */
bool ws_fly_split(uint8_t *buf, size_t *have, size_t max,
		  void (*emit)(void *arg, const uint8_t *p, size_t n), void *arg);

/*
 * flyctl sends its binary stream in text frames, and wslay closes a
 * connection whose text is not UTF-8 (1007) with no way to turn that off.
 * So on /wg the client's bytes pass through ws_retype() before wslay sees
 * them: it follows the frame headers and makes every text frame a binary
 * one, remembering the type of the client's first data frame, which is
 * what flyctl's reader expects back.
 */
struct ws_retype {
	uint64_t left;    /* payload bytes of the current frame still to come */
	uint8_t hdr[14];  /* the current header, as far as it has come */
	uint8_t have;     /* bytes of it */
	uint8_t first;    /* the first data frame's type: 1 text, 2 binary; 0 none yet */
};

/* Rewrite p[0..n), the next bytes from the client, in place. */
void ws_retype(struct ws_retype *r, uint8_t *p, size_t n);

#endif
