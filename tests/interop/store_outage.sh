#!/bin/bash
# Redis goes away under load (issue 4): turnutils_uclient relays through a
# ternd whose state is in a real redis-server; Redis is killed mid-run and
# comes back empty. Nothing relayed may be lost, new allocations go on from
# local state, and once Redis answers again it holds every live allocation's
# record and the node's counts again. With redis-required, new allocations
# are refused (508) while Redis is away.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli turnutils_uclient turnutils_peer

plan 17

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes on 127.0.0.1" peer_start "$PP" 127.0.0.1 || exit 0
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with redis-url" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp \
	--no-tls --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
	--workers=2 --redis-url="redis://127.0.0.1:$RP/3" --node-id=o1 ||
	exit 0
readyz() { stuntool http "http://$STATS/readyz" | sed -n 's/^body=//p'; }
udpalloc() {
	timeout 20 "$PYTHON" "$INTEROP_DIR/tcprelay.py" udpalloc --server 127.0.0.1 --port "$1" \
		--transport udp | sed -n 's/^allocate=//p'
}
records() { rcli --scan --pattern 'tern:alloc:{o1}:*' | grep -c .; }
live() { tern_metric tern_allocations family=ipv4; }
agree() { echo "$(records) $(rcli HGET 'tern:users:{o1}' alice)"; }

# 10 clients, 500 messages each at uclient's 50 a second: about 10 s
uclient "$T/uc" -p "$P" -u alice -w secret -r "$PP" -l 120 -m 10 -n 500 -X -e 127.0.0.1 \
	127.0.0.1 &
UC=$!
sleep 3
redis_stop
is "Redis killed mid-run: /readyz says degraded" \
	"$(wait_for 3 'degraded: redis unreachable' readyz)" "degraded: redis unreachable"
out=$(timeout 20 "$PYTHON" "$INTEROP_DIR/tcprelay.py" udpalloc --server 127.0.0.1 --port "$P" \
	--transport udp)
is "a new allocation is made from local state meanwhile" "$(sed -n 's/^allocate=//p' <<<"$out")" "ok"
RELAYED=$(sed -n 's/^relayed=//p' <<<"$out")
sleep 2
check "redis-server comes back, empty" redis_start || exit 0
wait "$UC"
rc=$?
is "uclient relayed every message through the outage: none lost" \
	"$rc $(uclient_totals "$T/uc")" "0 5000 5000 0"
is "/readyz: ok again" "$(wait_for 8 ok readyz)" "ok"
n=$(live)
is "every live allocation has its record again, and the user's count ($n)" \
	"$(wait_for 3 "$n $n" agree)" "$n $n"
is "the allocation made during the outage is among them ($RELAYED)" \
	"$(rcli EXISTS "tern:alloc:{o1}:$RELAYED")" "1"
is "the fleet's nonce secret is back too" "$(wait_for 3 1 rcli EXISTS tern:nonce-secret)" "1"
is "no record deletions were lost" "$(tern_metric tern_store_deletes_lost_total)" "0"

# redis-required: no new allocations while Redis is away
P2=$(port_pick 1) || bail "no free ports"
check "a second ternd starts with redis-required" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P2" --relay-ip=127.0.0.1 --no-tcp \
	--no-tls --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=o2 --redis-required || exit 0
is "redis-required, Redis up: allocation made" "$(udpalloc "$P2")" "ok"
redis_stop
wait_for 3 'degraded: redis unreachable' readyz >/dev/null
is "redis-required, Redis away: 508" "$(udpalloc "$P2")" "508"
check "redis-server comes back" redis_start || exit 0
wait_for 8 ok readyz >/dev/null
is "redis-required, Redis back: allocation made" "$(udpalloc "$P2")" "ok"
