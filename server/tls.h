/*
 * The TLS and DTLS server contexts: certificate, key, (D)TLS 1.2 or newer,
 * and ALPN for STUN/TURN (RFC 7443).
 */
#ifndef TERN_SERVER_TLS_H
#define TERN_SERVER_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "server/config.h"

/* Returns a new context, or NULL with the reason (OpenSSL's) in err. */
SSL_CTX *tls_server_ctx(const struct config *c, char *err, size_t errlen);
/* The same for DTLS 1.2 (RFC 7350); dtls.c adds its cookie callbacks. */
SSL_CTX *tls_dtls_ctx(const struct config *c, char *err, size_t errlen);

#endif
