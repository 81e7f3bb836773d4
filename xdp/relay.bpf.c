/*
 * ChannelData relayed in XDP (issue 14): a client's ChannelData datagram
 * for a bound channel goes out to the peer without reaching a socket. The
 * 4-byte header is stripped, the datagram readdressed from the
 * allocation's relay address to the peer, the checksums fixed, and it is
 * sent back out of the interface it came in on (XDP_TX): one NIC carries
 * clients and peers, and the frame goes to the router it came from.
 *
 * ternd writes the channels map on ChannelBind and removes entries when a
 * channel, its permission or its allocation ends (server/xdp.c); each
 * entry also carries its own expiry, so a late removal never relays for a
 * channel the engine would refuse. Anything the program is not sure of
 * goes up unchanged (XDP_PASS), counted by reason: STUN, indications,
 * unknown channels, IP options, fragments, padded ChannelData, IPv6.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp/maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_CHANNELS_MAX);
	__type(key, struct xdp_chan_key);
	__type(value, struct xdp_chan_val);
} channels SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XDP_CHANNELS_MAX);
	__type(key, struct xdp_peer_key);
	__type(value, struct xdp_peer_val);
} peers SEC(".maps");

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

/* The UDP checksum after 5 words of what it covers changed from from to to
 * (0 stays 0: IPv4 without a checksum); false if the helper refused. */
static __always_inline int csum_update(__u16 *check, __be32 *from, __be32 *to)
{
	__s64 d;

	if (!*check)
		return 0;
	d = bpf_csum_diff(from, 5 * sizeof(__be32), to, 5 * sizeof(__be32), (__u16)~*check);
	if (d < 0)
		return -1;
	*check = (__u16)~fold((__u64)d);
	if (!*check)
		*check = 0xffff;
	return 0;
}

/* The new IPv4 header: from saddr to daddr, len more or fewer bytes. */
static __always_inline void readdress(struct iphdr *ip, __be32 saddr, __be32 daddr, int len)
{
	ip->saddr = saddr;
	ip->daddr = daddr;
	ip->tot_len = bpf_htons((__u16)(bpf_ntohs(ip->tot_len) + len));
	ip->ttl = 64; /* a new datagram from the relay, not a forwarded one */
	ip->check = 0;
	ip->check = ip_checksum(ip);
}

/* Back to the router it came from. */
static __always_inline void turn_around(struct ethhdr *e, const struct ethhdr *in)
{
	__builtin_memcpy(e->h_dest, in->h_source, ETH_ALEN);
	__builtin_memcpy(e->h_source, in->h_dest, ETH_ALEN);
	e->h_proto = in->h_proto;
}

/*
 * A peer's datagram for a relay address with a channel to it: prepend the
 * 4-byte ChannelData header (RFC 8656 s12.4: no padding over UDP) and send
 * it from the listener to the client.
 */
static __always_inline int to_client(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *ip,
				     struct udphdr *udp, struct xdp_peer_val *v, __u16 udplen)
{
	void *data, *end;
	struct ethhdr e;
	struct iphdr iph = *ip;
	struct udphdr u = *udp;
	__u16 dlen = udplen - sizeof(*udp);
	__be32 from[5], to[5], hdr;
	__u8 *p;

	if (bpf_ntohs(ip->tot_len) + 4 > XDP_MAX_IP_LEN)
		return pass(XP_TOO_BIG);
	if (bpf_ktime_get_ns() >= v->expires_ns)
		return pass(XP_EXPIRED);
	hdr = (__be32)v->channel | (__be32)bpf_htons(dlen) << 16;
	from[0] = ip->saddr;
	from[1] = ip->daddr;
	from[2] = (__be32)udp->source | (__be32)udp->dest << 16;
	from[3] = (__be32)udp->len | (__be32)udp->len << 16;
	from[4] = 0;
	to[0] = v->server_ip;
	to[1] = v->client_ip;
	to[2] = (__be32)v->server_port | (__be32)v->client_port << 16;
	to[3] = (__be32)bpf_htons(udplen + 4) | (__be32)bpf_htons(udplen + 4) << 16;
	to[4] = hdr;
	if (csum_update(&u.check, from, to) < 0)
		return XDP_PASS;
	u.source = v->server_port;
	u.dest = v->client_port;
	u.len = bpf_htons(udplen + 4);
	readdress(&iph, v->server_ip, v->client_ip, 4);
	turn_around(&e, eth);
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, dlen);

	if (bpf_xdp_adjust_head(ctx, -4))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	p = (void *)(udp + 1);
	if (p + 4 > (__u8 *)end)
		return XDP_ABORTED;
	*eth = e;
	*ip = iph;
	*udp = u;
	*(__be32 *)p = hdr;
	return XDP_TX;
}

SEC("xdp")
int tern_relay(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, e;
	struct iphdr *ip, iph;
	struct udphdr *udp, u;
	struct xdp_chan_key k = { 0 };
	struct xdp_peer_key pk = { 0 };
	struct xdp_chan_val *v;
	struct xdp_peer_val *pv;
	__be32 from[5], to[5];
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
	pk.peer_ip = ip->saddr;
	pk.relay_ip = ip->daddr;
	pk.peer_port = udp->source;
	pk.relay_port = udp->dest;
	pv = bpf_map_lookup_elem(&peers, &pk);
	if (pv)
		return to_client(ctx, eth, ip, udp, pv, udplen);
	p = (void *)(udp + 1);
	if (p + 4 > (__u8 *)end)
		return pass(XP_NOT_CHANNEL);
	if (p[0] < 0x40 || p[0] > 0x7f) /* RFC 7983: 64-79 ChannelData; 0x7FFF for RFC 5766 */
		return pass(XP_NOT_CHANNEL);
	dlen = (__u16)(p[2] << 8 | p[3]);
	/* exactly header + data: padding, or anything else, goes up */
	if (udplen != sizeof(*udp) + 4 + dlen)
		return pass(XP_LENGTH);

	k.client_ip = ip->saddr;
	k.server_ip = ip->daddr;
	k.client_port = udp->source;
	k.server_port = udp->dest;
	k.channel = *(__be16 *)p;
	v = bpf_map_lookup_elem(&channels, &k);
	if (!v) { /* a listener on the wildcard address */
		k.server_ip = 0;
		v = bpf_map_lookup_elem(&channels, &k);
	}
	if (!v)
		return pass(XP_NO_CHANNEL);
	if (bpf_ktime_get_ns() >= v->expires_ns)
		return pass(XP_EXPIRED);

	/* the UDP checksum, updated for what changes: the pseudo-header's
	 * addresses and length, the ports, the length, and the 4 header bytes
	 * that leave the payload (all on even offsets) */
	from[0] = ip->saddr;
	from[1] = ip->daddr;
	from[2] = (__be32)udp->source | (__be32)udp->dest << 16;
	from[3] = (__be32)udp->len | (__be32)udp->len << 16;
	from[4] = *(__be32 *)p;
	to[0] = v->relay_ip;
	to[1] = v->peer_ip;
	to[2] = (__be32)v->relay_port | (__be32)v->peer_port << 16;
	to[3] = (__be32)bpf_htons(udplen - 4) | (__be32)bpf_htons(udplen - 4) << 16;
	to[4] = 0;

	iph = *ip;
	u = *udp;
	if (csum_update(&u.check, from, to) < 0)
		return XDP_PASS;
	u.source = v->relay_port;
	u.dest = v->peer_port;
	u.len = bpf_htons(udplen - 4);
	readdress(&iph, v->relay_ip, v->peer_ip, -4);
	turn_around(&e, eth);

	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, dlen);

	/* the headers move 4 bytes on, over the channel header */
	if (bpf_xdp_adjust_head(ctx, 4))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;
	*eth = e;
	*ip = iph;
	*udp = u;
	return XDP_TX;
}
