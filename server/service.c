/*
 * Classify a client's message (RFC 7983: first byte 0-3 is STUN, 64-79 is
 * ChannelData), parse it, count it, and let the owning core answer.
 */
#include "server/service.h"

static void drop(struct worker *w, enum transport tp, enum drop_reason r)
{
	counter_inc(&w->counters.dropped[tp][r]);
}

struct service_reply service_handle(struct worker *w, const struct listener_spec *ls,
				    const uint8_t *p, size_t len,
				    const struct stun_addr *src, uint8_t *out, size_t cap)
{
	struct service_reply sr = { 0 };
	enum transport tp = ls->tp;
	struct binding_reply br;
	enum stun_parse_error e;
	struct stun_msg m;

	if (!stun_looks_like(p, len)) {
		drop(w, tp, DROP_UNKNOWN_PROTOCOL);
		return sr;
	}
	e = stun_parse(&m, p, len);
	if (e != STUN_OK) {
		drop(w, tp, (enum drop_reason)e);
		return sr;
	}
	if (m.cls != STUN_REQUEST) {
		drop(w, tp, DROP_UNEXPECTED_CLASS);
		return sr;
	}
	counter_inc(&w->counters.requests[tp][counters_method(m.method)]);
	br = binding_answer(&ls->binding, &m, src, &ls->local, out, cap);
	if (br.len == 0)
		return sr;
	counter_inc(&w->counters.responses[tp][br.error ? AC_ERROR : AC_SUCCESS]);
	sr.len = br.len;
	sr.change = br.change;
	sr.response_port = br.response_port;
	return sr;
}
