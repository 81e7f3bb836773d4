/*
 * The stats endpoint (evhttp, in the main thread): /healthz, /readyz and
 * Prometheus /metrics summed over every worker's counters when read.
 */
#ifndef TERN_SERVER_STATS_H
#define TERN_SERVER_STATS_H

#include <stddef.h>

#include <event2/event.h>

#include "server/worker.h"

struct stats;

/* Listen on "host:port". Returns NULL with err filled. */
struct stats *stats_start(struct event_base *base, const struct server *srv,
			  const char *addr, char *err, size_t errlen);
void stats_free(struct stats *s);

#endif
