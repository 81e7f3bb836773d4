/*
 * The userspace API (see uapi.h): the protocol over one engine, then the
 * unix socket that carries it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <sodium.h>

#include "server/log.h"
#include "server/uapi.h"

/* ---- get -------------------------------------------------------------------- */

struct prefix {
	uint8_t key[WG_KEY_LEN];
	uint8_t family, plen;
	uint8_t ip[16];
};

struct dump {
	struct evbuffer *out;
	struct prefix *p;
	size_t n, cap;
	bool oom;
};

static void hex_line(struct evbuffer *out, const char *name, const uint8_t *key)
{
	char hex[2 * WG_KEY_LEN + 1];

	sodium_bin2hex(hex, sizeof hex, key, WG_KEY_LEN);
	evbuffer_add_printf(out, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof hex);
}

static void collect(void *ctx, const uint8_t *key, int family, const uint8_t *ip, uint8_t plen)
{
	struct dump *d = ctx;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct prefix *p = realloc(d->p, cap * sizeof *p);

		if (!p) {
			d->oom = true;
			return;
		}
		d->p = p;
		d->cap = cap;
	}
	memcpy(d->p[d->n].key, key, WG_KEY_LEN);
	d->p[d->n].family = (uint8_t)family;
	d->p[d->n].plen = plen;
	memcpy(d->p[d->n].ip, ip, 16);
	d->n++;
}

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct prefix *)a)->key, ((const struct prefix *)b)->key, WG_KEY_LEN);
}

static void peer_lines(void *ctx, const struct tunnel_peer_info *p)
{
	static const uint8_t zero[WG_KEY_LEN];
	struct dump *d = ctx;
	struct prefix probe;
	struct evbuffer *out = d->out;
	char a[INET6_ADDRSTRLEN];
	size_t lo = 0, hi = d->n;

	hex_line(out, "public_key", p->public_key);
	hex_line(out, "preshared_key", p->preshared_key ? p->preshared_key : zero);
	evbuffer_add_printf(out, "protocol_version=1\n");
	if (p->endpoint) {
		const struct stun_addr *e = &p->endpoint->addr;
		bool v6 = e->family == STUN_FAMILY_IPV6;

		inet_ntop(v6 ? AF_INET6 : AF_INET, e->ip, a, sizeof a);
		evbuffer_add_printf(out, v6 ? "endpoint=[%s]:%u\n" : "endpoint=%s:%u\n", a,
				    (unsigned)e->port);
	}
	evbuffer_add_printf(out,
			    "last_handshake_time_sec=%llu\nlast_handshake_time_nsec=%llu\n"
			    "tx_bytes=%llu\nrx_bytes=%llu\npersistent_keepalive_interval=%u\n",
			    (unsigned long long)(p->last_handshake_ms / 1000),
			    (unsigned long long)(p->last_handshake_ms % 1000 * 1000000),
			    (unsigned long long)p->tx_bytes, (unsigned long long)p->rx_bytes,
			    (unsigned)p->keepalive);
	/* its prefixes: the first of its run in the sorted list */
	memcpy(probe.key, p->public_key, WG_KEY_LEN);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (by_key(&d->p[mid], &probe) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < d->n && by_key(&d->p[lo], &probe) == 0; lo++) {
		inet_ntop(d->p[lo].family == 4 ? AF_INET : AF_INET6, d->p[lo].ip, a, sizeof a);
		evbuffer_add_printf(out, "allowed_ip=%s/%u\n", a, (unsigned)d->p[lo].plen);
	}
}

static int get(const struct uapi_env *e, struct evbuffer *out)
{
	struct dump d = { .out = out };
	uint8_t key[WG_KEY_LEN];

	tunnel_private_key(e->t, key);
	hex_line(out, "private_key", key);
	sodium_memzero(key, sizeof key);
	if (e->listen_port)
		evbuffer_add_printf(out, "listen_port=%u\n", (unsigned)e->listen_port);
	tunnel_allowed_each(e->t, collect, &d);
	if (d.oom) {
		free(d.p);
		return -ENOMEM;
	}
	if (d.n)
		qsort(d.p, d.n, sizeof *d.p, by_key);
	tunnel_peer_each(e->t, peer_lines, &d);
	free(d.p);
	return 0;
}

/* ---- set -------------------------------------------------------------------- */

/* One peer's lines, applied when the next peer starts or the request ends. */
struct pending {
	bool active, remove, update_only, replace_allowed;
	bool set_psk, set_endpoint, set_keepalive;
	struct tunnel_peer_conf conf;
	struct prefix *add;
	size_t n_add, cap_add;
};

static bool hex_key(const char *v, uint8_t out[WG_KEY_LEN])
{
	size_t n = 0;

	return strlen(v) == 2 * WG_KEY_LEN &&
	       sodium_hex2bin(out, WG_KEY_LEN, v, 2 * WG_KEY_LEN, NULL, &n, NULL) == 0 &&
	       n == WG_KEY_LEN;
}

static bool parse_endpoint(const char *v, struct stun_addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(v, ':');
	char *end;
	unsigned long port;
	size_t hl;

	if (!colon || (hl = (size_t)(colon - v)) >= sizeof host)
		return false;
	memcpy(host, v, hl);
	host[hl] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || !port || port > 65535)
		return false;
	memset(a, 0, sizeof *a);
	a->port = (uint16_t)port;
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		a->family = STUN_FAMILY_IPV6;
		return inet_pton(AF_INET6, host + 1, a->ip) == 1;
	}
	a->family = STUN_FAMILY_IPV4;
	return inet_pton(AF_INET, host, a->ip) == 1;
}

/* "ip/len", or "-ip/len" to take it away (family 0 marks removal). */
static bool parse_prefix(const char *v, struct prefix *p)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	bool minus = *v == '-';
	char *end;
	unsigned long len;

	if (minus)
		v++;
	if (!slash || (size_t)(slash - v) >= sizeof ip)
		return false;
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = '\0';
	memset(p->ip, 0, sizeof p->ip);
	len = strtoul(slash + 1, &end, 10);
	if (end == slash + 1 || *end)
		return false;
	if (inet_pton(AF_INET, ip, p->ip) == 1 && len <= 32)
		p->family = 4;
	else if (inet_pton(AF_INET6, ip, p->ip) == 1 && len <= 128)
		p->family = 6;
	else
		return false;
	p->plen = (uint8_t)len;
	if (minus)
		p->family |= 0x80;
	return true;
}

static int flush(const struct uapi_env *e, struct pending *pd)
{
	struct tunnel_peer_conf now;
	bool exists;
	int rc = 0;

	if (!pd->active)
		return 0;
	pd->active = false;
	exists = tunnel_peer_get(e->t, pd->conf.public_key, &now) == 0;
	if (pd->remove) {
		rc = exists ? tunnel_peer_remove(e->t, pd->conf.public_key) : 0;
		if (e->changed)
			e->changed(e->ctx, pd->conf.public_key, true);
		return rc;
	}
	if (pd->update_only && !exists)
		return 0;
	if (!exists) {
		memset(&now, 0, sizeof now);
		memcpy(now.public_key, pd->conf.public_key, WG_KEY_LEN);
	}
	if (pd->set_psk) {
		memcpy(now.preshared_key, pd->conf.preshared_key, WG_KEY_LEN);
		now.has_preshared_key = !sodium_is_zero(now.preshared_key, WG_KEY_LEN);
	}
	if (pd->set_endpoint) {
		now.endpoint = pd->conf.endpoint;
		now.has_endpoint = true;
	}
	if (pd->set_keepalive)
		now.keepalive = pd->conf.keepalive;
	rc = tunnel_peer_set(e->t, &now);
	if (rc == 0 && pd->replace_allowed)
		rc = tunnel_peer_allow(e->t, now.public_key, true, 4, NULL, 0);
	for (size_t i = 0; rc == 0 && i < pd->n_add; i++) {
		struct prefix *p = &pd->add[i];

		rc = p->family & 0x80 ? tunnel_peer_disallow(e->t, now.public_key, p->family & 0x7F,
							     p->ip, p->plen)
				      : tunnel_peer_allow(e->t, now.public_key, false, p->family,
							  p->ip, p->plen);
	}
	if (rc == 0 && e->changed)
		e->changed(e->ctx, now.public_key, false);
	sodium_memzero(&now, sizeof now);
	return rc;
}

static int add_prefix(struct pending *pd, const char *v)
{
	if (pd->n_add == pd->cap_add) {
		size_t cap = pd->cap_add ? 2 * pd->cap_add : 8;
		struct prefix *a = realloc(pd->add, cap * sizeof *a);

		if (!a)
			return -ENOMEM;
		pd->add = a;
		pd->cap_add = cap;
	}
	return parse_prefix(v, &pd->add[pd->n_add++]) ? 0 : -EINVAL;
}

static bool keepalive(const char *v, uint16_t *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (end == v || *end || n > 65535)
		return false;
	*out = (uint16_t)n;
	return true;
}

static int peer_line(const struct uapi_env *e, struct pending *pd, const char *k, const char *v)
{
	struct stun_addr *ep = &pd->conf.endpoint.addr;
	int listener;

	if (strcmp(k, "remove") == 0 && strcmp(v, "true") == 0)
		pd->remove = true;
	else if (strcmp(k, "update_only") == 0 && strcmp(v, "true") == 0)
		pd->update_only = true;
	else if (strcmp(k, "replace_allowed_ips") == 0 && strcmp(v, "true") == 0)
		pd->replace_allowed = true;
	else if (strcmp(k, "preshared_key") == 0 && hex_key(v, pd->conf.preshared_key))
		pd->set_psk = true;
	else if (strcmp(k, "persistent_keepalive_interval") == 0 &&
		 keepalive(v, &pd->conf.keepalive))
		pd->set_keepalive = true;
	else if (strcmp(k, "allowed_ip") == 0)
		return add_prefix(pd, v);
	else if (strcmp(k, "protocol_version") == 0 && strcmp(v, "1") == 0)
		return 0;
	else if (strcmp(k, "endpoint") != 0 || !parse_endpoint(v, ep))
		return -EINVAL;
	else if ((listener = e->listener_for ? e->listener_for(e->ctx, ep->family) : 0) < 0)
		return -EADDRNOTAVAIL; /* no socket of that family to reach it from */
	else
		pd->set_endpoint = true, pd->conf.endpoint.listener = (uint16_t)listener;
	return 0;
}

/* The one private key in use may be given again (wg setconf does). */
static int same_private_key(const struct uapi_env *e, const char *v)
{
	uint8_t key[WG_KEY_LEN], pub[WG_KEY_LEN];
	int rc = -EINVAL;

	if (hex_key(v, key) && crypto_scalarmult_base(pub, key) == 0 &&
	    memcmp(pub, tunnel_public_key(e->t), WG_KEY_LEN) == 0)
		rc = 0;
	sodium_memzero(key, sizeof key);
	return rc;
}

static int device_line(const struct uapi_env *e, struct pending *pd, const char *k,
		       const char *v)
{
	int rc;

	if (strcmp(k, "public_key") == 0) {
		rc = flush(e, pd);
		memset(pd, 0, offsetof(struct pending, add));
		pd->n_add = 0;
		if (rc == 0 && !hex_key(v, pd->conf.public_key))
			rc = -EINVAL;
		pd->active = rc == 0;
		return rc;
	}
	if (pd->active)
		return peer_line(e, pd, k, v);
	if (strcmp(k, "private_key") == 0)
		return same_private_key(e, v); /* another needs a restart */
	if (strcmp(k, "listen_port") == 0)
		return atoi(v) == e->listen_port ? 0 : -EADDRINUSE;
	if (strcmp(k, "fwmark") == 0)
		return 0;
	if (strcmp(k, "replace_peers") == 0 && strcmp(v, "true") == 0)
		return tunnel_peer_clear(e->t);
	return -EINVAL;
}

static int set(const struct uapi_env *e, const char *req, size_t len)
{
	struct pending pd = { 0 };
	size_t at = 0;
	int rc = 0;

	while (at < len && rc == 0) {
		const char *nl = memchr(req + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (req + at)) : len - at;
		char line[UAPI_MAX_LINE], *eq;

		if (n >= sizeof line || memchr(req + at, '\0', n)) {
			rc = -EPROTO;
			break;
		}
		memcpy(line, req + at, n);
		line[n] = '\0';
		at += n + 1;
		eq = strchr(line, '=');
		if (eq) {
			*eq = '\0';
			rc = device_line(e, &pd, line, eq + 1);
		} else {
			rc = -EPROTO;
		}
		sodium_memzero(line, sizeof line);
	}
	if (rc == 0)
		rc = flush(e, &pd);
	free(pd.add);
	sodium_memzero(&pd, sizeof pd);
	return rc;
}

void uapi_handle(const struct uapi_env *e, const char *req, size_t len, struct evbuffer *out)
{
	int rc;

	if (len >= 6 && memcmp(req, "get=1\n", 6) == 0 && len == 6)
		rc = get(e, out);
	else if (len >= 6 && memcmp(req, "set=1\n", 6) == 0)
		rc = set(e, req + 6, len - 6);
	else
		rc = -EPROTO;
	evbuffer_add_printf(out, "errno=%d\n\n", rc);
}

/* ---- the socket ----------------------------------------------------------------- */

struct uapi {
	struct evconnlistener *l;
	const struct uapi_env *env;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Answer each whole request that has arrived (a blank line ends one). */
static void uapi_on_read(struct bufferevent *bev, void *arg)
{
	const struct uapi_env *env = ((struct uapi *)arg)->env;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct evbuffer_ptr end = evbuffer_search(in, "\n\n", 2, NULL);
		size_t len;
		char *req;

		if (end.pos < 0) {
			if (evbuffer_get_length(in) > UAPI_MAX_REQUEST)
				bufferevent_free(bev);
			return;
		}
		len = (size_t)end.pos + 1;
		req = (char *)evbuffer_pullup(in, (ssize_t)len);
		if (!req) {
			bufferevent_free(bev);
			return;
		}
		uapi_handle(env, req, len, bufferevent_get_output(bev));
		sodium_memzero(req, len); /* keys may be in it */
		evbuffer_drain(in, len + 1);
	}
}

static void uapi_on_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void uapi_on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int salen, void *arg)
{
	struct uapi *u = arg;
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
							 BEV_OPT_CLOSE_ON_FREE);

	if (!bev) {
		close(fd);
		return;
	}
	bufferevent_setcb(bev, uapi_on_read, NULL, uapi_on_event, u);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* A socket file nobody answers on is a dead process's: remove it. */
static bool stale(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool dead = fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof *sun) < 0 &&
		    errno == ECONNREFUSED;

	if (fd >= 0)
		close(fd);
	return dead;
}

struct uapi *uapi_listen(struct event_base *base, const char *name, const struct uapi_env *env,
			 char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct uapi *u = calloc(1, sizeof *u);
	int fd = -1, rc;
	mode_t old;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->env = env;
	snprintf(u->path, sizeof u->path, "/var/run/wireguard/%s.sock", name);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", u->path);
	if (mkdir("/var/run/wireguard", 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "/var/run/wireguard: %s", strerror(errno));
		goto fail;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	old = umask(077);
	rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sun, sizeof sun);
	if (rc < 0 && errno == EADDRINUSE && stale(&sun)) {
		unlink(u->path);
		rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	}
	if (rc < 0) {
		umask(old);
		snprintf(err, errlen, "%s: %s", u->path,
			 errno == EADDRINUSE ? "in use by a running process" : strerror(errno));
		goto fail;
	}
	umask(old);
	u->l = evconnlistener_new(base, uapi_on_accept, u, LEV_OPT_CLOSE_ON_FREE, 16, fd);
	if (!u->l) {
		snprintf(err, errlen, "%s: cannot listen: %s", u->path, strerror(errno));
		goto fail;
	}
	return u;
fail:
	if (fd >= 0)
		close(fd);
	free(u);
	return NULL;
}

void uapi_free(struct uapi *u)
{
	if (!u)
		return;
	evconnlistener_free(u->l);
	unlink(u->path);
	free(u);
}
