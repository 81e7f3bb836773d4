/*
 * The listener plan. Without listening-ip, ternd listens on 0.0.0.0 and ::
 * (IPv6 only where the host has it). With two listening IPs of one family,
 * RFC 5780 NAT behaviour discovery comes on for that pair: both IPs listen
 * on both the main and the alternate port, and each socket advertises the
 * diagonally opposite one as OTHER-ADDRESS (RFC 5780 s4.1).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "server/log.h"
#include "server/netaddr.h"
#include "server/plan.h"

static const char *software(const struct config *c)
{
	return c->no_software_attribute ? NULL : "tern " PACKAGE_VERSION;
}

/* Bind once without SO_REUSEPORT: fails if anyone else holds the port. */
static int probe(const struct listener_spec *ls, char *err, size_t errlen)
{
	int type = ls->tp == TP_UDP || ls->tp == TP_DTLS ? SOCK_DGRAM : SOCK_STREAM;
	int fd = netaddr_bind((const struct sockaddr *)&ls->addr, ls->addrlen, type,
			      false, err, errlen);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int add(struct server *srv, enum transport tp, const char *ip, uint16_t port,
	       const struct stun_addr *other, char *err, size_t errlen)
{
	struct listener_spec *ls;
	int r;

	if (srv->n_spec >= LISTENERS_MAX) {
		snprintf(err, errlen, "too many listeners (at most %d)", LISTENERS_MAX);
		return -1;
	}
	ls = &srv->spec[srv->n_spec];
	memset(ls, 0, sizeof *ls);
	ls->tp = tp;
	if (!netaddr_parse_ip(ip, port, &ls->addr, &ls->addrlen)) {
		snprintf(err, errlen, "listening-ip: '%s' is not an IP address", ip);
		return -1;
	}
	netaddr_to_stun((struct sockaddr *)&ls->addr, &ls->local);
	ls->binding.software = software(srv->cfg);
	ls->binding.stream = tp == TP_TCP || tp == TP_TLS;
	if (other) {
		ls->binding.rfc5780 = true;
		ls->binding.other = *other;
	}
	r = probe(ls, err, errlen);
	if (r < 0)
		return r;
	srv->n_spec++;
	return 0;
}

/* UDP and TCP on one ip:port, as the config allows. */
static int add_plain(struct server *srv, const char *ip, uint16_t port,
		     const struct stun_addr *other, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	int r;

	if (!c->no_udp && (r = add(srv, TP_UDP, ip, port, other, err, errlen)) < 0)
		return r;
	if (!c->no_tcp && (r = add(srv, TP_TCP, ip, port, other, err, errlen)) < 0)
		return r;
	if (srv->tls && (r = add(srv, TP_TLS, ip, c->tls_listening_port, NULL, err,
				 errlen)) < 0)
		return r;
	if (srv->dtls && (r = add(srv, TP_DTLS, ip, c->tls_listening_port, NULL, err,
				  errlen)) < 0)
		return r;
	return 0;
}

static int family_of(const char *ip)
{
	return strchr(ip, ':') ? STUN_FAMILY_IPV6 : STUN_FAMILY_IPV4;
}

static struct stun_addr addr_of(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct stun_addr a = { 0 };
	socklen_t len;

	if (netaddr_parse_ip(ip, port, &ss, &len))
		netaddr_to_stun((struct sockaddr *)&ss, &a);
	return a;
}

/* RFC 5780 s4.1: a pair A, B listening on ports P and P2. */
static int add_pair(struct server *srv, const char *a, const char *b, char *err,
		    size_t errlen)
{
	const struct config *c = srv->cfg;
	uint16_t p = c->listening_port;
	/* default alt port: the next one, or the one before at the top */
	uint16_t p2 = c->alt_listening_port ? c->alt_listening_port
					    : (uint16_t)(p < 65535 ? p + 1 : p - 1);
	const char *ip[2] = { a, b };
	const uint16_t port[2] = { p, p2 };

	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			struct stun_addr other = addr_of(ip[1 - i], port[1 - j]);
			int r;

			if (j == 0)
				r = add_plain(srv, ip[i], port[j], &other, err, errlen);
			else
				r = add(srv, TP_UDP, ip[i], port[j], &other, err, errlen);
			if (r < 0)
				return r;
		}
	}
	log_info("RFC 5780 NAT discovery on %s and %s, ports %u and %u", a, b, p, p2);
	return 0;
}

/* The index of the second IP of ip[first]'s family after it, or -1. */
static int partner(const struct config *c, int first, const bool *used)
{
	for (int j = first + 1; j < c->n_listening_ip; j++)
		if (!used[j] && family_of(c->listening_ip[j]) ==
				family_of(c->listening_ip[first]))
			return j;
	return -1;
}

int plan_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct config *c = srv->cfg;
	bool used[CONFIG_MAX_LISTEN_IPS] = { false };
	int r;

	srv->n_spec = 0;
	if (c->n_listening_ip == 0) {
		if ((r = add_plain(srv, "0.0.0.0", c->listening_port, NULL, err, errlen)) < 0)
			return r;
		r = add_plain(srv, "::", c->listening_port, NULL, err, errlen);
		if (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL) {
			log_warn("no IPv6 on this host (%s): listening on IPv4 only", err);
			return 0;
		}
		return r;
	}
	for (int i = 0; i < c->n_listening_ip; i++) {
		int j;

		if (used[i])
			continue;
		used[i] = true;
		j = partner(c, i, used);
		if (j >= 0) {
			used[j] = true;
			r = add_pair(srv, c->listening_ip[i], c->listening_ip[j], err, errlen);
		} else {
			r = add_plain(srv, c->listening_ip[i], c->listening_port, NULL, err,
				      errlen);
		}
		if (r < 0)
			return r;
	}
	return 0;
}
