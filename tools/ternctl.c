/*
 * ternctl: manage a tern fleet's shared state in Redis (ternctl(1)).
 *
 *   ternctl [-c ternd.conf] [--redis-url=URL] [--realm=REALM] COMMAND
 *
 *   user add NAME PASSWORD   user del NAME   user list
 *   secret add SECRET        secret del SECRET   secret list
 *   nodes
 *   peer add|del|list|show ... (ternctl_peer.c)
 *   stats, allocations, drain, reload: on a node's stats endpoint, not
 *   Redis (ternctl_node.c)
 *
 * Users and secrets go where coturn's turnadmin puts them (store/authsync.h);
 * every change is then published on tern:auth, so the nodes read it at once.
 * Only the key MD5(name:realm:password) is stored, never the password.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include <sodium.h>

#include "server/config.h"
#include "server/wgconf.h"
#include "store/store.h"
#include "stun/stun.h"
#include "tools/ternctl.h"

static redisContext *db;

int ternctl_usage(void)
{
	fprintf(stderr,
		"usage: ternctl [-c ternd.conf] [--redis-url=URL] [--realm=REALM]\n"
		"               [--wg-public-key=KEY] [--stats-url=URL] [--stats-token=TOKEN]\n"
		"               COMMAND\n"
		"  stats [--json]\n"
		"  allocations [--user NAME] [--offset N] [--limit N] [--json]\n"
		"  drain | reload\n"
		"  user add NAME PASSWORD | user del NAME | user list\n"
		"  secret add SECRET | secret del SECRET | secret list\n"
		"  nodes\n"
		"  peer add KEY [allowed-ips CIDR[,CIDR...]] [preshared-key FILE]\n"
		"               [persistent-keepalive N]\n"
		"  peer del KEY | peer list [--json] | peer show KEY [--json]\n");
	return EXIT_USAGE;
}

redisReply *ternctl_run(int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(db, argc, argv, NULL);

	if (!r || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "ternctl: %s: %s\n", argv[0],
			r ? r->str : db->errstr[0] ? db->errstr : "no answer");
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

void ternctl_append(int argc, const char **argv)
{
	redisAppendCommandArgv(db, argc, argv, NULL);
}

redisReply *ternctl_reply(void)
{
	void *v = NULL;
	redisReply *r;

	if (redisGetReply(db, &v) != REDIS_OK)
		v = NULL;
	r = v;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "ternctl: %s\n", r ? r->str : db->errstr[0] ? db->errstr : "no answer");
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Tell the nodes to read the users and secrets again. */
static int announce(const char *what)
{
	redisReply *r = ternctl_run(3, (const char *[]){ "PUBLISH", "tern:auth", what });

	if (!r)
		return EXIT_REDIS;
	freeReplyObject(r);
	return 0;
}

static int user_add(const char *realm, const char *name, const char *pass)
{
	uint8_t key[32];
	char hex[33], path[1200];
	redisReply *r;

	if (!*name || strlen(name) > 508 || strchr(name, '/') || !*pass) {
		fprintf(stderr, "ternctl: a name of 1-508 bytes without '/', and a password\n");
		return EXIT_USAGE;
	}
	if (stun_lt_key(STUN_PWALG_MD5, name, strlen(name), realm, strlen(realm), pass,
			strlen(pass), key) != 16)
		return EXIT_REDIS;
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	OPENSSL_cleanse(key, sizeof key);
	snprintf(path, sizeof path, "turn/realm/%s/user/%s/key", realm, name);
	r = ternctl_run(3, (const char *[]){ "SET", path, hex });
	OPENSSL_cleanse(hex, sizeof hex);
	if (!r)
		return EXIT_REDIS;
	freeReplyObject(r);
	return announce("user");
}

static int user_del(const char *realm, const char *name)
{
	char path[1200];
	redisReply *r;
	long long n;

	snprintf(path, sizeof path, "turn/realm/%s/user/%s/key", realm, name);
	r = ternctl_run(2, (const char *[]){ "DEL", path });
	if (!r)
		return EXIT_REDIS;
	n = r->integer;
	freeReplyObject(r);
	if (n == 0) {
		fprintf(stderr, "ternctl: no user %s in realm %s\n", name, realm);
		return 1;
	}
	return announce("user");
}

static int user_list(const char *realm)
{
	char pattern[1200], cursor[32] = "0";
	size_t prefix = strlen("turn/realm//user/") + strlen(realm);

	snprintf(pattern, sizeof pattern, "turn/realm/%s/user/*/key", realm);
	do {
		redisReply *r = ternctl_run(6, (const char *[]){ "SCAN", cursor, "MATCH", pattern, "COUNT",
							"1000" });

		if (!r)
			return EXIT_REDIS;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return EXIT_REDIS;
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		for (size_t i = 0; i < r->element[1]->elements; i++) {
			const redisReply *k = r->element[1]->element[i];

			if (k->len > prefix + 4)
				printf("%.*s\n", (int)(k->len - prefix - 4), k->str + prefix);
		}
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0);
	return 0;
}

static int secret(const char *realm, const char *op, const char *value)
{
	char key[1200];
	redisReply *r;
	int rc = 0;

	snprintf(key, sizeof key, "turn/realm/%s/secret", realm);
	if (strcmp(op, "list") == 0) {
		r = ternctl_run(2, (const char *[]){ "SMEMBERS", key });
		for (size_t i = 0; r && i < r->elements; i++)
			printf("%s\n", r->element[i]->str);
		rc = r ? 0 : EXIT_REDIS;
		freeReplyObject(r);
		return rc;
	}
	if (!value || !*value)
		return ternctl_usage();
	r = ternctl_run(3, (const char *[]){ strcmp(op, "add") == 0 ? "SADD" : "SREM", key, value });
	if (!r)
		return EXIT_REDIS;
	if (strcmp(op, "del") == 0 && r->integer == 0) {
		fprintf(stderr, "ternctl: no such secret in realm %s\n", realm);
		rc = 1;
	}
	freeReplyObject(r);
	return rc ? rc : announce("secret");
}

static const char *field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (strcmp(r->element[i]->str, name) == 0)
			return r->element[i + 1]->str;
	return "-";
}

static int nodes(void)
{
	redisReply *m = ternctl_run(2, (const char *[]){ "SMEMBERS", "tern:nodes" });

	if (!m)
		return EXIT_REDIS;
	printf("%-20s %12s %12s %5s  %s\n", "node", "allocations", "heartbeat", "full",
	       "listening");
	for (size_t i = 0; i < m->elements; i++) {
		char key[128];
		redisReply *h;

		snprintf(key, sizeof key, "tern:node:{%s}", m->element[i]->str);
		h = ternctl_run(2, (const char *[]){ "HGETALL", key });
		if (h && h->elements)
			printf("%-20s %12s %12s %5s  %s\n", m->element[i]->str,
			       field(h, "allocations"), field(h, "heartbeat"), field(h, "full"),
			       field(h, "listening"));
		freeReplyObject(h);
	}
	freeReplyObject(m);
	return 0;
}

/* The responder whose peers "peer" manages: --wg-public-key, else the
 * public key of wg-config's PrivateKey. */
static bool responder_key(const char *given, const struct config *c, uint8_t out[32])
{
	struct wgconf wc = { 0 };
	bool ok;

	if (given) {
		if (wgconf_key(given, out))
			return true;
		fprintf(stderr, "ternctl: --wg-public-key: '%s' is not a WireGuard key\n", given);
		return false;
	}
	if (!c->wg_config) {
		fprintf(stderr, "ternctl: peer: which responder? Give -c ternd.conf (with "
				"wg-config) or --wg-public-key\n");
		return false;
	}
	ok = wgconf_load(c->wg_config, &wc, NULL, NULL) == 0 && wc.has_private_key &&
	     crypto_scalarmult_base(out, wc.private_key) == 0;
	if (!ok)
		fprintf(stderr, "ternctl: peer: %s has no usable PrivateKey (ternd --check "
				"says why)\n", c->wg_config);
	wgconf_free(&wc);
	return ok;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "redis-url", required_argument, NULL, 'u' },
		{ "realm", required_argument, NULL, 'r' },
		{ "wg-public-key", required_argument, NULL, 'k' },
		{ "stats-url", required_argument, NULL, 's' },
		{ "stats-token", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *realm = NULL, *wgkey = NULL, *stats_url = NULL, *token = NULL;
	const char *cmd, *op;
	char node_url[320];
	uint8_t responder[32];
	struct redis_url u;
	struct config c;
	char err[CONFIG_ERR_LEN];
	int o, rc;

	config_defaults(&c);
	while ((o = getopt_long(argc, argv, "+c:u:r:k:s:t:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			if (config_load(&c, optarg, err, sizeof err) < 0) {
				fprintf(stderr, "ternctl: %s\n", err);
				config_free(&c);
				return EXIT_USAGE;
			}
			break;
		case 'u': url = optarg; break;
		case 'r': realm = optarg; break;
		case 'k': wgkey = optarg; break;
		case 's': stats_url = optarg; break;
		case 't': token = optarg; break;
		default: config_free(&c); return ternctl_usage();
		}
	}
	if (optind < argc && (!strcmp(argv[optind], "stats") || !strcmp(argv[optind], "allocations") ||
			      !strcmp(argv[optind], "drain") || !strcmp(argv[optind], "reload"))) {
		/* the node itself, not Redis */
		token = token ? token : c.stats_token ? c.stats_token : getenv("TERN_STATS_TOKEN");
		rc = ternctl_stats_url(stats_url, &c, node_url, sizeof node_url)
			     ? ternctl_node(node_url, token, argc - optind, argv + optind)
			     : EXIT_USAGE;
		config_free(&c);
		return rc;
	}
	realm = realm ? realm : c.realm;
	if (optind >= argc ||
	    redis_url_parse(url ? url : c.redis_url ? c.redis_url : "redis://127.0.0.1:6379/0", &u,
			    err, sizeof err) < 0 ||
	    (!url && store_redis_sentinels(&c, &u, err, sizeof err) < 0)) { /* the config's */
		if (optind < argc)
			fprintf(stderr, "ternctl: %s\n", err);
		config_free(&c);
		return ternctl_usage();
	}
	if (strcmp(argv[optind], "peer") == 0 && !responder_key(wgkey, &c, responder)) {
		store_redis_forget(&u);
		config_free(&c);
		return EXIT_USAGE;
	}
	db = store_redis_connect(&u, 5, err, sizeof err);
	store_redis_forget(&u);
	explicit_bzero(&u, sizeof u);
	if (!db) {
		fprintf(stderr, "ternctl: redis: %s\n", err);
		config_free(&c);
		return EXIT_REDIS;
	}
	cmd = argv[optind];
	op = optind + 1 < argc ? argv[optind + 1] : "";
	if (strcmp(cmd, "user") == 0 && strcmp(op, "add") == 0 && optind + 3 < argc)
		rc = user_add(realm, argv[optind + 2], argv[optind + 3]);
	else if (strcmp(cmd, "user") == 0 && strcmp(op, "del") == 0 && optind + 2 < argc)
		rc = user_del(realm, argv[optind + 2]);
	else if (strcmp(cmd, "user") == 0 && strcmp(op, "list") == 0)
		rc = user_list(realm);
	else if (strcmp(cmd, "secret") == 0 &&
		 (!strcmp(op, "add") || !strcmp(op, "del") || !strcmp(op, "list")))
		rc = secret(realm, op, optind + 2 < argc ? argv[optind + 2] : NULL);
	else if (strcmp(cmd, "nodes") == 0)
		rc = nodes();
	else if (strcmp(cmd, "peer") == 0)
		rc = ternctl_peer(responder, argc - optind - 1, argv + optind + 1);
	else
		rc = ternctl_usage();
	redisFree(db);
	config_free(&c);
	return rc;
}
