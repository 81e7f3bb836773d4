#!/bin/bash
# Stream connections are bounded (issue 9, defect 3): 5,000 TCP connections
# that never sent a byte used to stay open, each holding a file descriptor.
# With ternd's defaults, 5,000 idle connections from one address: the
# per-source cap (1000) refuses the rest at once, and the ones let in are
# closed when no first message came within stream-handshake-timeout (10 s),
# all counted in tern_stream_closed_total by reason and logged once per
# source, while a well-behaved client on another address gets its Binding
# answer and its allocation relays (coturn's turnutils_uclient over TCP).
# A TLS client that stalls mid-handshake is closed. With a short
# stream-idle-timeout: a connection without an allocation is closed once
# quiet that long, one with an allocation is not (the allocation's lifetime
# governs); and max-stream-connections caps them all.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl turnutils_uclient turnutils_peer

plan 20

streams() { timeout 90 "$PYTHON" "$INTEROP_DIR/streams.py" "$@"; }
line() { tr '\n' ' ' <<<"$1" | sed 's/ $//'; }
PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes on 127.0.0.1" peer_start "$PP" 127.0.0.1 || exit 0
check "self-signed certificate made" make_certs "$T/certs" || exit 0

P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with its defaults, TCP and TLS" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" --no-dtls --relay-ip=127.0.0.1 \
	--user=alice:secret --realm=tern.test --allow-loopback-peers || exit 0

streams flood --port "$P" --bind 127.0.0.2 --count 5000 --fast 3 --wait 25 >"$T/flood" &
flood=$!
streams stall --port "$Q" --wait 25 >"$T/stall" &
stall=$!
sleep 3
out=$(stuntool binding --server 127.0.0.1 --port "$P" --proto tcp)
is "meanwhile, a client on 127.0.0.1 gets its Binding answer over TCP" "$(kv result "$out")" "ok"
relay_check "and its allocations relay (uclient over TCP)" 200 24000 3 \
	-t -p "$P" -u alice -w secret -r "$PP" -l 120 -m 2 -n 100 -z 5 -X -e 127.0.0.1 127.0.0.1
wait "$flood" "$stall"
out=$(cat "$T/flood")
diag <<<"$(line "$out")"
is "5000 idle connections from 127.0.0.2: 4000 refused at once" \
	"$(kv opened "$out") $(kv closed_fast "$out")" "5000 4000"
is "the other 1000 closed, none left open" "$(kv closed "$out") $(kv still_open "$out")" "5000 0"
at=$(kv last_closed_at "$out")
if "$PYTHON" -c "import sys; sys.exit(not 9 <= float(sys.argv[1]) <= 15)" "$at" 2>/dev/null; then
	ok "within the handshake deadline of 10 s (last at $at s)"
else
	not_ok "within the handshake deadline of 10 s" "last closed at: $at s"
fi
tern_metrics "$T/m"
is "tern_stream_closed_total: source_limit 4000, first_message_timeout 1000 (TCP)" \
	"$(tern_metric_in "$T/m" tern_stream_closed_total transport=tcp reason=source_limit) $(
	tern_metric_in "$T/m" tern_stream_closed_total transport=tcp reason=first_message_timeout)" \
	"4000 1000"
like "logged once for the source (by each worker it reached), not 5000 times" \
	"$(grep -c '127.0.0.2:[0-9]*: connection' "$TERN_LOG")" '^[12]$'
out=$(cat "$T/stall")
if "$PYTHON" -c "import sys; sys.exit(not 9 <= float(sys.argv[1]) <= 15)" \
	"$(kv closed_after "$out")" 2>/dev/null; then
	ok "a TLS client that stalls mid-handshake is closed ($(kv closed_after "$out") s)"
else
	not_ok "a TLS client that stalls mid-handshake is closed" "$out"
fi
is "and counted" "$(tern_metric_in "$T/m" tern_stream_closed_total transport=tls \
	reason=first_message_timeout)" "1"
is "nothing open is left but what the tests hold" "$(tern_metric tern_open_connections)" "0"
check "ternd exits 0 on SIGTERM" tern_stop

P=$(port_pick 1) || bail "no free ports"
check "ternd starts with stream-idle-timeout=2, max-stream-connections=20" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 \
	--user=alice:secret --realm=tern.test --stream-idle-timeout=2 --max-stream-connections=20 ||
	exit 0
out=$(streams idle --port "$P" --wait 10)
if [ "$(kv binding "$out")" = ok ] && "$PYTHON" -c \
	"import sys; sys.exit(not 1.5 <= float(sys.argv[1]) <= 4)" "$(kv closed_after "$out")" 2>/dev/null; then
	ok "a connection with no allocation is closed once quiet for 2 s ($(kv closed_after "$out") s)"
else
	not_ok "a connection with no allocation is closed once quiet for 2 s" "$out"
fi
out=$(streams quiet --port "$P" --quiet 5)
is "one with an allocation stays through 5 quiet seconds, and refreshes" \
	"$(kv allocate "$out") $(kv refresh "$out")" "ok ok"
out=$(streams flood --port "$P" --count 30 --fast 1 --wait 1)
is "of 30 connections, the 10 past max-stream-connections are refused at once" \
	"$(kv closed_fast "$out") $(tern_metric tern_stream_closed_total reason=total_limit)" "10 10"
