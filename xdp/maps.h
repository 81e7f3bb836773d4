/*
 * What the XDP program (xdp/relay.bpf.c) and ternd (server/xdp.c) share:
 * the map layouts. Every address and port in a key or value is in network
 * byte order, as the packet has it, so the program compares and copies
 * without converting.
 */
#ifndef TERN_XDP_MAPS_H
#define TERN_XDP_MAPS_H

#include <linux/types.h>

enum {
	XDP_CHANNELS_MAX = 65536, /* bound channels a node relays in XDP at once */
	XDP_MAX_IP_LEN = 1500,    /* a datagram XDP sends: no bigger than this */
};

/* A bound channel, as a client's ChannelData arrives: from client to the
 * listener server, with channel number channel. */
struct xdp_chan_key {
	__be32 client_ip;
	__be32 server_ip;
	__be16 client_port;
	__be16 server_port;
	__be16 channel;
	__u16 pad;
};

/* Where its data goes: from the allocation's relay address to the peer,
 * until expires_ns (CLOCK_MONOTONIC: the earliest of the channel's, its
 * permission's and its allocation's expiry); what XDP relayed for it. */
struct xdp_chan_val {
	__be32 relay_ip;
	__be32 peer_ip;
	__be16 relay_port;
	__be16 peer_port;
	__u32 pad;
	__u64 expires_ns;
	__u64 packets;
	__u64 bytes; /* ChannelData payload, as the engine counts it */
};

/* A peer's datagram to a relay address with a channel to it, and where it
 * goes: as ChannelData with that channel's number, from the listener the
 * client reached (server) to the client, until expires_ns (the earliest
 * of the channel's, the peer's permission's and the allocation's). */
struct xdp_peer_key {
	__be32 peer_ip;
	__be32 relay_ip;
	__be16 peer_port;
	__be16 relay_port;
};

struct xdp_peer_val {
	__be32 client_ip;
	__be32 server_ip;
	__be16 client_port;
	__be16 server_port;
	__be16 channel;
	__u16 pad;
	__u64 expires_ns;
	__u64 packets;
	__u64 bytes;
};

/* Why a datagram went up to userspace (XDP_PASS): a per-CPU counter each. */
enum xdp_pass_reason {
	XP_NOT_IPV4,     /* not IPv4 (IPv6 is not relayed in XDP yet) */
	XP_IP_OPTIONS,   /* an IPv4 header with options */
	XP_FRAGMENT,     /* a fragment */
	XP_NOT_UDP,
	XP_NOT_CHANNEL,  /* from no peer with a channel, and not ChannelData either */
	XP_LENGTH,       /* padding, or lengths that do not agree */
	XP_NO_CHANNEL,   /* no such bound channel here */
	XP_EXPIRED,      /* its channel, permission or allocation expired */
	XP_TOO_BIG,      /* a peer's datagram that would not fit with the header */
	XP_COUNT
};

#endif
