#!/bin/bash
# tern against the floor under the very same load: load.c (bench/udp-floor)
# drives both, with the same flows, sizes and windows, alternating in one
# run. bench/relay/run.sh loads tern with turnutils_uclient, which the floor
# cannot speak, so its tern/floor column compares two different load
# patterns (uclient's one-at-a-time flood against load.c's windows of 32).
# Here load.c's TURN mode (-t) makes one allocation per socket and binds a
# channel to the echo peer first, then sends exactly what it sends the
# floor, plus the 4-byte ChannelData header.
#
#   bench/relay/sameload.sh [--write]        (TERND=/path/to/ternd, else ./ternd)
#
# Definitions (as in bench/udp-floor/run.sh):
#   relayed packet   a datagram forwarded in either direction. The floor
#                    counts its own; for tern it is 2 x the echoes load.c
#                    received (a lost datagram's one forwarding is not
#                    counted, which only lowers tern's figure).
#   CPU              utime+stime of the server process over the load, from
#                    /proc/PID/stat; on loopback that includes delivering
#                    what it sends (see bench/udp-floor/run.sh).
# Each row runs ROUNDS times, floor and tern alternating; the median round of
# each is shown.
#
# Environment: TERND, DURATION (10), FLOWS ("1 10 100"), SIZES ("100 1000"),
# ROUNDS (3), WINDOW (32), SERVER_CPU (0), LOAD_CPU (1), RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
DURATION=${DURATION:-10} FLOWS=${FLOWS:-"1 10 100"} SIZES=${SIZES:-"100 1000"}
WINDOW=${WINDOW:-32} ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup sameload

[ -x "$TERND" ] || { echo "sameload: no ternd at $TERND (set TERND)" >&2; exit 1; }
cc -O2 -Wall -Wextra -o "$tmp/floor" "$TOP/bench/udp-floor/floor.c" &&
	cc -O2 -Wall -Wextra -o "$tmp/load" "$TOP/bench/udp-floor/load.c" -lcrypto || {
	echo "sameload: cannot compile" >&2
	exit 1
}

nruns=$(($(echo $FLOWS | wc -w) * $(echo $SIZES | wc -w) * ROUNDS * 2))
life=$((nruns * (DURATION + 5) + 60))
peer=$(free_port) fport=$(free_port) tport=$(free_port)
"${PIN_LOAD[@]}" "$tmp/load" -e "127.0.0.1:$peer" -d "$life" >"$tmp/echo.out" 2>&1 &
PIDS+=($!)
"${PIN_SERVER[@]}" "$tmp/floor" -l "127.0.0.1:$fport" -p "127.0.0.1:$peer" -t "$life" \
	>"$tmp/floor.out" 2>&1 &
FLOOR=$!
PIDS+=($FLOOR)
TERN_ARGS=(-n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$tport"
	--workers=1 --no-tcp --no-tls --no-dtls --use-auth-secret --static-auth-secret=secret
	--realm=bench --allow-loopback-peers --min-port=45000 --max-port=59999
	--stats-listen=off --log-file="$tmp/ternd.log")
"${PIN_SERVER[@]}" "$TERND" "${TERN_ARGS[@]}" &
TERN=$!
PIDS+=($TERN)
sleep 0.5
for p in "${PIDS[@]}"; do
	kill -0 "$p" 2>/dev/null || { cat "$tmp"/*.out "$tmp/ternd.log" >&2; exit 1; }
done
# warm-up for both
"${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:$fport" -c 10 -l 100 -d 1 >/dev/null
"${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:$tport" -t secret -p "127.0.0.1:$peer" -c 10 -l 100 \
	-d 1 >/dev/null || { echo "sameload: TURN set-up through ternd failed" >&2; exit 1; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hz=$(getconf CLK_TCK)
: >"$tmp/rows"
for ((round = 1; round <= ROUNDS; round++)); do
	for flows in $FLOWS; do
		for size in $SIZES; do
			for who in floor tern; do
				if [ $who = floor ]; then
					pid=$FLOOR args=(-s "127.0.0.1:$fport")
				else
					pid=$TERN args=(-s "127.0.0.1:$tport" -t secret -p "127.0.0.1:$peer")
				fi
				c0=$(cpu_ticks "$pid")
				out=$(timeout $((DURATION + 60)) "${PIN_LOAD[@]}" "$tmp/load" "${args[@]}" \
					-c "$flows" -l "$size" -d "$DURATION" -w "$WINDOW")
				c1=$(cpu_ticks "$pid")
				rx=$(kv received "$out")
				echo "$who flows=$flows size=$size: $out ticks=$((c1 - c0))" >&2
				echo "$flows $size $who $((2 * ${rx:-0})) $((c1 - c0)) $out" >>"$tmp/rows"
			done
		done
	done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# one line per flows/size/server: the median round by relayed / CPU-s
medians() {
	awk -v hz="$hz" '{ eff = $5 > 0 ? $4 * hz / $5 : 0; printf "%s/%s/%s %.0f %s\n", $1, $2, $3, eff, $0 }' \
		"$tmp/rows" | sort -k1,1 -k2,2n | awk '
		{ key = $1; row[key, ++n[key]] = $0; if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
		END { for (i = 1; i <= k; i++) print row[order[i], int((n[order[i]] + 1) / 2)] }'
}
table() {
	echo "| flows | bytes | floor / CPU-s | tern / CPU-s | tern/floor | floor loss | tern loss | floor RTT p50 us | tern RTT p50 us |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	medians | awk '
		{ key = $3 "/" $4; eff[key, $5] = $2
		  for (j = 8; j <= NF; j++) { split($j, kv, "="); v[key, $5, kv[1]] = kv[2] }
		  if (!(key in seen)) { seen[key] = 1; order[++k] = key; fl[key] = $3; sz[key] = $4 } }
		END { for (i = 1; i <= k; i++) { key = order[i]
			f = eff[key, "floor"]; t = eff[key, "tern"]
			lf = v[key, "floor", "sent"] ? 100 * v[key, "floor", "lost"] / v[key, "floor", "sent"] : 0
			lt = v[key, "tern", "sent"] ? 100 * v[key, "tern", "lost"] / v[key, "tern", "sent"] : 0
			printf "| %d | %d | %d | %d | %.2f | %.3f%% | %.3f%% | %d | %d |\n", fl[key], sz[key],
				f, t, f ? t / f : 0, lf, lt, v[key, "floor", "rtt_p50"], v[key, "tern", "rtt_p50"] } }'
}

machine="$BENCH_CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)"
section=$(
	echo "<!-- relay-sameload:begin (written by bench/relay/sameload.sh) -->"
	echo "## TURN relay against the floor, identical load (bench/relay/sameload.sh)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $machine, loopback; load average $load_before before, $load_after after."
	echo "Server (floor.c, or ternd with one worker) pinned to CPU $SERVER_CPU; load.c and its echo peer to CPU $LOAD_CPU;"
	echo "$DURATION s per row, as fast as a window of $WINDOW per flow allows; $ROUNDS rounds, floor and tern alternating,"
	echo "the median round of each shown. tern gets one allocation and one channel per flow (load.c -t)"
	echo "and relays ChannelData; the floor gets the same datagrams without the 4-byte header."
	echo "See the header of bench/relay/sameload.sh."
	echo
	table
	echo
	echo "Commands:"
	echo
	echo '```'
	echo "${PIN_LOAD[*]} load -e 127.0.0.1:PEER"
	echo "${PIN_SERVER[*]} floor -l 127.0.0.1:FLOOR -p 127.0.0.1:PEER"
	echo "${PIN_SERVER[*]} ternd ${TERN_ARGS[*]}" | sed "s|$tmp|\$TMP|g; s|$TERND|$(basename "$TERND")|"
	echo "${PIN_LOAD[*]} load -s 127.0.0.1:FLOOR -c FLOWS -l BYTES -d $DURATION -w $WINDOW"
	echo "${PIN_LOAD[*]} load -s 127.0.0.1:TERN -t secret -p 127.0.0.1:PEER -c FLOWS -l BYTES -d $DURATION -w $WINDOW"
	echo '```'
	echo "<!-- relay-sameload:end -->"
)
echo "$section"

if [ "$WRITE" = 1 ]; then
	results_write relay-sameload "$section"
fi
