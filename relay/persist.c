/*
 * The engine's side of the store: which UDP allocations the store has not
 * seen in their latest state, which records must go, and taking an
 * allocation back from its record after a restart.
 *
 * Changes are flags, not a log: an allocation refreshed a thousand times
 * between two syncs is written once, in its latest state, so what waits
 * for a store that is away never grows past the allocation table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "relay/engine.h"
#include "relay/record.h"

bool persist_wanted(const struct relay *r, const struct alloc *a)
{
	return r->cfg->persist && !r->closing && !a->tcp &&
	       a->key.transport == TURN_TRANSPORT_UDP && a->key.conn == 0;
}

int persist_init(struct relay *r)
{
	uint32_t max = alloc_capacity(r->allocs);

	r->rec = malloc(sizeof *r->rec); /* relay_each's too */
	if (!r->cfg->persist)
		return r->rec ? 0 : -ENOMEM;
	r->dirty = calloc(max, sizeof *r->dirty);
	r->deleted = calloc(max, sizeof *r->deleted);
	return r->dirty && r->deleted && r->rec ? 0 : -ENOMEM;
}

void persist_free(struct relay *r)
{
	for (uint32_t i = 0; r->deleted && i < r->n_deleted; i++)
		free(r->deleted[i].gone.user);
	free(r->dirty);
	free(r->deleted);
	free(r->rec);
}

void persist_mark(struct relay *r, struct alloc *a)
{
	if (!persist_wanted(r, a))
		return;
	if (!a->stored)
		r->urgent = true; /* a new one: the store has it before its answer goes */
	if (a->dirty)
		return;
	a->dirty = true;
	r->dirty[r->n_dirty++] = a->id; /* at most one entry per live id */
}

void persist_forget(struct relay *r, struct alloc *a)
{
	struct deleted *d;

	if (!persist_wanted(r, a) || !a->granted)
		return;
	if (r->n_deleted == alloc_capacity(r->allocs)) {
		stat_inc(&r->stats.deletes_lost, 1);
		return;
	}
	r->urgent = true;
	d = &r->deleted[r->n_deleted++];
	d->key = a->handle[ALLOC_V4] >= 0 ? a->relayed[ALLOC_V4] : a->relayed[ALLOC_V6];
	d->tag = a->tag;
	d->gone = (struct relay_gone){ .listener = a->key.listener, .client = a->key.client };
	memcpy(d->gone.packets, a->packets, sizeof a->packets);
	memcpy(d->gone.bytes, a->bytes, sizeof a->bytes);
	if (a->user_len && (d->gone.user = malloc(a->user_len))) { /* freed by relay_sync */
		memcpy(d->gone.user, a->user, a->user_len);
		d->gone.user_len = a->user_len;
	}
	/* its id may come back with another allocation before the next sync;
	 * the dirty entry stays, and that one's flag decides */
}

static void export(const struct alloc *a, uint64_t now, struct relay_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->tag = a->tag;
	rec->listener = a->key.listener;
	rec->client = a->key.client;
	rec->expires = a->expires;
	rec->granted = a->granted;
	rec->dont_fragment = a->dont_fragment;
	rec->fresh = !a->stored;
	memcpy(rec->packets, a->packets, sizeof a->packets);
	memcpy(rec->bytes, a->bytes, sizeof a->bytes);
	for (int f = 0; f < ALLOC_FAMILIES; f++) {
		rec->has[f] = a->handle[f] >= 0;
		if (rec->has[f])
			rec->relayed[f] = a->relayed[f];
	}
	rec->user_len = a->user_len < RECORD_USER_MAX ? a->user_len : RECORD_USER_MAX;
	memcpy(rec->user, a->user, rec->user_len);
	for (uint8_t i = 0; i < a->n_perms; i++) {
		if (a->perms[i].expires <= now)
			continue;
		rec->perms[rec->n_perms].ip.family = a->perms[i].family;
		memcpy(rec->perms[rec->n_perms].ip.ip, a->perms[i].ip, 16);
		rec->perms[rec->n_perms++].expires = a->perms[i].expires;
	}
	for (uint8_t i = 0; i < a->n_chans; i++) {
		if (a->chans[i].expires <= now)
			continue;
		rec->chans[rec->n_chans].number = a->chans[i].number;
		rec->chans[rec->n_chans].peer = a->chans[i].peer;
		rec->chans[rec->n_chans++].expires = a->chans[i].expires;
	}
}

void relay_sync(struct relay *r, uint64_t now_ms, const struct relay_sync_ops *ops)
{
	for (uint32_t i = 0; i < r->n_deleted; i++) {
		struct deleted *d = &r->deleted[i];

		ops->del(ops->ctx, &d->key, d->tag, &d->gone);
		free(d->gone.user);
	}
	r->n_deleted = 0;
	for (uint32_t i = 0; i < r->n_dirty; i++) {
		struct alloc *a = alloc_by_id(r->allocs, r->dirty[i]);

		if (!a || !a->dirty)
			continue;
		a->dirty = false;
		export(a, now_ms, r->rec);
		ops->put(ops->ctx, r->rec);
		a->stored = true;
	}
	r->n_dirty = 0;
	r->urgent = false;
}

void relay_traffic(struct relay *r, uint64_t now_ms,
		   void (*fn)(void *ctx, struct relay_record *rec), void *ctx)
{
	for (uint32_t id = 0; r->cfg->persist && id < alloc_capacity(r->allocs); id++) {
		struct alloc *a = alloc_by_id(r->allocs, id);

		if (!a || !persist_wanted(r, a))
			continue;
		offload_collect(r, a);
		if (a->bytes[0] == a->reported_bytes[0] && a->bytes[1] == a->reported_bytes[1])
			continue;
		export(a, now_ms, r->rec);
		fn(ctx, r->rec);
		memcpy(a->reported_bytes, a->bytes, sizeof a->bytes);
	}
}

void relay_each(struct relay *r, uint64_t now_ms,
		bool (*fn)(void *ctx, const struct relay_record *rec, uint8_t transport,
			   bool tcp_relay),
		void *ctx)
{
	for (uint32_t id = 0; id < alloc_capacity(r->allocs); id++) {
		struct alloc *a = alloc_by_id(r->allocs, id);

		if (!a || !a->granted)
			continue;
		offload_collect(r, a);
		export(a, now_ms, r->rec);
		if (!fn(ctx, r->rec, a->key.transport, a->tcp))
			return;
	}
}

bool relay_sync_urgent(const struct relay *r)
{
	return r->urgent;
}

bool relay_sync_pending(const struct relay *r)
{
	return r->n_dirty || r->n_deleted;
}

void relay_mark_all(struct relay *r)
{
	for (uint32_t id = 0; r->cfg->persist && id < alloc_capacity(r->allocs); id++) {
		struct alloc *a = alloc_by_id(r->allocs, id);

		if (a && a->granted)
			persist_mark(r, a);
	}
}

static void release_failed(struct relay *r, struct alloc *a)
{
	a->granted = 0; /* neither counted nor on record */
	allocate_release(r, a);
}

int relay_restore(struct relay *r, const struct relay_record *rec, uint64_t now_ms)
{
	struct relay_key k = {
		.listener = rec->listener,
		.transport = TURN_TRANSPORT_UDP,
		.client = rec->client,
	};
	struct alloc *a;

	if (rec->expires <= now_ms)
		return -ETIMEDOUT;
	if (alloc_find(r->allocs, &k))
		return -EEXIST;
	if (!r->ops->quota_take(r->ops->ctx, rec->user, rec->user_len))
		return -EDQUOT;
	a = alloc_insert(r->allocs, &k);
	if (!a || !(a->user = malloc(rec->user_len ? rec->user_len : 1))) {
		r->ops->quota_give(r->ops->ctx, rec->user, rec->user_len);
		if (a)
			alloc_remove(r->allocs, a);
		return a ? -ENOMEM : -ENOSPC;
	}
	memcpy(a->user, rec->user, rec->user_len);
	a->user_len = rec->user_len;
	a->dont_fragment = rec->dont_fragment;
	a->tag = rec->tag;
	a->stored = true;
	for (int f = 0; f < ALLOC_FAMILIES; f++) {
		int h;

		if (!rec->has[f])
			continue;
		h = r->ops->open(r->ops->ctx, a->id, &rec->relayed[f], rec->dont_fragment);
		if (h < 0) {
			release_failed(r, a);
			return h;
		}
		a->handle[f] = h;
		a->relayed[f] = rec->relayed[f];
	}
	for (uint8_t i = 0; i < rec->n_perms; i++)
		if (rec->perms[i].expires > now_ms)
			perm_install(a, &rec->perms[i].ip, rec->perms[i].expires, now_ms);
	for (uint8_t i = 0; i < rec->n_chans; i++)
		if (rec->chans[i].expires > now_ms)
			chan_bind(a, rec->chans[i].number, &rec->chans[i].peer,
				  rec->chans[i].expires, now_ms);
	a->granted = rec->granted ? rec->granted : 1;
	a->expires = rec->expires;
	for (int f = 0; f < ALLOC_FAMILIES; f++)
		if (a->handle[f] >= 0)
			stat_inc(&r->stats.allocations[f], 1);
	stat_inc(&r->stats.restored, 1);
	offload_sync(r, a, now_ms);
	return 0;
}
