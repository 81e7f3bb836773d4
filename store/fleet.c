/*
 * The fleet view and the fleet-wide user quota (see fleet.h). Everything
 * here runs on the main loop; the only thing a worker ever sees of it is
 * the table quota_set_remote() swaps in.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "server/log.h"
#include "server/netaddr.h"
#include "server/quota.h"
#include "server/worker.h"
#include "store/fleet.h"
#include "store/rconn.h"
#include "store/store.h"

#define QUOTA_CHANNEL "tern:quota"
#define AUTH_CHANNEL "tern:auth"

/* One read of the fleet in flight: replies counted down to zero. */
struct refresh {
	struct fleet *f;
	int pending;
	bool failed;
	struct fleet_view view;
	struct quota_remote *remote;
};

/* A reply's context: the refresh and which node it is about. */
struct ask {
	struct refresh *rf;
	char id[65];
};

struct fleet {
	const struct server *srv;
	char node_id[65];
	char users_key[96]; /* tern:users:{ID} */
	struct rconn *conn;  /* the main loop's (not ours) */
	struct rconn *sub;   /* SUBSCRIBE tern:quota */
	struct event *check; /* our counts changed? */
	uint64_t generation; /* of the counts last written */
	bool written;
	struct refresh *refresh; /* in flight, or NULL */
	void (*on_auth)(void *ctx);
	void *on_auth_ctx;
	bool again;              /* asked for while one was in flight */
	struct fleet_view view;
	/* the workers' part: where to redirect, from the last view */
	pthread_mutex_t alt_lock;
	char alt_listening[256]; /* "" for none */
};

static void refresh_start(struct fleet *f);

/* ---- this node's counts ---------------------------------------------------- */

struct users {
	const char **argv;
	size_t *len;
	size_t n, cap;
	bool oom;
};

/* Room for two more arguments (a user and its count). */
static bool room(struct users *u)
{
	if (u->n + 2 > u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 64;
		const char **a = realloc(u->argv, cap * sizeof *a);
		size_t *l = a ? realloc(u->len, cap * sizeof *l) : NULL;

		if (a)
			u->argv = a;
		if (!a || !l)
			return false;
		u->len = l;
		u->cap = cap;
	}
	return true;
}

static void add_arg(struct users *u, const void *p, size_t len)
{
	u->argv[u->n] = p;
	u->len[u->n++] = len;
}

static void add_user(void *ctx, const uint8_t *user, size_t len, uint32_t n)
{
	struct users *u = ctx;
	char *copy;

	if (u->oom || !room(u) || !(copy = malloc(len + 1 + 16))) {
		u->oom = true;
		return;
	}
	memcpy(copy, user, len);
	snprintf(copy + len + 1, 16, "%u", n); /* the count lives after the name */
	add_arg(u, copy, len);
	add_arg(u, copy + len + 1, strlen(copy + len + 1));
}

static void on_reply(redisAsyncContext *ac, void *reply, void *arg)
{
	const redisReply *r = reply;

	if (r && r->type == REDIS_REPLY_ERROR)
		log_debug("redis: fleet: %s", r->str);
}

/* MULTI, DEL, HSET every user's count, EXPIRE, EXEC; then tell the others. */
static void write_users(struct fleet *f, bool announce)
{
	redisAsyncContext *ac = rconn_ctx(f->conn);
	struct users u = { 0 };
	char ttl[8];

	if (!ac || !f->srv->quota || !store_claimed(f->srv->store))
		return;
	f->generation = quota_generation(f->srv->quota);
	if (!room(&u))
		return;
	add_arg(&u, "HSET", 4);
	add_arg(&u, f->users_key, strlen(f->users_key));
	quota_each(f->srv->quota, add_user, &u);
	snprintf(ttl, sizeof ttl, "%d", STORE_NODE_TTL_S);
	if (!u.oom) {
		redisAsyncCommand(ac, on_reply, NULL, "MULTI");
		redisAsyncCommandArgv(ac, on_reply, NULL, 2,
				      (const char *[]){ "DEL", f->users_key }, NULL);
		if (u.n > 2)
			redisAsyncCommandArgv(ac, on_reply, NULL, (int)u.n, u.argv, u.len);
		redisAsyncCommandArgv(ac, on_reply, NULL, 3,
				      (const char *[]){ "EXPIRE", f->users_key, ttl }, NULL);
		redisAsyncCommand(ac, on_reply, NULL, "EXEC");
		if (announce)
			redisAsyncCommandArgv(ac, on_reply, NULL, 3,
					      (const char *[]){ "PUBLISH", QUOTA_CHANNEL, f->node_id },
					      NULL);
		f->written = true;
	}
	for (size_t i = 2; i < u.n; i += 2)
		free((void *)(uintptr_t)u.argv[i]); /* the name; its count is in the same block */
	free(u.argv);
	free(u.len);
}

static void on_check(evutil_socket_t fd, short what, void *arg)
{
	struct fleet *f = arg;

	if (f->srv->quota && quota_generation(f->srv->quota) != f->generation)
		write_users(f, true);
}

/* ---- reading the fleet ----------------------------------------------------- */

/* The least loaded live node that is not us and not full, for redirects. */
static void pick_alternate(struct fleet *f)
{
	const struct fleet_node *best = NULL;

	for (int i = 0; i < f->view.n; i++) {
		const struct fleet_node *n = &f->view.node[i];

		if (strcmp(n->id, f->node_id) == 0 || n->full)
			continue;
		if (!best || n->allocations < best->allocations)
			best = n;
	}
	pthread_mutex_lock(&f->alt_lock);
	snprintf(f->alt_listening, sizeof f->alt_listening, "%s",
		 !best ? "" : best->public[0] ? best->public : best->listening);
	pthread_mutex_unlock(&f->alt_lock);
}

bool fleet_alternate(struct fleet *f, const char *transport, uint8_t family,
		     struct stun_addr *out)
{
	char list[sizeof f->alt_listening], *save = NULL, *name, *addr;

	if (!f)
		return false;
	pthread_mutex_lock(&f->alt_lock);
	memcpy(list, f->alt_listening, sizeof list);
	pthread_mutex_unlock(&f->alt_lock);
	/* "udp 192.0.2.1:3478 tcp 192.0.2.1:3478 ..." */
	for (name = strtok_r(list, " ", &save); name && (addr = strtok_r(NULL, " ", &save));
	     name = strtok_r(NULL, " ", &save)) {
		struct sockaddr_storage ss;
		socklen_t len;
		static const uint8_t zero[16];

		if (strcmp(name, transport) != 0 || !netaddr_parse_hostport(addr, &ss, &len) ||
		    !netaddr_to_stun((const struct sockaddr *)&ss, out) || out->family != family)
			continue;
		if (memcmp(out->ip, zero, family == STUN_FAMILY_IPV4 ? 4 : 16) != 0)
			return true; /* a wildcard says nothing about where to go */
	}
	return false;
}

static void refresh_done(struct refresh *rf)
{
	struct fleet *f = rf->f;

	if (--rf->pending > 0)
		return;
	if (!rf->failed) {
		rf->view.at = (int64_t)time(NULL);
		f->view = rf->view;
		pick_alternate(f);
		if (f->srv->quota) {
			quota_set_remote(f->srv->quota, rf->remote);
			rf->remote = NULL;
		}
	}
	quota_remote_free(rf->remote);
	free(rf);
	f->refresh = NULL;
	if (f->again) {
		f->again = false;
		refresh_start(f);
	}
}

static const char *field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1]->str;
	return NULL;
}

static void on_node(redisAsyncContext *ac, void *reply, void *arg)
{
	struct ask *q = arg;
	struct refresh *rf = q->rf;
	const redisReply *r = reply;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		rf->failed = true;
	} else if (r->elements == 0) { /* expired: that node is gone */
		redisAsyncCommandArgv(ac, on_reply, NULL, 3,
				      (const char *[]){ "SREM", "tern:nodes", q->id }, NULL);
	} else if (rf->view.n < FLEET_MAX_NODES) {
		struct fleet_node *n = &rf->view.node[rf->view.n++];
		const char *v;

		snprintf(n->id, sizeof n->id, "%s", q->id);
		n->allocations = (v = field(r, "allocations")) ? strtoull(v, NULL, 10) : 0;
		n->heartbeat = (v = field(r, "heartbeat")) ? strtoll(v, NULL, 10) : 0;
		n->full = (v = field(r, "full")) && strcmp(v, "1") == 0;
		n->wg_peers = (v = field(r, "wg_peers")) ? strtoull(v, NULL, 10) : 0;
		n->wg_sessions = (v = field(r, "wg_sessions")) ? strtoull(v, NULL, 10) : 0;
		snprintf(n->listening, sizeof n->listening, "%s",
			 (v = field(r, "listening")) ? v : "");
		snprintf(n->public, sizeof n->public, "%s", (v = field(r, "public")) ? v : "");
	}
	free(q);
	refresh_done(rf);
}

static void on_users(redisAsyncContext *ac, void *reply, void *arg)
{
	struct ask *q = arg;
	struct refresh *rf = q->rf;
	const redisReply *r = reply;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		rf->failed = true;
	} else {
		for (size_t i = 0; i + 1 < r->elements; i += 2) {
			const redisReply *u = r->element[i], *n = r->element[i + 1];

			if (u->type == REDIS_REPLY_STRING && n->type == REDIS_REPLY_STRING &&
			    quota_remote_add(rf->remote, (const uint8_t *)u->str, u->len,
					     (uint32_t)strtoul(n->str, NULL, 10)) < 0)
				rf->failed = true;
		}
	}
	free(q);
	refresh_done(rf);
}

/* HGETALL <what>:{id}, its reply to fn. */
static void ask(struct refresh *rf, redisAsyncContext *ac, redisCallbackFn *fn,
		const char *what, const char *id)
{
	struct ask *q = calloc(1, sizeof *q);
	char key[96];

	if (!q) {
		rf->failed = true;
		return;
	}
	q->rf = rf;
	snprintf(q->id, sizeof q->id, "%s", id);
	snprintf(key, sizeof key, "%s:{%s}", what, id);
	rf->pending++;
	if (redisAsyncCommandArgv(ac, fn, q, 2, (const char *[]){ "HGETALL", key }, NULL) !=
	    REDIS_OK) {
		rf->pending--;
		rf->failed = true;
		free(q);
	}
}

static void on_members(redisAsyncContext *ac, void *reply, void *arg)
{
	struct refresh *rf = arg;
	const redisReply *r = reply;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		rf->failed = true;
	} else {
		for (size_t i = 0; i < r->elements; i++) {
			const char *id = r->element[i]->str;

			if (r->element[i]->type != REDIS_REPLY_STRING || !config_valid_node_id(id))
				continue;
			ask(rf, ac, on_node, "tern:node", id);
			if (strcmp(id, rf->f->node_id) != 0)
				ask(rf, ac, on_users, "tern:users", id);
		}
	}
	refresh_done(rf); /* the SMEMBERS itself */
}

static void refresh_start(struct fleet *f)
{
	redisAsyncContext *ac = rconn_ctx(f->conn);
	struct refresh *rf;

	if (!ac)
		return;
	if (f->refresh) {
		f->again = true;
		return;
	}
	rf = calloc(1, sizeof *rf);
	if (!rf || !(rf->remote = quota_remote_new())) {
		free(rf);
		return;
	}
	rf->f = f;
	rf->pending = 1;
	f->refresh = rf;
	if (redisAsyncCommandArgv(ac, on_members, rf, 2,
				  (const char *[]){ "SMEMBERS", "tern:nodes" }, NULL) != REDIS_OK)
		refresh_done(rf);
}

/* ---- the subscription ------------------------------------------------------- */

static void on_message(redisAsyncContext *ac, void *reply, void *arg)
{
	struct fleet *f = arg;
	const redisReply *r = reply;

	/* ["message", channel, payload]; subscribe confirmations are ignored */
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
	    r->element[1]->type != REDIS_REPLY_STRING || r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(r->element[1]->str, AUTH_CHANNEL) == 0) {
		if (f->on_auth)
			f->on_auth(f->on_auth_ctx);
	} else if (strcmp(r->element[2]->str, f->node_id) != 0) { /* another node's counts */
		refresh_start(f);
	}
}

static void on_sub_up(void *ctx, redisAsyncContext *ac)
{
	struct fleet *f = ctx;

	redisAsyncCommandArgv(ac, on_message, f, 3,
			      (const char *[]){ "SUBSCRIBE", QUOTA_CHANNEL, AUTH_CHANNEL }, NULL);
	refresh_start(f); /* what we missed while the subscription was down */
	if (f->on_auth)
		f->on_auth(f->on_auth_ctx);
}

/* ---- the API ------------------------------------------------------------------ */

struct fleet *fleet_new(struct event_base *base, const struct server *srv,
			const struct redis_url *u, const char *node_id, struct rconn *conn)
{
	static const struct timeval every = { 0, FLEET_QUOTA_CHECK_MS * 1000 };
	struct fleet *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->srv = srv;
	f->conn = conn;
	pthread_mutex_init(&f->alt_lock, NULL);
	snprintf(f->node_id, sizeof f->node_id, "%s", node_id);
	snprintf(f->users_key, sizeof f->users_key, "tern:users:{%s}", node_id);
	f->check = event_new(base, -1, EV_PERSIST, on_check, f);
	f->sub = rconn_new(base, u, "subscription", false,
			   &(struct rconn_cb){ .ctx = f, .up = on_sub_up });
	if (!f->check || !f->sub || event_add(f->check, &every) < 0) {
		fleet_free(f);
		return NULL;
	}
	return f;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	/* the owner has freed its connection first: an unfinished refresh's
	 * callbacks have run (with no reply) and freed it */
	rconn_free(f->sub);
	if (f->check)
		event_free(f->check);
	pthread_mutex_destroy(&f->alt_lock);
	free(f);
}

void fleet_announce(struct fleet *f)
{
	redisAsyncContext *ac = rconn_ctx(f->conn);

	if (ac)
		redisAsyncCommandArgv(ac, on_reply, NULL, 3,
				      (const char *[]){ "PUBLISH", QUOTA_CHANNEL, f->node_id }, NULL);
}

void fleet_beat(struct fleet *f)
{
	if (f->srv->quota)
		write_users(f, !f->written || quota_generation(f->srv->quota) != f->generation);
	refresh_start(f);
}

void fleet_on_auth(struct fleet *f, void (*fn)(void *ctx), void *ctx)
{
	f->on_auth = fn;
	f->on_auth_ctx = ctx;
}

const struct fleet_view *fleet_view(const struct fleet *f)
{
	return f ? &f->view : NULL;
}
