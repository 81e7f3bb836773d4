/*
 * Which WireGuard message a datagram is. Exact lengths for the three
 * handshake messages; a data message is a header, a padded payload and a
 * tag. Anything else is no message: it is dropped unanswered.
 */
#include "tunnel/messages.h"

int messages_type(const uint8_t *p, size_t len)
{
	if (len < 4 || p[1] || p[2] || p[3])
		return 0;
	switch (p[0]) {
	case WG_INITIATION:
		return len == WG_INITIATION_LEN ? WG_INITIATION : 0;
	case WG_RESPONSE:
		return len == WG_RESPONSE_LEN ? WG_RESPONSE : 0;
	case WG_COOKIE_REPLY:
		return len == WG_COOKIE_REPLY_LEN ? WG_COOKIE_REPLY : 0;
	case WG_DATA:
		/* a sender pads to 16, but a payload at the MTU may not be */
		return len >= WG_DATA_MIN_LEN ? WG_DATA : 0;
	default:
		return 0;
	}
}
