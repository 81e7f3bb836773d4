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
				  const struct stun_msg *m, int code,
				  const uint16_t *unknown, size_t n_unknown,
				  uint8_t *out, size_t cap)
{
	struct binding_reply r = { .error = code };
	struct stun_builder b;

	start(&b, m, STUN_ERROR, out, cap);
	stun_put_error(&b, code, stun_reason(code));
	if (n_unknown)
		stun_put_unknown(&b, unknown, n_unknown);
	finish(cfg, m, &b, &r);
	return r;
}

/*
 * RFC 5780 s7: CHANGE-REQUEST, RESPONSE-PORT and PADDING. Fills r's change
 * and response_port. Returns 0, 400 for a malformed attribute or one asked
 * over a stream (s7.2), or 420 with the attributes this listener cannot
 * honour because discovery is off here.
 */
static int discovery(const struct binding_config *cfg, const struct stun_msg *m,
		     struct binding_reply *r, uint16_t *unknown, size_t *n_unknown)
{
	const struct stun_attr *cr = &m->a[SA_CHANGE_REQUEST];
	const struct stun_attr *rp = &m->a[SA_RESPONSE_PORT];
	uint32_t v;

	*n_unknown = 0;
	if (cr->v) {
		if (!stun_attr_u32(cr, &v))
			return STUN_ERR_BAD_REQUEST;
		r->change = (uint8_t)(v & (STUN_CHANGE_IP | STUN_CHANGE_PORT));
	}
	if (rp->v) {
		if (!stun_attr_u32(rp, &v) || (v >> 16) == 0)
			return STUN_ERR_BAD_REQUEST;
		r->response_port = (uint16_t)(v >> 16);
	}
	if (cfg->stream && (r->change || rp->v))
		return STUN_ERR_BAD_REQUEST;
	if (cfg->rfc5780)
		return 0;
	/* a CHANGE-REQUEST asking for no change is harmless: answer it */
	if (r->change)
		unknown[(*n_unknown)++] = STUN_ATTR_CHANGE_REQUEST;
	if (rp->v)
		unknown[(*n_unknown)++] = STUN_ATTR_RESPONSE_PORT;
	if (m->a[SA_PADDING].v)
		unknown[(*n_unknown)++] = STUN_ATTR_PADDING;
	r->change = 0;
	r->response_port = 0;
	return *n_unknown ? STUN_ERR_UNKNOWN_ATTRIBUTE : 0;
}

/* RFC 5780 s7.3, s7.4: where the answer leaves from, where else to ask. */
static void put_discovery(struct stun_builder *b, const struct binding_config *cfg,
			  const struct stun_msg *m, const struct stun_addr *local,
			  uint8_t change)
{
	static const uint8_t zeros[2048];
	struct stun_addr o = origin(cfg, local, change);
	size_t pad = m->a[SA_PADDING].len;

	stun_put_addr(b, STUN_ATTR_RESPONSE_ORIGIN, &o, false);
	stun_put_addr(b, STUN_ATTR_OTHER_ADDRESS, &cfg->other, false);
	/* s7.6: pad the answer as the request was padded, never more */
	if (m->a[SA_PADDING].v)
		stun_put(b, STUN_ATTR_PADDING, zeros, pad < sizeof zeros ? pad : sizeof zeros);
}

struct binding_reply binding_answer(const struct binding_config *cfg,
				    const struct stun_msg *m,
				    const struct stun_addr *src,
				    const struct stun_addr *local,
				    uint8_t *out, size_t cap)
{
	struct binding_reply r = { 0 };
	uint16_t unknown[3];
	size_t n_unknown;
	struct stun_builder b;
	int code;

	if (m->cls != STUN_REQUEST)
		return r; /* indications and stray responses: no answer (s6.3) */
	if (m->method != STUN_BINDING) /* s6.3.1 */
		return error(cfg, m, STUN_ERR_BAD_REQUEST, NULL, 0, out, cap);
	if (m->n_unknown)
		return error(cfg, m, STUN_ERR_UNKNOWN_ATTRIBUTE, m->unknown, m->n_unknown,
			     out, cap);
	code = discovery(cfg, m, &r, unknown, &n_unknown);
	if (code)
		return error(cfg, m, code, unknown, n_unknown, out, cap);
	start(&b, m, STUN_SUCCESS, out, cap);
	if (m->cookie)
		stun_put_addr(&b, STUN_ATTR_XOR_MAPPED_ADDRESS, src, true);
	else
		stun_put_addr(&b, STUN_ATTR_MAPPED_ADDRESS, src, false);
	if (cfg->rfc5780)
		put_discovery(&b, cfg, m, local, r.change);
	finish(cfg, m, &b, &r);
	return r;
}
