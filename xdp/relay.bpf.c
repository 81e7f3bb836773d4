/*
 * ChannelData relayed in XDP (issue 14): a client's ChannelData datagram
 * for a bound channel goes out to the peer without reaching a socket. The
 * 4-byte header is stripped, the datagram readdressed from the
 * allocation's relay address to the peer, the checksums fixed, and it is
 * sent on towards the peer. The peer's datagrams to that relay address go
 * back to the client the same way, as ChannelData. IPv4 and IPv6, each to
 * its own family (an allocation relaying across families goes up).
 *
 * The way out is the way the far end's own frames came in (the hops map,
 * learned here from relayed flows): the interface and the neighbour that
 * sent them. The same interface: XDP_TX. Another one with the program:
 * XDP_REDIRECT through the ports map. Until the far end has sent a frame
 * of a relayed flow, its datagrams go up and userspace sends them.
 *
 * A listener on the wildcard address: the program learns which of its
 * addresses a client reached from the client's ChannelData, and answers
 * it from there.
 *
 * ternd writes the channels and peers maps on ChannelBind and removes
 * entries when a channel, its permission or its allocation ends
 * (server/xdp.c); each entry also carries its own expiry, so a late
 * removal never relays for a channel the engine would refuse. Anything
 * the program is not sure of goes up unchanged (XDP_PASS), counted by
 * reason: STUN, indications, unknown channels, IPv4 options, IPv6
 * extension headers, fragments, padded ChannelData.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A hash map of n entries. */
#define TABLE(name, kind, n, k, v)                          \
	struct {                                            \
		__uint(type, kind);                         \
		__uint(max_entries, n);                     \
		__type(key, k);                             \
		__type(value, v);                           \
	} name SEC(".maps")

TABLE(channels, BPF_MAP_TYPE_HASH, XDP_CHANNELS_MAX, struct xdp_chan_key, struct xdp_chan_val);
TABLE(peers, BPF_MAP_TYPE_HASH, XDP_CHANNELS_MAX, struct xdp_flow, struct xdp_peer_val);
TABLE(hops, BPF_MAP_TYPE_LRU_HASH, XDP_HOPS_MAX, __be32[4], struct xdp_hop);
TABLE(ports, BPF_MAP_TYPE_DEVMAP_HASH, XDP_PORTS_MAX, __u32, __u32);

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

static __always_inline bool mapped(const __be32 a[4])
{
	return !a[0] && !a[1] && a[2] == bpf_htonl(0xffff);
}

/* A datagram as parsed: its frame, its IP header (one of the two), UDP. */
struct dgram {
	struct ethhdr *eth;
	struct iphdr *ip;
	struct ipv6hdr *ip6;
	struct udphdr *udp;
	struct xdp_flow in;
};

/* The frame came from d's source: the way back to it is where it came in. */
static __always_inline void learn(struct xdp_md *ctx, const struct dgram *d)
{
	struct xdp_hop h = { .ifindex = ctx->ingress_ifindex };
	const struct xdp_hop *was = bpf_map_lookup_elem(&hops, d->in.src_ip);

	__builtin_memcpy(h.mac, d->eth->h_source, ETH_ALEN);
	__builtin_memcpy(h.own, d->eth->h_dest, ETH_ALEN);
	if (was && was->ifindex == h.ifindex && *(__u32 *)was->mac == *(__u32 *)h.mac &&
	    *(__u64 *)&was->mac[4] == *(__u64 *)&h.mac[4]) /* mac[4..5], own[0..5] */
		return;
	bpf_map_update_elem(&hops, d->in.src_ip, &h, BPF_ANY);
}

/*
 * Whether u's checksum is partial: a local socket's datagram over a
 * virtual interface (lo, veth) carries only the pseudo-header's sum there,
 * for the stack to finish at a place it keeps beside the packet, which
 * moving the headers would make wrong. (A whole checksum that happens to
 * equal it goes up too, and is relayed by userspace.) NICs deliver whole
 * ones.
 */
static __always_inline bool partial(const struct dgram *d, const struct udphdr *u)
{
	__be32 w[10];
	__s64 sum;

	if (d->ip6) {
		__builtin_memcpy(w, d->in.src_ip, 16);
		__builtin_memcpy(&w[4], d->in.dst_ip, 16);
		w[8] = bpf_htonl(bpf_ntohs(u->len));
		w[9] = bpf_htonl(IPPROTO_UDP);
		sum = bpf_csum_diff(0, 0, w, 40, 0);
	} else {
		w[0] = d->in.src_ip[3];
		w[1] = d->in.dst_ip[3];
		w[2] = bpf_htonl(IPPROTO_UDP << 16 | bpf_ntohs(u->len));
		sum = bpf_csum_diff(0, 0, w, 12, 0);
	}
	return sum >= 0 && u->check == fold((__u64)sum);
}

/*
 * Send d on as flow out, 4 bytes longer (grow: the ChannelData header hdr
 * goes in front of the payload) or shorter (the header hdr leaves it),
 * the way the out's destination is reached. The UDP checksum is updated
 * for what changes: the pseudo-header's addresses and length, the ports,
 * the length and the header word, all on even offsets (the three words of
 * a mapped IPv4 address are the same on both sides, so they cancel); a
 * zero one (IPv4 without a checksum) stays zero.
 */
static __always_inline int relay(struct xdp_md *ctx, struct dgram *d,
				 const struct xdp_flow *out, struct xdp_entry *e, bool grow,
				 __be32 hdr, __u16 dlen)
{
	struct udphdr u = *d->udp;
	__u16 len = grow ? bpf_ntohs(u.len) + 4 : bpf_ntohs(u.len) - 4;
	__be32 from[11], to[11];
	const struct xdp_hop *hop;
	struct ethhdr et;
	struct iphdr iph;
	struct ipv6hdr ip6h;
	__u32 ifindex, mtu = 0;
	void *data, *end;
	__u8 *p;

	if (bpf_ktime_get_ns() >= e->expires_ns)
		return pass(XP_EXPIRED);
	if (mapped(out->dst_ip) != !d->ip6 || mapped(out->src_ip) != !d->ip6)
		return pass(XP_NOT_IP); /* across families: userspace's */
	hop = bpf_map_lookup_elem(&hops, out->dst_ip);
	if (!hop)
		return pass(XP_NO_HOP);
	ifindex = hop->ifindex;
	if (ifindex != ctx->ingress_ifindex && !bpf_map_lookup_elem(&ports, &ifindex))
		return pass(XP_NO_PORT);
	if (bpf_check_mtu(ctx, ifindex, &mtu, grow ? 4 : -4, 0))
		return pass(XP_TOO_BIG);
	/* a broken IPv4 header, which the stack would drop; no UDP checksum
	 * over IPv6; or one the stack is to finish */
	if ((d->ip && ip_checksum(d->ip)) || (!u.check && d->ip6) || partial(d, &u))
		return pass(XP_CHECKSUM);
	if (u.check) {
		__s64 sum;

#pragma unroll
		for (int i = 0; i < 4; i++) {
			from[i] = d->in.src_ip[i];
			from[4 + i] = d->in.dst_ip[i];
			to[i] = out->src_ip[i];
			to[4 + i] = out->dst_ip[i];
		}
		from[8] = pair(u.source, u.dest);
		to[8] = pair(out->src_port, out->dst_port);
		from[9] = pair(u.len, u.len);
		to[9] = pair(bpf_htons(len), bpf_htons(len));
		from[10] = grow ? 0 : hdr;
		to[10] = grow ? hdr : 0;
		sum = bpf_csum_diff(from, sizeof from, to, sizeof to, (__u16)~u.check);
		if (sum < 0)
			return pass(XP_CHECKSUM);
		u.check = (__u16)~fold((__u64)sum);
		if (!u.check)
			u.check = 0xffff;
	}
	u.source = out->src_port;
	u.dest = out->dst_port;
	u.len = bpf_htons(len);
	__builtin_memcpy(et.h_dest, hop->mac, ETH_ALEN);
	__builtin_memcpy(et.h_source, hop->own, ETH_ALEN);
	et.h_proto = d->eth->h_proto;
	if (d->ip6) {
		ip6h = *d->ip6;
		ip6h.flow_lbl[0] &= 0xf0; /* the traffic class stays; a new datagram: no flow yet */
		ip6h.flow_lbl[1] = 0;
		ip6h.flow_lbl[2] = 0;
		ip6h.payload_len = bpf_htons(len);
		ip6h.hop_limit = 64;
		__builtin_memcpy(&ip6h.saddr, out->src_ip, 16);
		__builtin_memcpy(&ip6h.daddr, out->dst_ip, 16);
	} else if (d->ip) {
		iph = *d->ip;
		iph.saddr = out->src_ip[3];
		iph.daddr = out->dst_ip[3];
		iph.tot_len = bpf_htons(sizeof(iph) + len);
		iph.ttl = 64; /* a new datagram from the relay, not a forwarded one */
		iph.check = 0;
		iph.check = ip_checksum(&iph);
	} else {
		return XDP_PASS; /* (parse() set one of the two) */
	}
	/* the headers move 4 bytes back (over a new header) or on (over the old) */
	if (bpf_xdp_adjust_head(ctx, grow ? -4 : 4))
		return pass(XP_TOO_BIG); /* no headroom for the header */
	__sync_fetch_and_add(&e->packets, 1);
	__sync_fetch_and_add(&e->bytes, dlen);
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof et > end)
		return XDP_ABORTED;
	*(struct ethhdr *)data = et;
	data += sizeof et;
	if (d->ip6) {
		if (data + sizeof ip6h > end)
			return XDP_ABORTED;
		*(struct ipv6hdr *)data = ip6h;
		data += sizeof ip6h;
	} else {
		if (data + sizeof iph > end)
			return XDP_ABORTED;
		*(struct iphdr *)data = iph;
		data += sizeof iph;
	}
	if (data + sizeof u > end)
		return XDP_ABORTED;
	*(struct udphdr *)data = u;
	p = data + sizeof u;
	if (grow) {
		if (p + 4 > (__u8 *)end)
			return XDP_ABORTED;
		*(__be32 *)p = hdr;
	}
	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&ports, ifindex, 0);
}

/* What parse() says of a datagram the program may relay */
#define RELAYABLE XP_COUNT

static __always_inline bool unknown(const __be32 a[4])
{
	return !a[0] && !a[1] && !a[2] && !a[3];
}

/*
 * A client's ChannelData to a listener on the wildcard address (channel
 * v): the address it reached is the one to send the peer's datagrams to
 * it from. ternd writes that channel's peer entry without one.
 */
static __always_inline void answer_from(const struct xdp_chan_val *v, const struct dgram *d)
{
	struct xdp_flow back = { .src_port = v->out.dst_port, .dst_port = v->out.src_port };
	struct xdp_peer_val *pv;

	__builtin_memcpy(back.src_ip, v->out.dst_ip, 16);
	__builtin_memcpy(back.dst_ip, v->out.src_ip, 16);
	pv = bpf_map_lookup_elem(&peers, &back);
	if (pv && unknown(pv->out.src_ip) && pv->out.dst_port == d->in.src_port)
		__builtin_memcpy(pv->out.src_ip, d->in.dst_ip, 16);
}

/* d's IP and UDP headers, and *udplen the UDP length: RELAYABLE, or why
 * the datagram goes up. */
static __always_inline enum xdp_pass_reason parse(struct dgram *d, void *end, __u16 *udplen)
{
	void *l4;
	__u16 iplen;

	if (d->eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(d->eth + 1);

		if ((void *)(ip + 1) > end)
			return XP_LENGTH;
		if (ip->version != 4)
			return XP_NOT_IP;
		if (ip->ihl != 5)
			return XP_IP_OPTIONS;
		if (ip->frag_off & bpf_htons(0x3fff)) /* MF, or an offset */
			return XP_FRAGMENT;
		if (ip->protocol != IPPROTO_UDP)
			return XP_NOT_UDP;
		d->ip = ip;
		d->in.src_ip[2] = d->in.dst_ip[2] = bpf_htonl(0xffff);
		d->in.src_ip[3] = ip->saddr;
		d->in.dst_ip[3] = ip->daddr;
		l4 = ip + 1;
		iplen = bpf_ntohs(ip->tot_len) - sizeof(*ip);
	} else if (d->eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(d->eth + 1);

		if ((void *)(ip6 + 1) > end)
			return XP_LENGTH;
		if (ip6->version != 6)
			return XP_NOT_IP;
		if (ip6->nexthdr != IPPROTO_UDP) /* extension headers, fragments too */
			return ip6->nexthdr == IPPROTO_TCP || ip6->nexthdr == IPPROTO_ICMPV6
				       ? XP_NOT_UDP
				       : XP_IP_OPTIONS;
		d->ip6 = ip6;
		__builtin_memcpy(d->in.src_ip, &ip6->saddr, 16);
		__builtin_memcpy(d->in.dst_ip, &ip6->daddr, 16);
		l4 = ip6 + 1;
		iplen = bpf_ntohs(ip6->payload_len);
	} else {
		return XP_NOT_IP;
	}
	d->udp = l4;
	if ((void *)(d->udp + 1) > end)
		return XP_LENGTH;
	*udplen = bpf_ntohs(d->udp->len);
	if (*udplen < sizeof(struct udphdr) || iplen != *udplen ||
	    (__u8 *)l4 + *udplen > (__u8 *)end)
		return XP_LENGTH;
	d->in.src_port = d->udp->source;
	d->in.dst_port = d->udp->dest;
	return RELAYABLE;
}

SEC("xdp")
int tern_relay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct dgram d = { .eth = data };
	struct xdp_chan_key k = { 0 };
	struct xdp_chan_val *v;
	struct xdp_peer_val *pv;
	__u16 dlen, udplen = 0;
	__u8 *p;
	enum xdp_pass_reason why;

	if ((void *)(d.eth + 1) > end)
		return pass(XP_NOT_IP);
	why = parse(&d, end, &udplen);
	if (why != RELAYABLE)
		return pass(why);

	/* a peer's datagram to a relay address with a channel to it */
	pv = bpf_map_lookup_elem(&peers, &d.in);
	if (pv) {
		learn(ctx, &d);
		if (unknown(pv->out.src_ip)) /* a wildcard listener's, not heard yet */
			return pass(XP_NO_HOP);
		return relay(ctx, &d, &pv->out, &pv->e, true,
			     pair(pv->channel, bpf_htons(udplen - sizeof(struct udphdr))),
			     udplen - sizeof(struct udphdr));
	}

	/* a client's ChannelData: exactly header + data (padding goes up) */
	p = (void *)(d.udp + 1);
	if (p + 4 > (__u8 *)end)
		return pass(XP_NOT_CHANNEL);
	if (p[0] < 0x40 || p[0] > 0x7f) /* RFC 7983: 64-79 ChannelData; 0x7FFF for RFC 5766 */
		return pass(XP_NOT_CHANNEL);
	dlen = (__u16)(p[2] << 8 | p[3]);
	if (udplen != sizeof(struct udphdr) + 4 + dlen)
		return pass(XP_LENGTH);
	k.in = d.in;
	k.channel = *(__be16 *)p;
	v = bpf_map_lookup_elem(&channels, &k);
	if (!v) { /* a listener on the wildcard address */
		__builtin_memset(k.in.dst_ip, 0, sizeof k.in.dst_ip);
		v = bpf_map_lookup_elem(&channels, &k);
		if (v)
			answer_from(v, &d);
	}
	if (!v)
		return pass(XP_NO_CHANNEL);
	learn(ctx, &d);
	return relay(ctx, &d, &v->out, &v->e, false, *(__be32 *)p, dlen);
}
