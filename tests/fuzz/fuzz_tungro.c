/*
 * libFuzzer harness for the TUN receive offload (server/tungro.c): the
 * input is a run of packets, each a 2-byte length and its bytes, added in
 * turn and flushed; each input's first 10 bytes also go to tungro_complete
 * as a virtio header. What is written must be whole: a GSO packet's IP
 * length is what was written after the virtio header, no packet is over
 * 65535 bytes, and every byte added comes out once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_net.h>

#include "server/tungro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t written; /* IP bytes out, headers of joined segments not counted */

static void check(void *ctx, const struct iovec *iov, int n)
{
	struct virtio_net_hdr h;
	size_t len = 0;

	(void)ctx;
	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (iov[0].iov_len < TUNGRO_VNET_HDR || len - TUNGRO_VNET_HDR > TUNGRO_MAX_PACKET)
		abort();
	memcpy(&h, iov[0].iov_base, sizeof h);
	len -= TUNGRO_VNET_HDR;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		const uint8_t *ip = (const uint8_t *)iov[0].iov_base + TUNGRO_VNET_HDR;
		size_t ip_len = ip[0] >> 4 == 6 ? 40u + (size_t)(ip[4] << 8 | ip[5])
						: (size_t)(ip[2] << 8 | ip[3]);

		if (ip_len != len || h.hdr_len + (size_t)h.gso_size > len || n < 3)
			abort();
		written += len + (size_t)(n - 2) * h.hdr_len; /* as the segments came */
	} else {
		written += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tungro g;
	uint8_t *copy[TUNGRO_SEGS * 2];
	size_t in = 0;
	int n = 0;

	tungro_init(&g, check, NULL);
	written = 0;
	while (size >= 2 && n < TUNGRO_SEGS * 2) {
		size_t len = (size_t)(data[0] << 8 | data[1]);

		data += 2, size -= 2;
		if (len > size)
			len = size;
		copy[n] = malloc(len ? len : 1); /* exact, so ASan sees a read past it */
		if (!copy[n])
			abort();
		memcpy(copy[n], data, len);
		if (len >= TUNGRO_VNET_HDR)
			(void)tungro_complete(copy[n], copy[n] + TUNGRO_VNET_HDR,
					      len - TUNGRO_VNET_HDR);
		memcpy(copy[n], data, len);
		tungro_add(&g, copy[n], len);
		in += len;
		n++;
		data += len, size -= len;
	}
	tungro_flush(&g);
	if (written != in)
		abort();
	for (int i = 0; i < n; i++)
		free(copy[i]);
	return 0;
}
