#!/bin/bash
# WireGuard through a TURN allocation on the same node (issue 11, item 6).
# ternd runs with its defaults plus a user and the responder (gateway mode);
# in the client's namespace, wireguard-go's endpoint is turnfwd
# (tests/tools/turnfwd.c), which carries its datagrams through an
# allocation, over a channel bound to the node's own WireGuard port.
#
#   - the channel to 192.168.1.1:51820 is granted; one to another port of
#     the node's own address is refused (403)
#   - handshake and 100 pings, iperf3, 16 MB each way checked by sha256;
#     wg show gives the TURN client's address as the endpoint; every
#     datagram was handed over in the process (tern_wg_datagrams_total
#     via="turn"), none reached the responder's UDP socket
#   - the peer switches to direct UDP and back with no new handshake, then
#     to a second forwarder that uses Send and Data indications
#   - the allocation deleted: the responder's packets for that endpoint are
#     dropped as no_allocation, and ternd keeps running
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
need iperf3
TURNFWD=${TURNFWD:-$(dirname "$TERND")/tests/tools/turnfwd}
[ -x "$TURNFWD" ] || skip_all "turnfwd not built ($TURNFWD)"

plan 25

wg_one_peer

# fwd NAME ARGS...: turnfwd in client 1 as alice (its pid in FWD_NAME);
# waits for its first line, in $T/NAME.out
fwd() {
	local name=$1
	shift
	ip netns exec "$C1" "$TURNFWD" --server 192.168.1.1:3478 --user alice --password secret \
		"$@" >"$T/$name.out" 2>&1 &
	eval "FWD_$name=$!"
	_bg_pids+=($!)
	for _ in $(seq 50); do
		[ -s "$T/$name.out" ] && break
		sleep 0.1
	done
}
first() { head -n 1 "$T/$1.out"; }

check "namespaces: the server's and a client's" eval 'wg_server_ns && wg_client_ns 1' || exit 0
check "ternd starts with its defaults, a user and the responder" \
	wg_tern --user=alice:secret --wg-config="$T/srv.conf" --wg-tun="$TUN" \
	--wg-address=10.77.0.1/24 || exit 0
like "ternd says the responder is reachable through allocations" \
	"$(grep -o 'reachable through TURN.*' "$TERN_LOG")" "port 51820"

fwd refused --peer 192.168.1.1:3478 --listen 127.0.0.1:51830
is "a channel to another port of the node's own address is refused" \
	"$(first refused)" "error: channel bind: error 403"
fwd chan --peer 192.168.1.1:51820 --listen 127.0.0.1:51821
like "a channel to the node's own WireGuard port is granted" "$(first chan)" \
	"^relayed=192.168.1.1:"
check "wireguard-go is up in client 1, its endpoint the forwarder" \
	wg_go 1 "$IFC" one "$SP" 127.0.0.1:51821 10.77.0.0/24 10.77.0.2/24 || exit 0

is "100 pings through TURN to the responder, none lost" \
	"$(wg_ping 1 -c 100 -i 0.01 -W 2 10.77.0.1)" "100 100"
like "wg show: the peer's endpoint is the TURN client's address" "$(wg_endpoint)" "^192.168.1.2:"
turn_in=$(wg_via turn in) turn_out=$(wg_via turn out)
if [ "${turn_in:-0}" -ge 100 ] && [ "${turn_out:-0}" -ge 100 ]; then
	ok "every datagram handed over in the process ($turn_in in, $turn_out out)"
else
	not_ok "every datagram handed over in the process" "in=$turn_in out=$turn_out"
fi
is "none reached the responder's UDP socket (no relay socket carried them)" "$(wg_via udp in)" 0

wg_iperf "iperf3 through TURN to the responder" "$C1" "$WG_S" 10.77.0.1
is "16 MB to the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$C1" "$WG_S" 10.77.0.1 16)" same
is "16 MB from the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$WG_S" "$C1" 10.77.0.2 16)" same
is "still no datagram on the responder's UDP socket" "$(wg_via udp in)" 0

# roaming: the latest authenticated packet decides, with no new handshake
hs=$(wg_handshakes)
wg_set_endpoint 192.168.1.1:51820
is "the peer switches to direct UDP: 20 pings, none lost" \
	"$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
like "wg show: the endpoint is now wireguard-go's own address" "$(wg_endpoint)" "^192.168.1.2:"
before=$(wg_via turn in)
wg_set_endpoint 127.0.0.1:51821
is "and back through TURN: 20 pings, none lost" "$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
after=$(wg_via turn in)
if [ "$((after - before))" -ge 20 ] && [ "$(wg_via udp in)" -gt 0 ]; then
	ok "the datagrams took each way in turn (turn +$((after - before)), udp $(wg_via udp in))"
else
	not_ok "the datagrams took each way in turn" "turn $before -> $after, udp $(wg_via udp in)"
fi
fwd send --peer 192.168.1.1:51820 --listen 127.0.0.1:51822 --send
like "a second forwarder, with Send and Data indications, is granted a permission" \
	"$(first send)" "^relayed=192.168.1.1:"
wg_set_endpoint 127.0.0.1:51822
is "through Send and Data indications: 20 pings, none lost" \
	"$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
is "no new handshake for any of the moves" "$(wg_handshakes)" "$hs"

# the allocation gone: what the responder sends that way is dropped, counted
kill -TERM "$FWD_send" 2>/dev/null
wait "$FWD_send" 2>/dev/null
like "the forwarder deletes its allocation on SIGTERM" "$(tail -n 1 "$T/send.out")" "^up=[1-9]"
sleep 0.3
ip netns exec "$WG_S" ping -q -c 3 -i 0.1 -W 1 10.77.0.2 >/dev/null 2>&1
lost=$(wg_metric tern_wg_turn_dropped_total reason=no_allocation)
if [ "${lost:-0}" -ge 1 ]; then
	ok "the responder's packets for a deleted allocation are dropped ($lost, no_allocation)"
else
	not_ok "the responder's packets for a deleted allocation are dropped" "no_allocation=$lost"
fi
wg_set_endpoint 127.0.0.1:51821
is "the peer comes back through the first allocation: 20 pings, none lost" \
	"$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
check "ternd is still running" kill -0 "$TERN_PID"
