/*
 * Permissions (RFC 8656 s9). A permission is an IP address, never a port,
 * and lives permission_lifetime (300 s) from its last install or refresh.
 * Expired entries are reclaimed when the array is scanned, so an idle
 * allocation costs nothing between requests.
 */
#include <stdlib.h>
#include <string.h>

#include "relay/alloc.h"

static bool same(const struct perm *p, const struct stun_addr *peer)
{
	size_t n = peer->family == STUN_FAMILY_IPV4 ? 4 : 16;

	return p->family == peer->family && memcmp(p->ip, peer->ip, n) == 0;
}

/* Drop expired permissions in place. */
static void sweep(struct alloc *a, uint64_t now)
{
	uint8_t j = 0;

	for (uint8_t i = 0; i < a->n_perms; i++)
		if (a->perms[i].expires > now)
			a->perms[j++] = a->perms[i];
	a->n_perms = j;
}

struct perm *perm_find(struct alloc *a, const struct stun_addr *peer, uint64_t now)
{
	for (uint8_t i = 0; i < a->n_perms; i++)
		if (same(&a->perms[i], peer))
			return a->perms[i].expires > now ? &a->perms[i] : NULL;
	return NULL;
}

bool perm_install(struct alloc *a, const struct stun_addr *peer, uint64_t expires,
		  uint64_t now)
{
	struct perm *p;

	for (uint8_t i = 0; i < a->n_perms; i++) {
		if (same(&a->perms[i], peer)) {
			a->perms[i].expires = expires;
			return true;
		}
	}
	sweep(a, now);
	if (a->n_perms >= RELAY_MAX_PERMISSIONS)
		return false;
	/* grow one at a time: most allocations hold one to four */
	p = realloc(a->perms, (a->n_perms + 1u) * sizeof *p);
	if (!p)
		return false;
	a->perms = p;
	p = &a->perms[a->n_perms++];
	memset(p, 0, sizeof *p);
	p->family = peer->family;
	memcpy(p->ip, peer->ip, sizeof p->ip);
	p->expires = expires;
	return true;
}
