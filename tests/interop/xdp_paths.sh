#!/bin/bash
# ChannelData in XDP over IPv6, and between two interfaces (issue 14).
# The topology of xdp.sh (xdpnet.sh) with a second peer on the relay's
# second interface: clients and the first peer reach ternd through the
# router on t0; the second peer is on t1. ternd attaches to both.
# turnutils_uclient relays through a channel, IPv6 on one interface (the
# way back is XDP_TX), IPv4 and IPv6 from t0 to t1 and back
# (XDP_REDIRECT), first in generic mode, then native; each run is counted
# by XDP and every checksum it wrote is checked by the receiving kernel.
# An allocation relaying across families stays in userspace. Listeners on
# the wildcard addresses (the default) relay both ways in XDP too.
. "$(dirname "$0")/lib.sh"
. "$INTEROP_DIR/xdpnet.sh"
xdpnet_need

plan 21

check "five namespaces: client, router, relay, a peer behind the router, one on t1" \
	xdpnet_up "tp$$" two || exit 0

xdpnet_ternd
P=3478 PP=4000
for at in "$NS_P 10.3.0.2" "$NS_P fd00:3::2" "$NS_Q 10.4.0.2" "$NS_Q fd00:4::2"; do
	set -- $at
	ip netns exec "$1" turnutils_peer -L "$2" -p "$PP" >"$T/peer-$2.log" 2>&1 &
	_bg_pids+=($!)
done
ternd_xdp() {
	tern_start --listening-port="$P" --relay-ip=10.2.0.2 --relay-ip=fd00:2::2 --user=alice:secret --realm=tern.test \
		--allowed-peer-ip=10.3.0.2 --allowed-peer-ip=10.4.0.2 \
		--allowed-peer-ip=fd00:3::2 --allowed-peer-ip=fd00:4::2 \
		--xdp-interface=t0 --xdp-interface=t1 "$@"
}
check "ternd starts on both interfaces, generic mode" ternd_xdp --listening-ip=10.2.0.2 \
	--listening-ip=fd00:2::2 --xdp-mode=generic || exit 0
is "attached to both" \
	"$(grep -c "xdp-interface t[01]: ChannelData relayed in XDP (generic mode)" "$TERN_LOG")" 2

metric() {
	ip netns exec "$NS_T" "$PYTHON" "$INTEROP_DIR/stuntool.py" http \
		"http://$STATS/metrics" --body "$T/m" >/dev/null && tern_metric_in "$T/m" "$@"
}
# counts: XDP and userspace each way, and checksum errors at the client
# and both peers, as one line
counts() {
	echo "$(metric tern_xdp_packets_total direction=to_peer)" \
		"$(metric tern_xdp_packets_total direction=to_client)" \
		"$(metric tern_relayed_packets_total direction=to_peer)" \
		"$(metric tern_relayed_packets_total direction=to_client)" \
		"$(($(xdpnet_csum_errors "$NS_C") + $(xdpnet_csum_errors "$NS_P") + $(xdpnet_csum_errors "$NS_Q")))"
}
# run NAME N SERVER PEER FAMILY-FLAG: uclient relays N datagrams through a
# channel; prints sent, echoed, lost, then what XDP and userspace relayed
# meanwhile each way, and new checksum errors
run() {
	local before after out=$T/uc-$1
	before=($(counts))
	ip netns exec "$NS_C" turnutils_uclient -c -m 1 -n "$2" -l 100 -z 5 "$5" -g \
		-e "$4" -r "$PP" -u alice -w secret -p "$P" "$3" >"$out" 2>&1
	after=($(counts))
	echo "$(uclient_totals "$out")" \
		"$((after[0] - before[0])) $((after[1] - before[1]))" \
		"$((after[2] - before[2])) $((after[3] - before[3])) $((after[4] - before[4]))"
}
# XDP relays all N but the first few to the peer (until the peer's first
# echo shows the way to it), which userspace relays, and all N echoes; no
# checksum error anywhere: prints "N N 0 ok ok 0"
in_xdp() {
	local r
	r=($(run "$@"))
	echo "${r[0]} ${r[1]} ${r[2]}" \
		"$([ $((r[3] + r[5])) -eq "$2" ] && [ "${r[5]}" -le 5 ] && echo ok || echo "to_peer ${r[3]}+${r[5]}")" \
		"$([ "${r[4]}" -eq "$2" ] && [ "${r[6]}" -eq 0 ] && echo ok || echo "to_client ${r[4]}+${r[6]}")" \
		"${r[7]}"
}

is "IPv6, one interface (XDP_TX): 200 echoed, relayed by XDP, no bad checksum" \
	"$(in_xdp v6tx 200 fd00:2::2 fd00:3::2 -x)" "200 200 0 ok ok 0"
is "IPv4, t0 to t1 and back (XDP_REDIRECT)" \
	"$(in_xdp v4redir 200 10.2.0.2 10.4.0.2 -X)" "200 200 0 ok ok 0"
is "IPv6, t0 to t1 and back (XDP_REDIRECT)" \
	"$(in_xdp v6redir 200 fd00:2::2 fd00:4::2 -x)" "200 200 0 ok ok 0"
# an IPv4 client with an IPv6 relay address: each datagram changes family,
# which the program leaves to userspace
is "across families (IPv4 client, IPv6 peer): all echoed, all by userspace" \
	"$(run cross 50 10.2.0.2 fd00:3::2 -x)" "50 50 0 0 0 50 50 0"
xdp_on() { ip -n "$NS_T" link show "$1" | grep -c xdp; }
check "ternd stops cleanly" tern_stop
is "and the program left both interfaces" "$(xdp_on t0) $(xdp_on t1)" "0 0"

# native mode: the far ends of both veths get an XDP_PASS program, as a
# veth passes XDP_TX and redirected frames only to a far end with one
check "XDP_PASS programs on the far ends of t0 and t1" \
	eval 'xdpnet_pass_prog "$T" "$NS_R" rt && xdpnet_pass_prog "$T" "$NS_Q" q0' || exit 0
check "ternd starts on both, native mode" ternd_xdp --listening-ip=10.2.0.2 \
	--listening-ip=fd00:2::2 --xdp-mode=native || exit 0
like "attached natively to both" "$(ip -n "$NS_T" -o link show t0) $(ip -n "$NS_T" -o link show t1)" \
	"xdp .*xdp "
is "native, IPv4, t0 to t1 and back" \
	"$(in_xdp nv4redir 200 10.2.0.2 10.4.0.2 -X)" "200 200 0 ok ok 0"
is "native, IPv6, t0 to t1 and back" \
	"$(in_xdp nv6redir 200 fd00:2::2 fd00:4::2 -x)" "200 200 0 ok ok 0"
is "native, IPv6, one interface" \
	"$(in_xdp nv6tx 200 fd00:2::2 fd00:3::2 -x)" "200 200 0 ok ok 0"
check "ternd stops cleanly again" tern_stop

# the default listeners, on the wildcard addresses: the program learns
# which address a client reached from its ChannelData, and answers from it
check "ternd starts with the default listeners (0.0.0.0 and ::) and xdp-mode" \
	ternd_xdp || exit 0
is "xdp-mode auto took native mode on both" \
	"$(grep -c "xdp-interface t[01]: ChannelData relayed in XDP (native mode)" "$TERN_LOG")" 2
is "wildcard listener, IPv4, t0 to t1 and back" \
	"$(in_xdp wv4redir 200 10.2.0.2 10.4.0.2 -X)" "200 200 0 ok ok 0"
is "wildcard listener, IPv6, one interface" \
	"$(in_xdp wv6tx 200 fd00:2::2 fd00:3::2 -x)" "200 200 0 ok ok 0"
check "ternd stops cleanly a third time" tern_stop
