/*
 * SIGHUP: read the configuration again and apply what can change live.
 *
 * The new file is parsed and validated in full into a config of its own
 * before anything is touched, so a broken file changes nothing. Then each
 * option that differs is either adopted into the running config (its value
 * swapped in, the old one freed with the scratch copy) and applied, or
 * named in the log as taking a restart. Applying never stops relaying:
 * credentials are rebuilt off to the side and swapped in by the store
 * (store/authsync.c), quotas are two numbers under the quota's lock, and
 * the peer policy and bandwidth limits reach each worker as a job on its
 * own event loop, between two packets; the old policy is freed once every
 * worker has let go of it. Allocations already made keep running; the new
 * policy and limits judge what they do from then on (a peer newly denied
 * gets no new permission, and its existing permission lapses as usual).
 */
#include "server/reload.h"

#include <stdio.h>
#include <string.h>

#include "relay/policy.h"
#include "server/log.h"
#include "server/quota.h"
#include "server/turn.h"

enum group {
	G_CREDENTIALS = 1 << 0,
	G_QUOTA = 1 << 1,
	G_POLICY = 1 << 2,
	G_LIMITS = 1 << 3, /* bandwidth, log-repeat-interval */
	G_LEVEL = 1 << 4,
	G_CERT = 1 << 5,
};

static const struct {
	const char *name;
	enum group group;
} live_options[] = {
	{ "user", G_CREDENTIALS },
	{ "userdb", G_CREDENTIALS },
	{ "static-auth-secret", G_CREDENTIALS },
	{ "use-auth-secret", G_CREDENTIALS },
	{ "rest-api-separator", G_CREDENTIALS },
	{ "user-quota", G_QUOTA },
	{ "total-quota", G_QUOTA },
	{ "allowed-peer-ip", G_POLICY },
	{ "denied-peer-ip", G_POLICY },
	{ "allow-loopback-peers", G_POLICY },
	{ "no-multicast-peers", G_POLICY }, /* no effect either way */
	{ "max-bps", G_LIMITS },
	{ "bps-capacity", G_LIMITS },
	{ "log-repeat-interval", G_LIMITS },
	{ "verbose", G_LEVEL },
	{ "cert", G_CERT },
	{ "pkey", G_CERT },
};

struct reload {
	struct server *srv;
	struct config *live, *fresh;
	unsigned groups;
	int applied, restart;
	char names[512]; /* the options applied, for the log */
};

static unsigned group_of(const char *name)
{
	for (size_t i = 0; i < sizeof live_options / sizeof live_options[0]; i++)
		if (strcmp(live_options[i].name, name) == 0)
			return live_options[i].group;
	return 0;
}

/* Whether option name of group g can change in this process as it was started. */
static const char *why_not(const struct server *srv, unsigned g, const char *name)
{
	/* channels in the XDP maps were offloaded as unmetered (relay/offload.c) */
	if (srv->xdp && (strcmp(name, "max-bps") == 0 || strcmp(name, "bps-capacity") == 0))
		return "with xdp-interface, channels already relayed in XDP are not metered";
	if ((g & (G_CREDENTIALS | G_QUOTA | G_POLICY)) && !srv->turn)
		return "TURN was off at start (STUN only)";
	if ((g & G_CERT) && !srv->tls && !srv->dtls)
		return "TLS and DTLS were off at start";
	return NULL;
}

static void on_change(void *ctx, const char *name)
{
	struct reload *r = ctx;
	unsigned g = group_of(name);
	const char *at = config_origin(r->fresh, name), *no = g ? why_not(r->srv, g, name) : NULL;
	size_t n = strlen(r->names);

	if (!g || no) {
		log_warn("SIGHUP: %s changed (%s): takes a restart%s%s; the running value stays",
			 name, at ? at : "now the default", no ? ": " : "", no ? no : "");
		r->restart++;
		return;
	}
	config_adopt(r->live, r->fresh, name);
	r->groups |= g;
	r->applied++;
	snprintf(r->names + n, sizeof r->names - n, "%s%s", n ? ", " : "", name);
}

static void policy_free_void(void *p)
{
	policy_free(p);
}

/* The peer policy, bandwidth limits and log-repeat-interval, to every worker. */
static void apply_limits(struct reload *r)
{
	struct server *srv = r->srv;
	const struct config *c = r->live;
	struct policy *old = NULL, *p = NULL;
	char err[CONFIG_ERR_LEN];
	struct worker_limits l;

	if ((r->groups & G_POLICY) && srv->turn) {
		p = turn_policy_again(srv, c, err, sizeof err);
		if (!p) { /* the ranges passed config_validate: only memory is left */
			log_err("SIGHUP: peer policy not changed: %s", err);
		} else {
			old = srv->policy;
			srv->policy = p;
			srv->relay.policy = p;
		}
	}
	srv->relay.max_bps = c->max_bps;
	srv->relay.capacity_bps = turn_capacity_share(srv, c->bps_capacity);
	l = (struct worker_limits){ .policy = srv->relay.policy, .max_bps = srv->relay.max_bps,
				    .capacity_bps = srv->relay.capacity_bps,
				    .log_repeat_ms = (uint64_t)c->log_repeat_interval * 1000 };
	if (workers_set_limits(srv, srv->base, &l, old ? policy_free_void : NULL, old) < 0) {
		log_err("SIGHUP: out of memory: peer policy and limits not changed");
		if (old) { /* back as it was: no worker saw p */
			srv->policy = old;
			srv->relay.policy = old;
			policy_free(p);
		}
	}
}

int reload_config(struct server *srv, struct config *live, int argc, char **argv)
{
	struct config fresh;
	char err[CONFIG_ERR_LEN] = "";
	bool check = false;
	struct reload r = { .srv = srv, .live = live, .fresh = &fresh };

	config_defaults(&fresh);
	fresh.quiet = true; /* its warnings were said at start */
	if (config_from_argv(&fresh, argc, argv, &check, err, sizeof err) != 0 ||
	    config_validate(&fresh, err, sizeof err) < 0) {
		log_err("SIGHUP: %s: the configuration is not applied, nothing changed", err);
		config_free(&fresh);
		return -1;
	}
	config_each_change(live, &fresh, on_change, &r);
	if (r.groups & G_LEVEL)
		log_set_level((enum log_level)live->verbose);
	if ((r.groups & G_QUOTA) && srv->quota)
		quota_set_limits(srv->quota, (uint32_t)live->user_quota, (uint32_t)live->total_quota);
	if (r.groups & (G_POLICY | G_LIMITS))
		apply_limits(&r);
	config_free(&fresh);
	if (r.applied)
		log_info("SIGHUP: %s: applied %s", live->path ? live->path : "command line",
			 r.names);
	else
		log_info("SIGHUP: %s: no option changed that applies live%s",
			 live->path ? live->path : "command line",
			 r.restart ? " (see above)" : "");
	return r.applied;
}
