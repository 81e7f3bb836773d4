/*
 * A client connection: a TCP or TLS stream, or a DTLS session. A relay_key's
 * conn field points at one (0 for plain UDP), so data from peers finds its
 * way back whatever the client's transport. Each kind embeds struct conn as
 * its first member.
 */
#ifndef TERN_SERVER_CONN_H
#define TERN_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn {
	/* Send one whole message; false when it had to be dropped. */
	bool (*send)(struct conn *c, const uint8_t *p, size_t len);
};

static inline bool conn_send(uintptr_t conn, const uint8_t *p, size_t len)
{
	struct conn *c = (struct conn *)conn;

	return c->send(c, p, len);
}

#endif
