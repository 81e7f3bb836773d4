#!/bin/bash
# ChannelData relayed in XDP (issue 14, first part: IPv4, both directions).
# Four network namespaces the test makes: a client, a peer and the relay,
# each on a veth to a router namespace between them, so clients and peers
# both reach ternd over its one interface (t0), as on a host with one NIC.
# ternd attaches xdp/relay.bpf.c to t0 (generic mode: veth's native mode
# needs a program on the far end too). coturn's turnutils_uclient relays
# through a channel to turnutils_peer: every echo comes back, and the
# datagrams both ways are counted by XDP and not by the userspace relay;
# STUN still works; datagrams in fragments go up and are relayed whole by
# userspace; when
# uclient deletes its allocation the channel leaves the map; a ternd
# killed with SIGKILL leaves no program on the interface; and one in
# native mode, running as nobody with no capability left, does the same.
. "$(dirname "$0")/lib.sh"
. "$INTEROP_DIR/xdpnet.sh"
need python3 turnutils_uclient turnutils_peer ethtool clang
xdpnet_need

plan 21

at_exit xdpnet_down
check "four namespaces: client, router, relay, peer" xdpnet_up "tx$$" || exit 0
xdpnet_ternd
P=3478 PP=4000
ip netns exec "$NS_P" turnutils_peer -L 10.3.0.2 -p "$PP" >"$T/peer.log" 2>&1 &
_bg_pids+=($!)
check "ternd starts with xdp-interface=t0, xdp-mode=generic" \
	tern_start --listening-ip=10.2.0.2 --listening-port="$P" --relay-ip=10.2.0.2 \
	--user=alice:secret --realm=tern.test --allowed-peer-ip=10.3.0.2 \
	--xdp-interface=t0 --xdp-mode=generic || exit 0
like "it says the program is attached" "$(cat "$TERN_LOG")" \
	"xdp-interface t0: ChannelData relayed in XDP \(generic mode\)"
like "and the interface shows it" "$(ip -n "$NS_T" link show t0)" "xdpgeneric"

metrics() { ip netns exec "$NS_T" "$PYTHON" "$INTEROP_DIR/stuntool.py" http \
	"http://$STATS/metrics" --body "$T/m" >/dev/null; }
metric() { tern_metric_in "$T/m" "$@"; }

ip netns exec "$NS_C" turnutils_uclient -c -m 1 -n 200 -l 100 -z 5 -X -g \
	-e 10.3.0.2 -r "$PP" -u alice -w secret -p "$P" 10.2.0.2 >"$T/uc" 2>&1
is "uclient through a channel: 200 sent, 200 echoed, none lost" \
	"$(uclient_totals "$T/uc")" "200 200 0"
metrics
is "XDP relayed the 200 client-to-peer datagrams and the 200 echoes back" \
	"$(metric tern_xdp_packets_total direction=to_peer) $(metric tern_xdp_packets_total direction=to_client)" \
	"200 200"
is "the userspace relay none of them" \
	"$(metric tern_relayed_packets_total direction=to_peer) $(metric tern_relayed_packets_total direction=to_client)" \
	"0 0"
is "no checksum XDP wrote was wrong: the client and the peer dropped none" \
	"$(xdpnet_csum_errors "$NS_C") $(xdpnet_csum_errors "$NS_P")" "0 0"
# which they would have: a datagram with a broken checksum, client to peer
ip netns exec "$NS_C" "$PYTHON" - <<'EOF'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack("!HHHH", 40000, 9999, 12, 0x1234) + b"oops", ("10.3.0.2", 0))
EOF
is "(a datagram with a wrong checksum is counted there)" "$(wait_for 2 1 xdpnet_csum_errors "$NS_P")" 1
is "uclient deleted its allocation: nothing left in the maps" \
	"$(metric tern_xdp_channels direction=to_peer) $(metric tern_xdp_channels direction=to_client)" "0 0"
like "STUN went up to userspace (counted as not ChannelData)" \
	"$(metric tern_xdp_passed_total reason=not_channeldata)" "^[1-9]"

# datagrams bigger than the path's MTU arrive in fragments: XDP passes
# them up, and userspace relays them whole
before=$(metric tern_relayed_packets_total direction=to_peer)
ip netns exec "$NS_C" turnutils_uclient -c -m 1 -n 20 -l 3000 -z 20 -X \
	-e 10.3.0.2 -r "$PP" -u alice -w secret -p "$P" 10.2.0.2 >"$T/ucf" 2>&1
metrics
is "20 datagrams of 3000 bytes, in fragments: all echoed" "$(uclient_totals "$T/ucf")" \
	"20 20 0"
like "XDP passed their fragments up" "$(metric tern_xdp_passed_total reason=fragment)" \
	'^([4-9][0-9]|[1-9][0-9][0-9]+)$'
is "and userspace relayed them, both ways" \
	"$(($(metric tern_relayed_packets_total direction=to_peer) - before)) $(metric tern_relayed_packets_total direction=to_client)" \
	"20 20"

kill -KILL "$TERN_PID"
wait "$TERN_PID" 2>/dev/null
xdp_on() { ip -n "$NS_T" link show t0 | grep -c xdp; }
is "SIGKILL: the program left the interface with ternd" "$(xdp_on)" 0

# native mode, as the systemd unit runs it (no capability left once
# started); a veth passes XDP_TX frames on only to a far end with a
# program of its own, so the router's end gets one that passes everything
check "an XDP_PASS program on the router's end of the relay's veth" \
	xdpnet_pass_prog "$T" || exit 0
check "ternd starts again in native mode, with proc-user=nobody" \
	tern_start --listening-ip=10.2.0.2 --listening-port="$P" --relay-ip=10.2.0.2 \
	--user=alice:secret --realm=tern.test --allowed-peer-ip=10.3.0.2 \
	--xdp-interface=t0 --xdp-mode=native --proc-user=nobody || exit 0
like "attached natively" "$(ip -n "$NS_T" link show t0)" "xdp "
ip netns exec "$NS_C" turnutils_uclient -c -m 1 -n 50 -l 100 -z 5 -X -g \
	-e 10.3.0.2 -r "$PP" -u alice -w secret -p "$P" 10.2.0.2 >"$T/uc2" 2>&1
metrics
is "natively and without privileges: XDP relayed all 50 each way, none lost" \
	"$(metric tern_xdp_packets_total direction=to_peer) $(metric tern_xdp_packets_total direction=to_client) $(uclient_totals "$T/uc2")" \
	"50 50 50 50 0"
check "ternd stops cleanly" tern_stop
is "and the program left with it" "$(xdp_on)" 0
