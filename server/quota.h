/*
 * Process-wide allocation quotas: user-quota (per username) and total-quota.
 * Shared by every worker; taken and given once per Allocate and deallocation,
 * never per packet, so one mutex is enough.
 */
#ifndef TERN_SERVER_QUOTA_H
#define TERN_SERVER_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct quota;

/* 0 means unlimited for either. */
struct quota *quota_new(uint32_t per_user, uint32_t total);
void quota_free(struct quota *q);
bool quota_take(struct quota *q, const uint8_t *user, size_t len);
void quota_give(struct quota *q, const uint8_t *user, size_t len);
uint32_t quota_total(struct quota *q);
/* New limits (SIGHUP): allocations already held stay, new ones are judged
 * by these. */
void quota_set_limits(struct quota *q, uint32_t per_user, uint32_t total);
/* total-quota is set and reached. */
bool quota_full(struct quota *q);

/*
 * The fleet (store/fleet.c): other nodes' allocations by user, counted
 * against user-quota with this node's own. Built off the lock by the main
 * loop and swapped in whole; never waited for on the Allocate path.
 */
struct quota_remote;
struct quota_remote *quota_remote_new(void);
/* Add n allocations of user; -1 without memory. */
int quota_remote_add(struct quota_remote *r, const uint8_t *user, size_t len, uint32_t n);
/* Replace the fleet counts with r (owned from now on; NULL clears them). */
void quota_set_remote(struct quota *q, struct quota_remote *r);
void quota_remote_free(struct quota_remote *r);
/* Each user's own count on this node, under the lock (fn must not call back). */
void quota_each(struct quota *q, void (*fn)(void *ctx, const uint8_t *user, size_t len,
					   uint32_t n), void *ctx);
/* Bumped by every take and give: has anything changed since last time? */
uint64_t quota_generation(struct quota *q);

#endif
