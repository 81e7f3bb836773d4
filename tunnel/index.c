/*
 * The receiver index table (see index.h): linear probing with
 * backward-shift deletion, so lookups never wade through tombstones. Index
 * 0 is never handed out; it marks a free slot.
 */
#include <stdlib.h>

#include "tunnel/index.h"

struct slot {
	uint32_t index;
	void *value;
};

struct index {
	struct slot *s;
	uint32_t mask;
	size_t n;
	uint32_t shard_mask, shard_value;
};

struct index *index_new(uint8_t shard, uint8_t shard_bits)
{
	struct index *x = calloc(1, sizeof *x);

	if (!x || shard_bits > 8)
		goto fail;
	x->s = calloc(64, sizeof *x->s);
	if (!x->s)
		goto fail;
	x->mask = 63;
	if (shard_bits) {
		x->shard_mask = ~(UINT32_MAX >> shard_bits);
		x->shard_value = (uint32_t)shard << (32 - shard_bits);
	}
	return x;
fail:
	free(x);
	return NULL;
}

void index_free(struct index *x)
{
	if (!x)
		return;
	free(x->s);
	free(x);
}

/* The index is random already: its low bits are its home. */
static struct slot *lookup(const struct index *x, uint32_t index)
{
	uint32_t i = index & x->mask;

	while (x->s[i].index && x->s[i].index != index)
		i = (i + 1) & x->mask;
	return &x->s[i];
}

static bool grow(struct index *x)
{
	struct index big = *x;

	big.mask = x->mask * 2 + 1;
	big.s = calloc((size_t)big.mask + 1, sizeof *big.s);
	if (!big.s)
		return false;
	for (uint32_t i = 0; i <= x->mask; i++)
		if (x->s[i].index)
			*lookup(&big, x->s[i].index) = x->s[i];
	free(x->s);
	*x = big;
	return true;
}

uint32_t index_add(struct index *x, void *value, uint32_t (*rnd)(void *ctx), void *ctx)
{
	struct slot *s;
	uint32_t index;

	if (x->n >= INDEX_MAX_ENTRIES || (2 * (x->n + 1) > (size_t)x->mask + 1 && !grow(x)))
		return 0;
	do {
		index = (rnd(ctx) & ~x->shard_mask) | x->shard_value;
		s = lookup(x, index);
	} while (!index || s->index);
	s->index = index;
	s->value = value;
	x->n++;
	return index;
}

void *index_find(const struct index *x, uint32_t index)
{
	return index ? lookup(x, index)->value : NULL;
}

void index_remove(struct index *x, uint32_t index)
{
	struct slot *s = index ? lookup(x, index) : NULL;
	uint32_t i, j;

	if (!s || !s->index)
		return;
	x->n--;
	i = j = (uint32_t)(s - x->s);
	for (;;) {
		uint32_t home;

		x->s[i].index = 0;
		x->s[i].value = NULL;
		do {
			j = (j + 1) & x->mask;
			if (!x->s[j].index)
				return;
			home = x->s[j].index & x->mask;
		} while (i <= j ? (i < home && home <= j) : (i < home || home <= j));
		x->s[i] = x->s[j];
		i = j;
	}
}

size_t index_count(const struct index *x)
{
	return x->n;
}
