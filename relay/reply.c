/*
 * Building TURN responses. Every response echoes the request's transaction
 * id and method; once a request has authenticated, its response is signed
 * with the same key and the same integrity algorithm (RFC 8489 s9.2.4), and
 * FINGERPRINT is added when the request carried one.
 */
#include <string.h>

#include "relay/engine.h"

void reply_start(struct reply *rp, const struct relay *r, const struct stun_msg *req,
		 const struct auth_result *auth, uint16_t cls, uint8_t *out, size_t cap)
{
	rp->req = req;
	rp->auth = auth;
	stun_build_init(&rp->b, out, cap, stun_type(req->method, cls), req->tid);
}

size_t reply_seal(struct stun_builder *b, const struct relay *r, const uint8_t *key,
		  size_t keylen, bool sha256, bool fingerprint)
{
	if (r->cfg->software && key) /* strangers learn nothing, get less */
		stun_put(b, STUN_ATTR_SOFTWARE, r->cfg->software, strlen(r->cfg->software));
	if (key && sha256)
		stun_put_integrity_sha256(b, key, keylen, STUN_HMAC_SHA256_LEN);
	else if (key)
		stun_put_integrity(b, key, keylen);
	if (fingerprint)
		stun_put_fingerprint(b);
	return stun_build_finish(b);
}

size_t reply_finish(struct reply *rp, const struct relay *r)
{
	const struct auth_result *a = rp->auth;
	bool authed = a && a->code == 0;

	return reply_seal(&rp->b, r, authed ? a->key : NULL, authed ? a->keylen : 0,
			  authed && a->sha256_integrity, rp->req->fp_off != 0);
}

struct relay_action reply_error(const struct relay *r, const struct relay_key *k,
				const struct stun_msg *req, const struct auth_result *auth,
				int code, uint64_t now_ms, uint8_t *out, size_t cap)
{
	struct relay_action act = { .error = code, .peer_handle = -1 };
	struct reply rp;

	reply_start(&rp, r, req, auth, STUN_ERROR, out, cap);
	/* before authentication, keep the answer small: no reason phrase */
	stun_put_error(&rp.b, code, auth && auth->code == 0 ? stun_reason(code) : "");
	if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
		stun_put_unknown(&rp.b, req->unknown, req->n_unknown);
	if (code == STUN_ERR_UNAUTHORIZED || code == STUN_ERR_STALE_NONCE)
		auth_put_challenge(r->cfg->auth, &rp.b, r->cfg->nonce_secret[0],
				   now_ms / 1000, &k->client);
	act.reply_len = reply_finish(&rp, r);
	return act;
}

struct relay_action reply_alternate(const struct relay *r, const struct stun_msg *req,
				    const struct auth_result *auth, const struct stun_addr *alt,
				    const char *domain, uint8_t *out, size_t cap)
{
	struct relay_action act = { .error = STUN_ERR_TRY_ALTERNATE, .peer_handle = -1 };
	struct reply rp;

	reply_start(&rp, r, req, auth, STUN_ERROR, out, cap);
	stun_put_error(&rp.b, STUN_ERR_TRY_ALTERNATE, stun_reason(STUN_ERR_TRY_ALTERNATE));
	stun_put_addr(&rp.b, STUN_ATTR_ALTERNATE_SERVER, alt, false);
	if (domain)
		stun_put(&rp.b, STUN_ATTR_ALTERNATE_DOMAIN, domain, strlen(domain));
	act.reply_len = reply_finish(&rp, r);
	return act;
}
