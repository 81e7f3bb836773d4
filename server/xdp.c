/*
 * The kernel fast path's userspace half: load xdp/relay.bpf.c (built into
 * ternd as bytes), attach it, mirror the engine's channels into its map,
 * and read its counters back. See xdp.h.
 */
#include "autoconf.h"

#include "server/xdp.h"

#include "server/log.h"

#ifdef HAVE_XDP

#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "xdp/maps.h"

/* xdp/relay.bpf.o, as bytes (xdp/relay_obj.c, made by the build) */
extern const unsigned char tern_xdp_obj[];
extern const unsigned int tern_xdp_obj_len;

struct xdp {
	struct bpf_object *obj;
	int chans, peers, passed, ports; /* map descriptors */
	int n_links;
	struct {
		int fd;
		char name[IF_NAMESIZE];
		const char *mode;
	} link[CONFIG_MAX_XDP_INTERFACES];
	/* what entries removed from the maps had relayed, by direction */
	_Atomic uint64_t gone_packets[2], gone_bytes[2];
};

/* Both maps' values end with their entry (expiry and counters). */
_Static_assert(offsetof(struct xdp_chan_val, e) + sizeof(struct xdp_entry) ==
		       sizeof(struct xdp_chan_val), "the entry last");
_Static_assert(offsetof(struct xdp_peer_val, e) + sizeof(struct xdp_entry) ==
		       sizeof(struct xdp_peer_val), "the entry last");

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	log_debug("xdp: libbpf: %s", msg);
	return 0;
}

/* One interface, in the mode asked (auto: native, else generic). */
static int attach(struct xdp *x, int prog, const char *ifname, const char *mode)
{
	static const struct {
		const char *name;
		__u32 flags;
	} modes[] = { { "native", XDP_FLAGS_DRV_MODE }, { "generic", XDP_FLAGS_SKB_MODE } };
	unsigned ifindex = if_nametoindex(ifname);
	int fd = -1, err = ENODEV;

	if (!ifindex) {
		log_err("xdp-interface %s: no such interface; it relays in userspace", ifname);
		return -1;
	}
	for (size_t i = 0; i < sizeof modes / sizeof modes[0] && fd < 0; i++) {
		LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = modes[i].flags);

		if (strcmp(mode, "auto") != 0 && strcmp(mode, modes[i].name) != 0)
			continue;
		fd = bpf_link_create(prog, (int)ifindex, BPF_XDP, &opts);
		if (fd < 0) {
			err = errno;
			log_info("xdp-interface %s: %s mode refused: %s", ifname, modes[i].name,
				 strerror(err));
			continue;
		}
		if (bpf_map_update_elem(x->ports, &(__u32){ ifindex }, &(__u32){ ifindex }, BPF_ANY))
			log_info("xdp-interface %s: not a way out for other interfaces: %s", ifname,
				 strerror(errno));
		x->link[x->n_links].fd = fd;
		snprintf(x->link[x->n_links].name, IF_NAMESIZE, "%s", ifname);
		x->link[x->n_links].mode = modes[i].name;
		x->n_links++;
		log_info("xdp-interface %s: ChannelData relayed in XDP (%s mode)", ifname,
			 modes[i].name);
		return 0;
	}
	log_err("xdp-interface %s: the program did not attach (%s); it relays in userspace",
		ifname, strerror(err));
	return -1;
}

struct xdp *xdp_open(const struct config *c)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "tern_xdp");
	struct bpf_program *prog;
	struct xdp *x;

	if (!c->n_xdp_interface)
		return NULL;
	libbpf_set_print(libbpf_to_log);
	x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->obj = bpf_object__open_mem(tern_xdp_obj, tern_xdp_obj_len, &oo);
	if (!x->obj || bpf_object__load(x->obj) < 0) {
		log_err("xdp: the program did not load (%s); everything relays in userspace",
			strerror(errno));
		xdp_close(x);
		return NULL;
	}
	prog = bpf_object__find_program_by_name(x->obj, "tern_relay");
	x->chans = bpf_object__find_map_fd_by_name(x->obj, "channels");
	x->peers = bpf_object__find_map_fd_by_name(x->obj, "peers");
	x->passed = bpf_object__find_map_fd_by_name(x->obj, "passed");
	x->ports = bpf_object__find_map_fd_by_name(x->obj, "ports");
	for (int i = 0; prog && i < c->n_xdp_interface; i++)
		attach(x, bpf_program__fd(prog), c->xdp_interface[i], c->xdp_mode);
	if (!x->n_links || x->chans < 0 || x->peers < 0 || x->passed < 0 || x->ports < 0) {
		xdp_close(x);
		return NULL;
	}
	return x;
}

void xdp_close(struct xdp *x)
{
	if (!x)
		return;
	for (int i = 0; i < x->n_links; i++)
		close(x->link[i].fd); /* the link's last descriptor: detached */
	bpf_object__close(x->obj);
	free(x);
}

/* CLOCK_MONOTONIC ns of wall-clock ms at (the engine's clock is the wall's) */
static uint64_t mono_ns_of(uint64_t at_ms)
{
	struct timespec rt, mt;
	int64_t left_ms;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	left_ms = (int64_t)at_ms - ((int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000);
	if (left_ms <= 0)
		return 0;
	return (uint64_t)mt.tv_sec * 1000000000u + (uint64_t)mt.tv_nsec +
	       (uint64_t)left_ms * 1000000u;
}

/*
 * Write (or, with expires 0, remove) one entry of map fd whose value of
 * size bytes ends with its counters; what it had counted stays, in the
 * entry or, once it goes, in the totals of direction d.
 */
static void mirror(struct xdp *x, int fd, int d, const void *key, void *val, size_t size,
		   uint64_t expires)
{
	unsigned char old[sizeof(struct xdp_chan_val) > sizeof(struct xdp_peer_val)
				  ? sizeof(struct xdp_chan_val)
				  : sizeof(struct xdp_peer_val)];
	struct xdp_entry *was = (struct xdp_entry *)(void *)(old + size - sizeof *was);
	struct xdp_entry *now = (struct xdp_entry *)(void *)((unsigned char *)val + size -
							     sizeof *now);
	bool had = bpf_map_lookup_elem(fd, key, old) == 0;

	if (!expires) {
		if (had) {
			atomic_fetch_add(&x->gone_packets[d], was->packets);
			atomic_fetch_add(&x->gone_bytes[d], was->bytes);
			bpf_map_delete_elem(fd, key);
		}
		return;
	}
	if (had) { /* what it relayed so far stays (less what XDP adds meanwhile) */
		now->packets = was->packets;
		now->bytes = was->bytes;
	}
	if (bpf_map_update_elem(fd, key, val, BPF_ANY) < 0)
		log_debug("xdp: channel not mirrored: %s", strerror(errno));
}

/* a's address as the maps have it: IPv4 mapped, the wildcard all zeros */
static void map_addr(__be32 out[4], const struct stun_addr *a)
{
	static const uint8_t zero[16];
	uint8_t *o = (uint8_t *)out;

	memset(o, 0, 16);
	if (a->family == STUN_FAMILY_IPV6) {
		memcpy(o, a->ip, 16);
	} else if (memcmp(a->ip, zero, 4) != 0) {
		o[10] = o[11] = 0xff;
		memcpy(o + 12, a->ip, 4);
	}
}

static struct xdp_flow flow(const struct stun_addr *src, const struct stun_addr *dst)
{
	struct xdp_flow f = { .src_port = htons(src->port), .dst_port = htons(dst->port) };

	map_addr(f.src_ip, src);
	map_addr(f.dst_ip, dst);
	return f;
}

/* The two map keys of channel c (of a client that reached server) and
 * their values; false when its datagrams change family, which the program
 * leaves to userspace. */
static bool entries(const struct stun_addr *server, const struct relay_channel *c,
		    struct xdp_chan_key *k, struct xdp_chan_val *v, struct xdp_flow *pk,
		    struct xdp_peer_val *pv)
{
	*k = (struct xdp_chan_key){ .in = flow(&c->key.client, server),
				    .channel = htons(c->number) };
	*v = (struct xdp_chan_val){ .out = flow(&c->relayed, &c->peer) };
	*pk = flow(&c->peer, &c->relayed);
	*pv = (struct xdp_peer_val){ .out = flow(server, &c->key.client), .channel = k->channel };
	return c->key.client.family == c->relayed.family && c->peer.family == c->relayed.family;
}

void xdp_channel(struct xdp *x, const struct stun_addr *server, const struct relay_channel *c)
{
	static const __be32 any[4];
	struct xdp_chan_key k;
	struct xdp_chan_val v;
	struct xdp_flow pk;
	struct xdp_peer_val pv, was;

	if (!x || !entries(server, c, &k, &v, &pk, &pv))
		return;
	v.e.expires_ns = c->expires_ms ? mono_ns_of(c->expires_ms) : 0;
	pv.e.expires_ns = c->to_client_ms ? mono_ns_of(c->to_client_ms) : 0;
	mirror(x, x->chans, 0, &k, &v, sizeof v, v.e.expires_ns);
	/* a wildcard listener's: the program fills in the address the client
	 * reached (from its ChannelData); one it has filled in stays */
	if (memcmp(k.in.dst_ip, any, sizeof any) == 0 &&
	    bpf_map_lookup_elem(x->peers, &pk, &was) == 0 && was.out.dst_port == pv.out.dst_port)
		memcpy(pv.out.src_ip, was.out.src_ip, sizeof pv.out.src_ip);
	mirror(x, x->peers, 1, &pk, &pv, sizeof pv, pv.e.expires_ns);
}

static const char *const pass_names[XP_COUNT] = {
	[XP_NOT_IP] = "not_ip",         [XP_IP_OPTIONS] = "ip_options",
	[XP_FRAGMENT] = "fragment",     [XP_NOT_UDP] = "not_udp",
	[XP_NOT_CHANNEL] = "not_channeldata", [XP_LENGTH] = "length",
	[XP_NO_CHANNEL] = "no_channel", [XP_EXPIRED] = "expired",
	[XP_TOO_BIG] = "too_big",       [XP_NO_HOP] = "no_hop",
	[XP_NO_PORT] = "no_port",       [XP_CHECKSUM] = "checksum",
};

/* Sum the counters of every entry of map fd (key and value of those
 * sizes); how many entries into *entries. */
static void sum_map(int fd, size_t ksize, size_t vsize, uint64_t *packets, uint64_t *bytes,
		    uint64_t *entries)
{
	unsigned char k[sizeof(struct xdp_chan_key)], next[sizeof k];
	unsigned char v[sizeof(struct xdp_chan_val) > sizeof(struct xdp_peer_val)
				? sizeof(struct xdp_chan_val)
				: sizeof(struct xdp_peer_val)];
	const struct xdp_entry *c = (const struct xdp_entry *)(const void *)(v + vsize - sizeof *c);

	for (void *at = NULL; bpf_map_get_next_key(fd, at, next) == 0; at = k) {
		memcpy(k, next, ksize);
		if (bpf_map_lookup_elem(fd, k, v) == 0) {
			*packets += c->packets;
			*bytes += c->bytes;
			(*entries)++;
		}
	}
}

/* One metric with a sample for each direction. */
static void by_direction(struct evbuffer *b, const char *name, const char *type, const char *help,
			 const uint64_t v[2])
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n"
			       "%s{direction=\"to_peer\"} %llu\n%s{direction=\"to_client\"} %llu\n",
			    name, help, name, type, name, (unsigned long long)v[0], name,
			    (unsigned long long)v[1]);
}

void xdp_metrics(struct xdp *x, struct evbuffer *b)
{
	uint64_t packets[2], bytes[2], entries[2] = { 0, 0 };
	int ncpu = libbpf_num_possible_cpus();

	if (!x)
		return;
	for (int d = 0; d < 2; d++) {
		packets[d] = atomic_load(&x->gone_packets[d]);
		bytes[d] = atomic_load(&x->gone_bytes[d]);
	}
	sum_map(x->chans, sizeof(struct xdp_chan_key), sizeof(struct xdp_chan_val), &packets[0],
		&bytes[0], &entries[0]);
	sum_map(x->peers, sizeof(struct xdp_flow), sizeof(struct xdp_peer_val), &packets[1],
		&bytes[1], &entries[1]);
	evbuffer_add_printf(b, "# HELP tern_xdp_attached The XDP program on an interface, by mode.\n"
			       "# TYPE tern_xdp_attached gauge\n");
	for (int i = 0; i < x->n_links; i++)
		evbuffer_add_printf(b, "tern_xdp_attached{interface=\"%s\",mode=\"%s\"} 1\n",
				    x->link[i].name, x->link[i].mode);
	by_direction(b, "tern_xdp_packets_total", "counter",
		     "ChannelData relayed in XDP, by direction.", packets);
	by_direction(b, "tern_xdp_bytes_total", "counter",
		     "Payload bytes relayed in XDP, by direction.", bytes);
	by_direction(b, "tern_xdp_channels", "gauge",
		     "Entries in the XDP program's maps, by direction.", entries);
	evbuffer_add_printf(b, "# HELP tern_xdp_passed_total Datagrams XDP handed to userspace, "
			       "by reason.\n# TYPE tern_xdp_passed_total counter\n");
	for (__u32 r = 0; r < XP_COUNT; r++) {
		uint64_t per[ncpu > 0 ? ncpu : 1], sum = 0;

		if (ncpu > 0 && bpf_map_lookup_elem(x->passed, &r, per) == 0)
			for (int i = 0; i < ncpu; i++)
				sum += per[i];
		evbuffer_add_printf(b, "tern_xdp_passed_total{reason=\"%s\"} %llu\n", pass_names[r],
				    (unsigned long long)sum);
	}
}

/* What XDP relayed for channel c, by direction: the counters of the
 * entries xdp_channel() made for it (the same keys), 0 where there is none. */
void xdp_channel_counts(struct xdp *x, const struct stun_addr *server,
			const struct relay_channel *c, uint64_t packets[2], uint64_t bytes[2])
{
	struct xdp_chan_key k;
	struct xdp_chan_val v;
	struct xdp_flow pk;
	struct xdp_peer_val pv;

	packets[0] = packets[1] = bytes[0] = bytes[1] = 0;
	if (!x || !entries(server, c, &k, &v, &pk, &pv))
		return;
	if (bpf_map_lookup_elem(x->chans, &k, &v) == 0) {
		packets[0] = v.e.packets;
		bytes[0] = v.e.bytes;
	}
	if (bpf_map_lookup_elem(x->peers, &pk, &pv) == 0) {
		packets[1] = pv.e.packets;
		bytes[1] = pv.e.bytes;
	}
}

#else /* !HAVE_XDP */

struct xdp *xdp_open(const struct config *c)
{
	if (c->n_xdp_interface)
		log_err("xdp-interface: this ternd was built without XDP (configure found no "
			"libbpf or no clang BPF target); everything relays in userspace");
	return NULL;
}

void xdp_close(struct xdp *x)
{
}

void xdp_channel(struct xdp *x, const struct stun_addr *server, const struct relay_channel *c)
{
}

void xdp_metrics(struct xdp *x, struct evbuffer *b)
{
}

void xdp_channel_counts(struct xdp *x, const struct stun_addr *server,
			const struct relay_channel *c, uint64_t packets[2], uint64_t bytes[2])
{
	packets[0] = packets[1] = bytes[0] = bytes[1] = 0;
}

#endif
