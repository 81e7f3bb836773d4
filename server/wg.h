/*
 * The WireGuard responder's shell (issue 10): one thread with its own event
 * loop owns the tunnel engine (tunnel/tunnel.h), its UDP sockets (one per
 * listening address, on wg-listening-port), the TUN device of gateway mode
 * and the UAPI socket, so every per-packet structure has one owner and no
 * lock. doc/2026-12-07-tunnel.md says why one thread, and how it would
 * shard.
 *
 * Everything that can fail (the file, the sockets, the TUN device, the
 * UAPI socket) is done by wg_new(), on the main thread, before privileges
 * are dropped; wg_start() connects to the store, which is opened after it
 * (only memory can fail there), and starts the thread.
 */
#ifndef TERN_SERVER_WG_H
#define TERN_SERVER_WG_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

struct server;
struct wg;
struct tunnel_stats;

/* NULL with err for any problem; NULL with err "" when wg-config is not set. */
struct wg *wg_new(const struct server *srv, char *err, size_t errlen);
int wg_start(struct wg *w);
/* Stop the thread (if it runs) and wait for it. */
void wg_stop(struct wg *w);
void wg_free(struct wg *w);
/* SIGHUP: read wg-config again on the tunnel's thread and apply the peers
 * that changed; a bad file changes nothing. Any thread. */
void wg_reload(struct wg *w);
/* The UDP port the responder listens on (0 without it). */
uint16_t wg_port(const struct wg *w);
/* The engine's counters (any thread; they are atomics). */
const struct tunnel_stats *wg_stats(const struct wg *w);
/* Peers in memory and sessions, as decimal text for the registry entry
 * (each out 24 bytes; "0" without the responder). Any thread. */
void wg_counts(const struct wg *w, char peers[24], char sessions[24]);
/* Prometheus lines for /metrics. */
void wg_metrics(const struct wg *w, struct evbuffer *b);
/* ,"wireguard":{...} for /stats, or nothing without the responder. */
void wg_json(const struct wg *w, struct evbuffer *b);

#endif
