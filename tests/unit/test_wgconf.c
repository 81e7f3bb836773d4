/*
 * server/wgconf.c: wg(8)'s setconf format, as `wg showconf` writes it, and
 * every problem reported as file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/wgconf.h"

#define KEY_A "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define KEY_B "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY_C "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="

struct problems {
	char text[8][256];
	int n;
};

static void note(void *ctx, const char *msg)
{
	struct problems *p = ctx;

	if (p->n < 8)
		snprintf(p->text[p->n], sizeof p->text[0], "%s", msg);
	p->n++;
}

static int parse(const char *text, struct wgconf *c, struct problems *p)
{
	memset(p, 0, sizeof *p);
	return wgconf_parse(text, strlen(text), "wg.conf", c, note, p);
}

static void test_showconf(void **state)
{
	struct wgconf c;
	struct problems p;

	assert_int_equal(parse("[Interface]\n"
			       "ListenPort = 51820\n"
			       "PrivateKey = " KEY_A "\n"
			       "FwMark = 0x42\n"
			       "\n"
			       "[Peer]  # a comment\n"
			       "PublicKey = " KEY_B "\n"
			       "PresharedKey = " KEY_C "\n"
			       "AllowedIPs = 10.0.0.2/32, fd00::2/128\n"
			       "AllowedIPs = 192.168.4.0/24\n"
			       "Endpoint = [2001:db8::1]:51820\n"
			       "PersistentKeepalive = 25\n"
			       "[peer]\n"
			       "publickey=" KEY_C "\n"
			       "Endpoint = 192.0.2.7:1234\n"
			       "PersistentKeepalive = off\n",
			       &c, &p),
			 0);
	assert_true(c.has_private_key);
	assert_int_equal(c.listen_port, 51820);
	assert_int_equal(c.n_peers, 2);
	assert_true(c.peers[0].has_preshared_key);
	assert_int_equal(c.peers[0].n_allowed, 3);
	assert_int_equal(c.peers[0].allowed[1].family, 6);
	assert_int_equal(c.peers[0].allowed[1].plen, 128);
	assert_int_equal(c.peers[0].allowed[2].plen, 24);
	assert_int_equal(c.peers[0].endpoint.family, STUN_FAMILY_IPV6);
	assert_int_equal(c.peers[0].endpoint.port, 51820);
	assert_int_equal(c.peers[0].keepalive, 25);
	assert_int_equal(c.peers[1].endpoint.ip[3], 7);
	assert_int_equal(c.peers[1].keepalive, 0);
	assert_int_equal(c.peers[1].n_allowed, 0);
	wgconf_free(&c);
}

static void test_problems(void **state)
{
	struct wgconf c;
	struct problems p;

	assert_int_equal(parse("[Interface]\nPrivateKey = nope\nAddress = 10.0.0.1/24\n"
			       "[Peer]\nPublicKey = " KEY_B "\nAllowedIPs = 10.0.0.300/32\n"
			       "Endpoint = vpn.example.com:51820\nBogus = 1\n"
			       "[Peer]\nPublicKey = " KEY_B "\n[Nope]\nstray line\n",
			       &c, &p),
			 9);
	assert_string_equal(p.text[0], "wg.conf:2: PrivateKey: not a base64 key of 32 bytes");
	assert_string_equal(p.text[1], "wg.conf:3: [Interface]: unknown key 'Address' (wg-quick's, "
				       "not setconf's: use wg-address and wg-mtu)");
	assert_string_equal(p.text[2], "wg.conf:6: AllowedIPs: '10.0.0.300/32' is not an address "
				       "or prefix");
	assert_string_equal(p.text[3], "wg.conf:7: Endpoint: not IP:PORT or [IPv6]:PORT (names are "
				       "not looked up)");
	assert_string_equal(p.text[4], "wg.conf:8: [Peer]: unknown key 'Bogus'");
	assert_string_equal(p.text[5], "wg.conf:11: unknown section [Nope]");
	assert_string_equal(p.text[6], "wg.conf:12: not Key = Value: 'stray line'");
	assert_string_equal(p.text[7], "wg.conf:9: this PublicKey is also the peer's at line 4");
	wgconf_free(&c);
	assert_int_equal(parse("[Peer]\nAllowedIPs = 10.0.0.0/33\n", &c, &p), 3);
	assert_string_equal(p.text[0], "wg.conf:2: AllowedIPs: '10.0.0.0/33' is not an address "
				       "or prefix");
	assert_string_equal(p.text[1], "wg.conf:1: [Peer] without a PublicKey");
	assert_string_equal(p.text[2], "wg.conf:0: no [Interface] PrivateKey");
	wgconf_free(&c);
}

static void test_key(void **state)
{
	uint8_t k[32];

	assert_true(wgconf_key(KEY_A, k));
	assert_false(wgconf_key("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk", k));
	assert_false(wgconf_key("", k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_showconf),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
