/*
 * libFuzzer harness for redis-url parsing: arbitrary bytes as a URL. Must
 * never crash or read out of bounds, and a URL it accepts must have a host,
 * a port and a database in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[256];
	struct redis_url u;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (redis_url_parse(s, &u, err, sizeof err) == 0 &&
	    (!u.host[0] || !u.port || u.db < 0 || u.db > 9999 ||
	     strnlen(u.password, sizeof u.password) == sizeof u.password))
		abort();
	free(s);
	return 0;
}
