#!/bin/bash
# WireGuard over WebSocket (issue 12) on ternd's TCP and TLS ports, with a
# WireGuard initiator written from the protocol (wgtool.py) behind each
# framing a client may use: one datagram a binary message on /wg, and
# Fly.io's flyctl stream (the magic 0x2FACED77, then 4-byte big-endian
# lengths and datagrams, each write its own frame) in text frames on / over
# wss:// (as flyctl dials it) and in binary frames on /wg. Each completes
# its handshake, and the answer comes back in the frame type the client
# used; a keepalive cut across two frames is taken. Counted by path and in
# tern_wg_datagrams_total{via="websocket"}. A length over ws-max-message
# closes with 1009; without wg-config /wg is a 404 (ws_turn.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
"$WGPY" -c 'import nacl, websockets' 2>/dev/null ||
	skip_all "python3-nacl or python3-websockets not installed"

plan 9

ws() { timeout 60 "$WGPY" "$INTEROP_DIR/wsclient.py" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }
check "self-signed certificate made" make_certs "$T/certs" || exit 0
SP=$(wg_keys server)
PY=$(wg_keys py)
W=$(port_pick 1) || bail "no free ports"
printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.50/32\n' \
	"$(cat "$T/server.key")" "$W" "$PY" >"$T/srv.conf"
P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with wg-config, TCP and TLS, no TURN users" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" --no-dtls --wg-config="$T/srv.conf" \
	--wg-name="tw$$" || exit 0
KEYS=(--private "$(cat "$T/py.key")" --server-key "$SP")

is "one datagram a binary message on ws:// /wg: handshake" \
	"$(ws wg 127.0.0.1 "$P" --path /wg "${KEYS[@]}")" "handshake=ok frames=binary"
is "flyctl's stream in text frames on wss:// /: handshake, answered in text frames" \
	"$(ws wg 127.0.0.1 "$Q" --tls --path / "${KEYS[@]}" --fly text)" "handshake=ok frames=text"
is "flyctl's stream in binary frames on ws:// /wg: answered in binary frames" \
	"$(ws wg 127.0.0.1 "$P" --path /wg "${KEYS[@]}" --fly binary)" "handshake=ok frames=binary"
tern_metrics "$T/m"
is "the responder counted 6 datagrams in (initiations, keepalives) and 3 out over WebSocket" \
	"$(tern_metric_in "$T/m" tern_wg_datagrams_total via=websocket direction=in) $(tern_metric_in "$T/m" tern_wg_datagrams_total via=websocket direction=out)" "6 3"
is "and /wg's messages were counted both ways" \
	"$(tern_metric_in "$T/m" tern_websocket_messages_total path=wg direction=out) $(tern_metric_in "$T/m" tern_wg_handshakes_total kind=response)" "3 3"
is "a flyctl length over ws-max-message: closed with 1009" \
	"$(ws frames 127.0.0.1 "$P" --path /wg --what fly-text --size 70000)" "fly_text=1009"
check "ternd stops cleanly" tern_stop
