/*
 * Per-worker counters. Each worker owns its struct and is its only writer, so
 * an increment is a relaxed load and store (a plain add on x86, no lock
 * prefix); the stats endpoint sums all workers' structs when it is read.
 */
#ifndef TERN_SERVER_COUNTERS_H
#define TERN_SERVER_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

#include "stun/stun.h"

enum transport { TP_UDP, TP_TCP, TP_TLS, TP_DTLS, TP_COUNT };

enum method_index {
	MI_BINDING,
	MI_ALLOCATE,
	MI_REFRESH,
	MI_SEND,
	MI_CREATE_PERMISSION,
	MI_CHANNEL_BIND,
	MI_CONNECT,
	MI_CONNECTION_BIND,
	MI_OTHER,
	MI_COUNT
};

/* Parse failures first, so a stun_parse_error indexes straight in. */
enum drop_reason {
	DROP_PARSE = 0, /* + enum stun_parse_error, up to STUN_E_COUNT */
	DROP_UNKNOWN_PROTOCOL = STUN_E_COUNT, /* neither STUN nor ChannelData */
	DROP_UNEXPECTED_CLASS, /* a response or indication sent to the server */
	DROP_TRUNCATED,        /* datagram larger than our buffer */
	DROP_SEND_ERROR,       /* the kernel refused the reply */
	DROP_STREAM_OVERFLOW,  /* peer stopped reading its replies */
	DROP_COUNT
};

enum answer_class { AC_SUCCESS, AC_ERROR, AC_COUNT };

/* Why a stream connection was refused or closed by the server. */
enum stream_close {
	SC_SOURCE_LIMIT,   /* refused: its source holds its share */
	SC_TOTAL_LIMIT,    /* refused: the process holds its share */
	SC_FIRST_MESSAGE,  /* no handshake and first message in time */
	SC_IDLE,           /* quiet, with no allocation */
	SC_COUNT
};

/* WebSocket (server/wsconn.c): the paths, */
enum ws_path { WSP_TURN, WSP_WG, WSP_COUNT };
/* why an HTTP request on a stream port got no upgrade, */
enum ws_refusal {
	WSR_BAD_REQUEST,  /* 400, 405, 414 or 505: not a request we can read */
	WSR_NOT_WEBSOCKET, /* 426: a plain HTTP request, or another version */
	WSR_NOT_FOUND,    /* 404: no such path, or its service is off */
	WSR_ORIGIN,       /* 403: Origin not in ws-allowed-origin */
	WSR_HEADER_SIZE,  /* 431: no end of the head within ws-max-header */
	WSR_COUNT
};
/* and why the server closed an upgraded connection. */
enum ws_close {
	WSC_PING_TIMEOUT, /* nothing from the client, not even a pong */
	WSC_MESSAGE_SIZE, /* a message over ws-max-message (1009) */
	WSC_PROTOCOL,     /* a frame or message the path does not take (1002, 1003) */
	WSC_SLOW_READER,  /* left its replies unread, or took no output for two ping intervals */
	WSC_COUNT
};

typedef _Atomic uint64_t counter_t;

struct counters {
	counter_t requests[TP_COUNT][MI_COUNT];
	counter_t responses[TP_COUNT][AC_COUNT];
	counter_t dropped[TP_COUNT][DROP_COUNT];
	counter_t connections[TP_COUNT]; /* stream connections accepted */
	counter_t stream_closed[TP_COUNT][SC_COUNT];
	counter_t open_connections[TP_COUNT];
	counter_t rx_bytes[TP_COUNT];
	counter_t tx_bytes[TP_COUNT];
	/* RFC 6062 joined connections: bytes [0] to peers, [1] to clients */
	counter_t tcp_relay_bytes[2];
	counter_t tcp_relay_open;
	/* WebSocket: open now, messages and bytes [0] in [1] out, by path */
	counter_t ws_open[WSP_COUNT];
	counter_t ws_messages[WSP_COUNT][2];
	counter_t ws_bytes[WSP_COUNT][2];
	counter_t ws_refused[WSR_COUNT];
	counter_t ws_closed[WSC_COUNT];
	/* redis-required: Allocates answered 508 because Redis did not
	 * acknowledge the new allocation's record in time */
	counter_t held_failed;
};

static inline void counter_add(counter_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void counter_inc(counter_t *c)
{
	counter_add(c, 1);
}

static inline void counter_dec(counter_t *c)
{
	counter_add(c, (uint64_t)-1);
}

static inline uint64_t counter_get(const counter_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

enum method_index counters_method(uint16_t method);
const char *counters_transport_name(enum transport t);
const char *counters_method_name(enum method_index m);
const char *counters_drop_name(enum drop_reason r);
const char *counters_close_name(enum stream_close r);
const char *counters_ws_path_name(enum ws_path p);
const char *counters_ws_refusal_name(enum ws_refusal r);
const char *counters_ws_close_name(enum ws_close r);
/* dst += src, field by field. */
void counters_sum(struct counters *dst, const struct counters *src);

#endif
