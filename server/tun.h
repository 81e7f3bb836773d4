/*
 * The TUN device of gateway mode (wg-tun): made with TUNSETIFF (IFF_TUN,
 * no packet information header), given its MTU and wg-address addresses
 * and brought up with the interface ioctls, before privileges are dropped.
 * Every read and write is a struct virtio_net_hdr (IFF_VNET_HDR), then
 * one IP packet, which on a write may be a GSO packet (server/tungro.h).
 * No offloads are asked for, so reads are single packets. The device goes
 * away when its descriptor is closed.
 */
#ifndef TERN_SERVER_TUN_H
#define TERN_SERVER_TUN_H

#include <stddef.h>

/* Open device name (made if it does not exist) with mtu and the addresses
 * "ip/len", up and non-blocking: a descriptor, or -1 with err filled. */
int tun_open(const char *name, int mtu, char *const *addresses, int n_addresses, char *err,
	     size_t errlen);

#endif
