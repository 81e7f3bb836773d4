/*
 * The WireGuard responder, sans-I/O (DESIGN.md s2): datagrams from the
 * network and IP packets from the TUN device go in with the time as a
 * parameter; datagrams for peers and packets for the TUN come out through
 * struct tunnel_ops. One engine owns its peers, their sessions and its
 * receiver indexes; nothing in it is shared or locked.
 *
 * A handshake is answered only for a known peer whose initiation carries a
 * good mac1 (checked before any Diffie-Hellman), a timestamp newer than the
 * last one seen, and, under load, a good mac2 (otherwise a cookie reply).
 * Each peer keeps up to TUNNEL_SESSIONS keypairs for receiving, so a peer
 * that re-handshakes often loses nothing in flight; a new keypair sends
 * only once the peer has used it (key confirmation).
 *
 * The hot path is tunnel_from_network() for a data message and
 * tunnel_from_tun() for a packet to a peer: both work in place in the
 * caller's buffer, one AEAD call each, and neither allocates, locks or logs.
 */
#ifndef TERN_TUNNEL_TUNNEL_H
#define TERN_TUNNEL_TUNNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stun/stun.h"
#include "tunnel/messages.h"

enum tunnel_limits {
	TUNNEL_SESSIONS = 8,                       /* keypairs per peer, for receiving */
	TUNNEL_HEADROOM = WG_DATA_HEADER_LEN,      /* before a TUN packet */
	TUNNEL_TAILROOM = WG_PADDING - 1 + WG_TAG_LEN, /* after any packet */
	TUNNEL_MAX_PEERS = 1 << 22,
	TUNNEL_RATE = 20, TUNNEL_BURST = 5,        /* handshakes per source under load */
	TUNNEL_RATE_TABLE = 8192,
	TUNNEL_PENDING = 1024,                     /* handshakes waiting for the store */
	TUNNEL_NEGATIVE = 4096,                    /* keys the store did not have */
	TUNNEL_NEGATIVE_MS = 10000,                /* ... for this long */
};

/* Where a peer is: a UDP address on one of the shell's sockets, or a
 * stream connection (WebSocket) the shell knows by conn. */
struct tunnel_endpoint {
	struct stun_addr addr;
	uint16_t listener; /* the shell's socket */
	uintptr_t conn;    /* 0 for UDP */
};

struct tunnel_config {
	uint8_t private_key[WG_KEY_LEN];
	/* handshakes a second past which mac2 is required (cookie replies):
	 * 0 always requires it */
	uint32_t cookie_threshold;
	bool gateway;                /* packets to no peer go to the TUN */
	uint16_t mtu;                /* the TUN's: padding stops there; 0: none */
	uint8_t shard, shard_bits;   /* the top bits of our receiver indexes */
	/* with a store (ops.lookup): */
	uint32_t lookup_rate;        /* lookups a second of keys not in memory */
	uint32_t lookup_timeout_ms;  /* how long a handshake waits for its record */
	uint32_t peer_idle_ms;       /* a stored peer leaves memory after this long
				      * without a handshake; 0: never */
	uint32_t max_stored_peers;   /* and the least recent leaves past this; 0: no cap */
	uint32_t traffic_interval_ms; /* ops.traffic; 0: only when a session ends */
};

/* A peer's session began (its first keypair since it had none) or ended
 * (its last keypair expired, or it was removed). */
struct tunnel_session_event {
	const uint8_t *public_key;
	bool up;
	const struct tunnel_endpoint *endpoint; /* NULL if none */
	uint64_t rx_bytes, tx_bytes;            /* the peer's totals, on the wire */
};

struct tunnel_ops {
	void *ctx;
	/* a datagram for a peer */
	void (*send)(void *ctx, const struct tunnel_endpoint *to, const uint8_t *p, size_t len);
	/* an inner IP packet for the TUN device (gateway mode) */
	void (*deliver)(void *ctx, const uint8_t *p, size_t len);
	void (*random)(void *ctx, void *buf, size_t len);
	/*
	 * Peers in a store (NULL: every peer is in memory, as the shell put
	 * it). For a handshake from a key that is not in memory, or from a
	 * stored peer (tunnel_peer_conf.stored), ask the store for the record
	 * of key and to take tai64n as the peer's newest timestamp if it is
	 * newer than the one it has; answer later, never from inside this
	 * call, with tunnel_lookup_done(ticket).
	 */
	void (*lookup)(void *ctx, const uint8_t key[WG_KEY_LEN],
		       const uint8_t tai64n[WG_TAI64N_LEN], uint32_t ticket);
	/* sessions beginning and ending, if not NULL */
	void (*session)(void *ctx, const struct tunnel_session_event *ev);
	/* a stored peer's bytes on the wire since the last report: every
	 * traffic_interval_ms while it has a session, and when it ends */
	void (*traffic)(void *ctx, const uint8_t key[WG_KEY_LEN], uint64_t rx, uint64_t tx);
};

/* The store's answer to a lookup. */
enum tunnel_lookup_result {
	TUNNEL_FOUND,      /* the record; the timestamp was newer and is now its */
	TUNNEL_ABSENT,     /* no such peer (any more) */
	TUNNEL_REPLAY,     /* the store has a timestamp as new or newer */
	TUNNEL_STORE_DOWN, /* no answer: a peer in memory is judged locally */
};

/* An allowed-IPs prefix. */
struct tunnel_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t plen;
	uint8_t ip[16];
};

enum tunnel_drop {
	TD_NOT_WIREGUARD,  /* no message type, or a bad length */
	TD_MAC1,           /* not for us */
	TD_UNKNOWN_PEER,   /* a good initiation from a key we do not know */
	TD_HANDSHAKE,      /* failed to open, or not for that peer */
	TD_TIMESTAMP,      /* an initiation no newer than the last: a replay */
	TD_FLOOD,          /* over 50 initiations a second from one peer */
	TD_RATELIMIT,      /* under load, over the per-source budget */
	TD_UNKNOWN_INDEX,  /* a data message for no session of ours */
	TD_EXPIRED,        /* its session is too old, or used up */
	TD_DECRYPT,        /* did not authenticate */
	TD_REPLAY,         /* a counter seen before, or behind the window */
	TD_ALLOWED_IPS,    /* inner source not in the sender's allowed IPs */
	TD_NO_ROUTE,       /* inner destination: no peer, and no TUN */
	TD_NO_SESSION,     /* to a peer with no confirmed session */
	TD_BAD_PACKET,     /* inner packet not IPv4 or IPv6 */
	TD_UNEXPECTED,     /* a response: we never initiate */
	TD_LOOKUP_LIMIT,   /* a key not in memory, over the lookup budget */
	TD_LOOKUP_TIMEOUT, /* the store did not answer in time */
	TD_STORE_DOWN,     /* a key not in memory while the store is away */
	TD_COUNT
};

/* Counters: written by the engine's thread only, read by stats. */
struct tunnel_stats {
	_Atomic uint64_t peers, sessions;           /* gauges */
	_Atomic uint64_t initiations, responses, cookie_replies, cookies_taken;
	_Atomic uint64_t rx_packets, rx_bytes;      /* inner, from peers */
	_Atomic uint64_t tx_packets, tx_bytes;      /* inner, to peers */
	_Atomic uint64_t keepalives;                /* sent */
	_Atomic uint64_t lookups, evictions;        /* store lookups; stored peers let go */
	_Atomic uint64_t dropped[TD_COUNT];
	_Atomic bool under_load;
};

struct tunnel_peer_conf {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];
	bool has_preshared_key;
	uint16_t keepalive;            /* persistent keepalive, seconds; 0: off */
	bool has_endpoint;
	struct tunnel_endpoint endpoint;
	bool stored; /* from the store: looked up at each handshake, let go when idle */
};

/* What tunnel_peer_each() shows of a peer (wg show). */
struct tunnel_peer_info {
	const uint8_t *public_key, *preshared_key; /* preshared_key NULL if none */
	uint16_t keepalive;
	const struct tunnel_endpoint *endpoint;    /* NULL if none yet */
	uint64_t last_handshake_ms;                /* Unix ms; 0: never */
	uint64_t rx_bytes, tx_bytes;               /* on the wire, as wg counts */
	int sessions;
};

struct tunnel;

/* NULL for a bad private key or no memory. The engine keeps ops. */
struct tunnel *tunnel_new(const struct tunnel_config *cfg, const struct tunnel_ops *ops);
void tunnel_free(struct tunnel *t);
const uint8_t *tunnel_public_key(const struct tunnel *t);
/* Our private key, for the UAPI's get (root only), into out. */
void tunnel_private_key(const struct tunnel *t, uint8_t out[WG_KEY_LEN]);

/*
 * A datagram from the network, at p[0..len), p having cap bytes (a data
 * message forwarded to another peer is sealed again in place: cap >= len +
 * TUNNEL_TAILROOM).
 */
void tunnel_from_network(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *p,
			 size_t len, size_t cap, uint64_t now_ms);
/* An IP packet from the TUN device at buf + TUNNEL_HEADROOM, len bytes, buf
 * having cap bytes (>= TUNNEL_HEADROOM + len + TUNNEL_TAILROOM). */
void tunnel_from_tun(struct tunnel *t, uint8_t *buf, size_t len, size_t cap, uint64_t now_ms);
/* Keepalives and expiry. Call about every 100 ms. */
void tunnel_tick(struct tunnel *t, uint64_t now_ms);
/* The store's answer to lookup(ticket): for TUNNEL_FOUND, the record as pc
 * (its stored set) and allowed[0..n), which replace what a peer in memory
 * had. An answer for a handshake that timed out is ignored. */
void tunnel_lookup_done(struct tunnel *t, uint32_t ticket, enum tunnel_lookup_result r,
			const struct tunnel_peer_conf *pc, const struct tunnel_prefix *allowed,
			int n, uint64_t now_ms);
/* The store says key's record changed: it is asked afresh at its next
 * handshake, and a deleted stored peer leaves memory (and its sessions end)
 * now. */
void tunnel_store_changed(struct tunnel *t, const uint8_t key[WG_KEY_LEN], bool deleted);
/* Require mac2 of every handshake from now, or go back to the threshold. */
void tunnel_force_cookies(struct tunnel *t, bool on);

/* Add a peer or change one (its sessions stay). 0, -EINVAL (a key that
 * gives an all-zero DH, or is ours) or -ENOMEM. */
int tunnel_peer_set(struct tunnel *t, const struct tunnel_peer_conf *pc);
/* Fill pc with the peer's configuration; -ENOENT if there is none. */
int tunnel_peer_get(const struct tunnel *t, const uint8_t public_key[WG_KEY_LEN],
		    struct tunnel_peer_conf *pc);
/* Remove every peer. 0, or -ENOMEM (and none removed). */
int tunnel_peer_clear(struct tunnel *t);
/* Give prefix ip/plen (family 4 or 6) to the peer; with replace, first take
 * all of its prefixes away (ip NULL: only that). 0, -ENOENT, -EINVAL, -ENOMEM. */
int tunnel_peer_allow(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN], bool replace,
		      int family, const uint8_t *ip, uint8_t plen);
/* Take prefix ip/plen from the peer, if it has it. */
int tunnel_peer_disallow(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN], int family,
			 const uint8_t *ip, uint8_t plen);
/* Remove a peer, its prefixes and its sessions. 0 or -ENOENT. */
int tunnel_peer_remove(struct tunnel *t, const uint8_t public_key[WG_KEY_LEN]);
bool tunnel_peer_exists(const struct tunnel *t, const uint8_t public_key[WG_KEY_LEN]);
void tunnel_peer_each(const struct tunnel *t,
		      void (*fn)(void *ctx, const struct tunnel_peer_info *p), void *ctx);
/* Each peer's prefixes, as fn(ctx, its public key, family, ip, plen). */
void tunnel_allowed_each(const struct tunnel *t,
			 void (*fn)(void *ctx, const uint8_t *public_key, int family,
				    const uint8_t *ip, uint8_t plen),
			 void *ctx);

const struct tunnel_stats *tunnel_stats(const struct tunnel *t);
const char *tunnel_drop_name(enum tunnel_drop d);

#endif
