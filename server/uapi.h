/*
 * WireGuard's cross-platform userspace API (wireguard.com/xplatform), so
 * the stock wg(8) manages ternd: `wg show NAME` and `wg set NAME peer ...`
 * talk to the stream socket /var/run/wireguard/NAME.sock.
 *
 *   get=1\n\n          -> key=value lines of the device and each peer,
 *                         then errno=0\n\n
 *   set=1\n...\n\n     -> applies private_key (only the one in use),
 *                         listen_port (likewise), fwmark (ignored),
 *                         replace_peers, and per peer (after public_key=):
 *                         remove, update_only, preshared_key, endpoint,
 *                         persistent_keepalive_interval,
 *                         replace_allowed_ips, allowed_ip (a leading -
 *                         takes one away), protocol_version; errno=0 or
 *                         a negative errno
 *
 * uapi_handle() is the protocol alone, on an engine (fuzzed); the socket
 * part runs on the event base that owns the engine, so requests need no
 * lock. Keys are lowercase hex here, base64 in files.
 */
#ifndef TERN_SERVER_UAPI_H
#define TERN_SERVER_UAPI_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "tunnel/tunnel.h"

enum {
	UAPI_MAX_REQUEST = 64 << 20, /* a set of many peers: bigger is refused */
	UAPI_MAX_LINE = 4096,
};

struct uapi_env {
	struct tunnel *t;
	uint16_t listen_port;
	/* the shell's socket for an endpoint of this family (STUN_FAMILY_*),
	 * or -1 when it has none */
	int (*listener_for)(void *ctx, uint8_t family);
	/* a peer set changed (removed, or added or changed), if not NULL */
	void (*changed)(void *ctx, const uint8_t key[WG_KEY_LEN], bool removed);
	void *ctx;
};

/* Answer one request (its text up to, not including, the blank line that
 * ends it) into out. */
void uapi_handle(const struct uapi_env *e, const char *req, size_t len, struct evbuffer *out);

struct uapi;
/* Listen on /var/run/wireguard/NAME.sock (made 0755, the socket 0600);
 * a stale socket is replaced, a live one is an error. NULL with err. */
struct uapi *uapi_listen(struct event_base *base, const char *name, const struct uapi_env *env,
			 char *err, size_t errlen);
/* Stop listening, close connections, remove the socket file. */
void uapi_free(struct uapi *u);

#endif
