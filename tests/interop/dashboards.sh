#!/bin/bash
# The metrics and what is built on them (issue 13, item 7): `promtool check
# metrics` passes on a live /metrics (ternd with Redis and the WireGuard
# responder, so every family is there), which carries the standard process
# metrics and each worker's loop lag; contrib/prometheus/alerts.yml passes
# `promtool check rules`; contrib/grafana/tern.json is valid JSON; and every
# tern_ and process_ metric the rules and the dashboard query exists on that
# /metrics (Prometheus's own `up` aside).
. "$(dirname "$0")/lib.sh"
need promtool python3 redis-server wg

plan 9

redis_pick
check "redis-server starts" redis_start || exit 0
(umask 077 && wg genkey >"$T/wg.key")
W=$(port_pick 1) || bail "no free ports"
printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' "$(cat "$T/wg.key")" "$W" >"$T/wg.conf"
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with a user, Redis and the WireGuard responder" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --user=alice:secret \
	--realm=tern.test --redis-url="redis://127.0.0.1:$RP/3" --wg-config="$T/wg.conf" \
	--wg-name="tw$$" || exit 0
sleep 2.2 # the loop-lag probe has fired twice
tern_metrics "$T/metrics"
out=$(promtool check metrics <"$T/metrics" 2>&1)
is "promtool check metrics: no problem" "${out:-none}" none
like "the process metrics are there" \
	"$(grep -c '^process_\(cpu_seconds_total\|resident_memory_bytes\|open_fds\|max_fds\|start_time_seconds\) ' "$T/metrics")" "^5$"
like "each worker's loop lag, a small number of seconds" \
	"$(grep '^tern_worker_loop_lag_seconds{worker="0"}' "$T/metrics")" \
	'^tern_worker_loop_lag_seconds\{worker="0"\} 0\.[0-9]+$'
like "alerts.yml: promtool check rules" \
	"$(promtool check rules "$TOP_SRCDIR/contrib/prometheus/alerts.yml" 2>&1 | grep SUCCESS)" \
	"SUCCESS: [0-9]+ rules found"
# the metric names a PromQL text uses: tern_ and process_ words
names() { grep -o '\b\(tern\|process\)_[a-z0-9_]*' | sort -u; }
have=$(sed -n 's/^# TYPE \([a-z0-9_]*\) .*/\1/p' "$T/metrics" | sort -u)
# checked LIST: "N queried, missing: ..." for the names in LIST
checked() { echo "$(grep -c . <<<"$1") queried, missing: $(comm -23 <(echo "$1") <(echo "$have") | tr '\n' ' ')"; }
like "every metric alerts.yml queries is on /metrics" \
	"$(checked "$(grep 'expr:' "$TOP_SRCDIR/contrib/prometheus/alerts.yml" | names)")" \
	"^[0-9]+ queried, missing: $"
dash=$("$PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p["targets"]:
        print(t["expr"])' "$TOP_SRCDIR/contrib/grafana/tern.json" 2>&1)
like "tern.json is a dashboard with panels" "$(grep -c . <<<"$dash")" "^[1-9][0-9]*$"
like "every metric tern.json queries is on /metrics" "$(checked "$(names <<<"$dash")")" \
	"^[0-9]+ queried, missing: $"
