/*
 * wg-config: a WireGuard configuration in wg(8)'s setconf format, the one
 * `wg showconf` writes and `wg setconf` reads:
 *
 *   [Interface]  PrivateKey, ListenPort, FwMark (accepted, unused)
 *   [Peer]       PublicKey, PresharedKey, AllowedIPs, Endpoint,
 *                PersistentKeepalive
 *
 * Keys are base64, names case-insensitive, `#` starts a comment,
 * AllowedIPs is a comma-separated list and may repeat. wg-quick's keys
 * (Address, DNS, MTU, ...) are not setconf's and are refused with a
 * pointer to ternd's own options. Problems come back as "file:line: what
 * is wrong", all of them, so --check can list them; nothing is read from
 * the network (an Endpoint must be an IP address).
 *
 * Ownership: wgconf_parse() fills a struct the caller frees with
 * wgconf_free(), which wipes the keys.
 */
#ifndef TERN_SERVER_WGCONF_H
#define TERN_SERVER_WGCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"

enum wgconf_limits {
	WGCONF_MAX_PEERS = 1 << 20,
	WGCONF_MAX_ALLOWED = 1 << 16, /* prefixes per peer */
	WGCONF_MAX_FILE = 256 << 20,
	WGCONF_ERR_LEN = 512,
};

struct wgconf_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t ip[16];
};

struct wgconf_peer {
	uint8_t public_key[32], preshared_key[32];
	bool has_preshared_key;
	uint16_t keepalive;
	bool has_endpoint;
	struct stun_addr endpoint;
	struct wgconf_prefix *allowed;
	int n_allowed, cap_allowed;
	int line; /* where its [Peer] began */
};

struct wgconf {
	uint8_t private_key[32];
	bool has_private_key;
	int listen_port; /* 0: not given */
	struct wgconf_peer *peers;
	int n_peers, cap_peers;
};

/* Parse text[0..len) named name; each problem goes to fn as "name:line:
 * what". Returns the number of problems (0: out is complete). */
int wgconf_parse(const char *text, size_t len, const char *name, struct wgconf *out,
		 void (*fn)(void *ctx, const char *problem), void *ctx);
/* The same for a file; reading problems count too. */
int wgconf_load(const char *path, struct wgconf *out,
		void (*fn)(void *ctx, const char *problem), void *ctx);
void wgconf_free(struct wgconf *c);

/* "1.2.3.4/24", "::/0", or an address alone (a /32 or /128); s is cut at
 * the slash. */
bool wgconf_prefix(char *s, struct wgconf_prefix *out);

/* A base64 WireGuard key (44 characters) into 32 bytes. */
bool wgconf_key(const char *s, uint8_t out[32]);

#endif
