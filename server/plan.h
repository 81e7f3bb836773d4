/*
 * The listener plan: which addresses, ports and transports ternd binds, and
 * for each the RFC 5780 alternate it advertises. Worked out once from the
 * config, before any worker exists.
 */
#ifndef TERN_SERVER_PLAN_H
#define TERN_SERVER_PLAN_H

#include <stddef.h>

#include "server/worker.h"

/*
 * Fill srv->spec from srv->cfg. Each address is test-bound without
 * SO_REUSEPORT first, so a port another process holds is an error here
 * rather than a silent share later. Returns 0 or -1 with err filled.
 */
int plan_listeners(struct server *srv, char *err, size_t errlen);

#endif
