/*
 * libFuzzer harness for a WireGuard peer record read back from Redis
 * (store/wgpeer.c): the input is lines, taken as field, value, field,
 * value. A record that parses formats its allowed IPs to text that parses
 * again to the same prefixes; anything else is only a refusal.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/wgpeer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wgpeer p, q;
	static char text[WGPEER_ALLOWED_LEN], err[128];
	const char *f[2 * WGPEER_FIELDS], *v[2 * WGPEER_FIELDS];
	char *copy = malloc(size + 1), *at, *line;
	int n = 0;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	at = copy;
	while (n < 2 * WGPEER_FIELDS && (line = strsep(&at, "\n")) != NULL) {
		char *val = strsep(&at, "\n");

		if (!val)
			break;
		f[n] = line;
		v[n++] = val;
	}
	memset(&p, 0, sizeof p);
	if (wgpeer_from_hash(&p, f, v, n)) {
		wgpeer_allowed_format(&p, text, sizeof text);
		if (!wgpeer_allowed_parse(&q, text, err, sizeof err) || q.n_allowed != p.n_allowed ||
		    memcmp(q.allowed, p.allowed, (size_t)p.n_allowed * sizeof p.allowed[0]))
			abort();
	}
	free(copy);
	return 0;
}
