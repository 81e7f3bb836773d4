/*
 * Prefixes by (family, length, masked address) in one open-addressed table
 * (see allowedips.h). Deletion shifts later entries back, so no tombstones
 * collect.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tunnel/allowedips.h"

struct entry {
	void *value; /* NULL: free */
	uint8_t family, plen;
	uint8_t ip[16];
};

struct allowedips {
	struct entry *e;
	uint32_t mask;
	size_t n;
	uint32_t per_len[2][129];  /* prefixes of each length, [0] v4 [1] v6 */
	uint8_t lens[2][129];      /* lengths in use, longest first */
	int n_lens[2];
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static int fam(int family)
{
	return family == 4 ? 0 : family == 6 ? 1 : -1;
}

/* ip's first plen bits, the rest zero. */
static void masked(const uint8_t *ip, int f, uint8_t plen, uint8_t out[16])
{
	size_t bytes = f ? 16 : 4;

	memset(out, 0, 16);
	memcpy(out, ip, bytes);
	for (size_t i = 0; i < bytes; i++) {
		int keep = (int)plen - 8 * (int)i;

		if (keep <= 0)
			out[i] = 0;
		else if (keep < 8)
			out[i] &= (uint8_t)(0xFF << (8 - keep));
	}
}

static uint32_t home(const struct allowedips *t, int f, uint8_t plen, const uint8_t ip[16])
{
	uint8_t in[18], h[crypto_shorthash_BYTES];

	in[0] = (uint8_t)f;
	in[1] = plen;
	memcpy(in + 2, ip, 16);
	crypto_shorthash(h, in, sizeof in, t->key);
	return ((uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
		(uint32_t)h[3] << 24) & t->mask;
}

static struct entry *lookup(const struct allowedips *t, int f, uint8_t plen,
			    const uint8_t ip[16])
{
	uint32_t i = home(t, f, plen, ip);

	while (t->e[i].value && (t->e[i].family != f || t->e[i].plen != plen ||
				 memcmp(t->e[i].ip, ip, 16) != 0))
		i = (i + 1) & t->mask;
	return &t->e[i];
}

struct allowedips *allowedips_new(void)
{
	struct allowedips *t = calloc(1, sizeof *t);

	if (!t || sodium_init() < 0 || !(t->e = calloc(64, sizeof *t->e))) {
		free(t);
		return NULL;
	}
	t->mask = 63;
	randombytes_buf(t->key, sizeof t->key);
	return t;
}

void allowedips_free(struct allowedips *t)
{
	if (!t)
		return;
	free(t->e);
	free(t);
}

static bool grow(struct allowedips *t)
{
	struct allowedips big = *t;

	big.mask = t->mask * 2 + 1;
	big.e = calloc((size_t)big.mask + 1, sizeof *big.e);
	if (!big.e)
		return false;
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->e[i].value)
			*lookup(&big, t->e[i].family, t->e[i].plen, t->e[i].ip) = t->e[i];
	free(t->e);
	t->e = big.e;
	t->mask = big.mask;
	return true;
}

/* The lengths in use, longest first, after per_len changed. */
static void relist(struct allowedips *t, int f)
{
	t->n_lens[f] = 0;
	for (int len = f ? 128 : 32; len >= 0; len--)
		if (t->per_len[f][len])
			t->lens[f][t->n_lens[f]++] = (uint8_t)len;
}

int allowedips_insert(struct allowedips *t, int family, const uint8_t *ip, uint8_t plen,
		      void *value)
{
	int f = fam(family);
	uint8_t key[16];
	struct entry *e;

	if (f < 0 || plen > (f ? 128 : 32) || !value)
		return -EINVAL;
	if (t->n >= ALLOWEDIPS_MAX || (2 * (t->n + 1) > (size_t)t->mask + 1 && !grow(t)))
		return -ENOMEM;
	masked(ip, f, plen, key);
	e = lookup(t, f, plen, key);
	if (!e->value) {
		*e = (struct entry){ .family = (uint8_t)f, .plen = plen };
		memcpy(e->ip, key, 16);
		t->n++;
		if (t->per_len[f][plen]++ == 0)
			relist(t, f);
	}
	e->value = value;
	return 0;
}

/* Empty slot i, shifting the rest of its run back. */
static void remove_at(struct allowedips *t, uint32_t i)
{
	uint32_t j = i;
	int f = t->e[i].family;

	if (--t->per_len[f][t->e[i].plen] == 0)
		relist(t, f);
	t->n--;
	for (;;) {
		uint32_t h;

		t->e[i].value = NULL;
		do {
			j = (j + 1) & t->mask;
			if (!t->e[j].value)
				return;
			h = home(t, t->e[j].family, t->e[j].plen, t->e[j].ip);
		} while (i <= j ? (i < h && h <= j) : (i < h || h <= j));
		t->e[i] = t->e[j];
		i = j;
	}
}

void allowedips_remove(struct allowedips *t, int family, const uint8_t *ip, uint8_t plen,
		       const void *value)
{
	int f = fam(family);
	uint8_t key[16];
	struct entry *e;

	if (f < 0 || plen > (f ? 128 : 32))
		return;
	masked(ip, f, plen, key);
	e = lookup(t, f, plen, key);
	if (e->value && e->value == value)
		remove_at(t, (uint32_t)(e - t->e));
}

void allowedips_remove_value(struct allowedips *t, const void *value)
{
	for (uint32_t i = 0; i <= t->mask;) {
		if (t->e[i].value == value && value)
			remove_at(t, i); /* slot i may now hold a shifted entry */
		else
			i++;
	}
}

void *allowedips_lookup(const struct allowedips *t, int family, const uint8_t *ip)
{
	int f = fam(family);
	uint8_t key[16];

	if (f < 0)
		return NULL;
	for (int k = 0; k < t->n_lens[f]; k++) {
		const struct entry *e;

		masked(ip, f, t->lens[f][k], key);
		e = lookup(t, f, t->lens[f][k], key);
		if (e->value)
			return e->value;
	}
	return NULL;
}

void allowedips_each(const struct allowedips *t,
		     void (*fn)(void *ctx, int family, const uint8_t *ip, uint8_t plen,
				void *value),
		     void *ctx)
{
	for (uint32_t i = 0; i <= t->mask; i++)
		if (t->e[i].value)
			fn(ctx, t->e[i].family ? 6 : 4, t->e[i].ip, t->e[i].plen, t->e[i].value);
}

size_t allowedips_count(const struct allowedips *t)
{
	return t->n;
}
