/*
 * Attribute value decoders. The parser only records where each attribute
 * is and that its length is possible; these functions turn a value into
 * something an engine can use: a transport address (plain or XOR-encoded),
 * a 32-bit number, or an error code and its reason. Each checks the exact
 * length it needs before reading, because a parsed attribute may still be
 * short for the one family or form it claims. stun_reason() holds the
 * reason phrases the RFCs give, so responses carry the registered text.
 */
#include <string.h>

#include "stun/bytes.h"
#include "stun/stun.h"

enum {
	ADDR_HDR = 4,            /* reserved, family, port */
	IPV4_LEN = 4,
	IPV6_LEN = 16,
	ERROR_HDR = 4,           /* reserved, class, number */
	ERROR_CLASS_MIN = 3,
	ERROR_CLASS_MAX = 6,
	ERROR_NUMBER_MAX = 99,
};



/*
 * RFC 8489 s14.2: the X-Port is XORed with the top 16 bits of the magic
 * cookie, an IPv4 X-Address with the cookie, and an IPv6 X-Address with the
 * cookie followed by the transaction ID. The cookie is the constant, not
 * the bytes in the message, so the result does not depend on RFC 3489 mode.
 */
static void xor_key(const struct stun_msg *m, uint8_t key[IPV6_LEN])
{
	key[0] = (uint8_t)(STUN_MAGIC_COOKIE >> 24);
	key[1] = (uint8_t)(STUN_MAGIC_COOKIE >> 16);
	key[2] = (uint8_t)(STUN_MAGIC_COOKIE >> 8);
	key[3] = (uint8_t)STUN_MAGIC_COOKIE;
	if (m->tid)
		memcpy(key + 4, m->tid, STUN_TID_LEN);
	else
		memset(key + 4, 0, STUN_TID_LEN);
}

bool stun_attr_addr(const struct stun_msg *m, const struct stun_attr *a,
		    bool xor, struct stun_addr *out)
{
	uint8_t key[IPV6_LEN];
	size_t iplen, i;

	memset(out, 0, sizeof(*out));
	if (!a || !a->v || a->len < ADDR_HDR)
		return false;
	/* RFC 8489 s14.1: family 0x01 is IPv4 and 0x02 is IPv6, nothing else. */
	if (a->v[1] == STUN_FAMILY_IPV4)
		iplen = IPV4_LEN;
	else if (a->v[1] == STUN_FAMILY_IPV6)
		iplen = IPV6_LEN;
	else
		return false;
	if (a->len != ADDR_HDR + iplen)
		return false;
	out->family = a->v[1];
	out->port = get16(a->v + 2);
	memcpy(out->ip, a->v + ADDR_HDR, iplen);
	if (!xor)
		return true;
	xor_key(m, key);
	out->port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	for (i = 0; i < iplen; i++)
		out->ip[i] ^= key[i];
	return true;
}

bool stun_attr_u32(const struct stun_attr *a, uint32_t *out)
{
	*out = 0;
	if (!a || !a->v || a->len != 4)
		return false;
	*out = get32(a->v);
	return true;
}

bool stun_attr_error(const struct stun_attr *a, int *code, const uint8_t **reason,
		     size_t *reason_len)
{
	int cls, number;

	*code = 0;
	*reason = NULL;
	*reason_len = 0;
	if (!a || !a->v || a->len < ERROR_HDR)
		return false;
	/* RFC 8489 s14.8: class in the low 3 bits of byte 2, number 0..99. */
	cls = a->v[2] & 0x07;
	number = a->v[3];
	if (cls < ERROR_CLASS_MIN || cls > ERROR_CLASS_MAX || number > ERROR_NUMBER_MAX)
		return false;
	*code = cls * 100 + number;
	*reason = a->v + ERROR_HDR;
	*reason_len = a->len - ERROR_HDR;
	return true;
}

/* Reason phrases as registered (IANA "STUN Error Codes"). */
static const struct {
	int code;
	const char *reason;
} reasons[] = {
	/* RFC 8489 s14.8 */
	{ STUN_ERR_TRY_ALTERNATE, "Try Alternate" },
	{ STUN_ERR_BAD_REQUEST, "Bad Request" },
	{ STUN_ERR_UNAUTHORIZED, "Unauthenticated" },
	{ STUN_ERR_UNKNOWN_ATTRIBUTE, "Unknown Attribute" },
	{ STUN_ERR_STALE_NONCE, "Stale Nonce" },
	{ STUN_ERR_SERVER_ERROR, "Server Error" },
	/* RFC 8656 s19 */
	{ STUN_ERR_FORBIDDEN, "Forbidden" },
	{ STUN_ERR_ALLOCATION_MISMATCH, "Allocation Mismatch" },
	{ STUN_ERR_ADDRESS_FAMILY_NOT_SUPPORTED, "Address Family not Supported" },
	{ STUN_ERR_WRONG_CREDENTIALS, "Wrong Credentials" },
	{ STUN_ERR_UNSUPPORTED_TRANSPORT, "Unsupported Transport Protocol" },
	{ STUN_ERR_PEER_ADDRESS_FAMILY_MISMATCH, "Peer Address Family Mismatch" },
	{ STUN_ERR_ALLOCATION_QUOTA, "Allocation Quota Reached" },
	{ STUN_ERR_INSUFFICIENT_CAPACITY, "Insufficient Capacity" },
	/* RFC 6062 s6.3 */
	{ STUN_ERR_CONNECTION_ALREADY_EXISTS, "Connection Already Exists" },
	{ STUN_ERR_CONNECTION_TIMEOUT, "Connection Timeout or Failure" },
	/* RFC 8016 (TURN mobility) and RFC 8445 (ICE) */
	{ STUN_ERR_MOBILITY_FORBIDDEN, "Mobility Forbidden" },
	{ STUN_ERR_ROLE_CONFLICT, "Role Conflict" },
};

const char *stun_reason(int code)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].code == code)
			return reasons[i].reason;
	}
	return "Error";
}
