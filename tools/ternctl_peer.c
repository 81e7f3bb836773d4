/*
 * ternctl peer: WireGuard peers in Redis (store/wgpeer.h), in wg set's
 * words:
 *
 *   peer add KEY allowed-ips CIDR[,CIDR...] [preshared-key FILE]
 *            [persistent-keepalive N]
 *   peer del KEY       peer list [--json]       peer show KEY [--json]
 *
 * add makes the record or changes the fields it names, as wg set does; a
 * record's timestamp and transfer are the nodes' and stay. Every change is
 * announced on tern:wg so the nodes holding the peer hear of it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "server/json.h"
#include "store/wgpeer.h"
#include "tools/ternctl.h"

/* Everything after "peer add KEY": the fields to set, as HSET's argv. */
struct add {
	const char *argv[4 + 2 * WGPEER_FIELDS];
	int argc;
	char allowed[WGPEER_ALLOWED_LEN], psk[WGPEER_B64], keepalive[8], added[24];
};

static bool read_key_file(const char *path, char out[WGPEER_B64])
{
	FILE *f = fopen(path, "r");
	char line[128] = "";
	uint8_t k[32];
	bool ok;

	if (!f) {
		fprintf(stderr, "ternctl: peer add: preshared-key %s: %s\n", path, strerror(errno));
		return false;
	}
	ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	ok = ok && wgconf_key(line, k);
	if (ok)
		wgpeer_b64(k, out);
	else
		fprintf(stderr, "ternctl: peer add: preshared-key %s: not a WireGuard key "
				"(44 characters of base64, as wg genpsk writes)\n", path);
	sodium_memzero(line, sizeof line);
	sodium_memzero(k, sizeof k);
	return ok;
}

static bool add_args(struct add *a, int argc, char **argv)
{
	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char err[128];

		if (!v) {
			fprintf(stderr, "ternctl: peer add: %s needs a value\n", k);
			return false;
		}
		if (!strcmp(k, "allowed-ips")) {
			static struct wgpeer p;

			if (!wgpeer_allowed_parse(&p, v, err, sizeof err)) {
				fprintf(stderr, "ternctl: peer add: allowed-ips: %s\n", err);
				return false;
			}
			wgpeer_allowed_format(&p, a->allowed, sizeof a->allowed);
			a->argv[a->argc++] = "allowed";
			a->argv[a->argc++] = a->allowed;
		} else if (!strcmp(k, "preshared-key")) {
			if (!read_key_file(v, a->psk))
				return false;
			a->argv[a->argc++] = "psk";
			a->argv[a->argc++] = a->psk;
		} else if (!strcmp(k, "persistent-keepalive")) {
			char *end;
			long n = strcmp(v, "off") ? strtol(v, &end, 10) : 0;
			bool bad = strcmp(v, "off") && (*end || end == v || n < 0 || n > 65535);

			if (bad) {
				fprintf(stderr, "ternctl: peer add: persistent-keepalive: '%s' is not "
						"0-65535 or off\n", v);
				return false;
			}
			snprintf(a->keepalive, sizeof a->keepalive, "%ld", n);
			a->argv[a->argc++] = "keepalive";
			a->argv[a->argc++] = a->keepalive;
		} else {
			fprintf(stderr, "ternctl: peer add: unknown '%s' (allowed-ips, "
					"preshared-key, persistent-keepalive)\n", k);
			return false;
		}
	}
	return true;
}

/* A command of a transaction: true if it failed (reported). */
static bool queue(int argc, const char **argv)
{
	redisReply *r = ternctl_run(argc, argv);
	bool failed = r == NULL;

	freeReplyObject(r);
	return failed;
}

static int announce(const char *what, const char *rb, const char *pb)
{
	char msg[128];
	redisReply *r;

	snprintf(msg, sizeof msg, "%s %s %s", what, rb, pb);
	r = ternctl_run(3, (const char *[]){ "PUBLISH", "tern:wg", msg });
	if (!r)
		return EXIT_REDIS;
	freeReplyObject(r);
	return 0;
}

static int peer_add(const uint8_t resp[32], const uint8_t key[32], int argc, char **argv)
{
	static struct add a;
	char rk[WGPEER_KEY_LEN], sk[WGPEER_KEY_LEN], rb[WGPEER_B64], pb[WGPEER_B64];
	redisReply *r;
	bool rc;

	memset(&a, 0, sizeof a);
	wgpeer_key(rk, resp, key);
	wgpeer_set_key(sk, resp);
	wgpeer_b64(resp, rb);
	wgpeer_b64(key, pb);
	a.argv[a.argc++] = "HSET";
	a.argv[a.argc++] = rk;
	snprintf(a.added, sizeof a.added, "%lld", (long long)time(NULL));
	if (!add_args(&a, argc, argv))
		return EXIT_USAGE;
	/* one transaction: added only once, then the fields named (HSET with
	 * none, for a bare "peer add KEY", would be refused), then the set */
	rc = queue(1, (const char *[]){ "MULTI" }) ||
	     queue(4, (const char *[]){ "HSETNX", rk, "added", a.added }) ||
	     (a.argc > 2 && queue(a.argc, a.argv)) || queue(3, (const char *[]){ "SADD", sk, pb });
	r = rc ? NULL : ternctl_run(1, (const char *[]){ "EXEC" });
	sodium_memzero(&a, sizeof a);
	if (!r)
		return EXIT_REDIS;
	freeReplyObject(r);
	return announce("set", rb, pb);
	sodium_memzero(&a, sizeof a);
}

static int peer_del(const uint8_t resp[32], const uint8_t key[32])
{
	char rk[WGPEER_KEY_LEN], sk[WGPEER_KEY_LEN], rb[WGPEER_B64], pb[WGPEER_B64];
	redisReply *r;
	long long gone;

	wgpeer_key(rk, resp, key);
	wgpeer_set_key(sk, resp);
	wgpeer_b64(resp, rb);
	wgpeer_b64(key, pb);
	r = queue(1, (const char *[]){ "MULTI" }) || queue(2, (const char *[]){ "DEL", rk }) ||
			    queue(3, (const char *[]){ "SREM", sk, pb })
		    ? NULL
		    : ternctl_run(1, (const char *[]){ "EXEC" });
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		freeReplyObject(r);
		return EXIT_REDIS;
	}
	gone = r->element[0]->integer;
	freeReplyObject(r);
	if (!gone) {
		fprintf(stderr, "ternctl: peer del: no peer %s\n", pb);
		return 1;
	}
	return announce("del", rb, pb);
}

/* key's record from HGETALL's reply r (freed): 0, or -1 for none. */
static int decode(redisReply *r, const uint8_t key[32], struct wgpeer *p)
{
	const char *f[2 * WGPEER_FIELDS], *v[2 * WGPEER_FIELDS];
	int n = 0;
	bool ok;

	for (size_t i = 0; i + 1 < r->elements && n < 2 * WGPEER_FIELDS; i += 2, n++) {
		f[n] = r->element[i]->str;
		v[n] = r->element[i + 1]->str;
	}
	memset(p, 0, sizeof *p);
	memcpy(p->public_key, key, 32);
	ok = r->elements > 0 && wgpeer_from_hash(p, f, v, n);
	if (r->elements > 0 && !ok) {
		char pb[WGPEER_B64];

		wgpeer_b64(key, pb);
		fprintf(stderr, "ternctl: peer %s: its record in Redis is damaged\n", pb);
	}
	freeReplyObject(r);
	return ok ? 0 : -1;
}

/* One record, or -1 for none and -2 for Redis gone. */
static int fetch(const uint8_t resp[32], const uint8_t key[32], struct wgpeer *p)
{
	char rk[WGPEER_KEY_LEN];
	redisReply *r;

	wgpeer_key(rk, resp, key);
	r = ternctl_run(2, (const char *[]){ "HGETALL", rk });
	return r ? decode(r, key, p) : -2;
}

static void print_json(const struct wgpeer *p)
{
	static char allowed[WGPEER_ALLOWED_LEN], q[WGPEER_ALLOWED_LEN + 8];
	char pb[WGPEER_B64];

	wgpeer_b64(p->public_key, pb);
	wgpeer_allowed_format(p, allowed, sizeof allowed);
	json_quote(q, sizeof q, allowed, strlen(allowed));
	printf("{\"public_key\":\"%s\",\"allowed_ips\":%s,\"preshared_key\":%s,"
	       "\"persistent_keepalive\":%u,\"latest_handshake\":%lld,\"rx_bytes\":%llu,"
	       "\"tx_bytes\":%llu,\"added\":%lld}",
	       pb, q, p->has_preshared_key ? "true" : "false", p->keepalive,
	       p->has_tai64n ? (long long)wgpeer_tai64n_unix(p->tai64n) : 0LL,
	       (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes,
	       (long long)p->added);
}

static void print_row(const struct wgpeer *p)
{
	static char allowed[WGPEER_ALLOWED_LEN];
	char pb[WGPEER_B64], when[32] = "never";
	time_t t = p->has_tai64n ? (time_t)wgpeer_tai64n_unix(p->tai64n) : 0;
	struct tm tm;

	wgpeer_b64(p->public_key, pb);
	wgpeer_allowed_format(p, allowed, sizeof allowed);
	if (t && gmtime_r(&t, &tm))
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%SZ", &tm);
	printf("%-44s  %-20s  %9u  %-3s  %12llu  %12llu  %s\n", pb, when, p->keepalive,
	       p->has_preshared_key ? "yes" : "no", (unsigned long long)p->rx_bytes,
	       (unsigned long long)p->tx_bytes, allowed[0] ? allowed : "(none)");
}

static void header(void)
{
	printf("%-44s  %-20s  %9s  %-3s  %12s  %12s  %s\n", "peer", "latest handshake",
	       "keepalive", "psk", "rx bytes", "tx bytes", "allowed ips");
}

static int peer_show(const uint8_t resp[32], const uint8_t key[32], bool json)
{
	static struct wgpeer p;
	int rc = fetch(resp, key, &p);

	if (rc == -2)
		return EXIT_REDIS;
	if (rc < 0) {
		char pb[WGPEER_B64];

		wgpeer_b64(key, pb);
		fprintf(stderr, "ternctl: peer show: no peer %s\n", pb);
		return 1;
	}
	if (json) {
		print_json(&p);
		putchar('\n');
	} else {
		header();
		print_row(&p);
	}
	return 0;
}

/*
 * The keys listed so far: SSCAN may return a member twice (while Redis
 * rehashes the set), and a listing must not. Open addressing on the
 * keys' first bytes, which are random.
 */
struct seen {
	uint8_t (*k)[32];
	size_t cap, n;
};

static bool seen_add(struct seen *s, const uint8_t key[32])
{
	static const uint8_t zero[32];
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct seen bigger = { .cap = s->cap ? 2 * s->cap : 4096 };

		bigger.k = calloc(bigger.cap, 32);
		if (!bigger.k)
			return true; /* no memory: show it, perhaps twice */
		for (size_t j = 0; j < s->cap; j++)
			if (memcmp(s->k[j], zero, 32))
				seen_add(&bigger, s->k[j]);
		free(s->k);
		*s = bigger;
	}
	for (memcpy(&i, key, sizeof i), i &= s->cap - 1;; i = (i + 1) & (s->cap - 1)) {
		if (!memcmp(s->k[i], key, 32))
			return false;
		if (!memcmp(s->k[i], zero, 32)) {
			memcpy(s->k[i], key, 32);
			s->n++;
			return true;
		}
	}
}

enum { LIST_BATCH = 1000 };

/* One HGETALL's reply r, as a row: 0, or EXIT_REDIS when r is NULL. */
static int show(redisReply *r, const uint8_t key[32], bool json, int *shown)
{
	static struct wgpeer p;

	if (!r)
		return EXIT_REDIS;
	if (decode(r, key, &p) < 0)
		return 0; /* deleted since, or damaged (said) */
	if (json && *shown)
		putchar(',');
	if (json)
		print_json(&p);
	else
		print_row(&p);
	(*shown)++;
	return 0;
}

/*
 * Every peer in the set, a batch at a time: SSCAN (so Redis is never held
 * up by one huge reply), then each batch's HGETALLs in one pipeline. A
 * peer added or deleted while this runs may be shown or not.
 */
static int peer_list(const uint8_t resp[32], bool json)
{
	static uint8_t keys[LIST_BATCH][32];
	char sk[WGPEER_KEY_LEN], rk[WGPEER_KEY_LEN], cursor[32] = "0";
	struct seen seen = { 0 };
	int shown = 0, rc = 0;

	wgpeer_set_key(sk, resp);
	if (json)
		putchar('[');
	else
		header();
	do {
		redisReply *m = ternctl_run(5, (const char *[]){ "SSCAN", sk, cursor, "COUNT", "1000" });
		size_t at = 0;

		if (!m || m->elements != 2 || !m->element[0]->str ||
		    m->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(m);
			rc = EXIT_REDIS;
			break;
		}
		snprintf(cursor, sizeof cursor, "%s", m->element[0]->str);
		while (!rc && at < m->element[1]->elements) { /* COUNT is only a hint */
			size_t n = 0;

			for (; at < m->element[1]->elements && n < LIST_BATCH; at++) {
				if (!wgconf_key(m->element[1]->element[at]->str, keys[n]) ||
				    !seen_add(&seen, keys[n]))
					continue;
				wgpeer_key(rk, resp, keys[n++]);
				ternctl_append(2, (const char *[]){ "HGETALL", rk });
			}
			for (size_t i = 0; i < n && !rc; i++)
				rc = show(ternctl_reply(), keys[i], json, &shown);
		}
		freeReplyObject(m);
	} while (!rc && strcmp(cursor, "0"));
	if (json)
		printf("]\n");
	free(seen.k);
	return rc;
}

int ternctl_peer(const uint8_t responder[32], int argc, char **argv)
{
	const char *op = argc > 0 ? argv[0] : "";
	bool json = argc > 1 && !strcmp(argv[argc - 1], "--json");
	uint8_t key[32];

	if (!strcmp(op, "list") && argc == 1 + json)
		return peer_list(responder, json);
	if ((!strcmp(op, "add") || !strcmp(op, "del") || !strcmp(op, "show")) && argc < 2)
		return ternctl_usage();
	if (strcmp(op, "add") && strcmp(op, "del") && strcmp(op, "show"))
		return ternctl_usage();
	if (!wgconf_key(argv[1], key)) {
		fprintf(stderr, "ternctl: peer %s: '%s' is not a WireGuard public key "
				"(44 characters of base64)\n", op, argv[1]);
		return EXIT_USAGE;
	}
	if (!strcmp(op, "add"))
		return peer_add(responder, key, argc - 2, argv + 2);
	if (!strcmp(op, "del") && argc == 2)
		return peer_del(responder, key);
	if (!strcmp(op, "show") && argc == 2 + json)
		return peer_show(responder, key, json);
	return ternctl_usage();
}
