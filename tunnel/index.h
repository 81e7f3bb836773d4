/*
 * Receiver indexes: the 32-bit number by which a data message names the
 * keypair that opens it. Ours are random and unique per engine, and their
 * top shard_bits carry the engine's shard, so a packet can be steered to
 * the engine that holds its keypair before anyone reads it. The table maps
 * index to keypair for the per-packet lookup: open addressing on the
 * (random) index, grown on insertion, never on lookup.
 *
 * Ownership: index_new() returns an object freed with index_free(); the
 * values are the caller's. Not thread-safe: one per engine.
 */
#ifndef TERN_TUNNEL_INDEX_H
#define TERN_TUNNEL_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { INDEX_MAX_ENTRIES = 1 << 24 };

struct index;

struct index *index_new(uint8_t shard, uint8_t shard_bits);
void index_free(struct index *x);

/* A fresh index for value, from rnd (called until one is free): 0 when
 * the table is full or out of memory. */
uint32_t index_add(struct index *x, void *value, uint32_t (*rnd)(void *ctx), void *ctx);
void *index_find(const struct index *x, uint32_t index);
void index_remove(struct index *x, uint32_t index);
size_t index_count(const struct index *x);

#endif
