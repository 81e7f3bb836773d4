/*
 * Relay sockets: the UDP sockets facing peers, one per allocation and
 * family, opened and closed when the TURN engine asks (struct relay_ops),
 * and read in batches; what a peer sends is framed by the engine in place
 * and sent on to the client.
 */
#ifndef TERN_SERVER_PEER_H
#define TERN_SERVER_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include "server/worker.h"

/* Per-worker table of relay sockets and their receive buffers. */
struct peer_table *peer_table_new(uint32_t max);
void peer_table_free(struct peer_table *t);

/* The relay_ops.open/close behind the engine. */
int peer_open(struct worker *w, uint32_t id, const struct stun_addr *bind,
	      bool dont_fragment);
void peer_close(struct worker *w, int handle);
/* The relay_ops.reserve/redeem behind EVEN-PORT, over srv->reserve. */
int peer_reserve(struct worker *w, const struct stun_addr *where, const uint8_t token[8],
		 uint64_t now);
int peer_redeem(struct worker *w, uint32_t id, const uint8_t token[8], bool dont_fragment,
		uint64_t now, struct stun_addr *bound);
/* The relay_ops.open_tcp behind RFC 6062: a listening socket. */
int peer_open_tcp(struct worker *w, uint32_t id, const struct stun_addr *bind);
/* A non-blocking TCP socket for a relayed address (v6-only, SO_REUSEADDR),
 * or -errno. */
int peer_tcp_socket(int family);
/* The socket behind handle h, or -1. */
int peer_fd(const struct worker *w, int h);
/*
 * The same, batched: consecutive datagrams for one relay socket leave in
 * one sendmmsg. data must stay put until peer_flush(), which the caller
 * runs before its buffers are reused.
 */
bool peer_queue(struct worker *w, int handle, const struct stun_addr *to,
		const uint8_t *data, size_t len);
void peer_flush(struct worker *w);
/* A datagram for the in-process responder (a->local) from client, to be
 * handed over at the next peer_flush(); false if its lane is full. */
bool peer_hand_over(struct worker *w, const struct relay_action *a,
		    const struct stun_addr *client);
/* The worker's event on its handover lane: the responder's answers. */
void peer_on_handover(evutil_socket_t fd, short what, void *arg);
/* Send data to a peer from relay socket handle; false if it failed. */
bool peer_send(struct worker *w, int handle, const struct stun_addr *to,
	       const uint8_t *data, size_t len);

#endif
