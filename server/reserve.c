/*
 * The reservation table: a fixed array under one mutex. It is touched only
 * by Allocates that ask for EVEN-PORT, never on the packet path.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server/reserve.h"

struct held {
	uint8_t token[RESERVE_TOKEN_LEN];
	int fd; /* -1: free slot */
	struct stun_addr bound;
	uint64_t expires;
};

struct reserve {
	pthread_mutex_t lock;
	struct held slot[RESERVE_MAX];
};

struct reserve *reserve_new(void)
{
	struct reserve *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	for (int i = 0; i < RESERVE_MAX; i++)
		r->slot[i].fd = -1;
	return r;
}

void reserve_free(struct reserve *r)
{
	if (!r)
		return;
	reserve_expire(r, UINT64_MAX);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

bool reserve_hold(struct reserve *r, int fd, const struct stun_addr *bound,
		  const uint8_t token[RESERVE_TOKEN_LEN], uint64_t now)
{
	bool ok = false;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < RESERVE_MAX && !ok; i++) {
		struct held *h = &r->slot[i];

		if (h->fd >= 0)
			continue;
		memcpy(h->token, token, RESERVE_TOKEN_LEN);
		h->fd = fd;
		h->bound = *bound;
		h->expires = now + RESERVE_MS;
		ok = true;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

int reserve_take(struct reserve *r, const uint8_t token[RESERVE_TOKEN_LEN], uint64_t now,
		 struct stun_addr *bound)
{
	int fd = -1;

	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < RESERVE_MAX && fd < 0; i++) {
		struct held *h = &r->slot[i];

		if (h->fd < 0 || h->expires <= now ||
		    CRYPTO_memcmp(h->token, token, RESERVE_TOKEN_LEN) != 0)
			continue;
		fd = h->fd;
		*bound = h->bound;
		h->fd = -1;
	}
	pthread_mutex_unlock(&r->lock);
	return fd;
}

void reserve_expire(struct reserve *r, uint64_t now)
{
	pthread_mutex_lock(&r->lock);
	for (int i = 0; i < RESERVE_MAX; i++) {
		struct held *h = &r->slot[i];

		if (h->fd >= 0 && h->expires <= now) {
			close(h->fd);
			h->fd = -1;
		}
	}
	pthread_mutex_unlock(&r->lock);
}
