/*
 * The TURN engine (RFC 8656, RFC 6156), sans-I/O. One engine per worker owns
 * that worker's allocations; nothing in it is shared or locked. Requests go
 * in with the time as a parameter and come out as reply bytes plus at most
 * one datagram for a peer; opening and closing relay sockets and the
 * process-wide quotas are asked of the shell through struct relay_ops.
 *
 * The hot path is two calls: relay_from_client_channel() for ChannelData
 * and relay_from_peer() for a datagram on a relay socket. Neither allocates,
 * locks or logs; relay_from_peer() frames the data in place, in headroom the
 * shell leaves in front of it, so nothing is copied.
 */
#ifndef TERN_RELAY_RELAY_H
#define TERN_RELAY_RELAY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/auth.h"
#include "relay/policy.h"
#include "stun/stun.h"

enum relay_limits {
	RELAY_MAX_PERMISSIONS = 64, /* per allocation */
	RELAY_MAX_CHANNELS = 64,    /* per allocation */
	RELAY_HEADROOM = 48,        /* Data indication header: 20 + 24 + 4 */
	RELAY_TAILROOM = 4,         /* padding to 4 bytes */
	RELAY_PORT_TRIES = 32,      /* random ports tried before 508 */
	RELAY_MAX_NONCE_SECRETS = 2,
	/* RFC 6062 TCP allocations */
	RELAY_TCP_PER_ALLOC = 256,     /* peer connections per allocation */
	RELAY_TCP_SLOT_BITS = 18,      /* peer connections per engine: 2^18 */
	RELAY_TCP_TIMEOUT_MS = 30000,  /* s5.2 connect, s5.3 ConnectionBind */
};

/* Who a client is: the listener it came in on, and its address (RFC 8656
 * s2: with the listener, this is the 5-tuple). */
struct relay_key {
	uint16_t listener;  /* the shell's listener index */
	uint8_t transport;  /* TURN_TRANSPORT_UDP or _TCP (TLS counts as TCP) */
	struct stun_addr client;
	uintptr_t conn;     /* the shell's stream connection; 0 for UDP */
};

struct relay_config {
	uint32_t default_lifetime;    /* 600 s */
	uint32_t max_lifetime;        /* max-allocate-lifetime, 3600 s */
	uint32_t permission_lifetime; /* 300 s */
	uint32_t channel_lifetime;    /* 600 s */
	uint32_t nonce_lifetime;      /* stale-nonce, 600 s */
	uint16_t min_port, max_port;  /* relay ports, 49152..65535 */
	/* where relay sockets bind, and what is advertised (external-ip) */
	bool has_v4, has_v6;
	struct stun_addr relay_v4, relay_v6, public_v4, public_v6;
	uint32_t max_allocations; /* this engine's table */
	uint16_t channel_max;     /* CHANNEL_MAX, or CHANNEL_MAX_RFC5766 */
	uint64_t max_bps;         /* per allocation and direction, bytes/s; 0: none */
	uint64_t capacity_bps;    /* this engine's share of bps-capacity; 0: none */
	bool no_udp_relay;        /* REQUESTED-TRANSPORT UDP gets 442 */
	/* unauthenticated answers per source (IPv4 address, IPv6 /64) a
	 * second, and the burst; rate 0: no limit (unauthorized-ratelimit-*) */
	uint32_t unauth_rate, unauth_burst;
	bool persist;             /* track UDP allocations for the store (relay_sync) */
	/* with persist: a new allocation's answer waits for the store to
	 * acknowledge its record (redis-required; relay_held_done) */
	bool hold_new;
	const char *software;     /* SOFTWARE in responses, or NULL */
	uint8_t shard;            /* this engine's worker: the top byte of its
				     TCP connection ids (relay_tcp_shard) */
	const struct auth *auth;
	const struct policy *policy;
	uint8_t nonce_secret[RELAY_MAX_NONCE_SECRETS][NONCE_SECRET_LEN]; /* [0] current */
	int n_nonce_secrets;
};

/* A bound channel, for a shell that relays ChannelData itself (the kernel
 * fast path, server/xdp.c): from key's client, channel number, its data
 * leaves from relayed for peer, until expires_ms at the latest (the
 * earlier of the channel's and the allocation's expiry); and the peer's
 * datagrams to relayed go to the client as ChannelData until
 * to_client_ms (the earliest of those and the peer's permission). 0: no
 * more. */
struct relay_channel {
	struct relay_key key;
	uint16_t number;
	struct stun_addr relayed, peer;
	uint64_t expires_ms, to_client_ms;
};

/* What the engine asks of the shell. Each returns at once. */
struct relay_ops {
	void *ctx;
	/*
	 * Open a UDP relay socket bound to exactly bind (port included) for
	 * allocation id. Returns a handle >= 0, or -errno (-EADDRINUSE makes
	 * the engine try another port).
	 */
	int (*open)(void *ctx, uint32_t id, const struct stun_addr *bind, bool dont_fragment);
	void (*close)(void *ctx, int handle);
	/*
	 * EVEN-PORT R=1 (RFC 8656 s7.2): bind and hold bind's port under
	 * token for about 30 s (0 or -errno); redeem() turns the held port
	 * into allocation id's relay socket, wherever it was held, and tells
	 * where it is bound (a handle, or -errno for an unknown token).
	 */
	int (*reserve)(void *ctx, const struct stun_addr *bind, const uint8_t token[8],
		       uint64_t now_ms);
	int (*redeem)(void *ctx, uint32_t id, const uint8_t token[8], bool dont_fragment,
		      uint64_t now_ms, struct stun_addr *bound);
	/* Count one more allocation for user against user-quota and
	 * total-quota; false: over quota (486). give() undoes a take(). */
	bool (*quota_take)(void *ctx, const uint8_t *user, size_t len);
	void (*quota_give)(void *ctx, const uint8_t *user, size_t len);
	void (*random)(void *ctx, void *buf, size_t len);

	/*
	 * RFC 6062 TCP allocations. With open_tcp NULL, REQUESTED-TRANSPORT
	 * TCP gets 442 and the rest is never called.
	 *
	 * open_tcp: a TCP socket listening on exactly bind for allocation
	 * id, its connections reported with relay_tcp_accepted(); a handle
	 * for close() like open()'s, or -errno.
	 */
	int (*open_tcp)(void *ctx, uint32_t id, const struct stun_addr *bind);
	/* Connect from listening handle's address to peer for connection cid
	 * and report with relay_tcp_connected(); 0 or -errno, -EEXIST when
	 * that address pair is already connected (446). */
	int (*tcp_connect)(void *ctx, int handle, uint32_t cid, const struct stun_addr *peer);
	/* Close peer connection cid in whatever state: connecting, waiting
	 * for its ConnectionBind, or joined to a client data connection. */
	void (*tcp_close)(void *ctx, uint32_t cid);
	/* Where peer connection cid stands (enum relay_tcp_state). */
	int (*tcp_state)(void *ctx, uint32_t cid);
	/*
	 * ConnectionBind: join pending peer connection cid, made for user, to
	 * client k's connection, which carries only data once the success
	 * response has gone. 0, -ENOENT (no such pending connection) or
	 * -EPERM (another user's). cid may be another engine's.
	 */
	int (*tcp_bind)(void *ctx, uint32_t cid, const uint8_t *user, size_t len,
			const struct relay_key *k);
	/*
	 * The control connection's client address for pending connection
	 * cid, or false. A ConnectionBind may carry the nonce the control
	 * connection was given (coturn's clients do), though nonces are
	 * bound to the client's port and the data connection has its own.
	 */
	bool (*tcp_origin)(void *ctx, uint32_t cid, struct stun_addr *client);
	/* A message the engine makes on its own (a Connect's late answer)
	 * for stream client k. */
	void (*send)(void *ctx, const struct relay_key *k, const uint8_t *msg, size_t len);
	/*
	 * If not NULL: a channel the shell may relay without the engine, client
	 * to peer until c->expires_ms and peer to client until
	 * c->to_client_ms, began, changed or ended (0). Said after every
	 * ChannelBind, Refresh and CreatePermission of an allocation, when one
	 * of those times has passed (relay_tick), and when it goes; for UDP
	 * allocations over UDP without max-bps or bps-capacity (those the
	 * engine must see to meter) and never for the in-process service or
	 * an own address.
	 */
	void (*channel)(void *ctx, const struct relay_channel *c);
	/*
	 * With channel: what the shell relayed itself for channel c (as said
	 * to channel(), its expiries aside) by direction, [0] to the peer and
	 * [1] to the client: datagrams and payload bytes since that
	 * direction's entry began, which changes keep and an expiry of 0 ends
	 * (0 for an entry there is not). Asked only when the engine reports
	 * an allocation's totals, and before it says an entry ends; never per
	 * datagram. NULL: the shell's relaying is not in the totals.
	 */
	void (*channel_counts)(void *ctx, const struct relay_channel *c, uint64_t packets[2],
			       uint64_t bytes[2]);
	/*
	 * Before an Allocate takes anything, for client k (table_full: this
	 * engine's table is): 0 to go on; STUN_ERR_TRY_ALTERNATE with alt set
	 * to another node of the fleet, in k's family and transport, to answer
	 * 300 with ALTERNATE-SERVER (RFC 8656 s7.2, RFC 8489 s10), and *domain
	 * set (or left NULL) to the name the client is to check that node's
	 * certificate against, sent as ALTERNATE-DOMAIN (RFC 8489 s14.16: over
	 * TLS and DTLS); or an error code to answer instead (508 while a
	 * required store is away). NULL: always go on.
	 */
	int (*admit)(void *ctx, const struct relay_key *k, bool table_full,
		     struct stun_addr *alt, const char **domain);
};

enum relay_tcp_state { RELAY_TCP_GONE, RELAY_TCP_PENDING, RELAY_TCP_BOUND };

enum relay_drop {
	RD_NO_ALLOCATION,  /* ChannelData/Send with no allocation */
	RD_NO_CHANNEL,     /* ChannelData on an unbound channel */
	RD_NO_PERMISSION,  /* peer not permitted, either direction */
	RD_BANDWIDTH,      /* over max-bps */
	RD_BAD_INDICATION, /* Send without peer or data */
	RD_COUNT
};

/* Counters: each written only by the engine's worker, read by stats. */
struct relay_stats {
	_Atomic uint64_t allocations[2]; /* gauge, by family: [0] v4, [1] v6 */
	_Atomic uint64_t allocations_total;
	/* relayed by the engine (a shell's fast path counts its own) */
	_Atomic uint64_t to_peer_packets, to_peer_bytes;
	_Atomic uint64_t to_client_packets, to_client_bytes;
	_Atomic uint64_t auth_failures[AUTH_FAIL_COUNT];
	_Atomic uint64_t policy_denied[POLICY_VERDICT_COUNT];
	_Atomic uint64_t challenges;   /* 401s to requests without credentials */
	_Atomic uint64_t rate_limited; /* unauthenticated requests dropped unanswered */
	_Atomic uint64_t quota_rejected;
	_Atomic uint64_t capacity_rejected;
	_Atomic uint64_t dropped[RD_COUNT];
	/* RFC 6062 peer connections: made by Connect, accepted from peers,
	 * failed (447) and refused (no permission or over the limit) */
	_Atomic uint64_t tcp_connected, tcp_accepted, tcp_failed, tcp_refused;
	/* the store: allocations restored at start, deletions that found the
	 * queue full while the store was away (their records expire by TTL) */
	_Atomic uint64_t restored, deletes_lost;
	_Atomic uint64_t redirected; /* Allocates answered 300 Try Alternate */
};

/* What a client message made the engine do. */
struct relay_action {
	size_t reply_len;   /* bytes written to out, for the client */
	int error;          /* error code answered, 0 for none */
	int peer_handle;    /* >= 0: send data to peer from this relay socket */
	struct stun_addr peer;
	const uint8_t *data;
	size_t data_len;
	/* the peer is the in-process service (policy_set_local_port) at own
	 * address local_index: hand the data over instead of sending it */
	bool local;
	uint8_t local_index;
	uint32_t alloc; /* the allocation's id, for an answer from that service */
	/* for the shell's log: credentials that failed (enum auth_fail, never
	 * AUTH_NO_INTEGRITY, the normal challenge), or a request left
	 * unanswered because its source is over the unauthenticated budget */
	uint8_t auth_fail;
	bool limited;
	/* cfg->hold_new: the answer is for a new allocation whose record the
	 * store must acknowledge first; hold it, and send it, or the 508 the
	 * engine wrote after it (fallback_len bytes at out + reply_len) when
	 * relay_held_done() says the wait failed */
	bool hold;
	size_t fallback_len;
};

struct relay;

/* The engine keeps pointers to cfg (and its auth and policy) and ops. */
struct relay *relay_new(const struct relay_config *cfg, const struct relay_ops *ops);
/* Closes every relay socket through ops and frees the engine. */
void relay_free(struct relay *r);

/* A parsed STUN request or indication (not Binding) from a client. */
struct relay_action relay_from_client(struct relay *r, const struct relay_key *k,
				      const struct stun_msg *m, uint64_t now_ms,
				      uint8_t *out, size_t cap);

/* ChannelData from a client: where to send its data. */
struct relay_action relay_from_client_channel(struct relay *r, const struct relay_key *k,
					      uint16_t channel, const uint8_t *data,
					      size_t len, uint64_t now_ms);

/*
 * A datagram from peer on the relay socket opened for allocation id. The data
 * is at data[0..len) with RELAY_HEADROOM writable bytes before it and
 * RELAY_TAILROOM after it (for padding). Returns
 * the client and sets *msg and *msg_len to the framed message (ChannelData or
 * Data indication) to send it, or NULL to drop.
 */
const struct relay_key *relay_from_peer(struct relay *r, uint32_t id,
					const struct stun_addr *peer, uint8_t *data,
					size_t len, uint64_t now_ms, uint8_t **msg,
					size_t *msg_len);

/* Whether allocation id is live and client's (ids are reused: an answer
 * meant for a freed allocation must not reach the next one's client). */
bool relay_serves(const struct relay *r, uint32_t id, const struct stun_addr *client);

/* Expire what is due. Call about once a second. */
void relay_tick(struct relay *r, uint64_t now_ms);

/* The allocation for k is gone with its transport (TCP/TLS closed). */
void relay_client_gone(struct relay *r, const struct relay_key *k);
/* Whether client k has a live allocation (its stream may stay quiet). */
bool relay_has_allocation(const struct relay *r, const struct relay_key *k);

/*
 * The store acknowledged (ok) the record of k's held allocation, made by
 * the Allocate with transaction id tid, or could not (the wait ran out, the
 * store went away): then the allocation is released. False if there is no
 * such held allocation any more; its answer is then not to be sent.
 */
bool relay_held_done(struct relay *r, const struct relay_key *k,
		     const uint8_t tid[STUN_TID_LEN], bool ok);

const struct relay_stats *relay_stats(const struct relay *r);

/*
 * RFC 6062. The connection the shell started for cid (ops->tcp_connect) is
 * up (err 0) or failed (-errno); the engine answers the Connect through
 * ops->send. true: keep it waiting for its ConnectionBind; false: close it.
 */
bool relay_tcp_connected(struct relay *r, uint32_t cid, int err, uint64_t now_ms);
/*
 * A peer connected to TCP allocation id's relayed address. Returns the new
 * connection's id, or 0: close it (no permission, no such allocation, at the
 * limit). The shell records the connection where any worker can bind it,
 * then sends the client what relay_tcp_announce() writes.
 */
uint32_t relay_tcp_accepted(struct relay *r, uint32_t id, const struct stun_addr *peer,
			    uint64_t now_ms);
/* The ConnectionAttempt for pending connection cid, into out; returns the
 * client to send it to and sets *len, or NULL. */
const struct relay_key *relay_tcp_announce(struct relay *r, uint32_t cid, uint8_t *out,
					   size_t cap, size_t *len);
/* The username and client address of the allocation that owns connection
 * cid; false if there is none. */
bool relay_tcp_owner(const struct relay *r, uint32_t cid, const uint8_t **user,
		     size_t *len, struct stun_addr *client);

/*
 * The store (relay_config.persist). The engine remembers which UDP
 * allocations changed and which went away, each once however often it
 * changed, so what waits for the store is bounded by the table; the shell
 * drains it when the store can take it.
 */
struct relay_record;
/* An allocation that went, for the store's deletion event. */
struct relay_gone {
	uint16_t listener;
	struct stun_addr client;
	uint8_t *user; /* NULL if it could not be kept */
	uint16_t user_len;
	uint64_t packets[2], bytes[2]; /* [0] to peer, [1] to client */
};
struct relay_sync_ops {
	void *ctx;
	/* rec (valid during the call, the shell may fill rec->local) is new
	 * (rec->fresh) or changed */
	void (*put)(void *ctx, struct relay_record *rec);
	/* the record filed under key is gone, if it still carries tag */
	void (*del)(void *ctx, const struct stun_addr *key, uint64_t tag,
		    const struct relay_gone *gone);
};
/* Hand everything pending to ops: deletions first, then changes. */
void relay_sync(struct relay *r, uint64_t now_ms, const struct relay_sync_ops *ops);
/* Each UDP allocation that relayed anything since the last call, as a
 * record with its counters (rec->packets, rec->bytes: totals so far, the
 * shell's fast path included: ops->channel_counts). */
void relay_traffic(struct relay *r, uint64_t now_ms,
		   void (*fn)(void *ctx, struct relay_record *rec), void *ctx);
/* Every allocation (UDP and TCP relays), as a record (rec->packets and
 * rec->bytes: totals so far, as relay_traffic's), with its client transport (TURN_TRANSPORT_*)
 * and whether it relays TCP (RFC 6062); fn may stop the walk by returning
 * false. For the stats endpoint's /allocations. */
void relay_each(struct relay *r, uint64_t now_ms,
		bool (*fn)(void *ctx, const struct relay_record *rec, uint8_t transport,
			   bool tcp_relay),
		void *ctx);
/* Every UDP allocation pending again: the store came back, maybe empty. */
void relay_mark_all(struct relay *r);
/* Whether an allocation made or deleted waits for relay_sync: the shell
 * syncs at once, before the answer goes, so a crash cannot lose an
 * allocation its client was told it has. Changes to live allocations
 * (Refresh, permissions, channels) wait for the shell's batch. */
bool relay_sync_urgent(const struct relay *r);
/* Whether anything waits for relay_sync. */
bool relay_sync_pending(const struct relay *r);
/*
 * Take back an allocation from its record, as this engine made it: the same
 * relay addresses (through ops->open), user (counted by ops->quota_take),
 * lifetime, permissions and channels; what expired by now_ms is left out.
 * 0, or -ETIMEDOUT (it expired), -EEXIST (the client has one), -EDQUOT,
 * -ENOSPC (table full) or open's -errno.
 */
int relay_restore(struct relay *r, const struct relay_record *rec, uint64_t now_ms);

/* The shard (relay_config.shard) whose engine made connection id cid. */
static inline uint8_t relay_tcp_shard(uint32_t cid)
{
	return (uint8_t)(cid >> 24);
}

#endif
