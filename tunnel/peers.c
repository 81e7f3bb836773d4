/*
 * Peers by public key: an open-addressed table under a random SipHash key
 * (an initiation names the key it looks up, so a stranger must not be able
 * to aim keys at one chain), grown on insertion. The peer structs
 * themselves are allocated one by one and never move, so keypairs and the
 * prefix table may point at them.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/engine.h"

struct peers {
	struct peer **s;
	uint32_t mask;
	size_t n;
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static uint32_t home(const struct peers *pt, const uint8_t k[WG_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];

	crypto_shorthash(h, k, WG_KEY_LEN, pt->key);
	return ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		(uint32_t)h[3] << 24) & pt->mask;
}

static struct peer **slot(const struct peers *pt, const uint8_t k[WG_KEY_LEN])
{
	uint32_t i = home(pt, k);

	while (pt->s[i] && memcmp(pt->s[i]->public_key, k, WG_KEY_LEN) != 0)
		i = (i + 1) & pt->mask;
	return &pt->s[i];
}

struct peers *peers_new(void)
{
	struct peers *pt = calloc(1, sizeof *pt);

	if (!pt || sodium_init() < 0 || !(pt->s = calloc(64, sizeof *pt->s))) {
		free(pt);
		return NULL;
	}
	pt->mask = 63;
	randombytes_buf(pt->key, sizeof pt->key);
	return pt;
}

void peers_free(struct peers *pt)
{
	if (!pt)
		return;
	for (uint32_t i = 0; i <= pt->mask; i++)
		if (pt->s[i]) {
			sodium_memzero(pt->s[i], sizeof *pt->s[i]);
			free(pt->s[i]);
		}
	free(pt->s);
	free(pt);
}

struct peer *peers_find(const struct peers *pt, const uint8_t key[WG_KEY_LEN])
{
	return *slot(pt, key);
}

static bool grow(struct peers *pt)
{
	struct peers big = *pt;

	big.mask = pt->mask * 2 + 1;
	big.s = calloc((size_t)big.mask + 1, sizeof *big.s);
	if (!big.s)
		return false;
	for (uint32_t i = 0; i <= pt->mask; i++)
		if (pt->s[i])
			*slot(&big, pt->s[i]->public_key) = pt->s[i];
	free(pt->s);
	pt->s = big.s;
	pt->mask = big.mask;
	return true;
}

struct peer *peers_insert(struct peers *pt, const uint8_t key[WG_KEY_LEN])
{
	struct peer *p;

	if (pt->n >= TUNNEL_MAX_PEERS || (2 * (pt->n + 1) > (size_t)pt->mask + 1 && !grow(pt)))
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->public_key, key, WG_KEY_LEN);
	*slot(pt, key) = p;
	pt->n++;
	return p;
}

void peers_erase(struct peers *pt, struct peer *p)
{
	struct peer **s = slot(pt, p->public_key);
	uint32_t i, j;

	if (*s != p)
		return;
	pt->n--;
	i = j = (uint32_t)(s - pt->s);
	for (;;) {
		uint32_t h;

		pt->s[i] = NULL;
		do {
			j = (j + 1) & pt->mask;
			if (!pt->s[j])
				goto out;
			h = home(pt, pt->s[j]->public_key);
		} while (i <= j ? (i < h && h <= j) : (i < h || h <= j));
		pt->s[i] = pt->s[j];
		i = j;
	}
out:
	sodium_memzero(p, sizeof *p);
	free(p);
}

size_t peers_count(const struct peers *pt)
{
	return pt->n;
}

void peers_each(const struct peers *pt, void (*fn)(void *ctx, struct peer *p),
		     void *ctx)
{
	for (uint32_t i = 0; i <= pt->mask; i++)
		if (pt->s[i])
			fn(ctx, pt->s[i]);
}
