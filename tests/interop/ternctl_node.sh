#!/bin/bash
# ternctl on a node's stats endpoint (issue 13, item 1), so a single node
# without Redis has a command-line view: stats (table and JSON), the node's
# allocations (by user, paged, JSON), reload (SIGHUP's work) and drain
# (SIGUSR1's); the endpoint and token found from -c ternd.conf or given;
# stats-token required by /allocations and the POSTs once set, and by
# ternd itself when stats-listen is not on loopback; clear errors and exit
# codes with the node down or the token wrong. With Redis, stats shows the
# fleet too; with Redis down, ternctl's Redis commands exit 3 saying so,
# while the node's own view still answers.
. "$(dirname "$0")/lib.sh"
need python3 redis-server redis-cli

plan 26

P=$(port_pick 1) || bail "no free ports"
TOKEN=tok-$$-0123456789abcdef
check "ternd starts with its defaults, two users and a stats-token" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --realm=tern.test \
	--user=alice:secret --user=bob:hunter2 --stats-token="$TOKEN" || exit 0
tc() { "$TERNCTL" --stats-url="http://$STATS" "$@" 2>&1; }
rc() { "$TERNCTL" "$@" >"$T/out" 2>&1; echo "$? $(head -c 200 "$T/out" | tr '\n' ' ')"; }
alloc() { "$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$P" --user "$1" --password "$2"; }

for _ in 1 2 3; do alloc alice secret >/dev/null; done
alloc bob hunter2 >/dev/null
out=$(tc stats)
like "stats: this node, its store and its allocations, as a table" "$out" \
	"allocations  4"
is "stats --json: the same for scripts" \
	"$(tc stats --json | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["node"]["allocations"], d["node"]["store"], d["fleet"]["nodes"])')" \
	"4 memory 1"
is "allocations without the token: exit 1, said" "$(rc --stats-url="http://$STATS" allocations)" \
	"1 ternctl: the node at http://$STATS wants its stats-token (--stats-token, or -c with the node's ternd.conf) "
A=(--stats-url="http://$STATS" --stats-token="$TOKEN")
out=$(tc "${A[@]}" allocations)
is "allocations: a row each, and a count" \
	"$(grep -c ' udp  udp  alice ' <<<"$out") $(grep -c ' udp  udp  bob ' <<<"$out") $(tail -n 1 <<<"$out")" \
	"3 1 4 shown of 4, from 0"
is "allocations --user bob --json: bob's, with the relayed address and lifetime" \
	"$(tc "${A[@]}" allocations --user bob --json | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); a=d["allocations"][0]; print(d["total"], a["user"], a["transport"], a["relay"], len(a["relayed"]), 590 < a["lifetime_left"] <= 600)')" \
	"1 bob udp udp 1 True"
is "allocations paged: --limit 2 --offset 3 shows the last one" \
	"$(tc "${A[@]}" allocations --limit 2 --offset 3 --json | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], len(d["allocations"]), d["offset"], d["limit"])')" \
	"4 1 3 2"
is "TERN_STATS_TOKEN works too" \
	"$(TERN_STATS_TOKEN=$TOKEN "$TERNCTL" --stats-url="http://$STATS" allocations --user nobody | tail -n 1)" \
	"0 shown of 0, from 0"
is "a bad limit: exit 1, said by the node" \
	"$(rc "${A[@]}" allocations --limit 99999)" \
	"1 ternctl: the node at http://$STATS answered 400: offset= and limit= are numbers (limit at most 10000) "
is "an unknown option: exit 2" "$(rc "${A[@]}" allocations --frob | cut -d' ' -f1)" 2
is "reload without the token: refused" "$(rc --stats-url="http://$STATS" reload | cut -c1-1)" 1
is "reload: accepted" "$(tc "${A[@]}" reload)" "reloading"
like "and ternd did SIGHUP's work" "$(wait_for 3 1 sh -c "grep -c 'SIGHUP: log reopened' '$TERN_LOG'")" "^1$"
check "ternd stops cleanly" tern_stop
is "the node down: exit 4, said" "$(rc "${A[@]}" stats)" \
	"4 ternctl: the node at http://$STATS: cannot connect (refused or unreachable) "

# the endpoint and token from the node's own file
check "ternd starts again" tern_start --listening-ip=127.0.0.1 --listening-port="$P" \
	--stats-token="$TOKEN" || exit 0
printf 'listening-ip=127.0.0.1\nlistening-port=%s\nstats-listen=%s\nstats-token=%s\n' \
	"$P" "$STATS" "$TOKEN" >"$T/ternd.conf"
SP=$(port_pick 1) || bail "no free ports"
is "ternctl -c ternd.conf allocations: the endpoint and token from the file" \
	"$("$TERNCTL" -c "$T/ternd.conf" allocations 2>&1 | tail -n 1)" "0 shown of 0, from 0"
is "ternctl -c ternd.conf drain: accepted" "$("$TERNCTL" -c "$T/ternd.conf" drain 2>&1)" "draining"
is "and with no allocations ternd stops by itself" \
	"$(wait_for 5 gone sh -c "kill -0 $TERN_PID 2>/dev/null && echo running || echo gone") $(grep -c 'drained: 0 allocations left, stopping' "$TERN_LOG")" \
	"gone 1"

is "stats-listen on a non-loopback address without stats-token: ternd refuses to start" \
	"$("$TERND" -n --listening-ip=127.0.0.1 --listening-port="$P" --stats-listen=0.0.0.0:"$SP" 2>&1 | tail -n 1)" \
	"command line: stats-listen: 0.0.0.0:$SP is not a loopback address, and the endpoint serves /allocations and admin actions: set stats-token"

redis_pick
check "redis-server starts" redis_start || exit 0
check "ternd starts with redis-url" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --realm=tern.test \
	--user=alice:secret --redis-url="redis://127.0.0.1:$RP/3" --node-id=node-a || exit 0
like "stats with Redis: the fleet, this node in it" \
	"$(wait_for 5 1 sh -c "'$TERNCTL' --stats-url='http://$STATS' stats | grep -c '^node-a '")" "^1$"
redis_stop
R=(--redis-url="redis://127.0.0.1:$RP/3" --realm=tern.test)
is "Redis down: user list exits 3, said" "$(rc "${R[@]}" user list)" \
	"3 ternctl: redis: Connection refused "
is "nodes likewise" "$(rc "${R[@]}" nodes)" "3 ternctl: redis: Connection refused "
like "while the node's own view still answers, saying the store is down" \
	"$(wait_for 5 1 sh -c "'$TERNCTL' --stats-url='http://$STATS' stats | grep -ci 'down'")" \
	"^[1-9]"
