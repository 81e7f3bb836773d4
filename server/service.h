/*
 * The one entry point every transport feeds: a message from a client in, the
 * reply out. It classifies, parses, counts, and hands the message to the
 * core that owns it, so UDP and TLS look the same from here on (DESIGN.md s3).
 */
#ifndef TERN_SERVER_SERVICE_H
#define TERN_SERVER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/worker.h"

struct service_reply {
	size_t len;     /* bytes in out; 0: nothing to send */
	uint8_t change; /* RFC 5780: send from the listener this selects */
	uint16_t response_port; /* RFC 5780: send to this port instead, if set */
};

/* conn: the stream connection it came on (opaque), or 0 for a datagram. */
struct service_reply service_handle(struct worker *w, const struct listener_spec *ls,
				    const uint8_t *p, size_t len,
				    const struct stun_addr *src, uintptr_t conn,
				    uint8_t *out, size_t cap);
/* Whether a stream connection has an allocation, which then governs how
 * long it may stay quiet. */
bool service_conn_allocated(struct worker *w, const struct listener_spec *ls,
			    const struct stun_addr *src, uintptr_t conn);
/* A stream connection closed: its allocation goes with it (RFC 8656 s3.1). */
void service_conn_gone(struct worker *w, const struct listener_spec *ls,
		       const struct stun_addr *src, uintptr_t conn);

#endif
