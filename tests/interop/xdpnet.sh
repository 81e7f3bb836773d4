# The topology of the XDP test and benchmark (sourced; needs ip, ethtool):
# four network namespaces, client ($NS_C, 10.1.0.2), relay ($NS_T,
# 10.2.0.2 on t0) and peer ($NS_P, 10.3.0.2), each on a veth to a router
# ($NS_R, 10.x.0.1), so clients and peers both reach the relay over its
# one interface, as on a host with one NIC.
#
# xdpnet_up PREFIX: make them (names PREFIX-c, -r, -t, -p); 0 or 1.
# xdpnet_down: remove them.
#
# Datagrams a local socket sends over a veth carry a partial checksum; a
# NIC's carry a whole one, which is what XDP updates: the client's and
# peer's veths send with tx checksum offload off. They also receive with rx
# checksum offload off, so their kernels check every UDP checksum
# (InCsumErrors in their /proc/net/snmp).

# For the interop tests (after lib.sh):
# xdpnet_need: skip the whole test unless root, with a ternd built with XDP.
# xdpnet_ternd: after xdpnet_up, TERND runs ternd in the relay's namespace.
xdpnet_need() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
	grep -q 'define HAVE_XDP 1' "$(dirname "$TERND")/autoconf.h" 2>/dev/null ||
		skip_all "ternd was built without XDP (no libbpf or clang BPF target at configure)"
}

xdpnet_ternd() {
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS_T" "$TERND" >"$T/ternd-ns"
	chmod +x "$T/ternd-ns"
	TERND=$T/ternd-ns
}

xdpnet_up() {
	local ns d
	NS_C=$1-c NS_R=$1-r NS_T=$1-t NS_P=$1-p
	for ns in "$NS_C" "$NS_R" "$NS_T" "$NS_P"; do ip netns add "$ns" || return 1; done
	ip -n "$NS_R" link add rc type veth peer name c0 netns "$NS_C" &&
		ip -n "$NS_R" link add rt type veth peer name t0 netns "$NS_T" &&
		ip -n "$NS_R" link add rp type veth peer name p0 netns "$NS_P" || return 1
	ip -n "$NS_R" addr add 10.1.0.1/24 dev rc && ip -n "$NS_R" addr add 10.2.0.1/24 dev rt &&
		ip -n "$NS_R" addr add 10.3.0.1/24 dev rp || return 1
	ip -n "$NS_C" addr add 10.1.0.2/24 dev c0 && ip -n "$NS_T" addr add 10.2.0.2/24 dev t0 &&
		ip -n "$NS_P" addr add 10.3.0.2/24 dev p0 || return 1
	for ns in "$NS_C" "$NS_R" "$NS_T" "$NS_P"; do
		ip -n "$ns" link set lo up || return 1
		for d in $(ip -n "$ns" -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
			ip -n "$ns" link set "$d" up || return 1
		done
	done
	ip -n "$NS_C" route add default via 10.1.0.1 && ip -n "$NS_T" route add default via 10.2.0.1 &&
		ip -n "$NS_P" route add default via 10.3.0.1 || return 1
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip netns exec "$NS_C" ethtool -K c0 tx off rx off >/dev/null &&
		ip netns exec "$NS_P" ethtool -K p0 tx off rx off >/dev/null
}

xdpnet_down() {
	local ns
	for ns in "${NS_C:-}" "${NS_R:-}" "${NS_T:-}" "${NS_P:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# xdpnet_pass_prog DIR: an XDP program that passes everything, on the
# router's end of the relay's veth, for native mode (a veth hands XDP_TX
# frames on only to a far end with a program of its own). Needs clang.
xdpnet_pass_prog() {
	cat >"$1/pass.c" <<'PASS'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
PASS
	clang -O2 -target bpf -I/usr/include/"$(gcc -print-multiarch)" -c "$1/pass.c" -o "$1/pass.o" &&
		ip -n "$NS_R" link set dev rt xdpdrv obj "$1/pass.o" sec xdp
}

# xdpnet_csum_errors NS: UDP datagrams NS's kernel dropped for a bad checksum
xdpnet_csum_errors() {
	ip netns exec "$1" awk '$1 == "Udp:" { if (!n++) { for (i = 2; i <= NF; i++) f[$i] = i }
		else print $f["InCsumErrors"] }' /proc/net/snmp
}
