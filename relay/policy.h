/*
 * The peer-address policy: which addresses a client may ask the relay to
 * reach with CreatePermission, ChannelBind and Send (RFC 8656 s9). Secure by
 * default: every address that is not ordinary global unicast is refused with
 * a reason, so a TURN server cannot be used to reach its own host, the
 * networks behind it or the cloud metadata service. coturn's CVE-2020-26262
 * (0.0.0.0 and [::] reached loopback) and CVE-2026-27624 (::ffff:127.0.0.1
 * slipped past the loopback check and denied-peer-ip) were holes here.
 *
 * Precedence, as in coturn: allowed-peer-ip wins over the defaults and over
 * denied-peer-ip, except that 0.0.0.0/8 and :: are never allowed: they mean
 * "this host", not a peer, so an allow of 0.0.0.0/0 or ::/96 cannot reopen
 * CVE-2020-26262. allow-loopback-peers lifts only 127.0.0.0/8, ::1 and
 * ::ffff:127.0.0.0/104; denied-peer-ip adds ranges. A relay address of this
 * server is refused at any port unless allowed-peer-ip names it.
 *
 * An IPv6 form that carries an IPv4 address (v4-mapped, v4-compatible,
 * v4-translated, NAT64 64:ff9b::/96, 6to4, Teredo) must pass twice: the v6
 * form is refused by default and only allowed-peer-ip (or, for mapped
 * loopback, allow-loopback-peers) lets it through; then the IPv4 inside is
 * judged by the whole IPv4 policy, so an operator's v4 deny cannot be
 * bypassed by writing the address in v6. The local-use NAT64 prefix
 * 64:ff9b:1::/48 is refused by default too, but where it is allowed its IPv4
 * cannot be checked: its position depends on the network's prefix length.
 *
 * Hosts on public addresses that are special only inside one cloud (Azure's
 * 168.63.129.16, for one) are not in the defaults: use denied-peer-ip.
 *
 * Sans-I/O and allocation-free after policy_new(). Not thread-safe for
 * writes; a configured policy is read-only and may be shared. To reload,
 * build a new policy and swap it in.
 */
#ifndef TERN_RELAY_POLICY_H
#define TERN_RELAY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "stun/stun.h"

enum {
	POLICY_MAX_RANGES = 1024,   /* per list: allowed-peer-ip, denied-peer-ip */
	POLICY_MAX_OWN = 256,       /* distinct relay addresses of this server */
	POLICY_MAX_RANGE_TEXT = 128 /* one range as text, in bytes */
};

/* Why a peer is refused; each maps to a metrics label (policy_verdict_name). */
enum policy_verdict {
	POLICY_ALLOW = 0,
	POLICY_DENY_UNSPECIFIED,   /* 0.0.0.0/8, :: */
	POLICY_DENY_LOOPBACK,      /* 127.0.0.0/8, ::1 */
	POLICY_DENY_PRIVATE,       /* RFC 1918 */
	POLICY_DENY_CGNAT,         /* 100.64.0.0/10 (RFC 6598) */
	POLICY_DENY_LINK_LOCAL,    /* 169.254.0.0/16, fe80::/10 */
	POLICY_DENY_MULTICAST,     /* 224.0.0.0/4, ff00::/8 */
	POLICY_DENY_BROADCAST,     /* 255.255.255.255 */
	POLICY_DENY_RESERVED,      /* 240/4, 192.0.0/24, benchmarking, non-2000::/3 */
	POLICY_DENY_DOCUMENTATION, /* RFC 5737, 2001:db8::/32, 3fff::/20 */
	POLICY_DENY_MAPPED,        /* an IPv6 form that carries an IPv4 address */
	POLICY_DENY_ULA,           /* fc00::/7 */
	POLICY_DENY_SITE_LOCAL,    /* fec0::/10 */
	POLICY_DENY_OWN,           /* one of this server's relay addresses */
	POLICY_DENY_RANGE,         /* denied-peer-ip */
	POLICY_DENY_FAMILY,        /* neither IPv4 nor IPv6 */
	POLICY_VERDICT_COUNT
};

struct policy;

/* Returns NULL when out of memory; the caller owns it: policy_free(). */
struct policy *policy_new(void);
void policy_free(struct policy *p);
/* A new policy with p's own addresses and local port, and no ranges, for a
 * reload to add the new ranges to. NULL: no memory. */
struct policy *policy_new_like(const struct policy *p);

/*
 * allowed-peer-ip and denied-peer-ip. range is one address, "ip1-ip2"
 * (inclusive, one family, ip1 <= ip2) or "ip/len" with no host bits set;
 * blanks around the parts are ignored. Returns false, with one line in err
 * (if errlen > 0), on a bad range or a full list; the policy is unchanged.
 */
bool policy_allow_range(struct policy *p, const char *range, char *err, size_t errlen);
bool policy_deny_range(struct policy *p, const char *range, char *err, size_t errlen);

/* allow-loopback-peers. Off by default. */
void policy_allow_loopback(struct policy *p, bool on);

/*
 * Register a relay address of this server; only its IP matters. A relay
 * bound to a wildcard must register each address it relays from, so the
 * wildcard itself is refused, as are a bad family and a full table. Adding
 * an address already present succeeds without using a slot.
 */
bool policy_add_own(struct policy *p, const struct stun_addr *a);

/* Judge one peer address; the port is ignored. No allocation. */
enum policy_verdict policy_check(const struct policy *p, const struct stun_addr *peer);

/*
 * A service in this process that clients may reach through their
 * allocations: the WireGuard responder, at port on every own address
 * (policy_add_own). Its datagrams are handed over inside the process and
 * never leave on a relay socket, so this opens nothing else of the host:
 * every other port of an own address is still refused. 0 (the default):
 * no such service.
 */
void policy_set_local_port(struct policy *p, uint16_t port);
/* Which own address peer is, if it is one at the local port: an index for
 * policy_local_addr(), or -1. */
int policy_local(const struct policy *p, const struct stun_addr *peer);
/* Own address i at the local port; false if there is none. */
bool policy_local_addr(const struct policy *p, int i, struct stun_addr *out);
/* Whether a datagram to or from peer must be refused although peer has a
 * permission: peer is an own address at another port than the local one,
 * which only policy_check_permission's exception let in. No allocation. */
bool policy_port_refused(const struct policy *p, const struct stun_addr *peer);
/* For CreatePermission (an IP, port ignored): policy_check, except that an
 * own address is allowed while a local port is set. */
enum policy_verdict policy_check_permission(const struct policy *p,
					    const struct stun_addr *peer);
/* For ChannelBind and Send (ip:port, UDP): policy_check, except that a
 * local service's address is allowed. */
enum policy_verdict policy_check_datagram(const struct policy *p,
					  const struct stun_addr *peer);

/* snake_case label: "allow", "loopback", ..., "unknown" out of range. */
const char *policy_verdict_name(enum policy_verdict v);

#endif
