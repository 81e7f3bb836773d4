/*
 * The TUN device of gateway mode (wg-tun): made with TUNSETIFF (IFF_TUN,
 * no packet information header), given its MTU and wg-address addresses
 * and brought up with the interface ioctls, before privileges are dropped.
 * Packets are whole IP packets, one per read() and write(). The device
 * goes away when its descriptor is closed.
 */
#ifndef TERN_SERVER_TUN_H
#define TERN_SERVER_TUN_H

#include <stddef.h>

/* Open device name (made if it does not exist) with mtu and the addresses
 * "ip/len", up and non-blocking: a descriptor, or -1 with err filled. */
int tun_open(const char *name, int mtu, char *const *addresses, int n_addresses, char *err,
	     size_t errlen);

#endif
