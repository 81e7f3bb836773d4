/*
 * EVEN-PORT reservations (RFC 8656 s7.2), shared by every worker: the
 * Allocate that holds a port and the one that redeems its token may arrive
 * on different workers, since SO_REUSEPORT spreads a client's two source
 * ports independently. A held port is a bound socket with no event on any
 * loop, so whichever worker redeems it can adopt it.
 */
#ifndef TERN_SERVER_RESERVE_H
#define TERN_SERVER_RESERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "stun/stun.h"

enum {
	RESERVE_MAX = 1024,          /* ports held at once, whole process */
	RESERVE_MS = 30 * 1000,      /* RFC 8656 s7.2: about 30 seconds */
	RESERVE_TOKEN_LEN = 8,
};

struct reserve;

struct reserve *reserve_new(void);
/* Closes every held socket. */
void reserve_free(struct reserve *r);
/* Hold fd (bound to bound) until now + RESERVE_MS under token. */
bool reserve_hold(struct reserve *r, int fd, const struct stun_addr *bound,
		  const uint8_t token[RESERVE_TOKEN_LEN], uint64_t now);
/* Take the socket held under token: its fd, or -1 if unknown or expired. */
int reserve_take(struct reserve *r, const uint8_t token[RESERVE_TOKEN_LEN], uint64_t now,
		 struct stun_addr *bound);
/* Close what has expired. */
void reserve_expire(struct reserve *r, uint64_t now);

#endif
