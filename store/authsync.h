/*
 * Users and REST secrets from Redis (issue 4), in coturn's userdb schema, so
 * coturn's own turnadmin (-N "ip=... port=... dbname=...") manages a tern
 * fleet too:
 *
 *   turn/realm/<realm>/user/<name>/key   string: hex MD5(name:realm:password)
 *   turn/realm/<realm>/secret            set: TURN REST API secrets
 *
 * Only keys are stored, never passwords. The main loop reads them every
 * redis-userdb-interval seconds, and at once when the tern:auth pub/sub
 * channel says something changed (ternctl publishes there; turnadmin does
 * not, so its changes take up to the interval). What it read, with the
 * config's own user lines, userdb file and static-auth-secret, becomes a
 * new credential set, handed to each worker on its own thread; the old one
 * is freed when the last worker has let go. Config users win over Redis
 * users of the same name. SIGHUP reads everything again, the userdb file
 * included, with either backend.
 */
#ifndef TERN_STORE_AUTHSYNC_H
#define TERN_STORE_AUTHSYNC_H

#include <event2/event.h>

struct server;
struct rconn;
struct authsync;

/* conn NULL: the memory backend, where a reload (SIGHUP) reads the config's
 * userdb file again. */
struct authsync *authsync_new(struct event_base *base, struct server *srv,
			      struct rconn *conn);
void authsync_free(struct authsync *a);
/* Read again now (the tern:auth channel said so, or Redis came back). */
void authsync_reload(struct authsync *a);
/* The same, building the set even when Redis's part is unchanged (SIGHUP:
 * the config's users or secrets may have changed). */
void authsync_rebuild(struct authsync *a);

#endif
