/*
 * The peer-address policy: every built-in range at its edges, the ways an
 * IPv4 address can hide in IPv6, and how allowed-peer-ip, denied-peer-ip,
 * allow-loopback-peers and the server's own addresses combine.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "relay/policy.h"

static struct stun_addr addr(const char *text, uint16_t port)
{
	struct stun_addr a = { .port = port };

	if (inet_pton(AF_INET, text, a.ip) == 1)
		a.family = STUN_FAMILY_IPV4;
	else if (inet_pton(AF_INET6, text, a.ip) == 1)
		a.family = STUN_FAMILY_IPV6;
	else
		fail_msg("test address '%s' does not parse", text);
	return a;
}

static void expect(const struct policy *p, const char *peer, enum policy_verdict want)
{
	struct stun_addr a = addr(peer, 3478);
	enum policy_verdict got = policy_check(p, &a);

	if (got != want)
		fail_msg("%s: got %s, want %s", peer, policy_verdict_name(got),
			 policy_verdict_name(want));
}

static void allow(struct policy *p, const char *range)
{
	char err[128] = "";

	if (!policy_allow_range(p, range, err, sizeof err))
		fail_msg("allow '%s': %s", range, err);
}

static void deny(struct policy *p, const char *range)
{
	char err[128] = "";

	if (!policy_deny_range(p, range, err, sizeof err))
		fail_msg("deny '%s': %s", range, err);
}

static int setup(void **state)
{
	*state = policy_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	policy_free(*state);
	return 0;
}

struct edge {
	const char *ip;
	enum policy_verdict v;
};

#define A POLICY_ALLOW
#define UNSPEC POLICY_DENY_UNSPECIFIED
#define LOOP POLICY_DENY_LOOPBACK
#define PRIV POLICY_DENY_PRIVATE
#define CGNAT POLICY_DENY_CGNAT
#define LL POLICY_DENY_LINK_LOCAL
#define MCAST POLICY_DENY_MULTICAST
#define BCAST POLICY_DENY_BROADCAST
#define RSVD POLICY_DENY_RESERVED
#define DOC POLICY_DENY_DOCUMENTATION
#define MAPD POLICY_DENY_MAPPED
#define ULA POLICY_DENY_ULA
#define SITE POLICY_DENY_SITE_LOCAL

/* Each default range: the address before it, its first, its last, the next. */
static const struct edge v4_edges[] = {
	{ "0.0.0.0", UNSPEC }, { "0.0.0.1", UNSPEC }, { "0.255.255.255", UNSPEC },
	{ "1.0.0.0", A },
	{ "9.255.255.255", A }, { "10.0.0.0", PRIV }, { "10.255.255.255", PRIV },
	{ "11.0.0.0", A },
	{ "100.63.255.255", A }, { "100.64.0.0", CGNAT },
	{ "100.100.100.200", CGNAT }, { "100.127.255.255", CGNAT },
	{ "100.128.0.0", A },
	{ "126.255.255.255", A }, { "127.0.0.0", LOOP }, { "127.0.0.1", LOOP },
	{ "127.255.255.255", LOOP }, { "128.0.0.0", A },
	{ "169.253.255.255", A }, { "169.254.0.0", LL }, { "169.254.169.254", LL },
	{ "169.254.255.255", LL }, { "169.255.0.0", A },
	{ "172.15.255.255", A }, { "172.16.0.0", PRIV }, { "172.31.255.255", PRIV },
	{ "172.32.0.0", A },
	{ "191.255.255.255", A }, { "192.0.0.0", RSVD }, { "192.0.0.255", RSVD },
	{ "192.0.1.0", A },
	{ "192.0.1.255", A }, { "192.0.2.0", DOC }, { "192.0.2.255", DOC },
	{ "192.0.3.0", A },
	{ "192.167.255.255", A }, { "192.168.0.0", PRIV },
	{ "192.168.255.255", PRIV }, { "192.169.0.0", A },
	{ "198.17.255.255", A }, { "198.18.0.0", RSVD }, { "198.19.255.255", RSVD },
	{ "198.20.0.0", A },
	{ "198.51.99.255", A }, { "198.51.100.0", DOC }, { "198.51.100.255", DOC },
	{ "198.51.101.0", A },
	{ "203.0.112.255", A }, { "203.0.113.0", DOC }, { "203.0.113.255", DOC },
	{ "203.0.114.0", A },
	{ "223.255.255.255", A }, { "224.0.0.0", MCAST },
	{ "239.255.255.255", MCAST }, { "240.0.0.0", RSVD },
	{ "255.255.255.254", RSVD }, { "255.255.255.255", BCAST },
};

static const struct edge v6_edges[] = {
	{ "::", UNSPEC }, { "::1", LOOP }, { "::2", MAPD },
	{ "::ffff:ffff", MAPD }, { "::1:0:0", RSVD },
	{ "::fffe:ffff:ffff", RSVD }, { "::ffff:0:0", MAPD },
	{ "::ffff:ffff:ffff", MAPD }, { "::1:0:0:0", RSVD },
	{ "::fffe:ffff:ffff:ffff", RSVD }, { "::ffff:0:0:0", MAPD },
	{ "::ffff:0:ffff:ffff", MAPD }, { "::ffff:1:0:0", RSVD },
	{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", RSVD }, { "64:ff9b::", MAPD },
	{ "64:ff9b::ffff:ffff", MAPD }, { "64:ff9b::1:0:0", RSVD },
	{ "64:ff9b:1::", MAPD }, { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", MAPD },
	{ "64:ff9b:2::", RSVD },
	{ "100::", RSVD }, { "100::ffff:ffff:ffff:ffff", RSVD },
	{ "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RSVD },
	{ "2000::", A },
	{ "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "2001::", MAPD },
	{ "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", MAPD }, { "2001:1::", A },
	{ "2001:1:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "2001:2::", RSVD },
	{ "2001:2:0:ffff:ffff:ffff:ffff:ffff", RSVD }, { "2001:2:1::", A },
	{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "2001:db8::", DOC },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", DOC }, { "2001:db9::", A },
	{ "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "2002::", MAPD },
	{ "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MAPD }, { "2003::", A },
	{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "3fff::", DOC },
	{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", DOC }, { "3fff:1000::", A },
	{ "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A }, { "4000::", RSVD },
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RSVD }, { "fc00::", ULA },
	{ "fd00:ec2::254", ULA }, { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ULA },
	{ "fe00::", RSVD }, { "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", RSVD },
	{ "fe80::", LL }, { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", LL },
	{ "fec0::", SITE }, { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", SITE },
	{ "ff00::", MCAST }, { "ff02::1", MCAST },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", MCAST },
};

static void check_edges(const struct edge *e, size_t n)
{
	struct policy *p = policy_new();
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		expect(p, e[i].ip, e[i].v);
	policy_free(p);
}

static void test_default_ranges_v4(void **state)
{
	check_edges(v4_edges, sizeof v4_edges / sizeof v4_edges[0]);
}

static void test_default_ranges_v6(void **state)
{
	check_edges(v6_edges, sizeof v6_edges / sizeof v6_edges[0]);
}

static void test_public_allowed(void **state)
{
	expect(*state, "8.8.8.8", A);
	expect(*state, "1.1.1.1", A);
	expect(*state, "2001:4860:4860::8888", A);
	expect(*state, "2606:4700:4700::1111", A);
}

/* CVE-2020-26262: the wildcard addresses reach the host's loopback. */
static void test_unspecified_denied(void **state)
{
	expect(*state, "0.0.0.0", UNSPEC);
	expect(*state, "::", UNSPEC);
	policy_allow_loopback(*state, true);
	allow(*state, "0.0.0.0");
	allow(*state, "0.0.0.0/8");
	allow(*state, "::");
	expect(*state, "0.0.0.0", UNSPEC);
	expect(*state, "0.1.2.3", UNSPEC);
	expect(*state, "::", UNSPEC);
}

/* CVE-2026-27624: loopback written as IPv6 must not get past the check. */
static void test_mapped_loopback_denied_with_v6_allow(void **state)
{
	allow(*state, "2001:4860::/32");
	allow(*state, "2600::-26ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	allow(*state, "127.0.0.1");
	expect(*state, "::ffff:127.0.0.1", MAPD);
	expect(*state, "::127.0.0.1", MAPD);
	expect(*state, "::ffff:0:127.0.0.1", MAPD);
	expect(*state, "64:ff9b::127.0.0.1", MAPD);
	expect(*state, "127.0.0.1", A);
	expect(*state, "2001:4860::1", A);
}

/* allowed-peer-ip on the v6 form lets it through; the IPv4 inside still counts. */
static void test_allowed_v6_form_checks_embedded_v4(void **state)
{
	allow(*state, "::ffff:0:0/96");
	allow(*state, "::/96");
	allow(*state, "64:ff9b::/96");
	expect(*state, "::ffff:8.8.8.8", A);
	expect(*state, "::ffff:127.0.0.1", LOOP);
	expect(*state, "::ffff:10.0.0.1", PRIV);
	expect(*state, "::ffff:169.254.169.254", LL);
	expect(*state, "::ffff:0.0.0.0", UNSPEC);
	expect(*state, "::8.8.8.8", A);
	expect(*state, "::127.0.0.1", LOOP);
	expect(*state, "64:ff9b::8.8.8.8", A);
	expect(*state, "64:ff9b::192.168.1.1", PRIV);
	/* :: and ::1 sit inside ::/96 but are judged as themselves. */
	expect(*state, "::", UNSPEC);
	expect(*state, "::1", A);
}

/* An allow list that admits all of IPv6 still cannot reach mapped loopback. */
static void test_allow_all_v6_keeps_v4_policy(void **state)
{
	allow(*state, "::/0");
	expect(*state, "::ffff:127.0.0.1", LOOP);
	expect(*state, "2002:7f00:1::1", LOOP);
	expect(*state, "fe80::1", A);
	expect(*state, "::", UNSPEC);
	expect(*state, "::ffff:0.0.0.0", UNSPEC);
	expect(*state, "127.0.0.1", LOOP);
}

static void test_allow_loopback(void **state)
{
	policy_allow_loopback(*state, true);
	expect(*state, "127.0.0.1", A);
	expect(*state, "127.255.255.254", A);
	expect(*state, "::1", A);
	expect(*state, "::ffff:127.0.0.1", A);
	/* Deprecated forms that no client needs stay shut. */
	expect(*state, "::127.0.0.1", MAPD);
	expect(*state, "64:ff9b::127.0.0.1", MAPD);
	expect(*state, "10.0.0.1", PRIV);
	expect(*state, "::ffff:10.0.0.1", MAPD);
	expect(*state, "169.254.169.254", LL);
	policy_allow_loopback(*state, false);
	expect(*state, "127.0.0.1", LOOP);
	expect(*state, "::ffff:127.0.0.1", MAPD);
}

static void test_allow_loopback_keeps_deny_list(void **state)
{
	policy_allow_loopback(*state, true);
	deny(*state, "127.0.0.2");
	deny(*state, "::ffff:127.0.0.3");
	expect(*state, "127.0.0.1", A);
	expect(*state, "127.0.0.2", POLICY_DENY_RANGE);
	expect(*state, "::ffff:127.0.0.2", POLICY_DENY_RANGE);
	expect(*state, "::ffff:127.0.0.3", POLICY_DENY_RANGE);
	expect(*state, "127.0.0.3", A);
}

static void test_allow_single(void **state)
{
	allow(*state, "10.0.0.5");
	deny(*state, "10.0.0.0/8");
	expect(*state, "10.0.0.5", A);
	expect(*state, "10.0.0.4", PRIV);
	expect(*state, "10.0.0.6", PRIV);
}

static void test_allow_span(void **state)
{
	allow(*state, "192.168.1.10-192.168.1.20");
	deny(*state, "192.168.1.0/24");
	expect(*state, "192.168.1.10", A);
	expect(*state, "192.168.1.15", A);
	expect(*state, "192.168.1.20", A);
	expect(*state, "192.168.1.9", PRIV);
	expect(*state, "192.168.1.21", PRIV);
}

static void test_allow_cidr(void **state)
{
	allow(*state, "172.16.0.0/12");
	deny(*state, "172.16.5.0/24");
	allow(*state, "fd00:1234::/32");
	deny(*state, "fd00:1234::/48");
	expect(*state, "172.16.5.1", A);
	expect(*state, "172.31.255.255", A);
	expect(*state, "172.32.0.0", A);
	expect(*state, "fd00:1234::1", A);
	expect(*state, "fd00:1234:ffff:ffff:ffff:ffff:ffff:ffff", A);
	expect(*state, "fd00:1235::", ULA);
}

static void test_deny_public(void **state)
{
	deny(*state, "8.8.8.0/24");
	deny(*state, "1.1.1.1");
	deny(*state, "9.9.9.0-9.9.9.10");
	deny(*state, "2001:4860::/32");
	expect(*state, "8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "8.8.8.255", POLICY_DENY_RANGE);
	expect(*state, "8.8.9.0", A);
	expect(*state, "8.8.4.4", A);
	expect(*state, "1.1.1.1", POLICY_DENY_RANGE);
	expect(*state, "1.0.0.1", A);
	expect(*state, "9.9.9.10", POLICY_DENY_RANGE);
	expect(*state, "9.9.9.11", A);
	expect(*state, "2001:4860:4860::8888", POLICY_DENY_RANGE);
	expect(*state, "2606:4700:4700::1111", A);
}

/* An operator's v4 deny applies whichever v6 form carries the address. */
static void test_deny_v4_applies_to_v6_forms(void **state)
{
	allow(*state, "::ffff:0:0/96");
	allow(*state, "::ffff:0:0:0/96");
	allow(*state, "::/96");
	allow(*state, "64:ff9b::/96");
	allow(*state, "2002::/16");
	allow(*state, "2001::/32");
	deny(*state, "8.8.8.0/24");
	expect(*state, "::ffff:8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "::ffff:0:8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "::8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "64:ff9b::8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "2002:808:808::1", POLICY_DENY_RANGE);
	/* Teredo: server 65.54.227.120, client 8.8.8.8 stored inverted */
	expect(*state, "2001:0:4136:e378:8000:63bf:f7f7:f7f7", POLICY_DENY_RANGE);
	expect(*state, "::ffff:1.1.1.1", A);
	expect(*state, "64:ff9b::1.1.1.1", A);
	expect(*state, "2002:101:101::1", A);
	expect(*state, "2001:0:4136:e378:8000:63bf:fefe:fefe", A);
}

static void test_teredo_both_addresses_checked(void **state)
{
	allow(*state, "2001::/32");
	/* server 10.0.0.1, client 1.1.1.1 */
	expect(*state, "2001:0:a00:1:8000:63bf:fefe:fefe", PRIV);
	/* server 65.54.227.120, client 127.0.0.1 */
	expect(*state, "2001:0:4136:e378:8000:63bf:80ff:fffe", LOOP);
}

/* Where 64:ff9b:1::/48 is allowed its IPv4 has no fixed place to check. */
static void test_local_nat64_prefix(void **state)
{
	expect(*state, "64:ff9b:1::a00:1", MAPD);
	allow(*state, "64:ff9b:1::/48");
	expect(*state, "64:ff9b:1::a00:1", A);
}

static void test_own_address_any_port(void **state)
{
	struct stun_addr own4 = addr("1.2.3.4", 49152);
	struct stun_addr own6 = addr("2001:4860::1", 49153);
	struct stun_addr own_private = addr("10.9.8.7", 3478);
	struct stun_addr peer = addr("1.2.3.4", 1);

	assert_true(policy_add_own(*state, &own4));
	assert_true(policy_add_own(*state, &own6));
	assert_true(policy_add_own(*state, &own_private));
	assert_int_equal(policy_check(*state, &peer), POLICY_DENY_OWN);
	peer.port = 65535;
	assert_int_equal(policy_check(*state, &peer), POLICY_DENY_OWN);
	peer.port = 49152;
	assert_int_equal(policy_check(*state, &peer), POLICY_DENY_OWN);
	expect(*state, "1.2.3.5", A);
	expect(*state, "2001:4860::1", POLICY_DENY_OWN);
	expect(*state, "2001:4860::2", A);
	expect(*state, "10.9.8.7", POLICY_DENY_OWN);
	/* as a v6 form that is allowed, the IPv4 inside is still ours */
	allow(*state, "::ffff:0:0/96");
	expect(*state, "::ffff:1.2.3.4", POLICY_DENY_OWN);
	/* naming it explicitly is the one way through */
	allow(*state, "1.2.3.4");
	expect(*state, "1.2.3.4", A);
	expect(*state, "::ffff:1.2.3.4", A);
}

/*
 * The in-process service (the WireGuard responder): its port on any own
 * address is a peer for datagrams, a permission for an own IP is granted
 * for it, and every other port of an own address stays refused.
 */
static void test_local_service_port(void **state)
{
	struct stun_addr own4 = addr("1.2.3.4", 0), own6 = addr("2001:4860::1", 0);
	struct stun_addr wg4 = addr("1.2.3.4", 51820), wg6 = addr("2001:4860::1", 51820);
	struct stun_addr other = addr("1.2.3.4", 6379), stranger = addr("1.2.3.5", 51820);
	struct stun_addr mapped = addr("::ffff:1.2.3.4", 51820), out;

	assert_true(policy_add_own(*state, &own4));
	assert_true(policy_add_own(*state, &own6));
	/* without a local port, nothing changes */
	assert_int_equal(policy_local(*state, &wg4), -1);
	assert_false(policy_local_addr(*state, 0, &out));
	assert_int_equal(policy_check_permission(*state, &wg4), POLICY_DENY_OWN);
	assert_int_equal(policy_check_datagram(*state, &wg4), POLICY_DENY_OWN);
	assert_false(policy_port_refused(*state, &other));

	policy_set_local_port(*state, 51820);
	assert_int_equal(policy_local(*state, &wg4), 0);
	assert_int_equal(policy_local(*state, &wg6), 1);
	assert_int_equal(policy_local(*state, &other), -1);
	assert_int_equal(policy_local(*state, &stranger), -1);
	assert_int_equal(policy_local(*state, &mapped), -1);
	assert_true(policy_local_addr(*state, 1, &out));
	assert_int_equal(out.family, STUN_FAMILY_IPV6);
	assert_int_equal(out.port, 51820);
	assert_memory_equal(out.ip, wg6.ip, 16);
	assert_false(policy_local_addr(*state, 2, &out));
	assert_false(policy_local_addr(*state, -1, &out));
	/* a permission is for an IP: granted, since the service is there */
	assert_int_equal(policy_check_permission(*state, &other), A);
	/* datagrams: the service's port only */
	assert_int_equal(policy_check_datagram(*state, &wg4), A);
	assert_int_equal(policy_check_datagram(*state, &other), POLICY_DENY_OWN);
	assert_true(policy_port_refused(*state, &other));
	assert_false(policy_port_refused(*state, &wg4));
	assert_false(policy_port_refused(*state, &stranger));
	/* the v4-mapped form is not the service, and still ours */
	assert_int_equal(policy_check_permission(*state, &mapped), POLICY_DENY_MAPPED);
	assert_int_equal(policy_check_datagram(*state, &mapped), POLICY_DENY_MAPPED);
	/* plain TCP or other checks keep refusing own addresses */
	assert_int_equal(policy_check(*state, &wg4), POLICY_DENY_OWN);
	/* an operator who allows the own address lets every port through */
	allow(*state, "1.2.3.4");
	assert_false(policy_port_refused(*state, &other));
	assert_int_equal(policy_check_datagram(*state, &other), A);
}

/* With everything on one host (allow-loopback-peers), a loopback relay
 * address is a peer the operator meant; a public own address stays denied. */
static void test_own_loopback_lifted_by_allow_loopback(void **state)
{
	struct stun_addr lo = addr("127.0.0.1", 3478);
	struct stun_addr pub = addr("1.2.3.4", 3478);

	assert_true(policy_add_own(*state, &lo));
	assert_true(policy_add_own(*state, &pub));
	expect(*state, "127.0.0.1", POLICY_DENY_OWN);
	policy_allow_loopback(*state, true);
	expect(*state, "127.0.0.1", A);
	expect(*state, "1.2.3.4", POLICY_DENY_OWN);
}

static void test_own_refuses_wildcard_and_bad_family(void **state)
{
	struct stun_addr any4 = addr("0.0.0.0", 3478);
	struct stun_addr any6 = addr("::", 3478);
	struct stun_addr bad = addr("1.2.3.4", 3478);

	bad.family = 0;
	assert_false(policy_add_own(*state, &any4));
	assert_false(policy_add_own(*state, &any6));
	assert_false(policy_add_own(*state, &bad));
	expect(*state, "8.8.8.8", A);
}

static void test_own_limit(void **state)
{
	struct stun_addr a = addr("8.0.0.0", 0);
	size_t i;

	for (i = 0; i < POLICY_MAX_OWN; i++) {
		a.ip[2] = (uint8_t)(i >> 8);
		a.ip[3] = (uint8_t)i;
		assert_true(policy_add_own(*state, &a));
	}
	/* a duplicate takes no slot */
	assert_true(policy_add_own(*state, &a));
	a.ip[1] = 1;
	assert_false(policy_add_own(*state, &a));
	expect(*state, "8.0.0.0", POLICY_DENY_OWN);
	expect(*state, "8.1.0.0", A);
}

struct bad_range {
	const char *text;
	const char *message;
};

static const struct bad_range bad_ranges[] = {
	{ "", "empty range" },
	{ "   ", "empty range" },
	{ "garbage", "bad address: 'garbage'" },
	{ "10.0.0", "bad address" },
	{ "300.1.1.1", "bad address" },
	{ "010.0.0.1", "bad address" },
	{ "fe80::1%eth0", "bad address" },
	{ "[::1]", "bad address" },
	{ "10.0.0.1-", "bad address" },
	{ "-10.0.0.1", "bad address" },
	{ "10.0.0.1-10.0.0.2-10.0.0.3", "bad address" },
	{ "10.0.0.2-10.0.0.1", "range ends before it starts" },
	{ "::2-::1", "range ends before it starts" },
	{ "10.0.0.1-::1", "range mixes IPv4 and IPv6" },
	{ "::1-10.0.0.1", "range mixes IPv4 and IPv6" },
	{ "10.0.0.0/33", "bad prefix length: '33'" },
	{ "::/129", "bad prefix length" },
	{ "10.0.0.0/", "bad prefix length" },
	{ "10.0.0.0/-1", "bad prefix length" },
	{ "10.0.0.0/+8", "bad prefix length" },
	{ "10.0.0.0/8x", "bad prefix length" },
	{ "10.0.0.0/0008", "bad prefix length" },
	{ "10.0.0.0/8/8", "bad prefix length" },
	{ "10.1.2.3/8", "host bits set" },
	{ "fd00::1/8", "host bits set" },
	{ "/8", "bad address" },
	{ "10.0.0.0/8-10.0.0.1", "bad prefix length: '8-10.0.0.1'" },
	{ "10.0.0.0-10.0.0.255/24", "not both" },
};

static void test_parse_errors(void **state)
{
	char err[128];
	size_t i;

	for (i = 0; i < sizeof bad_ranges / sizeof bad_ranges[0]; i++) {
		err[0] = '\0';
		if (policy_allow_range(*state, bad_ranges[i].text, err, sizeof err))
			fail_msg("'%s' was accepted", bad_ranges[i].text);
		if (!strstr(err, bad_ranges[i].message))
			fail_msg("'%s': message '%s', want '%s'", bad_ranges[i].text,
				 err, bad_ranges[i].message);
		assert_false(policy_deny_range(*state, bad_ranges[i].text, err,
					       sizeof err));
	}
	/* nothing half-parsed was added */
	expect(*state, "10.0.0.1", PRIV);
	expect(*state, "8.8.8.8", A);
}

static void test_parse_edge_inputs(void **state)
{
	char err[8];
	char longer[POLICY_MAX_RANGE_TEXT + 2];

	memset(longer, '1', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	assert_false(policy_allow_range(*state, longer, err, sizeof err));
	/* a short buffer truncates, NULL or zero length writes nothing */
	assert_false(policy_allow_range(*state, "garbage", err, sizeof err));
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_false(policy_allow_range(*state, "garbage", NULL, 0));
	assert_false(policy_allow_range(*state, NULL, NULL, 0));
	/* blanks around the parts are ignored, single-address ranges work */
	allow(*state, " 10.0.0.1 - 10.0.0.2 ");
	allow(*state, "\t192.168.0.0 / 24");
	allow(*state, "100.64.0.7-100.64.0.7");
	expect(*state, "10.0.0.2", A);
	expect(*state, "192.168.0.255", A);
	expect(*state, "100.64.0.7", A);
	expect(*state, "100.64.0.8", CGNAT);
}

static void test_whole_space_prefixes(void **state)
{
	deny(*state, "0.0.0.0/0");
	allow(*state, "203.0.113.9/32");
	expect(*state, "8.8.8.8", POLICY_DENY_RANGE);
	expect(*state, "203.0.113.9", A);
	expect(*state, "2001:4860::1", A);
	allow(*state, "0.0.0.0-255.255.255.255");
	expect(*state, "8.8.8.8", A);
	expect(*state, "10.0.0.1", A);
	expect(*state, "0.0.0.0", UNSPEC);
}

static void fill(struct policy *p, bool allowing)
{
	char text[32], err[128];
	size_t i;

	for (i = 0; i < POLICY_MAX_RANGES; i++) {
		snprintf(text, sizeof text, "11.%u.%u.0/24", (unsigned)(i >> 8),
			 (unsigned)(i & 0xff));
		if (allowing)
			assert_true(policy_allow_range(p, text, err, sizeof err));
		else
			assert_true(policy_deny_range(p, text, err, sizeof err));
	}
}

static void test_range_limits(void **state)
{
	char err[128] = "";

	fill(*state, true);
	assert_false(policy_allow_range(*state, "12.0.0.1", err, sizeof err));
	assert_string_equal(err, "allowed-peer-ip list full (1024 ranges)");
	fill(*state, false);
	assert_false(policy_deny_range(*state, "12.0.0.1", err, sizeof err));
	assert_string_equal(err, "denied-peer-ip list full (1024 ranges)");
	expect(*state, "11.3.255.1", A);
	expect(*state, "12.0.0.1", A);
}

static void test_bad_family(void **state)
{
	struct stun_addr a = addr("8.8.8.8", 1);

	a.family = 3;
	assert_int_equal(policy_check(*state, &a), POLICY_DENY_FAMILY);
}

/* Only the family's bytes count; a v4 address may have junk after them. */
static void test_v4_ignores_tail_bytes(void **state)
{
	struct stun_addr a = addr("127.0.0.1", 1);

	memset(a.ip + 4, 0xab, sizeof a.ip - 4);
	assert_int_equal(policy_check(*state, &a), LOOP);
	a = addr("8.8.8.8", 1);
	memset(a.ip + 4, 0xab, sizeof a.ip - 4);
	assert_int_equal(policy_check(*state, &a), A);
}

static void test_verdict_names(void **state)
{
	const char *name, *c;
	int i, j;

	for (i = 0; i < POLICY_VERDICT_COUNT; i++) {
		name = policy_verdict_name((enum policy_verdict)i);
		assert_non_null(name);
		assert_string_not_equal(name, "unknown");
		for (c = name; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || *c == '_');
		for (j = 0; j < i; j++)
			assert_string_not_equal(name,
						policy_verdict_name((enum policy_verdict)j));
	}
	assert_string_equal(policy_verdict_name(POLICY_DENY_LINK_LOCAL), "link_local");
	assert_string_equal(policy_verdict_name(POLICY_DENY_RANGE), "denied_range");
	assert_string_equal(policy_verdict_name(POLICY_VERDICT_COUNT), "unknown");
}

static void test_free_null(void **state)
{
	policy_free(NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_ranges_v4),
		cmocka_unit_test(test_default_ranges_v6),
		T(test_public_allowed),
		T(test_unspecified_denied),
		T(test_mapped_loopback_denied_with_v6_allow),
		T(test_allowed_v6_form_checks_embedded_v4),
		T(test_allow_all_v6_keeps_v4_policy),
		T(test_allow_loopback),
		T(test_allow_loopback_keeps_deny_list),
		T(test_allow_single),
		T(test_allow_span),
		T(test_allow_cidr),
		T(test_deny_public),
		T(test_deny_v4_applies_to_v6_forms),
		T(test_teredo_both_addresses_checked),
		T(test_local_nat64_prefix),
		T(test_own_loopback_lifted_by_allow_loopback),
		T(test_own_address_any_port),
		T(test_local_service_port),
		T(test_own_refuses_wildcard_and_bad_family),
		T(test_own_limit),
		T(test_parse_errors),
		T(test_parse_edge_inputs),
		T(test_whole_space_prefixes),
		T(test_range_limits),
		T(test_bad_family),
		T(test_v4_ignores_tail_bytes),
		T(test_verdict_names),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
