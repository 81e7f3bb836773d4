/*
 * STUN message parser. It checks the 20-byte header, walks the attribute
 * list once, and records a view of each attribute the engines read in an
 * index, so that every later lookup is O(1) and no byte is copied. Every
 * length on the wire is compared with the bytes that remain before it is
 * used, and the order rules around MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-
 * SHA256 and FINGERPRINT (RFC 8489 s14.5, s14.6, s14.7) are applied here so
 * that no engine has to repeat them. RFC 3489 messages, which have no magic
 * cookie, parse too: classic clients still send them.
 */
#include <string.h>
#include <zlib.h>

#include "stun/bytes.h"
#include "stun/stun.h"

/*
 * What we accept for each attribute we know. Lengths outside [min, max], or
 * not a multiple of mult, cannot come from a correct peer (RFC 8489 s14,
 * RFC 8656 s18, RFC 5780 s7, RFC 6062 s6.2, RFC 8445 s16.1).
 */
struct attr_rule {
	uint16_t type;
	uint8_t idx;
	uint8_t mult;
	uint16_t min, max;
};

enum {
	ADDR_MIN = 8,   /* family, port and an IPv4 address */
	ADDR_MAX = 20,  /* an IPv6 address */
	ERR_HDR = 4,    /* ERROR-CODE before the reason phrase */
	DOMAIN_MAX = 255,
	ANY = 0xFFFF,
};

static const struct attr_rule rules[] = {
	{ STUN_ATTR_MAPPED_ADDRESS, SA_MAPPED_ADDRESS, 1, ADDR_MIN, ADDR_MAX },
	{ STUN_ATTR_XOR_MAPPED_ADDRESS, SA_XOR_MAPPED_ADDRESS, 1, ADDR_MIN, ADDR_MAX },
	{ STUN_ATTR_USERNAME, SA_USERNAME, 1, 0, STUN_MAX_USERNAME - 1 },
	{ STUN_ATTR_USERHASH, SA_USERHASH, 1, STUN_USERHASH_LEN, STUN_USERHASH_LEN },
	{ STUN_ATTR_MESSAGE_INTEGRITY, SA_MESSAGE_INTEGRITY, 1, STUN_HMAC_SHA1_LEN,
	  STUN_HMAC_SHA1_LEN },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, SA_MESSAGE_INTEGRITY_SHA256, 4,
	  STUN_HMAC_SHA256_MIN_LEN, STUN_HMAC_SHA256_LEN },
	{ STUN_ATTR_ERROR_CODE, SA_ERROR_CODE, 1, ERR_HDR, ERR_HDR + STUN_MAX_REASON },
	{ STUN_ATTR_UNKNOWN_ATTRIBUTES, SA_UNKNOWN_ATTRIBUTES, 2, 0, ANY },
	{ STUN_ATTR_REALM, SA_REALM, 1, 0, STUN_MAX_REALM },
	{ STUN_ATTR_NONCE, SA_NONCE, 1, 0, STUN_MAX_NONCE },
	{ STUN_ATTR_PASSWORD_ALGORITHM, SA_PASSWORD_ALGORITHM, 1, 4, ANY },
	{ STUN_ATTR_PASSWORD_ALGORITHMS, SA_PASSWORD_ALGORITHMS, 1, 4, ANY },
	{ STUN_ATTR_SOFTWARE, SA_SOFTWARE, 1, 0, STUN_MAX_SOFTWARE },
	{ STUN_ATTR_ALTERNATE_SERVER, SA_ALTERNATE_SERVER, 1, ADDR_MIN, ADDR_MAX },
	{ STUN_ATTR_ALTERNATE_DOMAIN, SA_ALTERNATE_DOMAIN, 1, 1, DOMAIN_MAX },
	{ STUN_ATTR_CHANGE_REQUEST, SA_CHANGE_REQUEST, 1, 4, 4 },
	{ STUN_ATTR_RESPONSE_ORIGIN, SA_RESPONSE_ORIGIN, 1, ADDR_MIN, ADDR_MAX },
	{ STUN_ATTR_OTHER_ADDRESS, SA_OTHER_ADDRESS, 1, ADDR_MIN, ADDR_MAX },
	{ STUN_ATTR_RESPONSE_PORT, SA_RESPONSE_PORT, 1, 4, 4 },
	{ STUN_ATTR_PADDING, SA_PADDING, 1, 0, ANY },
	{ TURN_ATTR_CHANNEL_NUMBER, SA_CHANNEL_NUMBER, 1, 4, 4 },
	{ TURN_ATTR_LIFETIME, SA_LIFETIME, 1, 4, 4 },
	{ TURN_ATTR_XOR_PEER_ADDRESS, SA_XOR_PEER_ADDRESS, 1, ADDR_MIN, ADDR_MAX },
	{ TURN_ATTR_DATA, SA_DATA, 1, 0, ANY },
	{ TURN_ATTR_XOR_RELAYED_ADDRESS, SA_XOR_RELAYED_ADDRESS, 1, ADDR_MIN, ADDR_MAX },
	{ TURN_ATTR_REQUESTED_ADDRESS_FAMILY, SA_REQUESTED_ADDRESS_FAMILY, 1, 4, 4 },
	{ TURN_ATTR_EVEN_PORT, SA_EVEN_PORT, 1, 1, 1 },
	{ TURN_ATTR_REQUESTED_TRANSPORT, SA_REQUESTED_TRANSPORT, 1, 4, 4 },
	{ TURN_ATTR_DONT_FRAGMENT, SA_DONT_FRAGMENT, 1, 0, 0 },
	{ TURN_ATTR_RESERVATION_TOKEN, SA_RESERVATION_TOKEN, 1, 8, 8 },
	{ TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, SA_ADDITIONAL_ADDRESS_FAMILY, 1, 4, 4 },
	{ TURN_ATTR_ADDRESS_ERROR_CODE, SA_ADDRESS_ERROR_CODE, 1, ERR_HDR,
	  ERR_HDR + STUN_MAX_REASON },
	{ TURN_ATTR_ICMP, SA_ICMP, 1, 8, 8 },
	{ TURN_ATTR_CONNECTION_ID, SA_CONNECTION_ID, 1, 4, 4 },
	{ STUN_ATTR_PRIORITY, SA_PRIORITY, 1, 4, 4 },
	{ STUN_ATTR_USE_CANDIDATE, SA_USE_CANDIDATE, 1, 0, 0 },
	{ STUN_ATTR_ICE_CONTROLLED, SA_ICE_CONTROLLED, 1, 8, 8 },
	{ STUN_ATTR_ICE_CONTROLLING, SA_ICE_CONTROLLING, 1, 8, 8 },
};

static const char *const error_names[STUN_E_COUNT] = {
	[STUN_OK] = "ok",
	[STUN_E_SHORT] = "short",
	[STUN_E_NOT_STUN] = "not_stun",
	[STUN_E_LENGTH] = "length",
	[STUN_E_ATTR_OVERRUN] = "attr_overrun",
	[STUN_E_ATTR_BAD] = "attr_bad",
	[STUN_E_FINGERPRINT] = "fingerprint",
};



static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

const char *stun_parse_error_name(enum stun_parse_error e)
{
	if ((unsigned)e >= STUN_E_COUNT)
		return "unknown";
	return error_names[e];
}

bool stun_looks_like(const uint8_t *p, size_t len)
{
	/* RFC 7983 s7: STUN is the only protocol whose first byte is 0..3. */
	return len >= 1 && (p[0] & 0xC0) == 0;
}

static const struct attr_rule *find_rule(uint16_t type)
{
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].type == type)
			return &rules[i];
	}
	return NULL;
}

/* RFC 8489 s14.7: CRC-32 of everything before the attribute, XOR 0x5354554e. */
static enum stun_parse_error take_fingerprint(struct stun_msg *m, uint16_t off,
					      uint16_t alen)
{
	const uint8_t *v = m->raw + off + STUN_ATTR_HEADER_LEN;
	uLong crc;

	if (alen != STUN_FINGERPRINT_LEN)
		return STUN_E_ATTR_BAD;
	/*
	 * Nothing may follow FINGERPRINT, so if the message is valid the header
	 * length already ends just after it, as s14.7 requires.
	 */
	crc = crc32(0L, m->raw, off);
	if (((uint32_t)crc ^ STUN_FINGERPRINT_XOR) != get32(v))
		return STUN_E_FINGERPRINT;
	m->fp_off = off;
	m->a[SA_FINGERPRINT].v = v;
	m->a[SA_FINGERPRINT].len = alen;
	return STUN_OK;
}

static void note_unknown(struct stun_msg *m, uint16_t type)
{
	/* RFC 8489 s6.3.1: only comprehension-required ones cause a 420. */
	if (type >= STUN_ATTR_COMPREHENSION_OPTIONAL)
		return;
	if (m->n_unknown < STUN_MAX_UNKNOWN)
		m->unknown[m->n_unknown++] = type;
}

static void count_duplicate(struct stun_msg *m)
{
	if (m->n_duplicate < UINT8_MAX)
		m->n_duplicate++;
}

static void store(struct stun_msg *m, enum stun_attr_index idx, const uint8_t *v,
		  uint16_t alen)
{
	if (idx == SA_XOR_PEER_ADDRESS) {
		/* RFC 8656 s9.1: CreatePermission may carry several. */
		if (m->n_peer >= STUN_MAX_PEER_ADDRS) {
			count_duplicate(m);
			return;
		}
		m->peer[m->n_peer].v = v;
		m->peer[m->n_peer].len = alen;
		m->n_peer++;
	}
	if (m->a[idx].v) {
		/* RFC 8489 s14: the first of a repeated attribute wins. */
		if (idx != SA_XOR_PEER_ADDRESS)
			count_duplicate(m);
		return;
	}
	m->a[idx].v = v;
	m->a[idx].len = alen;
}

static enum stun_parse_error take_attr(struct stun_msg *m, uint16_t type, uint16_t off,
				       uint16_t alen)
{
	const struct attr_rule *r;

	if (type == STUN_ATTR_FINGERPRINT)
		return take_fingerprint(m, off, alen);
	/* RFC 8489 s14.6: after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT counts. */
	if (m->mi256_off)
		return STUN_OK;
	/* RFC 8489 s14.5: after MESSAGE-INTEGRITY, ignore all but the two above. */
	if (m->mi_off && type != STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
		return STUN_OK;
	r = find_rule(type);
	if (!r) {
		note_unknown(m, type);
		return STUN_OK;
	}
	if (alen < r->min || alen > r->max || alen % r->mult)
		return STUN_E_ATTR_BAD;
	if (type == STUN_ATTR_MESSAGE_INTEGRITY)
		m->mi_off = off;
	else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256)
		m->mi256_off = off;
	store(m, r->idx, m->raw + off + STUN_ATTR_HEADER_LEN, alen);
	return STUN_OK;
}

static enum stun_parse_error walk_attrs(struct stun_msg *m)
{
	size_t off = STUN_HEADER_LEN;
	enum stun_parse_error e;
	uint16_t type, alen;

	while (off < m->len) {
		/* RFC 8489 s14.7: FINGERPRINT, when present, is the last attribute. */
		if (m->fp_off)
			return STUN_E_FINGERPRINT;
		if (m->len - off < STUN_ATTR_HEADER_LEN)
			return STUN_E_ATTR_OVERRUN;
		type = get16(m->raw + off);
		alen = get16(m->raw + off + 2);
		/* RFC 8489 s14: values are padded to a multiple of 4 bytes. */
		if (pad4(alen) > m->len - off - STUN_ATTR_HEADER_LEN)
			return STUN_E_ATTR_OVERRUN;
		e = take_attr(m, type, (uint16_t)off, alen);
		if (e != STUN_OK)
			return e;
		off += STUN_ATTR_HEADER_LEN + pad4(alen);
	}
	return STUN_OK;
}

/* RFC 8489 s5 and s6.3: the header checks that tell STUN from other traffic. */
static enum stun_parse_error check_header(const uint8_t *p, size_t len)
{
	size_t blen;

	if (len < STUN_HEADER_LEN)
		return STUN_E_SHORT;
	if (p[0] & 0xC0)
		return STUN_E_NOT_STUN;
	blen = get16(p + 2);
	if (blen % 4 || STUN_HEADER_LEN + blen != len)
		return STUN_E_LENGTH;
	/*
	 * m->len and the integrity offsets are 16 bits wide. A UDP datagram
	 * cannot exceed 65507 bytes, so only an absurd stream message is lost.
	 */
	if (len > UINT16_MAX)
		return STUN_E_LENGTH;
	return STUN_OK;
}

enum stun_parse_error stun_parse(struct stun_msg *m, const uint8_t *p, size_t len)
{
	enum stun_parse_error e;

	memset(m, 0, sizeof(*m));
	m->raw = p;
	e = check_header(p, len);
	if (e != STUN_OK)
		return e;
	m->len = (uint16_t)len;
	m->type = get16(p);
	/* RFC 8489 s5: method bits M0-M11 are split around class bits C0, C1. */
	m->method = (uint16_t)((m->type & 0x000F) | (m->type & 0x00E0) >> 1 |
			       (m->type & 0x3E00) >> 2);
	m->cls = m->type & STUN_CLASS_MASK;
	/* RFC 3489 had a 16-byte transaction ID where RFC 8489 has the cookie. */
	m->cookie = get32(p + 4) == STUN_MAGIC_COOKIE;
	m->tid = p + 8;
	return walk_attrs(m);
}
