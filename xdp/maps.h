/*
 * What the XDP program (xdp/relay.bpf.c) and ternd (server/xdp.c) share:
 * the map layouts. Every address and port in a key or value is in network
 * byte order, as the packet has it, so the program compares and copies
 * without converting. Addresses are 16 bytes: IPv6 as it is, IPv4 mapped
 * (::ffff:a.b.c.d); a listener on the wildcard address is all zeros.
 */
#ifndef TERN_XDP_MAPS_H
#define TERN_XDP_MAPS_H

#include <linux/types.h>

enum {
	XDP_CHANNELS_MAX = 65536, /* bound channels a node relays in XDP at once */
	XDP_HOPS_MAX = 131072,    /* clients' and peers' addresses it knows the way to */
	XDP_PORTS_MAX = 64,       /* interfaces it sends from (CONFIG_MAX_XDP_INTERFACES) */
};

/* Addresses and ports of a datagram: where from, where to. */
struct xdp_flow {
	__be32 src_ip[4];
	__be32 dst_ip[4];
	__be16 src_port;
	__be16 dst_port;
};

/* How long an entry holds (CLOCK_MONOTONIC), and what XDP relayed by it:
 * datagrams, and their payload bytes as the engine counts them (without
 * the ChannelData header). */
struct xdp_entry {
	__u64 expires_ns;
	__u64 packets;
	__u64 bytes;
};

/* channels: a client's ChannelData as it arrives (client to the listener,
 * with its channel number), and the datagram it becomes (the allocation's
 * relay address to the peer), until the earlier of the channel's and the
 * allocation's expiry. */
struct xdp_chan_key {
	struct xdp_flow in;
	__be16 channel;
	__u16 pad;
};

struct xdp_chan_val {
	struct xdp_flow out;
	struct xdp_entry e;
};

/* peers: a peer's datagram as it arrives (peer to a relay address with a
 * channel to it), and the ChannelData it becomes (the listener the client
 * reached to the client), until the earliest of the channel's, the
 * allocation's and the peer's permission's expiry. */
struct xdp_peer_val {
	struct xdp_flow out;
	__be16 channel;
	__u16 pad;
	struct xdp_entry e;
};

/* hops: the way to an address, learned by the program from the frames
 * of relayed flows that came from it: the interface they arrived on, the
 * neighbour that sent them (its MAC), and this host's MAC there. Written
 * by the program only; keyed by the 16-byte address. */
struct xdp_hop {
	__u32 ifindex;
	__u8 mac[6];
	__u8 own[6];
};

/* Why a datagram went up to userspace (XDP_PASS): a per-CPU counter each. */
enum xdp_pass_reason {
	XP_NOT_IP,       /* neither IPv4 nor IPv6 (ARP, VLAN tags, ...) */
	XP_IP_OPTIONS,   /* an IPv4 header with options, or IPv6 extension headers */
	XP_FRAGMENT,     /* a fragment */
	XP_NOT_UDP,
	XP_NOT_CHANNEL,  /* from no peer with a channel, and not ChannelData either */
	XP_LENGTH,       /* padding, or lengths that do not agree */
	XP_NO_CHANNEL,   /* no such bound channel here */
	XP_EXPIRED,      /* its channel, permission or allocation expired */
	XP_TOO_BIG,      /* it would not fit the way out's MTU, or the headroom */
	XP_NO_HOP,       /* no frame from the far end yet: the way there unknown */
	XP_NO_PORT,      /* the way out is an interface without the program */
	XP_CHECKSUM,     /* a zero UDP checksum over IPv6, or one the update refused */
	XP_COUNT
};

#endif
