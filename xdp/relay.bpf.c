/*
 * ChannelData relayed in XDP (issue 14): a client's ChannelData datagram
 * for a bound channel goes out to the peer without reaching a socket. The
 * 4-byte header is stripped, the datagram readdressed from the
 * allocation's relay address to the peer, the checksums fixed, and it is
 * sent back out of the interface it came in on (XDP_TX): one NIC carries
 * clients and peers, and the frame goes to the router it came from. The
 * peer's datagrams to that relay address go back to the client the same
 * way, as ChannelData.
 *
 * ternd writes the channels map on ChannelBind and removes entries when a
 * channel, its permission or its allocation ends (server/xdp.c); each
 * entry also carries its own expiry, so a late removal never relays for a
 * channel the engine would refuse. Anything the program is not sure of
 * goes up unchanged (XDP_PASS), counted by reason: STUN, indications,
 * unknown channels, IP options, fragments, padded ChannelData, IPv6.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A hash map of XDP_CHANNELS_MAX entries. */
#define TABLE(name, k, v)                                   \
	struct {                                            \
		__uint(type, BPF_MAP_TYPE_HASH);            \
		__uint(max_entries, XDP_CHANNELS_MAX);      \
		__type(key, k);                             \
		__type(value, v);                           \
	} name SEC(".maps")

TABLE(channels, struct xdp_chan_key, struct xdp_chan_val);
TABLE(peers, struct xdp_flow, struct xdp_peer_val);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XP_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} passed SEC(".maps");

static __always_inline int pass(enum xdp_pass_reason why)
{
	__u32 k = why;
	__u64 *n = bpf_map_lookup_elem(&passed, &k);

	if (n)
		*n += 1;
	return XDP_PASS;
}

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The IPv4 header's checksum, from scratch (20 bytes, no options). */
static __always_inline __u16 ip_checksum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return (__u16)~fold(sum);
}

/* The two ports, or the UDP length twice, as one word of the checksum */
static __always_inline __be32 pair(__be16 a, __be16 b)
{
	return (__be32)a | (__be32)b << 16;
}

/*
 * Send the datagram on as flow out, 4 bytes longer (grow: the ChannelData
 * header hdr goes in front of the payload) or shorter (the header hdr
 * leaves it), back to the router it came from (XDP_TX). The UDP checksum
 * is updated for what changes: the pseudo-header's addresses and length,
 * the ports, the length and the header word, all on even offsets; a zero
 * one (IPv4 without a checksum) stays zero.
 */
static __always_inline int relay(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip,
				 struct udphdr *udp, const struct xdp_flow *out,
				 struct xdp_entry *e, bool grow, __be32 hdr, __u16 dlen)
{
	__u16 udplen = bpf_ntohs(udp->len), len = grow ? udplen + 4 : udplen - 4;
	__be32 from[5] = { ip->saddr, ip->daddr, pair(udp->source, udp->dest),
			   pair(udp->len, udp->len), grow ? 0 : hdr };
	__be32 to[5] = { out->src_ip, out->dst_ip, pair(out->src_port, out->dst_port),
			 pair(bpf_htons(len), bpf_htons(len)), grow ? hdr : 0 };
	struct ethhdr et;
	struct iphdr iph = *ip;
	struct udphdr u = *udp;
	void *data, *end;
	__u8 *p;

	if (bpf_ktime_get_ns() >= e->expires_ns)
		return pass(XP_EXPIRED);
	if (grow && bpf_ntohs(ip->tot_len) + 4 > XDP_MAX_IP_LEN)
		return pass(XP_TOO_BIG);
	if (u.check) {
		__s64 d = bpf_csum_diff(from, sizeof from, to, sizeof to, (__u16)~u.check);

		if (d < 0)
			return XDP_PASS;
		u.check = (__u16)~fold((__u64)d);
		if (!u.check)
			u.check = 0xffff;
	}
	u.source = out->src_port;
	u.dest = out->dst_port;
	u.len = bpf_htons(len);
	iph.saddr = out->src_ip;
	iph.daddr = out->dst_ip;
	iph.tot_len = bpf_htons(sizeof(iph) + len);
	iph.ttl = 64; /* a new datagram from the relay, not a forwarded one */
	iph.check = 0;
	iph.check = ip_checksum(&iph);
	__builtin_memcpy(et.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(et.h_source, eth->h_dest, ETH_ALEN);
	et.h_proto = eth->h_proto;
	__sync_fetch_and_add(&e->packets, 1);
	__sync_fetch_and_add(&e->bytes, dlen);

	/* the headers move 4 bytes back (over a new header) or on (over the old) */
	if (bpf_xdp_adjust_head(ctx, grow ? -4 : 4))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	p = (void *)(udp + 1);
	if (p + 4 > (__u8 *)end)
		return XDP_ABORTED;
	*eth = et;
	*ip = iph;
	*udp = u;
	if (grow)
		*(__be32 *)p = hdr;
	return XDP_TX;
}

SEC("xdp")
int tern_relay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xdp_chan_key k = { 0 };
	struct xdp_flow in = { 0 };
	struct xdp_chan_val *v;
	struct xdp_peer_val *pv;
	struct udphdr *udp;
	struct iphdr *ip;
	__u16 dlen, udplen;
	__u8 *p;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return pass(XP_NOT_IPV4);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (ip->ihl != 5)
		return pass(XP_IP_OPTIONS);
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF, or an offset */
		return pass(XP_FRAGMENT);
	if (ip->protocol != IPPROTO_UDP)
		return pass(XP_NOT_UDP);
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	udplen = bpf_ntohs(udp->len);
	if (udplen < sizeof(*udp) || bpf_ntohs(ip->tot_len) != sizeof(*ip) + udplen ||
	    (__u8 *)ip + sizeof(*ip) + udplen > (__u8 *)end)
		return pass(XP_LENGTH);
	in.src_ip = ip->saddr;
	in.dst_ip = ip->daddr;
	in.src_port = udp->source;
	in.dst_port = udp->dest;

	/* a peer's datagram to a relay address with a channel to it */
	pv = bpf_map_lookup_elem(&peers, &in);
	if (pv)
		return relay(ctx, eth, ip, udp, &pv->out, &pv->e, true,
			     pair(pv->channel, bpf_htons(udplen - sizeof(*udp))),
			     udplen - sizeof(*udp));

	/* a client's ChannelData: exactly header + data (padding goes up) */
	p = (void *)(udp + 1);
	if (p + 4 > (__u8 *)end)
		return pass(XP_NOT_CHANNEL);
	if (p[0] < 0x40 || p[0] > 0x7f) /* RFC 7983: 64-79 ChannelData; 0x7FFF for RFC 5766 */
		return pass(XP_NOT_CHANNEL);
	dlen = (__u16)(p[2] << 8 | p[3]);
	if (udplen != sizeof(*udp) + 4 + dlen)
		return pass(XP_LENGTH);
	k.in = in;
	k.channel = *(__be16 *)p;
	v = bpf_map_lookup_elem(&channels, &k);
	if (!v) { /* a listener on the wildcard address */
		k.in.dst_ip = 0;
		v = bpf_map_lookup_elem(&channels, &k);
	}
	if (!v)
		return pass(XP_NO_CHANNEL);
	return relay(ctx, eth, ip, udp, &v->out, &v->e, false, *(__be32 *)p, dlen);
}
