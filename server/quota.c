/*
 * Quotas. Per-user counts live in a small chained hash table keyed by the
 * username bytes; an entry exists only while its user holds allocations, so
 * the table is as big as the set of active users, never the user database.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/quota.h"

enum { QUOTA_BUCKETS = 4096 };

struct quota_entry {
	struct quota_entry *next;
	uint32_t count;
	size_t len;
	uint8_t user[];
};

struct quota_remote {
	struct quota_entry *bucket[QUOTA_BUCKETS];
};

struct quota {
	pthread_mutex_t lock;
	uint32_t per_user, total, in_use;
	uint64_t generation;
	struct quota_entry *bucket[QUOTA_BUCKETS];
	struct quota_remote *remote; /* other nodes' counts, or NULL */
};

static size_t bucket_of(const uint8_t *user, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ user[i]) * 16777619u;
	return h % QUOTA_BUCKETS;
}

struct quota *quota_new(uint32_t per_user, uint32_t total)
{
	struct quota *q = calloc(1, sizeof *q);

	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	q->per_user = per_user;
	q->total = total;
	return q;
}

static void free_buckets(struct quota_entry **bucket)
{
	for (size_t i = 0; i < QUOTA_BUCKETS; i++) {
		while (bucket[i]) {
			struct quota_entry *e = bucket[i];

			bucket[i] = e->next;
			free(e);
		}
	}
}

void quota_free(struct quota *q)
{
	if (!q)
		return;
	free_buckets(q->bucket);
	quota_remote_free(q->remote);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct quota_entry **lookup(struct quota_entry **bucket, const uint8_t *user, size_t len)
{
	struct quota_entry **p = &bucket[bucket_of(user, len)];

	while (*p && ((*p)->len != len || memcmp((*p)->user, user, len) != 0))
		p = &(*p)->next;
	return p;
}

static struct quota_entry **find(struct quota *q, const uint8_t *user, size_t len)
{
	return lookup(q->bucket, user, len);
}

/* The entry *p, or a new one for user put there; NULL without memory. */
static struct quota_entry *entry(struct quota_entry **p, const uint8_t *user, size_t len)
{
	struct quota_entry *e = *p;

	if (e)
		return e;
	e = calloc(1, sizeof *e + len);
	if (!e)
		return NULL;
	memcpy(e->user, user, len);
	e->len = len;
	*p = e;
	return e;
}

/* The user's allocations on other nodes, as last seen. */
static uint32_t remote_count(const struct quota *q, const uint8_t *user, size_t len)
{
	struct quota_entry *e;

	if (!q->remote)
		return 0;
	e = *lookup(q->remote->bucket, user, len);
	return e ? e->count : 0;
}

void quota_set_limits(struct quota *q, uint32_t per_user, uint32_t total)
{
	pthread_mutex_lock(&q->lock);
	q->per_user = per_user;
	q->total = total;
	pthread_mutex_unlock(&q->lock);
}

bool quota_full(struct quota *q)
{
	bool full;

	pthread_mutex_lock(&q->lock);
	full = q->total && q->in_use >= q->total;
	pthread_mutex_unlock(&q->lock);
	return full;
}

bool quota_take(struct quota *q, const uint8_t *user, size_t len)
{
	struct quota_entry **p, *e;
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	if (q->total && q->in_use >= q->total)
		goto out;
	p = find(q, user, len);
	e = entry(p, user, len);
	if (!e)
		goto out;
	if (q->per_user && e->count + remote_count(q, user, len) >= q->per_user) {
		if (e->count == 0) { /* a fresh entry: no allocation of its own */
			*p = e->next;
			free(e);
		}
		goto out;
	}
	e->count++;
	q->in_use++;
	q->generation++;
	ok = true;
out:
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void quota_give(struct quota *q, const uint8_t *user, size_t len)
{
	struct quota_entry **p, *e;

	pthread_mutex_lock(&q->lock);
	p = find(q, user, len);
	e = *p;
	if (e && e->count) {
		e->count--;
		q->in_use--;
		q->generation++;
		if (e->count == 0) {
			*p = e->next;
			free(e);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

uint32_t quota_total(struct quota *q)
{
	uint32_t n;

	pthread_mutex_lock(&q->lock);
	n = q->in_use;
	pthread_mutex_unlock(&q->lock);
	return n;
}

struct quota_remote *quota_remote_new(void)
{
	return calloc(1, sizeof(struct quota_remote));
}

int quota_remote_add(struct quota_remote *r, const uint8_t *user, size_t len, uint32_t n)
{
	struct quota_entry *e = entry(lookup(r->bucket, user, len), user, len);

	if (!e)
		return -1;
	e->count = e->count + n < e->count ? UINT32_MAX : e->count + n;
	return 0;
}

void quota_remote_free(struct quota_remote *r)
{
	if (!r)
		return;
	free_buckets(r->bucket);
	free(r);
}

void quota_set_remote(struct quota *q, struct quota_remote *r)
{
	struct quota_remote *old;

	pthread_mutex_lock(&q->lock);
	old = q->remote;
	q->remote = r;
	pthread_mutex_unlock(&q->lock);
	quota_remote_free(old);
}

void quota_each(struct quota *q, void (*fn)(void *ctx, const uint8_t *user, size_t len,
					   uint32_t n), void *ctx)
{
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < QUOTA_BUCKETS; i++)
		for (const struct quota_entry *e = q->bucket[i]; e; e = e->next)
			fn(ctx, e->user, e->len, e->count);
	pthread_mutex_unlock(&q->lock);
}

uint64_t quota_generation(struct quota *q)
{
	uint64_t g;

	pthread_mutex_lock(&q->lock);
	g = q->generation;
	pthread_mutex_unlock(&q->lock);
	return g;
}
