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
	UNAUTH_TABLE = 4096,          /* sources the unauthenticated budget tracks */
	GONE_MAX = 64,                /* deletions remembered for retransmits */
	GONE_MS = 40 * 1000,          /* longer than a client's retransmit span */
};

/* An RFC 6062 peer connection of a TCP allocation (relay/tcp.c). */
enum tcpc_state { TCPC_FREE, TCPC_CONNECTING, TCPC_PENDING, TCPC_BOUND };

struct tcpc {
	uint32_t cid;
	uint32_t alloc_id;
	uint32_t next;       /* the allocation's next: slot + 1, 0 ends; free list when free */
	uint8_t state;       /* enum tcpc_state */
	uint8_t gen;         /* bumped at each reuse of the slot, part of cid */
	struct stun_addr peer;
	uint64_t expires;    /* CONNECTING and PENDING: ms */
	/* CONNECTING: the Connect to answer, and how to sign the answer */
	uint8_t tid[STUN_TID_LEN];
	uint8_t key[AUTH_KEY_MAX];
	uint8_t keylen;
	bool sha256, fingerprint;
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
	/* RFC 6062 peer connections, by slot (the low bits of their ids) */
	struct tcpc *tcp;
	uint32_t tcp_cap, tcp_used; /* slots allocated, slots ever handed out */
	uint32_t tcp_free;          /* free list: slot + 1, 0 for empty */
	/* cfg->persist: what the store has not seen yet (relay/persist.c) */
	uint32_t *dirty;            /* allocation ids, each once */
	uint32_t n_dirty;
	struct deleted *deleted;    /* records to remove */
	uint32_t n_deleted;
	struct relay_record *rec;   /* scratch for relay_sync */
	bool closing;               /* relay_free: the records stay */
	bool urgent;                /* a creation or deletion waits for the store */
};

/* A record the store must drop: filed under key, if it still has tag; the
 * rest is for the deletion's event. */
struct deleted {
	struct stun_addr key;
	uint64_t tag;
	struct relay_gone gone;
};

/* relay/offload.c: the channels a shell relays itself (ops->channel). */
void offload_sync(struct relay *r, struct alloc *a, uint64_t now);
void offload_gone(struct relay *r, struct alloc *a);
/* An allocation whose offloaded channel or permission lapsed by now said
 * again (relay_tick), so the shell's entry goes with its counts rather
 * than wait for the allocation's next request or its end. */
void offload_lapsed(struct relay *r, struct alloc *a, uint64_t now);
/* Channels expired by now said gone, before chan_bind() may forget them. */
void offload_expired(struct relay *r, struct alloc *a, uint64_t now);
/* What the shell relayed for a since the last call, into a's totals
 * (ops->channel_counts: two syscalls a channel, so only for reports). */
void offload_collect(struct relay *r, struct alloc *a);

/* relay/persist.c: the engine's side of the store. */
int persist_init(struct relay *r);
void persist_free(struct relay *r);
/* a changed; and a about to be released. Both no-ops unless cfg->persist
 * and a is a UDP allocation over UDP (the only kind a restart can keep). */
void persist_mark(struct relay *r, struct alloc *a);
void persist_forget(struct relay *r, struct alloc *a);
/* Whether a's record goes to the store at all. */
bool persist_wanted(const struct relay *r, const struct alloc *a);

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
/* The same for a message answered later: key NULL for none. */
size_t reply_seal(struct stun_builder *b, const struct relay *r, const uint8_t *key,
		  size_t keylen, bool sha256, bool fingerprint);
/* A complete error response; 401 and 438 carry a fresh challenge. */
struct relay_action reply_error(const struct relay *r, const struct relay_key *k,
				const struct stun_msg *req, const struct auth_result *auth,
				int code, uint64_t now_ms, uint8_t *out, size_t cap);

static inline void stat_inc(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* 300 Try Alternate, naming alt in ALTERNATE-SERVER, and domain (if not
 * NULL) in ALTERNATE-DOMAIN. */
struct relay_action reply_alternate(const struct relay *r, const struct stun_msg *req,
				    const struct auth_result *auth, const struct stun_addr *alt,
				    const char *domain, uint8_t *out, size_t cap);

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

/* RFC 6062 (relay/tcp.c): Connect on a TCP allocation, ConnectionBind on a
 * connection that has none; closing an allocation's peer connections. */
struct relay_action tcp_connect_request(struct relay *r, struct alloc *a,
					const struct stun_msg *m,
					const struct auth_result *auth, uint64_t now,
					uint8_t *out, size_t cap);
struct relay_action tcp_bind_request(struct relay *r, const struct relay_key *k,
				     const struct stun_msg *m,
				     const struct auth_result *auth, uint64_t now,
				     uint8_t *out, size_t cap);
void tcp_release(struct relay *r, struct alloc *a);
/* A ConnectionBind's control connection address (ops->tcp_origin). */
bool tcp_bind_origin(const struct relay *r, const struct relay_key *k,
		     const struct stun_msg *m, struct stun_addr *origin);
void tcp_tick(struct relay *r, uint64_t now);
void tcp_free_all(struct relay *r);

enum direction { TO_PEER, TO_CLIENT };

/* One datagram of len bytes relayed for a in direction d. */
static inline void engine_count(struct relay *r, struct alloc *a, enum direction d, size_t len)
{
	if (d == TO_PEER) {
		stat_inc(&r->stats.to_peer_packets, 1);
		stat_inc(&r->stats.to_peer_bytes, len);
	} else {
		stat_inc(&r->stats.to_client_packets, 1);
		stat_inc(&r->stats.to_client_bytes, len);
	}
	a->packets[d]++;
	a->bytes[d] += len;
}

/* max-bps and bps-capacity: false when len more bytes in d would exceed one. */
bool engine_within_bandwidth(struct relay *r, struct alloc *a, enum direction d,
			     size_t len, uint64_t now);

/* What the peer check is for: an IP (CreatePermission), ip:port for
 * datagrams (ChannelBind), ip:port for a TCP connection (Connect). */
enum peer_use { PEER_PERMISSION, PEER_DATAGRAM, PEER_STREAM };

/* The peer check of CreatePermission, ChannelBind and Connect: 0, 403 or 443. */
int request_peer_allowed(struct relay *r, const struct alloc *a,
			 const struct stun_addr *peer, enum peer_use use);

/*
 * act carries a datagram for act->peer under a permission: mark it for the
 * in-process service if it is addressed to one, and return false if it is
 * for another port of an own address (a permission for the service's IP
 * opens no other port of this host).
 */
bool engine_route(const struct relay *r, const struct alloc *a, struct relay_action *act);

#endif
