#!/bin/bash
# WireGuard peers in Redis, loaded just in time (issue 11): ternd starts
# with a wg-config that has its key and no peer, and redis-url; 1,000
# peers are then written to Redis. wireguard-go with one of those keys
# connects (one lookup, at its handshake); a key not in Redis gets no
# answer until ternctl adds it, and then connects without waiting out the
# memory of its absence; ternctl peer del ends its session at once and
# refuses it after; an idle peer leaves memory (wg-peer-idle) and comes
# back at its next handshake; an initiation replayed after the peer left
# memory, and after a restart, gets nothing (the timestamp is Redis's);
# wg set's additions and removals are written to Redis; thousands of
# initiations from random keys cost at most the lookup budget in Redis
# lookups (INFO commandstats) while a known peer still connects.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
need redis-server redis-cli

plan 29

SP=$(wg_keys server)
P1=$(wg_keys one) P2=$(wg_keys two) P3=$(wg_keys three)
printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/server.key")" >"$T/srv.conf"
TUN=ts$WG_ID
URL=redis://127.0.0.1:6379/0
rs() { ip netns exec "$WG_S" redis-cli -p 6379 "$@"; }
tcl() { ip netns exec "$WG_S" "$TERNCTL" --redis-url="$URL" --wg-public-key="$SP" "$@"; }
redis_ns() {
	ip netns exec "$WG_S" redis-server --port 6379 --bind 127.0.0.1 --save "" \
		--appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
	_bg_pids+=($!)
	for _ in $(seq 50); do rs ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
	return 1
}
tern() {
	wg_tern --no-udp --no-tcp --wg-config="$T/srv.conf" --wg-tun="$TUN" \
		--wg-address=10.66.0.1/24 --redis-url="$URL" --node-id=wg --wg-peer-idle=3 \
		--wg-lookup-rate=50 "$@"
}
lookups() { rs info commandstats | sed -n 's/^cmdstat_eval:calls=\([0-9]*\),.*/\1/p'; }
# up_within SECONDS N: pings from client N until one is answered
up_within() {
	for _ in $(seq "$(($1 * 2))"); do
		[ "$(wg_ping "$2" -c 1 -W 1 10.66.0.1)" = "1 1" ] && echo up && return
		sleep 0.5
	done
	echo down
}
PYARGS=(--server 192.168.3.1 --port 51820 --server-key "$SP" --private "$(cat "$T/three.key")")

check "namespaces: the server's and three clients'" \
	eval 'wg_server_ns && wg_client_ns 1 && wg_client_ns 2 && wg_client_ns 3' || exit 0
check "redis-server in the server's namespace" redis_ns || exit 0
check "ternd starts: a wg-config with no peer, and redis-url" tern || exit 0

check "ternctl peer add: client one's key" tcl peer add "$P1" allowed-ips 10.66.0.2/32
peers_resp "$SP" 999 >"$T/peers.resp"
ip netns exec "$WG_S" redis-cli -p 6379 --pipe <"$T/peers.resp" >/dev/null 2>&1
is "1,000 peers in Redis, written after ternd started" "$(rs scard "tern:wg:{$SP}:peers")" 1000
is "none of them in memory" "$(wg_metric tern_wg_peers)" 0

check "wireguard-go in client 1 with its key" \
	wg_go 1 "wa$WG_ID" one "$SP" 192.168.1.1:51820 10.66.0.0/24 10.66.0.2/24 || exit 0
is "its pings get through: loaded at its handshake" "$(wg_ping 1 -c 5 -i 0.2 -W 3 10.66.0.1)" "5 5"
is "one peer in memory, one lookup" \
	"$(wg_metric tern_wg_peers) $(wg_metric tern_wg_lookups_total)" "1 1"
is "wg show lists it" "$(ip netns exec "$WG_S" wg show "$TUN" peers)" "$P1"
is "its timestamp is in Redis" "$(rs hget "tern:wg:{$SP}:peer:$P1" tai64n | cut -c1-8)" 40000000

check "wireguard-go in client 2 with a key Redis does not have" \
	wg_go 2 "wb$WG_ID" two "$SP" 192.168.2.1:51820 10.66.0.0/24 10.66.0.3/24
is "no answer" "$(wg_ping 2 -c 2 -i 0.5 -W 1 10.66.0.1)" "2 0"
check "ternctl peer add: that key" tcl peer add "$P2" allowed-ips 10.66.0.3/32
is "then it connects at its next handshake (within 10 s)" "$(up_within 10 2)" up

check "ternctl peer del: client 1" tcl peer del "$P1"
is "its session ended at once: out of memory, pings lost" \
	"$(sleep 0.5; ip netns exec "$WG_S" wg show "$TUN" peers | grep -c "$P1") $(wg_ping 1 -c 2 -i 0.3 -W 1 10.66.0.1)" \
	"0 2 0"

out=$(wgtool 3 replay "${PYARGS[@]}" --save "$T/init.hex" --timeout 2)
is "a Python initiator (not in Redis yet): no answer" "$out" "first=none" ||
	diag <<<"$out"
tcl peer add "$P3" allowed-ips 10.66.0.50/32
sleep 0.3
out=$(wgtool 3 replay "${PYARGS[@]}" --save "$T/init.hex" --timeout 2)
is "added: answered once, the same initiation again is not" "$out" "first=response again=none"
sleep 4.5 # wg-peer-idle=3, and a tick
is "idle peers left memory (wg-peer-idle)" \
	"$(ip netns exec "$WG_S" wg show "$TUN" peers | grep -c "$P3") $(wg_metric tern_wg_evictions_total | awk '{ print ($1 >= 1) }')" \
	"0 1"
is "the traffic of a peer that left memory is added to its record" \
	"$(rs hmget "tern:wg:{$SP}:peer:$P2" rx tx | awk '$1 > 0 { n++ } END { print n + 0 }')" 2
is "the initiation replayed after it left memory: nothing" \
	"$(wgtool 3 resend "${PYARGS[@]}" --file "$T/init.hex" --timeout 2)" "answer=none"

P4=$(wg_keys four)
ip netns exec "$WG_S" wg set "$TUN" peer "$P4" allowed-ips 10.66.0.60/32,fd66::60/128 \
	persistent-keepalive 15
sleep 0.3
is "wg set adds a peer: written to Redis, as ternctl writes it" \
	"$(rs hget "tern:wg:{$SP}:peer:$P4" allowed | tr ',' '\n' | sort | tr '\n' ' ')$(rs hget "tern:wg:{$SP}:peer:$P4" keepalive) $(rs sismember "tern:wg:{$SP}:peers" "$P4")" \
	"10.66.0.60/32 fd66::60/128 15 1"
ip netns exec "$WG_S" wg set "$TUN" peer "$P4" remove
sleep 0.3
is "wg set removes it: gone from Redis" \
	"$(rs exists "tern:wg:{$SP}:peer:$P4") $(rs sismember "tern:wg:{$SP}:peers" "$P4")" "0 0"

check "ternd stops" tern_stop
check "and starts again" tern || exit 0
is "the initiation replayed after a restart: nothing" \
	"$(wgtool 3 resend "${PYARGS[@]}" --file "$T/init.hex" --timeout 2)" "answer=none"

before=$(lookups)
out=$(wgtool 3 unknown "${PYARGS[@]}" --count 3000 --timeout 2)
after=$(lookups)
# the budget: 50 a second, and the 2 s the initiations took at most, and slack
if [ "$out" = "answer=none" ] && [ $((after - before)) -le 200 ]; then
	ok "3000 initiations from random keys: no answer, $((after - before)) lookups in Redis"
else
	not_ok "3000 initiations from random keys: bounded lookups" "$out; lookups $before -> $after"
fi
kill -TERM "$(pgrep -f "wireguard-go -f wb$WG_ID")"
sleep 0.5
wg_go 2 "wb$WG_ID" two "$SP" 192.168.2.1:51820 10.66.0.0/24 10.66.0.3/24 >/dev/null 2>&1
is "client 2's key still connects (a restarted wireguard-go: a new handshake)" \
	"$(up_within 10 2)" up
