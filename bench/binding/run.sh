#!/bin/bash
# STUN Binding throughput: ternd beside coturn's turnserver in one run, under
# the same load from stunload.c (compiled here).
#
#   bench/binding/run.sh            (TERND=/path/to/ternd, else ./ternd)
#
# Each server gets one worker (ternd --workers=1, turnserver
# --relay-threads=1) pinned to CPU 0, with no TLS/DTLS and no per-request
# logging; the load generator is pinned to CPU 1. Both servers run side by
# side (the idle one costs nothing) and are measured in alternating rounds,
# tern, coturn, tern, coturn, ..., so that drift in background load hits both
# alike; each round is a warm-up and then DURATION seconds of load. A round
# yields answers per second and the server's CPU seconds (utime+stime of all
# its threads, from /proc/PID/stat) per million answers; the table shows each
# server's median round, the ratios tern/coturn, and goes into the "STUN
# Binding" section of bench/RESULTS.md. A benchmark never fails: a server
# that is missing or does not start is reported as such.
#
# Environment: TERND, DURATION (10), WARMUP (2), ROUNDS (3), SOCKETS (16),
# WINDOW (32), SERVER_CPU (0), LOAD_CPU (1), RESULTS (bench/RESULTS.md, or
# "-" to leave it alone).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DURATION=${DURATION:-10} WARMUP=${WARMUP:-2} ROUNDS=${ROUNDS:-3}
SOCKETS=${SOCKETS:-16} WINDOW=${WINDOW:-32}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
if [ -z "${TERND:-}" ]; then
	if [ -x ./ternd ]; then TERND=$PWD/ternd; else TERND=$TOP/ternd; fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX") || exit 1
declare -A PID PORT
cleanup() {
	local p
	for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Pin when there is a CPU to pin to. Arrays, not a function, so that $! of
# "${PIN_SERVER[@]}" server & is the server itself (taskset execs it).
PIN_SERVER=() PIN_LOAD=()
if [ "$(nproc)" -gt 1 ] && command -v taskset >/dev/null; then
	PIN_SERVER=(taskset -c "$SERVER_CPU") PIN_LOAD=(taskset -c "$LOAD_CPU")
fi

# free_port: P with P and P+1 (the RFC 5780 alternate) free, below the
# ephemeral range so no client socket takes it meanwhile.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		ss -Hanut "( sport = :$p or sport = :$((p + 1)) )" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

# cpu_ticks PID: utime + stime of all the process's threads, in clock ticks.
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# wait_ready PID PORT [LOG...]: up to 10 s for the server to be ready: "ternd
# ready" in one of the LOGs, or without LOGs its UDP port bound.
wait_ready() {
	local pid=$1 port=$2
	shift 2
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		if [ $# -gt 0 ]; then
			cat "$@" 2>/dev/null | grep -q "ternd ready" && return 0
		elif ss -Hlnu "src 127.0.0.1:$port" | grep -q .; then
			sleep 0.5 # coturn: let every thread open its socket
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# start NAME CMD...: start a server pinned, remember it (PID, PORT from $port).
start() {
	local name=$1
	shift
	echo "${PIN_SERVER[*]} $*" | sed "s|$tmp|\$TMP|g; s|$TOP/||g" >>"$tmp/commands"
	"${PIN_SERVER[@]}" "$@" >"$tmp/$name.out" 2>&1 &
	PID[$name]=$! PORT[$name]=$port
}

# measure NAME: one round against a running server; appends a row to rows:
# name rps cpu_s cpu_pct cpu_per_M seconds received lost resp_bytes load_cpu
measure() {
	local name=$1 pid=${PID[$1]} c0 c1 out
	"${PIN_LOAD[@]}" "$tmp/stunload" -p "${PORT[$name]}" -c "$SOCKETS" -w "$WINDOW" -d "$WARMUP" >/dev/null
	c0=$(cpu_ticks "$pid")
	out=$("${PIN_LOAD[@]}" "$tmp/stunload" -p "${PORT[$name]}" -c "$SOCKETS" -w "$WINDOW" -d "$DURATION")
	c1=$(cpu_ticks "$pid")
	echo "$name ($(cat "/proc/$pid/comm") pid $pid): $out server_ticks=$((c1 - c0))" >&2
	awk -v name="$name" -v d="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v out="$out" 'BEGIN {
		n = split(out, kv, /[ =]/)
		for (i = 1; i < n; i += 2) v[kv[i]] = kv[i + 1]
		cpu = d / hz
		printf "%s %.0f %.2f %.1f %.2f %.3f %d %d %d %.2f\n", name, v["rps"], cpu,
			100 * cpu / v["seconds"], (v["received"] ? cpu * 1e6 / v["received"] : 0),
			v["seconds"], v["received"], v["lost"], v["resp_bytes"], v["cpu"]
	}' >>"$tmp/rows"
}

for f in rows commands notes; do : >"$tmp/$f"; done
cc -O2 -Wall -Wextra -o "$tmp/stunload" "$HERE/stunload.c" || {
	echo "bench: cannot compile stunload.c" >&2
	exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

servers=()
if [ -x "$TERND" ]; then
	port=$(free_port) stats=$(free_port)
	start tern "$TERND" -n --listening-ip=127.0.0.1 --listening-port="$port" --no-tls \
		--workers=1 --stats-listen=127.0.0.1:"$stats" --log-file="$tmp/ternd.log"
	if wait_ready "${PID[tern]}" "$port" "$tmp/tern.out" "$tmp/ternd.log"; then
		servers+=(tern)
	else
		tail -n 20 "$tmp/tern.out" "$tmp/ternd.log" >&2 2>/dev/null
		echo "- ternd did not start (its log is on the run's stderr)." >>"$tmp/notes"
	fi
else
	echo "- ternd not found at $TERND: not measured." >>"$tmp/notes"
fi

# coturn's fastest fair settings: one relay thread; no RFC 5780 and no
# RESPONSE-ORIGIN (ternd sends neither with one listening address); Binding
# requests are not logged (--log-binding is off by default); log to a file.
if command -v turnserver >/dev/null; then
	port=$(free_port)
	start coturn turnserver -n --no-cli --listening-ip=127.0.0.1 --listening-port="$port" \
		--relay-threads=1 --no-tls --no-dtls --no-rfc5780 --response-origin-only-with-rfc5780 \
		--log-file="$tmp/coturn.log" --simple-log --no-stdout-log \
		--pidfile="$tmp/turnserver.pid" --userdb="$tmp/turndb"
	if wait_ready "${PID[coturn]}" "$port"; then
		servers+=(coturn)
	else
		echo "- coturn did not start." >>"$tmp/notes"
	fi
else
	echo "- coturn (turnserver) not installed: not measured." >>"$tmp/notes"
fi
echo "${PIN_LOAD[*]} stunload -p PORT -c $SOCKETS -w $WINDOW -d $DURATION" \
	"(each round after a $WARMUP s warm-up)" >>"$tmp/commands"

for ((r = 1; r <= ROUNDS; r++)); do
	for s in "${servers[@]}"; do measure "$s"; done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------
# The median round of each server, by answers per second.
sort -k1,1 -k2,2n "$tmp/rows" | awk '
	{ row[$1, ++n[$1]] = $0 }
	END { for (s in n) print row[s, int((n[s] + 1) / 2)] }' | sort -r >"$tmp/median"

table() {
	echo "| server | answers/s (median) | all rounds | server CPU % | CPU s per 1M answers | answer bytes | lost | load-gen CPU % |"
	echo "|---|---:|---|---:|---:|---:|---:|---:|"
	while read -r name rps _ pct per_m secs _ lost bytes lcpu; do
		all=$(awk -v s="$name" '$1 == s { printf "%s%s", sep, $2; sep = ", " }' "$tmp/rows")
		printf "| %s | %s | %s | %s | %s | %s | %s | %.1f |\n" "$name" "$rps" "$all" "$pct" \
			"$per_m" "$bytes" "$lost" "$(echo "$lcpu $secs" | awk '{ print 100 * $1 / $2 }')"
	done <"$tmp/median"
	awk '{ rps[$1] = $2; per[$1] = $5 } END {
		if (rps["tern"] > 0 && rps["coturn"] > 0 && per["tern"] > 0 && per["coturn"] > 0)
			printf "\ntern/coturn: %.2fx the answers per second, %.2fx the CPU per answer " \
				"(coturn needs %.2fx the CPU of tern per answer).\n",
				rps["tern"] / rps["coturn"], per["tern"] / per["coturn"], per["coturn"] / per["tern"]
	}' "$tmp/median"
	# A server below 90% of its CPU was waiting for the load generator (or
	# for a CPU shared with other work): its answers/s is not its capacity.
	awk '$4 < 90 { s = s sep $1 " " $4 "%"; sep = ", " } END {
		if (s != "")
			printf "\nNot saturated (%s of a CPU): answers/s is bounded by the load " \
				"generator or by other work on the machine; compare CPU per answer.\n", s
	}' "$tmp/median"
}

machine="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)"
section=$(
	echo "<!-- bench/binding: begin (written by bench/binding/run.sh) -->"
	echo "## STUN Binding over UDP (bench/binding)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $machine, loopback; load average $load_before before, $load_after after."
	echo "Server pinned to CPU $SERVER_CPU, load generator to CPU $LOAD_CPU; $SOCKETS sockets with $WINDOW requests"
	echo "outstanding each; $ROUNDS alternating rounds of $DURATION s per server, median shown. Server CPU is its"
	echo "utime+stime (softirq time the kernel does not charge to a process is left out for both)."
	echo
	table
	echo
	cat "$tmp/notes"
	echo "Commands:"
	echo
	echo '```'
	cat "$tmp/commands"
	echo '```'
	echo "<!-- bench/binding: end -->"
)
echo "$section"

if [ "$RESULTS" != "-" ]; then
	[ -f "$RESULTS" ] || printf '# Benchmark results\n\nLatest figures; each section is rewritten by its bench script.\n' >"$RESULTS"
	SECTION=$section awk '
		/<!-- bench\/binding: begin/ { print ENVIRON["SECTION"]; skip = 1; done = 1; next }
		/<!-- bench\/binding: end/ { skip = 0; next }
		!skip { print }
		END { if (!done) print "\n" ENVIRON["SECTION"] }
	' "$RESULTS" >"$tmp/results" && cat "$tmp/results" >"$RESULTS"
	echo "bench: wrote $RESULTS" >&2
fi
