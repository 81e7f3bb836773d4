/*
 * ChannelData messages and stream framing. Over UDP a datagram holds one
 * STUN or ChannelData message; over TCP and TLS the two are interleaved on
 * one byte stream with no outer framing, so the reader must work out each
 * message's length from its first four bytes. That arithmetic lives here
 * with the ChannelData header codec, next to the first-byte rules of
 * RFC 7983 that tell the two apart. A wrong guess here desynchronises the
 * whole stream, so anything that is neither protocol is reported as such.
 */
#include "stun/bytes.h"
#include "stun/stun.h"



static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

bool channel_looks_like(const uint8_t *p, size_t len)
{
	/*
	 * RFC 7983 s7: 64..79 is TURN ChannelData (RFC 8656 channels); RFC
	 * 5766 clients still use up to 0x7FFF, so the codec takes 64..127 and
	 * the engine enforces the range it was configured with.
	 */
	return len >= 1 && p[0] >= (CHANNEL_MIN >> 8) && p[0] <= (CHANNEL_MAX_RFC5766 >> 8);
}

bool channel_parse(const uint8_t *p, size_t len, uint16_t *channel,
		   const uint8_t **data, uint16_t *dlen)
{
	uint16_t ch, n;

	*channel = 0;
	*data = NULL;
	*dlen = 0;
	if (len < CHANNEL_HEADER_LEN)
		return false;
	ch = get16(p);
	n = get16(p + 2);
	/* 0x8000 and up is never a channel (RFC 5766 s11, RFC 8656 s12) */
	if (ch < CHANNEL_MIN || ch > CHANNEL_MAX_RFC5766)
		return false;
	/*
	 * RFC 8656 s12.5: padding to 4 is required over streams and allowed
	 * over UDP, so bytes past the data are not an error.
	 */
	if (n > len - CHANNEL_HEADER_LEN)
		return false;
	*channel = ch;
	*data = p + CHANNEL_HEADER_LEN;
	*dlen = n;
	return true;
}

void channel_put_header(uint8_t *buf, uint16_t channel, uint16_t dlen)
{
	put16(buf, channel);
	put16(buf + 2, dlen);
}

long stun_frame_len(const uint8_t *p, size_t len)
{
	uint16_t n;

	if (len < 1)
		return 0;
	if (!stun_looks_like(p, len) && !channel_looks_like(p, len))
		return -1;
	if (len < 4)
		return 0;
	n = get16(p + 2);
	if (channel_looks_like(p, len))
		return (long)(CHANNEL_HEADER_LEN + pad4(n)); /* RFC 8656 s12.5 */
	/* RFC 8489 s6.2.2: the STUN length field; always a multiple of 4. */
	if (n % 4)
		return -1;
	return (long)(STUN_HEADER_LEN + n);
}
