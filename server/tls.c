/*
 * TLS for the stream listeners. The context is built once and shared by every
 * worker (OpenSSL contexts are safe to share for SSL_new). TLS 1.0 and 1.1
 * are off: RFC 8996 deprecates them and every STUN/TURN client made in the
 * last decade speaks 1.2.
 */
#include <string.h>

#include <openssl/err.h>

#include "server/tls.h"

/* RFC 7443: the ALPN protocol IDs for STUN usages. */
static const unsigned char alpn_ids[] = "\x09stun.turn\x12stun.nat-discovery";

static int tls_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, alpn_ids, sizeof alpn_ids - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no ALPN match is fine: carry on */
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void fail(const char *what, const char *file, char *err, size_t errlen)
{
	char reason[256];

	ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
	snprintf(err, errlen, "%s %s: %s", what, file ? file : "", reason);
	ERR_clear_error();
}

/* The certificate, key and ciphers every context of ours shares. */
static SSL_CTX *load(const SSL_METHOD *method, const struct config *c, char *err,
		     size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx) {
		fail("tls", NULL, err, errlen);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		fail("cert", c->cert, err, errlen);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->pkey, SSL_FILETYPE_PEM) != 1) {
		fail("pkey", c->pkey, err, errlen);
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		fail("pkey does not match cert", c->pkey, err, errlen);
		goto out;
	}
	if (c->cipher_list && SSL_CTX_set_cipher_list(ctx, c->cipher_list) != 1) {
		fail("cipher-list", c->cipher_list, err, errlen);
		goto out;
	}
	SSL_CTX_set_alpn_select_cb(ctx, tls_on_alpn, NULL);
	return ctx;
out:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tls_server_ctx(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = load(TLS_server_method(), c, err, errlen);

	if (ctx)
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	return ctx;
}

SSL_CTX *tls_dtls_ctx(const struct config *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = load(DTLS_server_method(), c, err, errlen);

	if (ctx)
		SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
	return ctx;
}
