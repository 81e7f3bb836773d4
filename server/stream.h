/*
 * TCP and TLS listeners and their connections. A stream carries STUN
 * messages framed by their own length (RFC 8489 s6.2.2) and ChannelData
 * padded to 4 bytes (RFC 8656 s12.5).
 */
#ifndef TERN_SERVER_STREAM_H
#define TERN_SERVER_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/worker.h"

/* Listen on ls (TP_TCP or TP_TLS) in w. Returns NULL with err filled. */
struct stream_listener *stream_listen(struct worker *w, const struct listener_spec *ls,
				      char *err, size_t errlen);
/* Stop listening. Open connections live on until stream_close_all. */
void stream_listener_free(struct stream_listener *l);
/*
 * RFC 6062 ConnectionBind: once the success response to the message being
 * handled has been queued, connection conn (w's) carries only data, to and
 * from peer socket fd (connection cid), which it now owns.
 */
void stream_join(uintptr_t conn, uint32_t cid, int fd);
/* Close every connection w owns (at shutdown, in w's thread or after it). */
void stream_close_all(struct worker *w);

#endif
