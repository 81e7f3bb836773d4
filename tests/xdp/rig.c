/*
 * The XDP rig (rig.h): the program in a network namespace of its own,
 * frames run through it with BPF_PROG_TEST_RUN, and the oracle that says
 * whether what came back is what the maps asked for.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "tests/xdp/rig.h"

/* xdp/relay.bpf.o, as bytes (xdp/relay_obj.c, made by the build) */
extern const unsigned char tern_xdp_obj[];
extern const unsigned int tern_xdp_obj_len;

static const char *const IN_NAME = "rig0", *const PORT_NAME = "rig1";

static int say(char *err, size_t len, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static const char *wrong(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int say(char *err, size_t len, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	n = strlen(err);
	snprintf(err + n, len - n, ": %s", strerror(-e));
	return e;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}

/* netlink attributes, appended to n */
static struct rtattr *attr(struct nlmsghdr *n, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)(void *)((uint8_t *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void nest_end(struct nlmsghdr *n, struct rtattr *a)
{
	a->rta_len = (unsigned short)((uint8_t *)n + n->nlmsg_len - (uint8_t *)a);
}

/* ip link add a type veth peer name b, in RTM_NEWLINK: 0 or -errno */
static int veth_pair(const char *a, const char *b)
{
	struct {
		struct nlmsghdr n;
		struct ifinfomsg i;
		uint8_t attrs[256];
	} q = { .n = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		       .nlmsg_type = RTM_NEWLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK } };
	union {
		struct nlmsghdr n;
		uint8_t buf[512];
	} ack;
	struct rtattr *info, *data, *peer;
	int fd, err = -EPROTO;
	ssize_t got;

	attr(&q.n, IFLA_IFNAME, a, strlen(a) + 1);
	info = attr(&q.n, IFLA_LINKINFO, NULL, 0);
	attr(&q.n, IFLA_INFO_KIND, "veth", 4);
	data = attr(&q.n, IFLA_INFO_DATA, NULL, 0);
	peer = attr(&q.n, VETH_INFO_PEER, NULL, 0);
	q.n.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg)); /* the peer's, all zero */
	attr(&q.n, IFLA_IFNAME, b, strlen(b) + 1);
	nest_end(&q.n, peer);
	nest_end(&q.n, data);
	nest_end(&q.n, info);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &q, q.n.nlmsg_len, 0) < 0)
		err = -errno;
	else if ((got = recv(fd, &ack, sizeof ack, 0)) < 0)
		err = -errno;
	else if ((size_t)got >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
		 ack.n.nlmsg_type == NLMSG_ERROR)
		err = ((struct nlmsgerr *)NLMSG_DATA(&ack.n))->error;
	close(fd);
	return err;
}

static unsigned mtu_of(const char *name)
{
	struct ifreq q = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned mtu = 0;

	snprintf(q.ifr_name, sizeof q.ifr_name, "%s", name);
	if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &q) == 0)
		mtu = (unsigned)q.ifr_mtu;
	if (fd >= 0)
		close(fd);
	return mtu;
}

/* The rig's interfaces, in a network namespace of the process's own. */
static int plumb(struct rig *r, char *err, size_t len)
{
	int e;

	if (unshare(CLONE_NEWNET))
		return say(err, len, -errno, "unshare(CLONE_NEWNET) (the XDP rig needs root)");
	e = veth_pair(IN_NAME, PORT_NAME);
	if (e)
		return say(err, len, e, "a veth pair (RTM_NEWLINK)");
	r->ingress = if_nametoindex(IN_NAME);
	r->port = if_nametoindex(PORT_NAME);
	r->lo = if_nametoindex("lo");
	r->mtu_ingress = mtu_of(IN_NAME);
	r->mtu_port = mtu_of(PORT_NAME);
	if (!r->ingress || !r->port || !r->lo || !r->mtu_ingress || !r->mtu_port)
		return say(err, len, -ENODEV, "the veth pair or lo");
	return 0;
}

int rig_open(struct rig *r, char *err, size_t len)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "tern_xdp");
	struct bpf_program *prog;
	int e;

	memset(r, 0, sizeof *r);
	r->prog = r->chans = r->peers = r->hops = r->ports = r->passed = -1;
	if ((e = plumb(r, err, len)))
		return e;
	libbpf_set_print(libbpf_quiet);
	r->obj = bpf_object__open_mem(tern_xdp_obj, tern_xdp_obj_len, &oo);
	if (!r->obj)
		return say(err, len, -errno, "the XDP object did not open");
	if ((e = bpf_object__load(r->obj)))
		return say(err, len, e, "the XDP program did not load");
	prog = bpf_object__find_program_by_name(r->obj, "tern_relay");
	r->prog = prog ? bpf_program__fd(prog) : -1;
	r->chans = bpf_object__find_map_fd_by_name(r->obj, "channels");
	r->peers = bpf_object__find_map_fd_by_name(r->obj, "peers");
	r->hops = bpf_object__find_map_fd_by_name(r->obj, "hops");
	r->ports = bpf_object__find_map_fd_by_name(r->obj, "ports");
	r->passed = bpf_object__find_map_fd_by_name(r->obj, "passed");
	if (r->prog < 0 || r->chans < 0 || r->peers < 0 || r->hops < 0 || r->ports < 0 ||
	    r->passed < 0)
		return say(err, len, -ENOENT, "the XDP object lacks a program or map");
	if ((e = bpf_map_update_elem(r->ports, &r->port, &r->port, BPF_ANY)))
		return say(err, len, e, "the ports map refused %s", PORT_NAME);
	r->ncpu = libbpf_num_possible_cpus();
	if (r->ncpu <= 0)
		return say(err, len, r->ncpu ? r->ncpu : -EINVAL, "possible CPUs");
	return 0;
}

void rig_close(struct rig *r)
{
	bpf_object__close(r->obj); /* the namespace goes with the process */
	r->obj = NULL;
}

static void empty(int fd)
{
	uint8_t k[sizeof(struct xdp_chan_key)];

	while (bpf_map_get_next_key(fd, NULL, k) == 0)
		if (bpf_map_delete_elem(fd, k))
			abort(); /* a rig that cannot reset is no rig */
}

void rig_clear(struct rig *r)
{
	if (r->n_written > RIG_KEYS) {
		empty(r->chans);
		empty(r->peers);
		empty(r->hops);
	}
	for (int i = 0; i < r->n_written && i < RIG_KEYS; i++)
		bpf_map_delete_elem(r->written[i].fd, r->written[i].key); /* or never was */
	r->n_written = 0;
}

/* key of size bytes, in map fd, for rig_clear() */
static void wrote(struct rig *r, int fd, const void *key, size_t size)
{
	if (r->n_written < RIG_KEYS) {
		r->written[r->n_written].fd = fd;
		memcpy(r->written[r->n_written].key, key, size);
	}
	if (r->n_written <= RIG_KEYS)
		r->n_written++;
}

int rig_channel(struct rig *r, const struct xdp_flow *in, uint16_t channel,
		const struct xdp_flow *out, uint64_t expires_ns)
{
	struct xdp_chan_key k = { .in = *in, .channel = htons(channel) };
	struct xdp_chan_val v = { .out = *out, .e.expires_ns = expires_ns };

	wrote(r, r->chans, &k, sizeof k);
	return bpf_map_update_elem(r->chans, &k, &v, BPF_ANY);
}

int rig_peer(struct rig *r, const struct xdp_flow *in, const struct xdp_flow *out,
	     uint16_t channel, uint64_t expires_ns)
{
	struct xdp_peer_val v = { .out = *out, .channel = htons(channel),
				  .e.expires_ns = expires_ns };

	wrote(r, r->peers, in, sizeof *in);
	return bpf_map_update_elem(r->peers, in, &v, BPF_ANY);
}

int rig_hop(struct rig *r, const __be32 addr[4], unsigned ifindex, const uint8_t mac[6],
	    const uint8_t own[6])
{
	struct xdp_hop h = { .ifindex = ifindex };

	memcpy(h.mac, mac, 6);
	memcpy(h.own, own, 6);
	wrote(r, r->hops, addr, 16);
	return bpf_map_update_elem(r->hops, addr, &h, BPF_ANY);
}

uint64_t rig_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t); /* bpf_ktime_get_ns()'s clock */
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The pass reasons counted so far, over every CPU. */
static void passed(const struct rig *r, uint64_t n[XP_COUNT])
{
	uint64_t per[r->ncpu];

	for (__u32 k = 0; k < XP_COUNT; k++) {
		n[k] = 0;
		if (bpf_map_lookup_elem(r->passed, &k, per))
			abort();
		for (int i = 0; i < r->ncpu; i++)
			n[k] += per[i];
	}
}

/* The one reason counted between a and b, or RIG_WHY_*. */
static int counted(const uint64_t a[XP_COUNT], const uint64_t b[XP_COUNT])
{
	int why = RIG_WHY_NONE;

	for (int k = 0; k < XP_COUNT; k++) {
		if (b[k] == a[k])
			continue;
		if (why != RIG_WHY_NONE || b[k] != a[k] + 1)
			return RIG_WHY_MANY;
		why = k;
	}
	return why;
}

/*
 * What the maps say of a frame: whether it parses, the entry it matches
 * (a peer's datagram first, then a client's ChannelData to its listener
 * or to the wildcard), and the hop towards the entry's destination.
 */
struct look {
	bool ok, found, grow, hop;
	struct rig_dgram d;
	struct xdp_flow out;
	uint16_t channel;  /* the ChannelData's number (host order) */
	size_t dlen;       /* the payload bytes the entry counts */
	struct xdp_entry e;
	struct xdp_hop h;
};

static bool channel_of(const struct rig *r, const uint8_t *f, struct look *l)
{
	const uint8_t *p = f + l->d.udp + RIG_UDP;
	size_t plen = l->d.udp_len - RIG_UDP;
	struct xdp_chan_key k = { .in = l->d.in };
	struct xdp_chan_val v;

	if (plen < RIG_CHANNEL_HDR || p[0] < 0x40 || p[0] > 0x7f ||
	    plen != RIG_CHANNEL_HDR + (size_t)(p[2] << 8 | p[3]))
		return false;
	memcpy(&k.channel, p, 2);
	if (bpf_map_lookup_elem(r->chans, &k, &v)) {
		memset(k.in.dst_ip, 0, sizeof k.in.dst_ip); /* a wildcard listener */
		if (bpf_map_lookup_elem(r->chans, &k, &v))
			return false;
	}
	l->out = v.out;
	l->e = v.e;
	l->channel = ntohs(k.channel);
	l->dlen = plen - RIG_CHANNEL_HDR;
	return true;
}

static void look(const struct rig *r, const uint8_t *f, size_t len, struct look *l)
{
	struct xdp_peer_val pv;

	memset(l, 0, sizeof *l);
	l->ok = rig_parse(f, len, &l->d);
	if (!l->ok)
		return;
	if (bpf_map_lookup_elem(r->peers, &l->d.in, &pv) == 0) {
		l->found = l->grow = true;
		l->out = pv.out;
		l->e = pv.e;
		l->channel = ntohs(pv.channel);
		l->dlen = l->d.udp_len - RIG_UDP;
	} else {
		l->found = channel_of(r, f, l);
	}
	if (l->found)
		l->hop = bpf_map_lookup_elem(r->hops, l->out.dst_ip, &l->h) == 0;
}

static char verdict[256];

static const char *wrong(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(verdict, sizeof verdict, fmt, ap);
	va_end(ap);
	return verdict;
}

/* Whether the maps say relay frame l of len bytes, at any time before
 * its entry expires: the right family, a hop the program can send on,
 * room under its MTU, and a checksum that IPv6 requires. */
static bool relayable(const struct rig *r, const uint8_t *f, size_t len, const struct look *l)
{
	bool v4 = !l->d.v6;
	unsigned mtu = !l->hop ? 0 : l->h.ifindex == r->ingress ? r->mtu_ingress
				  : l->h.ifindex == r->port     ? r->mtu_port
								: 0;

	if (!l->found || !mtu || rig_mapped(l->out.src_ip) != v4 || rig_mapped(l->out.dst_ip) != v4)
		return false;
	if (v4 && rig_ip4_sum(f) != 0xffff)
		return false; /* a broken IPv4 header goes up, for the stack to drop */
	if (l->grow && !l->out.src_ip[0] && !l->out.src_ip[1] && !l->out.src_ip[2] &&
	    !l->out.src_ip[3])
		return false; /* a wildcard listener's, before the client's ChannelData */
	if (len + (l->grow ? RIG_CHANNEL_HDR : 0) > mtu + RIG_ETH + (l->grow ? 0 : RIG_CHANNEL_HDR))
		return false;
	if (rig_partial(f, &l->d))
		return false; /* the stack finishes it where the headers were */
	return v4 || (f[l->d.udp + 6] | f[l->d.udp + 7]);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static const char *check_ip(const uint8_t *in, const uint8_t *out, bool v6)
{
	const uint8_t *a = in + RIG_ETH, *b = out + RIG_ETH;

	if (v6) {
		if ((a[0] & 0xf) != (b[0] & 0xf) || (a[1] & 0xf0) != (b[1] & 0xf0))
			return "the IPv6 traffic class changed";
		if ((b[1] & 0xf) || b[2] || b[3])
			return "an IPv6 flow label left on a new datagram";
		if (b[7] != 64)
			return wrong("IPv6 hop limit %u, not 64", b[7]);
		return NULL;
	}
	if (a[1] != b[1] || memcmp(a + 4, b + 4, 4) != 0)
		return "the IPv4 TOS, ID or flags changed";
	if (b[8] != 64)
		return wrong("IPv4 TTL %u, not 64", b[8]);
	if (rig_ip4_sum(out) != 0xffff)
		return wrong("IPv4 header checksum 0x%04x wrong", get16(b + 10));
	return NULL;
}

/* The UDP checksum out: zero only if it came so over IPv4, and right if
 * it came right. */
static const char *check_sum(const uint8_t *in, const struct rig_dgram *di, const uint8_t *out,
			     const struct rig_dgram *dout)
{
	uint16_t was = get16(in + di->udp + 6), now = get16(out + dout->udp + 6);

	if (!was)
		return now ? wrong("UDP checksum 0x%04x out of one that was zero", now) : NULL;
	if (!now)
		return "a zero UDP checksum out of one that was not";
	if (rig_udp_sum(in, di) == 0xffff && rig_udp_sum(out, dout) != 0xffff)
		return wrong("UDP checksum 0x%04x wrong (sums to 0x%04x)", now,
			     rig_udp_sum(out, dout));
	return NULL;
}

/* The payload: the peer's with the ChannelData header in front, or the
 * client's without it; and whatever followed the datagram, as it was. */
static const char *check_payload(const uint8_t *in, size_t len, const struct look *l,
				 const uint8_t *out, const struct rig_dgram *dout)
{
	const uint8_t *was = in + l->d.udp + RIG_UDP, *now = out + dout->udp + RIG_UDP;
	size_t plen = l->d.udp_len - RIG_UDP, tail = len - l->d.udp - l->d.udp_len;

	if (l->grow) {
		if (get16(now) != l->channel || get16(now + 2) != plen)
			return wrong("ChannelData header 0x%04x length %u, want 0x%04x and %zu",
				     get16(now), get16(now + 2), l->channel, plen);
		if (memcmp(now + RIG_CHANNEL_HDR, was, plen) != 0)
			return "the peer's payload changed";
	} else if (memcmp(now, was + RIG_CHANNEL_HDR, plen - RIG_CHANNEL_HDR) != 0) {
		return "the client's payload changed";
	}
	if (memcmp(out + dout->udp + dout->udp_len, in + l->d.udp + l->d.udp_len, tail) != 0)
		return "the bytes after the datagram changed";
	return NULL;
}

/* A frame relayed: the way out's MACs, the entry's flow, lengths that
 * agree, checksums that verify, the payload moved. */
static const char *check_out(const uint8_t *in, size_t len, const struct rig_shot *s,
			     const struct look *l)
{
	size_t want = l->grow ? len + RIG_CHANNEL_HDR : len - RIG_CHANNEL_HDR;
	struct rig_dgram d;
	const char *bad;

	if (s->out_len != want)
		return wrong("a frame of %zu bytes out of %zu, want %zu", s->out_len, len, want);
	if (memcmp(s->out, l->h.mac, 6) != 0 || memcmp(s->out + 6, l->h.own, 6) != 0)
		return "MACs not the hop's";
	if (memcmp(s->out + 12, in + 12, 2) != 0)
		return "the EtherType changed";
	if (!rig_parse(s->out, s->out_len, &d) || d.v6 != l->d.v6)
		return "not a well-formed UDP datagram out";
	if (d.udp_len != (l->grow ? l->d.udp_len + RIG_CHANNEL_HDR : l->d.udp_len - RIG_CHANNEL_HDR))
		return wrong("UDP length %zu out of %zu", d.udp_len, l->d.udp_len);
	if (memcmp(&d.in, &l->out, sizeof d.in) != 0)
		return "addresses or ports not the entry's";
	if ((bad = check_ip(in, s->out, d.v6)) || (bad = check_sum(in, &l->d, s->out, &d)))
		return bad;
	return check_payload(in, len, l, s->out, &d);
}

static const char *judge(const struct rig *r, const uint8_t *in, size_t len,
			 const struct rig_shot *s, const struct look *was, const struct look *l,
			 uint64_t t0, uint64_t t1)
{
	bool may = l->ok && relayable(r, in, len, l);
	uint32_t how = l->hop && l->h.ifindex == r->ingress ? XDP_TX : XDP_REDIRECT;

	if (s->ret == XDP_PASS) {
		if (s->out_len != len || memcmp(s->out, in, len) != 0)
			return "XDP_PASS with the frame changed";
		if (s->why < 0)
			return wrong("XDP_PASS with %s pass reason counted",
				     s->why == RIG_WHY_NONE ? "no" : "more than one");
		if (may && l->e.expires_ns > t1)
			return wrong("XDP_PASS (reason %d) of a frame to relay", s->why);
		if (l->found && (l->e.packets != was->e.packets || l->e.bytes != was->e.bytes))
			return "XDP_PASS of a frame counted as relayed";
		return NULL;
	}
	if (s->ret != XDP_TX && s->ret != XDP_REDIRECT)
		return wrong("returned %u: neither relayed nor passed up", s->ret);
	if (s->why != RIG_WHY_NONE)
		return wrong("relayed, and counted pass reason %d", s->why);
	if (!may || l->e.expires_ns <= t0)
		return "relayed a frame to pass up";
	if (s->ret != how)
		return wrong("returned %u for a hop on ifindex %u", s->ret, l->h.ifindex);
	if (l->e.packets != was->e.packets + 1 || l->e.bytes != was->e.bytes + l->dlen)
		return wrong("counted %llu packets %llu bytes, want one and %zu",
			     (unsigned long long)(l->e.packets - was->e.packets),
			     (unsigned long long)(l->e.bytes - was->e.bytes), l->dlen);
	return check_out(in, len, s, l);
}

const char *rig_try(struct rig *r, const uint8_t *in, size_t len, struct rig_shot *s)
{
	struct xdp_md ctx = { .data_end = (__u32)len, .ingress_ifindex = r->ingress };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = s->out, .data_size_out = sizeof s->out, .ctx_in = &ctx,
		    .ctx_size_in = sizeof ctx);
	uint64_t p0[XP_COUNT], p1[XP_COUNT], t0, t1;
	struct look was, now;
	struct xdp_flow flow;
	uint16_t channel;
	int e;

	memset(s, 0, sizeof *s);
	if (rig_flow_of(in, len, &flow, &channel))
		wrote(r, r->hops, flow.src_ip, 16); /* the way back to it, if learned */
	look(r, in, len, &was);
	passed(r, p0);
	t0 = rig_now();
	e = bpf_prog_test_run_opts(r->prog, &o);
	t1 = rig_now();
	if (e)
		return wrong("BPF_PROG_TEST_RUN refused %zu bytes: %s", len, strerror(-e));
	s->ret = o.retval;
	s->out_len = o.data_size_out;
	passed(r, p1);
	s->why = counted(p0, p1);
	look(r, in, len, &now);
	return judge(r, in, len, s, &was, &now, t0, t1);
}
