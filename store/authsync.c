/*
 * Users and REST secrets from Redis (see authsync.h). One read at a time:
 * SCAN the user keys, MGET each batch, SMEMBERS the secrets; then, if the
 * result differs from the last one, a new credential set for the workers.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "server/log.h"
#include "server/turn.h"
#include "server/worker.h"
#include "store/authsync.h"
#include "store/rconn.h"

enum { KEY_HEX = 32 };

struct pair {
	char *name;
	char key[KEY_HEX + 1];
};

/* One read in flight. */
struct load {
	struct authsync *as;
	struct pair *users;
	size_t n_users, cap_users;
	char **secrets;
	size_t n_secrets;
	bool failed;
	char cursor[32]; /* the SCAN's next */
	char **names;    /* the MGET in flight: its users' names */
	size_t n_names;
};

/* Handing a new credential set to one worker. */
struct job {
	struct authsync *as;
	struct worker *w;
	const struct auth *auth;
};

struct authsync {
	struct event_base *base;
	struct server *srv;
	struct rconn *conn;
	char pattern[600];    /* turn/realm/<realm, glob-escaped>/user/ * /key */
	char secret_key[600]; /* turn/realm/<realm>/secret */
	size_t prefix_len;    /* of "turn/realm/<realm>/user/" */
	struct event *poll;
	struct load *load;
	bool again;           /* asked for while one was in flight */
	uint8_t digest[32];   /* of what the last set was made from */
	bool have_digest;
	struct auth *retired; /* the set the workers are letting go of */
	_Atomic int pending;  /* workers yet to let go */
	struct job *jobs;
};

static void load_next(struct load *ld, redisAsyncContext *ac);

static void load_free(struct load *ld)
{
	for (size_t i = 0; i < ld->n_users; i++) {
		free(ld->users[i].name);
		OPENSSL_cleanse(ld->users[i].key, sizeof ld->users[i].key);
	}
	for (size_t i = 0; i < ld->n_secrets; i++) {
		OPENSSL_cleanse(ld->secrets[i], strlen(ld->secrets[i]));
		free(ld->secrets[i]);
	}
	for (size_t i = 0; i < ld->n_names; i++)
		free(ld->names[i]);
	free(ld->users);
	free(ld->secrets);
	free(ld->names);
	free(ld);
}

/* ---- handing the new set to the workers ------------------------------------ */

static void on_all_swapped(evutil_socket_t fd, short what, void *arg)
{
	struct authsync *as = arg;

	auth_free(as->retired);
	as->retired = NULL;
	if (as->again) {
		as->again = false;
		authsync_reload(as);
	}
}

static void on_worker_swap(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;

	j->w->relay.auth = j->auth; /* the engine's config: this thread's own */
	if (atomic_fetch_sub(&j->as->pending, 1) == 1)
		event_base_once(j->as->base, -1, EV_TIMEOUT, on_all_swapped, j->as, NULL);
}

static void swap(struct authsync *as, struct auth *fresh)
{
	struct server *srv = as->srv;

	as->retired = srv->auth;
	srv->auth = fresh;
	srv->relay.auth = fresh;
	atomic_store(&as->pending, srv->n_workers);
	for (int i = 0; i < srv->n_workers; i++) {
		as->jobs[i] = (struct job){ as, srv->workers[i], fresh };
		if (event_base_once(srv->workers[i]->base, -1, EV_TIMEOUT, on_worker_swap,
				    &as->jobs[i], NULL) < 0)
			on_worker_swap(-1, 0, &as->jobs[i]); /* cannot happen; do not leak */
	}
}

/* ---- building the set ------------------------------------------------------- */

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct pair *)x)->name, ((const struct pair *)y)->name);
}

static int by_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A digest of what was read, in a canonical order: unchanged, nothing to do. */
static void digest(struct load *ld, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned n = 0;

	if (ld->n_users) /* qsort wants a pointer even for nothing */
		qsort(ld->users, ld->n_users, sizeof *ld->users, by_name);
	if (ld->n_secrets)
		qsort(ld->secrets, ld->n_secrets, sizeof *ld->secrets, by_str);
	memset(out, 0, 32);
	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return;
	}
	for (size_t i = 0; i < ld->n_users; i++) {
		EVP_DigestUpdate(md, ld->users[i].name, strlen(ld->users[i].name) + 1);
		EVP_DigestUpdate(md, ld->users[i].key, KEY_HEX);
	}
	EVP_DigestUpdate(md, "\n", 1);
	for (size_t i = 0; i < ld->n_secrets; i++)
		EVP_DigestUpdate(md, ld->secrets[i], strlen(ld->secrets[i]) + 1);
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

static void finish(struct load *ld)
{
	struct authsync *as = ld->as;
	const struct config *c = as->srv->cfg;
	unsigned added = 0, secrets = 0;
	struct auth *fresh;
	uint8_t d[32];
	char err[256];

	as->load = NULL;
	if (ld->failed)
		goto out;
	digest(ld, d);
	if (as->have_digest && memcmp(d, as->digest, sizeof d) == 0)
		goto out;
	if (as->retired) { /* the last swap is still under way: after it */
		as->again = true;
		goto out;
	}
	fresh = auth_new(c->realm);
	if (!fresh || turn_credentials(c, fresh, err, sizeof err) < 0) {
		log_warn("redis: credentials not reloaded: %s", fresh ? err : "out of memory");
		auth_free(fresh);
		goto out;
	}
	for (size_t i = 0; i < ld->n_users; i++) {
		char line[AUTH_MAX_NAME + KEY_HEX + 4];
		int rc;

		snprintf(line, sizeof line, "%s:0x%s", ld->users[i].name, ld->users[i].key);
		rc = auth_add_user(fresh, line, err, sizeof err);
		OPENSSL_cleanse(line, sizeof line);
		if (rc == 0)
			added++;
		else if (rc != -EEXIST) /* a config user of that name wins */
			log_debug("redis: user not taken: %s", err);
	}
	for (size_t i = 0; i < ld->n_secrets; i++)
		secrets += auth_add_secret(fresh, ld->secrets[i]) == 0;
	memcpy(as->digest, d, sizeof d);
	as->have_digest = true;
	if (as->conn)
		log_info("redis: credentials: %u users and %u REST secrets from Redis, %zu users "
			 "in all", added, secrets, auth_user_count(fresh));
	else
		log_info("credentials reloaded: %zu users", auth_user_count(fresh));
	swap(as, fresh);
out:
	load_free(ld);
	if (as->again && !as->retired) {
		as->again = false;
		authsync_reload(as);
	}
}

/* ---- reading Redis ---------------------------------------------------------- */

static bool hex32(const char *s, size_t n)
{
	if (n != KEY_HEX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (OPENSSL_hexchar2int((unsigned char)s[i]) < 0)
			return false;
	return true;
}

static void on_secrets(redisAsyncContext *ac, void *reply, void *arg)
{
	struct load *ld = arg;
	const redisReply *r = reply;

	if (!r || r->type != REDIS_REPLY_ARRAY) {
		ld->failed = true;
	} else if (r->elements && !(ld->secrets = calloc(r->elements, sizeof *ld->secrets))) {
		ld->failed = true;
	} else {
		for (size_t i = 0; i < r->elements; i++)
			if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len &&
			    !memchr(r->element[i]->str, '\0', r->element[i]->len) &&
			    (ld->secrets[ld->n_secrets] = strdup(r->element[i]->str)))
				ld->n_secrets++;
	}
	finish(ld);
}

static void on_keys(redisAsyncContext *ac, void *reply, void *arg)
{
	struct load *ld = arg;
	const redisReply *r = reply;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != ld->n_names) {
		ld->failed = true;
		finish(ld);
		return;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *v = r->element[i];
		struct pair *p;

		if (v->type != REDIS_REPLY_STRING || !hex32(v->str, v->len))
			continue; /* gone since, or not a key */
		if (ld->n_users == ld->cap_users) {
			size_t cap = ld->cap_users ? 2 * ld->cap_users : 64;
			struct pair *u = realloc(ld->users, cap * sizeof *u);

			if (!u) {
				ld->failed = true;
				break;
			}
			ld->users = u;
			ld->cap_users = cap;
		}
		p = &ld->users[ld->n_users++];
		p->name = ld->names[i];
		ld->names[i] = NULL;
		memcpy(p->key, v->str, KEY_HEX);
		p->key[KEY_HEX] = '\0';
	}
	for (size_t i = 0; i < ld->n_names; i++)
		free(ld->names[i]);
	free(ld->names);
	ld->names = NULL;
	ld->n_names = 0;
	if (ld->failed)
		finish(ld);
	else
		load_next(ld, ac);
}

static void on_scan(redisAsyncContext *ac, void *reply, void *arg)
{
	struct load *ld = arg;
	struct authsync *as = ld->as;
	const redisReply *r = reply, *keys;
	const char **argv;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
		ld->failed = true;
		finish(ld);
		return;
	}
	snprintf(ld->cursor, sizeof ld->cursor, "%s", r->element[0]->str);
	keys = r->element[1];
	if (keys->elements == 0) {
		load_next(ld, ac);
		return;
	}
	argv = calloc(keys->elements + 1, sizeof *argv);
	ld->names = calloc(keys->elements, sizeof *ld->names);
	if (!argv || !ld->names) {
		free(argv);
		ld->failed = true;
		finish(ld);
		return;
	}
	argv[0] = "MGET";
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		size_t n = k->len;

		argv[i + 1] = k->str;
		/* the name: between the prefix and "/key" */
		if (k->type == REDIS_REPLY_STRING && n > as->prefix_len + 4 &&
		    n - as->prefix_len - 4 <= AUTH_MAX_NAME &&
		    !memchr(k->str, '\0', n))
			ld->names[i] = strndup(k->str + as->prefix_len, n - as->prefix_len - 4);
		ld->n_names++;
	}
	/* a name that could not be copied has its key ignored in on_keys */
	for (size_t i = 0; i < ld->n_names; i++)
		if (!ld->names[i])
			argv[i + 1] = "tern:nonexistent"; /* answers nil */
	redisAsyncCommandArgv(ac, on_keys, ld, (int)keys->elements + 1, argv, NULL);
	free(argv);
}

/* The next SCAN page, or the secrets once the scan is through. */
static void load_next(struct load *ld, redisAsyncContext *ac)
{
	struct authsync *as = ld->as;

	if (strcmp(ld->cursor, "0") == 0)
		redisAsyncCommandArgv(ac, on_secrets, ld, 2,
				      (const char *[]){ "SMEMBERS", as->secret_key }, NULL);
	else
		redisAsyncCommandArgv(ac, on_scan, ld, 6,
				      (const char *[]){ "SCAN", ld->cursor, "MATCH", as->pattern,
							"COUNT", "1000" }, NULL);
}

void authsync_reload(struct authsync *as)
{
	redisAsyncContext *ac = rconn_ctx(as->conn);
	struct load *ld;

	if (as->conn && !ac)
		return; /* Redis is away: keep what we have */
	if (as->load || as->retired) {
		as->again = true;
		return;
	}
	ld = calloc(1, sizeof *ld);
	if (!ld)
		return;
	ld->as = as;
	if (!ac) { /* the memory backend: the config's own, userdb file read again */
		as->have_digest = false;
		as->load = ld;
		finish(ld);
		return;
	}
	snprintf(ld->cursor, sizeof ld->cursor, "x"); /* not "0": the first page */
	as->load = ld;
	redisAsyncCommandArgv(ac, on_scan, ld, 6,
			      (const char *[]){ "SCAN", "0", "MATCH", as->pattern, "COUNT", "1000" },
			      NULL);
}

void authsync_rebuild(struct authsync *as)
{
	as->have_digest = false; /* the config's users may have changed, not Redis's */
	authsync_reload(as);
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
	authsync_reload(arg);
}

/* A realm inside a SCAN pattern: glob characters escaped. */
static void glob_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 3 < cap; s++) {
		if (strchr("*?[]\\", *s))
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = '\0';
}

struct authsync *authsync_new(struct event_base *base, struct server *srv, struct rconn *conn)
{
	const struct config *c = srv->cfg;
	struct timeval every = { c->redis_userdb_interval, 0 };
	struct authsync *as = calloc(1, sizeof *as);
	char realm[520];

	if (!as)
		return NULL;
	as->base = base;
	as->srv = srv;
	as->conn = conn;
	glob_escape(c->realm, realm, sizeof realm);
	snprintf(as->pattern, sizeof as->pattern, "turn/realm/%s/user/*/key", realm);
	snprintf(as->secret_key, sizeof as->secret_key, "turn/realm/%s/secret", c->realm);
	as->prefix_len = strlen("turn/realm//user/") + strlen(c->realm);
	as->jobs = calloc((size_t)srv->n_workers, sizeof *as->jobs);
	as->poll = conn ? event_new(base, -1, EV_PERSIST, on_poll, as) : NULL;
	if (!as->jobs || (conn && (!as->poll || event_add(as->poll, &every) < 0))) {
		authsync_free(as);
		return NULL;
	}
	return as;
}

void authsync_free(struct authsync *as)
{
	if (!as)
		return;
	/* the owner freed the connection first: a read in flight has finished */
	if (as->poll)
		event_free(as->poll);
	auth_free(as->retired); /* the workers have stopped */
	free(as->jobs);
	free(as);
}
