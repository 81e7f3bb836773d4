/*
 * A rig for the XDP program (xdp/relay.bpf.c) in tests: it loads the
 * object ternd carries (xdp/relay_obj.c) into a network namespace of its
 * own with a veth pair, and runs frames through the program in the kernel
 * with BPF_PROG_TEST_RUN. Frames come in on one end of the pair (XDP_TX
 * leaves there); the other end is in the ports map (XDP_REDIRECT); lo is
 * an interface without the program (no_port). Shared by the fuzz target
 * (tests/fuzz/fuzz_xdp.c) and the unit test (tests/unit/test_xdp.c).
 *
 * rig_try() is the oracle: it runs one frame and checks what came back
 * against what the maps say should happen, from scratch in userspace
 * (checksums summed anew, never updated). Needs root: unshare, BPF.
 * Not thread-safe; one rig a process (it moves the process's network
 * namespace).
 */
#ifndef TERN_TESTS_XDP_RIG_H
#define TERN_TESTS_XDP_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdp/maps.h"

enum {
	RIG_FRAME_MAX = 3520, /* what BPF_PROG_TEST_RUN takes in one page without frags */
	RIG_ETH = 14,
	RIG_IP4 = 20,
	RIG_IP6 = 40,
	RIG_UDP = 8,
	RIG_CHANNEL_HDR = 4,
	RIG_WHY_NONE = -1, /* no pass reason counted */
	RIG_WHY_MANY = -2, /* more than one counted */
	RIG_KEYS = 16,     /* map keys rig_clear() deletes one by one */
};

struct rig {
	struct bpf_object *obj;
	int prog, chans, peers, hops, ports, passed; /* descriptors */
	unsigned ingress, port, lo;                  /* ifindexes: see above */
	unsigned mtu_ingress, mtu_port;
	int ncpu;
	/* The keys written since rig_clear(), by the rig or by the program
	 * (hops learned): deleting them is faster than walking maps of
	 * 65,536 buckets and more, which it does past RIG_KEYS of them. */
	struct {
		int fd;
		uint8_t key[sizeof(struct xdp_chan_key)];
	} written[RIG_KEYS];
	int n_written;
};

/* One frame's run: what the program returned, the frame it left, and the
 * pass reason it counted. */
struct rig_shot {
	uint32_t ret;
	uint8_t out[RIG_FRAME_MAX + 2 * RIG_CHANNEL_HDR];
	size_t out_len;
	int why; /* enum xdp_pass_reason, or RIG_WHY_* */
};

/* A UDP datagram to build: addresses in flow are IPv4 if mapped. */
struct rig_frame {
	uint8_t dst_mac[6], src_mac[6];
	struct xdp_flow flow;
	const uint8_t *payload;
	size_t len;
};

/* 0, or -errno with why said in err (-EPERM: not root). */
int rig_open(struct rig *r, char *err, size_t len);
void rig_close(struct rig *r);

/* Empty the channels, peers and hops maps. */
void rig_clear(struct rig *r);

/* Map entries (0 or -errno). expires_ns is CLOCK_MONOTONIC (rig_now()). */
int rig_channel(struct rig *r, const struct xdp_flow *in, uint16_t channel,
		const struct xdp_flow *out, uint64_t expires_ns);
int rig_peer(struct rig *r, const struct xdp_flow *in, const struct xdp_flow *out,
	     uint16_t channel, uint64_t expires_ns);
int rig_hop(struct rig *r, const __be32 addr[4], unsigned ifindex, const uint8_t mac[6],
	    const uint8_t own[6]);
uint64_t rig_now(void);

/* "192.0.2.1" (mapped) or "2001:db8::1" into a[4]; false if neither. */
bool rig_addr(__be32 a[4], const char *text);
/* A flow from two textual addresses and host-order ports. */
struct xdp_flow rig_flow(const char *src, uint16_t sport, const char *dst, uint16_t dport);

/* Build f's datagram into buf (at least its size); its length. */
size_t rig_udp(uint8_t *buf, const struct rig_frame *f);
/* What rig_seal() makes right in a frame of len bytes, the last trailer
 * of them after the datagram: the IP and UDP lengths, to agree with it;
 * a ChannelData header's length, to what follows it (if the datagram
 * starts with 0x40-0x7f); the IPv4 header checksum (RIG_IPSUM); the UDP one.
 * A frame that is not UDP over IPv4 or IPv6 stays as it is. */
enum { RIG_LENGTHS = 1, RIG_CHANNEL = 2, RIG_CSUM = 4, RIG_IPSUM = 8 };
void rig_seal(uint8_t *f, size_t len, size_t trailer, unsigned what);
/* Where frame f's addresses and ports are, as the program reads them
 * (IPv4 mapped), and its ChannelData number if it has 4 bytes past UDP
 * (0 if not); false if it has no room for them. */
bool rig_flow_of(const uint8_t *f, size_t len, struct xdp_flow *in, uint16_t *channel);

/* A frame parsed as the oracle takes it: UDP over IPv4 without options
 * and not a fragment, or over IPv6 without extension headers, its IP
 * and UDP lengths agreeing and in the frame (which may have more). */
struct rig_dgram {
	bool v6;
	size_t udp;     /* where the UDP header starts */
	size_t udp_len; /* its length */
	struct xdp_flow in;
};
bool rig_parse(const uint8_t *f, size_t len, struct rig_dgram *d);
/* Checksums summed over what they cover, with the checksum field:
 * 0xffff when right. */
uint16_t rig_udp_sum(const uint8_t *f, const struct rig_dgram *d);
uint16_t rig_ip4_sum(const uint8_t *f);
/* Whether d's UDP checksum looks partial (the pseudo-header's sum alone,
 * as a local socket leaves it over lo or a veth) */
bool rig_partial(const uint8_t *f, const struct rig_dgram *d);
bool rig_mapped(const __be32 a[4]);

/* Run frame in (RIG_ETH..RIG_FRAME_MAX bytes) through the program on
 * the ingress interface, into s; NULL, or what the program did wrong. */
const char *rig_try(struct rig *r, const uint8_t *in, size_t len, struct rig_shot *s);

#endif
