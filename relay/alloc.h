/*
 * Allocations and the per-engine table that finds them by 5-tuple (client
 * key) or by id (the tag on their relay sockets). Internal to relay/.
 * Each allocation's permissions and channels live with it: a WebRTC client
 * has a handful of each, so a short array beats any hash, and both lookups
 * of DESIGN.md s5 stay a table probe plus a scan of a few entries.
 */
#ifndef TERN_RELAY_ALLOC_H
#define TERN_RELAY_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/relay.h"

struct perm {
	uint8_t family;
	uint8_t ip[16];
	uint64_t expires; /* ms */
};

struct chan {
	uint16_t number;
	struct stun_addr peer;
	uint64_t expires; /* ms; after it the pair stays reserved 5 more min */
	/* the shell's fast path (relay/offload.c), by direction: whether its
	 * entry was said live, until when (ms), and how much of what that
	 * entry counted is already in the allocation's totals */
	bool offloaded[2];
	uint64_t until[2];
	uint64_t seen_packets[2], seen_bytes[2];
};

enum { ALLOC_V4, ALLOC_V6, ALLOC_FAMILIES };

struct alloc {
	struct relay_key key;
	uint32_t id;
	uint64_t expires; /* ms */
	int handle[ALLOC_FAMILIES];           /* relay sockets, -1 if none */
	struct stun_addr relayed[ALLOC_FAMILIES]; /* as bound */
	uint8_t *user;
	uint16_t user_len;
	uint8_t alloc_tid[STUN_TID_LEN];   /* the Allocate that made it */
	uint8_t refresh_tid[STUN_TID_LEN]; /* the last Refresh answered */
	uint32_t granted;                  /* lifetime last granted, s */
	struct perm *perms;
	struct chan *chans;
	uint8_t n_perms, n_chans;
	bool tcp;            /* RFC 6062: the relay handles are listening sockets */
	bool dont_fragment;  /* its relay sockets were opened with DF */
	bool dirty;          /* changed since the store last had it (relay/persist.c) */
	uint64_t tag;        /* random: names this allocation's record in the store */
	uint16_t n_tcp;      /* its peer connections */
	uint32_t tcp_first;  /* the first of them: slot + 1, 0 for none */
	/* max-bps token buckets, one per direction: [0] to peer, [1] to client */
	uint64_t bucket_ms[2];
	uint64_t tokens[2];
	/* what it relayed, by direction, and what the last traffic event said */
	uint64_t packets[2], bytes[2];
	uint64_t reported_bytes[2];
	bool stored;         /* the store has had its record at least once */
	bool held;           /* its answer waits for the store (relay_held_done) */
};

struct alloc_table;

/* A table for at most max allocations; seed keys the hash. */
struct alloc_table *alloc_table_new(uint32_t max, uint64_t seed);
void alloc_table_free(struct alloc_table *t);
struct alloc *alloc_find(const struct alloc_table *t, const struct relay_key *k);
struct alloc *alloc_by_id(const struct alloc_table *t, uint32_t id);
/* A new zeroed allocation for k (handles -1), or NULL when full or out of
 * memory. The caller ensures k has none yet. */
struct alloc *alloc_insert(struct alloc_table *t, const struct relay_key *k);
/* Unlink and free a (its user, permissions and channels). */
void alloc_remove(struct alloc_table *t, struct alloc *a);
uint32_t alloc_count(const struct alloc_table *t);
uint32_t alloc_capacity(const struct alloc_table *t);

/* Permissions (RFC 8656 s9): by IP only, ports never matter. */
struct perm *perm_find(struct alloc *a, const struct stun_addr *peer, uint64_t now);
/* Install or refresh; false when the allocation has RELAY_MAX_PERMISSIONS. */
bool perm_install(struct alloc *a, const struct stun_addr *peer, uint64_t expires,
		  uint64_t now);

/* Channels (RFC 8656 s12). */
struct chan *chan_by_number(struct alloc *a, uint16_t number, uint64_t now);
struct chan *chan_by_peer(struct alloc *a, const struct stun_addr *peer, uint64_t now);
/*
 * Bind or refresh number <-> peer. Returns 0, -EEXIST when either side is
 * bound (or still reserved after expiry) to something else, -ENOSPC at the
 * limit.
 */
int chan_bind(struct alloc *a, uint16_t number, const struct stun_addr *peer,
	      uint64_t expires, uint64_t now);

bool addr_equal(const struct stun_addr *x, const struct stun_addr *y);
bool addr_same_ip(const struct stun_addr *x, const struct stun_addr *y);

#endif
