/*
 * redis-url: where a node's shared state lives,
 *
 *   redis://[[user]:password@]host[:port][/db]
 *
 * host is a name, an IPv4 literal or [an IPv6 literal]; port defaults to
 * 6379 and db to 0; user and password may be percent-encoded. rediss://
 * (TLS) is refused with the reason: Debian's hiredis 0.14 has no TLS.
 */
#ifndef TERN_STORE_REDIS_URL_H
#define TERN_STORE_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

enum { REDIS_URL_FIELD = 256 };

struct sentinel;

struct redis_url {
	char host[REDIS_URL_FIELD];
	uint16_t port;
	char user[REDIS_URL_FIELD];     /* "" for none (Redis < 6 style AUTH) */
	char password[REDIS_URL_FIELD]; /* "" for none */
	int db;
	/* Not from the text: set by the store with redis-sentinel. Connections
	 * then go to the master it names, not to host:port (store/sentinel.h).
	 * Not owned: a connection that keeps it takes a reference. */
	struct sentinel *sentinel;
};

/* 0, or -1 with a reason in err that never repeats the password. */
int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen);

/*
 * The host part's grammar, for other options that name a Redis (or a
 * sentinel): host[:port] from s[0..n) into host (cap bytes) and port, def
 * when there is none. 0, or -1 with "what: the problem" in err.
 */
int redis_url_hostport(const char *s, size_t n, uint16_t def, char *host, size_t cap,
		       uint16_t *port, const char *what, char *err, size_t errlen);

#endif
