#!/bin/bash
# No confirmed allocation lost to a crash (issue 13, item 9). A client
# allocates through a ternd whose state is in Redis; the moment the success
# answer is in, ternd gets SIGKILL. It is started again with the same node
# id, and the client, on the same 5-tuple, binds a channel and gets its echo
# through the same relayed address: the allocation it was told it has is
# there. Done ROUNDS times, each with its own kill. Before the fix the
# record reached Redis with the next 50 ms write-behind batch, so a crash
# in that window lost the allocation.
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli

ROUNDS=10
plan $((3 * ROUNDS + 2))

restore_world
ARGS=(--listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1
	--user=alice:secret --realm=tern.test --allow-loopback-peers
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=c1)
check "ternd starts with its defaults and redis-url" tern_start "${ARGS[@]}" || exit 0

for r in $(seq "$ROUNDS"); do
	out=$(restore setup --clients 1 --no-channel --kill "$TERN_PID")
	ms=$(kv kill_ms "$out")
	if [ "$(kv clients "$out")" = 1 ] && awk -v m="${ms:-99}" 'BEGIN { exit !(m < 5) }'; then
		ok "round $r: Allocate answered, SIGKILL $ms ms later"
	else
		not_ok "round $r: Allocate answered, SIGKILL within 5 ms" "$out"
	fi
	wait "$TERN_PID" 2>/dev/null
	check "round $r: ternd starts again, same node id" tern_start "${ARGS[@]}" || exit 0
	out=$(restore resume --bind)
	is "round $r: the client's allocation relays again, through the same relayed address" \
		"$(kv echoed "$out") $(kv same_relayed "$out") $(kv wrong "$out")" "1 1 none"
done
