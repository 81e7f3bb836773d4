#!/bin/bash
# One node id, one live ternd (issue 9, defect 2). Two ternd sharing a Redis
# and a node-id used to merge silently: the same registry entry, user counts
# and allocation records. Now a second ternd with a live node's id refuses
# to start, exits 1 and names the holder, on the same host (decided from
# /proc at once) and from another PID namespace (decided by watching the
# holder's heartbeat); the holder's entry is left as it was. A holder that
# is gone is taken over with its records: after a SIGKILL, a ternd in
# another PID namespace with the same id takes the entry over once the
# dead one's heartbeat has stood still, and relays the old allocation on.
# (The same-host SIGKILL restart is store_restart.sh's.)
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli unshare

plan 15

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
PA=$(port_pick 1) || bail "no free ports"
PB=$(port_pick 1) || bail "no free ports"
PEER=$(port_pick 1) || bail "no free ports"
"$PYTHON" "$INTEROP_DIR/restore.py" echo --peer-port "$PEER" >"$T/echo.log" 2>&1 &
_bg_pids+=($!)
args() { # args PORT: a node called n1 on PORT
	echo --listening-ip=127.0.0.1 --listening-port="$1" --relay-ip=127.0.0.1 --no-tcp \
		--no-tls --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
		--workers=2 --redis-url="redis://127.0.0.1:$RP/3" --node-id=n1
}
restore() { "$PYTHON" "$INTEROP_DIR/restore.py" "$@" --port "$PA" --peer-port "$PEER" --state "$T/state.json"; }
# second NAME WRAPPER... : a ternd with n1's id on PB, run to its end (at
# most 30 s); its status and log in $T/NAME.rc and $T/NAME.log
second() {
	local name=$1 s
	shift
	s=$(port_pick 1) || bail "no free ports"
	timeout -k 5 30 "$@" "$TERND" -n --stats-listen="127.0.0.1:$s" $(args "$PB") \
		>"$T/$name.log" 2>&1
	echo $? >"$T/$name.rc"
}
# a wrapper that runs ternd as PID 1 of a new PID namespace, so its /proc
# cannot see the other ternd: as if it ran on another host
NS=(unshare --pid --fork --kill-child=SIGTERM --mount-proc)
entry() { rcli HMGET 'tern:node:{n1}' "$@" | tr '\n' ' ' | sed 's/ $//'; }

check "node n1 starts" tern_start $(args "$PA") || exit 0
A_PID=$TERN_PID
out=$(restore setup --clients 1)
is "a client allocates on it and binds a channel" "$(kv setup "$out")" "ok"
is "its registry entry names it" "$(wait_for 3 "$A_PID" entry pid)" "$A_PID"
token=$(entry token)

second same-host
is "a second ternd with node-id n1 on the same host exits 1" "$(cat "$T/same-host.rc")" "1"
if grep -q "node-id 'n1' is held by another live ternd (pid $A_PID on .*listening udp 127.0.0.1:$PA" \
	"$T/same-host.log"; then
	ok "it says why: the id, the holder's pid and its listeners"
else
	not_ok "it says why: the id, the holder's pid and its listeners" "$(cat "$T/same-host.log")"
fi
is "the entry is the first node's still, and it serves on" \
	"$(entry token pid) $(restore resume | sed -n 's/^echoed=//p')" "$token $A_PID 1"

second other-ns "${NS[@]}"
is "one in another PID namespace exits 1 too, having seen n1's heartbeat" \
	"$(cat "$T/other-ns.rc")" "1"
if grep -q "node-id 'n1' is held by another live ternd (pid $A_PID" "$T/other-ns.log"; then
	ok "and says why"
else
	not_ok "and says why" "$(cat "$T/other-ns.log")"
fi
is "the entry is still the first node's" "$(entry token pid)" "$token $A_PID"

kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null
is "n1 is SIGKILLed: its entry lives on for a while" "$(entry token)" "$token"
TERND_REAL=$TERND
printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${NS[*]}" "$TERND_REAL" >"$T/ternd-ns"
chmod +x "$T/ternd-ns"
TERND=$T/ternd-ns
# the watch takes about 7 s of the wait for "ready"
TERN_START_WAIT=30
check "a ternd in another PID namespace with node-id n1 starts" tern_start $(args "$PA") ||
	exit 0
TERND=$TERND_REAL TERN_START_WAIT=10
if grep -q "the process that held this node-id (pid $A_PID on .*) is gone: taking" "$TERN_LOG"; then
	ok "it took the dead node's entry over"
else
	not_ok "it took the dead node's entry over" "$(cat "$TERN_LOG")"
fi
is "and restored its allocation" \
	"$(sed -n 's/.*restored \([0-9]*\) allocations.*/\1/p' "$TERN_LOG")" "1"
out=$(restore resume)
is "the client's ChannelData is relayed on, through the same relayed address" \
	"$(kv echoed "$out") $(kv same_relayed "$out")" "1 1"
kill -KILL "$TERN_PID"
wait "$TERN_PID" 2>/dev/null
