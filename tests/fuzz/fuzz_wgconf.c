/*
 * libFuzzer harness for wg-config files (server/wgconf.c): whatever an
 * operator's file holds must be read or reported, never crash ternd. A
 * file with no problems must have what a complete configuration has.
 */
#include <stdint.h>
#include <stdlib.h>

#include "server/wgconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wgconf c;

	if (wgconf_parse((const char *)data, size, "fuzz", &c, NULL, NULL) == 0) {
		if (!c.has_private_key)
			abort();
		for (int i = 0; i < c.n_peers; i++)
			for (int j = 0; j < c.peers[i].n_allowed; j++)
				if (c.peers[i].allowed[j].plen >
				    (c.peers[i].allowed[j].family == 4 ? 32 : 128))
					abort();
	}
	wgconf_free(&c);
	return 0;
}
