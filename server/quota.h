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

#endif
