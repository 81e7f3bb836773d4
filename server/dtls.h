/*
 * DTLS 1.2 (RFC 7350) listeners: TURN over DTLS on tls-listening-port/UDP.
 * One socket per worker and address, like the UDP listeners; each client is
 * a session keyed by its address, admitted only after a stateless cookie
 * round trip (DTLSv1_listen), so a spoofed ClientHello costs us no state.
 */
#ifndef TERN_SERVER_DTLS_H
#define TERN_SERVER_DTLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "server/worker.h"

/* Install the cookie callbacks on the shared DTLS context. */
void dtls_prepare_ctx(SSL_CTX *ctx);

struct dtls_listener *dtls_listen(struct worker *w, const struct listener_spec *ls,
				  char *err, size_t errlen);
/* Close every session (their allocations go) and the socket. */
void dtls_listener_free(struct dtls_listener *l);

#endif
