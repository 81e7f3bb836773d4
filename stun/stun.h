/*
 * The STUN/TURN codec: parse a message into views of the caller's buffer, and
 * build one into the caller's buffer. No I/O, no clock, no malloc. A parsed
 * message borrows the input bytes: keep them alive as long as the stun_msg.
 */
#ifndef TERN_STUN_STUN_H
#define TERN_STUN_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/wire.h"

/* A transport address, as it is on the wire; port in host order. */
struct stun_addr {
	uint8_t family; /* STUN_FAMILY_IPV4 or STUN_FAMILY_IPV6 */
	uint16_t port;
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
};

/* A view of one attribute's value inside the parsed buffer. */
struct stun_attr {
	const uint8_t *v; /* NULL when absent */
	uint16_t len;
};

/* Every attribute the engines read, indexed for O(1) access. */
enum stun_attr_index {
	SA_MAPPED_ADDRESS,
	SA_XOR_MAPPED_ADDRESS,
	SA_USERNAME,
	SA_USERHASH,
	SA_MESSAGE_INTEGRITY,
	SA_MESSAGE_INTEGRITY_SHA256,
	SA_FINGERPRINT,
	SA_ERROR_CODE,
	SA_UNKNOWN_ATTRIBUTES,
	SA_REALM,
	SA_NONCE,
	SA_PASSWORD_ALGORITHM,
	SA_PASSWORD_ALGORITHMS,
	SA_SOFTWARE,
	SA_ALTERNATE_SERVER,
	SA_ALTERNATE_DOMAIN,
	SA_CHANGE_REQUEST,
	SA_RESPONSE_ORIGIN,
	SA_OTHER_ADDRESS,
	SA_RESPONSE_PORT,
	SA_PADDING,
	SA_CHANNEL_NUMBER,
	SA_LIFETIME,
	SA_XOR_PEER_ADDRESS, /* the first; all of them in peer[] */
	SA_DATA,
	SA_XOR_RELAYED_ADDRESS,
	SA_REQUESTED_ADDRESS_FAMILY,
	SA_EVEN_PORT,
	SA_REQUESTED_TRANSPORT,
	SA_DONT_FRAGMENT,
	SA_RESERVATION_TOKEN,
	SA_ADDITIONAL_ADDRESS_FAMILY,
	SA_ADDRESS_ERROR_CODE,
	SA_ICMP,
	SA_CONNECTION_ID,
	SA_PRIORITY,
	SA_USE_CANDIDATE,
	SA_ICE_CONTROLLED,
	SA_ICE_CONTROLLING,
	SA_COUNT
};

/*
 * A parsed message. Attribute rules (RFC 8489 s14): the first of a repeated
 * attribute wins (XOR-PEER-ADDRESS is collected up to STUN_MAX_PEER_ADDRS);
 * attributes after MESSAGE-INTEGRITY are ignored except MESSAGE-INTEGRITY-
 * SHA256 and FINGERPRINT; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT;
 * nothing may follow FINGERPRINT.
 */
struct stun_msg {
	const uint8_t *raw; /* the whole message, header included */
	uint16_t len;       /* header + body */
	uint16_t type;      /* method | class */
	uint16_t method;    /* enum stun_method */
	uint16_t cls;       /* enum stun_class */
	const uint8_t *tid; /* STUN_TID_LEN bytes */
	bool cookie;        /* magic cookie present (RFC 3489 when false) */
	struct stun_attr a[SA_COUNT];
	/* offsets from raw of the integrity attributes' headers, 0 if absent */
	uint16_t mi_off, mi256_off, fp_off;
	struct stun_attr peer[STUN_MAX_PEER_ADDRS];
	uint8_t n_peer;
	uint8_t n_duplicate; /* repeated attributes ignored */
	/* comprehension-required attributes we do not know (RFC 8489 s6.3.1) */
	uint16_t unknown[STUN_MAX_UNKNOWN];
	uint8_t n_unknown;
};

/* Why a parse failed; each maps to a `dropped{reason}` metric label. */
enum stun_parse_error {
	STUN_OK = 0,
	STUN_E_SHORT,        /* fewer than 20 bytes */
	STUN_E_NOT_STUN,     /* top two bits set, or bad method/class */
	STUN_E_LENGTH,       /* header length not a multiple of 4 or past the end */
	STUN_E_ATTR_OVERRUN, /* an attribute's length runs past the message */
	STUN_E_ATTR_BAD,     /* a known attribute with an impossible length */
	STUN_E_FINGERPRINT,  /* FINGERPRINT wrong or not last */
	STUN_E_COUNT
};

const char *stun_parse_error_name(enum stun_parse_error e);

/*
 * Parse exactly len bytes as one STUN message. Checks FINGERPRINT if present.
 * Returns STUN_OK or the reason. m is fully written either way.
 */
enum stun_parse_error stun_parse(struct stun_msg *m, const uint8_t *p, size_t len);

/* True when p starts like a STUN message (RFC 7983: first byte 0..3). */
bool stun_looks_like(const uint8_t *p, size_t len);

/*
 * Decode an address attribute. xor: XOR-*-ADDRESS (uses m->tid). Returns false
 * on a bad family or length.
 */
bool stun_attr_addr(const struct stun_msg *m, const struct stun_attr *a,
		    bool xor, struct stun_addr *out);
bool stun_attr_u32(const struct stun_attr *a, uint32_t *out);
/* ERROR-CODE: code (300..699) and reason view */
bool stun_attr_error(const struct stun_attr *a, int *code, const uint8_t **reason,
		     size_t *reason_len);

/*
 * Message integrity (RFC 8489 s14.5, s14.6). key is the long-term key
 * (MD5 or SHA-256 of user:realm:pass) or the short-term password. Returns true
 * only when the attribute is present and matches.
 */
bool stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t keylen);
bool stun_check_integrity_sha256(const struct stun_msg *m, const uint8_t *key,
				 size_t keylen);

/* The RFC's reason phrase for an error code, or "Error" for one it lacks. */
const char *stun_reason(int code);

/*
 * Builder: writes into a caller-owned buffer. Any overflow is sticky; check
 * stun_build_finish(), which returns the total length or 0 on overflow.
 */
struct stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint8_t pad; /* padding byte; 0 unless a test vector needs otherwise */
	bool overflow;
};

void stun_build_init(struct stun_builder *b, uint8_t *buf, size_t cap, uint16_t type,
		     const uint8_t tid[STUN_TID_LEN]);
/* RFC 3489 style: the 4 bytes after the length are tid, not cookie. */
void stun_build_init_legacy(struct stun_builder *b, uint8_t *buf, size_t cap,
			    uint16_t type, const uint8_t tid16[16]);
void stun_put(struct stun_builder *b, uint16_t type, const void *v, size_t len);
void stun_put_u32(struct stun_builder *b, uint16_t type, uint32_t v);
void stun_put_addr(struct stun_builder *b, uint16_t type, const struct stun_addr *a,
		   bool xor);
void stun_put_error(struct stun_builder *b, int code, const char *reason);
void stun_put_unknown(struct stun_builder *b, const uint16_t *types, size_t n);
/* Append MESSAGE-INTEGRITY (HMAC-SHA1) over everything so far. */
void stun_put_integrity(struct stun_builder *b, const uint8_t *key, size_t keylen);
/* Append MESSAGE-INTEGRITY-SHA256, truncated to len (16..32, multiple of 4). */
void stun_put_integrity_sha256(struct stun_builder *b, const uint8_t *key,
			       size_t keylen, size_t len);
void stun_put_fingerprint(struct stun_builder *b);
size_t stun_build_finish(struct stun_builder *b);

static inline uint16_t stun_type(uint16_t method, uint16_t cls)
{
	return (uint16_t)(((method & 0x0F80) << 2) | ((method & 0x0070) << 1) |
			  (method & 0x000F) | cls);
}

/*
 * Long-term credential keys (RFC 8489 s9.2.2): MD5 or SHA-256 of
 * "username:realm:password" (SASLprep is the caller's). out must hold 16 or
 * 32 bytes. Returns the key length or 0.
 */
size_t stun_lt_key(uint16_t algorithm, const char *user, size_t ulen, const char *realm,
		   size_t rlen, const char *pass, size_t plen, uint8_t out[32]);
/* USERHASH (RFC 8489 s14.4): SHA-256("username:realm"). */
void stun_userhash(const char *user, size_t ulen, const char *realm, size_t rlen,
		   uint8_t out[STUN_USERHASH_LEN]);

/* --- ChannelData (RFC 8656 s12.4) ----------------------------------------- */

/* True when p starts like ChannelData (first byte 0x40..0x7F). */
bool channel_looks_like(const uint8_t *p, size_t len);
/*
 * Parse one ChannelData message in exactly len bytes (a datagram) or at
 * least the framed length (stream: padding to 4 may follow). Returns false
 * on a short message or a channel number outside 0x4000..0x7FFF (the
 * engine narrows this to RFC 8656's 0x4000..0x4FFF unless configured).
 */
bool channel_parse(const uint8_t *p, size_t len, uint16_t *channel,
		   const uint8_t **data, uint16_t *dlen);
/* Write the 4-byte header in front of data already at buf+4. */
void channel_put_header(uint8_t *buf, uint16_t channel, uint16_t dlen);

/*
 * Stream framing (RFC 8489 s6.2.2, RFC 8656 s12.5): how many bytes the first
 * message in p occupies, padding included for ChannelData. Returns 0 when
 * more bytes are needed to tell, -1 when the stream is not STUN/ChannelData.
 */
long stun_frame_len(const uint8_t *p, size_t len);

#endif
