# Helpers for the WireGuard tests; source after lib.sh.
#
# Each test gets its own network namespaces, named after its pid: a server
# namespace where ternd runs, and client namespaces joined to it by veth
# pairs (192.168.N.1 on the server's side, 192.168.N.2 on the client's).
# Interface and UAPI socket names (/var/run/wireguard/NAME.sock is one
# directory for every namespace) carry the pid too, so tests run side by
# side. Everything is removed when the test ends.

need ip wg wireguard-go
[ "$(id -u)" -eq 0 ] || skip_all "network namespaces need root"

WG_ID=$$
WG_S=tw${WG_ID}s
WGPY=/usr/bin/python3

# the server namespace
wg_server_ns() {
	ip netns add "$WG_S" && ip -n "$WG_S" link set lo up || return 1
	at_exit "ip netns del $WG_S"
}

# wg_client_ns N: namespace tw<pid>cN, joined to the server's by a veth pair
wg_client_ns() {
	local n=$1 ns=tw${WG_ID}c$1
	ip netns add "$ns" || return 1
	at_exit "ip netns del $ns"
	ip link add "v${WG_ID}s$n" type veth peer name "v${WG_ID}c$n" || return 1
	ip link set "v${WG_ID}s$n" netns "$WG_S" && ip link set "v${WG_ID}c$n" netns "$ns" &&
		ip -n "$WG_S" addr add "192.168.$n.1/24" dev "v${WG_ID}s$n" &&
		ip -n "$ns" addr add "192.168.$n.2/24" dev "v${WG_ID}c$n" &&
		ip -n "$WG_S" link set "v${WG_ID}s$n" up && ip -n "$ns" link set "v${WG_ID}c$n" up &&
		ip -n "$ns" link set lo up
}

wg_ns() { echo "tw${WG_ID}c$1"; }

# wg_keys NAME: a private key in $T/NAME.key, its public key printed
wg_keys() {
	(umask 077 && wg genkey >"$T/$1.key") && wg pubkey <"$T/$1.key"
}

# wg_go N IFACE KEY PEER ENDPOINT ALLOWED ADDRESS: wireguard-go in client
# namespace N, its peer ternd (public key PEER at ENDPOINT, ALLOWED
# routed to it), the interface's address ADDRESS; WG_KEEPALIVE, if set,
# its persistent keepalive in seconds
wg_go() {
	local ns=tw${WG_ID}c$1 ifc=$2
	WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go -f "$ifc" >"$T/$ifc.log" 2>&1 &
	_bg_pids+=($!)
	for _ in $(seq 50); do
		[ -S "/var/run/wireguard/$ifc.sock" ] && break
		sleep 0.1
	done
	ip netns exec "$ns" wg set "$ifc" private-key "$T/$3.key" peer "$4" endpoint "$5" \
		allowed-ips "$6" ${WG_KEEPALIVE:+persistent-keepalive "$WG_KEEPALIVE"} &&
		ip -n "$ns" addr add "$7" dev "$ifc" && ip -n "$ns" link set "$ifc" up
}

# wg_ping N ARGS...: ping from client namespace N; prints "sent received"
wg_ping() {
	local ns=tw${WG_ID}c$1
	shift
	ip netns exec "$ns" ping -q "$@" 2>&1 |
		sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p'
}

# wg_tern ARGS...: start ternd in the server namespace (tern_start's way)
wg_tern() {
	printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$WG_S" "$TERND_REAL" >"$T/ternd-ns"
	chmod +x "$T/ternd-ns"
	TERND=$T/ternd-ns
	tern_start "$@"
	local rc=$?
	TERND=$TERND_REAL
	return $rc
}
TERND_REAL=$TERND

# wg_metric NAME [LABEL=VALUE...]: a metric of the ternd in the server namespace
wg_metric() {
	ip netns exec "$WG_S" timeout 10 "$PYTHON" "$INTEROP_DIR/stuntool.py" http \
		"http://$STATS/metrics" --body "$T/wgmetrics" >/dev/null &&
		tern_metric_in "$T/wgmetrics" "$@"
}

# wgtool N ARGS...: the Python initiator (tests/interop/wgtool.py) in client namespace N
wgtool() {
	local ns=tw${WG_ID}c$1
	shift
	ip netns exec "$ns" timeout 60 "$WGPY" "$INTEROP_DIR/wgtool.py" "$@"
}

# wg_listening NS IP PORT PID: wait up to 10 s until a TCP socket listens on
# IP:PORT in namespace NS, as the kernel has it (ss), while PID (the
# listener) lives; else say so, with the listener's output in $T/listen-out.
# Not the listener's own "ready" in a file: the file the previous call wrote
# still says it until the new listener's shell has truncated it, and a
# sender let go then is refused
wg_listening() {
	local ns=$1 ip=$2 port=$3 pid=$4
	for _ in $(seq 100); do
		[ -n "$(ip netns exec "$ns" ss -Hltn "src $ip:$port")" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "nothing listens on $ip:$port in $ns: $(cat "$T/listen-out" 2>/dev/null)"
	kill "$pid" 2>/dev/null
	wait "$pid"
	return 1
}

# wg_bulk FROM_NS TO_NS TO_IP MB: MB of random bytes over one TCP connection
# from namespace FROM_NS to TO_IP in TO_NS; prints "same" when the sha256
# of what arrived is that of what was sent (iperf3 does not look at its
# data; this does, so joined or cut segments that lose or reorder bytes show)
wg_bulk() {
	local port=5299 sent got
	ip netns exec "$2" timeout 60 "$PYTHON" -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256()
while b := c.recv(1 << 16): h.update(b)
print(h.hexdigest())' "$3" "$port" >"$T/listen-out" 2>&1 &
	local pid=$!
	wg_listening "$2" "$3" "$port" "$pid" || return 0
	sent=$(ip netns exec "$1" timeout 60 "$PYTHON" -c '
import hashlib, os, socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2]))); h = hashlib.sha256()
for _ in range(int(sys.argv[3]) * 16):
    b = os.urandom(65536 - 17); h.update(b); c.sendall(b)
c.shutdown(socket.SHUT_WR); c.recv(1); print(h.hexdigest())' "$3" "$port" "$4" 2>&1)
	# a sender that never connected leaves the listener in accept()
	[[ $sent =~ ^[0-9a-f]{64}$ ]] || kill "$pid" 2>/dev/null
	wait "$pid"
	got=$(tail -n 1 "$T/listen-out")
	if [ "$sent" = "$got" ]; then echo same; else echo "sent=$sent got=$got"; fi
}

# wg_iperf DESC FROM_NS TO_NS TO_IP: iperf3 for 2 s from namespace FROM_NS
# to TO_IP in TO_NS; ok with the rate received (a benchmark measures; this
# only checks that data flows), not ok with both sides' output
wg_iperf() {
	local bits
	# the server goes by itself (-1, timeout)
	ip netns exec "$3" timeout 20 iperf3 -s -B "$4" -1 >"$T/listen-out" 2>&1 &
	wg_listening "$3" "$4" 5201 $! >"$T/iperf-c" || {
		not_ok "$1" "$(cat "$T/iperf-c")"
		return
	}
	bits=$(ip netns exec "$2" iperf3 -c "$4" -t 2 -J 2>"$T/iperf-c" |
		"$PYTHON" -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))' 2>/dev/null)
	if [ "${bits:-0}" -gt 0 ]; then
		ok "$1: $((bits / 1000000)) Mbit/s"
	else
		not_ok "$1" "$(cat "$T/iperf-c" "$T/listen-out")"
	fi
}

# wg_one_peer: the keys and the server's file for one wireguard-go peer in
# client 1 (gateway mode, 10.77.0.2): sets TUN, SP (the server's public
# key), P1 (the peer's), IFC (its interface), C1 (its namespace)
wg_one_peer() {
	TUN=tn$WG_ID
	SP=$(wg_keys server)
	P1=$(wg_keys one)
	printf '[Interface]\nPrivateKey = %s\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.77.0.2/32\n' \
		"$(cat "$T/server.key")" "$P1" >"$T/srv.conf"
	IFC=wa$WG_ID
	C1=$(wg_ns 1)
}
# for that peer: handshakes the responder took, datagrams by VIA and
# DIRECTION, its endpoint as wg show has it, and a new endpoint for it
wg_handshakes() { wg_metric tern_wg_handshakes_total kind=initiation; }
wg_via() { wg_metric tern_wg_datagrams_total "via=$1" "direction=$2"; }
wg_endpoint() { ip netns exec "$WG_S" wg show "$TUN" endpoints | grep "^$P1" | cut -f 2; }
wg_set_endpoint() { ip netns exec "$C1" wg set "$IFC" peer "$SP" endpoint "$1"; }
