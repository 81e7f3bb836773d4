#!/bin/bash
# The WireGuard responder (issue 10) against Debian's wireguard-go and wg, in
# network namespaces of its own: ternd in gateway mode (its TUN device with
# 10.77.0.1/24) and clients on veth pairs.
#
#   - wireguard-go: handshake, 100 pings with no loss, iperf3 through the
#     tunnel, 64 MB each way over TCP checked by sha256 (the TUN writes
#     join segments: tern_wg_tun_writes_total against _segments_); `wg show` against ternd lists the peers, endpoints, latest
#     handshakes and transfer
#   - a Python initiator from the protocol (wgtool.py): an unknown key and
#     a replayed initiation get no answer; re-handshakes every 2 s during a
#     ping stream, a packet under the previous session after each: no loss,
#     and the ninth session retires the oldest
#   - `wg set` adds a peer live, which then connects, and removes it
#   - SIGHUP applies a changed wg-config and leaves the running session be
#   - cookies forced on (wg-cookie-threshold=0): wireguard-go still connects
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
need iperf3
"$WGPY" -c 'import nacl' 2>/dev/null || skip_all "python3-nacl not installed"

plan 29

TUN=tn$WG_ID
SP=$(wg_keys server)
P1=$(wg_keys one)
PY=$(wg_keys py)
P3=$(wg_keys three)
P4=$(wg_keys four)
write_conf() { # the server's file, with $1 more lines
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$(cat "$T/server.key")"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.2/32\n' "$P1"
		printf '[Peer]\n# the Python initiator\nPublicKey = %s\nAllowedIPs = 10.77.0.50/32\n' "$PY"
		printf '%b' "${1:-}"
	} >"$T/srv.conf"
}
write_conf

check "namespaces: the server's and two clients'" \
	eval 'wg_server_ns && wg_client_ns 1 && wg_client_ns 2' || exit 0
check "ternd starts with wg-config, wg-tun and wg-address, and no TURN" \
	wg_tern --no-udp --no-tcp --wg-config="$T/srv.conf" --wg-tun="$TUN" \
	--wg-address=10.77.0.1/24 || exit 0
check "wireguard-go is up in client 1, ternd as its peer" \
	wg_go 1 "wa$WG_ID" one "$SP" 192.168.1.1:51820 10.77.0.0/24 10.77.0.2/24 || exit 0

is "100 pings through the tunnel, none lost" "$(wg_ping 1 -c 100 -i 0.01 -W 2 10.77.0.1)" "100 100"
show=$(ip netns exec "$WG_S" wg show "$TUN" dump 2>&1)
line=$(grep "^$P1" <<<"$show")
# dump: public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive
set -- $line
if [ "${3:-}" != "${3#192.168.1.2:}" ] && [ "${4:-}" = 10.77.0.2/32 ] && [ "${5:-0}" -gt 0 ] &&
	[ "${6:-0}" -gt 0 ] && [ "${7:-0}" -gt 0 ]; then
	ok "wg show: the peer's endpoint, allowed IPs, latest handshake and transfer"
else
	not_ok "wg show: the peer's endpoint, allowed IPs, latest handshake and transfer" "$show"
fi
is "wg show: the interface's public key and port" \
	"$(head -n 1 <<<"$show" | cut -f 2,3)" "$SP	51820"

wg_iperf "iperf3 through the tunnel" "$(wg_ns 1)" "$WG_S" 10.77.0.1
is "64 MB to the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$(wg_ns 1)" "$WG_S" 10.77.0.1 64)" same
is "64 MB from the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$WG_S" "$(wg_ns 1)" 10.77.0.2 64)" same
writes=$(wg_metric tern_wg_tun_writes_total) segs=$(wg_metric tern_wg_tun_segments_total)
if [ "${writes:-0}" -gt 0 ] && [ "${segs:-0}" -gt $((2 * writes)) ] &&
	[ "$(wg_metric tern_wg_dropped_total reason=tun_error)" = 0 ]; then
	ok "TUN writes carry several TCP segments each ($segs in $writes), none refused"
else
	not_ok "TUN writes carry several TCP segments each" "writes=$writes segments=$segs"
fi

ip netns exec "$WG_S" timeout 10 "$PYTHON" "$INTEROP_DIR/stuntool.py" http "http://$STATS/stats" \
	--body "$T/stats.json" >/dev/null
is "/stats: the responder's peers and sessions" \
	"$("$PYTHON" -c 'import json,sys; w=json.load(open(sys.argv[1]))["wireguard"]; print(w["port"], w["peers"], w["sessions"], w["responses"] >= 1)' "$T/stats.json" 2>&1)" \
	"51820 2 1 True"

PYARGS=(--server 192.168.2.1 --port 51820 --server-key "$SP" --private "$(cat "$T/py.key")")
is "an unknown key gets no answer" \
	"$(wgtool 2 unknown "${PYARGS[@]}" --timeout 2)" "answer=none"
is "and is counted" "$(wg_metric tern_wg_dropped_total reason=unknown_peer)" "1"
is "a replayed initiation gets no answer" "$(wgtool 2 replay "${PYARGS[@]}" --timeout 2)" \
	"first=response again=none"
is "and is counted" "$(wg_metric tern_wg_dropped_total reason=timestamp)" "1"

out=$(wgtool 2 rollover "${PYARGS[@]}" --src 10.77.0.50 --dst 10.77.0.1 --seconds 20 --every 2)
diag <<<"$out"
set -- $(sed 's/[a-z_]*=//g' <<<"$out") # handshakes sent answered oldest_answered
if [ "${1:-0}" -ge 9 ] && [ "${2:-0}" -gt 100 ] && [ "${2:-0}" = "${3:-}" ]; then
	ok "a re-handshake every 2 s, pings sent under the previous session after each: none lost ($3/$2, $1 handshakes)"
else
	not_ok "a re-handshake every 2 s: none lost" "$out"
fi
is "the ninth session retired the oldest: a packet under it is not answered" "${4:-}" "0"
is "tern_wg_sessions: eight for that peer, one for wireguard-go's" \
	"$(wg_metric tern_wg_sessions)" "9"

check "wg set adds a peer live" \
	ip netns exec "$WG_S" wg set "$TUN" peer "$P3" allowed-ips 10.77.0.3/32
check "wireguard-go in client 2 with that key" \
	wg_go 2 "wb$WG_ID" three "$SP" 192.168.2.1:51820 10.77.0.0/24 10.77.0.3/24
is "the new peer's pings get through" "$(wg_ping 2 -c 3 -i 0.2 -W 3 10.77.0.1)" "3 3"
check "wg set removes it" ip netns exec "$WG_S" wg set "$TUN" peer "$P3" remove
is "and its pings stop" "$(wg_ping 2 -c 2 -i 0.2 -W 1 10.77.0.1)" "2 0"
check "wg set adds it again" \
	ip netns exec "$WG_S" wg set "$TUN" peer "$P3" allowed-ips 10.77.0.3/32

before=$(wg_metric tern_wg_handshakes_total kind=response)
write_conf "[Peer]\nPublicKey = $P4\nAllowedIPs = 10.77.0.4/32\n"
kill -HUP "$TERN_PID"
for _ in $(seq 30); do
	ip netns exec "$WG_S" wg show "$TUN" peers | grep -q "$P4" && break
	sleep 0.1
done
is "SIGHUP: wg-config's new peer is there; wg set's is gone (the file is the truth)" \
	"$(ip netns exec "$WG_S" wg show "$TUN" peers | grep -c -e "$P4" -e "$P3")" "1"
is "and client 1's session carried on: pings, and no new handshake" \
	"$(wg_ping 1 -c 5 -i 0.05 -W 2 10.77.0.1) $(wg_metric tern_wg_handshakes_total kind=response)" \
	"5 5 $before"

check "ternd stops on SIGTERM" tern_stop
# a fresh wireguard-go (its first handshake is now), against cookies forced on
ip netns exec "$(wg_ns 1)" ip link del "wa$WG_ID" 2>/dev/null
check "ternd starts with wg-cookie-threshold=0: every handshake needs a cookie" \
	wg_tern --no-udp --no-tcp --wg-config="$T/srv.conf" --wg-tun="$TUN" \
	--wg-address=10.77.0.1/24 --wg-cookie-threshold=0 || exit 0
wg_go 1 "wc$WG_ID" one "$SP" 192.168.1.1:51820 10.77.0.0/24 10.77.0.2/24 >/dev/null 2>&1
got=$(wg_ping 1 -c 1 -W 15 10.77.0.1)
is "wireguard-go connects through a cookie reply (ping, replies sent: $(wg_metric tern_wg_handshakes_total kind=cookie_reply))" \
	"$got $( [ "$(wg_metric tern_wg_handshakes_total kind=cookie_reply)" -ge 1 ] && echo yes)" "1 1 yes"
