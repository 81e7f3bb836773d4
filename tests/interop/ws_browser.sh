#!/bin/bash
# A browser as the WebSocket client (issue 12): headless Chromium opens
# new WebSocket('wss://127.0.0.1:PORT/turn', 'turn') from a page, sends a
# STUN Binding request as one binary message, and gets a success whose
# XOR-MAPPED-ADDRESS is its own address (the connection's local end, read
# with ss while the page holds it open). ternd runs with its defaults plus
# a certificate; then with a ws-allowed-origin list the page's file://
# origin is not in, so its upgrade is refused.
. "$(dirname "$0")/lib.sh"
need ss
need_browser

plan 8

check "self-signed certificate made" make_certs "$T/certs" || exit 0
P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with its defaults and a certificate" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" || exit 0

browser() {
	timeout 60 node "$WEBRTC/driver.js" --ws "$1" --timeout 10000 --chromium "$CHROMIUM" \
		--profile "$T/profile.$2" >"$T/browser.$2" 2>&1
}
# the local ends of the connections to port Q while the page holds one open
watch_ss() {
	: >"$T/ss"
	for _ in $(seq 150); do
		ss -tnH state established "( dport = :$Q )" | awk '{ print $3 }' >>"$T/ss"
		sleep 0.1
	done
}
watch_ss &
watcher=$!
browser "wss://127.0.0.1:$Q/turn" 1
kill "$watcher" 2>/dev/null
wait "$watcher" 2>/dev/null
out=$(cat "$T/browser.1")
is "the page's Binding over wss:// is answered with a success, subprotocol turn" \
	"$(kv type "$out") $(kv protocol "$out")" "101 turn"
mapped=$(kv mapped "$out")
like "XOR-MAPPED-ADDRESS is on 127.0.0.1" "$mapped" "^127\.0\.0\.1:[0-9]+$"
if [ -n "$mapped" ] && grep -qx "$mapped" "$T/ss"; then
	ok "and it is the browser's end of the connection ($mapped)"
else
	not_ok "and it is the browser's end of the connection" "mapped=$mapped ss: $(sort -u "$T/ss" | tr '\n' ' ') $out"
fi
check "ternd stops cleanly" tern_stop

check "ternd starts with ws-allowed-origin=https://app.example" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
	--ws-allowed-origin=https://app.example || exit 0
browser "wss://127.0.0.1:$Q/turn" 2
like "a page from another origin is refused (403, counted)" \
	"$(tern_metric tern_websocket_refused_total reason=origin) $(kv error "$(cat "$T/browser.2")")" \
	"^1 .*(WebSocket error|closed: 1006)"
