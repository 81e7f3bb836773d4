/*
 * What Redis Sentinel says, as plain values (issue 13): the redis-sentinel
 * option's list, a sentinel's answer to SENTINEL get-master-addr-by-name,
 * the +switch-master message and a node's answer to ROLE. No sockets, no
 * clock: store/sentinel.c does the asking. An answer comes from the
 * network, so every field is checked (length, characters, port range)
 * before it is used as an address to connect to.
 */
#ifndef TERN_STORE_SENTINEL_MSG_H
#define TERN_STORE_SENTINEL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/redis_url.h"

enum {
	SENTINEL_MAX = 16,         /* sentinels in redis-sentinel */
	SENTINEL_PORT = 26379,     /* a sentinel's port when the list gives none */
	SENTINEL_NAME_MAX = 128,   /* redis-master-name */
};

/* A sentinel's, or a master's, address: a name or an IP literal (an IPv6
 * one without brackets, as hiredis takes it) and a port. */
struct sentinel_addr {
	char host[REDIS_URL_FIELD];
	uint16_t port;
};

struct sentinel_list {
	struct sentinel_addr at[SENTINEL_MAX];
	int n;
};

/*
 * redis-sentinel: "host[:port][,host[:port]...]", each host as in
 * redis-url (a name, an IPv4 literal or [an IPv6 literal]), port 26379 by
 * default, at most SENTINEL_MAX, none twice; blanks around a comma are
 * allowed. 0, or -1 with the problem in err.
 */
int sentinel_msg_list(const char *s, struct sentinel_list *out, char *err, size_t errlen);

/* redis-master-name: 1 to SENTINEL_NAME_MAX printable characters, no
 * blank (Sentinel's messages separate fields with spaces). */
bool sentinel_msg_name_ok(const char *name);

/*
 * The reply to SENTINEL get-master-addr-by-name: an array of the master's
 * host and port as strings. False for anything else, a nil (the sentinel
 * does not know the name) included.
 */
struct redisReply;
bool sentinel_msg_master(const struct redisReply *r, struct sentinel_addr *out);

/*
 * The payload of a +switch-master message, "name old-host old-port
 * new-host new-port": true with the new address when it is about name.
 */
bool sentinel_msg_switch(const char *p, size_t len, const char *name,
			 struct sentinel_addr *out);

/* The reply to ROLE says "master" (a replica says "slave", a sentinel
 * "sentinel"). */
bool sentinel_msg_role_master(const struct redisReply *r);

bool sentinel_msg_same(const struct sentinel_addr *a, const struct sentinel_addr *b);

#endif
