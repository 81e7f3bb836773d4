/*
 * Socket addresses: the shell's struct sockaddr_storage against the cores'
 * struct stun_addr, and text forms for config and logs.
 */
#ifndef TERN_SERVER_NETADDR_H
#define TERN_SERVER_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "stun/stun.h"

enum { NETADDR_STRLEN = 64 }; /* "[ffff:...:ffff]:65535" fits */

/* Returns false for a family other than AF_INET/AF_INET6. */
bool netaddr_to_stun(const struct sockaddr *sa, struct stun_addr *out);
socklen_t netaddr_from_stun(const struct stun_addr *a, struct sockaddr_storage *out);
/* An IP literal (no port) and a port into a sockaddr. */
bool netaddr_parse_ip(const char *ip, uint16_t port, struct sockaddr_storage *out,
		      socklen_t *len);
/* "host:port", "[v6]:port". */
bool netaddr_parse_hostport(const char *s, struct sockaddr_storage *out, socklen_t *len);
/* "1.2.3.4:5" or "[::1]:5" into buf. */
const char *netaddr_str(const struct sockaddr *sa, char *buf, size_t len);
socklen_t netaddr_len(const struct sockaddr *sa);
/*
 * A non-blocking, close-on-exec socket of type (SOCK_DGRAM, SOCK_STREAM),
 * IPv6-only for IPv6, bound to sa; with reuseport, SO_REUSEPORT so that each
 * worker binds its own. Returns the fd, or -1 with "proto addr: reason".
 */
int netaddr_bind(const struct sockaddr *sa, socklen_t len, int type, bool reuseport,
		 char *err, size_t errlen);

#endif
