/*
 * Unit tests for the STUN/TURN codec in stun/. The published test vectors
 * come first: RFC 5769 (short-term and long-term MESSAGE-INTEGRITY,
 * FINGERPRINT, XOR-MAPPED-ADDRESS for IPv4 and IPv6) and RFC 8489 Appendix
 * B.1 (MESSAGE-INTEGRITY-SHA256 and USERHASH, as corrected by errata ID
 * 6268). Each is parsed, its hashes verified, and rebuilt byte for byte,
 * so the parser, the integrity code and the builder check one another
 * against an outside source. The rest feed the parser malformed and random
 * input, where the contract is a defined error code and never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/vectors.h"
#include <zlib.h>

#include "stun/stun.h"

/*
 * Vectors copied from RFC 5769 s2.1-s2.4 and RFC 8489 Appendix B.1. The
 * checks below that their MESSAGE-INTEGRITY and FINGERPRINT verify are
 * what proves every byte was copied correctly.
 */
static const uint8_t rfc5769_request[108] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

static const uint8_t rfc5769_ipv4_response[80] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

static const uint8_t rfc5769_ipv6_response[92] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};


/*
 * RFC 8489 Appendix B.1 as corrected by errata ID 6268: the published
 * vector is wrong (see test_rfc8489_b1_published_is_wrong), so this one
 * carries the corrected length, PASSWORD-ALGORITHM and MI-SHA256 value.
 */

/* RFC 8489 Appendix B.1 exactly as published, errors included. */
static const uint8_t rfc8489_b1_published[156] = {
	0x00, 0x01, 0x00, 0x9c, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x1e, 0x00, 0x20,
	0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69, 0x92, 0xbd, 0xa9, 0x52, 0xc6, 0x78,
	0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15, 0x56, 0x9e, 0x60, 0xb2,
	0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04, 0x00, 0x15, 0x00, 0x29,
	0x6f, 0x62, 0x4d, 0x61, 0x74, 0x4a, 0x6f, 0x73, 0x32, 0x41, 0x41, 0x41,
	0x43, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64,
	0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76,
	0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0b,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
	0x00, 0x1c, 0x00, 0x20, 0xe4, 0x68, 0x6c, 0x8f, 0x0e, 0xde, 0xb5, 0x90,
	0x13, 0xe0, 0x70, 0x90, 0x01, 0x0a, 0x93, 0xef, 0xcc, 0xbc, 0xcc, 0x54,
	0x4c, 0x0a, 0x45, 0xd9, 0xf8, 0x30, 0xaa, 0x6d, 0x6f, 0x73, 0x5a, 0x01,
};

static const char st_pass[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* U+30DE U+30C8 U+30EA U+30C3 U+30AF U+30B9, unchanged by SASLprep */
static const char lt_user[] =
	"\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char lt_pass[] = "TheMatrIX"; /* after SASLprep/OpaqueString */
static const char realm[] = "example.org";

#define BINDING_REQ stun_type(STUN_BINDING, STUN_REQUEST)
#define BINDING_OK stun_type(STUN_BINDING, STUN_SUCCESS)
#define LEN(s) (sizeof(s) - 1)

static const uint8_t zeros[1024];

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void assert_attr(const struct stun_attr *a, const void *v, size_t len)
{
	assert_non_null(a->v);
	assert_int_equal(a->len, len);
	assert_memory_equal(a->v, v, len);
}

static void assert_addr(const struct stun_addr *got, const struct stun_addr *want)
{
	assert_int_equal(got->family, want->family);
	assert_int_equal(got->port, want->port);
	assert_memory_equal(got->ip, want->ip, sizeof(got->ip));
}

static void parse_ok(struct stun_msg *m, const uint8_t *p, size_t len)
{
	assert_int_equal(stun_parse(m, p, len), STUN_OK);
}

/* A Binding request with the tid of the RFC 5769 short-term vectors. */
static void init_req(struct stun_builder *b, uint8_t *buf, size_t cap)
{
	stun_build_init(b, buf, cap, BINDING_REQ, rfc5769_request + 8);
}

/* A message holding one attribute of vlen zero bytes. */
static size_t one_attr(uint8_t *buf, size_t cap, uint16_t type, size_t vlen)
{
	struct stun_builder b;

	init_req(&b, buf, cap);
	stun_put(&b, type, zeros, vlen);
	return stun_build_finish(&b);
}

/* --- RFC 5769 ----------------------------------------------------------- */

static void test_rfc5769_request_parse(void **state)
{
	struct stun_msg m;
	uint32_t prio;

	parse_ok(&m, rfc5769_request, sizeof(rfc5769_request));
	assert_true(m.cookie);
	assert_int_equal(m.len, 108);
	assert_int_equal(m.method, STUN_BINDING);
	assert_int_equal(m.cls, STUN_REQUEST);
	assert_ptr_equal(m.tid, rfc5769_request + 8);
	assert_attr(&m.a[SA_SOFTWARE], "STUN test client", 16);
	assert_true(stun_attr_u32(&m.a[SA_PRIORITY], &prio));
	assert_int_equal(prio, 0x6e0001ff);
	assert_attr(&m.a[SA_ICE_CONTROLLED], rfc5769_request + 52, 8);
	assert_attr(&m.a[SA_USERNAME], "evtj:h6vY", 9);
	assert_int_equal(m.mi_off, 76);
	assert_int_equal(m.mi256_off, 0);
	assert_int_equal(m.fp_off, 100);
	assert_int_equal(m.n_unknown, 0);
	assert_int_equal(m.n_duplicate, 0);
}

static void test_rfc5769_request_integrity(void **state)
{
	struct stun_msg m;

	parse_ok(&m, rfc5769_request, sizeof(rfc5769_request));
	assert_true(stun_check_integrity(&m, (const uint8_t *)st_pass, LEN(st_pass)));
	assert_false(stun_check_integrity(&m, (const uint8_t *)st_pass, LEN(st_pass) - 1));
	assert_false(stun_check_integrity_sha256(&m, (const uint8_t *)st_pass,
						 LEN(st_pass)));
}

static void test_rfc5769_request_build(void **state)
{
	struct stun_builder b;
	uint8_t buf[256];

	init_req(&b, buf, sizeof(buf));
	b.pad = 0x20; /* RFC 5769 pads USERNAME with spaces */
	stun_put(&b, STUN_ATTR_SOFTWARE, "STUN test client", 16);
	stun_put_u32(&b, STUN_ATTR_PRIORITY, 0x6e0001ff);
	stun_put(&b, STUN_ATTR_ICE_CONTROLLED, rfc5769_request + 52, 8);
	stun_put(&b, STUN_ATTR_USERNAME, "evtj:h6vY", 9);
	stun_put_integrity(&b, (const uint8_t *)st_pass, LEN(st_pass));
	stun_put_fingerprint(&b);
	assert_int_equal(stun_build_finish(&b), sizeof(rfc5769_request));
	assert_memory_equal(buf, rfc5769_request, sizeof(rfc5769_request));
}

static void check_response(const uint8_t *vec, size_t len, const struct stun_addr *want)
{
	struct stun_msg m;
	struct stun_addr got;

	parse_ok(&m, vec, len);
	assert_int_equal(m.method, STUN_BINDING);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_attr(&m.a[SA_SOFTWARE], "test vector", 11);
	assert_true(stun_attr_addr(&m, &m.a[SA_XOR_MAPPED_ADDRESS], true, &got));
	assert_addr(&got, want);
	assert_true(stun_check_integrity(&m, (const uint8_t *)st_pass, LEN(st_pass)));
	assert_int_not_equal(m.fp_off, 0);
}

static void build_response(const uint8_t *vec, size_t len, const struct stun_addr *a)
{
	struct stun_builder b;
	uint8_t buf[256];

	stun_build_init(&b, buf, sizeof(buf), BINDING_OK, vec + 8);
	b.pad = 0x20; /* RFC 5769 pads SOFTWARE with a space */
	stun_put(&b, STUN_ATTR_SOFTWARE, "test vector", 11);
	stun_put_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, a, true);
	stun_put_integrity(&b, (const uint8_t *)st_pass, LEN(st_pass));
	stun_put_fingerprint(&b);
	assert_int_equal(stun_build_finish(&b), len);
	assert_memory_equal(buf, vec, len);
}

/* RFC 5769 s2.2: 192.0.2.1 port 32853 */
static const struct stun_addr v4_addr = {
	.family = STUN_FAMILY_IPV4, .port = 32853, .ip = { 192, 0, 2, 1 },
};

/* RFC 5769 s2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853 */
static const struct stun_addr v6_addr = {
	.family = STUN_FAMILY_IPV6, .port = 32853,
	.ip = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77 },
};

static void test_rfc5769_ipv4_response_parse(void **state)
{
	check_response(rfc5769_ipv4_response, sizeof(rfc5769_ipv4_response), &v4_addr);
}

static void test_rfc5769_ipv4_response_build(void **state)
{
	build_response(rfc5769_ipv4_response, sizeof(rfc5769_ipv4_response), &v4_addr);
}

static void test_rfc5769_ipv6_response_parse(void **state)
{
	check_response(rfc5769_ipv6_response, sizeof(rfc5769_ipv6_response), &v6_addr);
}

static void test_rfc5769_ipv6_response_build(void **state)
{
	build_response(rfc5769_ipv6_response, sizeof(rfc5769_ipv6_response), &v6_addr);
}

static size_t lt_key(uint16_t alg, uint8_t key[32])
{
	return stun_lt_key(alg, lt_user, LEN(lt_user), realm, LEN(realm), lt_pass,
			   LEN(lt_pass), key);
}

static void test_rfc5769_longterm_parse(void **state)
{
	struct stun_msg m;
	uint8_t key[32];

	parse_ok(&m, rfc5769_longterm, sizeof(rfc5769_longterm));
	assert_attr(&m.a[SA_USERNAME], lt_user, 18);
	assert_attr(&m.a[SA_NONCE], "f//499k954d6OL34oL9FSTvy64sA", 28);
	assert_attr(&m.a[SA_REALM], realm, 11);
	assert_int_equal(m.fp_off, 0);
	assert_int_equal(lt_key(STUN_PWALG_MD5, key), 16);
	assert_true(stun_check_integrity(&m, key, 16));
	key[0] ^= 1;
	assert_false(stun_check_integrity(&m, key, 16));
}

static void test_rfc5769_longterm_build(void **state)
{
	struct stun_builder b;
	uint8_t buf[256], key[32];

	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, rfc5769_longterm + 8);
	stun_put(&b, STUN_ATTR_USERNAME, lt_user, LEN(lt_user));
	stun_put(&b, STUN_ATTR_NONCE, "f//499k954d6OL34oL9FSTvy64sA", 28);
	stun_put(&b, STUN_ATTR_REALM, realm, LEN(realm));
	stun_put_integrity(&b, key, lt_key(STUN_PWALG_MD5, key));
	assert_int_equal(stun_build_finish(&b), sizeof(rfc5769_longterm));
	assert_memory_equal(buf, rfc5769_longterm, sizeof(rfc5769_longterm));
}

/* --- RFC 8489 Appendix B.1 ----------------------------------------------- */

static void test_rfc8489_b1_parse(void **state)
{
	static const uint8_t sha256_alg[4] = { 0x00, 0x02, 0x00, 0x00 };
	uint8_t key[32], hash[STUN_USERHASH_LEN];
	struct stun_msg m;

	parse_ok(&m, rfc8489_b1, sizeof(rfc8489_b1));
	stun_userhash(lt_user, LEN(lt_user), realm, LEN(realm), hash);
	assert_attr(&m.a[SA_USERHASH], hash, sizeof(hash));
	assert_null(m.a[SA_USERNAME].v);
	assert_attr(&m.a[SA_NONCE], "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA", 41);
	assert_attr(&m.a[SA_REALM], realm, 11);
	assert_attr(&m.a[SA_PASSWORD_ALGORITHM], sha256_alg, 4);
	assert_int_equal(m.mi256_off, 128);
	assert_int_equal(lt_key(STUN_PWALG_SHA256, key), 32);
	assert_true(stun_check_integrity_sha256(&m, key, 32));
	assert_false(stun_check_integrity(&m, key, 32));
	assert_int_equal(lt_key(STUN_PWALG_MD5, key), 16);
	assert_false(stun_check_integrity_sha256(&m, key, 16));
}

static void test_rfc8489_b1_build(void **state)
{
	static const uint8_t sha256_alg[4] = { 0x00, 0x02, 0x00, 0x00 };
	uint8_t buf[256], key[32], hash[STUN_USERHASH_LEN];
	struct stun_builder b;

	stun_build_init(&b, buf, sizeof(buf), BINDING_REQ, rfc8489_b1 + 8);
	stun_userhash(lt_user, LEN(lt_user), realm, LEN(realm), hash);
	stun_put(&b, STUN_ATTR_USERHASH, hash, sizeof(hash));
	stun_put(&b, STUN_ATTR_NONCE, "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA", 41);
	stun_put(&b, STUN_ATTR_REALM, realm, LEN(realm));
	stun_put(&b, STUN_ATTR_PASSWORD_ALGORITHM, sha256_alg, 4);
	stun_put_integrity_sha256(&b, key, lt_key(STUN_PWALG_SHA256, key), 32);
	assert_int_equal(stun_build_finish(&b), sizeof(rfc8489_b1));
	assert_memory_equal(buf, rfc8489_b1, sizeof(rfc8489_b1));
}

/*
 * RFC 8489 errata ID 6268: Appendix B.1 as published puts 0x9c, the size of
 * the whole message, in the header length field where the body size 0x88
 * belongs, and its MESSAGE-INTEGRITY-SHA256 was computed over that wrong
 * length. It also lacks PASSWORD-ALGORITHM although the key is SHA-256.
 * So the published bytes fail the length check, and with the length fixed
 * the published MAC no longer verifies. The USERHASH it gives is correct.
 */
static void test_rfc8489_b1_published_is_wrong(void **state)
{
	uint8_t buf[sizeof(rfc8489_b1_published)], key[32];
	struct stun_msg m;

	assert_int_equal(stun_parse(&m, rfc8489_b1_published, sizeof(buf)),
			 STUN_E_LENGTH);
	memcpy(buf, rfc8489_b1_published, sizeof(buf));
	buf[3] = (uint8_t)(sizeof(buf) - STUN_HEADER_LEN);
	parse_ok(&m, buf, sizeof(buf));
	assert_int_equal(lt_key(STUN_PWALG_SHA256, key), 32);
	assert_false(stun_check_integrity_sha256(&m, key, 32));
}

/* --- malformed input ----------------------------------------------------- */

static void test_truncated_headers(void **state)
{
	struct stun_msg m;
	size_t n;

	assert_int_equal(stun_parse(&m, NULL, 0), STUN_E_SHORT);
	for (n = 0; n < STUN_HEADER_LEN; n++) {
		assert_int_equal(stun_parse(&m, rfc5769_request, n), STUN_E_SHORT);
		assert_ptr_equal(m.raw, rfc5769_request);
		assert_int_equal(m.len, 0);
		assert_null(m.tid);
	}
}

static void test_zero_length_message(void **state)
{
	uint8_t buf[STUN_HEADER_LEN + 4];
	struct stun_msg m;
	int i;

	memcpy(buf, rfc5769_request, STUN_HEADER_LEN);
	buf[2] = 0;
	buf[3] = 0;
	parse_ok(&m, buf, STUN_HEADER_LEN);
	assert_int_equal(m.len, STUN_HEADER_LEN);
	for (i = 0; i < SA_COUNT; i++)
		assert_null(m.a[i].v);
	assert_int_equal(m.n_unknown + m.n_peer + m.n_duplicate, 0);
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), STUN_E_LENGTH);
}

static void test_header_checks(void **state)
{
	uint8_t buf[STUN_HEADER_LEN + 8];
	struct stun_msg m;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, rfc5769_request, STUN_HEADER_LEN);
	buf[3] = 2; /* not a multiple of 4 */
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 2), STUN_E_LENGTH);
	buf[3] = 8; /* longer than what we have */
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 4), STUN_E_LENGTH);
	buf[3] = 4; /* shorter than what we have */
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 8), STUN_E_LENGTH);
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 4), STUN_OK);
	buf[0] = 0x40;
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 4), STUN_E_NOT_STUN);
	buf[0] = 0x80;
	assert_int_equal(stun_parse(&m, buf, STUN_HEADER_LEN + 4), STUN_E_NOT_STUN);
}

static void test_attr_overrun(void **state)
{
	uint8_t buf[64];
	struct stun_msg m;
	size_t n = one_attr(buf, sizeof(buf), STUN_ATTR_SOFTWARE, 8);

	assert_int_equal(n, 32);
	buf[23] = 9; /* pads to 12, only 8 remain */
	assert_int_equal(stun_parse(&m, buf, n), STUN_E_ATTR_OVERRUN);
	buf[22] = 0xFF;
	buf[23] = 0xFF;
	assert_int_equal(stun_parse(&m, buf, n), STUN_E_ATTR_OVERRUN);
	buf[22] = 0;
	buf[23] = 7; /* pads to 8: fits */
	parse_ok(&m, buf, n);
	assert_int_equal(m.a[SA_SOFTWARE].len, 7);
}

static const struct {
	uint16_t type;
	uint16_t len;
	enum stun_parse_error want;
} len_cases[] = {
	{ STUN_ATTR_MESSAGE_INTEGRITY, 16, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MESSAGE_INTEGRITY, 24, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MESSAGE_INTEGRITY, 20, STUN_OK },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 12, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 18, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 36, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 16, STUN_OK },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 28, STUN_OK },
	{ STUN_ATTR_FINGERPRINT, 8, STUN_E_ATTR_BAD },
	{ STUN_ATTR_USERHASH, 31, STUN_E_ATTR_BAD },
	{ TURN_ATTR_LIFETIME, 8, STUN_E_ATTR_BAD },
	{ TURN_ATTR_CHANNEL_NUMBER, 2, STUN_E_ATTR_BAD },
	{ TURN_ATTR_REQUESTED_TRANSPORT, 0, STUN_E_ATTR_BAD },
	{ STUN_ATTR_CHANGE_REQUEST, 8, STUN_E_ATTR_BAD },
	{ STUN_ATTR_XOR_MAPPED_ADDRESS, 4, STUN_E_ATTR_BAD },
	{ TURN_ATTR_XOR_PEER_ADDRESS, 7, STUN_E_ATTR_BAD },
	{ STUN_ATTR_MAPPED_ADDRESS, 24, STUN_E_ATTR_BAD },
	{ STUN_ATTR_USERNAME, 512, STUN_OK },
	{ STUN_ATTR_USERNAME, 513, STUN_E_ATTR_BAD },
	{ STUN_ATTR_REALM, 763, STUN_OK },
	{ STUN_ATTR_REALM, 764, STUN_E_ATTR_BAD },
	{ STUN_ATTR_NONCE, 764, STUN_E_ATTR_BAD },
	{ STUN_ATTR_SOFTWARE, 764, STUN_E_ATTR_BAD },
	{ STUN_ATTR_ERROR_CODE, 3, STUN_E_ATTR_BAD },
	{ STUN_ATTR_ERROR_CODE, 4 + 764, STUN_E_ATTR_BAD },
	{ STUN_ATTR_UNKNOWN_ATTRIBUTES, 3, STUN_E_ATTR_BAD },
	{ TURN_ATTR_EVEN_PORT, 4, STUN_E_ATTR_BAD },
	{ TURN_ATTR_DONT_FRAGMENT, 4, STUN_E_ATTR_BAD },
	{ TURN_ATTR_RESERVATION_TOKEN, 4, STUN_E_ATTR_BAD },
	{ STUN_ATTR_ICE_CONTROLLING, 4, STUN_E_ATTR_BAD },
	{ 0x7001, 3, STUN_OK }, /* unknown: any length */
};

static void test_attr_bad_lengths(void **state)
{
	uint8_t buf[1024];
	struct stun_msg m;
	size_t i, n;

	for (i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		n = one_attr(buf, sizeof(buf), len_cases[i].type, len_cases[i].len);
		assert_int_not_equal(n, 0);
		if (stun_parse(&m, buf, n) != len_cases[i].want)
			fail_msg("type 0x%04x len %u", len_cases[i].type, len_cases[i].len);
	}
}

static void test_wrong_fingerprint(void **state)
{
	uint8_t buf[sizeof(rfc5769_request)];
	struct stun_msg m;

	memcpy(buf, rfc5769_request, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 0x01;
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), STUN_E_FINGERPRINT);
	memcpy(buf, rfc5769_request, sizeof(buf));
	buf[24] ^= 0x20; /* a SOFTWARE byte */
	assert_int_equal(stun_parse(&m, buf, sizeof(buf)), STUN_E_FINGERPRINT);
}

static void test_wrong_integrity(void **state)
{
	uint8_t buf[sizeof(rfc5769_longterm)], key[32];
	struct stun_msg m;

	assert_int_equal(lt_key(STUN_PWALG_MD5, key), 16);
	memcpy(buf, rfc5769_longterm, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 0x80; /* the HMAC itself */
	parse_ok(&m, buf, sizeof(buf));
	assert_false(stun_check_integrity(&m, key, 16));
	memcpy(buf, rfc5769_longterm, sizeof(buf));
	buf[70] ^= 0x01; /* a NONCE byte */
	parse_ok(&m, buf, sizeof(buf));
	assert_false(stun_check_integrity(&m, key, 16));
	buf[2] = 0;
	buf[3] = 0;
	parse_ok(&m, buf, STUN_HEADER_LEN); /* header only, no MI */
	assert_false(stun_check_integrity(&m, key, 16));
	assert_false(stun_check_integrity(&m, NULL, 0));
}

static void test_duplicates_first_wins(void **state)
{
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[128];
	uint32_t v;

	init_req(&b, buf, sizeof(buf));
	stun_put(&b, STUN_ATTR_SOFTWARE, "first", 5);
	stun_put_u32(&b, TURN_ATTR_LIFETIME, 600);
	stun_put(&b, STUN_ATTR_SOFTWARE, "second", 6);
	stun_put_u32(&b, TURN_ATTR_LIFETIME, 0);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_attr(&m.a[SA_SOFTWARE], "first", 5);
	assert_true(stun_attr_u32(&m.a[SA_LIFETIME], &v));
	assert_int_equal(v, 600);
	assert_int_equal(m.n_duplicate, 2);
}

static void test_after_integrity_ignored(void **state)
{
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[256];

	init_req(&b, buf, sizeof(buf));
	stun_put(&b, STUN_ATTR_SOFTWARE, "kept", 4);
	stun_put_integrity(&b, (const uint8_t *)"k", 1);
	stun_put(&b, STUN_ATTR_SOFTWARE, "late", 4);
	stun_put_u32(&b, TURN_ATTR_LIFETIME, 30);
	stun_put(&b, 0x7777, "?", 1);
	stun_put(&b, STUN_ATTR_MESSAGE_INTEGRITY, zeros, 4); /* bad, but ignored */
	stun_put_integrity_sha256(&b, (const uint8_t *)"k", 1, 32);
	stun_put_fingerprint(&b);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_attr(&m.a[SA_SOFTWARE], "kept", 4);
	assert_null(m.a[SA_LIFETIME].v);
	assert_int_equal(m.n_unknown + m.n_duplicate, 0);
	assert_int_equal(m.mi_off, 28);
	assert_int_not_equal(m.mi256_off, 0);
	assert_int_not_equal(m.fp_off, 0);
	assert_true(stun_check_integrity(&m, (const uint8_t *)"k", 1));
	assert_true(stun_check_integrity_sha256(&m, (const uint8_t *)"k", 1));
}

static void test_after_integrity_sha256_only_fingerprint(void **state)
{
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[256];

	init_req(&b, buf, sizeof(buf));
	stun_put_integrity_sha256(&b, (const uint8_t *)"k", 1, 16);
	stun_put_integrity(&b, (const uint8_t *)"k", 1);
	stun_put_u32(&b, TURN_ATTR_LIFETIME, 30);
	stun_put_fingerprint(&b);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_int_equal(m.mi256_off, STUN_HEADER_LEN);
	assert_int_equal(m.mi_off, 0);
	assert_null(m.a[SA_MESSAGE_INTEGRITY].v);
	assert_null(m.a[SA_LIFETIME].v);
	assert_int_equal(m.fp_off, 20 + 20 + 24 + 8);
	assert_true(stun_check_integrity_sha256(&m, (const uint8_t *)"k", 1));
}

/* FINGERPRINT with a correct CRC for the final length, then one more. */
static void test_after_fingerprint_rejected(void **state)
{
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[128];
	uint32_t crc;
	size_t n;

	init_req(&b, buf, sizeof(buf));
	stun_put(&b, STUN_ATTR_SOFTWARE, "abcd", 4);
	stun_put_u32(&b, STUN_ATTR_FINGERPRINT, 0);
	stun_put(&b, STUN_ATTR_SOFTWARE, "tail", 4);
	n = stun_build_finish(&b);
	assert_int_equal(n, 44);
	crc = (uint32_t)crc32(0L, buf, 28) ^ STUN_FINGERPRINT_XOR;
	buf[32] = (uint8_t)(crc >> 24);
	buf[33] = (uint8_t)(crc >> 16);
	buf[34] = (uint8_t)(crc >> 8);
	buf[35] = (uint8_t)crc;
	assert_int_equal(stun_parse(&m, buf, n), STUN_E_FINGERPRINT);
	/* the same bytes without the tail are fine once the length says so */
	buf[3] = 16;
	crc = (uint32_t)crc32(0L, buf, 28) ^ STUN_FINGERPRINT_XOR;
	buf[32] = (uint8_t)(crc >> 24);
	buf[33] = (uint8_t)(crc >> 16);
	buf[34] = (uint8_t)(crc >> 8);
	buf[35] = (uint8_t)crc;
	parse_ok(&m, buf, 36);
	assert_int_equal(m.fp_off, 28);
}

static void test_unknown_comprehension_required(void **state)
{
	static const uint16_t types[] = { 0x0002, 0x8FFF, 0x7FFF, 0xC001, 0x4000 };
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[256];
	uint16_t t;

	init_req(&b, buf, sizeof(buf));
	for (t = 0; t < 5; t++)
		stun_put(&b, types[t], "x", 1);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_int_equal(m.n_unknown, 3);
	assert_int_equal(m.unknown[0], 0x0002);
	assert_int_equal(m.unknown[1], 0x7FFF);
	assert_int_equal(m.unknown[2], 0x4000);

	init_req(&b, buf, sizeof(buf));
	for (t = 0; t < 12; t++)
		stun_put(&b, (uint16_t)(0x7000 + t), NULL, 0);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_int_equal(m.n_unknown, STUN_MAX_UNKNOWN);
	assert_int_equal(m.unknown[STUN_MAX_UNKNOWN - 1], 0x7000 + STUN_MAX_UNKNOWN - 1);
}

static void test_xor_peer_repeated(void **state)
{
	struct stun_addr a = v4_addr, got;
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[512];
	int i;

	init_req(&b, buf, sizeof(buf));
	for (i = 0; i < STUN_MAX_PEER_ADDRS + 2; i++) {
		a.port = (uint16_t)(1000 + i);
		stun_put_addr(&b, TURN_ATTR_XOR_PEER_ADDRESS, &a, true);
	}
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_int_equal(m.n_peer, STUN_MAX_PEER_ADDRS);
	assert_int_equal(m.n_duplicate, 2);
	assert_ptr_equal(m.a[SA_XOR_PEER_ADDRESS].v, m.peer[0].v);
	for (i = 0; i < STUN_MAX_PEER_ADDRS; i++) {
		assert_true(stun_attr_addr(&m, &m.peer[i], true, &got));
		assert_int_equal(got.port, 1000 + i);
		assert_memory_equal(got.ip, v4_addr.ip, 4);
	}
}

static void addr_round_trip(const struct stun_addr *a, size_t wire_len)
{
	struct stun_builder b;
	struct stun_addr got;
	struct stun_msg m;
	uint8_t buf[128];

	init_req(&b, buf, sizeof(buf));
	stun_put_addr(&b, STUN_ATTR_MAPPED_ADDRESS, a, false);
	stun_put_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, a, true);
	stun_put_addr(&b, TURN_ATTR_XOR_RELAYED_ADDRESS, a, true);
	parse_ok(&m, buf, stun_build_finish(&b));
	assert_int_equal(m.a[SA_MAPPED_ADDRESS].len, wire_len);
	/* plain on the wire, XORed on the wire, then both decoded */
	assert_memory_equal(m.a[SA_MAPPED_ADDRESS].v + 4, a->ip, wire_len - 4);
	assert_memory_not_equal(m.a[SA_XOR_MAPPED_ADDRESS].v + 4, a->ip, wire_len - 4);
	assert_true(stun_attr_addr(&m, &m.a[SA_MAPPED_ADDRESS], false, &got));
	assert_addr(&got, a);
	assert_true(stun_attr_addr(&m, &m.a[SA_XOR_MAPPED_ADDRESS], true, &got));
	assert_addr(&got, a);
	assert_true(stun_attr_addr(&m, &m.a[SA_XOR_RELAYED_ADDRESS], true, &got));
	assert_addr(&got, a);
}

static void test_addr_round_trip_ipv4(void **state)
{
	struct stun_addr a = { .family = STUN_FAMILY_IPV4, .port = 3478,
			       .ip = { 203, 0, 113, 77 } };

	addr_round_trip(&a, 8);
	addr_round_trip(&v4_addr, 8);
}

static void test_addr_round_trip_ipv6(void **state)
{
	struct stun_addr a = v6_addr;

	addr_round_trip(&a, 20);
	a.port = 0xFFFF;
	memset(a.ip, 0xFF, sizeof(a.ip));
	addr_round_trip(&a, 20);
}

static void test_addr_bad(void **state)
{
	uint8_t v[20] = { 0, STUN_FAMILY_IPV4 };
	struct stun_attr a = { .v = v, .len = 20 };
	struct stun_addr bad = { .family = 3 }, got;
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[64];

	parse_ok(&m, rfc5769_ipv4_response, sizeof(rfc5769_ipv4_response));
	assert_false(stun_attr_addr(&m, &a, false, &got)); /* IPv4 in 20 bytes */
	v[1] = STUN_FAMILY_IPV6;
	a.len = 8;
	assert_false(stun_attr_addr(&m, &a, true, &got)); /* IPv6 in 8 bytes */
	v[1] = 3;
	a.len = 8;
	assert_false(stun_attr_addr(&m, &a, false, &got));
	assert_int_equal(got.family, 0);
	assert_false(stun_attr_addr(&m, &m.a[SA_MAPPED_ADDRESS], false, &got));
	init_req(&b, buf, sizeof(buf));
	stun_put_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &bad, false);
	assert_int_equal(stun_build_finish(&b), 0);
}

static void test_rfc3489_legacy(void **state)
{
	static const uint8_t tid16[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
					   13, 14, 15, 16 };
	struct stun_builder b;
	struct stun_addr got;
	struct stun_msg m;
	uint8_t buf[64];
	uint32_t flags;

	stun_build_init_legacy(&b, buf, sizeof(buf), BINDING_OK, tid16);
	stun_put_addr(&b, STUN_ATTR_MAPPED_ADDRESS, &v4_addr, false);
	stun_put_u32(&b, STUN_ATTR_CHANGE_REQUEST, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	assert_int_equal(stun_build_finish(&b), 20 + 12 + 8);
	assert_memory_equal(buf + 4, tid16, 16);
	parse_ok(&m, buf, 40);
	assert_false(m.cookie);
	assert_int_equal(m.cls, STUN_SUCCESS);
	assert_ptr_equal(m.tid, buf + 8);
	assert_memory_equal(m.tid, tid16 + 4, STUN_TID_LEN);
	assert_true(stun_attr_addr(&m, &m.a[SA_MAPPED_ADDRESS], false, &got));
	assert_addr(&got, &v4_addr);
	assert_true(stun_attr_u32(&m.a[SA_CHANGE_REQUEST], &flags));
	assert_int_equal(flags, 0x06);
}

/* m->len is 16 bits, so both sides stop at the largest total under 64 KiB. */
static void test_max_length(void **state)
{
	static uint8_t buf[65536 + 64], data[65508];
	struct stun_builder b;
	struct stun_msg m;

	init_req(&b, buf, sizeof(buf));
	stun_put(&b, TURN_ATTR_DATA, data, sizeof(data));
	assert_int_equal(stun_build_finish(&b), 65532);
	parse_ok(&m, buf, 65532);
	assert_int_equal(m.a[SA_DATA].len, 65508);
	stun_put(&b, STUN_ATTR_SOFTWARE, NULL, 0);
	assert_int_equal(stun_build_finish(&b), 0);
	buf[2] = 0xFF; /* body 65516, total 65536 */
	buf[3] = 0xEC;
	buf[22] = 0xFF;
	buf[23] = 0xE8;
	assert_int_equal(stun_parse(&m, buf, 65536), STUN_E_LENGTH);
}

/* --- random input --------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64: deterministic, so a failure replays exactly */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Attribute types with a length they accept, for random_chain(). */
static const struct {
	uint16_t type, len;
} attr_pool[] = {
	{ STUN_ATTR_MAPPED_ADDRESS, 8 }, { STUN_ATTR_XOR_MAPPED_ADDRESS, 20 },
	{ STUN_ATTR_USERNAME, 9 }, { STUN_ATTR_MESSAGE_INTEGRITY, 20 },
	{ STUN_ATTR_MESSAGE_INTEGRITY_SHA256, 24 }, { STUN_ATTR_FINGERPRINT, 4 },
	{ STUN_ATTR_ERROR_CODE, 7 }, { TURN_ATTR_XOR_PEER_ADDRESS, 8 },
	{ TURN_ATTR_LIFETIME, 4 }, { TURN_ATTR_DATA, 33 }, { 0x7123, 1 }, { 0x8123, 2 },
};

/* A valid header followed by attributes of plausible types and lengths. */
static size_t random_chain(uint8_t *p, size_t cap, uint64_t *s)
{
	size_t off = STUN_HEADER_LEN, alen, k;

	while (off + 4 <= cap && rnd(s) % 16) {
		k = rnd(s) % (sizeof(attr_pool) / sizeof(attr_pool[0]));
		alen = rnd(s) % 4 ? attr_pool[k].len : rnd(s) % 40;
		if (off + 4 + ((alen + 3) & ~(size_t)3) > cap)
			break;
		p[off] = (uint8_t)(attr_pool[k].type >> 8);
		p[off + 1] = (uint8_t)attr_pool[k].type;
		p[off + 2] = (uint8_t)(alen >> 8);
		p[off + 3] = (uint8_t)alen;
		off += 4 + ((alen + 3) & ~(size_t)3);
	}
	p[0] &= 0x3F;
	p[2] = (uint8_t)((off - STUN_HEADER_LEN) >> 8);
	p[3] = (uint8_t)(off - STUN_HEADER_LEN);
	return off;
}

/* Random bytes behind a header that passes, so the attribute walk runs. */
static size_t plausible_header(uint8_t *p, size_t len)
{
	if (len < STUN_HEADER_LEN)
		return len;
	len = STUN_HEADER_LEN + ((len - STUN_HEADER_LEN) & ~(size_t)3);
	if (len > UINT16_MAX)
		len -= 4;
	p[0] &= 0x3F;
	p[2] = (uint8_t)((len - STUN_HEADER_LEN) >> 8);
	p[3] = (uint8_t)(len - STUN_HEADER_LEN);
	return len;
}

static void check_invariants(const struct stun_msg *m, const uint8_t *p, size_t len)
{
	struct stun_addr addr;
	uint32_t u;
	int i;

	assert_int_equal(m->len, len);
	assert_in_range(m->n_peer, 0, STUN_MAX_PEER_ADDRS);
	assert_in_range(m->n_unknown, 0, STUN_MAX_UNKNOWN);
	for (i = 0; i < SA_COUNT; i++) {
		if (!m->a[i].v)
			continue;
		assert_true(m->a[i].v >= p + STUN_HEADER_LEN + 4);
		assert_true(m->a[i].v + m->a[i].len <= p + len);
		(void)stun_attr_addr(m, &m->a[i], i % 2, &addr);
		(void)stun_attr_u32(&m->a[i], &u);
	}
	(void)stun_check_integrity(m, (const uint8_t *)"k", 1);
	(void)stun_check_integrity_sha256(m, (const uint8_t *)"k", 1);
}

static void test_random_garbage(void **state)
{
	static uint8_t buf[65536];
	uint64_t s = 0x9E3779B97F4A7C15ull;
	const uint8_t *data;
	struct stun_msg m;
	enum stun_parse_error e;
	uint16_t ch, dlen;
	size_t i, j, len;
	long fl;

	for (i = 0; i < 5000; i++) {
		for (j = 0; j < sizeof(buf); j += 8) {
			uint64_t r = rnd(&s);

			memcpy(buf + j, &r, 8);
		}
		len = rnd(&s) % (sizeof(buf) + 1);
		if (i % 3 == 1)
			len = random_chain(buf, len > 2048 ? 2048 : len, &s);
		else if (i % 3 == 2)
			len = plausible_header(buf, len);
		e = stun_parse(&m, buf, len);
		assert_in_range(e, STUN_OK, STUN_E_COUNT - 1);
		if (e == STUN_OK)
			check_invariants(&m, buf, len);
		(void)channel_parse(buf, len, &ch, &data, &dlen);
		fl = stun_frame_len(buf, len);
		assert_true(fl >= -1 && fl <= CHANNEL_HEADER_LEN + 0x10000);
	}
	assert_int_not_equal(stun_parse(&m, buf, sizeof(buf)), STUN_OK);
}

/* --- ChannelData and framing ------------------------------------------- */

static void test_channel_parse(void **state)
{
	uint8_t buf[16] = { 0x40, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0 };
	const uint8_t *data;
	uint16_t ch, dlen;
	size_t n;

	for (n = 0; n < 9; n++)
		assert_false(channel_parse(buf, n, &ch, &data, &dlen));
	assert_null(data);
	assert_true(channel_parse(buf, 9, &ch, &data, &dlen));
	assert_int_equal(ch, 0x4000);
	assert_int_equal(dlen, 5);
	assert_ptr_equal(data, buf + 4);
	assert_true(channel_parse(buf, 12, &ch, &data, &dlen)); /* padded */
	channel_put_header(buf, 0x4FFF, 0);
	assert_true(channel_parse(buf, 4, &ch, &data, &dlen));
	assert_int_equal(ch, 0x4FFF);
	assert_int_equal(dlen, 0);
	channel_put_header(buf, 0x5000, 0); /* RFC 5766 range: the engine decides */
	assert_true(channel_parse(buf, 4, &ch, &data, &dlen));
	channel_put_header(buf, 0x8000, 0);
	assert_false(channel_parse(buf, 4, &ch, &data, &dlen));
	channel_put_header(buf, 0x3FFF, 0);
	assert_false(channel_parse(buf, 4, &ch, &data, &dlen));
	assert_int_equal(ch, 0);
}

static void test_frame_len(void **state)
{
	uint8_t p[4] = { 0x00, 0x01, 0x00, 0x08 };

	assert_int_equal(stun_frame_len(p, 0), 0);
	assert_int_equal(stun_frame_len(p, 3), 0);
	assert_int_equal(stun_frame_len(p, 4), 28);
	p[3] = 0x06;
	assert_int_equal(stun_frame_len(p, 4), -1); /* not a multiple of 4 */
	p[2] = 0xFF;
	p[3] = 0xFC;
	assert_int_equal(stun_frame_len(p, 4), 20 + 0xFFFC);
	channel_put_header(p, 0x4001, 5);
	assert_int_equal(stun_frame_len(p, 1), 0);
	assert_int_equal(stun_frame_len(p, 4), 12);
	channel_put_header(p, 0x4001, 0);
	assert_int_equal(stun_frame_len(p, 4), 4);
	channel_put_header(p, 0x4FFF, 0xFFFF);
	assert_int_equal(stun_frame_len(p, 4), 4 + 0x10000);
	p[0] = 0x7F; /* RFC 5766 channels frame the same way */
	assert_int_equal(stun_frame_len(p, 4), 4 + 0x10000);
	p[0] = 0x17; /* TLS, RFC 7983 */
	assert_int_equal(stun_frame_len(p, 4), -1);
	p[0] = 0x80; /* RTP */
	assert_int_equal(stun_frame_len(p, 4), -1);
}

static void test_looks_like(void **state)
{
	uint8_t p[1] = { 0 };
	unsigned int c;

	assert_false(stun_looks_like(p, 0));
	assert_false(channel_looks_like(p, 0));
	for (c = 0; c < 256; c++) {
		p[0] = (uint8_t)c;
		assert_int_equal(stun_looks_like(p, 1), c < 0x40);
		assert_int_equal(channel_looks_like(p, 1), c >= 0x40 && c <= 0x7F);
	}
}

/* --- builder -------------------------------------------------------------- */

static void test_builder_overflow_sticky(void **state)
{
	struct stun_builder b;
	uint8_t buf[64];

	init_req(&b, buf, 19);
	assert_int_equal(stun_build_finish(&b), 0);
	init_req(&b, buf, 32);
	stun_put(&b, STUN_ATTR_SOFTWARE, "12345678", 8); /* exactly fits */
	assert_int_equal(stun_build_finish(&b), 32);
	init_req(&b, buf, 32);
	stun_put(&b, STUN_ATTR_SOFTWARE, "123456789", 9); /* needs 36 */
	assert_true(b.overflow);
	assert_int_equal(b.len, 20);
	stun_put(&b, STUN_ATTR_SOFTWARE, "1", 1); /* would fit, but sticky */
	stun_put_fingerprint(&b);
	stun_put_integrity(&b, (const uint8_t *)"k", 1);
	assert_int_equal(b.len, 20);
	assert_int_equal(get16(buf + 2), 0);
	assert_int_equal(stun_build_finish(&b), 0);
	init_req(&b, buf, sizeof(buf));
	stun_put_error(&b, 299, "x");
	assert_int_equal(stun_build_finish(&b), 0);
	init_req(&b, buf, sizeof(buf));
	stun_put_integrity_sha256(&b, (const uint8_t *)"k", 1, 12);
	assert_int_equal(stun_build_finish(&b), 0);
	init_req(&b, buf, sizeof(buf));
	stun_put_integrity(&b, (const uint8_t *)"k", 1);
	assert_int_equal(stun_build_finish(&b), 44);
	stun_put_integrity(&b, (const uint8_t *)"k", 1); /* no room for 24 more */
	assert_int_equal(stun_build_finish(&b), 0);
}

static void test_builder_length_tracks(void **state)
{
	struct stun_builder b;
	uint8_t buf[128];

	init_req(&b, buf, sizeof(buf));
	b.pad = 0xAA;
	stun_put(&b, STUN_ATTR_USERNAME, "abcde", 5);
	assert_int_equal(get16(buf + 2), 12);
	assert_int_equal(buf[29], 0xAA);
	assert_int_equal(buf[31], 0xAA);
	stun_put(&b, TURN_ATTR_DONT_FRAGMENT, NULL, 0);
	assert_int_equal(get16(buf + 2), 16);
	stun_put_fingerprint(&b);
	assert_int_equal(get16(buf + 2), 24);
	assert_int_equal(stun_build_finish(&b), 44);
}

static void test_error_code_round_trip(void **state)
{
	const uint8_t *reason;
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[128];
	size_t rlen;
	int code;

	init_req(&b, buf, sizeof(buf));
	b.pad = 0x20;
	stun_put_error(&b, STUN_ERR_STALE_NONCE, NULL);
	assert_int_equal(stun_build_finish(&b), 20 + 4 + 16);
	assert_memory_equal(buf + 24, "\x00\x00\x04\x26Stale Nonce ", 16);
	parse_ok(&m, buf, 40);
	assert_true(stun_attr_error(&m.a[SA_ERROR_CODE], &code, &reason, &rlen));
	assert_int_equal(code, 438);
	assert_int_equal(rlen, 11);
	assert_memory_equal(reason, "Stale Nonce", 11);
	buf[26] = 2; /* class 2 is not an error */
	parse_ok(&m, buf, 40);
	assert_false(stun_attr_error(&m.a[SA_ERROR_CODE], &code, &reason, &rlen));
	buf[26] = 6;
	buf[27] = 100; /* number 0..99 */
	parse_ok(&m, buf, 40);
	assert_false(stun_attr_error(&m.a[SA_ERROR_CODE], &code, &reason, &rlen));
	assert_int_equal(code, 0);
}

static void test_reason_phrases(void **state)
{
	assert_string_equal(stun_reason(300), "Try Alternate");
	assert_string_equal(stun_reason(400), "Bad Request");
	assert_string_equal(stun_reason(401), "Unauthenticated");
	assert_string_equal(stun_reason(403), "Forbidden");
	assert_string_equal(stun_reason(405), "Mobility Forbidden");
	assert_string_equal(stun_reason(420), "Unknown Attribute");
	assert_string_equal(stun_reason(437), "Allocation Mismatch");
	assert_string_equal(stun_reason(438), "Stale Nonce");
	assert_string_equal(stun_reason(440), "Address Family not Supported");
	assert_string_equal(stun_reason(441), "Wrong Credentials");
	assert_string_equal(stun_reason(442), "Unsupported Transport Protocol");
	assert_string_equal(stun_reason(443), "Peer Address Family Mismatch");
	assert_string_equal(stun_reason(446), "Connection Already Exists");
	assert_string_equal(stun_reason(447), "Connection Timeout or Failure");
	assert_string_equal(stun_reason(486), "Allocation Quota Reached");
	assert_string_equal(stun_reason(487), "Role Conflict");
	assert_string_equal(stun_reason(500), "Server Error");
	assert_string_equal(stun_reason(508), "Insufficient Capacity");
	assert_string_equal(stun_reason(499), "Error");
}

static void test_unknown_attributes_build(void **state)
{
	static const uint16_t types[] = { 0x0002, 0x7FFF, 0x0031 };
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[64];

	init_req(&b, buf, sizeof(buf));
	stun_put_unknown(&b, types, 3);
	assert_int_equal(stun_build_finish(&b), 20 + 4 + 8);
	parse_ok(&m, buf, 32);
	assert_attr(&m.a[SA_UNKNOWN_ATTRIBUTES], "\x00\x02\x7f\xff\x00\x31", 6);
}

static void test_u32(void **state)
{
	static const uint8_t v[5] = { 0xde, 0xad, 0xbe, 0xef, 0x00 };
	struct stun_attr a = { .v = v, .len = 4 };
	uint32_t out;

	assert_true(stun_attr_u32(&a, &out));
	assert_int_equal(out, 0xdeadbeef);
	a.len = 5;
	assert_false(stun_attr_u32(&a, &out));
	assert_int_equal(out, 0);
	a.v = NULL;
	assert_false(stun_attr_u32(&a, &out));
}

/* --- integrity ------------------------------------------------------------ */

static void test_integrity_round_trip(void **state)
{
	static const uint8_t key[] = "short-term password";
	struct stun_builder b;
	struct stun_msg m;
	uint8_t buf[256];
	size_t t;

	for (t = 16; t <= 32; t += 4) {
		init_req(&b, buf, sizeof(buf));
		stun_put(&b, STUN_ATTR_USERNAME, "alice", 5);
		stun_put_integrity(&b, key, sizeof(key) - 1);
		stun_put_integrity_sha256(&b, key, sizeof(key) - 1, t);
		stun_put_fingerprint(&b);
		parse_ok(&m, buf, stun_build_finish(&b));
		assert_int_equal(m.a[SA_MESSAGE_INTEGRITY_SHA256].len, t);
		assert_true(stun_check_integrity(&m, key, sizeof(key) - 1));
		assert_true(stun_check_integrity_sha256(&m, key, sizeof(key) - 1));
		assert_false(stun_check_integrity(&m, key, sizeof(key) - 2));
		assert_false(stun_check_integrity_sha256(&m, key, sizeof(key) - 2));
	}
}

static void test_lt_key(void **state)
{
	/* MD5 and SHA-256 of "user:realm:pass", from an independent tool */
	static const uint8_t md5[16] = {
		0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb,
		0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb };
	static const uint8_t sha256[32] = {
		0x07, 0xe9, 0x34, 0x11, 0x7a, 0xbd, 0x40, 0x83,
		0x6e, 0x7c, 0x63, 0x29, 0xb5, 0x47, 0x31, 0xb2,
		0xb2, 0xd2, 0xa5, 0xf9, 0xa7, 0x1f, 0x54, 0x49,
		0x22, 0xd7, 0x5e, 0x07, 0x30, 0xd8, 0x25, 0x1b };
	uint8_t key[32];

	assert_int_equal(stun_lt_key(STUN_PWALG_MD5, "user", 4, "realm", 5, "pass", 4,
				     key), 16);
	assert_memory_equal(key, md5, 16);
	assert_int_equal(stun_lt_key(STUN_PWALG_SHA256, "user", 4, "realm", 5, "pass",
				     4, key), 32);
	assert_memory_equal(key, sha256, 32);
	assert_int_equal(stun_lt_key(3, "user", 4, "realm", 5, "pass", 4, key), 0);
}

static void test_parse_error_names(void **state)
{
	assert_string_equal(stun_parse_error_name(STUN_OK), "ok");
	assert_string_equal(stun_parse_error_name(STUN_E_SHORT), "short");
	assert_string_equal(stun_parse_error_name(STUN_E_NOT_STUN), "not_stun");
	assert_string_equal(stun_parse_error_name(STUN_E_LENGTH), "length");
	assert_string_equal(stun_parse_error_name(STUN_E_ATTR_OVERRUN), "attr_overrun");
	assert_string_equal(stun_parse_error_name(STUN_E_ATTR_BAD), "attr_bad");
	assert_string_equal(stun_parse_error_name(STUN_E_FINGERPRINT), "fingerprint");
	assert_string_equal(stun_parse_error_name(STUN_E_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request_parse),
		cmocka_unit_test(test_rfc5769_request_integrity),
		cmocka_unit_test(test_rfc5769_request_build),
		cmocka_unit_test(test_rfc5769_ipv4_response_parse),
		cmocka_unit_test(test_rfc5769_ipv4_response_build),
		cmocka_unit_test(test_rfc5769_ipv6_response_parse),
		cmocka_unit_test(test_rfc5769_ipv6_response_build),
		cmocka_unit_test(test_rfc5769_longterm_parse),
		cmocka_unit_test(test_rfc5769_longterm_build),
		cmocka_unit_test(test_rfc8489_b1_parse),
		cmocka_unit_test(test_rfc8489_b1_build),
		cmocka_unit_test(test_rfc8489_b1_published_is_wrong),
		cmocka_unit_test(test_truncated_headers),
		cmocka_unit_test(test_zero_length_message),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_attr_overrun),
		cmocka_unit_test(test_attr_bad_lengths),
		cmocka_unit_test(test_wrong_fingerprint),
		cmocka_unit_test(test_wrong_integrity),
		cmocka_unit_test(test_duplicates_first_wins),
		cmocka_unit_test(test_after_integrity_ignored),
		cmocka_unit_test(test_after_integrity_sha256_only_fingerprint),
		cmocka_unit_test(test_after_fingerprint_rejected),
		cmocka_unit_test(test_unknown_comprehension_required),
		cmocka_unit_test(test_xor_peer_repeated),
		cmocka_unit_test(test_addr_round_trip_ipv4),
		cmocka_unit_test(test_addr_round_trip_ipv6),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_rfc3489_legacy),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_random_garbage),
		cmocka_unit_test(test_channel_parse),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_looks_like),
		cmocka_unit_test(test_builder_overflow_sticky),
		cmocka_unit_test(test_builder_length_tracks),
		cmocka_unit_test(test_error_code_round_trip),
		cmocka_unit_test(test_reason_phrases),
		cmocka_unit_test(test_unknown_attributes_build),
		cmocka_unit_test(test_u32),
		cmocka_unit_test(test_integrity_round_trip),
		cmocka_unit_test(test_lt_key),
		cmocka_unit_test(test_parse_error_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
