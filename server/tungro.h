/*
 * Receive offload for the TUN device: the packets one batch of datagrams
 * decrypts to are written to the TUN in as few writes as possible. The
 * TUN is opened with IFF_VNET_HDR, so every write starts with a struct
 * virtio_net_hdr; consecutive TCP segments of one flow (same addresses,
 * ports, acknowledgement, window and options, in sequence, all but the
 * last of one size) become one packet marked as GSO (gso_type TCPV4/6,
 * gso_size the segments' payload), which the kernel takes as if its own
 * GRO had built it: one trip through the stack and one ACK decision
 * instead of one per segment. This is the write half of what the kernel
 * does for any NIC, done where the segments are decrypted.
 *
 * A segment joins a packet only if its TCP checksum is right, since the
 * packet goes up with the checksum marked as still to do (NEEDS_CSUM) and
 * the kernel does not look at the segments again. Everything else (UDP,
 * ICMP, SYN, FIN, RST, URG, a bad checksum, IP options, fragments, IPv6
 * extension headers) is written alone and unchanged, after whatever its
 * flow had gathered (where its ports can be read), so TCP is not
 * reordered within a flow.
 *
 * Sans-I/O: the writes go through write(), given the packet as iovecs
 * (the header first, then the payloads where they lie), which must be
 * written before tungro_add or tungro_flush returns: the payloads are the
 * caller's and are referenced only until then, or until the next flush.
 * Single-threaded: one tungro per thread. Limits: TUNGRO_FLOWS open flows
 * (a new one past that writes out the oldest), TUNGRO_SEGS segments and
 * 65535 bytes per packet.
 */
#ifndef TERN_SERVER_TUNGRO_H
#define TERN_SERVER_TUNGRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum {
	TUNGRO_FLOWS = 8,
	TUNGRO_SEGS = 64,
	TUNGRO_VNET_HDR = 10,     /* sizeof(struct virtio_net_hdr) */
	TUNGRO_MAX_HDR = 60 + 60, /* IPv4 with options or IPv6, then TCP with options */
	TUNGRO_MAX_PACKET = 65535,
};

/* One packet under construction: its rewritten headers after the virtio
 * header in head, the payloads of its segments in iov[1..]. */
struct tungro_flow {
	uint8_t head[TUNGRO_VNET_HDR + TUNGRO_MAX_HDR];
	const uint8_t *first; /* the first segment as it came */
	size_t first_len;
	uint16_t l3, l4;      /* IP and TCP header lengths */
	uint16_t gso_size;    /* payload of the first segment */
	uint32_t next_seq;    /* where the next segment must start */
	uint32_t len;         /* IP packet so far */
	bool closed;          /* a PSH or a short segment ended it */
	bool psh;
	int n;                /* segments */
	struct iovec iov[1 + TUNGRO_SEGS];
};

struct tungro {
	void (*write)(void *ctx, const struct iovec *iov, int n);
	void *ctx;
	struct tungro_flow flow[TUNGRO_FLOWS];
	int n_flows;
	uint64_t packets, segments; /* packets written, segments they carried */
};

/* Ready to use, nothing open. */
void tungro_init(struct tungro *g, void (*write)(void *ctx, const struct iovec *iov, int n),
		 void *ctx);

/* One IP packet p (len bytes, no virtio header) for the TUN: joined to its
 * flow's packet, or written at once. p must stay put until the flush. */
void tungro_add(struct tungro *g, const uint8_t *p, size_t len);

/* Every open packet written; call when the batch is done. */
void tungro_flush(struct tungro *g);

/* A packet read from the TUN (len bytes after the virtio header vh) made
 * whole: a checksum left to do (NEEDS_CSUM) is done. False for what cannot
 * be sent as one datagram: a GSO packet, or offsets outside it. */
bool tungro_complete(const uint8_t vh[TUNGRO_VNET_HDR], uint8_t *p, size_t len);

#endif
