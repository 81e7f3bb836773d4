/*
 * The STUN Binding service. A Binding request is answered with the address
 * it came from (RFC 8489 s3, s14.2); classic RFC 3489 clients, which send no
 * magic cookie, get MAPPED-ADDRESS as well because they cannot decode the XOR
 * form. With RFC 5780 enabled the answer also says where else the client may
 * ask (OTHER-ADDRESS), where this answer came from (RESPONSE-ORIGIN), and
 * honours CHANGE-REQUEST by telling the shell which socket to send from.
 */
#include <string.h>

#include "relay/binding.h"

/* RFC 3489 s11.2.1 and RFC 5780 s7.2: the response leaves from here. */
static struct stun_addr origin(const struct binding_config *cfg,
			       const struct stun_addr *local, uint8_t change)
{
	struct stun_addr o = *local;

	if (change & STUN_CHANGE_IP)
		memcpy(o.ip, cfg->other.ip, sizeof o.ip);
	if (change & STUN_CHANGE_PORT)
		o.port = cfg->other.port;
	return o;
}

static void start(struct stun_builder *b, const struct stun_msg *m, uint16_t cls,
		  uint8_t *out, size_t cap)
{
	uint16_t type = stun_type(m->method, cls);

	if (m->cookie)
		stun_build_init(b, out, cap, type, m->tid);
	else
		stun_build_init_legacy(b, out, cap, type, m->raw + 4);
}

static void finish(const struct binding_config *cfg, const struct stun_msg *m,
		   struct stun_builder *b, struct binding_reply *r)
{
	if (cfg->software)
		stun_put(b, STUN_ATTR_SOFTWARE, cfg->software, strlen(cfg->software));
	if (m->fp_off)
		stun_put_fingerprint(b);
	r->len = stun_build_finish(b);
}

static struct binding_reply error(const struct binding_config *cfg,
				  const struct stun_msg *m, int code, uint8_t *out,
				  size_t cap)
{
	struct binding_reply r = { .error = code };
	struct stun_builder b;

	start(&b, m, STUN_ERROR, out, cap);
	stun_put_error(&b, code, stun_reason(code));
	if (code == STUN_ERR_UNKNOWN_ATTRIBUTE)
		stun_put_unknown(&b, m->unknown, m->n_unknown);
	finish(cfg, m, &b, &r);
	return r;
}

/* RFC 5780 s7.2: CHANGE-REQUEST we cannot honour is a 420 (the attribute is
 * treated as unknown), as is any request for it when discovery is off. */
static bool change_requested(const struct binding_config *cfg,
			     const struct stun_msg *m, uint8_t *change, bool *bad)
{
	uint32_t v;

	*change = 0;
	*bad = false;
	if (!m->a[SA_CHANGE_REQUEST].v)
		return true;
	if (!stun_attr_u32(&m->a[SA_CHANGE_REQUEST], &v)) {
		*bad = true;
		return false;
	}
	*change = (uint8_t)(v & (STUN_CHANGE_IP | STUN_CHANGE_PORT));
	if (*change && cfg->stream) {
		*bad = true; /* RFC 5780 s7.2: no changing address on TCP/TLS */
		return false;
	}
	return cfg->rfc5780 || *change == 0;
}

struct binding_reply binding_answer(const struct binding_config *cfg,
				    const struct stun_msg *m,
				    const struct stun_addr *src,
				    const struct stun_addr *local,
				    uint8_t *out, size_t cap)
{
	struct binding_reply r = { 0 };
	struct stun_builder b;
	uint8_t change;
	bool bad;

	if (m->cls != STUN_REQUEST)
		return r; /* indications and stray responses: no answer (s6.3) */
	if (m->method != STUN_BINDING)
		return error(cfg, m, STUN_ERR_BAD_REQUEST, out, cap); /* s6.3.1 */
	if (m->n_unknown)
		return error(cfg, m, STUN_ERR_UNKNOWN_ATTRIBUTE, out, cap);
	if (!change_requested(cfg, m, &change, &bad)) {
		if (bad)
			return error(cfg, m, STUN_ERR_BAD_REQUEST, out, cap);
		/* present but not supported here: report it as unknown */
		struct stun_msg u = *m;

		u.unknown[0] = STUN_ATTR_CHANGE_REQUEST;
		u.n_unknown = 1;
		return error(cfg, &u, STUN_ERR_UNKNOWN_ATTRIBUTE, out, cap);
	}
	start(&b, m, STUN_SUCCESS, out, cap);
	if (m->cookie)
		stun_put_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src, true);
	else
		stun_put_addr(&b, STUN_ATTR_MAPPED_ADDRESS, src, false);
	if (cfg->rfc5780) {
		struct stun_addr o = origin(cfg, local, change);

		stun_put_addr(&b, STUN_ATTR_RESPONSE_ORIGIN, &o, false);
		stun_put_addr(&b, STUN_ATTR_OTHER_ADDRESS, &cfg->other, false);
	}
	r.change = change;
	finish(cfg, m, &b, &r);
	return r;
}
