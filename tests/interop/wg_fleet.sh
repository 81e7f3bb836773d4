#!/bin/bash
# A WireGuard peer moving across a fleet (issue 11): nodes a and b, each
# in a namespace of its own with its own TUN device, share one Redis and
# the responder's key. wireguard-go connects to a, then its endpoint is
# moved to b: b has no session for it, wireguard-go handshakes again, b
# loads the peer from Redis and the pings go on. tern:events announces
# the sessions on both nodes, /stats sums the fleet's WireGuard peers,
# and ternctl peer list shows the peer with its latest handshake.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
need redis-server redis-cli

plan 13

SP=$(wg_keys server)
P1=$(wg_keys one)
printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/server.key")" >"$T/srv.conf"
B=tw${WG_ID}b
URL=redis://10.200.0.1:6379/0
rs() { ip netns exec "$WG_S" redis-cli -h 10.200.0.1 -p 6379 "$@"; }
ns_b() { # node b's namespace, joined to a's (Redis) and to client 1's
	ip netns add "$B" && at_exit "ip netns del $B" && ip -n "$B" link set lo up &&
		ip link add "v${WG_ID}ab" type veth peer name "v${WG_ID}ba" &&
		ip link set "v${WG_ID}ab" netns "$WG_S" && ip link set "v${WG_ID}ba" netns "$B" &&
		ip -n "$WG_S" addr add 10.200.0.1/24 dev "v${WG_ID}ab" &&
		ip -n "$B" addr add 10.200.0.2/24 dev "v${WG_ID}ba" &&
		ip -n "$WG_S" link set "v${WG_ID}ab" up && ip -n "$B" link set "v${WG_ID}ba" up &&
		ip link add "v${WG_ID}bc" type veth peer name "v${WG_ID}cb" &&
		ip link set "v${WG_ID}bc" netns "$B" && ip link set "v${WG_ID}cb" netns "$(wg_ns 1)" &&
		ip -n "$B" addr add 192.168.9.1/24 dev "v${WG_ID}bc" &&
		ip -n "$(wg_ns 1)" addr add 192.168.9.2/24 dev "v${WG_ID}cb" &&
		ip -n "$B" link set "v${WG_ID}bc" up && ip -n "$(wg_ns 1)" link set "v${WG_ID}cb" up
}
redis_ns() {
	ip netns exec "$WG_S" redis-server --port 6379 --bind 10.200.0.1 --protected-mode no \
		--save "" --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
	_bg_pids+=($!)
	for _ in $(seq 50); do rs ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
	return 1
}
node() { # node ID NAMESPACE TUN
	printf '#!/bin/sh\nexec ip netns exec %s "%s" "$@"\n' "$2" "$TERND_REAL" >"$T/ternd-$1"
	chmod +x "$T/ternd-$1"
	TERND=$T/ternd-$1 tern_start --no-udp --no-tcp --wg-config="$T/srv.conf" --wg-tun="$3" \
		--wg-address=10.66.0.1/24 --redis-url="$URL" --node-id="$1"
}
metric_in() { # metric_in NAMESPACE STATS NAME
	ip netns exec "$1" timeout 10 "$PYTHON" "$INTEROP_DIR/stuntool.py" http \
		"http://$2/metrics" --body "$T/m" >/dev/null && tern_metric_in "$T/m" "$3"
}
up_within() {
	for _ in $(seq "$(($1 * 2))"); do
		[ "$(wg_ping 1 -c 1 -W 1 10.66.0.1)" = "1 1" ] && echo up && return
		sleep 0.5
	done
	echo down
}

check "namespaces: node a's, node b's, a client's" \
	eval 'wg_server_ns && wg_client_ns 1 && ns_b' || exit 0
check "redis-server in node a's namespace, reached by both" redis_ns || exit 0
rs subscribe tern:events >"$T/events" 2>&1 &
_bg_pids+=($!)
check "node a starts" node a "$WG_S" "ta$WG_ID" || exit 0
SA=$STATS
check "node b starts, same key, same Redis" node b "$B" "tb$WG_ID" || exit 0
SB=$STATS
check "ternctl peer add: the client" ip netns exec "$WG_S" "$TERNCTL" --redis-url="$URL" \
	--wg-public-key="$SP" peer add "$P1" allowed-ips 10.66.0.2/32

check "wireguard-go in the client, its endpoint node a" \
	wg_go 1 "wa$WG_ID" one "$SP" 192.168.1.1:51820 10.66.0.0/24 10.66.0.2/24 || exit 0
is "pings through node a" "$(wg_ping 1 -c 3 -i 0.2 -W 3 10.66.0.1)" "3 3"
check "its endpoint moves to node b" ip netns exec "$(wg_ns 1)" wg set "wa$WG_ID" peer "$SP" \
	endpoint 192.168.9.1:51820
moved=$(date +%s.%N)
is "the pings go on through node b after wireguard-go's new handshake (within 30 s)" \
	"$(up_within 30)" up
awk -v a="$moved" -v b="$(date +%s.%N)" 'BEGIN { printf "back after %.1f s\n", b - a }' | diag
is "node b loaded the peer from Redis" \
	"$(metric_in "$B" "$SB" tern_wg_peers) $(metric_in "$B" "$SB" tern_wg_lookups_total)" "1 1"
fleet_wg() { # what node a's /stats says of the fleet's WireGuard peers
	ip netns exec "$WG_S" timeout 10 "$PYTHON" "$INTEROP_DIR/stuntool.py" http "http://$SA/stats" \
		--body "$T/stats.json" >/dev/null &&
		"$PYTHON" -c 'import json,sys; f=json.load(open(sys.argv[1]))["fleet"]; print(f["nodes"], f["wg_peers"], sorted(m["id"] for m in f["members"] if m["wg_peers"] == 1))' "$T/stats.json"
}
for _ in $(seq 30); do # heartbeats every 5 s, and a's reads of the registry
	[ "$(fleet_wg)" = "2 2 ['a', 'b']" ] && break
	sleep 0.5
done
is "/stats: the fleet's WireGuard peers, summed over both nodes" "$(fleet_wg)" "2 2 ['a', 'b']"
is "tern:events: a session started on each node" \
	"$(grep -o '"event":"wg_session_started","node":"[ab]"' "$T/events" | sort -u | tr '\n' ' ')" \
	'"event":"wg_session_started","node":"a" "event":"wg_session_started","node":"b" '
is "ternctl peer list: the peer, with its latest handshake" \
	"$(ip netns exec "$WG_S" "$TERNCTL" --redis-url="$URL" --wg-public-key="$SP" peer list |
	   awk 'NR == 2 { print $1, ($2 != "never") }')" "$P1 1"
