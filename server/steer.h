/*
 * Which worker a UDP client's datagrams reach. By default the kernel picks a
 * socket of a SO_REUSEPORT group by a hash with a secret of its own, which
 * no process can repeat. A node that restores allocations after a restart
 * (store/records.c) must put each one on the worker its client's next
 * datagram will reach, so the group gets a classic BPF program that picks
 * the socket by a hash of the client's address and port, and steer_pick()
 * computes the same hash in userspace.
 */
#ifndef TERN_SERVER_STEER_H
#define TERN_SERVER_STEER_H

#include "stun/stun.h"

/* The worker (0..n-1) steer_attach()'s program picks for client. */
int steer_pick(const struct stun_addr *client, int n);
/* Attach the program to fd's SO_REUSEPORT group of n sockets, bound in
 * worker order. 0, or -errno. */
int steer_attach(int fd, int n);

#endif
