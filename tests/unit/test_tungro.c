/*
 * server/tungro.c: TCP segments of one flow joined into GSO packets for the
 * TUN, checked against a plain big-endian checksum and against what the
 * kernel does with such a packet (finish the checksum, cut it at gso_size);
 * everything that must not be joined is written alone, in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/virtio_net.h>

#include "server/tungro.h"

enum { MAX_OUT = 64 };

/* What was written: each write flattened, virtio header first. */
static struct {
	uint8_t buf[MAX_OUT][TUNGRO_VNET_HDR + 70000];
	size_t len[MAX_OUT];
	int n;
} out;

static void capture(void *ctx, const struct iovec *iov, int n)
{
	size_t at = 0;

	(void)ctx;
	assert_true(out.n < MAX_OUT);
	for (int i = 0; i < n; i++) {
		memcpy(out.buf[out.n] + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	out.len[out.n++] = at;
}

static struct tungro *fresh(void)
{
	static struct tungro g;

	out.n = 0;
	tungro_init(&g, capture, NULL);
	return &g;
}

/* RFC 1071 the slow way: 16-bit big-endian words. */
static uint32_t slow_sum(const uint8_t *p, size_t len, uint32_t acc)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t slow_fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static uint32_t slow_pseudo(const uint8_t *ip, size_t tcp_len)
{
	bool v6 = ip[0] >> 4 == 6;

	return (v6 ? slow_sum(ip + 8, 32, 0) : slow_sum(ip + 12, 8, 0)) + 6 + (uint32_t)tcp_len;
}

/* A segment: flow f (source port), seq, payload bytes of value fill. */
struct spec {
	bool v6;
	uint16_t sport;
	uint32_t seq, ack;
	uint8_t flags;
	size_t payload;
	uint8_t fill;
	bool bad_sum;
};

static size_t segment(uint8_t *p, const struct spec *s)
{
	size_t l3 = s->v6 ? 40 : 20, l4 = 32, len = l3 + l4 + s->payload; /* TCP timestamps */
	uint8_t *t = p + l3;
	uint16_t c;

	memset(p, 0, l3 + l4);
	if (s->v6) {
		p[0] = 0x60;
		p[4] = (uint8_t)((len - 40) >> 8), p[5] = (uint8_t)(len - 40);
		p[6] = 6, p[7] = 64;
		p[8] = 0x20, p[9] = 0x01, p[23] = 2;
		p[24] = 0x20, p[25] = 0x01, p[39] = 1;
	} else {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
		p[6] = 0x40, p[8] = 64, p[9] = 6;
		p[12] = 10, p[13] = 66, p[15] = 2;
		p[16] = 10, p[17] = 66, p[19] = 1;
		c = (uint16_t)~slow_fold(slow_sum(p, 20, 0));
		p[10] = (uint8_t)(c >> 8), p[11] = (uint8_t)c;
	}
	t[0] = (uint8_t)(s->sport >> 8), t[1] = (uint8_t)s->sport, t[2] = 0x14, t[3] = 0x51;
	t[4] = (uint8_t)(s->seq >> 24), t[5] = (uint8_t)(s->seq >> 16);
	t[6] = (uint8_t)(s->seq >> 8), t[7] = (uint8_t)s->seq;
	t[8] = (uint8_t)(s->ack >> 24), t[9] = (uint8_t)(s->ack >> 16);
	t[10] = (uint8_t)(s->ack >> 8), t[11] = (uint8_t)s->ack;
	t[12] = 8 << 4, t[13] = s->flags ? s->flags : 0x10, t[14] = 0x01, t[15] = 0xf5;
	t[20] = 1, t[21] = 1, t[22] = 8, t[23] = 10, t[27] = 7; /* NOP NOP TS */
	memset(t + l4, s->fill, s->payload);
	c = (uint16_t)~slow_fold(slow_sum(t, l4 + s->payload, slow_pseudo(p, l4 + s->payload)));
	if (s->bad_sum)
		c ^= 1;
	t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
	return len;
}

static uint8_t pkts[80][1600];
static size_t plen[80];

static void add(struct tungro *g, int i, struct spec s)
{
	plen[i] = segment(pkts[i], &s);
	tungro_add(g, pkts[i], plen[i]);
}

static struct virtio_net_hdr vhdr(int i)
{
	struct virtio_net_hdr h;

	memcpy(&h, out.buf[i], sizeof h);
	return h;
}

/* Write i is exactly packet k as it came. */
static void assert_alone(int i, int k)
{
	struct virtio_net_hdr h = vhdr(i);

	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(h.flags, 0);
	assert_int_equal(out.len[i], TUNGRO_VNET_HDR + plen[k]);
	assert_memory_equal(out.buf[i] + TUNGRO_VNET_HDR, pkts[k], plen[k]);
}

/* Write i as the kernel takes it: one packet of segments first..first+n-1,
 * with a valid IP header, a checksum seed that finishes to the right sum,
 * and, cut at gso_size, the segments back. */
static void assert_joined(int i, int first, int n)
{
	struct virtio_net_hdr h = vhdr(i);
	uint8_t *ip = out.buf[i] + TUNGRO_VNET_HDR;
	size_t len = out.len[i] - TUNGRO_VNET_HDR, l3 = ip[0] >> 4 == 6 ? 40 : 20, hl = l3 + 32;
	size_t at = hl;
	uint8_t whole[70000];

	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, l3 == 40 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(h.hdr_len, hl);
	assert_int_equal(h.gso_size, plen[first] - hl);
	assert_int_equal(h.csum_start, l3);
	assert_int_equal(h.csum_offset, 16);
	if (l3 == 20) {
		assert_int_equal(ip[2] << 8 | ip[3], len);
		assert_int_equal(slow_fold(slow_sum(ip, 20, 0)), 0xffff);
	} else {
		assert_int_equal(ip[4] << 8 | ip[5], len - 40);
	}
	/* the kernel's finish: the sum from csum_start, seed included */
	memcpy(whole, ip, len);
	{
		uint16_t seed = (uint16_t)(whole[l3 + 16] << 8 | whole[l3 + 17]);
		uint16_t c;

		assert_int_equal(seed, slow_fold(slow_pseudo(ip, len - l3)));
		c = (uint16_t)~slow_fold(slow_sum(whole + l3, len - l3, 0));
		whole[l3 + 16] = (uint8_t)(c >> 8), whole[l3 + 17] = (uint8_t)c;
		assert_int_equal(slow_fold(slow_sum(whole + l3, len - l3,
						    slow_pseudo(ip, len - l3))), 0xffff);
	}
	for (int k = first; k < first + n; k++) {
		size_t pl = plen[k] - hl;

		assert_true(at + pl <= len);
		assert_memory_equal(ip + at, pkts[k] + hl, pl);
		/* the headers are the first's but for lengths, sums and PSH */
		assert_memory_equal(ip + l3, pkts[first] + l3, 13);
		at += pl;
	}
	assert_int_equal(at, len);
}

static void test_joins_in_sequence(void **state)
{
	struct tungro *g = fresh();

	(void)state;
	for (int i = 0; i < 4; i++)
		add(g, i, (struct spec){ .sport = 1, .seq = 1000 + 1400u * (uint32_t)i, .ack = 9,
					 .payload = 1400, .fill = (uint8_t)i });
	assert_int_equal(out.n, 0); /* nothing before the flush */
	tungro_flush(g);
	assert_int_equal(out.n, 1);
	assert_joined(0, 0, 4);
	assert_int_equal(g->packets, 1);
	assert_int_equal(g->segments, 4);
}

static void test_ipv6(void **state)
{
	struct tungro *g = fresh();

	(void)state;
	for (int i = 0; i < 3; i++)
		add(g, i, (struct spec){ .v6 = true, .sport = 1, .seq = 77 + 1000u * (uint32_t)i,
					 .payload = 1000, .fill = (uint8_t)(i + 1) });
	tungro_flush(g);
	assert_int_equal(out.n, 1);
	assert_joined(0, 0, 3);
}

/* A short segment ends a packet; a PSH ends it and goes on it; a one
 * segment "packet" is written as it came. */
static void test_short_and_psh(void **state)
{
	struct tungro *g = fresh();
	uint32_t seq = 1;

	(void)state;
	add(g, 0, (struct spec){ .sport = 1, .seq = seq, .payload = 1000 });
	add(g, 1, (struct spec){ .sport = 1, .seq = seq += 1000, .payload = 600 });
	add(g, 2, (struct spec){ .sport = 1, .seq = seq += 600, .payload = 1000 });
	add(g, 3, (struct spec){ .sport = 1, .seq = seq += 1000, .payload = 1000, .flags = 0x18 });
	add(g, 4, (struct spec){ .sport = 1, .seq = seq += 1000, .payload = 1000 });
	tungro_flush(g);
	assert_int_equal(out.n, 3);
	assert_joined(0, 0, 2);
	assert_joined(1, 2, 2);
	assert_int_equal(out.buf[1][TUNGRO_VNET_HDR + 20 + 13], 0x18);
	assert_alone(2, 4);
}

/* A segment bigger than the packet's first cannot follow it: gso_size is
 * the first's, and the kernel would cut the bigger one in two. */
static void test_bigger_starts_anew(void **state)
{
	struct tungro *g = fresh();

	(void)state;
	add(g, 0, (struct spec){ .sport = 1, .seq = 0, .payload = 500 });
	add(g, 1, (struct spec){ .sport = 1, .seq = 500, .payload = 1000 });
	add(g, 2, (struct spec){ .sport = 1, .seq = 1500, .payload = 1000 });
	tungro_flush(g);
	assert_int_equal(out.n, 2);
	assert_alone(0, 0);
	assert_joined(1, 1, 2);
}

/* Out of sequence, another ack, or a bad checksum: the flow so far first. */
static void test_breaks_keep_order(void **state)
{
	struct tungro *g = fresh();

	(void)state;
	add(g, 0, (struct spec){ .sport = 1, .seq = 0, .payload = 500 });
	add(g, 1, (struct spec){ .sport = 1, .seq = 500, .payload = 500 });
	add(g, 2, (struct spec){ .sport = 1, .seq = 5000, .payload = 500 }); /* a gap */
	add(g, 3, (struct spec){ .sport = 1, .seq = 5500, .payload = 500, .ack = 1 });
	add(g, 4, (struct spec){ .sport = 1, .seq = 6000, .payload = 500, .ack = 1,
				 .bad_sum = true });
	add(g, 5, (struct spec){ .sport = 1, .seq = 6500, .payload = 500, .ack = 1 });
	add(g, 6, (struct spec){ .sport = 1, .seq = 7000, .payload = 500, .ack = 1, .flags = 0x11 });
	tungro_flush(g);
	assert_int_equal(out.n, 6);
	assert_joined(0, 0, 2);
	assert_alone(1, 2);
	assert_alone(2, 3);
	assert_alone(3, 4); /* the bad one, untouched: the kernel drops it */
	assert_alone(4, 5); /* flushed by the FIN of its flow */
	assert_alone(5, 6);
}

/* Other flows and other protocols pass each other, never a flow itself. */
static void test_flows_interleaved(void **state)
{
	struct tungro *g = fresh();
	uint8_t udp[28] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17 };

	(void)state;
	for (int i = 0; i < 6; i++)
		add(g, i, (struct spec){ .sport = (uint16_t)(1 + i % 2), .seq = 100u * (uint32_t)(i / 2),
					 .payload = 100, .fill = (uint8_t)i });
	tungro_add(g, udp, sizeof udp);
	assert_int_equal(out.n, 1); /* at once */
	assert_int_equal(out.len[0], TUNGRO_VNET_HDR + sizeof udp);
	tungro_flush(g);
	assert_int_equal(out.n, 3);
	/* flow 1 is segments 0, 2, 4; flow 2 is 1, 3, 5: checked as runs */
	memcpy(pkts[10], pkts[0], plen[0]), plen[10] = plen[0];
	memcpy(pkts[11], pkts[2], plen[2]), plen[11] = plen[2];
	memcpy(pkts[12], pkts[4], plen[4]), plen[12] = plen[4];
	assert_joined(1, 10, 3);
	memcpy(pkts[10], pkts[1], plen[1]);
	memcpy(pkts[11], pkts[3], plen[3]);
	memcpy(pkts[12], pkts[5], plen[5]);
	assert_joined(2, 10, 3);
}

/* A flow past TUNGRO_FLOWS writes out the oldest. */
static void test_flow_table_full(void **state)
{
	struct tungro *g = fresh();

	(void)state;
	for (int i = 0; i <= TUNGRO_FLOWS; i++)
		add(g, i, (struct spec){ .sport = (uint16_t)(100 + i), .payload = 10 });
	assert_int_equal(out.n, 1);
	assert_alone(0, 0);
	tungro_flush(g);
	assert_int_equal(out.n, TUNGRO_FLOWS + 1);
	for (int i = 1; i <= TUNGRO_FLOWS; i++)
		assert_alone(i, i);
}

/* No packet over 65535 bytes or TUNGRO_SEGS segments. */
static void test_limits(void **state)
{
	struct tungro *g = fresh();
	int i;

	(void)state;
	for (i = 0; i < 50; i++) /* 46 of 1400 fit in 65535 with the headers */
		add(g, i, (struct spec){ .sport = 1, .seq = 1400u * (uint32_t)i, .payload = 1400 });
	tungro_flush(g);
	assert_int_equal(out.n, 2);
	assert_joined(0, 0, 46);
	assert_joined(1, 46, 4);
	g = fresh();
	for (i = 0; i < TUNGRO_SEGS + 2; i++)
		add(g, i, (struct spec){ .sport = 1, .seq = 10u * (uint32_t)i, .payload = 10 });
	tungro_flush(g);
	assert_int_equal(out.n, 2);
	assert_joined(0, 0, TUNGRO_SEGS);
	assert_joined(1, TUNGRO_SEGS, 2);
}

/* Reads: a checksum left to do is done; GSO and bad offsets refused. */
static void test_complete(void **state)
{
	struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
				    .csum_offset = 16 };
	uint8_t vh[TUNGRO_VNET_HDR], p[1600];
	size_t len = segment(p, &(struct spec){ .sport = 1, .payload = 999, .fill = 0xab });
	uint16_t want = (uint16_t)(p[36] << 8 | p[37]);
	uint16_t seed = slow_fold(slow_pseudo(p, len - 20));

	(void)state;
	p[36] = (uint8_t)(seed >> 8), p[37] = (uint8_t)seed;
	memcpy(vh, &h, sizeof h);
	assert_true(tungro_complete(vh, p, len));
	assert_int_equal(p[36] << 8 | p[37], want);
	h.csum_start = (uint16_t)(len - 17);
	memcpy(vh, &h, sizeof h);
	assert_false(tungro_complete(vh, p, len));
	h = (struct virtio_net_hdr){ .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	memcpy(vh, &h, sizeof h);
	assert_false(tungro_complete(vh, p, len));
	memset(vh, 0, sizeof vh);
	assert_true(tungro_complete(vh, p, len));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joins_in_sequence),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_short_and_psh),
		cmocka_unit_test(test_bigger_starts_anew),
		cmocka_unit_test(test_breaks_keep_order),
		cmocka_unit_test(test_flows_interleaved),
		cmocka_unit_test(test_flow_table_full),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
