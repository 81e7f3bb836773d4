/*
 * WireGuard through TURN or WebSocket in one process (issues 11 and 12):
 * the datagrams a TURN client sends to this node's own WireGuard endpoint,
 * or a WebSocket client sends on /wg, and the responder's answers, cross
 * between the worker that owns the allocation or connection and the
 * responder's thread here, never through a socket.
 *
 * Each worker has two lanes, a ring each way (server/ring.h): "up" from
 * the worker to the responder, "down" back. A lane's producer pushes
 * records and, once per batch, wakes the consumer through an eventfd (the
 * responder's one for every up lane, the worker's own for its down lane).
 * A full lane drops the datagram and counts it, as a full socket buffer
 * would; nothing ever blocks.
 */
#ifndef TERN_SERVER_HANDOVER_H
#define TERN_SERVER_HANDOVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/ring.h"
#include "stun/stun.h"

/* The way a datagram reached the worker, or leaves it. */
enum handover_kind {
	HO_TURN,      /* a TURN allocation sent it to the WireGuard port */
	HO_WEBSOCKET, /* a WebSocket connection on /wg (server/wsconn.c) */
	HO_KINDS
};

/* What a datagram carries besides its bytes. */
struct handover_msg {
	uint32_t alloc;          /* HO_TURN: the allocation's id on the lane's worker;
				  * HO_WEBSOCKET: the connection's (wsconn_id) */
	uint8_t local;           /* HO_TURN: the own address it was for: policy_local() */
	uint8_t kind;            /* enum handover_kind */
	struct stun_addr client; /* the TURN or WebSocket client */
};

struct handover_lane {
	struct ring ring;
	int efd;      /* the consumer's eventfd */
	bool pending; /* the producer's: pushed since its last wake */
	/* each written by one thread only, read by the stats thread */
	_Atomic uint64_t sent[HO_KINDS], full; /* the producer's */
	_Atomic uint64_t lost;       /* the consumer's: no allocation for it */
};

struct handover;

/* Lanes for n workers; NULL with errno on failure. */
struct handover *handover_new(int n_workers);
void handover_free(struct handover *h);
int handover_workers(const struct handover *h);
struct handover_lane *handover_up(struct handover *h, int worker);
struct handover_lane *handover_down(struct handover *h, int worker);
/* The responder's eventfd, which every up lane wakes. */
int handover_responder_fd(const struct handover *h);

/* Producer: copy one datagram in; false (counted) when the lane is full. */
bool handover_push(struct handover_lane *l, const struct handover_msg *m,
		   const uint8_t *p, size_t len);
/* Producer: wake the consumer if anything was pushed since the last wake. */
void handover_wake(struct handover_lane *l);

/* Consumer: the oldest datagram (NULL if none), valid until handover_pop. */
const uint8_t *handover_peek(struct handover_lane *l, struct handover_msg *m, size_t *len);
void handover_pop(struct handover_lane *l);
/* Consumer: count one datagram dropped for want of its allocation. */
void handover_lost(struct handover_lane *l);
/* Consumer: reset an eventfd after it woke the loop. */
void handover_clear(int efd);

/* Totals over every lane, for /metrics. */
struct handover_totals {
	uint64_t to_responder[HO_KINDS], to_client[HO_KINDS]; /* handed over */
	uint64_t full_up, full_down, lost;    /* dropped */
};
void handover_totals(const struct handover *h, struct handover_totals *t);

#endif
