/*
 * libFuzzer harness for what Redis Sentinel says (store/sentinel_msg.c).
 * The first byte picks the input: 0, the redis-sentinel option; 1, a
 * +switch-master payload; else RESP bytes, read by hiredis' own reader
 * into replies for get-master-addr-by-name and ROLE, as a sentinel or a
 * node could send them. Nothing may crash or read out of bounds, and an
 * address accepted must be one to connect to: a host of the allowed
 * characters, NUL-terminated in its field, and a port.
 *
 * hiredis 0.14 callocs an array as soon as it reads the array's length
 * (it has no maxelements before 1.0), so inputs announcing big arrays are
 * skipped: that allocation is hiredis's, lazily mapped, and not ours to
 * test.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/sentinel_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sane(const struct sentinel_addr *a)
{
	size_t n = strnlen(a->host, sizeof a->host);

	if (n == 0 || n == sizeof a->host || a->port == 0 ||
	    strspn(a->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:") != n)
		abort();
}

/* An array header above 1024 elements anywhere in p[0..n)? */
static bool big_array(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t v = 0, j = i + 1;

		if (p[i] != '*')
			continue;
		while (j < n && p[j] >= '0' && p[j] <= '9' && v <= 1024)
			v = v * 10 + (size_t)(p[j++] - '0');
		if (v > 1024)
			return true;
	}
	return false;
}

static void replies(const char *p, size_t n)
{
	redisReader *rd = redisReaderCreate();
	void *reply = NULL;
	struct sentinel_addr a;

	if (!rd || big_array(p, n)) {
		if (rd)
			redisReaderFree(rd);
		return;
	}
	redisReaderFeed(rd, p, n);
	while (redisReaderGetReply(rd, &reply) == REDIS_OK && reply) {
		if (sentinel_msg_master(reply, &a))
			sane(&a);
		(void)sentinel_msg_role_master(reply);
		freeReplyObject(reply);
		reply = NULL;
	}
	redisReaderFree(rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sentinel_list l;
	struct sentinel_addr a;
	char *s;

	if (size < 1)
		return 0;
	s = malloc(size); /* the rest, NUL-terminated, and nothing beyond */
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] == 0 && sentinel_msg_list(s, &l, (char[128]){ 0 }, 128) == 0) {
		if (l.n < 1 || l.n > SENTINEL_MAX)
			abort();
		for (int i = 0; i < l.n; i++)
			if (!l.at[i].host[0] || !l.at[i].port)
				abort();
	} else if (data[0] == 1 && sentinel_msg_switch(s, size - 1, "mymaster", &a)) {
		sane(&a);
	} else if (data[0] > 1) {
		replies(s, size - 1);
	}
	free(s);
	return 0;
}
