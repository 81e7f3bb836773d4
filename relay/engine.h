/*
 * The engine's insides, shared by the files of relay/ that handle requests.
 * Not an API: callers use relay/relay.h.
 */
#ifndef TERN_RELAY_ENGINE_H
#define TERN_RELAY_ENGINE_H

#include "relay/alloc.h"
#include "relay/ratelimit.h"
#include "relay/relay.h"

enum {
	UNAUTH_RATE = 100,            /* Allocates/s per source before auth */
	UNAUTH_BURST = 200,
	UNAUTH_TABLE = 4096,
	GONE_MAX = 64,                /* deletions remembered for retransmits */
	GONE_MS = 40 * 1000,          /* longer than a client's retransmit span */
};

/* A Refresh with LIFETIME 0 that deleted an allocation (s7.3: its retransmit
 * gets the same success, not 437). */
struct gone {
	struct relay_key key;
	uint8_t tid[STUN_TID_LEN];
	uint64_t at;
};

struct relay {
	const struct relay_config *cfg;
	const struct relay_ops *ops;
	struct alloc_table *allocs;
	struct ratelimit *unauth;
	struct relay_stats stats;
	uint32_t sweep_next;
	struct gone gone[GONE_MAX];
	uint32_t gone_next;
	/* bps-capacity: this engine's buckets, one per direction */
	uint64_t cap_ms[2], cap_tokens[2];
};

/* A response under construction: the request it answers and, once the
 * request authenticated, the key that signs it (RFC 8489 s9.2.4). */
struct reply {
	struct stun_builder b;
	const struct stun_msg *req;
	const struct auth_result *auth;
};

void reply_start(struct reply *rp, const struct relay *r, const struct stun_msg *req,
		 const struct auth_result *auth, uint16_t cls, uint8_t *out, size_t cap);
/* SOFTWARE, integrity as the request had it, FINGERPRINT if it had one. */
size_t reply_finish(struct reply *rp, const struct relay *r);
/* A complete error response; 401 and 438 carry a fresh challenge. */
struct relay_action reply_error(const struct relay *r, const struct relay_key *k,
				const struct stun_msg *req, const struct auth_result *auth,
				int code, uint64_t now_ms, uint8_t *out, size_t cap);

static inline void stat_inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Request handlers; each answers into out. */
struct relay_action allocate_handle(struct relay *r, const struct relay_key *k,
				    const struct stun_msg *m,
				    const struct auth_result *auth, uint64_t now,
				    uint8_t *out, size_t cap);
void allocate_release(struct relay *r, struct alloc *a);
struct relay_action request_refresh(struct relay *r, struct alloc *a,
				    const struct stun_msg *m,
				    const struct auth_result *auth, uint64_t now,
				    uint8_t *out, size_t cap);
struct relay_action request_permission(struct relay *r, struct alloc *a,
				       const struct stun_msg *m,
				       const struct auth_result *auth, uint64_t now,
				       uint8_t *out, size_t cap);
struct relay_action request_channel_bind(struct relay *r, struct alloc *a,
					 const struct stun_msg *m,
					 const struct auth_result *auth, uint64_t now,
					 uint8_t *out, size_t cap);
struct relay_action request_send(struct relay *r, struct alloc *a,
				 const struct stun_msg *m, uint64_t now);

enum direction { TO_PEER, TO_CLIENT };

/* max-bps and bps-capacity: false when len more bytes in d would exceed one. */
bool engine_within_bandwidth(struct relay *r, struct alloc *a, enum direction d,
			     size_t len, uint64_t now);

/* The peer check shared by CreatePermission and ChannelBind: 0, 403 or 443. */
int request_peer_allowed(struct relay *r, const struct alloc *a,
			 const struct stun_addr *peer);

#endif
