/*
 * Stream connections per source and in all (see srclimit.h): an
 * open-addressed table with linear probing, and backward-shift deletion so
 * that no tombstones pile up; a slot is free when its family is 0.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay/ratelimit.h"
#include "server/srclimit.h"

struct slot {
	uint64_t prefix;    /* IPv4 address, or the top 64 bits of IPv6 */
	uint32_t n;         /* connections held */
	uint8_t family;     /* STUN_FAMILY_*, 0: free */
};

struct srclimit {
	pthread_mutex_t lock;
	struct slot *s;
	uint32_t mask;
	uint32_t per_source, total, open;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

struct srclimit *srclimit_new(uint32_t per_source, uint32_t total)
{
	struct srclimit *sl;
	uint32_t size = 64;

	if (total < 1 || total > SRCLIMIT_MAX_TOTAL || sodium_init() < 0)
		return NULL;
	while (size < 2 * total)
		size *= 2;
	sl = calloc(1, sizeof *sl);
	if (!sl)
		return NULL;
	sl->s = calloc(size, sizeof *sl->s);
	if (!sl->s) {
		free(sl);
		return NULL;
	}
	pthread_mutex_init(&sl->lock, NULL);
	sl->mask = size - 1;
	sl->per_source = per_source;
	sl->total = total;
	randombytes_buf(sl->key, sizeof sl->key);
	return sl;
}

void srclimit_free(struct srclimit *sl)
{
	if (!sl)
		return;
	pthread_mutex_destroy(&sl->lock);
	free(sl->s);
	free(sl);
}

static uint32_t home(const struct srclimit *sl, uint8_t family, uint64_t prefix)
{
	uint8_t in[9], out[crypto_shorthash_BYTES];
	uint32_t h = 0;

	for (int i = 0; i < 8; i++)
		in[i] = (uint8_t)(prefix >> (8 * i));
	in[8] = family;
	crypto_shorthash(out, in, sizeof in, sl->key);
	for (int i = 0; i < 4; i++)
		h = h << 8 | out[i];
	return h & sl->mask;
}

/* src's slot, or the free slot where it would go. */
static struct slot *lookup(struct srclimit *sl, uint8_t family, uint64_t prefix)
{
	uint32_t i = home(sl, family, prefix);

	while (sl->s[i].family && (sl->s[i].family != family || sl->s[i].prefix != prefix))
		i = (i + 1) & sl->mask;
	return &sl->s[i];
}

/* Empty slot i, moving later entries of its run back so none is cut off
 * from its home slot. */
static void remove_at(struct srclimit *sl, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		uint32_t h;

		sl->s[i].family = 0;
		do {
			j = (j + 1) & sl->mask;
			if (!sl->s[j].family)
				return;
			h = home(sl, sl->s[j].family, sl->s[j].prefix);
			/* j stays if its home lies cyclically in (i, j] */
		} while (i <= j ? (i < h && h <= j) : (i < h || h <= j));
		sl->s[i] = sl->s[j];
		i = j;
	}
}

enum srclimit_verdict srclimit_take(struct srclimit *sl, const struct stun_addr *src)
{
	enum srclimit_verdict v = SRCLIMIT_OK;
	struct slot *s;
	uint64_t prefix;
	uint8_t family;

	if (!ratelimit_source(src, &family, &prefix))
		return SRCLIMIT_SOURCE;
	pthread_mutex_lock(&sl->lock);
	s = lookup(sl, family, prefix);
	if (sl->open >= sl->total) {
		v = SRCLIMIT_TOTAL;
	} else if (sl->per_source && s->family && s->n >= sl->per_source) {
		v = SRCLIMIT_SOURCE;
	} else {
		if (!s->family)
			*s = (struct slot){ .prefix = prefix, .family = family };
		s->n++;
		sl->open++;
	}
	pthread_mutex_unlock(&sl->lock);
	return v;
}

void srclimit_give(struct srclimit *sl, const struct stun_addr *src)
{
	struct slot *s;
	uint64_t prefix;
	uint8_t family;

	if (!ratelimit_source(src, &family, &prefix))
		return;
	pthread_mutex_lock(&sl->lock);
	s = lookup(sl, family, prefix);
	if (s->family) {
		sl->open--;
		if (--s->n == 0)
			remove_at(sl, (uint32_t)(s - sl->s));
	}
	pthread_mutex_unlock(&sl->lock);
}

uint32_t srclimit_open(struct srclimit *sl)
{
	uint32_t n;

	pthread_mutex_lock(&sl->lock);
	n = sl->open;
	pthread_mutex_unlock(&sl->lock);
	return n;
}
