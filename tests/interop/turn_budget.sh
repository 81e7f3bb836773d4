#!/bin/bash
# Clients behind one address are not throttled (issue 9, defect 4). Every
# Allocate used to spend a token of a per-source bucket (100/s, burst 200)
# and one over budget vanished unanswered, so 8,000 allocations from one
# address took 160 s of retransmission timers. Now the budget is charged for
# answers to requests that fail authentication, and a source whose request
# then authenticates gets its token back: 2,000 allocations from one address
# (each its own socket, its own 401, as a carrier-grade NAT's clients do),
# as fast as the client goes, with no request sent twice. A flood of
# Allocates without credentials from one address is still cut to the budget
# (default: 100 a second, burst 200, for the whole process), and counted.
. "$(dirname "$0")/lib.sh"
need python3 ss

plan 7

ALLOCS=$TOP_SRCDIR/bench/relay/allocs.py
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with its defaults and a REST secret" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 \
	--use-auth-secret --static-auth-secret=secret --realm=tern.test || exit 0

out=$(timeout 120 "$PYTHON" "$ALLOCS" --server "127.0.0.1:$P" --secret secret -n 2000 \
	--window 64 --client-ip 127.0.0.3 --hold 0)
is "2000 allocations from 127.0.0.3, none failed" \
	"$(kv allocated "${out// /$'\n'}") $(kv failed "${out// /$'\n'}")" "2000 0"
is "no request had to be sent again" "$(kv retransmits "${out// /$'\n'}")" "0"
is "tern_rate_limited_total is 0" "$(tern_metric tern_rate_limited_total)" "0"
diag <<<"$out"

out=$(timeout 60 "$PYTHON" "$ALLOCS" --server "127.0.0.1:$P" --secret secret -n 1000 \
	--window 500 --client-ip 127.0.0.3 --bare)
diag <<<"$out"
answered=$(kv answered "${out// /$'\n'}")
seconds=$(kv seconds "${out// /$'\n'}")
# the burst, and what the rate refills while the flood lasts (the client
# waits a second for answers after its last send)
most=$("$PYTHON" -c "import sys; print(int(200 + 100 * float(sys.argv[1])) + 2)" "${seconds:-0}")
if [ -n "$answered" ] && [ "$answered" -ge 100 ] && [ "$answered" -le "$most" ]; then
	ok "1000 Allocates without credentials from one address: $answered answered (100 to $most)"
else
	not_ok "1000 Allocates without credentials from one address are cut to the budget" \
		"answered: $answered, at most $most in $seconds s"
fi
is "the rest are counted in tern_rate_limited_total" \
	"$(tern_metric_wait $((1000 - ${answered:-0})) tern_rate_limited_total)" "$((1000 - ${answered:-0}))"
check "ternd exits 0 on SIGTERM within 5 s" tern_stop
