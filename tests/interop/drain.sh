#!/bin/bash
# Draining (coturn's SIGUSR1 and drain-min-allocations): after SIGUSR1 ternd
# takes no new allocation (508 with no fleet to send it to), says so on
# /readyz (503, so a load balancer stops sending clients), keeps serving the
# allocations it has, and stops by itself once no more than
# drain-min-allocations remain.
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 8

P=$(port_pick 1) || bail "no free ports"
check "ternd starts, drain-min-allocations=0" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp \
	--no-tls --no-dtls --user=alice:secret --realm=tern.test --drain-min-allocations=0 || exit 0
r() { "$PYTHON" "$INTEROP_DIR/restore.py" "$@" --port "$P" --state "$T/alloc.json"; }
is "an allocation is made" "$(r setup --no-channel --clients 1 | sed -n 's/^setup=//p')" "ok"
kill -USR1 "$TERN_PID"
sleep 0.5
out=$(stuntool http "http://$STATS/readyz")
is "after SIGUSR1, /readyz: 503 draining" "$(kv status "$out") $(sed -n 's/^body=//p' <<<"$out")" \
	"503 draining"
is "tern_draining 1" "$(tern_metric tern_draining)" "1"
is "a new Allocate: 508" "$("$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$P" |
	sed -n 's/^allocate=//p')" "508"
is "the allocation it has still refreshes" "$(r resume --refresh | sed -n 's/^refreshed=//p')" "1"
is "when it goes (Refresh 0)..." "$(r release --index 0 | sed -n 's/^release=//p')" "ok"
for _ in $(seq 30); do kill -0 "$TERN_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$TERN_PID" 2>/dev/null; then
	not_ok "...ternd stops by itself, status 0" "still running 3 s later"
else
	wait "$TERN_PID"
	is "...ternd stops by itself, status 0" "$? $(grep -c 'drained: 0 allocations left' "$TERN_LOG")" "0 1"
fi
