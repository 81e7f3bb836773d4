#!/bin/bash
# The Redis store's connection and the fleet's node registry, against a real
# redis-server this test starts on a loopback port: the node's entry and its
# expiry, /readyz and tern_store_up through an outage (ternd keeps answering
# STUN and TURN from its own state meanwhile), the registry written again
# into a Redis that restarted empty, AUTH with a password (and a wrong one,
# which must be reported, not hidden), and --check refusing bad settings.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli

plan 24

redis_pick
readyz() { stuntool http "http://$STATS/readyz" | sed -n 's/^body=//p'; }

check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with redis-url (db 3) and node-id n1" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --no-tls --no-dtls \
	--user=alice:secret --realm=tern.test --workers=2 \
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=n1 || exit 0

is "the node registers: tern:node:{n1} id" "$(wait_for 3 n1 rcli HGET 'tern:node:{n1}' id)" "n1"
is "tern:nodes lists n1" "$(rcli SISMEMBER tern:nodes n1)" "1"
is "the entry names its workers and listeners" \
	"$(rcli HGET 'tern:node:{n1}' workers) $(rcli HGET 'tern:node:{n1}' listening)" \
	"2 udp 127.0.0.1:$P tcp 127.0.0.1:$P"
ttl=$(rcli TTL 'tern:node:{n1}')
if [ "$ttl" -ge 1 ] 2>/dev/null && [ "$ttl" -le 15 ]; then
	ok "the entry expires within 15 s unless renewed (TTL $ttl)"
else
	not_ok "the entry expires within 15 s unless renewed" "TTL: $ttl"
fi
is "/readyz: ok" "$(readyz)" "ok"
is "tern_store_up 1" "$(tern_metric tern_store_up)" "1"

redis_stop
is "Redis gone: /readyz says degraded" \
	"$(wait_for 3 'degraded: redis unreachable' readyz)" "degraded: redis unreachable"
is "tern_store_up 0" "$(tern_metric tern_store_up)" "0"
is "STUN Binding still answered" \
	"$(kv class "$(stuntool binding --server 127.0.0.1 --port "$P")")" "success"
is "a TURN allocation still made from local state" \
	"$(timeout 20 "$PYTHON" "$INTEROP_DIR/tcprelay.py" udpalloc --server 127.0.0.1 \
		--port "$P" --transport udp | sed -n 's/^allocate=//p')" "ok"
check "the outage is logged once, as a warning" \
	test "$(grep -c 'runs on its own state' "$TERN_LOG")" -eq 1

check "redis-server restarts, empty" redis_start || exit 0
is "the registry is written again into the empty Redis" \
	"$(wait_for 8 n1 rcli HGET 'tern:node:{n1}' id)" "n1"
is "/readyz: ok again" "$(wait_for 3 ok readyz)" "ok"
r=$(tern_metric tern_store_reconnects_total)
if [ "$r" -ge 1 ] 2>/dev/null; then
	ok "tern_store_reconnects_total counted the retries ($r)"
else
	not_ok "tern_store_reconnects_total counted the retries" "got: $r"
fi
check "ternd exits 0 on SIGTERM within 5 s" tern_stop
redis_stop

REDIS_PW=s3cret
check "redis-server restarts with a password" redis_start --requirepass "$REDIS_PW" || exit 0
check "ternd starts with redis://:password@" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --no-tls --no-dtls \
	--redis-url="redis://:$REDIS_PW@127.0.0.1:$RP/3" --node-id=n2 || exit 0
is "the node registers through AUTH" "$(wait_for 3 n2 rcli HGET 'tern:node:{n2}' id)" "n2"
check "a second ternd with a wrong password starts" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$((P + 1))" --no-tls --no-dtls \
	--redis-url="redis://:wrong@127.0.0.1:$RP/3" --node-id=n3 || exit 0
is "wrong password: degraded, refusal logged, not registered" \
	"$(wait_for 3 'degraded: redis unreachable' readyz) $(grep -q 'AUTH refused' "$TERN_LOG" && echo logged) $(rcli EXISTS 'tern:node:{n3}')" \
	"degraded: redis unreachable logged 0"

out=$("$TERND" -n --check --redis-url=rediss://127.0.0.1 2>&1)
rc=$?
is "--check refuses rediss:// (no TLS in this hiredis), naming the option" \
	"$rc $(grep -c 'redis-url.*TLS' <<<"$out")" "2 1"
