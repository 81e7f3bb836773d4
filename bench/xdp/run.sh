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
# How CPU is counted, two ways. XDP's work runs in softirq on whichever CPU
# takes the packet, and is charged to no process.
# - The relay's core: receive packet steering (xdpnet_steer) hands every
#   packet arriving in the relay's namespace to CPU 0, where the relay
#   runs, and every other namespace's to CPU 1, where the client and echo
#   run; CPU 0's busy time (/proc/stat: user, nice, system, irq, softirq,
#   steal) over the send phase is then what relaying costs, softirq
#   included, and nothing else. A veth's native XDP runs before steering,
#   on the CPU that sends into the veth; so for native mode the router's
#   veths towards the relay are steered to CPU 0 too, which charges the
#   router's forwarding into the relay to it as well (an overcount).
# - The whole machine: every CPU's busy time minus that of the same load
#   sent straight to the echo without a relay (the rig's own cost). This
#   charges each relay with the path to it (router, veths), which the
#   direct run does not take.
# "Relayed per CPU-second" is relayed datagrams (2 x echoes) over either.
# The floor is bench/udp-floor's floor.c: the smallest userspace relay
# (plain UDP, no TURN). Nothing else may run meanwhile: the script refuses
# to start when the load average is above LOAD_MAX.
#
#   bench/xdp/run.sh [--write]        (TERND=/path/to/ternd, else ./ternd)
#
# Environment: TERND, RATE (20000 echoes/s), SOCKETS (10), BYTES (100),
# SECONDS_ (5), ROUNDS (3), LOAD_MAX (0.5), RESULTS. Relays: tern with XDP
# native (the driver's; on a veth it needs the program on the router's
# end too) and generic, tern without XDP, coturn, and the floor.
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
cc -O2 -Wall -Wextra -o "$tmp/load" "$TOP/bench/udp-floor/load.c" -lcrypto &&
	cc -O2 -Wall -Wextra -o "$tmp/floor" "$TOP/bench/udp-floor/floor.c" || exit 1

# busy [CPU]: jiffies the machine (or CPU) spent busy so far
busy() { awk -v c="cpu${1:-}" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
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
	floor) CMD=("$tmp/floor" -l 10.2.0.2:3478 -p 10.3.0.2:4000) ;;
	esac
	CMD=("${CMD[@]/127.0.0.1/10.2.0.2}")
	case $1 in
	coturn) CMD+=(--allowed-peer-ip=10.3.0.2) ;;
	floor) ;;
	*) CMD+=(--allowed-peer-ip=10.3.0.2 "${extra[@]}") ;;
	esac
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

# one NAME: "relayed busy_jiffies sent core_jiffies" of one run (NAME
# direct: no relay)
one() {
	local b0 b1 c0 c1 out args
	xdpnet_steer "$SERVER_CPU" "$LOAD_CPU" $([ "$1" = xdp ] && echo feed) || exit 1
	case $1 in
	direct) args=(-s 10.3.0.2:4000) ;;
	floor) start_relay floor; args=(-s 10.2.0.2:3478) ;;
	*) start_relay "$1"; args=(-s 10.2.0.2:3478 -t "$SECRET" -p 10.3.0.2:4000) ;;
	esac
	b0=$(busy) c0=$(busy "$SERVER_CPU")
	out=$(ip netns exec "$NS_C" taskset -c "$LOAD_CPU" "$tmp/load" "${args[@]}" -c "$SOCKETS" \
		-l "$BYTES" -d "$SECS" -w 64 -r "$RATE")
	b1=$(busy) c1=$(busy "$SERVER_CPU")
	case $1 in xdp | xdpgen) prog_stats "$1" ;; esac
	[ "$1" = direct ] || { kill -TERM "$SPID"; wait "$SPID" 2>/dev/null; }
	echo "$1: $out busy=$((b1 - b0)) core=$((c1 - c0))" >&2
	awk -v o="$out" -v b=$((b1 - b0)) -v c=$((c1 - c0)) 'BEGIN {
		if (match(o, /received=[0-9]+/)) n = substr(o, RSTART + 9, RLENGTH - 9)
		if (match(o, /sent=[0-9]+/)) s = substr(o, RSTART + 5, RLENGTH - 5)
		printf "%d %d %d %d\n", 2 * n, b, s, c }'
}

declare -A REL BUSY SENT CORE
kinds=(direct xdp xdpgen tern coturn floor)
for ((r = 1; r <= ROUNDS; r++)); do
	for k in "${kinds[@]}"; do
		read -r rel b s c <<<"$(one "$k")"
		REL[$k]+="$rel " BUSY[$k]+="$b " SENT[$k]+="$s " CORE[$k]+="$c "
	done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
base=$(median <<<"${BUSY[direct]}")
# per KIND BY: relayed per CPU-second of KIND's median round, counting CPU
# BY core (the relay's core) or machine (whole machine less the direct run)
per() {
	awk -v r="$(median <<<"${REL[$1]}")" -v c="$(median <<<"${CORE[$1]}")" \
		-v b="$(median <<<"${BUSY[$1]}")" -v base="$base" -v hz="$HZ" -v by="$2" 'BEGIN {
		t = (by == "core" ? c : b - base) / hz; printf "%.0f", (t > 0 ? r / t : 0) }'
}
report() {
	echo "<!-- xdp:begin (written by bench/xdp/run.sh) -->"
	echo "## The XDP fast path (bench/xdp)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, Linux $(uname -r); the namespaces of"
	echo "tests/interop/xdpnet.sh (client, router, relay, peer; veths; XDP on the relay's veth,"
	echo "native or generic, an XDP_PASS program on the router's end). load.c in TURN mode (the"
	echo "floor: plain UDP): $SOCKETS sockets, $BYTES-byte payloads, paced to $RATE echoes/s for $SECS s,"
	echo "to load.c's echo; the relay pinned to CPU $SERVER_CPU, client and echo to CPU $LOAD_CPU. $ROUNDS rounds,"
	echo "medians. CPU counted two ways (the script's header says how): the relay's core, with"
	echo "every packet the relay's namespace receives steered to it (RPS) and nothing else there;"
	echo "and the whole machine less the same load sent straight to the echo"
	echo "($(awk -v b="$base" -v hz="$HZ" 'BEGIN { printf "%.2f", b / hz }') CPU-s)."
	echo
	echo "| relay | relayed | lost of sent | relay core CPU-s | relayed / core CPU-s | vs coturn | machine less direct, CPU-s | relayed / that CPU-s | vs coturn |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	local k rel b s c cc cm
	cc=$(per coturn core) cm=$(per coturn machine)
	for k in xdp xdpgen tern coturn floor; do
		rel=$(median <<<"${REL[$k]}") b=$(median <<<"${BUSY[$k]}") s=$(median <<<"${SENT[$k]}")
		c=$(median <<<"${CORE[$k]}")
		awk -v k="$k" -v rel="$rel" -v b="$b" -v s="$s" -v c="$c" -v base="$base" -v hz="$HZ" \
			-v pc="$(per "$k" core)" -v pm="$(per "$k" machine)" -v cc="$cc" -v cm="$cm" 'BEGIN {
			name = k == "xdp" ? "tern, XDP native" : k == "xdpgen" ? "tern, XDP generic" : k == "tern" ? "tern, userspace" : k == "coturn" ? "coturn 4.6" : "floor (plain UDP)"
			printf "| %s | %d | %.2f%% | %.2f | %d | %.2f | %.2f | %d | %.2f |\n", name, rel,
				(s ? 100 * (s - rel / 2) / s : 0), c / hz, pc, (cc > 0 ? pc / cc : 0),
				(b - base) / hz, pm, (cm > 0 ? pm / cm : 0) }'
	done
	echo
	for k in xdp xdpgen; do
		[ -s "$tmp/prog.$k" ] && awk -v k="$k" '{ t += $1; c += $2 } END {
			if (c) printf "The XDP program itself (%s, kernel.bpf_stats_enabled): %.0f ns a packet over %d packets.\n",
				k == "xdp" ? "native" : "generic", t / c, c }' "$tmp/prog.$k"
	done
	echo "Native mode's relay core also carries the router's forwarding into the relay (its"
	echo "veths are steered there, as a veth's native XDP runs on the CPU that sends into it)."
	echo "The machine-wide figure charges every relay with the path to it (the router namespace"
	echo "and two more veth crossings each way), which the direct run does not take."
	echo
	echo "Every round (relayed, machine busy jiffies, relay core busy jiffies):"
	for k in "${kinds[@]}"; do echo "- $k: ${REL[$k]}/ ${BUSY[$k]}/ ${CORE[$k]}"; done
	echo
	echo "Command: \`bench/xdp/run.sh --write\` (see its header)."
	echo "<!-- xdp:end -->"
}
report
[ "$WRITE" = 1 ] && results_write xdp "$(report)"
exit 0
