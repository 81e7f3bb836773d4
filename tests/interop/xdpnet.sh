# The topology of the XDP tests and benchmark (sourced; needs ip, ethtool):
# four network namespaces, client ($NS_C, 10.1.0.2 and fd00:1::2), relay
# ($NS_T, 10.2.0.2 and fd00:2::2 on t0) and peer ($NS_P, 10.3.0.2 and
# fd00:3::2), each on a veth to a router ($NS_R, 10.x.0.1 and fd00:x::1),
# so clients and peers both reach the relay over its one interface, as on
# a host with one NIC.
#
# xdpnet_up PREFIX [two]: make them (names PREFIX-c, -r, -t, -p); 0 or 1.
# With "two", a second peer ($NS_Q, 10.4.0.2 and fd00:4::2) is on a veth
# straight to the relay's second interface (t1, 10.4.0.1 and fd00:4::1),
# as on a host whose second NIC faces the peers.
# xdpnet_down: remove them.
#
# Datagrams a local socket sends over a veth carry a partial checksum; a
# NIC's carry a whole one, which is what XDP updates: the client's and
# peers' veths send with tx checksum offload off. They also receive with rx
# checksum offload off, so their kernels check every UDP checksum
# (InCsumErrors in their /proc/net/snmp and /proc/net/snmp6).
xdpnet_up() {
	local ns d n
	NS_C=$1-c NS_R=$1-r NS_T=$1-t NS_P=$1-p NS_Q=
	[ "${2:-}" = two ] && NS_Q=$1-q
	for ns in "$NS_C" "$NS_R" "$NS_T" "$NS_P" $NS_Q; do
		ip netns add "$ns" || return 1
		# no duplicate address detection: addresses usable at once
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0 || return 1
	done
	ip -n "$NS_R" link add rc type veth peer name c0 netns "$NS_C" &&
		ip -n "$NS_R" link add rt type veth peer name t0 netns "$NS_T" &&
		ip -n "$NS_R" link add rp type veth peer name p0 netns "$NS_P" || return 1
	for n in 1 2 3; do
		d=$(echo rc rt rp | cut -d' ' -f$n)
		ip -n "$NS_R" addr add 10.$n.0.1/24 dev $d &&
			ip -n "$NS_R" addr add fd00:$n::1/64 dev $d || return 1
	done
	if [ -n "$NS_Q" ]; then
		ip -n "$NS_T" link add t1 type veth peer name q0 netns "$NS_Q" &&
			ip -n "$NS_T" addr add 10.4.0.1/24 dev t1 &&
			ip -n "$NS_T" addr add fd00:4::1/64 dev t1 &&
			ip -n "$NS_Q" addr add 10.4.0.2/24 dev q0 &&
			ip -n "$NS_Q" addr add fd00:4::2/64 dev q0 || return 1
	fi
	for ns in "$NS_C" "$NS_R" "$NS_T" "$NS_P" $NS_Q; do
		ip -n "$ns" link set lo up || return 1
		for d in $(ip -n "$ns" -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
			ip -n "$ns" link set "$d" up || return 1
		done
	done
	_xdpnet_host "$NS_C" c0 1 && _xdpnet_host "$NS_T" t0 2 && _xdpnet_host "$NS_P" p0 3 ||
		return 1
	if [ -n "$NS_Q" ]; then
		ip -n "$NS_Q" route add default via 10.4.0.1 &&
			ip -n "$NS_Q" -6 route add default via fd00:4::1 || return 1
		ip netns exec "$NS_Q" ethtool -K q0 tx off rx off >/dev/null || return 1
	fi
	ip netns exec "$NS_R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		return 1
	ip netns exec "$NS_C" ethtool -K c0 tx off rx off >/dev/null &&
		ip netns exec "$NS_P" ethtool -K p0 tx off rx off >/dev/null
}

# _xdpnet_host NS DEV N: NS's end of its veth to the router, on subnet N,
# and its default routes through the router (once every link is up)
_xdpnet_host() {
	ip -n "$1" addr add 10.$3.0.2/24 dev "$2" && ip -n "$1" addr add fd00:$3::2/64 dev "$2" &&
		ip -n "$1" link set "$2" up && ip -n "$1" route add default via 10.$3.0.1 &&
		ip -n "$1" -6 route add default via fd00:$3::1
}

xdpnet_down() {
	local ns
	for ns in "${NS_C:-}" "${NS_R:-}" "${NS_T:-}" "${NS_P:-}" "${NS_Q:-}"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# xdpnet_pass_prog DIR NS DEV...: an XDP program that passes everything, on
# each DEV of NS, for native mode (a veth hands XDP_TX and redirected
# frames on only to a far end with a program of its own). Needs clang.
xdpnet_pass_prog() {
	local dir=$1 ns=$2 d
	shift 2
	cat >"$dir/pass.c" <<'PASS'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
PASS
	clang -O2 -target bpf -I/usr/include/"$(gcc -print-multiarch)" -c "$dir/pass.c" \
		-o "$dir/pass.o" || return 1
	for d in "$@"; do
		ip -n "$ns" link set dev "$d" xdpdrv obj "$dir/pass.o" sec xdp || return 1
	done
}

# xdpnet_csum_errors NS: UDP datagrams NS's kernel dropped for a bad
# checksum, over IPv4 and IPv6
xdpnet_csum_errors() {
	local v4 v6
	v4=$(ip netns exec "$1" awk '$1 == "Udp:" { if (!n++) { for (i = 2; i <= NF; i++) f[$i] = i }
		else print $f["InCsumErrors"] }' /proc/net/snmp)
	v6=$(ip netns exec "$1" awk '$1 == "Udp6InCsumErrors" { print $2 }' /proc/net/snmp6)
	echo $((v4 + ${v6:-0}))
}

# xdpnet_need: in a test (lib.sh), skip it all unless this can run: root,
# the tools, and a ternd built with XDP; and remove the namespaces at exit.
xdpnet_need() {
	need python3 turnutils_uclient turnutils_peer ethtool clang
	[ "$(id -u)" -eq 0 ] || skip_all "needs root for network namespaces"
	grep -q 'define HAVE_XDP 1' "$(dirname "$TERND")/autoconf.h" 2>/dev/null ||
		skip_all "ternd was built without XDP (no libbpf or clang BPF target at configure)"
	at_exit xdpnet_down
}

# xdpnet_in_relay COMMAND...: each COMMAND (a path, or a name on PATH) runs
# in the relay's namespace when called by its name (a wrapper first on
# PATH); ternd so for lib.sh's tern_start through $TERND.
xdpnet_in_relay() {
	local c
	mkdir -p "$T/ns-bin" || return 1
	for c in "$@"; do
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS_T" "$(command -v "$c")" \
			>"$T/ns-bin/${c##*/}" && chmod +x "$T/ns-bin/${c##*/}" || return 1
	done
	PATH=$T/ns-bin:$PATH
}

# xdpnet_ternd: lib.sh's tern_start runs ternd in the relay's namespace
xdpnet_ternd() {
	xdpnet_in_relay "$TERND" && TERND=$T/ns-bin/${TERND##*/}
}

# xdpnet_steer RELAY REST [FEED]: receive packet steering, so that what the
# relay's namespace does with a packet runs on CPU RELAY and everything
# else on CPU REST: t0 (and t1) hand their packets to RELAY, the router's,
# client's and peers' veths to REST. A veth's native XDP runs before
# steering, on the CPU that sent into it; with FEED=feed the router's rc
# and rp hand theirs to RELAY too, so the router's send into t0, and with
# it native XDP on t0, happens there.
xdpnet_steer() {
	local relay rest feed
	relay=$(printf %x $((1 << $1))) rest=$(printf %x $((1 << $2))) feed=$rest
	[ "${3:-}" = feed ] && feed=$relay
	_xdpnet_rps "$NS_T" "$relay" t0 $([ -n "$NS_Q" ] && echo t1) &&
		_xdpnet_rps "$NS_R" "$feed" rc rp && _xdpnet_rps "$NS_R" "$rest" rt &&
		_xdpnet_rps "$NS_C" "$rest" c0 && _xdpnet_rps "$NS_P" "$rest" p0 &&
		{ [ -z "$NS_Q" ] || _xdpnet_rps "$NS_Q" "$rest" q0; }
}

# _xdpnet_rps NS MASK DEV...: DEV's receive queue steered to CPU mask MASK
_xdpnet_rps() {
	local ns=$1 mask=$2 d
	shift 2
	for d in "$@"; do
		ip netns exec "$ns" sh -c "echo $mask >/sys/class/net/$d/queues/rx-0/rps_cpus" ||
			return 1
	done
}
