#!/bin/bash
# WireGuard over WebSocket with the clients people run (issue 12):
# wireguard-go in a client namespace, its endpoint tern-wsproxy beside it,
# which speaks wss:// to ternd's TLS port (ternd with its defaults plus the
# responder in gateway mode; the certificate checked with --ca).
#
#   - tern-wsproxy says it is connected; a wrong CA is refused with the
#     reason, and --insecure connects
#   - handshake and 100 pings, iperf3, 16 MB each way checked by sha256;
#     wg show gives the WebSocket client's address as the endpoint, and the
#     datagrams are counted as via="websocket"
#   - the peer roams to direct UDP and back to WebSocket with no new
#     handshake
#   - ternd restarts: tern-wsproxy says why it lost the connection,
#     reconnects by itself, and the tunnel works again (after a new
#     handshake: the sessions were in ternd's memory)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
need iperf3
WSPROXY=${WSPROXY:-$(dirname "$TERND")/tern-wsproxy}
[ -x "$WSPROXY" ] || skip_all "tern-wsproxy not built ($WSPROXY)"

plan 22

wg_one_peer
check "a certificate for 192.168.1.1" eval 'CERT_SANS=IP:192.168.1.1 make_certs "$T/certs" &&
	make_certs "$T/other"' || exit 0

# proxy NAME ARGS...: tern-wsproxy in client 1 (pid in PX_NAME), output in $T/NAME.out
proxy() {
	local name=$1
	shift
	ip netns exec "$C1" "$WSPROXY" "$@" >"$T/$name.out" 2>&1 &
	eval "PX_$name=$!"
	_bg_pids+=($!)
}
# until_line FILE PATTERN: wait up to 10 s for a line of FILE to match
until_line() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$1"
	return 1
}
start() {
	wg_tern --listening-ip=192.168.1.1 --cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
		--wg-config="$T/srv.conf" --wg-tun="$TUN" --wg-address=10.77.0.1/24
}

check "namespaces: the server's and a client's" eval 'wg_server_ns && wg_client_ns 1' || exit 0
check "ternd starts with its defaults, TLS and the responder" start || exit 0
URL=wss://192.168.1.1:5349/wg

proxy wrong --listen 127.0.0.1:51830 --ca "$T/other/cert.pem" "$URL"
until_line "$T/wrong.out" "again in" >/dev/null
like "with the wrong CA: refused, and it says why" "$(head -n 1 "$T/wrong.out")" \
	"certificate: .*again in 0.25 s$"
proxy insecure --listen 127.0.0.1:51831 --insecure "$URL"
check "with --insecure: connected" until_line "$T/insecure.out" "^tern-wsproxy: connected to $URL"
proxy px --listen 127.0.0.1:51821 --ca "$T/certs/cert.pem" "$URL"
check "with --ca: connected, one line" until_line "$T/px.out" "^tern-wsproxy: connected to $URL$"
check "wireguard-go is up in client 1, its endpoint tern-wsproxy" \
	wg_go 1 "$IFC" one "$SP" 127.0.0.1:51821 10.77.0.0/24 10.77.0.2/24 || exit 0

is "100 pings over wss:// to the responder, none lost" \
	"$(wg_ping 1 -c 100 -i 0.01 -W 2 10.77.0.1)" "100 100"
like "wg show: the peer's endpoint is the WebSocket client's address" "$(wg_endpoint)" \
	"^192.168.1.2:"
ws_in=$(wg_via websocket in) ws_out=$(wg_via websocket out)
if [ "${ws_in:-0}" -ge 100 ] && [ "${ws_out:-0}" -ge 100 ]; then
	ok "every datagram came and went over WebSocket ($ws_in in, $ws_out out)"
else
	not_ok "every datagram came and went over WebSocket" "in=$ws_in out=$ws_out"
fi
wg_iperf "iperf3 over wss:// to the responder" "$C1" "$WG_S" 10.77.0.1
is "16 MB to the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$C1" "$WG_S" 10.77.0.1 16)" same
is "16 MB from the responder arrive whole and in order (sha256)" \
	"$(wg_bulk "$WG_S" "$C1" 10.77.0.2 16)" same

hs=$(wg_handshakes)
wg_set_endpoint 192.168.1.1:51820
is "the peer roams to direct UDP: 20 pings, none lost" \
	"$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
before=$(wg_via websocket in)
wg_set_endpoint 127.0.0.1:51821
is "and back to WebSocket: 20 pings, none lost" "$(wg_ping 1 -c 20 -i 0.05 -W 2 10.77.0.1)" "20 20"
after=$(wg_via websocket in)
if [ "$((after - before))" -ge 20 ] && [ "$(wg_via udp in)" -ge 20 ]; then
	ok "the datagrams took each way in turn (websocket +$((after - before)), udp $(wg_via udp in))"
else
	not_ok "the datagrams took each way in turn" "websocket $before -> $after, udp $(wg_via udp in)"
fi
is "no new handshake for either move" "$(wg_handshakes)" "$hs"

check "ternd stops" tern_stop
check "and starts again" start || exit 0
reconnected() {
	for _ in $(seq 100); do
		[ "$(grep -c '^tern-wsproxy: connected' "$T/px.out")" -ge 2 ] && return 0
		sleep 0.1
	done
	cat "$T/px.out"
	return 1
}
check "tern-wsproxy reconnects by itself" reconnected
like "having said why it lost the connection" "$(grep -m 1 'again in' "$T/px.out")" \
	"(connection closed|eof while reading); again in"
# wireguard-go would handshake again by itself once its session goes
# unanswered (about 15 s); a new peer entry makes it do so now
ip netns exec "$C1" wg set "$IFC" peer "$SP" remove
ip netns exec "$C1" wg set "$IFC" peer "$SP" endpoint 127.0.0.1:51821 allowed-ips 10.77.0.0/24
is "and the tunnel works again: 10 pings, none lost" \
	"$(wg_ping 1 -c 10 -i 0.05 -W 2 10.77.0.1)" "10 10"
