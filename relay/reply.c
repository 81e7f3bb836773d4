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

size_t reply_finish(struct reply *rp, const struct relay *r)
{
	const struct auth_result *a = rp->auth;
	bool authed = a && a->code == 0;

	if (r->cfg->software && authed) /* strangers learn nothing, get less */
		stun_put(&rp->b, STUN_ATTR_SOFTWARE, r->cfg->software,
			 strlen(r->cfg->software));
	if (authed) {
		if (a->sha256_integrity)
			stun_put_integrity_sha256(&rp->b, a->key, a->keylen,
						  STUN_HMAC_SHA256_LEN);
		else
			stun_put_integrity(&rp->b, a->key, a->keylen);
	}
	if (rp->req->fp_off)
		stun_put_fingerprint(&rp->b);
	return stun_build_finish(&rp->b);
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
