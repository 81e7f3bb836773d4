/*
 * The STUN Binding service (RFC 8489 s3, RFC 5780 s7), sans-I/O: a parsed
 * request and the addresses it travelled between go in; the response bytes,
 * and which local address they must leave from, come out.
 */
#ifndef TERN_RELAY_BINDING_H
#define TERN_RELAY_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"

struct binding_config {
	const char *software; /* SOFTWARE attribute value, NULL to omit */
	bool rfc5780;         /* honour CHANGE-REQUEST, send OTHER-ADDRESS */
	bool stream;          /* TCP/TLS: CHANGE-REQUEST is a 400 (RFC 5780 s7.2) */
	/* the alternate address (second listening-ip, alt port); rfc5780 only */
	struct stun_addr other;
};

struct binding_reply {
	size_t len;     /* response length in out; 0 means send nothing */
	uint8_t change; /* STUN_CHANGE_IP | STUN_CHANGE_PORT: the source to use */
	uint16_t response_port; /* RFC 5780 RESPONSE-PORT: send to src ip, this port */
	int error;      /* the error code sent, 0 for success */
};

/*
 * Answer one message m that arrived from src on local. Writes at most cap
 * bytes to out. Indications and non-requests get no answer; requests with
 * unknown comprehension-required attributes get 420; a malformed Binding
 * request, and a request of a method this service does not know, get 400.
 */
struct binding_reply binding_answer(const struct binding_config *cfg,
				    const struct stun_msg *m,
				    const struct stun_addr *src,
				    const struct stun_addr *local,
				    uint8_t *out, size_t cap);

#endif
