/*
 * The Binding service end to end: any bytes that parse as STUN are answered,
 * and every answer must itself parse, from both a plain and an RFC 5780
 * listener, over UDP and over a stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer(const struct binding_config *cfg, const struct stun_msg *m,
		   const struct stun_addr *src, const struct stun_addr *local)
{
	uint8_t out[2048];
	struct binding_reply r = binding_answer(cfg, m, src, local, out, sizeof out);
	struct stun_msg back;

	if (r.len && stun_parse(&back, out, r.len) != STUN_OK)
		abort(); /* we built something our own parser rejects */
	if (r.change && !cfg->rfc5780)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct stun_addr src4 = { STUN_FAMILY_IPV4, 1234, { 10, 0, 0, 1 } };
	static const struct stun_addr src6 = { STUN_FAMILY_IPV6, 4321, { 0x20, 1 } };
	static const struct stun_addr local = { STUN_FAMILY_IPV4, 3478, { 127, 0, 0, 1 } };
	struct binding_config plain = { .software = "tern fuzz" };
	struct binding_config disc = {
		.rfc5780 = true,
		.other = { STUN_FAMILY_IPV4, 3479, { 127, 0, 0, 2 } },
	};
	struct stun_msg m;

	if (stun_parse(&m, data, size) != STUN_OK)
		return 0;
	answer(&plain, &m, &src4, &local);
	answer(&disc, &m, &src6, &local);
	disc.stream = true;
	answer(&disc, &m, &src4, &local);
	return 0;
}
