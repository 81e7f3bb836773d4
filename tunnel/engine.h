/*
 * The tunnel engine's insides, shared by the files of tunnel/ that handle
 * messages. Not an API: callers use tunnel/tunnel.h.
 */
#ifndef TERN_TUNNEL_ENGINE_H
#define TERN_TUNNEL_ENGINE_H

#include "relay/ratelimit.h"
#include "tunnel/allowedips.h"
#include "tunnel/blake2s.h"
#include "tunnel/cookie.h"
#include "tunnel/index.h"
#include "tunnel/noise.h"
#include "tunnel/replay.h"
#include "tunnel/tunnel.h"

struct peer;

/* One session's keys (tunnel/keypair.c). */
struct keypair {
	struct peer *peer;
	uint32_t local, remote;   /* our receiver index, and the peer's */
	uint8_t send_key[WG_KEY_LEN], recv_key[WG_KEY_LEN];
	uint64_t send_counter;    /* the next nonce we use */
	uint64_t born;            /* ms */
	bool confirmed;           /* the peer has sent on it */
	struct replay replay;
};

struct peer {
	uint8_t public_key[WG_KEY_LEN];
	uint8_t psk[WG_KEY_LEN];  /* zeros if none */
	bool has_psk;
	uint8_t ss[WG_KEY_LEN];   /* X25519(our private, public_key) */
	uint8_t mac1_key[WG_HASH_LEN];  /* for our responses to it */
	uint8_t reply_key[WG_HASH_LEN]; /* opens its cookie replies */
	uint8_t last_mac1[WG_MAC_LEN];  /* of our last response to it */
	uint8_t cookie[WG_MAC_LEN];     /* its cookie, for mac2 */
	uint64_t cookie_at;             /* ms; 0: none */
	uint8_t timestamp[WG_TAI64N_LEN]; /* of its latest initiation */
	uint64_t last_initiation;       /* ms */
	struct tunnel_endpoint endpoint;
	bool has_endpoint;
	uint16_t keepalive;             /* persistent, seconds */
	struct keypair *kp[TUNNEL_SESSIONS]; /* a ring; next_slot is the oldest */
	unsigned next_slot;
	struct keypair *current;        /* newest confirmed: we send with it */
	uint64_t last_sent, keepalive_due;
	uint64_t handshake_at;          /* ms of the latest handshake */
	uint64_t rx_bytes, tx_bytes;
	uint64_t rx_told, tx_told;      /* what session events have reported */
	struct peer *active_prev, *active_next; /* peers holding keypairs */
	bool active;
	bool stored;                    /* from the store (tunnel_peer_conf.stored) */
	struct peer *lru_prev, *lru_next; /* stored peers, latest handshake last */
	uint64_t lru_at;                /* ms of its latest handshake, or its loading */
};

/* A handshake waiting for the store (tunnel/lookup.c). */
struct pending {
	uint32_t ticket;                /* 0: free */
	uint64_t at;
	struct tunnel_endpoint from;
	struct noise_initiation in;     /* opened and finished: ready to answer */
	uint8_t timestamp[WG_TAI64N_LEN];
	uint8_t ss[WG_KEY_LEN];         /* worked out for a key not in memory */
	bool has_ss;
};

struct negative {
	uint8_t key[WG_KEY_LEN];
	uint64_t until;
};

struct tunnel {
	struct tunnel_config cfg;
	const struct tunnel_ops *ops;
	struct blake2s *b2s;
	struct noise_static me;
	struct cookie_checker cookies;
	struct ratelimit *limiter;     /* handshakes per source, under load */
	struct index *index;
	struct allowedips *allowed;
	struct peers *peers;
	struct peer *active;           /* list of peers with keypairs */
	/* load: initiations in the current second */
	uint64_t second, in_second, under_load_until;
	bool forced;
	/* the store (tunnel/lookup.c) */
	struct pending *pending;       /* TUNNEL_PENDING of them, by ticket */
	struct negative *negative;     /* TUNNEL_NEGATIVE, by the key's first bytes */
	uint32_t next_ticket;
	double lookup_tokens;
	uint64_t lookup_at;
	struct peer *lru_head, *lru_tail;
	uint32_t n_stored;
	uint64_t now;                  /* the latest tick's time */
	uint64_t traffic_at;           /* the latest traffic reports */
	struct tunnel_stats stats;
};

static inline void tstat(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void tdrop(struct tunnel *t, enum tunnel_drop d)
{
	tstat(&t->stats.dropped[d], 1);
}

/* tunnel/peer.c: the table of peers by public key */
struct peers *peers_new(void);
void peers_free(struct peers *pt);
struct peer *peers_find(const struct peers *pt, const uint8_t key[WG_KEY_LEN]);
/* A new, zeroed peer with that key in the table; NULL without memory. */
struct peer *peers_insert(struct peers *pt, const uint8_t key[WG_KEY_LEN]);
void peers_erase(struct peers *pt, struct peer *p);
size_t peers_count(const struct peers *pt);
void peers_each(const struct peers *pt, void (*fn)(void *ctx, struct peer *p),
		     void *ctx);

/* tunnel/tunnel.c: tunnel_peer_set with the peer's ss, if it is new, given
 * (NULL: worked out) */
int tunnel_peer_set_ss(struct tunnel *t, const struct tunnel_peer_conf *pc,
		       const uint8_t *ss);

/* tunnel/keypair.c */
/* A keypair for p's index remote, its keys still to be set. */
struct keypair *keypair_new(struct peer *p, uint32_t remote, uint64_t now);
void keypair_free(struct keypair *kp);
/* Open data message msg[0..len) in place (the plaintext at msg + 16,
 * len - 32 bytes); false if it does not authenticate. */
bool keypair_open(struct keypair *kp, uint8_t *msg, size_t len);
/* Seal the plaintext at msg + 16 (len bytes) in place, padded to 16 but
 * not past mtu (0: no cap), behind a header; the message's length, or 0
 * when the keypair is spent. msg has room for len + TUNNEL_HEADROOM +
 * TUNNEL_TAILROOM. */
size_t keypair_seal(struct keypair *kp, uint8_t *msg, size_t len, size_t mtu);
/* Whether it may still receive (or, sending, send) at now. */
bool keypair_alive(const struct keypair *kp, uint64_t now, bool sending);

/* tunnel/session.c: a peer's keypairs and timers */
/* Install a new keypair (not yet confirmed), retiring the oldest. */
void session_add(struct tunnel *t, struct peer *p, struct keypair *kp);
/* kp authenticated a packet: confirm it, and send with it if it is newer. */
void session_confirm(struct tunnel *t, struct keypair *kp);
/* Drop every keypair of p (removal, or a new private key). */
void session_clear(struct tunnel *t, struct peer *p);
/* Expire what is due, send keepalives. */
void session_tick(struct tunnel *t, struct peer *p, uint64_t now);
/* p's bytes since the last report to ops.traffic, if it is stored. */
void session_report(struct tunnel *t, struct peer *p);
/* Send an empty data message (a keepalive) to p, if it has a session. */
void session_keepalive(struct tunnel *t, struct peer *p, uint64_t now);

/* tunnel/handshake.c */
void handshake_initiation(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *msg,
			  uint64_t now);
/* Steps 5 and 6 for p: false (counted) if in does not pass. */
bool handshake_fresh(struct tunnel *t, struct peer *p, struct noise_initiation *in,
		     uint64_t now);
/* Step 7: answer in, from p at from. */
void handshake_respond(struct tunnel *t, struct peer *p, const struct tunnel_endpoint *from,
		       struct noise_initiation *in, uint64_t now);

/* tunnel/lookup.c: peers in a store, loaded at their handshake */
bool lookup_init(struct tunnel *t);
void lookup_free(struct tunnel *t);
/* An initiation opened as in, from a key not in memory (p NULL) or a
 * stored peer p: checked as far as can be here, then parked for the store. */
void lookup_begin(struct tunnel *t, struct peer *p, const struct tunnel_endpoint *from,
		  struct noise_initiation *in, uint64_t now);
/* Handshakes that waited too long; stored peers idle too long. */
void lookup_tick(struct tunnel *t, uint64_t now);
/* p is stored now (on the LRU list), or leaves the list. */
void lookup_track(struct tunnel *t, struct peer *p, uint64_t now);
void lookup_untrack(struct tunnel *t, struct peer *p);
void handshake_cookie(struct tunnel *t, const uint8_t *msg, uint64_t now);

/* tunnel/transport.c */
void transport_receive(struct tunnel *t, const struct tunnel_endpoint *from, uint8_t *msg,
		       size_t len, size_t cap, uint64_t now);
/* Seal the packet at buf + TUNNEL_HEADROOM for p and send it. */
void transport_send(struct tunnel *t, struct peer *p, uint8_t *buf, size_t len, uint64_t now);

#endif
