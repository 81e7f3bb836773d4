/*
 * libFuzzer target for the STUN codec: every parser and decoder in stun/
 * runs on the input, and whatever parses is answered through the builder
 * and parsed back, which must succeed. Any crash or abort() is a codec bug.
 */
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[] = "fuzz-key";

static void decode_all(const struct stun_msg *m)
{
	const uint8_t *reason;
	struct stun_addr addr;
	size_t rlen;
	uint32_t u;
	int i, code;

	for (i = 0; i < SA_COUNT; i++) {
		(void)stun_attr_addr(m, &m->a[i], i & 1, &addr);
		(void)stun_attr_u32(&m->a[i], &u);
		(void)stun_attr_error(&m->a[i], &code, &reason, &rlen);
		if (i < m->n_peer)
			(void)stun_attr_addr(m, &m->peer[i], true, &addr);
	}
	(void)stun_check_integrity(m, key, sizeof(key) - 1);
	(void)stun_check_integrity_sha256(m, key, sizeof(key) - 1);
}

/* Answer with the parsed tid, then make sure our own answer parses. */
static void round_trip(const struct stun_msg *m)
{
	struct stun_addr addr = { .family = STUN_FAMILY_IPV4, .port = 1 }, got;
	uint16_t type = stun_type(m->method, STUN_SUCCESS);
	struct stun_builder b;
	struct stun_msg r;
	uint8_t buf[512];

	if (m->cookie)
		stun_build_init(&b, buf, sizeof(buf), type, m->tid);
	else
		stun_build_init_legacy(&b, buf, sizeof(buf), type, m->raw + 4);
	if (stun_attr_addr(m, &m->a[SA_XOR_MAPPED_ADDRESS], true, &got))
		addr = got;
	stun_put_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, &addr, true);
	stun_put_error(&b, STUN_ERR_BAD_REQUEST, NULL);
	stun_put_integrity(&b, key, sizeof(key) - 1);
	stun_put_fingerprint(&b);
	if (stun_parse(&r, buf, stun_build_finish(&b)) != STUN_OK ||
	    memcmp(r.tid, m->tid, STUN_TID_LEN) || !stun_check_integrity(&r, key, sizeof(key) - 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cdata;
	uint16_t ch, dlen;
	struct stun_msg m;

	(void)stun_looks_like(data, size);
	(void)stun_frame_len(data, size);
	(void)channel_parse(data, size, &ch, &cdata, &dlen);
	if (stun_parse(&m, data, size) == STUN_OK) {
		decode_all(&m);
		round_trip(&m);
	}
	return 0;
}
