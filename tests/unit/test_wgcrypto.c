/*
 * The tunnel's primitives against published known answers: X25519 (RFC
 * 7748 s5.2, s6.1), ChaCha20-Poly1305 (RFC 8439 s2.8.2),
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha A.3.1), BLAKE2s (RFC 7693
 * appendix B), HMAC-BLAKE2s and WireGuard's KDF (wireguard-go's
 * kdf_test.go), keyed BLAKE2s-128, the construction's initial chaining key
 * and hash; the replay window (the Linux module's counter selftest, case by
 * case); the receiver index table; the allowed-IPs table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "tunnel/allowedips.h"
#include "tunnel/blake2s.h"
#include "tunnel/index.h"
#include "tunnel/messages.h"
#include "tunnel/noise.h"
#include "tunnel/replay.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
	return n;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
	char hex[1024];

	assert_true(2 * len < sizeof hex);
	sodium_bin2hex(hex, sizeof hex, got, len);
	assert_string_equal(hex, want);
}

static void test_x25519(void **state)
{
	uint8_t a[32], b[32], bpub[32], k[32], u[32], out[32];

	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	assert_int_equal(crypto_scalarmult_base(bpub, b), 0);
	assert_hex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	assert_int_equal(crypto_scalarmult(out, a, bpub), 0);
	assert_hex(out, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	/* s5.2, one iteration: k = u = 9 */
	memset(k, 0, 32), k[0] = 9;
	memcpy(u, k, 32);
	assert_int_equal(crypto_scalarmult(out, k, u), 0);
	assert_hex(out, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	/* a point of small order gives all zeros: refused */
	memset(u, 0, 32);
	assert_int_equal(crypto_scalarmult(out, a, u), -1);
}

static const char sunscreen[] =
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
	"future, sunscreen would be it.";

static void test_chacha20poly1305(void **state)
{
	uint8_t key[32], nonce[12], ad[12], c[sizeof sunscreen + 16], p[sizeof sunscreen];
	size_t len = sizeof sunscreen - 1;
	unsigned long long clen;

	unhex(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex(nonce, 12, "070000004041424344454647");
	unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
	crypto_aead_chacha20poly1305_ietf_encrypt(c, &clen, (const uint8_t *)sunscreen, len, ad,
						  12, NULL, nonce, key);
	assert_int_equal(clen, len + 16);
	assert_hex(c, 16, "d31a8d34648e60db7b86afbc53ef7ec2");
	assert_hex(c + len, 16, "1ae10b594f09e26a7e902ecbd0600691");
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL, NULL, c, clen, ad, 12,
								   nonce, key), 0);
	assert_memory_equal(p, sunscreen, len);
	c[3] ^= 1;
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(p, NULL, NULL, c, clen, ad, 12,
								   nonce, key), -1);
}

static void test_xchacha20poly1305(void **state)
{
	uint8_t key[32], nonce[24], ad[12], c[sizeof sunscreen + 16];
	size_t len = sizeof sunscreen - 1;

	unhex(key, 32, "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
	unhex(nonce, 24, "404142434445464748494a4b4c4d4e4f5051525354555657");
	unhex(ad, 12, "50515253c0c1c2c3c4c5c6c7");
	crypto_aead_xchacha20poly1305_ietf_encrypt(c, NULL, (const uint8_t *)sunscreen, len, ad,
						   12, NULL, nonce, key);
	assert_hex(c, 16, "bd6d179d3e83d43b9576579493c0e939");
	assert_hex(c + len, 16, "c0875924c1c7987947deafd8780acf49");
}

static void test_blake2s(void **state)
{
	struct blake2s *b = blake2s_new();
	uint8_t out[32], key[32];

	assert_non_null(b);
	assert_true(blake2s_hash(b, out, (const uint8_t *)"abc", 3, NULL, 0));
	assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	assert_true(blake2s_hash(b, out, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2));
	assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	assert_true(blake2s_hash(b, out, (const uint8_t *)"", 0, NULL, 0));
	assert_hex(out, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	/* keyed, 16-byte output: a parameter of the hash, not a cut digest */
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	assert_true(blake2s_mac(b, out, key, 32, (const uint8_t *)"abc", 3));
	assert_hex(out, 16, "61ba5f165c194692e09d12520cc4c74a");
	blake2s_free(b);
}

/* KDF with a key of any length, as kdf_test.go calls it: HMAC(key, in),
 * then the expansion. */
static void kdf_any(struct blake2s *b, const char *key, const char *in, uint8_t t[3][32])
{
	uint8_t prk[32], buf[33];

	assert_true(blake2s_hmac(b, prk, (const uint8_t *)key, strlen(key), (const uint8_t *)in,
				 strlen(in)));
	buf[0] = 1;
	assert_true(blake2s_hmac(b, t[0], prk, 32, buf, 1));
	memcpy(buf, t[0], 32), buf[32] = 2;
	assert_true(blake2s_hmac(b, t[1], prk, 32, buf, 33));
	memcpy(buf, t[1], 32), buf[32] = 3;
	assert_true(blake2s_hmac(b, t[2], prk, 32, buf, 33));
}

static void test_kdf(void **state)
{
	struct blake2s *b = blake2s_new();
	uint8_t t[3][32], ck[32], a[32], c[32], d[32];

	kdf_any(b, "test-key", "test-input", t);
	assert_hex(t[0], 32, "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633");
	assert_hex(t[1], 32, "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a");
	assert_hex(t[2], 32, "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24");
	kdf_any(b, "", "", t);
	assert_hex(t[0], 32, "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0");
	/* blake2s_kdf with a 32-byte chaining key agrees with the expansion,
	 * and an output may overwrite the key */
	memset(ck, 0x5a, 32);
	assert_true(blake2s_kdf(b, ck, (const uint8_t *)"in", 2, a, c, d));
	assert_true(blake2s_kdf(b, ck, (const uint8_t *)"in", 2, ck, NULL, NULL));
	assert_memory_equal(ck, a, 32);
	blake2s_free(b);
}

static void test_construction(void **state)
{
	struct blake2s *b = blake2s_new();
	uint8_t h[32];

	assert_true(blake2s_hash(b, h, (const uint8_t *)WG_CONSTRUCTION,
				 sizeof WG_CONSTRUCTION - 1, NULL, 0));
	assert_hex(h, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	assert_memory_equal(h, noise_ck0, 32);
	assert_true(blake2s_hash(b, h, h, 32, (const uint8_t *)WG_IDENTIFIER,
				 sizeof WG_IDENTIFIER - 1));
	assert_hex(h, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	blake2s_free(b);
}

/* The Linux module's selftest/counter.c, case by case: T(n, v) checks
 * counter n and expects v. */
static void test_replay(void **state)
{
	struct replay r;
	const uint64_t lim = WG_REPLAY_WINDOW + 1;
	int i;

#define T(n, v) assert_int_equal(replay_check(&r, (n)), (v))
	replay_init(&r);
	T(0, true);
	T(1, true);
	T(1, false);
	T(9, true);
	T(8, true);
	T(7, true);
	T(7, false);
	T(lim, true);
	T(lim - 1, true);
	T(lim - 1, false);
	T(lim - 2, true);
	T(2, true);
	T(2, false);
	T(lim + 16, true);
	T(3, false);
	T(lim + 16, false);
	T(lim * 4, true);
	T(lim * 4 - (lim - 1), true);
	T(10, false);
	T(lim * 4 - lim, false);
	T(lim * 4 - (lim + 1), false);
	T(lim * 4 - (lim - 2), true);
	T(lim * 4 + 1 - lim, false);
	T(0, false);
	T(WG_REJECT_AFTER_MESSAGES, false);
	T(WG_REJECT_AFTER_MESSAGES - 1, true);
	T(WG_REJECT_AFTER_MESSAGES, false);
	T(WG_REJECT_AFTER_MESSAGES - 1, false);
	T(WG_REJECT_AFTER_MESSAGES - 2, true);
	T(WG_REJECT_AFTER_MESSAGES + 1, false);
	T(WG_REJECT_AFTER_MESSAGES + 2, false);
	T(WG_REJECT_AFTER_MESSAGES - 2, false);
	T(WG_REJECT_AFTER_MESSAGES - 3, true);
	T(0, false);
	/* every counter of a window, in order and backwards */
	replay_init(&r);
	for (i = 1; i <= (int)WG_REPLAY_WINDOW; i++)
		T((uint64_t)i, true);
	T(0, true);
	T(0, false);
	replay_init(&r);
	for (i = (int)WG_REPLAY_WINDOW + 1; i-- > 0;)
		T((uint64_t)i, true);
	replay_init(&r);
	for (i = (int)WG_REPLAY_WINDOW + 2; i-- > 1;)
		T((uint64_t)i, true);
	T(0, false);
	replay_init(&r);
	for (i = (int)WG_REPLAY_WINDOW + 1; i-- > 1;)
		T((uint64_t)i, true);
	T((uint64_t)WG_REPLAY_WINDOW + 1, true);
	T(0, false);
	replay_init(&r);
	T((uint64_t)WG_REPLAY_WINDOW + 1, true);
	for (i = 1; i <= (int)WG_REPLAY_WINDOW; i++)
		T((uint64_t)i, true);
	T(0, false);
#undef T
}

static uint32_t next_value;
static uint32_t scripted(void *ctx)
{
	return next_value++;
}

static void test_index(void **state)
{
	struct index *x = index_new(3, 2);
	int v[5000];
	uint32_t ids[5000];

	next_value = 7;
	for (int i = 0; i < 5000; i++) {
		ids[i] = index_add(x, &v[i], scripted, NULL);
		assert_int_equal(ids[i] >> 30, 3); /* the shard in the top bits */
	}
	assert_int_equal(index_count(x), 5000);
	for (int i = 0; i < 5000; i += 2)
		index_remove(x, ids[i]);
	for (int i = 0; i < 5000; i++)
		assert_ptr_equal(index_find(x, ids[i]), i % 2 ? &v[i] : NULL);
	/* a value already taken is skipped: 8 is ids[1]'s, 9 was freed */
	next_value = 8;
	assert_int_equal(index_add(x, &v[0], scripted, NULL) & 0x3FFFFFFF, 9);
	assert_null(index_find(x, 0));
	index_free(x);
}

static void test_allowedips(void **state)
{
	struct allowedips *t = allowedips_new();
	int a, b, c;
	uint8_t net[16] = { 10, 0, 0, 0 }, host[16] = { 10, 0, 0, 7 }, other[16] = { 10, 1, 2, 3 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	assert_non_null(t);
	assert_int_equal(allowedips_insert(t, 4, net, 8, &a), 0);
	assert_int_equal(allowedips_insert(t, 4, host, 32, &b), 0);
	assert_int_equal(allowedips_insert(t, 6, v6, 64, &c), 0);
	assert_ptr_equal(allowedips_lookup(t, 4, host), &b);     /* the longest wins */
	assert_ptr_equal(allowedips_lookup(t, 4, other), &a);
	assert_null(allowedips_lookup(t, 4, (uint8_t[4]){ 11, 0, 0, 1 }));
	v6[15] = 0x99;
	assert_ptr_equal(allowedips_lookup(t, 6, v6), &c);
	v6[7] = 1;
	assert_null(allowedips_lookup(t, 6, v6));
	/* a prefix given to another moves */
	assert_int_equal(allowedips_insert(t, 4, (uint8_t[4]){ 10, 9, 9, 9 }, 8, &c), 0);
	assert_ptr_equal(allowedips_lookup(t, 4, other), &c);
	allowedips_remove(t, 4, net, 8, &a); /* not a's any more: stays */
	assert_ptr_equal(allowedips_lookup(t, 4, other), &c);
	allowedips_remove_value(t, &c);
	assert_null(allowedips_lookup(t, 4, other));
	assert_ptr_equal(allowedips_lookup(t, 4, host), &b);
	assert_int_equal(allowedips_count(t), 1);
	assert_int_equal(allowedips_insert(t, 4, net, 33, &a), -EINVAL);
	assert_int_equal(allowedips_insert(t, 5, net, 8, &a), -EINVAL);
	/* 0.0.0.0/0 catches everything */
	assert_int_equal(allowedips_insert(t, 4, net, 0, &a), 0);
	assert_ptr_equal(allowedips_lookup(t, 4, (uint8_t[4]){ 1, 2, 3, 4 }), &a);
	allowedips_free(t);
}

/* Many prefixes, many removals: every lookup agrees with a scan. */
static void test_allowedips_churn(void **state)
{
	struct allowedips *t = allowedips_new();
	static int owner[4096];
	static uint8_t plen[4096];

	srand(3);
	for (int step = 0; step < 40000; step++) {
		int i = rand() % 4096;
		uint8_t ip[4] = { 10, (uint8_t)(i >> 4), (uint8_t)(i << 4), 0 };

		if (owner[i]) {
			allowedips_remove(t, 4, ip, plen[i], &owner[i]);
			owner[i] = 0;
		} else {
			plen[i] = 28;
			owner[i] = 1;
			assert_int_equal(allowedips_insert(t, 4, ip, 28, &owner[i]), 0);
		}
	}
	for (int i = 0; i < 4096; i++) {
		uint8_t ip[4] = { 10, (uint8_t)(i >> 4), (uint8_t)(i << 4), 5 };

		assert_ptr_equal(allowedips_lookup(t, 4, ip), owner[i] ? &owner[i] : NULL);
	}
	allowedips_free(t);
}

static void test_message_types(void **state)
{
	uint8_t m[200] = { 0 };

	m[0] = 1;
	assert_int_equal(messages_type(m, 148), WG_INITIATION);
	assert_int_equal(messages_type(m, 147), 0);
	m[2] = 1;
	assert_int_equal(messages_type(m, 148), 0); /* a reserved byte set */
	m[2] = 0, m[0] = 2;
	assert_int_equal(messages_type(m, 92), WG_RESPONSE);
	m[0] = 3;
	assert_int_equal(messages_type(m, 64), WG_COOKIE_REPLY);
	m[0] = 4;
	assert_int_equal(messages_type(m, 32), WG_DATA);
	assert_int_equal(messages_type(m, 31), 0);
	m[0] = 5;
	assert_int_equal(messages_type(m, 32), 0);
	assert_int_equal(messages_type(m, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_chacha20poly1305),
		cmocka_unit_test(test_xchacha20poly1305),
		cmocka_unit_test(test_blake2s),
		cmocka_unit_test(test_kdf),
		cmocka_unit_test(test_construction),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_allowedips),
		cmocka_unit_test(test_allowedips_churn),
		cmocka_unit_test(test_message_types),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
