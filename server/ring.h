/*
 * A ring of variable-size records between exactly two threads: one
 * producer, one consumer, no lock. The TURN workers and the WireGuard
 * responder's thread hand datagrams to each other through a pair of these
 * (server/handover.h), so a datagram crosses threads with one copy and no
 * system call; the wake-up is the caller's (an eventfd, once per batch).
 *
 * Records are 8-byte aligned: a 4-byte length, the bytes, padding. One that
 * does not fit before the end of the buffer starts again at its beginning,
 * after a marker. head and tail count bytes from the start and never wrap
 * (size_t: 2^64 bytes); head is written by the producer only, tail by the
 * consumer only, each published with release and read with acquire.
 */
#ifndef TERN_SERVER_RING_H
#define TERN_SERVER_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *buf;
	size_t size; /* a power of two */
	/* the producer's, and its copy of tail */
	_Alignas(64) _Atomic size_t head;
	size_t tail_seen;
	size_t reserved; /* bytes ring_reserve() set aside: skip + record */
	/* the consumer's */
	_Alignas(64) _Atomic size_t tail;
};

/* size: a power of two, at least 64 bytes. -1 without memory. */
int ring_init(struct ring *r, size_t size);
void ring_free(struct ring *r);
/* The largest record ring_reserve() ever accepts: a quarter of the ring. */
size_t ring_max_record(const struct ring *r);

/* Producer: room for a record of len bytes, or NULL when the ring is full
 * or len is too big. Fill it, then ring_commit(); nothing else between. */
void *ring_reserve(struct ring *r, size_t len);
void ring_commit(struct ring *r);

/* Consumer: the oldest record (its length in *len), or NULL when empty.
 * It stays valid, and is not overwritten, until ring_pop(). */
const void *ring_peek(struct ring *r, size_t *len);
void ring_pop(struct ring *r);

#endif
