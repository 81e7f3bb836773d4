/*
 * The XDP program (xdp/relay.bpf.c) run in the kernel with
 * BPF_PROG_TEST_RUN through the rig (tests/xdp/rig.h): both directions
 * over IPv4 and IPv6 against frames worked out apart from the program and
 * the rig (the expected bytes below), the way out learned from frames,
 * and each reason a frame goes up, read from the program's counters.
 * Every run is also judged by the rig's oracle. Needs root; skipped
 * without it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/bpf.h>

#include "tests/xdp/rig.h"

static struct rig rig;

/* The relay's MAC, and its neighbours towards the client and the peer */
static const uint8_t OWN[6] = { 2, 0, 0, 0, 0, 2 }, TO_CLIENT[6] = { 2, 0, 0, 0, 0, 1 },
		     TO_PEER[6] = { 2, 0, 0, 0, 0, 3 };
static const uint8_t HELLO[] = "hello", WORLD[] = "world!";
enum { CHANNEL = 0x4001 };

/* One allocation, in either family: client, listener, relay address, peer. */
struct alloc {
	const char *client, *listener, *peer;
};
static const struct alloc V4 = { "192.0.2.10", "198.51.100.1", "203.0.113.5" };
static const struct alloc V6 = { "2001:db8:1::10", "2001:db8:2::1", "2001:db8:3::5" };

static struct xdp_flow from_client(const struct alloc *a)
{
	return rig_flow(a->client, 40000, a->listener, 3478);
}

static struct xdp_flow to_peer(const struct alloc *a)
{
	return rig_flow(a->listener, 50000, a->peer, 60000);
}

static struct xdp_flow from_peer(const struct alloc *a)
{
	return rig_flow(a->peer, 60000, a->listener, 50000);
}

static struct xdp_flow to_client(const struct alloc *a)
{
	return rig_flow(a->listener, 3478, a->client, 40000);
}

static uint64_t later(void)
{
	return rig_now() + 3600000000000ull;
}

/* The channel both ways, with the hops towards client and peer on ifindex */
static void bind_channel(const struct alloc *a, unsigned ifindex, uint64_t expires)
{
	struct xdp_flow c = from_client(a), p = to_peer(a), pin = from_peer(a), cout = to_client(a);

	assert_int_equal(rig_channel(&rig, &c, CHANNEL, &p, expires), 0);
	assert_int_equal(rig_peer(&rig, &pin, &cout, CHANNEL, expires), 0);
	if (!ifindex)
		return;
	assert_int_equal(rig_hop(&rig, p.dst_ip, ifindex, TO_PEER, OWN), 0);
	assert_int_equal(rig_hop(&rig, cout.dst_ip, ifindex, TO_CLIENT, OWN), 0);
}

/* A client's ChannelData: data of len bytes, then pad bytes of padding */
static size_t channeldata(uint8_t *buf, const struct alloc *a, const uint8_t *data, size_t len,
			  size_t pad)
{
	uint8_t p[RIG_FRAME_MAX] = { CHANNEL >> 8, CHANNEL & 0xff, (uint8_t)(len >> 8),
				     (uint8_t)len };
	struct rig_frame f = { .flow = from_client(a), .payload = p, .len = 4 + len + pad };

	memcpy(f.dst_mac, OWN, 6);
	memcpy(f.src_mac, TO_CLIENT, 6);
	memcpy(p + 4, data, len);
	return rig_udp(buf, &f);
}

static size_t peer_datagram(uint8_t *buf, const struct alloc *a, const uint8_t *data, size_t len)
{
	struct rig_frame f = { .flow = from_peer(a), .payload = data, .len = len };

	memcpy(f.dst_mac, OWN, 6);
	memcpy(f.src_mac, TO_PEER, 6);
	return rig_udp(buf, &f);
}

/* Run frame in, judged by the oracle; what the program returned. */
static uint32_t run(const uint8_t *in, size_t len, struct rig_shot *s)
{
	const char *bad = rig_try(&rig, in, len, s);

	if (bad)
		fail_msg("%s (returned %u, reason %d)", bad, s->ret, s->why);
	return s->ret;
}

static void passes(const uint8_t *in, size_t len, enum xdp_pass_reason why)
{
	static struct rig_shot s;

	assert_int_equal(run(in, len, &s), XDP_PASS);
	assert_int_equal(s.why, why);
}

static void relays(const uint8_t *in, size_t len, uint32_t how, const uint8_t *want,
		   size_t want_len)
{
	static struct rig_shot s;

	assert_int_equal(run(in, len, &s), how);
	assert_int_equal(s.why, RIG_WHY_NONE);
	if (want) {
		assert_int_equal(s.out_len, want_len);
		assert_memory_equal(s.out, want, want_len);
	}
}

/* Worked out by hand (a short script of its own), not by the rig. */
static const uint8_t v4_to_peer[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x08, 0x00, 0x45, 0x88, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
	0xc1, 0xd5, 0xc6, 0x33, 0x64, 0x01, 0xcb, 0x00, 0x71, 0x05, 0xc3, 0x50,
	0xea, 0x60, 0x00, 0x0d, 0xa8, 0x15, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
static const uint8_t v4_to_client[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x08, 0x00, 0x45, 0x88, 0x00, 0x26, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
	0x3b, 0xcc, 0xc6, 0x33, 0x64, 0x01, 0xc0, 0x00, 0x02, 0x0a, 0x0d, 0x96,
	0x9c, 0x40, 0x00, 0x12, 0xdb, 0xaf, 0x40, 0x01, 0x00, 0x06, 0x77, 0x6f,
	0x72, 0x6c, 0x64, 0x21,
};
static const uint8_t v6_to_peer[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x86, 0xdd, 0x6b, 0xa0, 0x00, 0x00, 0x00, 0x0d, 0x11, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc3, 0x50, 0xea, 0x60, 0x00, 0x0d,
	0xb2, 0xd3, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};
static const uint8_t v6_to_client[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x86, 0xdd, 0x6b, 0xa0, 0x00, 0x00, 0x00, 0x12, 0x11, 0x40, 0x20, 0x01,
	0x0d, 0xb8, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0d, 0x96, 0x9c, 0x40, 0x00, 0x12,
	0x6c, 0x69, 0x40, 0x01, 0x00, 0x06, 0x77, 0x6f, 0x72, 0x6c, 0x64, 0x21,
};

static int fresh(void **state)
{
	rig_clear(&rig);
	return 0;
}

/* A client's ChannelData or a peer's datagram through a channel bound
 * both ways with the hops on ifindex: out as how says, as want. */
static void through(const struct alloc *a, bool peer, unsigned ifindex, uint32_t how,
		    const uint8_t *want, size_t want_len)
{
	uint8_t f[128];
	size_t len = peer ? peer_datagram(f, a, WORLD, 6) : channeldata(f, a, HELLO, 5, 0);

	bind_channel(a, ifindex, later());
	relays(f, len, how, want, want_len);
}

static void test_v4_to_peer(void **state)
{
	through(&V4, false, rig.ingress, XDP_TX, v4_to_peer, sizeof v4_to_peer);
}

static void test_v4_to_client(void **state)
{
	through(&V4, true, rig.ingress, XDP_TX, v4_to_client, sizeof v4_to_client);
}

/* the hop on the other interface: out through the ports map */
static void test_v6_to_peer_redirected(void **state)
{
	through(&V6, false, rig.port, XDP_REDIRECT, v6_to_peer, sizeof v6_to_peer);
}

static void test_v6_to_client(void **state)
{
	through(&V6, true, rig.ingress, XDP_TX, v6_to_client, sizeof v6_to_client);
}

/* a listener on 0.0.0.0: the channel under the all-zero address */
static void test_wildcard_listener(void **state)
{
	struct xdp_flow in = from_client(&V4), out = to_peer(&V4);
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	memset(in.dst_ip, 0, sizeof in.dst_ip);
	assert_int_equal(rig_channel(&rig, &in, CHANNEL, &out, later()), 0);
	assert_int_equal(rig_hop(&rig, out.dst_ip, rig.ingress, TO_PEER, OWN), 0);
	relays(f, len, XDP_TX, v4_to_peer, sizeof v4_to_peer);
}

/* Each end's frames show the way back to it: the peer's, though it goes
 * up (no way to the client yet), the way for the client's; the client's
 * the way for the peer's answer. */
static void test_learns_the_way(void **state)
{
	uint8_t f[128], g[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0), glen = peer_datagram(g, &V4, WORLD, 6);

	bind_channel(&V4, 0, later());
	passes(g, glen, XP_NO_HOP);
	relays(f, len, XDP_TX, v4_to_peer, sizeof v4_to_peer);
	relays(g, glen, XDP_TX, v4_to_client, sizeof v4_to_client);
}

static void test_ipv4_zero_checksum_stays(void **state)
{
	static struct rig_shot s;
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	f[RIG_ETH + RIG_IP4 + 6] = f[RIG_ETH + RIG_IP4 + 7] = 0;
	bind_channel(&V4, rig.ingress, later());
	assert_int_equal(run(f, len, &s), XDP_TX);
	assert_int_equal(s.out[RIG_ETH + RIG_IP4 + 6] | s.out[RIG_ETH + RIG_IP4 + 7], 0);
}

static void test_expired(void **state)
{
	uint8_t f[128], g[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0), glen = peer_datagram(g, &V6, WORLD, 6);

	bind_channel(&V4, rig.ingress, rig_now() - 1);
	bind_channel(&V6, rig.ingress, rig_now() - 1);
	passes(f, len, XP_EXPIRED);
	passes(g, glen, XP_EXPIRED);
}

static void test_no_hop(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V6, HELLO, 5, 0);

	bind_channel(&V6, 0, later());
	passes(f, len, XP_NO_HOP);
}

/* a hop on an interface that is not in the ports map */
static void test_no_port(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	bind_channel(&V4, rig.lo, later());
	passes(f, len, XP_NO_PORT);
}

static void test_padded_channeldata(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 3);

	bind_channel(&V4, rig.ingress, later());
	passes(f, len, XP_LENGTH);
}

static void test_no_channel(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	passes(f, len, XP_NO_CHANNEL);
}

/* IPv4 options: the header 4 bytes longer (four NOPs) */
static void test_ipv4_options(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	bind_channel(&V4, rig.ingress, later());
	memmove(f + RIG_ETH + RIG_IP4 + 4, f + RIG_ETH + RIG_IP4, len - RIG_ETH - RIG_IP4);
	memset(f + RIG_ETH + RIG_IP4, 1, 4);
	f[RIG_ETH] = 0x46;
	len += 4;
	rig_seal(f, len, 0, RIG_LENGTHS | RIG_CSUM | RIG_IPSUM);
	passes(f, len, XP_IP_OPTIONS);
}

/* IPv6 with a hop-by-hop options header (PadN) before UDP */
static void test_ipv6_extension_header(void **state)
{
	static const uint8_t hbh[8] = { 17, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t f[128];
	size_t len = channeldata(f, &V6, HELLO, 5, 0), ip = RIG_ETH + RIG_IP6;

	bind_channel(&V6, rig.ingress, later());
	memmove(f + ip + 8, f + ip, len - ip);
	memcpy(f + ip, hbh, 8);
	f[RIG_ETH + 6] = 0; /* next header: hop-by-hop */
	f[RIG_ETH + 5] = (uint8_t)(f[RIG_ETH + 5] + 8);
	passes(f, len + 8, XP_IP_OPTIONS);
}

/* The peer's datagram grows by the header: 1,472 bytes of payload do not
 * fit a 1,500-byte MTU any more, 1,468 do. */
static void test_too_big(void **state)
{
	static uint8_t data[1472], f[1600];

	assert_int_equal(rig.mtu_ingress, 1500);
	bind_channel(&V4, rig.ingress, later());
	passes(f, peer_datagram(f, &V4, data, 1472), XP_TOO_BIG);
	relays(f, peer_datagram(f, &V4, data, 1468), XDP_TX, NULL, 0);
}

static void test_ipv6_zero_checksum(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V6, HELLO, 5, 0);

	f[RIG_ETH + RIG_IP6 + 6] = f[RIG_ETH + RIG_IP6 + 7] = 0;
	bind_channel(&V6, rig.ingress, later());
	passes(f, len, XP_CHECKSUM);
}

/* ChannelData of 0 to 3 bytes, with nothing after it in the frame (a
 * veth pads nothing, and over IPv6 no frame is under Ethernet's 60 bytes):
 * a datagram of that many bytes to the peer. */
static void test_short_channeldata(void **state)
{
	uint8_t f[128];

	bind_channel(&V4, rig.ingress, later());
	bind_channel(&V6, rig.ingress, later());
	for (size_t n = 0; n < 4; n++) {
		relays(f, channeldata(f, &V4, HELLO, n, 0), XDP_TX, NULL, 0);
		relays(f, channeldata(f, &V6, HELLO, n, 0), XDP_TX, NULL, 0);
	}
}

/* An IP header of the other version under the EtherType: not IP */
static void test_ip_version(void **state)
{
	uint8_t f[128], g[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0), glen = channeldata(g, &V6, HELLO, 5, 0);

	bind_channel(&V4, rig.ingress, later());
	bind_channel(&V6, rig.ingress, later());
	f[RIG_ETH] = 0x65;
	rig_seal(f, len, 0, RIG_IPSUM);
	passes(f, len, XP_NOT_IP);
	g[RIG_ETH] = (uint8_t)(0x40 | (g[RIG_ETH] & 0xf));
	passes(g, glen, XP_NOT_IP);
}

/* an IPv4 client with an IPv6 peer: userspace's */
static void test_across_families(void **state)
{
	struct xdp_flow in = from_client(&V4), out = to_peer(&V6);
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	assert_int_equal(rig_channel(&rig, &in, CHANNEL, &out, later()), 0);
	assert_int_equal(rig_hop(&rig, out.dst_ip, rig.ingress, TO_PEER, OWN), 0);
	passes(f, len, XP_NOT_IP);
}

static void test_fragment(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	bind_channel(&V4, rig.ingress, later());
	f[RIG_ETH + 6] |= 0x20; /* more fragments */
	rig_seal(f, len, 0, RIG_IPSUM);
	passes(f, len, XP_FRAGMENT);
}

/* a partial UDP checksum (the pseudo-header's sum, as a local socket
 * leaves it over lo or a veth): up, in both families */
static void test_partial_checksum(void **state)
{
	const struct alloc *fr[2] = { &V4, &V6 };

	for (int i = 0; i < 2; i++) {
		uint8_t f[128];
		size_t len = channeldata(f, fr[i], HELLO, 5, 0);
		struct rig_dgram d;

		bind_channel(fr[i], rig.ingress, later());
		assert_true(rig_parse(f, len, &d));
		f[d.udp + 6] = f[d.udp + 7] = 0;
		assert_false(rig_partial(f, &d));
		for (uint16_t c = 0; !rig_partial(f, &d); c++) {
			f[d.udp + 6] = (uint8_t)(c >> 8);
			f[d.udp + 7] = (uint8_t)c;
		}
		passes(f, len, XP_CHECKSUM);
	}
}

/* an IPv4 header whose checksum is wrong: up, for the stack to drop */
static void test_ip_checksum(void **state)
{
	uint8_t f[128];
	size_t len = channeldata(f, &V4, HELLO, 5, 0);

	bind_channel(&V4, rig.ingress, later());
	f[RIG_ETH + 1] ^= 0x04; /* TOS changed, checksum not */
	passes(f, len, XP_CHECKSUM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_v4_to_peer, fresh),
		cmocka_unit_test_setup(test_v4_to_client, fresh),
		cmocka_unit_test_setup(test_v6_to_peer_redirected, fresh),
		cmocka_unit_test_setup(test_v6_to_client, fresh),
		cmocka_unit_test_setup(test_wildcard_listener, fresh),
		cmocka_unit_test_setup(test_learns_the_way, fresh),
		cmocka_unit_test_setup(test_ipv4_zero_checksum_stays, fresh),
		cmocka_unit_test_setup(test_expired, fresh),
		cmocka_unit_test_setup(test_no_hop, fresh),
		cmocka_unit_test_setup(test_no_port, fresh),
		cmocka_unit_test_setup(test_padded_channeldata, fresh),
		cmocka_unit_test_setup(test_no_channel, fresh),
		cmocka_unit_test_setup(test_ipv4_options, fresh),
		cmocka_unit_test_setup(test_ipv6_extension_header, fresh),
		cmocka_unit_test_setup(test_too_big, fresh),
		cmocka_unit_test_setup(test_ipv6_zero_checksum, fresh),
		cmocka_unit_test_setup(test_short_channeldata, fresh),
		cmocka_unit_test_setup(test_ip_version, fresh),
		cmocka_unit_test_setup(test_across_families, fresh),
		cmocka_unit_test_setup(test_fragment, fresh),
		cmocka_unit_test_setup(test_ip_checksum, fresh),
		cmocka_unit_test_setup(test_partial_checksum, fresh),
	};
	char err[256];
	int failed;

	if (geteuid() != 0) {
		printf("1..0 # SKIP the XDP rig needs root (BPF_PROG_TEST_RUN, a network namespace)\n");
		return 0;
	}
	if (rig_open(&rig, err, sizeof err)) {
		fprintf(stderr, "test_xdp: %s\n", err);
		printf("Bail out! %s\n", err);
		return 1;
	}
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	rig_close(&rig);
	return failed;
}
