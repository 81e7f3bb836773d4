/*
 * The two-thread record ring (see ring.h). Each record is an 8-byte
 * header (its length; UINT32_MAX marks "go back to the start") and its
 * bytes, padded to 8, so a record's bytes are 8-byte aligned.
 */
#include <stdlib.h>
#include <string.h>

#include "server/ring.h"

enum { HDR = 8 };

#define WRAP UINT32_MAX

static size_t rec_size(size_t len)
{
	return HDR + ((len + 7) & ~(size_t)7);
}

int ring_init(struct ring *r, size_t size)
{
	memset(r, 0, sizeof *r);
	if (size < 64 || (size & (size - 1)))
		return -1;
	r->buf = aligned_alloc(64, size);
	if (!r->buf)
		return -1;
	r->size = size;
	return 0;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

size_t ring_max_record(const struct ring *r)
{
	return r->size / 4 - HDR;
}

void *ring_reserve(struct ring *r, size_t len)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t pos = head & (r->size - 1), need, skip;
	uint32_t hdr[2];

	if (len > ring_max_record(r))
		return NULL;
	need = rec_size(len);
	skip = r->size - pos < need ? r->size - pos : 0;
	if (head + skip + need - r->tail_seen > r->size) {
		r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + skip + need - r->tail_seen > r->size)
			return NULL;
	}
	if (skip) {
		hdr[0] = WRAP;
		memcpy(r->buf + pos, hdr, sizeof hdr[0]);
		pos = 0;
	}
	hdr[0] = (uint32_t)len;
	hdr[1] = 0;
	memcpy(r->buf + pos, hdr, sizeof hdr);
	r->reserved = skip + need;
	return r->buf + pos + HDR;
}

void ring_commit(struct ring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, head + r->reserved, memory_order_release);
	r->reserved = 0;
}

const void *ring_peek(struct ring *r, size_t *len)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	while (tail != head) {
		size_t pos = tail & (r->size - 1);
		uint32_t l;

		memcpy(&l, r->buf + pos, sizeof l);
		if (l != WRAP) {
			*len = l;
			return r->buf + pos + HDR;
		}
		tail += r->size - pos; /* the rest of the buffer was skipped */
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
	return NULL;
}

void ring_pop(struct ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t l;

	memcpy(&l, r->buf + (tail & (r->size - 1)), sizeof l);
	atomic_store_explicit(&r->tail, tail + rec_size(l), memory_order_release);
}
