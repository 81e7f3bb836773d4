/*
 * Bad input logged by source, not by packet (issue 13, item 8). The first
 * event of a kind from a source is logged at once; the next ones within
 * the interval are only counted, and the count is logged when the interval
 * is over ("udp 192.0.2.7: 41 more authentication failures in the last
 * 60 s"). A source is an IPv4 address or an IPv6 /64, as in
 * relay/ratelimit.h.
 *
 * A flood from spoofed addresses makes every packet a new source, so lines
 * are also budgeted: at most SRCLOG_LINES_PER_S a second from one table.
 * What the budget holds back is counted and said at the next tick.
 *
 * One table per worker thread, no locks: a
 * source whose packets the kernel spreads over two workers is counted by
 * each. The table is direct-mapped under a random SipHash key, so memory
 * is fixed and a stranger cannot aim collisions; two sources sharing a slot
 * only make the older one's count be said early.
 *
 * Sans-I/O: lines go to the out callback (ternd's log, or a test's buffer).
 * Ownership: srclog_new() returns an object freed with srclog_free().
 */
#ifndef TERN_SERVER_SRCLOG_H
#define TERN_SERVER_SRCLOG_H

#include <stdint.h>

#include "stun/stun.h"

enum {
	SRCLOG_SLOTS = 512,
	SRCLOG_LINES_PER_S = 20,
};

enum srclog_kind {
	SRCLOG_AUTH,      /* a request with credentials that failed */
	SRCLOG_LIMITED,   /* requests over the unauthenticated budget */
	SRCLOG_MALFORMED, /* not STUN, ChannelData or a valid message */
	SRCLOG_STREAM,    /* a TCP, TLS or WebSocket connection refused or closed */
	SRCLOG_KINDS
};

typedef void srclog_out_fn(void *ctx, const char *line);

/* interval_ms 0: every event is logged (within the budget). NULL: no memory. */
struct srclog *srclog_new(uint64_t interval_ms, srclog_out_fn *out, void *ctx);
void srclog_free(struct srclog *sl);
/* A new interval (SIGHUP), for the events from now on. */
void srclog_set_interval(struct srclog *sl, uint64_t interval_ms);

/*
 * An event of kind from src over transport tp ("udp", "tls", ...): logged
 * now as "tp address: what", or counted. The message is formatted only when
 * it is logged, so a flood costs a hash and a compare per packet.
 */
void srclog_note(struct srclog *sl, enum srclog_kind kind, const char *tp,
		 const struct stun_addr *src, uint64_t now_ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Say the counts whose interval is over, and what the budget held back.
 * Call about once a second. */
void srclog_tick(struct srclog *sl, uint64_t now_ms);

#endif
