/*
 * Setting up TURN from the config: credentials (user lines, the userdb
 * file, REST secrets), the peer policy, quotas, the relay addresses and the
 * engine's limits. Done once in main, before the workers exist.
 */
#ifndef TERN_SERVER_TURN_H
#define TERN_SERVER_TURN_H

#include <stddef.h>

#include "server/worker.h"

/*
 * Fill srv->relay, srv->auth, srv->policy and srv->quota. srv->turn stays
 * false (STUN only) when no credentials are configured. Returns 0 or -1
 * with err filled.
 */
int turn_setup(struct server *srv, char *err, size_t errlen);
void turn_teardown(struct server *srv);
/* The config's credentials (user lines, the userdb file, REST secrets and
 * their settings) into a: at start, and for every reload (store/authsync.c). */
int turn_credentials(const struct config *c, struct auth *a, char *err, size_t errlen);

#endif
