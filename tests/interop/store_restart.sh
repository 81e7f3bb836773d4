#!/bin/bash
# Restart without losing allocations (issue 4): UDP clients allocate and bind
# a channel through a ternd whose state is in a real redis-server; ternd is
# killed (SIGKILL, then SIGTERM) and started again with the same node id;
# the same clients, on the same 5-tuples, keep sending ChannelData and get
# their echoes back through the same relayed addresses, with no new
# Allocate. Two workers, so the restore must also put each allocation on the
# worker its client's datagrams reach. A record that expired meanwhile is not
# restored; a deleted allocation's record goes. Meanwhile tern:events carries
# an event for each allocation made, changed, deleted and relaying.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli

plan 30

N=8
restore_world
ARGS=(--listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp --no-tls
	--no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers --workers=2
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=r1 --traffic-interval=1)
records() { rcli --scan --pattern 'tern:alloc:{r1}:*' | grep -c .; }
# the records that carry the channel: written by the workers after ChannelBind
bound() { for k in $(rcli --scan --pattern 'tern:alloc:{r1}:*'); do rcli GET "$k"; done | grep -c 'ch=16384,'; }
restored() { sed -n 's/.*restored \([0-9]*\) allocations.*/\1/p' "$TERN_LOG"; }
expired() { sed -n 's/.*restored .*(\([0-9]*\) expired.*/\1/p' "$TERN_LOG"; }

redis-cli -p "$RP" SUBSCRIBE tern:events >"$T/events" 2>&1 &
_bg_pids+=($!)
# events NAME: how many events of that name, each a valid JSON object from r1
events() {
	grep '^{' "$T/events" | "$PYTHON" -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    assert e["node"] == "r1" and "time_ms" in e and "client" in e, line
    n += e["event"] == sys.argv[1]
print(n)' "$1"
}
# events_with_channel: clients with an event that counts one channel (the
# "allocated" one is written before the ChannelBind; a "refreshed" one has it)
events_with_channel() {
	grep '^{' "$T/events" | "$PYTHON" -c '
import json, sys
print(len({e["client"] for e in map(json.loads, sys.stdin)
           if e["event"] in ("allocated", "refreshed") and e.get("channels") == 1}))'
}
check "ternd starts with redis-url and two workers" tern_start "${ARGS[@]}" || exit 0
out=$(restore setup --clients "$N")
is "$N clients allocate, bind a channel and get an echo" "$(kv setup "$out") $(kv clients "$out")" "ok $N"
is "each has its record in Redis, channel included" "$(wait_for 3 "$N" bound)" "$N"
is "tern:events: an \"allocated\" event for each" "$(wait_for 3 "$N" events allocated)" "$N"
is "each client's channel shows in its \"allocated\" or a later \"refreshed\" event" \
	"$(wait_for 3 "$N" events_with_channel)" "$N"
is "and \"traffic\" for each, with what it relayed" "$(wait_for 3 "$N" events traffic)" "$N"
ttl=$(rcli PTTL "$(rcli --scan --pattern 'tern:alloc:{r1}:*' | head -n1)")
if [ "$ttl" -gt 590000 ] 2>/dev/null && [ "$ttl" -le 600000 ]; then
	ok "a record expires with its allocation (PTTL $ttl ms)"
else
	not_ok "a record expires with its allocation" "PTTL: $ttl"
fi

kill -KILL "$TERN_PID"
wait "$TERN_PID" 2>/dev/null
check "ternd starts again after SIGKILL, same node id" tern_start "${ARGS[@]}" || exit 0
is "it restored all $N allocations" "$(restored)" "$N"
is "tern_allocations counts them" "$(tern_metric tern_allocations family=ipv4)" "$N"
out=$(restore resume --refresh)
is "the same 5-tuples' ChannelData is relayed again" "$(kv echoed "$out")/$(kv clients "$out")" "$N/$N"
is "through the same relayed addresses" "$(kv same_relayed "$out") $(kv wrong "$out")" "$N none"
is "and their Refresh is accepted, with no new Allocate" \
	"$(kv refreshed "$out") $(tern_metric tern_allocations_total)" "$N 0"
is "tern_allocations_restored_total $N" "$(tern_metric tern_allocations_restored_total)" "$N"

check "ternd stops on SIGTERM" tern_stop
is "a stop is not a deletion: the records stay" "$(records)" "$N"
check "ternd starts again after SIGTERM" tern_start "${ARGS[@]}" || exit 0
is "it restored all $N allocations again" "$(restored)" "$N"
out=$(restore resume)
is "ChannelData relayed again, same relayed addresses" \
	"$(kv echoed "$out") $(kv same_relayed "$out")" "$N $N"

out=$(restore release --index 0)
is "client 0 deletes its allocation (Refresh 0)" "$(kv release "$out")" "ok"
is "its record goes from Redis" "$(wait_for 3 $((N - 1)) records)" "$((N - 1))"
is "tern:events: \"deleted\", with its totals" \
	"$(wait_for 3 1 events deleted) $(grep '"event":"deleted"' "$T/events" | grep -c '"to_client_packets":[1-9]')" "1 1"

# make client 1's record expired, as if the node had been down past its lifetime
k="tern:alloc:{r1}:$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["relayed"])' "$T/state.json")"
v=$(rcli GET "$k" | sed -E 's/ e=[0-9]+ / e=1000 /')
rcli SET "$k" "$v" >/dev/null
kill -KILL "$TERN_PID"
wait "$TERN_PID" 2>/dev/null
check "ternd starts again" tern_start "${ARGS[@]}" || exit 0
is "the expired record is not restored, and is removed" \
	"$(restored) $(expired) $(rcli EXISTS "$k")" "$((N - 2)) 1 0"
out=$(restore resume)
is "the others relay on" "$(kv echoed "$out")" "$((N - 2))"

# what changed last before a stop is written before ternd exits: client 7
# deletes its allocation and SIGTERM follows at once (within the 50 ms the
# workers otherwise wait before writing)
out=$(restore release --index 7)
check "ternd stops on SIGTERM right after a deletion" tern_stop
is "client 7's deletion reached Redis before the exit" \
	"$(kv release "$out") $(records)" "ok $((N - 3))"
check "ternd starts again" tern_start "${ARGS[@]}" || exit 0
is "it restored the other $((N - 3))" "$(restored)" "$((N - 3))"
