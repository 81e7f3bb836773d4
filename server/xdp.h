/*
 * The kernel fast path (issue 14): xdp/relay.bpf.c attached to the
 * xdp-interface list relays ChannelData of bound channels both ways
 * without a socket; the engine tells this module which channels those are
 * (relay.h: ops->channel) and it mirrors them into the program's map.
 *
 * Attached through BPF links: the kernel detaches the program when the
 * last descriptor of the link closes, so a ternd killed with SIGKILL
 * leaves nothing relaying for allocations that died with it. Nothing is
 * pinned.
 *
 * Without libbpf and clang's BPF target at build time (configure says so),
 * or when no interface takes the program, xdp_open() logs why and returns
 * NULL, and everything is relayed in userspace as before.
 *
 * Thread-safe: map updates are syscalls; the counters are atomics.
 */
#ifndef TERN_SERVER_XDP_H
#define TERN_SERVER_XDP_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "relay/relay.h"
#include "server/config.h"

struct xdp;

/* NULL when xdp-interface is not set, or nothing attached (logged). */
struct xdp *xdp_open(const struct config *c);
/* Detach and free. */
void xdp_close(struct xdp *x);
/* Mirror one channel of an allocation whose client reached the listener
 * at server (its IP; unspecified for a wildcard listener). */
void xdp_channel(struct xdp *x, const struct stun_addr *server, const struct relay_channel *c);
/* tern_xdp_* for /metrics. */
void xdp_metrics(struct xdp *x, struct evbuffer *b);
/* What XDP relayed for the channel xdp_channel() mirrored with the same
 * arguments, by direction ([0] to the peer, [1] to the client): the
 * counters of its entries, kept across changes, 0 once removed. Two
 * syscalls. */
void xdp_channel_counts(struct xdp *x, const struct stun_addr *server,
			const struct relay_channel *c, uint64_t packets[2], uint64_t bytes[2]);

#endif
