/*
 * An allocation as the store keeps it, so a node that restarts can take its
 * UDP allocations back (DESIGN.md s6). One line of text, so an operator can
 * read it with redis-cli GET:
 *
 *   tern1 n=<16 hex> l=<listener> a=<listener address> c=<client> e=<ms>
 *         g=<s> df=<0|1> [r=<relayed>]... u=<user, hex>
 *         [p=<peer ip>@<ms>]... [ch=<number>,<peer>@<ms>]...
 *
 * n is the allocation's random tag: a deletion removes the record only if
 * it still carries the tag, so a port freed on one worker and taken on
 * another cannot lose the new record to the old one's deletion. Times are
 * Unix milliseconds; addresses are 192.0.2.1:3478 or [2001:db8::1]:3478
 * (a permission's IP has no port). Unknown tokens are refused: a record is
 * either understood whole or not restored.
 *
 * No I/O and no clock: format and parse only.
 */
#ifndef TERN_RELAY_RECORD_H
#define TERN_RELAY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"

enum {
	RECORD_USER_MAX = 763,  /* RFC 8489 s14.3: USERNAME < 763 bytes */
	RECORD_MAX = 16384,     /* a full record fits with room to spare */
};

struct relay_record {
	uint64_t tag;              /* n= */
	uint16_t listener;         /* the shell's listener index */
	struct stun_addr local;    /* that listener's address (the shell's) */
	struct stun_addr client;
	uint64_t expires;          /* ms */
	uint32_t granted;          /* s */
	bool dont_fragment;
	bool has[2];               /* [0] IPv4, [1] IPv6 relayed address */
	struct stun_addr relayed[2];
	uint8_t user[RECORD_USER_MAX];
	uint16_t user_len;
	uint8_t n_perms, n_chans;
	struct {
		struct stun_addr ip; /* port 0 */
		uint64_t expires;
	} perms[RELAY_MAX_PERMISSIONS];
	struct {
		uint16_t number;
		struct stun_addr peer;
		uint64_t expires;
	} chans[RELAY_MAX_CHANNELS];
	/* not in the line: what the engine knows for the store's events */
	bool fresh;                  /* never written to the store before */
	uint64_t packets[2], bytes[2]; /* relayed so far: [0] to peer, [1] to client */
};

/* The record's line into out (NUL-terminated); its length, or 0 if cap is
 * too small. */
size_t record_format(const struct relay_record *rec, char *out, size_t cap);
/* Parse len bytes of s (no NUL needed). 0, or -1 for anything malformed. */
int record_parse(const char *s, size_t len, struct relay_record *rec);

/* The address a record is filed under: IPv4 relayed address, else IPv6. */
const struct stun_addr *record_key(const struct relay_record *rec);

/* "192.0.2.1:3478", "[2001:db8::1]:3478"; with port false, the IP alone. */
size_t record_addr_str(const struct stun_addr *a, bool port, char *out, size_t cap);

#endif
