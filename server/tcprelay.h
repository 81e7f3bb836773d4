/*
 * TCP allocations (RFC 6062), the shell's half: connections to and from
 * peers on an allocation's relayed address, and the table, shared by all
 * workers, where a peer connection waits for its ConnectionBind.
 *
 * The client's data connection lands on whichever worker the kernel picks,
 * not necessarily the one that owns the allocation, so a peer connection
 * waiting to be bound is a bare socket in the shared table (no event on any
 * loop), and the worker that takes the ConnectionBind adopts it and joins
 * the two streams. The owning worker closes it, whatever state it is in,
 * through the table: a pending one is closed there, a joined one is shut
 * down, which the joining worker sees as the end of the stream. Nothing
 * here is on the UDP packet path; a joined pair is two bufferevents.
 */
#ifndef TERN_SERVER_TCPRELAY_H
#define TERN_SERVER_TCPRELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/worker.h"

enum {
	TCP_HUB_MAX = 1 << 18,   /* peer connections waiting or joined, process-wide */
	TCP_ACCEPTS_PER_EVENT = 16,
};

struct tcp_hub;

struct tcp_hub *tcp_hub_new(void);
/* Closes every connection still waiting. */
void tcp_hub_free(struct tcp_hub *h);
/* A joined connection has ended: forget cid (then close its socket). */
void tcp_hub_remove(struct tcp_hub *h, uint32_t cid);

/* The relay_ops behind the engine's RFC 6062 calls; ctx is the worker. */
void tcprelay_ops(struct relay_ops *ops);

/* A peer connected to TCP allocation id's listening socket (peer.c). */
void tcprelay_accepted(struct worker *w, uint32_t id, int fd);

/* Close every connect still in progress (worker shutdown). */
void tcprelay_free_attempts(struct worker *w);

#endif
