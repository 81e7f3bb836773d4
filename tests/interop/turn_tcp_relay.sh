#!/bin/bash
# TCP allocations (RFC 6062): the client relays TCP to peers over a TCP or
# TLS control connection. tcprelay.py plays each scenario with its own TCP
# echo peer on loopback: Connect then ConnectionBind, a peer connecting in
# (ConnectionAttempt), the errors (447 refused, 446 twice, 400 for another
# user's connection id, 400 over UDP), a peer without permission turned
# away, the 30 s limit on an unbound connection, and Refresh(0) ending the
# joined pair. Then coturn's turnutils_uclient in its client-to-client TCP
# relay mode (-T -y), where each client's relay connects to the other's, so
# both Connect and ConnectionAttempt are exercised under load.
#
# uclient signs its ConnectionBind with the nonce of its control connection
# and does not retry a Connect answered 438, so tern must take that nonce on
# the data connection (relay/engine.c) although nonces are bound to the
# client's port: with a 438 there, uclient's pairs never all connect.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl turnutils_uclient

plan 28

check "self-signed certificate made" make_certs "$T/certs" || exit 0
P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with UDP, TCP and TLS on 127.0.0.1 and ::1, two users" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--tls-listening-port="$Q" --cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
	--no-dtls --user=alice:secret --user=bob:hunter2 --realm=tern.test \
	--allow-loopback-peers --workers=2 || exit 0

# tcprelay SCENARIO ARGS...: the facts it printed, on one line.
tcprelay() {
	timeout 60 "$PYTHON" "$INTEROP_DIR/tcprelay.py" "$@" 2>&1 | tr '\n' ' ' | sed 's/ $//'
}
# facts OUT KEY...: "key=value ..." for the keys asked, from tcprelay's output.
facts() {
	local out=$1 k v s=""
	shift
	for k in "$@"; do
		v=$(tr ' ' '\n' <<<"$out" | sed -n "s/^$k=//p" | head -n 1)
		s+="$k=$v "
	done
	echo "${s% }"
}

V4=(--server 127.0.0.1 --port "$P")
V6=(--server ::1 --port "$P" --peer ::1)
TLS4=(--server 127.0.0.1 --port "$Q" --proto tls)

before_bytes=$(tern_metric tern_tcp_relay_bytes_total direction=to_peer)

out=$(tcprelay connect "${V4[@]}")
relayed=$(facts "$out" relayed)
is "Connect over TCP, IPv4: the peer sees the relayed address, 1 MiB echoes back" \
	"$(facts "$out" allocate connect bind peer_saw echoed)" \
	"allocate=ok connect=ok bind=ok peer_saw=${relayed#relayed=} echoed=same"
out=$(tcprelay connect "${V6[@]}")
relayed=$(facts "$out" relayed)
is "Connect over TCP, IPv6" "$(facts "$out" allocate connect bind peer_saw echoed)" \
	"allocate=ok connect=ok bind=ok peer_saw=${relayed#relayed=} echoed=same"
out=$(tcprelay connect "${TLS4[@]}")
relayed=$(facts "$out" relayed)
is "Connect over TLS (control and data connections)" \
	"$(facts "$out" allocate connect bind peer_saw echoed)" \
	"allocate=ok connect=ok bind=ok peer_saw=${relayed#relayed=} echoed=same"

out=$(tcprelay accept "${V4[@]}")
local_=$(facts "$out" peer_local)
is "a peer connects in over IPv4: ConnectionAttempt names it, bytes flow both ways" \
	"$(facts "$out" permission attempt_peer bind client_got echoed)" \
	"permission=ok attempt_peer=${local_#peer_local=} bind=ok client_got=hello-from-the-peer echoed=same"
out=$(tcprelay accept "${V6[@]}" --proto tls --port "$Q")
local_=$(facts "$out" peer_local)
is "a peer connects in over IPv6, client on TLS" \
	"$(facts "$out" permission attempt_peer bind client_got echoed)" \
	"permission=ok attempt_peer=${local_#peer_local=} bind=ok client_got=hello-from-the-peer echoed=same"

is "Connect to a port nobody listens on: 447" \
	"$(facts "$(tcprelay refused "${V4[@]}")" allocate connect)" "allocate=ok connect=447"
is "a second Connect to the same peer: 446" \
	"$(facts "$(tcprelay twice "${V4[@]}")" connect again)" "connect=ok again=446"
is "ConnectionBind by another user, or with a wrong id: 400; by the owner: success" \
	"$(facts "$(tcprelay stranger "${V4[@]}")" stranger_bind wrong_id_bind owner_bind)" \
	"stranger_bind=400 wrong_id_bind=400 owner_bind=ok"
is "a peer without a permission is disconnected, the client hears nothing" \
	"$(facts "$(tcprelay nopermit "${V4[@]}")" peer_closed control_heard)" \
	"peer_closed=yes control_heard=nothing"
is "Refresh(0) closes the joined data and peer connections" \
	"$(facts "$(tcprelay release "${V4[@]}")" bind echoed refresh0 data_closed peer_closed)" \
	"bind=ok echoed=same refresh0=ok data_closed=yes peer_closed=yes"
is "Allocate TCP over UDP: 400 (RFC 6062 s5.1)" \
	"$(facts "$(tcprelay udpalloc "${V4[@]}")" allocate)" "allocate=400"

# 30 s: the one slow test here, and the only way to see the timer fire.
out=$(tcprelay unbound "${V4[@]}" --wait 40)
after=$(facts "$out" peer_closed_after)
after=${after#peer_closed_after=}
if [[ "$after" =~ ^(29|30|31|32)$ ]]; then
	ok "a connection never bound is closed after 30 s"
else
	not_ok "a connection never bound is closed after 30 s" "got: $out"
fi

d=$(($(tern_metric tern_tcp_relay_bytes_total direction=to_peer) - before_bytes))
if [ "$d" -ge $((5 * 1048576)) ]; then
	ok "tern_tcp_relay_bytes_total counted the scenarios' bytes to peers"
else
	not_ok "tern_tcp_relay_bytes_total counted the scenarios' bytes to peers" \
		"grew by $d, want at least $((5 * 1048576))"
fi

# uclient -T -y: client-to-client through two TCP allocations; -m M makes
# M clients in M/2 pairs, each sending -n messages.
UC=(-T -y -u alice -w secret -l 120)
uc_check() {
	local desc=$1 msgs=$2 rc got
	shift 2
	UC_OUT=$T/uclient.$RANDOM.out
	uclient "$UC_OUT" "$@"
	rc=$?
	got="$rc $(uclient_totals "$UC_OUT")"
	# uclient waits 30 s for every pair's data connections, then goes on
	grep -q 'not enough' "$UC_OUT" && got+=" (not all pairs connected)"
	if [ "$got" = "0 $msgs $msgs 0" ]; then
		ok "$desc: all pairs connect, uclient relays $msgs messages, none lost"
	else
		not_ok "$desc: all pairs connect, uclient relays $msgs messages, none lost" \
			"got:  status, sent, received, lost = $got" "want: 0 $msgs $msgs 0" \
			"$(uclient_diag "$UC_OUT" "$rc")"
	fi
}
c0=$(tern_metric tern_tcp_peer_connections_total result=connected)
a0=$(tern_metric tern_tcp_peer_connections_total result=accepted)
uc_check "uclient -T over TCP, IPv4, 10 clients" 2000 -t -p "$P" "${UC[@]}" -m 10 -n 200 127.0.0.1
uc_check "uclient -T over TCP, IPv6, 4 clients" 400 -t -p "$P" "${UC[@]}" -m 4 -n 100 ::1
uc_check "uclient -T over TLS, IPv4, 4 clients" 400 -t -S -E "$T/certs/cert.pem" -p "$Q" \
	"${UC[@]}" -m 4 -n 100 127.0.0.1
c1=$(tern_metric tern_tcp_peer_connections_total result=connected)
a1=$(tern_metric tern_tcp_peer_connections_total result=accepted)
# M clients make M(M-1)/2 pairs; in each, one relay connects (Connect) and
# the other accepts (ConnectionAttempt): 45 + 6 + 6
is "uclient's pairs: each Connect met by a ConnectionAttempt on the other relay" \
	"connected=$((c1 - c0)) accepted=$((a1 - a0))" "connected=57 accepted=57"
is "one TCP peer connection failed: the refused one above" \
	"$(tern_metric tern_tcp_peer_connections_total result=failed)" "1"
is "every joined pair closed once the clients left" \
	"$(tern_metric_wait 0 tern_tcp_relay_connections)" "0"
is "no TCP peer connection was refused for being over a limit" \
	"$(tern_metric tern_tcp_peer_connections_total result=refused)" "0"
check "ternd exits 0 on SIGTERM within 5 s" tern_stop

# coturn's no-tcp-relay and no-udp-relay
R=$(port_pick 1) || bail "no free ports"
check "ternd starts with no-tcp-relay" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$R" --no-dtls --no-tls \
	--user=alice:secret --realm=tern.test --allow-loopback-peers --no-tcp-relay || exit 0
is "no-tcp-relay: Allocate TCP gets 442" \
	"$(facts "$(tcprelay connect --server 127.0.0.1 --port "$R")" allocate)" "allocate=442"
check "ternd exits 0 on SIGTERM within 5 s" tern_stop
check "ternd starts with no-udp-relay" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$R" --no-dtls --no-tls \
	--user=alice:secret --realm=tern.test --allow-loopback-peers --no-udp-relay || exit 0
is "no-udp-relay: Allocate UDP gets 442, TCP still works" \
	"$(facts "$(tcprelay udpalloc --server 127.0.0.1 --port "$R" --transport udp)" allocate) $(facts "$(tcprelay connect --server 127.0.0.1 --port "$R")" connect)" \
	"allocate=442 connect=ok"
