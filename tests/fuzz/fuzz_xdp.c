/*
 * libFuzzer harness for the XDP program (xdp/relay.bpf.c), run in the
 * kernel with BPF_PROG_TEST_RUN through the rig (tests/xdp/rig.h), whose
 * oracle says what must come back: a relayed frame well-formed, with the
 * entry's flow, the hop's MACs, checksums that verify and the payload
 * moved by the ChannelData header; a passed one unchanged, one reason
 * counted; nothing relayed that the maps do not ask for, nothing passed
 * that they do. Anything else aborts.
 *
 * The input is a head of HEAD bytes, then the frame. The head says what
 * to put in the maps for the frame's own addresses and ports, so the
 * relay paths are reached, not only the pass ones:
 *   what   bit 0: a channel for its ChannelData; bit 1: a peer entry for
 *          its flow; bit 2: the channel on the wildcard listener; bit 3:
 *          entries expired; bit 4: IP, UDP and ChannelData lengths made
 *          to agree with the frame; bits 5-6 both set: the UDP checksum
 *          left as it is (else made right); bit 7: the way out in the
 *          other family;
 *   hop    bits 0-1: the hop towards the way out's destination: none,
 *          on the ingress interface (XDP_TX), on the port (XDP_REDIRECT),
 *          on lo (not a port); bits 2-5: bytes after the datagram;
 *          bit 6: the IPv4 header checksum left as it is (else made right);
 *   chan   the peer entry's channel (2 bytes);
 *   out    the way out: source and destination address, 16 bytes each,
 *          (the last 4 of them for IPv4), and ports;
 *   mac    the hop's neighbour and own MACs.
 * Needs root: without it, or if the program does not load, it says why
 * and exits 1 rather than fuzz nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/bpf.h>

#include "tests/xdp/rig.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { CHAN = 1, PEER = 2, WILDCARD = 4, EXPIRED = 8, LENGTHS = 16, RAW_SUM = 0x60, CROSS = 128 };
enum { RAW_IPSUM = 64 }; /* in the hop byte */
enum { HEAD = 2 + 2 + 36 + 12 };

static struct rig rig;
static unsigned long long runs, by_ret[XDP_REDIRECT + 1];

static void stats(void)
{
	fprintf(stderr,
		"fuzz_xdp: %llu frames run: %llu XDP_TX, %llu XDP_REDIRECT, %llu XDP_PASS\n", runs,
		by_ret[XDP_TX], by_ret[XDP_REDIRECT], by_ret[XDP_PASS]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	if (rig_open(&rig, err, sizeof err)) {
		fprintf(stderr, "fuzz_xdp: NOT FUZZING: %s\n", err);
		exit(1);
	}
	atexit(stats);
	return 0;
}

/* The way out from the head: in the frame's family unless CROSS. */
static struct xdp_flow way_out(const uint8_t *h, bool v4)
{
	struct xdp_flow out;

	memcpy(out.src_ip, h + 4, 16);
	memcpy(out.dst_ip, h + 20, 16);
	memcpy(&out.src_port, h + 36, 2);
	memcpy(&out.dst_port, h + 38, 2);
	if (v4) {
		for (int i = 0; i < 3; i++)
			out.src_ip[i] = out.dst_ip[i] = 0;
		out.src_ip[2] = out.dst_ip[2] = htonl(0xffff);
	}
	return out;
}

/* Entries for frame f, as the head says. */
static void entries(const uint8_t *h, const uint8_t *f, size_t len)
{
	uint8_t what = h[0];
	unsigned ifs[4] = { 0, rig.ingress, rig.port, rig.lo };
	uint64_t expires = what & EXPIRED ? 1 : rig_now() + 3600000000000ull;
	struct xdp_flow in, out;
	uint16_t channel;

	if (!rig_flow_of(f, len, &in, &channel))
		return;
	out = way_out(h, rig_mapped(in.dst_ip) != !!(what & CROSS));
	if (what & PEER)
		rig_peer(&rig, &in, &out, (uint16_t)(h[2] << 8 | h[3]), expires);
	if (what & WILDCARD)
		memset(in.dst_ip, 0, sizeof in.dst_ip);
	if (what & CHAN)
		rig_channel(&rig, &in, channel, &out, expires);
	if (ifs[h[1] & 3])
		rig_hop(&rig, out.dst_ip, ifs[h[1] & 3], h + 40, h + 46);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t f[RIG_FRAME_MAX];
	static struct rig_shot s;
	size_t len = size - HEAD;
	const char *bad;

	if (size < HEAD + RIG_ETH)
		return 0; /* the kernel takes no frame shorter than Ethernet's header */
	if (len > sizeof f)
		len = sizeof f;
	memcpy(f, data + HEAD, len);
	rig_seal(f, len, (size_t)(data[1] >> 2 & 15),
		 (data[0] & LENGTHS ? RIG_LENGTHS | RIG_CHANNEL : 0) |
			 ((data[0] & RAW_SUM) != RAW_SUM ? RIG_CSUM : 0) |
			 (data[1] & RAW_IPSUM ? 0 : RIG_IPSUM));
	rig_clear(&rig);
	entries(data, f, len);
	bad = rig_try(&rig, f, len, &s);
	runs++;
	if (s.ret <= XDP_REDIRECT)
		by_ret[s.ret]++;
	if (bad) {
		fprintf(stderr, "fuzz_xdp: %s (returned %u, reason %d)\n", bad, s.ret, s.why);
		abort();
	}
	return 0;
}
