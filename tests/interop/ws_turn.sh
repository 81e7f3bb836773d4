#!/bin/bash
# TURN over WebSocket (issue 12) on the TCP and TLS ports ternd already
# has, with its defaults: a full allocation, permission, Send indication,
# channel and relayed echo through ws:// and wss:// (python3-websockets); a
# STUN Binding whose XOR-MAPPED-ADDRESS is the client's own address; TURN
# over TLS (coturn's turnutils_uclient -S) and wss:// on one port at once.
# Bad input, each answered or closed at once and counted: a plain GET, a
# POST, garbage, an oversized head, an unknown path, /wg with no responder,
# a text message, a continuation with no start, a message over
# ws-max-message; fragments with a ping between are joined. Then the
# limits, on a second ternd with a short ws-ping-interval, a path prefix
# and an origin list: 2,000 upgraded and silent connections from one
# source (the per-source cap refuses half, ping timeout closes the rest)
# while a well-behaved client is served; a client that never reads its
# replies is closed; no-websocket turns it all off.
. "$(dirname "$0")/lib.sh"
need turnutils_uclient turnutils_peer
WSPY=/usr/bin/python3
"$WSPY" -c 'import websockets' 2>/dev/null || skip_all "python3-websockets not installed"

plan 38

ws() { timeout 60 "$WSPY" "$INTEROP_DIR/wsclient.py" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
check "self-signed certificate made" make_certs "$T/certs" || exit 0
P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes on 127.0.0.1" peer_start "$PP" 127.0.0.1 || exit 0
check "ternd starts with its defaults, TCP and TLS" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" --no-dtls --relay-ip=127.0.0.1 \
	--user=alice:secret --realm=tern.test --allow-loopback-peers || exit 0
TURN=(--user alice --password secret --n 200)

out=$(ws turn "ws://127.0.0.1:$P/turn" "${TURN[@]}")
relayed=$(sed -n 's/.*relayed=\([^ ]*\).*/\1/p' <<<"$out")
is "ws:// /turn: allocate, permission, Send and Data indications, channel, 200 echoes" \
	"$out" "subprotocol=turn allocate=ok relayed=$relayed permission=ok peer_saw=$relayed peer_got=by-send data_indication=back-by-send channel=ok echoed=200/200"
out=$(ws turn "wss://127.0.0.1:$Q/turn" "${TURN[@]}")
relayed=$(sed -n 's/.*relayed=\([^ ]*\).*/\1/p' <<<"$out")
is "wss:// /turn: the same over TLS" \
	"$out" "subprotocol=turn allocate=ok relayed=$relayed permission=ok peer_saw=$relayed peer_got=by-send data_indication=back-by-send channel=ok echoed=200/200"
out=$(ws binding "wss://127.0.0.1:$Q/turn")
is "a Binding over wss://: XOR-MAPPED-ADDRESS is the client's own address, no subprotocol asked" \
	"$(sed -n 's/.*mapped=\([^ ]*\) local=\([^ ]*\).*/\1 \2/p' <<<"$out" | awk '{ print ($1 == $2) }') $(kv subprotocol "$(tr ' ' '\n' <<<"$out")")" "1 None"
is "the allocations went with their connections" "$(tern_metric_wait 0 tern_allocations)" 0

# one TLS port, two protocols at once
ws turn "wss://127.0.0.1:$Q/turn" --user alice --password secret --n 2000 >"$T/wss.out" &
wss=$!
uclient "$T/uc.out" -S -t -p "$Q" -u alice -w secret -r "$PP" -l 120 -m 2 -n 100 -z 5 -X \
	-e 127.0.0.1 127.0.0.1
is "TURN over TLS (uclient -S) on the port wss:// is using: 200 sent, 200 back, none lost" \
	"$(uclient_totals "$T/uc.out")" "200 200 0"
wait "$wss"
is "and the wss:// client relayed throughout" "$(tr ' ' '\n' <"$T/wss.out" | grep echoed)" \
	"echoed=2000/2000"

# bad input: answered or closed at once, counted
req() { ws http 127.0.0.1 "$P" "$@"; }
is "a plain GET /: 426 and closed at once" \
	"$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | req)" "status=426 closed=yes seconds=0.0"
is "a POST: 405" "$(printf 'POST /turn HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' | req)" \
	"status=405 closed=yes seconds=0.0"
is "garbage in capitals: 400" "$(printf 'GARBAGE\r\n\r\n' | req)" "status=400 closed=yes seconds=0.0"
like "a head over ws-max-header (8192): 431" "$(req --size 9000)" "^status=431 closed=.* seconds=0.0$"
is "an unknown path: 404" \
	"$(printf 'GET /nope HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' | req)" \
	"status=404 closed=yes seconds=0.0"
is "/wg with no WireGuard responder: 404" \
	"$(printf 'GET /wg HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' | req)" \
	"status=404 closed=yes seconds=0.0"
is "version 8: 426" \
	"$(printf 'GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' | req)" \
	"status=426 closed=yes seconds=0.0"
is "a text message on /turn: closed with 1003" "$(ws frames 127.0.0.1 "$P" --what text)" "text=1003"
is "a Binding in three fragments, a ping between: answered" \
	"$(ws frames 127.0.0.1 "$P" --what fragments)" "fragments=success"
is "a continuation with no start: closed with 1002" \
	"$(ws frames 127.0.0.1 "$P" --what continuation)" "continuation=1002"
is "a message over ws-max-message (65536): closed with 1009" \
	"$(ws frames 127.0.0.1 "$Q" --tls --what big --size 70000)" "big=1009"
tern_metrics "$T/m1"
is "refusals counted by reason: bad_request not_websocket not_found header_size" \
	"$(for r in bad_request not_websocket not_found header_size; do tern_metric_in "$T/m1" tern_websocket_refused_total reason=$r; done | tr '\n' ' ')" \
	"2 2 2 1 "
is "closes counted: protocol message_size" \
	"$(for r in protocol message_size; do tern_metric_in "$T/m1" tern_websocket_closed_total reason=$r; done | tr '\n' ' ')" "2 1 "
is "messages on /turn counted both ways" \
	"$(awk '{ print ($1 >= 2400 && $2 >= 2400) }' <<<"$(tern_metric_in "$T/m1" tern_websocket_messages_total path=turn direction=in) $(tern_metric_in "$T/m1" tern_websocket_messages_total path=turn direction=out)")" 1
is "no WebSocket connection left open" "$(tern_metric_wait 0 tern_websocket_connections)" 0
check "ternd stops cleanly" tern_stop

# the limits
check "ternd starts with ws-ping-interval=1, ws-path-prefix=/relay, ws-allowed-origin" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" --no-dtls \
	--user=alice:secret --realm=tern.test --ws-ping-interval=1 --ws-path-prefix=/relay \
	--ws-allowed-origin=https://good.example --ws-allowed-origin=https://other.example || exit 0
is "the prefixed path upgrades, with an allowed Origin" \
	"$(ws binding "ws://127.0.0.1:$P/relay/turn" --origin https://good.example --protocol turn | cut -d' ' -f1-2)" \
	"upgrade=ok subprotocol=turn"
is "another Origin: 403" "$(ws binding "ws://127.0.0.1:$P/relay/turn" --origin https://evil.example)" "upgrade=403"
is "the path without the prefix: 404" "$(ws binding "ws://127.0.0.1:$P/turn")" "upgrade=404"
ws silent 127.0.0.1 "$P" --bind 127.0.0.2 --path /relay/turn --n 2000 --wait 5 >"$T/silent" &
silent=$!
sleep 2
is "meanwhile, a well-behaved client is served over wss://" \
	"$(ws binding "wss://127.0.0.1:$Q/relay/turn" | cut -d' ' -f1)" "upgrade=ok"
wait "$silent"
is "2,000 silent upgrades from one source: 1,000 (the per-source cap) let in" \
	"$(head -c 200 "$T/silent" | tr '\n' ' ' | sed 's/ $//')" "upgraded=1000 refused=1000 closed=1000"
is "and every one closed by the ping timeout (2 intervals), counted" \
	"$(tern_metric tern_websocket_closed_total reason=ping_timeout) $(tern_metric tern_stream_closed_total transport=tcp reason=source_limit)" \
	"1000 1000"
like "a client that never reads its replies is closed" \
	"$(ws --timeout 20 noread 127.0.0.1 "$P" --path /relay/turn)" "^sent=[0-9]+ closed_after=[0-9]$"
is "counted as a slow reader" "$(tern_metric_wait 1 tern_websocket_closed_total reason=slow_reader)" 1
check "ternd stops cleanly" tern_stop

check "ternd starts with no-websocket" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --no-tls --no-dtls \
	--user=alice:secret --realm=tern.test --no-websocket || exit 0
like "an upgrade gets no HTTP answer" \
	"$(printf 'GET /turn HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n' | req)" "^status=none "
check "ternd stops cleanly" tern_stop
