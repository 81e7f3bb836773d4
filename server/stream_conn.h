/*
 * A stream connection's insides, shared by server/stream.c (STUN framing,
 * RFC 6062 joins) and server/wsconn.c (WebSocket on the same ports), and
 * by nothing else.
 */
#ifndef TERN_SERVER_STREAM_CONN_H
#define TERN_SERVER_STREAM_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "server/conn.h"
#include "server/worker.h"

struct wsconn;

struct stream_conn {
	struct conn base; /* first: a relay_key's conn points here */
	struct worker *w;
	const struct listener_spec *ls;
	struct bufferevent *bev;
	struct event *deadline; /* first message, then idle; NULL once joined */
	uint64_t last_ms;       /* when the last whole message came */
	bool talked;            /* a first whole message came */
	struct stun_addr peer;
	struct stream_conn *prev, *next; /* the worker's list, for shutdown */
	/* RFC 6062: a client data connection, joined to a peer's */
	uint32_t cid;
	int join_fd;                /* the peer socket, until the join */
	struct bufferevent *peer_bev;
	bool draining;              /* one side ended: flush the other, close */
	/* WebSocket (server/wsconn.c) */
	bool http;                  /* it began with "GET ": reading the upgrade */
	bool lingering;             /* closing once its output is written */
	struct wsconn *ws;          /* upgraded; NULL before and for STUN framing */
};

/* Close c now: its allocation goes, and c is freed. */
void stream_conn_close(struct stream_conn *c);
/* Hand one whole STUN or ChannelData message to the service, queue the
 * reply; false when c must close (its output is full). */
bool stream_conn_message(struct stream_conn *c, const uint8_t *p, size_t len);
/* Stop taking messages; close once what is queued has been written (a
 * WebSocket: and the client has ended too, or STREAM_LINGER_MS later), or
 * at the handshake deadline at the latest. c may be gone on return. */
void stream_conn_linger(struct stream_conn *c);
/* (Re)arm c's deadline ms from now. */
void stream_conn_arm(struct stream_conn *c, uint64_t ms);
/* Log why c is closed (once an interval for its source: server/srclog.h). */
void stream_conn_say(struct stream_conn *c, const char *detail);

#endif
