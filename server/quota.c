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

struct quota {
	pthread_mutex_t lock;
	uint32_t per_user, total, in_use;
	struct quota_entry *bucket[QUOTA_BUCKETS];
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

void quota_free(struct quota *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < QUOTA_BUCKETS; i++) {
		while (q->bucket[i]) {
			struct quota_entry *e = q->bucket[i];

			q->bucket[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static struct quota_entry **find(struct quota *q, const uint8_t *user, size_t len)
{
	struct quota_entry **p = &q->bucket[bucket_of(user, len)];

	while (*p && ((*p)->len != len || memcmp((*p)->user, user, len) != 0))
		p = &(*p)->next;
	return p;
}

bool quota_take(struct quota *q, const uint8_t *user, size_t len)
{
	struct quota_entry **p, *e;
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	if (q->total && q->in_use >= q->total)
		goto out;
	p = find(q, user, len);
	e = *p;
	if (!e) {
		e = calloc(1, sizeof *e + len);
		if (!e)
			goto out;
		memcpy(e->user, user, len);
		e->len = len;
		*p = e;
	}
	if (q->per_user && e->count >= q->per_user)
		goto out;
	e->count++;
	q->in_use++;
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
