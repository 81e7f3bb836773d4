/*
 * UDP listeners: one SO_REUSEPORT socket per worker and address, read and
 * answered in batches with recvmmsg/sendmmsg.
 */
#ifndef TERN_SERVER_UDP_H
#define TERN_SERVER_UDP_H

#include <stddef.h>

#include "server/worker.h"

/* Per-worker receive and send buffers; owned by the worker. */
struct udp_batch;
struct udp_batch *udp_batch_new(void);
void udp_batch_free(struct udp_batch *b);

/* Open, bind and arm a socket for ls on w. Returns NULL with err filled. */
struct udp_sock *udp_open(struct worker *w, struct udp_batch *b,
			  const struct listener_spec *ls, char *err, size_t errlen);
void udp_close(struct udp_sock *u);
const struct listener_spec *udp_spec(const struct udp_sock *u);
int udp_fd(const struct udp_sock *u);

#endif
