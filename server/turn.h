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
/* SIGHUP: a peer policy from c's ranges, with the running one's own
 * addresses; NULL with err. */
struct policy *turn_policy_again(const struct server *srv, const struct config *c, char *err,
				 size_t errlen);
/* One worker's share of bps-capacity (bytes/s, 0: none). */
uint64_t turn_capacity_share(const struct server *srv, uint64_t bps_capacity);

#endif
