/*
 * Names for the counters' label values, and summing for the stats endpoint.
 */
#include <stddef.h>

#include "server/counters.h"

enum method_index counters_method(uint16_t method)
{
	switch (method) {
	case STUN_BINDING: return MI_BINDING;
	case TURN_ALLOCATE: return MI_ALLOCATE;
	case TURN_REFRESH: return MI_REFRESH;
	case TURN_SEND: return MI_SEND;
	case TURN_CREATE_PERMISSION: return MI_CREATE_PERMISSION;
	case TURN_CHANNEL_BIND: return MI_CHANNEL_BIND;
	case TURN_CONNECT: return MI_CONNECT;
	case TURN_CONNECTION_BIND: return MI_CONNECTION_BIND;
	default: return MI_OTHER;
	}
}

const char *counters_transport_name(enum transport t)
{
	static const char *const names[TP_COUNT] = { "udp", "tcp", "tls", "dtls" };

	return t < TP_COUNT ? names[t] : "unknown";
}

const char *counters_method_name(enum method_index m)
{
	static const char *const names[MI_COUNT] = {
		"binding", "allocate", "refresh", "send", "create_permission",
		"channel_bind", "connect", "connection_bind", "other",
	};

	return m < MI_COUNT ? names[m] : "unknown";
}

const char *counters_drop_name(enum drop_reason r)
{
	static const char *const names[] = {
		[DROP_UNKNOWN_PROTOCOL] = "unknown_protocol",
		[DROP_UNEXPECTED_CLASS] = "unexpected_class",
		[DROP_TRUNCATED] = "truncated",
		[DROP_SEND_ERROR] = "send_error",
		[DROP_STREAM_OVERFLOW] = "stream_overflow",
	};

	if ((int)r < (int)STUN_E_COUNT)
		return stun_parse_error_name((enum stun_parse_error)r);
	return r < DROP_COUNT ? names[r] : "unknown";
}

const char *counters_close_name(enum stream_close r)
{
	static const char *const names[SC_COUNT] = {
		"source_limit", "total_limit", "first_message_timeout", "idle_timeout",
	};

	return r < SC_COUNT ? names[r] : "unknown";
}

const char *counters_ws_path_name(enum ws_path p)
{
	return p == WSP_TURN ? "turn" : p == WSP_WG ? "wg" : "unknown";
}

const char *counters_ws_refusal_name(enum ws_refusal r)
{
	static const char *const names[WSR_COUNT] = {
		"bad_request", "not_websocket", "not_found", "origin", "header_size",
	};

	return r < WSR_COUNT ? names[r] : "unknown";
}

const char *counters_ws_close_name(enum ws_close r)
{
	static const char *const names[WSC_COUNT] = {
		"ping_timeout", "message_size", "protocol", "slow_reader",
	};

	return r < WSC_COUNT ? names[r] : "unknown";
}

static void add_array(counter_t *dst, const counter_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		counter_add(&dst[i], counter_get(&src[i]));
}

void counters_sum(struct counters *dst, const struct counters *src)
{
	/* The struct is nothing but counters, so sum it as one flat array. */
	add_array((counter_t *)dst, (const counter_t *)src,
		  sizeof *dst / sizeof(counter_t));
}
