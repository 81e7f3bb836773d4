/*
 * STUN message builder. It appends attributes to a caller-owned buffer and
 * keeps the header's length field current after every append, so that the
 * integrity and fingerprint functions can hash the message as it stands.
 * A failure (no room, an impossible value) is sticky: every later call does
 * nothing and stun_build_finish() returns 0, which lets a caller write a
 * whole response and check once instead of after every attribute.
 */
#include <string.h>

#include "stun/bytes.h"
#include "stun/stun.h"

enum {
	ADDR_HDR = 4,           /* reserved, family, port */
	IPV4_LEN = 4,
	IPV6_LEN = 16,
	ERROR_HDR = 4,          /* reserved, class, number */
	ERROR_MIN = 300,
	ERROR_MAX = 699,
	/*
	 * The parser keeps lengths in 16 bits, so we never build a message it
	 * would refuse; the body stays a multiple of 4.
	 */
	MAX_TOTAL = UINT16_MAX & ~3,
};



static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void init_header(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->pad = 0;
	b->overflow = cap < STUN_HEADER_LEN || !buf || (type & 0xC000);
	if (b->overflow)
		return;
	put16(buf, type);
	put16(buf + 2, 0);
	b->len = STUN_HEADER_LEN;
}

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		     const uint8_t tid[STUN_TID_LEN])
{
	init_header(b, buf, cap, type);
	if (b->overflow)
		return;
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, tid, STUN_TID_LEN);
}

void stun_build_init_legacy(struct stun_builder *b, uint8_t *buf, size_t cap,
			    uint16_t type, const uint8_t tid16[16])
{
	init_header(b, buf, cap, type);
	if (b->overflow)
		return;
	/* RFC 3489 s11.1: a 128-bit transaction ID follows the length. */
	memcpy(buf + 4, tid16, 16);
}

/*
 * Reserve an attribute of vlen value bytes, write its header and padding,
 * and update the message length (RFC 8489 s14). Returns where the value
 * goes, or NULL once the builder has failed.
 */
static uint8_t *attr_begin(struct stun_builder *b, uint16_t type, size_t vlen)
{
	size_t need = STUN_ATTR_HEADER_LEN + pad4(vlen);
	uint8_t *p;

	if (b->overflow)
		return NULL;
	if (vlen > UINT16_MAX || need > b->cap - b->len || need > MAX_TOTAL - b->len) {
		b->overflow = true;
		return NULL;
	}
	p = b->buf + b->len;
	put16(p, type);
	put16(p + 2, (uint16_t)vlen);
	memset(p + STUN_ATTR_HEADER_LEN + vlen, b->pad, pad4(vlen) - vlen);
	b->len += need;
	put16(b->buf + 2, (uint16_t)(b->len - STUN_HEADER_LEN));
	return p + STUN_ATTR_HEADER_LEN;
}

void stun_put(struct stun_builder *b, uint16_t type, const void *v, size_t len)
{
	uint8_t *p = attr_begin(b, type, len);

	if (p && len)
		memcpy(p, v, len);
}

void stun_put_u32(struct stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t *p = attr_begin(b, type, 4);

	if (p)
		put32(p, v);
}

void stun_put_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a,
		   bool xor)
{
	uint8_t key[IPV6_LEN];
	size_t iplen, i;
	uint16_t port = a->port;
	uint8_t *p;

	if (a->family == STUN_FAMILY_IPV4) {
		iplen = IPV4_LEN;
	} else if (a->family == STUN_FAMILY_IPV6) {
		iplen = IPV6_LEN;
	} else {
		b->overflow = true; /* no other family can be encoded */
		return;
	}
	p = attr_begin(b, type, ADDR_HDR + iplen);
	if (!p)
		return;
	/* RFC 8489 s14.2: XOR with the cookie, then the transaction ID. */
	put32(key, STUN_MAGIC_COOKIE);
	memcpy(key + 4, b->buf + 8, STUN_TID_LEN);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	p[0] = 0;
	p[1] = a->family;
	put16(p + 2, port);
	for (i = 0; i < iplen; i++)
		p[ADDR_HDR + i] = (uint8_t)(xor ? a->ip[i] ^ key[i] : a->ip[i]);
}

void stun_put_error(struct stun_builder *b, int code, const char *reason)
{
	size_t rlen;
	uint8_t *p;

	if (!reason)
		reason = stun_reason(code);
	rlen = strlen(reason);
	if (code < ERROR_MIN || code > ERROR_MAX || rlen > STUN_MAX_REASON) {
		b->overflow = true; /* s14.8 cannot express it */
		return;
	}
	p = attr_begin(b, STUN_ATTR_ERROR_CODE, ERROR_HDR + rlen);
	if (!p)
		return;
	/* RFC 8489 s14.8: hundreds in the class bits, the rest in number. */
	p[0] = 0;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	memcpy(p + ERROR_HDR, reason, rlen);
}

void stun_put_unknown(struct stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *p;
	size_t i;

	if (n > UINT16_MAX / 2) {
		b->overflow = true;
		return;
	}
	/* RFC 8489 s14.13: a list of 16-bit types, padded like any value. */
	p = attr_begin(b, STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * n);
	if (!p)
		return;
	for (i = 0; i < n; i++)
		put16(p + 2 * i, types[i]);
}

size_t stun_build_finish(struct stun_builder *b)
{
	if (b->overflow)
		return 0;
	return b->len;
}
