#!/bin/bash
# A fleet of two ternd nodes sharing one real redis-server (issue 4): a nonce
# from node A is accepted by node B, user-quota counts a user's allocations
# on both nodes, and /stats on either node gives the fleet's totals.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli

plan 27

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
PA=$(port_pick 1) || bail "no free ports"
PB=$(port_pick 1) || bail "no free ports"
PEER=$(port_pick 1) || bail "no free ports"
"$PYTHON" "$INTEROP_DIR/restore.py" echo --peer-port "$PEER" >"$T/echo.log" 2>&1 &
_bg_pids+=($!)
node() { # node ID PORT ARGS...
	local id=$1 port=$2
	shift 2
	tern_start --listening-ip=127.0.0.1 --listening-port="$port" --relay-ip=127.0.0.1 --no-tcp \
		--no-tls --no-dtls --user=alice:secret --user=bob:hunter2 --user=carol:pw --user=dave:pw --realm=tern.test \
		--allow-loopback-peers --user-quota=2 --redis-url="redis://127.0.0.1:$RP/3" \
		--node-id="$id" "$@"
}
# client NAME PORT ARGS...: one allocation with a channel, its state in $T/NAME.json
client() {
	local name=$1 port=$2
	shift 2
	"$PYTHON" "$INTEROP_DIR/restore.py" setup --clients 1 --port "$port" --peer-port "$PEER" \
		--state "$T/$name.json" "$@" | sed -n 's/^setup=//p'
}
release() { # release NAME PORT
	"$PYTHON" "$INTEROP_DIR/restore.py" release --port "$2" --peer-port "$PEER" \
		--state "$T/$1.json" | sed -n 's/^release=//p'
}
json() { "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
stats() { stuntool http "http://$1/stats" --body "$T/stats.json" >/dev/null && cat "$T/stats.json"; }

check "node a starts" node a "$PA" || exit 0
A_STATS=$STATS A_LOG=$TERN_LOG
check "node b starts" node b "$PB" || exit 0
B_STATS=$STATS B_PID=$TERN_PID

# both nodes have taken the fleet's nonce secret once their workers connected
is "the fleet's nonce secret is in Redis" "$(wait_for 3 1 rcli EXISTS tern:nonce-secret)" "1"
out=$("$PYTHON" "$INTEROP_DIR/restore.py" nonce --port "$PA" --port-b "$PB" --user carol --password pw)
is "node a challenges an unsigned Allocate (401)" "$(kv first "$out")" "401"
is "node b accepts node a's nonce: no 438" "$(kv second "$out")" "ok"

is "alice's first allocation, on node a" "$(client a1 "$PA")" "ok"
is "alice's second, on node b" "$(client b1 "$PB")" "ok"
is "each node reports alice's count: tern:users:{a}, tern:users:{b}" \
	"$(wait_for 3 1 rcli HGET 'tern:users:{a}' alice) $(wait_for 3 1 rcli HGET 'tern:users:{b}' alice)" "1 1"
sleep 1 # node a reads node b's count when b announces it
is "a third on node a: 486, the quota counts node b's" "$(client a2 "$PA")" "allocate 0: 486"
is "bob is not limited by alice's quota" "$(client bob "$PA" --user bob --password hunter2)" "ok"
is "alice releases on node b" "$(release b1 "$PB")" "ok"
got=
for _ in $(seq 30); do
	got=$(client a3 "$PA")
	[ "$got" = ok ] && break
	sleep 0.1
done
is "then node a takes alice's next one" "$got" "ok"

# /stats: every node's allocations, as the registry last had them
fleet_total() { stats "$A_STATS" | json 'str(d["fleet"]["nodes"]) + " " + str(d["fleet"]["allocations"])'; }
is "/stats on node a: two nodes, four allocations in the fleet (carol's on b)" "$(wait_for 7 "2 4" fleet_total)" "2 4"
is "/stats on node a: its own node" \
	"$(stats "$A_STATS" | json 'd["node"]["id"] + " " + str(d["node"]["allocations"]) + " " + d["node"]["store"]')" \
	"a 3 up"
fleet_b() { stats "$B_STATS" | json 'str(d["fleet"]["nodes"]) + " " + str(d["fleet"]["allocations"])'; }
is "/stats on node b agrees on the fleet" "$(wait_for 7 "2 4" fleet_b)" "2 4"
is "tern_fleet_nodes and tern_fleet_allocations on node b" \
	"$(tern_metric tern_fleet_nodes) $(tern_metric tern_fleet_allocations)" "2 4"

# a full node (total-quota reached) sends new Allocates to the least loaded
# other live node: b (carol's one) rather than a (three)
PC=$(port_pick 1) || bail "no free ports"
check "node c starts, total-quota=1" node c "$PC" --total-quota=1 || exit 0
alloc() { "$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$1" --user dave --password pw; }
is "node c takes dave's Allocate" "$(kv allocate "$(alloc "$PC")")" "ok"
sleep 2 # node c reads the registry when its subscription comes up
out=$(alloc "$PC")
is "then, full, answers 300 with node b's address in ALTERNATE-SERVER" \
	"$(kv allocate "$out") $(kv alternate "$out")" "300 127.0.0.1:$PB"
is "tern_allocations_redirected_total 1" "$(tern_metric tern_allocations_redirected_total)" "1"
is "node b takes it there" "$(kv allocate "$(alloc "$PB")")" "ok"

# a draining node (SIGUSR1) sends new Allocates elsewhere too: b to a (c is full)
kill -USR1 "$B_PID"
sleep 1.5 # b reads the registry again at its next beat or message; a's entry says not full
out=$(alloc "$PB")
is "node b, draining, answers 300 naming node a" "$(kv allocate "$out") $(kv alternate "$out")" \
	"300 127.0.0.1:$PA"
is "node b's registry entry says full" "$(wait_for 6 1 rcli HGET 'tern:node:{b}' full)" "1"

# a node behind 1:1 NAT (external-ip=public/private) is named by its public
# address: the registry says where clients reach it, and so does a 300
PD=$(port_pick 1) || bail "no free ports"
check "node d starts with external-ip=203.0.113.9/127.0.0.1" \
	node d "$PD" --external-ip=203.0.113.9/127.0.0.1
is "its registry entry gives its public address" \
	"$(wait_for 3 "udp 203.0.113.9:$PD" rcli HGET 'tern:node:{d}' public)" "udp 203.0.113.9:$PD"
sleep 2 # node c reads the registry again (node d announced itself)
out=$(alloc "$PC")
is "node c, full, now names node d (no allocations) at its public address" \
	"$(kv allocate "$out") $(kv alternate "$out")" "300 203.0.113.9:$PD"
