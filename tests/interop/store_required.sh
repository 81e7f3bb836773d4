#!/bin/bash
# redis-required: an Allocate is answered only once Redis has acknowledged
# the new allocation's record (issue 13, item 9). With Redis answering, the
# record is in Redis by the time the success answer arrives, every time.
# With Redis stalled (SIGSTOP), an Allocate waits the bound (1 s) and
# gets 508, its allocation released and, once Redis wakes, its record
# deleted again; the metric counts it. Without redis-required the same
# stall does not delay the answer (the record follows it onto the socket).
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli

plan 14

restore_world
ARGS=(--listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1
	--user=alice:secret --realm=tern.test --allow-loopback-peers
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=q1)
records() { rcli --scan --pattern 'tern:alloc:{q1}:*' | grep -c . ; }
# timed_alloc: "CODE SECONDS" of one Allocate
timed_alloc() {
	local t0 t1 out
	t0=$(date +%s.%N)
	out=$(restore alloc)
	t1=$(date +%s.%N)
	echo "$(kv allocate "$out") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}
check "ternd starts with redis-url and redis-required" \
	tern_start "${ARGS[@]}" --redis-required || exit 0

n=0
for i in $(seq 20); do
	before=$(records)
	[ "$(kv allocate "$(restore alloc)")" = ok ] && [ "$(records)" -eq $((before + 1)) ] &&
		n=$((n + 1))
done
is "20 Allocates: each record was in Redis when its success arrived" "$n" 20

kill -STOP "$REDIS_PID"
read -r code secs <<<"$(timed_alloc)"
is "with Redis stalled, the Allocate gets 508" "$code" 508
like "after the bound of about a second ($secs s)" "$secs" '^(0\.9|1\.[0-4])'
is "tern_allocations_unacknowledged_total counts it" \
	"$(tern_metric tern_allocations_unacknowledged_total)" 1
kill -CONT "$REDIS_PID"
is "once Redis is back, its record is gone: only the 20 remain" \
	"$(wait_for 3 20 records)" 20
is "and the next Allocate is answered at once" "$(kv allocate "$(restore alloc)")" ok
is "tern_allocations: 21 held, none for the refused one" \
	"$(tern_metric tern_allocations family=ipv4)" 21
check "ternd stops cleanly" tern_stop

check "ternd starts without redis-required" tern_start "${ARGS[@]}" || exit 0
kill -STOP "$REDIS_PID"
read -r code secs <<<"$(timed_alloc)"
kill -CONT "$REDIS_PID"
is "then a stalled Redis does not hold the answer" "$code" ok
like "which came at once ($secs s)" "$secs" '^0\.[0-4]'
check "ternd stops cleanly" tern_stop
