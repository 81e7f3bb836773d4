/*
 * The one entry point every transport feeds: a message from a client in, the
 * reply out. It classifies, parses, counts, and hands the message to the
 * core that owns it, so UDP and TLS look the same from here on (DESIGN.md s3).
 */
#ifndef TERN_SERVER_SERVICE_H
#define TERN_SERVER_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "server/worker.h"

struct service_reply {
	size_t len;     /* bytes in out; 0: nothing to send */
	uint8_t change; /* RFC 5780: send from the listener this selects */
	uint16_t response_port; /* RFC 5780: send to this port instead, if set */
};

struct service_reply service_handle(struct worker *w, const struct listener_spec *ls,
				    const uint8_t *p, size_t len,
				    const struct stun_addr *src, uint8_t *out, size_t cap);

#endif
