/*
 * WebSocket on the TCP and TLS ports (issue 12): a stream whose first
 * bytes are "GET " is an HTTP upgrade, answered here (server/ws.h parses
 * it) and then framed by wslay. On /turn each binary message is one STUN
 * message or ChannelData frame for the TURN service, as if it had come on
 * the stream itself; on /wg (and /) each carries WireGuard datagrams to
 * the responder's thread over the handover lanes (server/handover.h),
 * one a binary message or in flyctl's length-prefixed stream.
 */
#ifndef TERN_SERVER_WSCONN_H
#define TERN_SERVER_WSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/worker.h"

struct stream_conn;

/* Whether a new stream's first four bytes begin an HTTP request, which this
 * server answers (not with no-websocket). */
bool wsconn_starts_http(const struct worker *w, const uint8_t head[4]);
/* Read the request head in c's input: upgrade c, or refuse it and close. */
void wsconn_on_head(struct stream_conn *c);
/* Frames in an upgraded c's input. c may be closed on return. */
void wsconn_on_read(struct stream_conn *c);
/* One message to c's client (a reply or relayed data on /turn): false,
 * and dropped, when its output is full or it is closing. */
bool wsconn_send(struct stream_conn *c, const uint8_t *p, size_t len);
/* c's deadline after the upgrade: ping a quiet client, close a silent one
 * or an idle one. c may be closed on return. */
void wsconn_on_deadline(struct stream_conn *c);
/* c is closing: free its WebSocket state. */
void wsconn_free(struct stream_conn *c);
/* The responder's datagram for connection id of w (handover_msg.alloc):
 * false when that connection is gone. */
bool wsconn_deliver(struct worker *w, uint32_t id, const uint8_t *p, size_t len);
/* At worker_free: the table of w's /wg connections. */
void wsconn_table_free(struct worker *w);

#endif
