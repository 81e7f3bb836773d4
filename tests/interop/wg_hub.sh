#!/bin/bash
# Twenty wireguard-go peers at once on one ternd in hub mode (no TUN
# device: cryptokey routing between peers, issue 10), each in its own
# network namespace: every peer pings the next one through ternd, which
# opens each packet, finds the destination's peer by its allowed IPs and
# seals it again for that peer. The responder never starts a handshake, so
# a hub's peers keep their session up with PersistentKeepalive, as a hub's
# clients are configured; a packet for a peer with no session is dropped.
# /metrics counts the peers, sessions and packets, and a packet for an
# address no peer has goes nowhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"

N=20
plan 8

SP=$(wg_keys server)
{
	printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/server.key")"
	for i in $(seq $N); do
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.88.0.%d/32\n' "$(wg_keys "p$i")" "$i"
	done
} >"$T/hub.conf"

setup() {
	wg_server_ns || return 1
	for i in $(seq $N); do
		wg_client_ns "$i" || return 1
	done
}
check "namespaces: the server's and $N clients'" setup || exit 0
check "ternd starts in hub mode: wg-config, no wg-tun" \
	wg_tern --no-udp --no-tcp --wg-config="$T/hub.conf" --wg-name="th$WG_ID" \
	--wg-listening-port=51821 || exit 0
peers_up() {
	local WG_KEEPALIVE=25
	for i in $(seq $N); do
		wg_go "$i" "w${WG_ID}p$i" "p$i" "$SP" "192.168.$i.1:51821" 10.88.0.0/24 \
			"10.88.0.$i/24" || return 1
	done
}
check "$N wireguard-go peers are up" peers_up || exit 0
is "each has its session with ternd (persistent keepalive)" \
	"$(wait_for 10 "$N" wg_metric tern_wg_sessions)" "$N"

# each peer pings the next, all at once
pings=()
for i in $(seq $N); do
	wg_ping "$i" -c 5 -i 0.2 -W 5 "10.88.0.$((i % N + 1))" >"$T/ping.$i" &
	pings+=($!)
done
wait "${pings[@]}"
bad=
for i in $(seq $N); do
	[ "$(cat "$T/ping.$i")" = "5 5" ] || bad="$bad peer $i: '$(cat "$T/ping.$i")'"
done
if [ -z "$bad" ]; then
	ok "each of the $N peers pings the next through ternd: 100 of 100 answered"
else
	not_ok "each of the $N peers pings the next through ternd" "$bad"
fi
is "tern_wg_peers and sessions: $N each, still" \
	"$(wg_metric tern_wg_peers) $(wg_metric tern_wg_sessions)" "$N $N"
pk=$(wg_metric tern_wg_packets_total direction=to_peers)
if [ "$pk" -ge $((2 * 5 * N)) ]; then # each echo and each reply, once
	ok "tern_wg_packets_total: $pk packets sealed again for their destination peer"
else
	not_ok "tern_wg_packets_total counts the forwarded packets" "to_peers: $pk"
fi
before=$(wg_metric tern_wg_dropped_total reason=no_route)
wg_ping 1 -c 2 -i 0.2 -W 1 10.88.0.99 >/dev/null
is "a packet for an address no peer has goes nowhere (counted)" \
	"$(($(wg_metric tern_wg_dropped_total reason=no_route) - before))" "2"
