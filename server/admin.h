/*
 * The stats endpoint's admin side (issue 13), for ternctl: GET /allocations
 * (this node's, listed by each worker in its own thread), POST /drain and
 * POST /reload (what SIGUSR1 and SIGHUP do), and the stats-token check
 * that guards them. In the main thread, as the endpoint is.
 */
#ifndef TERN_SERVER_ADMIN_H
#define TERN_SERVER_ADMIN_H

#include <stdbool.h>

#include <event2/event.h>
#include <event2/http.h>

#include "server/worker.h"

enum {
	ADMIN_PAGE_DEFAULT = 100,  /* /allocations rows unless limit= says */
	ADMIN_PAGE_MAX = 10000,
};

/* Whether req may use the admin side: always without stats-token (the
 * endpoint is then on loopback, config_validate() sees to it), else only
 * with "Authorization: Bearer <stats-token>". Answers 401 itself if not. */
bool admin_authorized(const struct server *srv, struct evhttp_request *req);
/* GET /allocations[?user=NAME][&offset=N][&limit=N][&format=text]: answered
 * later, from base, once every worker has listed its own. */
void admin_allocations(struct event_base *base, const struct server *srv,
		       struct evhttp_request *req);
/* POST /drain, /reload: 202 once the signal's work is under way; 404 for
 * another path. */
void admin_action(const char *path, struct evhttp_request *req);

#endif
