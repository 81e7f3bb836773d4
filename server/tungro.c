/*
 * Receive offload for the TUN device (see tungro.h). The checksum sums run
 * in host byte order over 64-bit words: a ones' complement sum does not
 * care which order its 16-bit words are read in, so long as every word is
 * read the same way (RFC 1071 s2(B)), and the result is stored the way it
 * was read.
 */
#include <arpa/inet.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "server/tungro.h"

enum {
	TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10,
	TCP_CHECK = 16, /* the checksum's offset in the TCP header */
	IPPROTO_TCP_ = 6,
};

_Static_assert(sizeof(struct virtio_net_hdr) == TUNGRO_VNET_HDR, "virtio_net_hdr");

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ones' complement sum of p, added to acc, not yet folded. */
static uint64_t sum(const uint8_t *p, size_t len, uint64_t acc)
{
	uint64_t w;
	uint32_t h;
	uint16_t s;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
	}
	if (len >= 4) {
		memcpy(&h, p, 4);
		acc += h;
		p += 4, len -= 4;
	}
	if (len >= 2) {
		memcpy(&s, p, 2);
		acc += s;
		p += 2, len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&s, last, 2);
		acc += s;
	}
	return acc;
}

static uint16_t fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The pseudo-header's sum for a TCP segment of tcp_len bytes. */
static uint64_t pseudo(const uint8_t *ip, bool v6, uint32_t tcp_len)
{
	uint64_t acc = v6 ? sum(ip + 8, 32, 0) : sum(ip + 12, 8, 0);

	return acc + htons(IPPROTO_TCP_) + htons((uint16_t)tcp_len); /* below 65536 */
}

/* What tungro_add needs of a packet; ok only for a TCP segment of a
 * shape the kernel's GRO would take. */
struct seg {
	bool tcp, ok, v6;
	uint16_t l3, l4;
	uint8_t flags;
	uint32_t seq, payload;
};

static struct seg parse(const uint8_t *p, size_t len)
{
	struct seg s = { 0 };

	if (len >= 20 && p[0] >> 4 == 4) {
		s.l3 = (uint16_t)((p[0] & 15) * 4);
		s.tcp = p[9] == IPPROTO_TCP_ && (be16(p + 6) & 0x3fff) == 0 && s.l3 >= 20 &&
			len >= s.l3 + 4u;
		if (s.l3 != 20 || be16(p + 2) != len) /* options, or bytes past the end */
			return s;
	} else if (len >= 40 && p[0] >> 4 == 6) {
		s.v6 = true, s.l3 = 40;
		s.tcp = p[6] == IPPROTO_TCP_ && len >= 44;
		if (be16(p + 4) + 40u != len)
			return s;
	} else {
		return s;
	}
	if (!s.tcp || len < s.l3 + 20u)
		return s;
	s.l4 = (uint16_t)((p[s.l3 + 12] >> 4) * 4);
	if (s.l4 < 20 || len < (size_t)s.l3 + s.l4)
		return s;
	s.flags = p[s.l3 + 13];
	s.seq = be32(p + s.l3 + 4);
	s.payload = (uint32_t)(len - s.l3 - s.l4);
	s.ok = s.payload > 0 && (s.flags & ~(TCP_ACK | TCP_PSH)) == 0 && (s.flags & TCP_ACK) &&
	       fold(sum(p + s.l3, len - s.l3, pseudo(p, s.v6, (uint32_t)(len - s.l3)))) == 0xffff;
	return s;
}

/* Same addresses and ports: the flow a segment belongs to. */
static bool same_flow(const struct tungro_flow *f, const uint8_t *p, const struct seg *s)
{
	const uint8_t *q = f->first;

	if (p[0] >> 4 != q[0] >> 4)
		return false;
	if (s->v6 ? memcmp(p + 8, q + 8, 32) : memcmp(p + 12, q + 12, 8))
		return false;
	return !memcmp(p + s->l3, q + f->l3, 4); /* the ports */
}

/* Whether segment p can follow the flow's last one: the headers the
 * kernel's GRO compares are the same, and it is next in sequence. */
static bool follows(const struct tungro_flow *f, const uint8_t *p, const struct seg *s)
{
	const uint8_t *q = f->first, *t = p + s->l3, *u = q + f->l3;

	if (f->closed || f->n == TUNGRO_SEGS || s->seq != f->next_seq || s->l4 != f->l4 ||
	    s->payload > f->gso_size || f->len + s->payload > TUNGRO_MAX_PACKET)
		return false;
	if (s->v6 ? memcmp(p, q, 4) || memcmp(p + 6, q + 6, 2)
		  : memcmp(p, q, 2) || memcmp(p + 6, q + 6, 4))
		return false; /* traffic class, flow label, TTL, DF */
	return !memcmp(t + 8, u + 8, 4) && !memcmp(t + 14, u + 14, 2) && /* ack, window */
	       !memcmp(t + 18, u + 18, (size_t)s->l4 - 18);                /* urgent, options */
}

static void write_alone(struct tungro *g, const uint8_t *p, size_t len)
{
	static const uint8_t none[TUNGRO_VNET_HDR];
	struct iovec iov[2] = { { (void *)(uintptr_t)none, sizeof none },
				{ (void *)(uintptr_t)p, len } };

	g->write(g->ctx, iov, 2);
	g->packets++;
	g->segments++;
}

/* The flow's headers rewritten for the whole packet, then written. */
static void emit(struct tungro *g, struct tungro_flow *f)
{
	struct virtio_net_hdr vh = { 0 };
	uint8_t *ip = f->head + TUNGRO_VNET_HDR, *tcp = ip + f->l3;
	bool v6 = f->first[0] >> 4 == 6;
	uint16_t check;

	if (f->n == 1) {
		write_alone(g, f->first, f->first_len);
		return;
	}
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	vh.hdr_len = (uint16_t)(f->l3 + f->l4);
	vh.gso_size = f->gso_size;
	vh.csum_start = f->l3;
	vh.csum_offset = TCP_CHECK;
	memcpy(f->head, &vh, sizeof vh);
	memcpy(ip, f->first, (size_t)f->l3 + f->l4);
	if (v6) {
		put_be16(ip + 4, (uint16_t)(f->len - 40));
	} else {
		put_be16(ip + 2, (uint16_t)f->len);
		memset(ip + 10, 0, 2);
		check = (uint16_t)~fold(sum(ip, 20, 0));
		memcpy(ip + 10, &check, 2);
	}
	if (f->psh) /* on the last segment: the packet's */
		tcp[13] |= TCP_PSH;
	check = fold(pseudo(ip, v6, f->len - f->l3)); /* NEEDS_CSUM: the seed, not inverted */
	memcpy(tcp + TCP_CHECK, &check, 2);
	f->iov[0] = (struct iovec){ f->head, TUNGRO_VNET_HDR + (size_t)f->l3 + f->l4 };
	g->write(g->ctx, f->iov, 1 + f->n);
	g->packets++;
	g->segments += (uint64_t)f->n;
}

/* Flow i written and its slot closed up. */
static void drop_flow(struct tungro *g, int i)
{
	emit(g, &g->flow[i]);
	memmove(&g->flow[i], &g->flow[i + 1], (size_t)(g->n_flows - i - 1) * sizeof g->flow[0]);
	g->n_flows--;
}

static void open_flow(struct tungro *g, const uint8_t *p, size_t len, const struct seg *s)
{
	struct tungro_flow *f;

	if (g->n_flows == TUNGRO_FLOWS)
		drop_flow(g, 0); /* the oldest */
	f = &g->flow[g->n_flows++];
	f->first = p;
	f->first_len = len;
	f->l3 = s->l3;
	f->l4 = s->l4;
	f->gso_size = (uint16_t)s->payload;
	f->next_seq = s->seq + s->payload;
	f->len = (uint32_t)len;
	f->psh = (s->flags & TCP_PSH) != 0;
	f->closed = f->psh;
	f->n = 1;
	f->iov[1] = (struct iovec){ (void *)(uintptr_t)(p + s->l3 + s->l4), s->payload };
}

void tungro_init(struct tungro *g, void (*write)(void *ctx, const struct iovec *iov, int n),
		 void *ctx)
{
	memset(g, 0, sizeof *g);
	g->write = write;
	g->ctx = ctx;
}

void tungro_add(struct tungro *g, const uint8_t *p, size_t len)
{
	struct seg s = parse(p, len);
	int i = 0;

	if (s.tcp)
		while (i < g->n_flows && !same_flow(&g->flow[i], p, &s))
			i++;
	else
		i = g->n_flows;
	if (!s.ok) { /* after what its flow gathered, alone */
		if (i < g->n_flows)
			drop_flow(g, i);
		write_alone(g, p, len);
		return;
	}
	if (i < g->n_flows && follows(&g->flow[i], p, &s)) {
		struct tungro_flow *f = &g->flow[i];

		f->n++;
		f->iov[f->n] = (struct iovec){ (void *)(uintptr_t)(p + s.l3 + s.l4), s.payload };
		f->len += s.payload;
		f->next_seq += s.payload;
		f->psh = (s.flags & TCP_PSH) != 0;
		f->closed = s.payload < f->gso_size || f->psh;
		return;
	}
	if (i < g->n_flows)
		drop_flow(g, i);
	open_flow(g, p, len, &s);
}

void tungro_flush(struct tungro *g)
{
	for (int i = 0; i < g->n_flows; i++)
		emit(g, &g->flow[i]);
	g->n_flows = 0;
}

bool tungro_complete(const uint8_t vh[TUNGRO_VNET_HDR], uint8_t *p, size_t len)
{
	struct virtio_net_hdr h;
	uint16_t check;

	memcpy(&h, vh, sizeof h);
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	if ((size_t)h.csum_start + h.csum_offset + 2 > len)
		return false;
	check = (uint16_t)~fold(sum(p + h.csum_start, len - h.csum_start, 0));
	if (check == 0 && h.csum_offset == 6) /* UDP: 0 would mean none */
		check = 0xffff;
	memcpy(p + h.csum_start + h.csum_offset, &check, 2);
	return true;
}
