/*
 * The WebSocket opening handshake (see ws.h). The head is read once it is
 * whole; lines end in CRLF or a bare LF (RFC 9112 s2.2), header names are
 * case-insensitive, and nothing here allocates.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "server/ws.h"

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* The end of the head: the index just past the blank line, or 0. */
static size_t head_end(const char *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (p[i + 1] == '\r' && i + 2 < len && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The next line of [*at, end): its start and length, without CR LF. */
static bool next_line(const char *p, size_t end, size_t *at, const char **line, size_t *n)
{
	const char *nl;

	if (*at >= end)
		return false;
	*line = p + *at;
	nl = memchr(*line, '\n', end - *at);
	if (!nl)
		return false;
	*n = (size_t)(nl - *line);
	*at += *n + 1;
	if (*n && (*line)[*n - 1] == '\r')
		(*n)--;
	return true;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_b64(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

bool ws_list_has(const char *list, const char *token)
{
	size_t tl = strlen(token);

	for (const char *s = list; *s;) {
		const char *e;
		size_t n;

		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		e = s;
		while (*e && *e != ',')
			e++;
		n = (size_t)(e - s);
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(s, token, tl) == 0)
			return true;
		s = e;
	}
	return false;
}

/* Copy a value of n bytes to dst (cap bytes); false if it does not fit. */
static bool copy(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

/* Append ", v" (or v) to a list; false if it does not fit. */
static bool append(char *dst, size_t cap, const char *v, size_t n)
{
	size_t have = strlen(dst), sep = have ? 2 : 0;

	if (have + sep + n >= cap)
		return false;
	if (sep)
		memcpy(dst + have, ", ", 2);
	memcpy(dst + have + sep, v, n);
	dst[have + sep + n] = '\0';
	return true;
}

static int request_line(const char *line, size_t n, struct ws_request *r)
{
	const char *sp1 = memchr(line, ' ', n), *sp2, *q;
	size_t tlen;

	if (!sp1)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - line));
	if (!sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - line)))
		return 400;
	for (const char *c = line; c < sp1; c++)
		if (!is_tchar(*c))
			return 400;
	if ((size_t)(n - (size_t)(sp2 + 1 - line)) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return (size_t)(n - (size_t)(sp2 + 1 - line)) >= 5 && !memcmp(sp2 + 1, "HTTP/", 5)
			       ? 505
			       : 400;
	if (sp2[8] < '1' || sp2[8] > '9')
		return sp2[8] == '0' ? 505 : 400;
	tlen = (size_t)(sp2 - sp1 - 1);
	q = memchr(sp1 + 1, '?', tlen);
	if (q)
		tlen = (size_t)(q - sp1 - 1);
	if (tlen == 0 || sp1[1] != '/')
		return 400;
	if (!copy(r->path, sizeof r->path, sp1 + 1, tlen))
		return 414;
	if (sp1 - line != 3 || memcmp(line, "GET", 3) != 0)
		return 405;
	return 0;
}

struct seen {
	bool upgrade, connection, version, version13;
	int keys;
};

/* One header line; an HTTP status when it makes the request bad. */
static int header(const char *line, size_t n, struct ws_request *r, struct seen *s)
{
	const char *colon = memchr(line, ':', n), *v;
	size_t nlen, vlen;
	char tmp[WS_FIELD_MAX];

	if (!colon || colon == line)
		return 400;
	nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (!is_tchar(line[i])) /* also refuses obs-fold and a space before ':' */
			return 400;
	v = colon + 1;
	vlen = n - nlen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
			return 400;
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(line, name, nlen) == 0)
	if (IS("Upgrade") || IS("Connection")) {
		if (!copy(tmp, sizeof tmp, v, vlen))
			return 400;
		if (IS("Upgrade"))
			s->upgrade = s->upgrade || ws_list_has(tmp, "websocket");
		else
			s->connection = s->connection || ws_list_has(tmp, "upgrade");
	} else if (IS("Sec-WebSocket-Version")) {
		s->version = true;
		s->version13 = vlen == 2 && memcmp(v, "13", 2) == 0;
	} else if (IS("Sec-WebSocket-Key")) {
		s->keys++;
		if (!copy(r->key, sizeof r->key, v, vlen))
			return 400;
	} else if (IS("Sec-WebSocket-Protocol")) {
		if (!append(r->protocols, sizeof r->protocols, v, vlen))
			return 400;
	} else if (IS("Origin")) {
		if (r->has_origin || !copy(r->origin, sizeof r->origin, v, vlen))
			return 400;
		r->has_origin = true;
	}
#undef IS
	return 0;
}

/* RFC 6455 s4.2.1: a key is 16 bytes, base64: 22 characters and "==". */
static bool good_key(const char *k)
{
	if (strlen(k) != 24 || k[22] != '=' || k[23] != '=')
		return false;
	for (int i = 0; i < 22; i++)
		if (!is_b64(k[i]))
			return false;
	return true;
}

enum ws_parse ws_parse_request(const char *p, size_t len, size_t max, struct ws_request *r)
{
	size_t end, at = 0, n;
	struct seen s = { 0 };
	const char *line;
	int status;

	memset(r, 0, sizeof *r);
	end = head_end(p, len < max ? len : max);
	if (!end)
		return len >= max ? WS_TOO_BIG : WS_MORE;
	r->head_len = end;
	if (!next_line(p, end, &at, &line, &n)) {
		r->status = 400;
		return WS_DONE;
	}
	status = request_line(line, n, r);
	while (!status && next_line(p, end, &at, &line, &n) && n)
		status = header(line, n, r, &s);
	if (!status && (!s.upgrade || !s.connection))
		status = 426; /* a plain GET: this port speaks WebSocket or TURN */
	if (!status && (!s.version || !s.version13))
		status = s.version ? 426 : 400;
	if (!status && (s.keys != 1 || !good_key(r->key)))
		status = 400;
	r->status = status;
	return WS_DONE;
}

void ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	uint8_t md[SHA_DIGEST_LENGTH];
	char buf[64];
	size_t kl = strlen(key);

	if (kl > sizeof buf - sizeof GUID)
		kl = sizeof buf - sizeof GUID;
	memcpy(buf, key, kl);
	memcpy(buf + kl, GUID, sizeof GUID - 1);
	SHA1((const uint8_t *)buf, kl + sizeof GUID - 1, md);
	EVP_EncodeBlock((uint8_t *)out, md, sizeof md);
}

static const char *reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

size_t ws_response(char *out, size_t cap, int status, const char *accept, const char *protocol,
		   const char *why)
{
	int n;

	if (status == 101)
		n = snprintf(out, cap,
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
			     accept, protocol ? "Sec-WebSocket-Protocol: " : "",
			     protocol ? protocol : "", protocol ? "\r\n" : "");
	else
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			     status, reason(status),
			     status == 426 ? "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" : "",
			     strlen(why ? why : reason(status)) + 1, why ? why : reason(status));
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ws_fly_magic(const uint8_t *p, size_t len)
{
	return len >= 4 && be32(p) == WS_FLY_MAGIC;
}

bool ws_fly_split(uint8_t *buf, size_t *have, size_t max,
		  void (*emit)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	size_t at = 0;
	bool ok = true;

	while (*have - at >= 4) {
		uint32_t n = be32(buf + at);

		if (n > max) {
			ok = false;
			break;
		}
		if (*have - at - 4 < n)
			break;
		if (n)
			emit(arg, buf + at + 4, n);
		at += 4 + (size_t)n;
	}
	memmove(buf, buf + at, *have - at);
	*have -= at;
	return ok;
}

/* The header's length once its first two bytes are known. */
static size_t header_len(const uint8_t *h)
{
	size_t n = 2 + ((h[1] & 0x80) ? 4 : 0);

	if ((h[1] & 0x7f) == 126)
		n += 2;
	else if ((h[1] & 0x7f) == 127)
		n += 8;
	return n;
}

void ws_retype(struct ws_retype *r, uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (r->left) { /* payload: pass it by */
			size_t k = n - i < r->left ? n - i : (size_t)r->left;

			i += k;
			r->left -= k;
			continue;
		}
		if (r->have == 0) { /* a frame starts here */
			uint8_t op = p[i] & 0x0f;

			if ((op == 1 || op == 2) && !r->first)
				r->first = op;
			if (op == 1)
				p[i] = (uint8_t)((p[i] & 0xf0) | 2);
		}
		r->hdr[r->have++] = p[i++];
		if (r->have < 2 || r->have < header_len(r->hdr))
			continue;
		/* the whole header: its payload length */
		if ((r->hdr[1] & 0x7f) == 126) {
			r->left = (uint64_t)r->hdr[2] << 8 | r->hdr[3];
		} else if ((r->hdr[1] & 0x7f) == 127) {
			r->left = 0;
			for (int b = 0; b < 8; b++)
				r->left = r->left << 8 | r->hdr[2 + b];
		} else {
			r->left = r->hdr[1] & 0x7f;
		}
		r->have = 0;
	}
}
