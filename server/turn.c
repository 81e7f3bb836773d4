/*
 * TURN set-up. Relay addresses come from relay-ip, else from listening-ip,
 * else from the host's first global address of each family; external-ip
 * (coturn's `public` or `public/private`) is what XOR-RELAYED-ADDRESS then
 * advertises. Every relay, listening and public address is registered with
 * the peer policy as the server's own, so a client cannot relay to us.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "relay/auth.h"
#include "relay/policy.h"
#include "server/log.h"
#include "server/netaddr.h"
#include "server/quota.h"
#include "server/reserve.h"
#include "server/tcprelay.h"
#include "server/turn.h"

static bool ip_of(const char *text, struct stun_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return netaddr_parse_ip(text, 0, &ss, &len) &&
	       netaddr_to_stun((struct sockaddr *)&ss, out);
}

static bool is_wildcard(const struct stun_addr *a)
{
	static const uint8_t zero[16];

	return memcmp(a->ip, zero, a->family == STUN_FAMILY_IPV4 ? 4 : 16) == 0;
}

/* The first address of family f in list, skipping wildcards. */
static bool first_of(char *const *list, int n, uint8_t f, struct stun_addr *out)
{
	for (int i = 0; i < n; i++)
		if (ip_of(list[i], out) && out->family == f && !is_wildcard(out))
			return true;
	return false;
}

static bool global(const struct stun_addr *a)
{
	if (a->family == STUN_FAMILY_IPV4)
		return a->ip[0] != 127 && !(a->ip[0] == 169 && a->ip[1] == 254);
	return a->ip[0] != 0xfe && !(a->ip[0] == 0 && a->ip[15] <= 1); /* not fe80, ::1 */
}

/* The host's first global address of family f, else its loopback. */
static bool from_host(uint8_t f, struct stun_addr *out)
{
	struct ifaddrs *ifs, *i;
	bool found = false, loop = false;
	struct stun_addr a, lo;

	if (getifaddrs(&ifs) < 0)
		return false;
	for (i = ifs; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || !netaddr_to_stun(i->ifa_addr, &a) || a.family != f)
			continue;
		if (global(&a)) {
			*out = a;
			found = true;
		} else if (!loop) {
			lo = a;
			loop = true;
		}
	}
	freeifaddrs(ifs);
	if (!found && loop) {
		*out = lo;
		log_warn("no global IPv%c address: relaying from loopback %s",
			 f == STUN_FAMILY_IPV4 ? '4' : '6', f == STUN_FAMILY_IPV4 ? "127.0.0.1" : "::1");
		return true;
	}
	return found;
}

static bool relay_addr(const struct config *c, uint8_t f, struct stun_addr *out)
{
	if (c->n_relay_ip)
		return first_of(c->relay_ip, c->n_relay_ip, f, out);
	if (c->n_listening_ip)
		return first_of(c->listening_ip, c->n_listening_ip, f, out);
	return from_host(f, out);
}

/* external-ip=public[/private]: public replaces the relay address it maps. */
static int external(const struct config *c, struct relay_config *rc, char *err,
		    size_t errlen)
{
	char pub[64], *slash;
	struct stun_addr p, priv;

	if (!c->external_ip)
		return 0;
	snprintf(pub, sizeof pub, "%s", c->external_ip);
	slash = strchr(pub, '/');
	if (slash)
		*slash++ = '\0';
	if (!ip_of(pub, &p) || (slash && (!ip_of(slash, &priv) || priv.family != p.family))) {
		snprintf(err, errlen, "external-ip: '%s' is not public[/private]", c->external_ip);
		return -1;
	}
	if (p.family == STUN_FAMILY_IPV4) {
		if (slash) {
			rc->relay_v4 = priv;
			rc->has_v4 = true;
		}
		rc->public_v4 = p;
	} else {
		if (slash) {
			rc->relay_v6 = priv;
			rc->has_v6 = true;
		}
		rc->public_v6 = p;
	}
	return 0;
}

static int addresses(struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	struct relay_config *rc = &srv->relay;
	char a[NETADDR_STRLEN];
	struct sockaddr_storage ss;

	rc->has_v4 = relay_addr(c, STUN_FAMILY_IPV4, &rc->relay_v4);
	rc->has_v6 = relay_addr(c, STUN_FAMILY_IPV6, &rc->relay_v6);
	rc->public_v4 = rc->relay_v4;
	rc->public_v6 = rc->relay_v6;
	if (external(c, rc, err, errlen) < 0)
		return -1;
	if (!rc->has_v4 && !rc->has_v6) {
		snprintf(err, errlen, "relay-ip: no address to relay from");
		return -1;
	}
	for (int f = 0; f < 2; f++) {
		const struct stun_addr *r = f ? &rc->relay_v6 : &rc->relay_v4;
		const struct stun_addr *p = f ? &rc->public_v6 : &rc->public_v4;

		if (!(f ? rc->has_v6 : rc->has_v4))
			continue;
		policy_add_own(srv->policy, r);
		policy_add_own(srv->policy, p);
		netaddr_from_stun(p, &ss);
		log_info("relaying IPv%c from %s", f ? '6' : '4',
			 netaddr_str((struct sockaddr *)&ss, a, sizeof a));
	}
	for (int i = 0; i < srv->n_spec; i++)
		if (!is_wildcard(&srv->spec[i].local))
			policy_add_own(srv->policy, &srv->spec[i].local);
	return 0;
}

/* A userdb line, as config read and checked it, into the credential set. */
static int userdb_add(void *ctx, const struct config_user *u)
{
	char line[CONFIG_MAX_USERNAME_LEN + CONFIG_MAX_SECRET_LEN + 8], why[256];
	int n;

	if (u->password)
		n = snprintf(line, sizeof line, "%.*s:%.*s", (int)u->name_len, u->name,
			     (int)u->password_len, u->password);
	else
		n = snprintf(line, sizeof line, "%.*s:0x%02x%02x%02x%02x%02x%02x%02x%02x"
			     "%02x%02x%02x%02x%02x%02x%02x%02x", (int)u->name_len, u->name,
			     u->key[0], u->key[1], u->key[2], u->key[3], u->key[4], u->key[5],
			     u->key[6], u->key[7], u->key[8], u->key[9], u->key[10],
			     u->key[11], u->key[12], u->key[13], u->key[14], u->key[15]);
	n = n > 0 && (size_t)n < sizeof line ? auth_add_user(ctx, line, why, sizeof why) : -1;
	OPENSSL_cleanse(line, sizeof line);
	return n;
}

int turn_credentials(const struct config *c, struct auth *a, char *err, size_t errlen)
{
	char why[256];

	for (int i = 0; i < c->n_user; i++) {
		if (auth_add_user(a, c->user[i], why, sizeof why) < 0) {
			snprintf(err, errlen, "user: %s", why);
			return -1;
		}
	}
	if (c->userdb && config_userdb_read(c->userdb, userdb_add, a, err, errlen) < 0)
		return -1;
	auth_use_secret(a, c->use_auth_secret);
	auth_set_separator(a, c->rest_api_separator);
	for (int i = 0; i < c->n_static_auth_secret; i++) {
		if (auth_add_secret(a, c->static_auth_secret[i]) < 0) {
			snprintf(err, errlen, "static-auth-secret: cannot add secret %d", i + 1);
			return -1;
		}
	}
	auth_set_nonce_validity(a, (uint32_t)c->stale_nonce);
	return 0;
}

static int peer_policy(struct policy *p, const struct config *c, char *err, size_t errlen)
{
	for (int i = 0; i < c->n_allowed_peer_ip; i++)
		if (!policy_allow_range(p, c->allowed_peer_ip[i], err, errlen))
			return -1;
	for (int i = 0; i < c->n_denied_peer_ip; i++)
		if (!policy_deny_range(p, c->denied_peer_ip[i], err, errlen))
			return -1;
	policy_allow_loopback(p, c->allow_loopback_peers);
	return 0;
}

struct policy *turn_policy_again(const struct server *srv, const struct config *c, char *err,
				 size_t errlen)
{
	struct policy *p = policy_new_like(srv->policy);

	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (peer_policy(p, c, err, errlen) < 0) {
		policy_free(p);
		return NULL;
	}
	return p;
}

uint64_t turn_capacity_share(const struct server *srv, uint64_t bps_capacity)
{
	/* each worker enforces its share: no lock on the packet path */
	return bps_capacity ? (bps_capacity + (uint64_t)srv->n_workers - 1) /
				      (uint64_t)srv->n_workers : 0;
}

static void limits(struct server *srv)
{
	const struct config *c = srv->cfg;
	struct relay_config *rc = &srv->relay;

	rc->default_lifetime = 600;
	rc->max_lifetime = (uint32_t)c->max_allocate_lifetime;
	if (rc->max_lifetime < rc->default_lifetime)
		rc->default_lifetime = rc->max_lifetime;
	rc->permission_lifetime = (uint32_t)c->permission_lifetime;
	rc->channel_lifetime = (uint32_t)c->channel_lifetime;
	rc->nonce_lifetime = (uint32_t)c->stale_nonce;
	rc->min_port = c->min_port;
	rc->max_port = c->max_port;
	rc->max_allocations = (uint32_t)c->max_allocations;
	rc->channel_max = c->rfc8656_channel_numbers ? CHANNEL_MAX : CHANNEL_MAX_RFC5766;
	rc->max_bps = (uint64_t)c->max_bps;
	rc->no_udp_relay = c->no_udp_relay;
	rc->persist = c->redis_url && *c->redis_url; /* store/records.c */
	rc->hold_new = rc->persist && c->redis_required;
	rc->capacity_bps = turn_capacity_share(srv, c->bps_capacity);
	/* the same for the unauthenticated budget: a source's datagrams
	 * spread over the workers by port */
	if (!c->no_unauth_ratelimit && c->unauth_ratelimit_rps) {
		uint32_t n = (uint32_t)srv->n_workers;

		rc->unauth_rate = ((uint32_t)c->unauth_ratelimit_rps + n - 1) / n;
		rc->unauth_burst = ((uint32_t)c->unauth_ratelimit_burst + n - 1) / n;
	}
	rc->auth = srv->auth;
	rc->policy = srv->policy;
	rc->software = c->no_software_attribute ? NULL : srv->spec[0].binding.software;
}

static int nonce_secret(const struct config *c, struct relay_config *rc)
{
	rc->n_nonce_secrets = 1;
	if (c->has_nonce_secret) {
		memcpy(rc->nonce_secret[0], c->nonce_secret, NONCE_SECRET_LEN);
		return 0;
	}
	return getrandom(rc->nonce_secret[0], NONCE_SECRET_LEN, 0) == NONCE_SECRET_LEN ? 0 : -1;
}

int turn_setup(struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;

	if (c->n_user == 0 && !c->userdb && !c->use_auth_secret &&
	    !(c->redis_url && *c->redis_url)) { /* with Redis, users can come from there */
		log_warn("TURN off: no user, userdb, use-auth-secret or redis-url configured "
			 "(STUN only)");
		return 0;
	}
	srv->auth = auth_new(c->realm);
	srv->policy = policy_new();
	srv->quota = quota_new((uint32_t)c->user_quota, (uint32_t)c->total_quota);
	srv->reserve = reserve_new();
	srv->tcp = tcp_hub_new();
	if (!srv->auth || !srv->policy || !srv->quota || !srv->reserve || !srv->tcp) {
		snprintf(err, errlen, "TURN: out of memory (or realm too long)");
		return -1;
	}
	if (turn_credentials(c, srv->auth, err, errlen) < 0 || peer_policy(srv->policy, c, err, errlen) < 0 ||
	    addresses(srv, err, errlen) < 0 || nonce_secret(c, &srv->relay) < 0)
		return -1;
	limits(srv);
	srv->turn = true;
	log_info("TURN on: realm %s, %zu users%s", c->realm,
		 auth_user_count(srv->auth), c->use_auth_secret ? ", REST secrets" : "");
	return 0;
}

void turn_teardown(struct server *srv)
{
	auth_free(srv->auth);
	policy_free(srv->policy);
	quota_free(srv->quota);
	reserve_free(srv->reserve);
	tcp_hub_free(srv->tcp);
	OPENSSL_cleanse(srv->relay.nonce_secret, sizeof srv->relay.nonce_secret);
}
