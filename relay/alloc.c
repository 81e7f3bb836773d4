/*
 * The allocation table. Allocations sit in an array indexed by id, so the
 * relay socket's tag finds its allocation in one load; a second, open-
 * addressing index (linear probing, at most half full, backward-shift
 * deletion so no tombstones pile up) finds them by client key. The hash is
 * keyed with a per-engine random seed: clients pick their own addresses,
 * and must not be able to pick colliding ones.
 */
#include <stdlib.h>
#include <string.h>

#include "relay/alloc.h"

struct alloc_table {
	struct alloc **by_id; /* [max] */
	uint32_t *free_ids;   /* stack of unused ids */
	uint32_t n_free;
	uint32_t max;
	uint32_t *index; /* id + 1, or 0 for empty; [mask + 1] */
	uint32_t mask;
	uint64_t seed;
};

bool addr_same_ip(const struct stun_addr *x, const struct stun_addr *y)
{
	size_t n = x->family == STUN_FAMILY_IPV4 ? 4 : 16;

	return x->family == y->family && memcmp(x->ip, y->ip, n) == 0;
}

bool addr_equal(const struct stun_addr *x, const struct stun_addr *y)
{
	return x->port == y->port && addr_same_ip(x, y);
}

static bool key_equal(const struct relay_key *a, const struct relay_key *b)
{
	return a->listener == b->listener && a->transport == b->transport &&
	       a->conn == b->conn && addr_equal(&a->client, &b->client);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static uint32_t hash(const struct alloc_table *t, const struct relay_key *k)
{
	uint64_t h = t->seed, w[2] = { 0, 0 };
	size_t n = k->client.family == STUN_FAMILY_IPV4 ? 4 : 16;

	memcpy(w, k->client.ip, n);
	h = mix(h, ((uint64_t)k->listener << 32) | ((uint64_t)k->transport << 24) |
		       ((uint64_t)k->client.family << 16) | k->client.port);
	h = mix(h, w[0]);
	h = mix(h, w[1]);
	return (uint32_t)h;
}

struct alloc_table *alloc_table_new(uint32_t max, uint64_t seed)
{
	struct alloc_table *t = calloc(1, sizeof *t);
	uint32_t cap = 16;

	if (!t || max == 0)
		goto fail;
	while (cap < 2 * max)
		cap <<= 1;
	t->max = max;
	t->mask = cap - 1;
	t->seed = seed;
	t->by_id = calloc(max, sizeof *t->by_id);
	t->free_ids = calloc(max, sizeof *t->free_ids);
	t->index = calloc(cap, sizeof *t->index);
	if (!t->by_id || !t->free_ids || !t->index)
		goto fail;
	for (uint32_t i = 0; i < max; i++)
		t->free_ids[i] = max - 1 - i; /* hand out low ids first */
	t->n_free = max;
	return t;
fail:
	alloc_table_free(t);
	return NULL;
}

static void alloc_destroy(struct alloc *a)
{
	free(a->user);
	free(a->perms);
	free(a->chans);
	free(a);
}

void alloc_table_free(struct alloc_table *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->by_id && i < t->max; i++)
		if (t->by_id[i])
			alloc_destroy(t->by_id[i]);
	free(t->by_id);
	free(t->free_ids);
	free(t->index);
	free(t);
}

struct alloc *alloc_find(const struct alloc_table *t, const struct relay_key *k)
{
	for (uint32_t i = hash(t, k) & t->mask;; i = (i + 1) & t->mask) {
		uint32_t v = t->index[i];

		if (v == 0)
			return NULL;
		if (key_equal(&t->by_id[v - 1]->key, k))
			return t->by_id[v - 1];
	}
}

struct alloc *alloc_by_id(const struct alloc_table *t, uint32_t id)
{
	return id < t->max ? t->by_id[id] : NULL;
}

struct alloc *alloc_insert(struct alloc_table *t, const struct relay_key *k)
{
	struct alloc *a;
	uint32_t i;

	if (t->n_free == 0 || !(a = calloc(1, sizeof *a)))
		return NULL;
	a->key = *k;
	a->id = t->free_ids[--t->n_free];
	a->handle[ALLOC_V4] = a->handle[ALLOC_V6] = -1;
	t->by_id[a->id] = a;
	for (i = hash(t, k) & t->mask; t->index[i]; i = (i + 1) & t->mask)
		;
	t->index[i] = a->id + 1;
	return a;
}

/* Knuth's algorithm R: close the gap so every probe chain stays unbroken. */
static void index_delete(struct alloc_table *t, uint32_t hole)
{
	for (uint32_t j = (hole + 1) & t->mask; t->index[j]; j = (j + 1) & t->mask) {
		uint32_t home = hash(t, &t->by_id[t->index[j] - 1]->key) & t->mask;

		/* move j into the hole unless its home lies cyclically in (hole, j] */
		if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole] = 0;
}

void alloc_remove(struct alloc_table *t, struct alloc *a)
{
	for (uint32_t i = hash(t, &a->key) & t->mask; t->index[i]; i = (i + 1) & t->mask) {
		if (t->index[i] == a->id + 1) {
			index_delete(t, i);
			break;
		}
	}
	t->by_id[a->id] = NULL;
	t->free_ids[t->n_free++] = a->id;
	alloc_destroy(a);
}

uint32_t alloc_count(const struct alloc_table *t)
{
	return t->max - t->n_free;
}

uint32_t alloc_capacity(const struct alloc_table *t)
{
	return t->max;
}
