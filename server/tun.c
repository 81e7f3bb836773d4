/*
 * The TUN device (see tun.h). IPv4 addresses go on with SIOCSIFADDR and
 * SIOCSIFNETMASK, IPv6 ones with SIOCSIFADDR on an AF_INET6 socket and a
 * struct in6_ifreq, which Linux has always taken; no netlink needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "server/tun.h"

static int add_v4(int s, const char *name, const char *ip, int plen)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1 || ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return -1;
	sin->sin_addr.s_addr = plen ? htonl(~0u << (32 - plen)) : 0;
	return ioctl(s, SIOCSIFNETMASK, &ifr);
}

/* The kernel's struct in6_ifreq (linux/ipv6.h, which clashes with
 * netinet/in.h). */
struct tun_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int add_v6(int s6, int index, const char *ip, int plen)
{
	struct tun_in6_ifreq r = { .prefixlen = (uint32_t)plen, .ifindex = index };

	if (inet_pton(AF_INET6, ip, &r.addr) != 1)
		return -1;
	return ioctl(s6, SIOCSIFADDR, &r);
}

/* Each "ip/len" on the device; -1 with err for the first that fails. */
static int addresses(const char *name, char *const *list, int n, char *err, size_t errlen)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned index = if_nametoindex(name);
	int rc = 0;

	for (int i = 0; i < n && rc == 0; i++) {
		char ip[64];
		const char *slash = strchr(list[i], '/');
		int plen = slash ? atoi(slash + 1) : -1;

		snprintf(ip, sizeof ip, "%.*s", slash ? (int)(slash - list[i]) : 0, list[i]);
		rc = strchr(ip, ':') ? add_v6(s6, (int)index, ip, plen) : add_v4(s, name, ip, plen);
		if (rc < 0)
			snprintf(err, errlen, "wg-tun %s: wg-address %s: %s", name, list[i],
				 strerror(errno));
	}
	if (s >= 0)
		close(s);
	if (s6 >= 0)
		close(s6);
	return rc;
}

static int up(const char *name, int mtu, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_mtu = mtu;
	if (s < 0 || ioctl(s, SIOCSIFMTU, &ifr) < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "wg-tun %s: mtu %d: %s", name, mtu, strerror(errno));
		goto out;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		snprintf(err, errlen, "wg-tun %s: cannot bring it up: %s", name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (s >= 0)
		close(s);
	return rc;
}

int tun_open(const char *name, int mtu, char *const *list, int n, char *err, size_t errlen)
{
	struct ifreq ifr = { .ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "wg-tun %s: /dev/net/tun: %s", name, strerror(errno));
		return -1;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "wg-tun %s: cannot make it (root or CAP_NET_ADMIN needed): %s",
			 name, strerror(errno));
		close(fd);
		return -1;
	}
	if (up(name, mtu, err, errlen) < 0 || addresses(name, list, n, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
