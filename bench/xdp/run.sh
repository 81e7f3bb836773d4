#!/bin/bash
# What relaying costs with the XDP fast path, against without it and
# against coturn (issue 14), in one run on one topology: the namespaces of
# tests/interop/xdpnet.sh (client, router, relay, peer; the relay reached
# over one veth). The load is load.c in TURN mode from the client
# namespace (-c sockets, -l bytes of ChannelData payload, paced to -r
# echoes a second for SECONDS), through the relay to load.c's echo in the
# peer namespace, and the same load sent straight to the echo without a
# relay (the rig's own cost).
#
# How CPU is counted. XDP's work runs in softirq on whichever CPU takes
# the packet, and is charged to no process; so this measures the whole
# machine: the busy time of every CPU (/proc/stat: user, nice, system,
# irq, softirq, steal) over the send phase. What relaying costs is that
# figure for a relay minus the same figure for the direct run (same
# datagrams, same client and echo, no relay), and "relayed per relay
# CPU-second" is relayed datagrams (2 x echoes) over it. Nothing else may
# run meanwhile: the script refuses to start when the load average is
# above LOAD_MAX.
#
#   bench/xdp/run.sh [--write]        (TERND=/path/to/ternd, else ./ternd)
#
# Environment: TERND, RATE (20000 echoes/s), SOCKETS (10), BYTES (100),
# SECONDS_ (5), ROUNDS (3), LOAD_MAX (0.5), RESULTS. Relays: tern with XDP
# native (the driver's; on a veth it needs the program on the router's
# end too) and generic, tern without XDP, coturn.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
RATE=${RATE:-20000} SOCKETS=${SOCKETS:-10} BYTES=${BYTES:-100} SECS=${SECONDS_:-5}
ROUNDS=${ROUNDS:-3} LOAD_MAX=${LOAD_MAX:-0.5}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
SERVER_CPU=0 LOAD_CPU=1 SECRET=secret REALM=bench
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1
. "$TOP/bench/lib.sh"
. "$TOP/tests/interop/xdpnet.sh"
bench_need xdp "$TERND" ip ethtool clang turnserver
bench_setup xdp
stats_was=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'bench_cleanup; xdpnet_down; sysctl -qw kernel.bpf_stats_enabled="$stats_was"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1 # the program's own run time, per packet
awk -v max="$LOAD_MAX" '{ exit !($1 <= max) }' /proc/loadavg || {
	echo "xdp: load average $(cut -d' ' -f1 /proc/loadavg) is above $LOAD_MAX: something else runs" >&2
	exit 1
}
xdpnet_up "bx$$" || { echo "xdp: no namespaces" >&2; exit 1; }
xdpnet_pass_prog "$tmp" "$NS_R" rt || { echo "xdp: no pass program for native mode" >&2; exit 1; }
cc -O2 -Wall -Wextra -o "$tmp/load" "$TOP/bench/udp-floor/load.c" -lcrypto || exit 1

# busy: jiffies every CPU spent busy so far
busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
HZ=$(getconf CLK_TCK)

ip netns exec "$NS_P" taskset -c "$LOAD_CPU" "$tmp/load" -e 10.3.0.2:4000 -d 3600 \
	>"$tmp/echo.out" 2>&1 &
PIDS+=($!)
sleep 0.3

start_relay() { # NAME: the relay in the relay namespace, pinned; SPID
	local extra=()
	case $1 in
	xdp) extra=(--xdp-interface=t0 --xdp-mode=native) ;&
	xdpgen) [ "$1" = xdpgen ] && extra=(--xdp-interface=t0 --xdp-mode=generic) ;&
	tern) relay_cmd tern 3478 ;;
	coturn) relay_cmd coturn 3478 ;;
	esac
	CMD=("${CMD[@]/127.0.0.1/10.2.0.2}")
	[ "$1" = coturn ] && CMD+=(--allowed-peer-ip=10.3.0.2) || CMD+=(--allowed-peer-ip=10.3.0.2 "${extra[@]}")
	ip netns exec "$NS_T" taskset -c "$SERVER_CPU" "${CMD[@]}" >"$tmp/$1.out" 2>&1 &
	SPID=$!
	PIDS+=($SPID)
	for _ in $(seq 50); do
		ip netns exec "$NS_T" ss -Hlnu "src 10.2.0.2:3478" | grep -q . && break
		sleep 0.1
	done
	sleep 0.5
}

# prog_stats KIND: "run_time_ns run_cnt" of the attached program so far, appended to
# $tmp/prog.KIND (one() runs in a subshell)
prog_stats() {
	local id line
	command -v bpftool >/dev/null || return 0
	id=$(ip -n "$NS_T" link show t0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n1)
	[ -n "$id" ] || return 0
	line=$(bpftool prog show id "$id" 2>/dev/null)
	echo "$(sed -n 's/.*run_time_ns \([0-9]*\).*/\1/p' <<<"$line" | head -n1) $(
		sed -n 's/.*run_cnt \([0-9]*\).*/\1/p' <<<"$line" | head -n1)" >>"$tmp/prog.$1"
}

# one NAME: "relayed busy_jiffies" of one run (NAME direct: no relay)
one() {
	local b0 b1 out args
	if [ "$1" = direct ]; then
		args=(-s 10.3.0.2:4000)
	else
		start_relay "$1"
		args=(-s 10.2.0.2:3478 -t "$SECRET" -p 10.3.0.2:4000)
	fi
	b0=$(busy)
	out=$(ip netns exec "$NS_C" taskset -c "$LOAD_CPU" "$tmp/load" "${args[@]}" -c "$SOCKETS" \
		-l "$BYTES" -d "$SECS" -w 64 -r "$RATE")
	b1=$(busy)
	case $1 in xdp | xdpgen) prog_stats "$1" ;; esac
	[ "$1" = direct ] || { kill -TERM "$SPID"; wait "$SPID" 2>/dev/null; }
	echo "$1: $out busy=$((b1 - b0))" >&2
	awk -v o="$out" -v b=$((b1 - b0)) 'BEGIN {
		if (match(o, /received=[0-9]+/)) n = substr(o, RSTART + 9, RLENGTH - 9)
		if (match(o, /sent=[0-9]+/)) s = substr(o, RSTART + 5, RLENGTH - 5)
		printf "%d %d %d\n", 2 * n, b, s }'
}

declare -A REL BUSY SENT
kinds=(direct xdp xdpgen tern coturn)
for ((r = 1; r <= ROUNDS; r++)); do
	for k in "${kinds[@]}"; do
		read -r rel b s <<<"$(one "$k")"
		REL[$k]+="$rel " BUSY[$k]+="$b " SENT[$k]+="$s "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=$(median <<<"${BUSY[direct]}")
report() {
	echo "<!-- xdp:begin (written by bench/xdp/run.sh) -->"
	echo "## The XDP fast path (bench/xdp)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, Linux $(uname -r); the namespaces of"
	echo "tests/interop/xdpnet.sh (client, router, relay, peer; veths; XDP on the relay's veth,"
	echo "native or generic, an XDP_PASS program on the router's end). load.c in TURN mode: $SOCKETS"
	echo "sockets, $BYTES-byte ChannelData, paced to $RATE echoes/s for $SECS s, to load.c's echo; the"
	echo "relay pinned to CPU $SERVER_CPU, client and echo to CPU $LOAD_CPU. $ROUNDS rounds, medians."
	echo "CPU is the whole machine's busy time (/proc/stat, softirq included, since XDP's work is"
	echo "charged to no process); the relay's share is that minus the same load sent straight to"
	echo "the echo without a relay ($(awk -v b="$base" -v hz="$HZ" 'BEGIN { printf "%.2f", b / hz }') CPU-s)."
	echo
	echo "| relay | relayed | lost of sent | machine CPU-s | relay CPU-s | relayed / relay CPU-s | vs coturn |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	local k rel b s cot
	cot=$(awk -v r="$(median <<<"${REL[coturn]}")" -v b="$(median <<<"${BUSY[coturn]}")" \
		-v base="$base" -v hz="$HZ" 'BEGIN { c = (b - base) / hz; printf "%.0f", (c > 0 ? r / c : 0) }')
	for k in xdp xdpgen tern coturn; do
		rel=$(median <<<"${REL[$k]}") b=$(median <<<"${BUSY[$k]}") s=$(median <<<"${SENT[$k]}")
		awk -v k="$k" -v rel="$rel" -v b="$b" -v s="$s" -v base="$base" -v hz="$HZ" -v cot="$cot" 'BEGIN {
			name = k == "xdp" ? "tern, XDP native" : k == "xdpgen" ? "tern, XDP generic" : k == "tern" ? "tern, userspace" : "coturn 4.6"
			c = (b - base) / hz; per = c > 0 ? rel / c : 0
			printf "| %s | %d | %.2f%% | %.2f | %.2f | %.0f | %.2f |\n", name, rel,
				(s ? 100 * (s - rel / 2) / s : 0), b / hz, c, per, (cot > 0 ? per / cot : 0) }'
	done
	echo
	for k in xdp xdpgen; do
		[ -s "$tmp/prog.$k" ] && awk -v k="$k" '{ t += $1; c += $2 } END {
			if (c) printf "The XDP program itself (%s, kernel.bpf_stats_enabled): %.0f ns a packet over %d packets.\n",
				k == "xdp" ? "native" : "generic", t / c, c }' "$tmp/prog.$k"
	done
	echo "Every relay's CPU here includes the path to it, which the direct run does not take: the"
	echo "router namespace and two more veth crossings each way (on a NIC, XDP_TX has none of it)."
	echo
	echo "Every round (relayed, busy jiffies):"
	for k in "${kinds[@]}"; do echo "- $k: ${REL[$k]}/ ${BUSY[$k]}"; done
	echo
	echo "Command: \`bench/xdp/run.sh --write\` (see its header)."
	echo "<!-- xdp:end -->"
}
report
[ "$WRITE" = 1 ] && results_write xdp "$(report)"
exit 0
