/*
 * libFuzzer harness for the allocation record (relay/record.c), which a node
 * reads back from Redis at start: whatever is there must never crash it. A
 * record it accepts must format again and parse to the very same record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "relay/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relay_record a, b;
	static char line[RECORD_MAX];
	size_t n;

	if (record_parse((const char *)data, size, &a) != 0)
		return 0;
	n = record_format(&a, line, sizeof line);
	if (n == 0 || record_parse(line, n, &b) != 0 || memcmp(&a, &b, sizeof a) != 0)
		abort();
	return 0;
}
