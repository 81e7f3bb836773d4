/*
 * libFuzzer harness for the WireGuard message parser and the checks every
 * datagram meets before any secret is used: the type and length
 * (messages_type), mac1 and mac2 (cookie_validate), and the opening of an
 * initiation under a fixed key (noise_open). A crash, a read past the
 * input, or a message judged two ways is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "tunnel/cookie.h"
#include "tunnel/messages.h"
#include "tunnel/noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct blake2s *b;
	static struct noise_static me;
	static struct cookie_checker cc;
	static const uint8_t src[6] = { 192, 0, 2, 1, 0x30, 0x39 };
	struct noise_initiation in;
	uint8_t *copy;
	int type;

	if (!b) {
		uint8_t key[32], secret[32];

		memset(key, 0x42, sizeof key);
		memset(secret, 0x17, sizeof secret);
		b = blake2s_new();
		if (!b || !noise_static_init(&me, b, key) ||
		    !cookie_checker_init(&cc, b, me.public_key))
			abort();
		cookie_new_secret(&cc, secret, 1);
	}
	/* an exact copy, so ASan sees any read past the end */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	type = messages_type(copy, size);
	if (type && (copy[0] != type || copy[1] || copy[2] || copy[3]))
		abort();
	if (type == WG_INITIATION || type == WG_RESPONSE) {
		enum cookie_verdict v = cookie_validate(&cc, b, copy, size, src, sizeof src, true);

		if (v != cookie_validate(&cc, b, copy, size, src, sizeof src, true))
			abort();
	}
	if (type == WG_INITIATION && noise_open(&me, b, copy, &in) &&
	    in.sender != wg_get32(copy + WG_INIT_SENDER))
		abort();
	free(copy);
	return 0;
}
