/*
 * Cryptokey routing's table: IPv4 and IPv6 prefixes, each owned by one
 * peer. A packet from a peer must come from an address whose longest
 * matching prefix is that peer's; a packet to an address goes to the peer
 * that owns its longest matching prefix.
 *
 * One hash table keyed by (family, length, masked address), under a random
 * SipHash key, and per family the list of prefix lengths in use, longest
 * first: a lookup is one probe per length in use (WireGuard deployments use
 * one to three), however many prefixes there are, so the table holds
 * millions and stays flat. A prefix given to a second peer moves to it, as
 * in wg(8).
 *
 * Ownership: allowedips_new() returns an object freed with
 * allowedips_free(); the values are the caller's. Not thread-safe.
 */
#ifndef TERN_TUNNEL_ALLOWEDIPS_H
#define TERN_TUNNEL_ALLOWEDIPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { ALLOWEDIPS_MAX = 1 << 24 };

struct allowedips;

struct allowedips *allowedips_new(void);
void allowedips_free(struct allowedips *t);

/* Give prefix ip/plen of family (4 or 6; ip 4 or 16 bytes, bits past plen
 * ignored) to value. 0, -EINVAL (bad family or length) or -ENOMEM. */
int allowedips_insert(struct allowedips *t, int family, const uint8_t *ip, uint8_t plen,
		      void *value);
/* Remove that prefix if value owns it. */
void allowedips_remove(struct allowedips *t, int family, const uint8_t *ip, uint8_t plen,
		       const void *value);
/* Remove every prefix value owns. */
void allowedips_remove_value(struct allowedips *t, const void *value);
/* The owner of the longest prefix that contains ip, or NULL. */
void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *ip);
/* Call fn for each prefix, with its owner. */
void allowedips_each(const struct allowedips *t,
		     void (*fn)(void *ctx, int family, const uint8_t *ip, uint8_t plen,
				void *value),
		     void *ctx);
size_t allowedips_count(const struct allowedips *t);

#endif
