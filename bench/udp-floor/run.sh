#!/bin/bash
# The UDP relay floor: what this kernel charges per relayed packet, measured
# with the smallest relay that can exist (floor.c: one listening socket, a
# flat table by client source address, one connected socket per flow,
# recvmmsg/sendmmsg in batches of 32, no TURN framing, no auth) between the
# load generator and an echo peer (both load.c).
#
#   bench/udp-floor/run.sh [--write]
#
# For each number of flows (FLOWS) and datagram size (SIZES), load.c opens
# that many client sockets to the floor and sends datagrams of that size for
# DURATION seconds, each socket keeping at most WINDOW outstanding (as fast
# as the windows refill, or paced to RATE datagrams per second in all); the
# floor relays them to the echo peer and the echoes back.
#
# Definitions:
#   relayed packet   one datagram the floor received and handed to the kernel
#                    to send on: client->peer and peer->client count one each,
#                    so an echoed datagram is two relayed packets. Counted by
#                    the floor itself (its c2p + p2c counters, read with
#                    SIGUSR1 before and after the load).
#   floor CPU        utime+stime of the floor process from /proc/PID/stat,
#                    before and after the load (tick-sampled, 1/CLK_TCK s).
#                    On loopback the kernel delivers a sent datagram into the
#                    receiver's socket in the sender's context (softirq on
#                    the way out of the send), and tick accounting charges
#                    that softirq time to the task it interrupted, so the
#                    floor pays for its receives, its sends and the delivery
#                    of what it sends (checked here: the floor's ticks match
#                    its CPU's user+system+softirq in /proc/stat). Softirq work
#                    deferred to ksoftirqd would be left out; it stayed ~0.
#   relayed / CPU-s  relayed packets / floor CPU seconds.
#   loss             datagrams sent by load.c whose echo never came back (or
#                    came back after 200 ms of silence on that socket) / sent.
#   RTT              load.c send -> echo received, from the CLOCK_MONOTONIC
#                    time stamped in each datagram; p50 and p99 in us. At full
#                    load it is mostly queueing in the windows, not relay time.
#
# The floor is pinned to SERVER_CPU, load generator and echo to LOAD_CPU.
# The "load CPU" column is load.c + echo. Both near 100%: the two CPUs are
# the limit. Both well below: something else on the machine took CPU time
# during that round (the relayed / CPU-s figure still holds, roughly).
#
# Each row is measured ROUNDS times, the rows interleaved (all of round 1,
# then round 2, ...), so that a burst of other work on the machine hits one
# round of a row rather than all of it; the table shows the round with the
# median relayed / CPU-s and that figure from every round.
#
# Environment: DURATION (10), FLOWS ("1 10 100"), SIZES ("100 1000"),
# ROUNDS (3), WINDOW (32), RATE (empty: as fast as the windows allow),
# SERVER_CPU (0), LOAD_CPU (1), RESULTS (bench/RESULTS.md). --write puts the
# table into the udp-floor section of RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-10} FLOWS=${FLOWS:-"1 10 100"} SIZES=${SIZES:-"100 1000"}
WINDOW=${WINDOW:-32} RATE=${RATE:-} ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup floor

# floor_counters: ask the floor for its counters; prints "c2p p2c".
floor_counters() {
	local n
	n=$(wc -l <"$tmp/floor.out")
	kill -USR1 "$FLOOR"
	for _ in $(seq 100); do
		[ "$(wc -l <"$tmp/floor.out")" -gt "$n" ] && break
		sleep 0.01
	done
	tail -n 1 "$tmp/floor.out" | sed 's/.*c2p=\([0-9]*\) p2c=\([0-9]*\).*/\1 \2/'
}

cc -O2 -Wall -Wextra -o "$tmp/floor" "$HERE/floor.c" &&
	cc -O2 -Wall -Wextra -o "$tmp/load" "$HERE/load.c" -lcrypto || {
	echo "udp-floor: cannot compile" >&2
	exit 1
}

nruns=$(($(echo $FLOWS | wc -w) * $(echo $SIZES | wc -w) * ROUNDS))
life=$((nruns * (DURATION + 5) + 60))
peer_port=$(free_port) floor_port=$(free_port)
"${PIN_LOAD[@]}" "$tmp/load" -e "127.0.0.1:$peer_port" -d "$life" >"$tmp/echo.out" 2>&1 &
ECHO=$!
"${PIN_SERVER[@]}" "$tmp/floor" -l "127.0.0.1:$floor_port" -p "127.0.0.1:$peer_port" -t "$life" \
	>"$tmp/floor.out" 2>&1 &
FLOOR=$!
PIDS=("$FLOOR" "$ECHO")
sleep 0.3
kill -0 "$FLOOR" 2>/dev/null && kill -0 "$ECHO" 2>/dev/null || {
	cat "$tmp"/*.out >&2
	exit 1
}
# A short warm-up, so that the first row does not pay for cold caches.
"${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:$floor_port" -c 10 -l 100 -d 1 >/dev/null

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hz=$(getconf CLK_TCK)
rate_arg=()
[ -n "$RATE" ] && rate_arg=(-r "$RATE")
: >"$tmp/rows"
for ((round = 1; round <= ROUNDS; round++)); do
for flows in $FLOWS; do
	for size in $SIZES; do
		read -r c2p0 p2c0 < <(floor_counters)
		f0=$(cpu_ticks "$FLOOR") e0=$(cpu_ticks "$ECHO")
		out=$(timeout $((DURATION + 30)) "${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:$floor_port" \
			-c "$flows" -l "$size" -d "$DURATION" -w "$WINDOW" "${rate_arg[@]}")
		f1=$(cpu_ticks "$FLOOR") e1=$(cpu_ticks "$ECHO")
		read -r c2p1 p2c1 < <(floor_counters)
		echo "flows=$flows size=$size: $out floor_ticks=$((f1 - f0)) c2p=$((c2p1 - c2p0)) p2c=$((p2c1 - p2c0))" >&2
		echo "$flows $size $((c2p1 - c2p0)) $((p2c1 - p2c0)) $((f1 - f0)) $((e1 - e0)) $out" >>"$tmp/rows"
	done
done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------
# table: for each flows/size, the round with the median relayed / CPU-s,
# and that figure from every round.
table() {
	echo "| flows | bytes | relayed pkt/s | floor CPU % | relayed / CPU-s (median) | all rounds, sorted | loss | RTT p50 us | RTT p99 us | load CPU % |"
	echo "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"
	awk -v hz="$hz" '{ eff = $5 > 0 ? ($3 + $4) * hz / $5 : 0; printf "%s %.0f %s\n", $1 "/" $2, eff, $0 }' "$tmp/rows" |
		sort -k1,1 -k2,2n | awk -v hz="$hz" '
		{ key = $1; row[key, ++n[key]] = $0; all[key] = all[key] (n[key] > 1 ? ", " : "") $2
		  if (!(key in seen)) { seen[key] = 1; order[++k] = key } }
		END { for (i = 1; i <= k; i++) {
			key = order[i]; split(row[key, int((n[key] + 1) / 2)], f, " ")
			delete v; for (j = 9; j in f; j++) { split(f[j], kv, "="); v[kv[1]] = kv[2] }
			relayed = f[5] + f[6]; cpu = f[7] / hz; secs = v["seconds"]
			printf "| %d | %d | %.0f | %.0f | %s | %s | %.3f%% | %d | %d | %.0f |\n", f[3], f[4],
				relayed / secs, 100 * cpu / secs, f[2], all[key],
				v["sent"] ? 100 * v["lost"] / v["sent"] : 0, v["rtt_p50"], v["rtt_p99"],
				100 * (v["cpu"] + f[8] / hz) / secs } }'
}

machine="$BENCH_CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)"
load_desc="as fast as a window of $WINDOW per flow allows"
[ -n "$RATE" ] && load_desc="paced to $RATE datagrams/s in all, window $WINDOW per flow"
section=$(
	echo "<!-- udp-floor:begin (written by bench/udp-floor/run.sh) -->"
	echo "## UDP relay floor (bench/udp-floor)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $machine, loopback; load average $load_before before, $load_after after."
	echo "floor.c pinned to CPU $SERVER_CPU; load.c and its echo peer to CPU $LOAD_CPU; $DURATION s per row, $load_desc;"
	echo "$ROUNDS interleaved rounds, the median round shown."
	echo "A relayed packet is one datagram forwarded in either direction (an echo round trip is two), counted"
	echo "by the floor; CPU is the floor's utime+stime. Loss and RTT are seen by load.c; \"load CPU\" is"
	echo "load.c + echo. Both CPU columns near 100%: the two CPUs were the limit; both well below: other"
	echo "work on the machine took time in that round. See the header of bench/udp-floor/run.sh."
	echo
	table
	echo
	echo "Commands:"
	echo
	echo '```'
	echo "${PIN_LOAD[*]} load -e 127.0.0.1:PEER"
	echo "${PIN_SERVER[*]} floor -l 127.0.0.1:PORT -p 127.0.0.1:PEER"
	echo "${PIN_LOAD[*]} load -s 127.0.0.1:PORT -c FLOWS -l BYTES -d $DURATION -w $WINDOW${RATE:+ -r $RATE}"
	echo '```'
	echo "<!-- udp-floor:end -->"
)
echo "$section"

if [ "$WRITE" = 1 ]; then
	results_write udp-floor "$section"
fi
