/*
 * Frames for the XDP rig (rig.h): UDP over IPv4 or IPv6 over Ethernet,
 * built, sealed (lengths and checksums made right) and parsed strictly,
 * byte by byte and from scratch, so that nothing here shares a mistake
 * with the program's incremental updates.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <string.h>

#include "tests/xdp/rig.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071, the slow way: big-endian 16-bit words, an odd byte padded */
static uint32_t sum(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += get16(p + i);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The pseudo-header's sum (RFC 768; RFC 8200 s8.1) */
static uint32_t pseudo(const uint8_t *f, bool v6, size_t udp_len)
{
	const uint8_t *ip = f + RIG_ETH;

	return (v6 ? sum(ip + 8, 32, 0) : sum(ip + 12, 8, 0)) + IPPROTO_UDP + (uint32_t)udp_len;
}

uint16_t rig_udp_sum(const uint8_t *f, const struct rig_dgram *d)
{
	return fold(sum(f + d->udp, d->udp_len, pseudo(f, d->v6, d->udp_len)));
}

bool rig_partial(const uint8_t *f, const struct rig_dgram *d)
{
	return get16(f + d->udp + 6) == fold(pseudo(f, d->v6, d->udp_len));
}

uint16_t rig_ip4_sum(const uint8_t *f)
{
	return fold(sum(f + RIG_ETH, RIG_IP4, 0));
}

static void map4(__be32 a[4], const uint8_t *ip4)
{
	memset(a, 0, 16);
	((uint8_t *)a)[10] = ((uint8_t *)a)[11] = 0xff;
	memcpy((uint8_t *)a + 12, ip4, 4);
}

bool rig_mapped(const __be32 a[4])
{
	return !a[0] && !a[1] && a[2] == htonl(0xffff);
}

/* Addresses and ports where the program reads them (no options). */
static void flow_at(const uint8_t *f, bool v6, struct xdp_flow *in)
{
	const uint8_t *ip = f + RIG_ETH, *udp = ip + (v6 ? RIG_IP6 : RIG_IP4);

	memset(in, 0, sizeof *in);
	if (v6) {
		memcpy(in->src_ip, ip + 8, 16);
		memcpy(in->dst_ip, ip + 24, 16);
	} else {
		map4(in->src_ip, ip + 12);
		map4(in->dst_ip, ip + 16);
	}
	memcpy(&in->src_port, udp, 2);
	memcpy(&in->dst_port, udp + 2, 2);
}

bool rig_flow_of(const uint8_t *f, size_t len, struct xdp_flow *in, uint16_t *channel)
{
	bool v6;
	size_t udp;

	if (len < RIG_ETH)
		return false;
	if (get16(f + 12) != ETH_P_IP && get16(f + 12) != ETH_P_IPV6)
		return false;
	v6 = get16(f + 12) == ETH_P_IPV6;
	udp = RIG_ETH + (v6 ? RIG_IP6 : RIG_IP4);
	if (len < udp + RIG_UDP)
		return false;
	flow_at(f, v6, in);
	*channel = len >= udp + RIG_UDP + RIG_CHANNEL_HDR ? get16(f + udp + RIG_UDP) : 0;
	return true;
}

bool rig_parse(const uint8_t *f, size_t len, struct rig_dgram *d)
{
	const uint8_t *ip = f + RIG_ETH;
	size_t ip_len;

	memset(d, 0, sizeof *d);
	if (len < RIG_ETH)
		return false;
	if (get16(f + 12) == ETH_P_IP) {
		if (len < RIG_ETH + RIG_IP4 || ip[0] != 0x45 || (get16(ip + 6) & 0x3fff) ||
		    ip[9] != IPPROTO_UDP || get16(ip + 2) < RIG_IP4)
			return false;
		ip_len = get16(ip + 2) - (size_t)RIG_IP4;
		d->udp = RIG_ETH + RIG_IP4;
	} else if (get16(f + 12) == ETH_P_IPV6) {
		if (len < RIG_ETH + RIG_IP6 || ip[0] >> 4 != 6 || ip[6] != IPPROTO_UDP)
			return false;
		ip_len = get16(ip + 4);
		d->udp = RIG_ETH + RIG_IP6;
		d->v6 = true;
	} else {
		return false;
	}
	if (len < d->udp + RIG_UDP)
		return false;
	d->udp_len = get16(f + d->udp + 4);
	if (d->udp_len < RIG_UDP || d->udp_len != ip_len || d->udp + d->udp_len > len)
		return false;
	flow_at(f, d->v6, &d->in);
	return true;
}

void rig_seal(uint8_t *f, size_t len, size_t trailer, unsigned what)
{
	bool v6;
	size_t l3, udp, n;
	uint8_t *u;
	uint16_t c;

	if (len <= RIG_ETH || (get16(f + 12) != ETH_P_IP && get16(f + 12) != ETH_P_IPV6))
		return;
	v6 = get16(f + 12) == ETH_P_IPV6;
	l3 = v6 ? RIG_IP6 : (size_t)(f[RIG_ETH] & 0xf) * 4;
	udp = RIG_ETH + l3;
	if (l3 < RIG_IP4 || len < udp + RIG_UDP + trailer)
		return;
	u = f + udp;
	if (what & RIG_LENGTHS) {
		n = len - trailer - udp;
		put16(f + RIG_ETH + (v6 ? 4 : 2), v6 ? n : l3 + n);
		put16(u + 4, n);
	}
	n = get16(u + 4);
	if ((what & RIG_CHANNEL) && n >= RIG_UDP + RIG_CHANNEL_HDR && udp + n <= len &&
	    u[8] >= 0x40 && u[8] <= 0x7f)
		put16(u + 10, n - RIG_UDP - RIG_CHANNEL_HDR);
	if (!v6 && (what & RIG_IPSUM)) {
		put16(f + RIG_ETH + 10, 0);
		put16(f + RIG_ETH + 10, (uint16_t)~fold(sum(f + RIG_ETH, l3, 0)));
	}
	if (!(what & RIG_CSUM) || n < RIG_UDP || udp + n > len)
		return;
	put16(u + 6, 0);
	c = (uint16_t)~fold(sum(u, n, pseudo(f, v6, n)));
	put16(u + 6, c ? c : 0xffff);
}

size_t rig_udp(uint8_t *buf, const struct rig_frame *f)
{
	bool v6 = !rig_mapped(f->flow.dst_ip);
	size_t l3 = v6 ? RIG_IP6 : RIG_IP4, len = RIG_ETH + l3 + RIG_UDP + f->len;
	uint8_t *ip = buf + RIG_ETH, *u = ip + l3;

	memcpy(buf, f->dst_mac, 6);
	memcpy(buf + 6, f->src_mac, 6);
	put16(buf + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	memset(ip, 0, l3);
	if (v6) { /* traffic class 0xba, flow label 0x12345: one kept, one not */
		ip[0] = 0x6b, ip[1] = 0xa1, ip[2] = 0x23, ip[3] = 0x45;
		ip[6] = IPPROTO_UDP, ip[7] = 17;
		memcpy(ip + 8, f->flow.src_ip, 16);
		memcpy(ip + 24, f->flow.dst_ip, 16);
	} else { /* TOS 0x88, ID 0x1234, DF */
		ip[0] = 0x45, ip[1] = 0x88, ip[4] = 0x12, ip[5] = 0x34, ip[6] = 0x40;
		ip[8] = 17, ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, &f->flow.src_ip[3], 4);
		memcpy(ip + 16, &f->flow.dst_ip[3], 4);
	}
	memcpy(u, &f->flow.src_port, 2);
	memcpy(u + 2, &f->flow.dst_port, 2);
	memset(u + 4, 0, 4);
	if (f->len)
		memcpy(u + RIG_UDP, f->payload, f->len);
	rig_seal(buf, len, 0, RIG_LENGTHS | RIG_CSUM | RIG_IPSUM);
	return len;
}

bool rig_addr(__be32 a[4], const char *text)
{
	uint8_t ip4[4];

	if (inet_pton(AF_INET, text, ip4) == 1) {
		map4(a, ip4);
		return true;
	}
	return inet_pton(AF_INET6, text, a) == 1;
}

struct xdp_flow rig_flow(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct xdp_flow f = { .src_port = htons(sport), .dst_port = htons(dport) };

	rig_addr(f.src_ip, src);
	rig_addr(f.dst_ip, dst);
	return f;
}
