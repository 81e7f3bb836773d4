#!/bin/bash
# TURN relay throughput and idle memory: ternd beside coturn's turnserver in
# one run, under the same turnutils_uclient load, with the UDP floor
# (bench/udp-floor/floor.c) under equivalent load as the kernel's limit.
#
#   bench/relay/run.sh [--write]        (TERND=/path/to/ternd, else ./ternd)
#
# Servers. Each gets one relay thread (turnserver --relay-threads=1, ternd
# --workers=1), pinned to SERVER_CPU, UDP only on 127.0.0.1, TURN REST API
# auth with a static secret (--use-auth-secret --static-auth-secret=secret
# --realm=bench), --allow-loopback-peers, and its own relay port range
# (coturn 30000-44999, tern 45000-59999). The echo peer is turnutils_peer;
# it and the load generator are pinned to LOAD_CPU.
#
# Load. turnutils_uclient (coturn 4.6.1) with one allocation per client (-c,
# no RTCP), an IPv4 relay (-X), DONT-FRAGMENT (-g), peer 127.0.0.1 (-e/-r),
# either through a channel (ChannelData) or with Send/Data indications (-s),
# for each number of clients (-m, CLIENTS) and payload size (-l, SIZES). This
# uclient has no flood mode (-Y packet came later), so -z 0 is the flood:
# each client sends up to 50 datagrams per tick of its 1 ms timer, which the
# kernel's 250 Hz timer makes about 12,500/s per client, until uclient's one
# thread runs out of CPU (about 60-70k/s here). -n is set so that sending
# takes about DURATION s at that rate. uclient starts its clients at random
# times 1-6 s after connecting all of them (the load ramps up), and waits
# 10 s after the last send when some echoes are missing.
#
# The floor gets load.c (bench/udp-floor) with the same number of client
# sockets and payload size, through the same turnutils_peer, paced to the
# peak rate coturn (else tern) reached in the channel run of that size and
# client count, in bursts every 4 ms as uclient sends (-T 4000); it has no
# TURN framing, so one floor row serves both modes.
#
# Definitions:
#   relayed packet   a datagram relayed in either direction; an echo that came
#                    back to the client is two (client->peer, peer->client).
#                    Counted as 2 x echoes received (uclient's tot_recv_msgs,
#                    load.c's received) for every server alike. A datagram
#                    lost after the server relayed it once is not counted;
#                    where the drops columns account for the loss, it was at
#                    the server's own sockets, before it did that work.
#   server CPU       utime+stime of all the server's threads (/proc/PID/stat),
#                    from the moment uclient prints "Total connect time" (all
#                    allocations, permissions and channels made) until it
#                    exits: the send phase, the wait for late echoes and
#                    the final Refresh(lifetime=0) of each allocation.
#   relayed / CPU-s  relayed packets / server CPU seconds.
#   relayed pkt/s    the best one-second rate in uclient's progress lines
#                    (2 x the rise of tot_recv_msgs); for the floor, the mean.
#   loss             uclient's "Total lost packets" (sent - received) / sent.
#                    From 10 clients up, the -z 0 flood offers more than one
#                    coturn thread relays, so loss there is overload.
#   drops            datagrams the kernel dropped for want of receive buffer
#                    (/proc/net/udp) at the server's listening socket / at
#                    its other (relay) sockets, sampled with uclient's
#                    progress, as relay sockets close when allocations end.
#   RTT              uclient's "Average round trip delay" and its max, in ms
#                    (uclient stamps in whole milliseconds); load.c's in us.
#   load CPU         CPU seconds of uclient (or load.c) + turnutils_peer over
#                    the same interval as the server's.
#   idle memory      VmRSS of a freshly started server (/proc/PID/status)
#                    before and 2 s after IDLE_ALLOCS allocations made by
#                    allocs.py (REST credentials, one socket each, each from
#                    its own address in 127.1.0.0/16, so that a per-source
#                    limit on unauthenticated requests does not throttle it),
#                    divided by the number made; likewise open fds. Kernel
#                    socket memory is not in VmRSS.
#
# Environment: TERND, DURATION (10), CLIENTS ("1 10 100"), SIZES ("100
# 1000"), MODES ("channel indication"), RATE_CAP (60000), IDLE_ALLOCS
# (10000, 0 to skip), SERVER_CPU (0), LOAD_CPU (1), RESULTS
# (bench/RESULTS.md). --write puts the tables into the relay section of
# RESULTS. A benchmark never fails: a server that is missing or does not
# relay is reported as such.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$TOP/bench/lib.sh" # relay_cmd; this script keeps its own free_port and cpu_ticks
DURATION=${DURATION:-10} CLIENTS=${CLIENTS:-"1 10 100"} SIZES=${SIZES:-"100 1000"}
MODES=${MODES:-"channel indication"} RATE_CAP=${RATE_CAP:-60000}
IDLE_ALLOCS=${IDLE_ALLOCS:-10000}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
SECRET=secret REALM=bench
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1
if [ -z "${TERND:-}" ]; then
	if [ -x ./ternd ]; then TERND=$PWD/ternd; else TERND=$TOP/ternd; fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-relay.XXXXXX") || exit 1
declare -A PID PORT LOGGED
cleanup() {
	local p
	for p in "${PID[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Pin when there is a CPU to pin to; this script's own polling runs on the
# load generator's CPU too, away from the server's.
BENCH_CPUS=$(nproc) # before this script pins itself to one
PIN_SERVER=() PIN_LOAD=()
if [ "$BENCH_CPUS" -gt 1 ] && command -v taskset >/dev/null; then
	PIN_SERVER=(taskset -c "$SERVER_CPU") PIN_LOAD=(taskset -c "$LOAD_CPU")
	taskset -pc "$LOAD_CPU" $$ >/dev/null
fi
hz=$(getconf CLK_TCK)

# free_port: a UDP+TCP port below both relay ranges and the ephemeral range.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 10000))
		ss -Hanut "( sport = :$p or sport = :$((p + 1)) )" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# drops_snap PID PORT: "inode kind drops" for each UDP socket of process PID:
# kind L for the one bound to PORT (the listener), R for the others (relay
# sockets); drops counts datagrams the kernel dropped because the socket's
# receive buffer was full (the last field of /proc/net/udp).
drops_snap() {
	local inodes
	inodes=$(ls -l "/proc/$1/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
	awk -v inodes="$inodes" -v port="$(printf '%04X' "$2")" '
		BEGIN { n = split(inodes, a, " "); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
		NR > 1 && ($10 in mine) { split($2, b, ":"); print $10, (b[2] == port ? "L" : "R"), $NF }
	' /proc/net/udp
}

# drops_sum FILE: "listener relay" drops over the snapshots in FILE, the first
# of which is the baseline. Relay sockets close when their allocation ends,
# so each socket counts with the largest figure any snapshot saw.
drops_sum() {
	awk '$1 == "--" { snap++; next }
		snap == 1 { base[$1] = $3 }
		{ if ($3 > top[$1]) top[$1] = $3; kind[$1] = $2 }
		END { for (i in top) d[kind[i]] += top[i] - base[i]; printf "%d %d\n", d["L"], d["R"] }' "$1"
}
vm_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
note() { echo "- $*" >>"$tmp/notes"; echo "relay: $*" >&2; }

# start_server NAME: start coturn or tern with the common settings on a new
# port; PID[NAME] and PORT[NAME] are set. Returns 1 if it is not answering
# an Allocate within 10 s.
start_server() {
	local name=$1 port cmd probe=
	[ -n "${PID[$name]:-}" ] && stop_server "$name"
	port=$(free_port)
	relay_cmd "$name" "$port"
	cmd=("${CMD[@]}")
	"${PIN_SERVER[@]}" "${cmd[@]}" >"$tmp/$name.out" 2>&1 &
	PID[$name]=$! PORT[$name]=$port
	for _ in $(seq 50); do
		kill -0 "${PID[$name]}" 2>/dev/null || break
		if ss -Hlnu "src 127.0.0.1:$port" | grep -q .; then
			sleep 0.5 # coturn: let every thread open its socket
			probe=$(python3 "$HERE/allocs.py" --server "127.0.0.1:$port" --secret "$SECRET" --probe)
			if [ "$probe" = "probe=ok" ]; then
				[ -n "${LOGGED[$name]:-}" ] || echo "${PIN_SERVER[*]} ${cmd[*]}" |
					sed "s|$tmp|\$TMP|g; s|$TOP/||g; s|-port=$port|-port=PORT|" >>"$tmp/commands"
				LOGGED[$name]=1
				return 0
			fi
			break
		fi
		sleep 0.2
	done
	PROBE_FAIL="${probe:-probe=no-udp-listener}"
	stop_server "$name"
	return 1
}

stop_server() {
	kill -TERM "${PID[$1]}" 2>/dev/null
	for _ in $(seq 30); do kill -0 "${PID[$1]}" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}

# uclient NAME M BYTES MODE N [TIMEOUT]: one turnutils_uclient run against
# server NAME; appends a row to $tmp/rows:
# mode m bytes name relayed_peak relayed cpu_ticks sent loss% rtt_avg rtt_max jitter load_ticks
# seconds listener_drops relay_drops
uclient() {
	local name=$1 m=$2 bytes=$3 mode=$4 n=$5 limit=${6:-0} out=$tmp/uclient.txt
	local pid spid=${PID[$1]} peer=${PID[peer]} c0= l0=0 lu=0 t0 t1 c1 l1 s_flag=()
	{ echo --; drops_snap "$spid" "${PORT[$name]}"; } >"$tmp/drops"
	[ "$mode" = indication ] && s_flag=(-s)
	[ "$limit" -gt 0 ] || limit=$((m / 5 + DURATION * 3 + 40))
	"${PIN_LOAD[@]}" turnutils_uclient -c -m "$m" -n "$n" -l "$bytes" -z 0 "${s_flag[@]}" \
		-e 127.0.0.1 -r "${PORT[peer]}" -X -g -u bench -W "$SECRET" -p "${PORT[$name]}" \
		127.0.0.1 >"$out" 2>&1 &
	pid=$!
	PID[uclient]=$pid
	local deadline=$((SECONDS + limit))
	while kill -0 "$pid" 2>/dev/null; do
		if [ -z "$c0" ] && grep -q "Total connect time" "$out"; then
			c0=$(cpu_ticks "$spid") l0=$(($(cpu_ticks "$peer") + $(cpu_ticks "$pid"))) t0=$(date +%s.%N)
		fi
		[ -n "$c0" ] && lu=$(cpu_ticks "$pid") && { echo --; drops_snap "$spid" "${PORT[$name]}"; } >>"$tmp/drops"
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null
			note "uclient against $name ($mode, -m $m -l $bytes) stopped after $limit s"
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	unset "PID[uclient]"
	c1=$(cpu_ticks "$spid") l1=$(($(cpu_ticks "$peer") + lu)) t1=$(date +%s.%N)
	{ echo --; drops_snap "$spid" "${PORT[$name]}"; } >>"$tmp/drops"
	read -r dl dr < <(drops_sum "$tmp/drops")
	if [ -z "$c0" ]; then
		[ -n "${PROBING:-}" ] || note "uclient against $name ($mode, -m $m -l $bytes) never got its allocations: $(grep -m 1 -i error "$out" | sed 's/^[0-9]*: : //')"
		return 1
	fi
	echo "$name $mode -m $m -l $bytes -n $n: $(grep -E 'tot_send_msgs=[0-9]+, tot_recv_msgs=[0-9]+$|Total lost|round trip' "$out" | sed 's/^[0-9]*: : //' | tr '\n' ' ') server_ticks=$((c1 - c0))" >&2
	awk -v name="$name" -v mode="$mode" -v m="$m" -v bytes="$bytes" -v cpu=$((c1 - c0)) \
		-v load=$((l1 - l0)) -v secs="$(echo "$t1 - $t0" | bc)" -v drops="$dl" -v rdrops="$dr" '
		function num(s) { gsub(/[^0-9.]/, "", s); return s + 0 }
		/msz=.*tot_recv_msgs=/ {
			t = num($1); split($0, a, "tot_recv_msgs="); r = num(substr(a[2], 1, index(a[2], ",")))
			if (seen && t > pt && 2 * (r - pr) / (t - pt) > peak) peak = 2 * (r - pr) / (t - pt)
			pt = t; pr = r; seen = 1
		}
		/start_mclient: tot_send_msgs=[0-9]+, tot_recv_msgs=[0-9]+$/ {
			split($0, a, "tot_send_msgs="); sent = num(substr(a[2], 1, index(a[2], ",")))
			split($0, a, "tot_recv_msgs="); recv = num(a[2])
		}
		/Total lost packets/ { lost = sent ? 100 * (sent - recv) / sent : 0 }
		/Average round trip delay/ { rtt = num($7); mx = num($(NF - 1)) }
		/Average jitter/ { jit = num($5) }
		END { printf "%s %s %d %s %.0f %d %d %d %.3f %.3f %d %.3f %d %.2f %d %d\n", mode, m, bytes, name,
			peak, 2 * recv, cpu, sent, lost, rtt, mx, jit, load, secs, drops, rdrops }
	' "$out" >>"$tmp/rows"
}

# floor M BYTES RATE: load.c through the floor to turnutils_peer.
floor_run() {
	local m=$1 bytes=$2 rate=$3 c0 c1 p0 p1 out dl dr
	c0=$(cpu_ticks "${PID[floor]}") p0=$(cpu_ticks "${PID[peer]}")
	{ echo --; drops_snap "${PID[floor]}" "${PORT[floor]}"; } >"$tmp/drops"
	out=$(timeout $((DURATION + 30)) "${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:${PORT[floor]}" \
		-c "$m" -l "$bytes" -d "$DURATION" -w 256 -r "$rate" -T 4000)
	c1=$(cpu_ticks "${PID[floor]}") p1=$(cpu_ticks "${PID[peer]}")
	{ echo --; drops_snap "${PID[floor]}" "${PORT[floor]}"; } >>"$tmp/drops"
	read -r dl dr < <(drops_sum "$tmp/drops")
	echo "floor -c $m -l $bytes -r $rate: $out server_ticks=$((c1 - c0))" >&2
	echo "$out" | awk -v m="$m" -v bytes="$bytes" -v cpu=$((c1 - c0)) -v peer=$((p1 - p0)) -v hz="$hz" \
		-v drops="$dl" -v rdrops="$dr" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "any %s %d floor %.0f %d %d %d %.3f %.3f %.3f - %d %.2f %d %d\n", m, bytes,
			2 * v["received"] / v["seconds"], 2 * v["received"], cpu, v["sent"],
			v["sent"] ? 100 * v["lost"] / v["sent"] : 0, v["rtt_avg"] / 1000, v["rtt_max"] / 1000,
			peer + v["cpu"] * hz, v["seconds"], drops, rdrops
	}' >>"$tmp/rows"
}

for f in rows commands notes idle; do : >"$tmp/$f"; done
cc -O2 -Wall -Wextra -o "$tmp/floor" "$TOP/bench/udp-floor/floor.c" &&
	cc -O2 -Wall -Wextra -o "$tmp/load" "$TOP/bench/udp-floor/load.c" -lcrypto || {
	echo "relay: cannot compile the floor" >&2
	exit 1
}
command -v turnutils_uclient >/dev/null && command -v turnutils_peer >/dev/null || {
	echo "relay: turnutils_uclient and turnutils_peer (coturn) are needed for the load" >&2
	exit 1
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- throughput ------------------------------------------------------------------
PORT[peer]=$(free_port)
"${PIN_LOAD[@]}" turnutils_peer -L 127.0.0.1 -p "${PORT[peer]}" >"$tmp/peer.out" 2>&1 &
PID[peer]=$!
echo "${PIN_LOAD[*]} turnutils_peer -L 127.0.0.1 -p PEER" >>"$tmp/commands"

servers=() TERN_MODES=()
if command -v turnserver >/dev/null; then
	if start_server coturn; then servers+=(coturn); else note "coturn did not start or answer an Allocate ($PROBE_FAIL)."; fi
else
	note "coturn (turnserver) not installed: not measured."
fi

if [ ! -x "$TERND" ]; then
	note "ternd not found at $TERND: tern not measured."
elif ! start_server tern; then
	note "ternd at $TERND does not answer an Allocate ($PROBE_FAIL): tern not measured."
	tail -n 5 "$tmp/tern.out" "$tmp/ternd.log" >&2 2>/dev/null
else
	# It allocates; does it relay? Five datagrams in each mode.
	for mode in $MODES; do
		PROBING=1 uclient tern 1 100 "$mode" 5 40 2>/dev/null
		if awk -v mode="$mode" '$1 == mode && $4 == "tern" && $6 > 0 { ok = 1 } END { exit !ok }' "$tmp/rows"; then
			TERN_MODES+=("$mode")
		else
			note "ternd answers an Allocate but relayed nothing in $mode mode: tern not measured in it ($(grep -m 1 -i error "$tmp/uclient.txt" | sed 's/^[0-9]*: : //'))."
		fi
	done
	: >"$tmp/rows"
	[ ${#TERN_MODES[@]} -gt 0 ] && servers+=(tern) || stop_server tern
fi

PORT[floor]=$(free_port)
"${PIN_SERVER[@]}" "$tmp/floor" -l "127.0.0.1:${PORT[floor]}" -p "127.0.0.1:${PORT[peer]}" \
	-t 7200 >"$tmp/floor.out" 2>&1 &
PID[floor]=$!
echo "${PIN_SERVER[*]} floor -l 127.0.0.1:FLOOR -p 127.0.0.1:PEER" >>"$tmp/commands"
echo "${PIN_LOAD[*]} turnutils_uclient -c -m CLIENTS -n N -l BYTES -z 0 [-s] -e 127.0.0.1 -r PEER -X -g -u bench -W $SECRET -p PORT 127.0.0.1" >>"$tmp/commands"
echo "${PIN_LOAD[*]} load -s 127.0.0.1:FLOOR -c CLIENTS -l BYTES -d $DURATION -w 256 -r RATE -T 4000" >>"$tmp/commands"

config=0
for mode in $MODES; do
	for m in $CLIENTS; do
		for bytes in $SIZES; do
			rate=$((m * 12500 < RATE_CAP ? m * 12500 : RATE_CAP))
			n=$((rate * DURATION / m))
			# Alternate which server goes first, so that drift hits both alike.
			order=("${servers[@]}")
			[ $((++config % 2)) = 0 ] && [ ${#servers[@]} = 2 ] && order=("${servers[1]}" "${servers[0]}")
			for s in "${order[@]}"; do
				[ "$s" = tern ] && [[ " ${TERN_MODES[*]} " != *" $mode "* ]] && continue
				# Now and then coturn refuses one of uclient's ChannelBinds
				# ("same channel number with different peer"); try once more.
				uclient "$s" "$m" "$bytes" "$mode" "$n" || uclient "$s" "$m" "$bytes" "$mode" "$n"
			done
			[ "$mode" = channel ] || continue
			# The floor at the peak round-trip rate of coturn, else tern, else the nominal one.
			peak=$(awk -v m="$m" -v b="$bytes" '$1 == "channel" && $2 == m && $3 == b && $5 > 0 {
				r[$4] = int($5 / 2) } END { print r["coturn"] ? r["coturn"] : r["tern"] }' "$tmp/rows")
			floor_run "$m" "$bytes" "${peak:-$rate}"
		done
	done
done
for s in "${servers[@]}"; do stop_server "$s"; done
stop_server floor

# ---- idle memory -----------------------------------------------------------------
idle_servers=()
command -v turnserver >/dev/null && idle_servers+=(coturn)
[ -x "$TERND" ] && idle_servers+=(tern)
[ "$IDLE_ALLOCS" -gt 0 ] || idle_servers=()
for s in "${idle_servers[@]}"; do
	start_server "$s" || continue
	pid=${PID[$s]}
	sleep 1
	r0=$(vm_rss_kb "$pid") f0=$(ls "/proc/$pid/fd" | wc -l)
	python3 "$HERE/allocs.py" --server "127.0.0.1:${PORT[$s]}" --secret "$SECRET" \
		-n "$IDLE_ALLOCS" --client-ip 127.1.0.1 --spread "$IDLE_ALLOCS" --hold 600 >"$tmp/allocs.out" 2>&1 &
	PID[allocs]=$!
	for _ in $(seq 600); do
		grep -q allocated= "$tmp/allocs.out" || ! kill -0 "${PID[allocs]}" 2>/dev/null && break
		sleep 0.5
	done
	sleep 2
	r1=$(vm_rss_kb "$pid") f1=$(ls "/proc/$pid/fd" | wc -l)
	res=$(grep allocated= "$tmp/allocs.out" || echo "allocated=0 failed=$IDLE_ALLOCS seconds=0 errors=$(tail -n 1 "$tmp/allocs.out")")
	echo "$s idle: $res VmRSS ${r0} -> ${r1} kB, fds $f0 -> $f1" >&2
	echo "$s $r0 $r1 $f0 $f1 $res" >>"$tmp/idle"
	stop_server allocs
	stop_server "$s"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----------------------------------------------------------------------
throughput_table() {
	echo "| mode | clients | bytes | server | relayed pkt/s | relayed | server CPU s | relayed / CPU-s | loss | drops listener / relay | RTT avg ms | RTT max ms | load CPU s |"
	echo "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -v hz="$hz" '{
		cpu = $7 / hz
		printf "| %s | %d | %d | %s | %.0f | %d | %.2f | %s | %.2f%% | %d / %d | %.3f | %s | %.2f |\n", $1, $2, $3, $4, $5,
			$6, cpu, (cpu > 0 ? sprintf("%.0f", $6 / cpu) : "-"), $9, $15, $16, $10, $11, $13 / hz
	}' "$tmp/rows"
}

ratio_table() {
	echo "| mode | clients | bytes | coturn / CPU-s | tern / CPU-s | floor / CPU-s | tern/coturn | tern/floor | coturn/floor |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	awk -v hz="$hz" '
		function r(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
		function v(x) { return x > 0 ? sprintf("%.0f", x) : "-" }
		{ eff = $7 > 0 ? $6 / ($7 / hz) : 0
		  if ($4 == "floor") fl[$2, $3] = eff
		  else { e[$1, $2, $3, $4] = eff; if (!(($1, $2, $3) in key)) { key[$1, $2, $3] = 1; order[++n] = $1 " " $2 " " $3 } } }
		END { for (i = 1; i <= n; i++) {
			split(order[i], k, " "); c = e[k[1], k[2], k[3], "coturn"]; t = e[k[1], k[2], k[3], "tern"]; f = fl[k[2], k[3]]
			printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k[1], k[2], k[3], v(c), v(t), v(f), r(t, c), r(t, f), r(c, f) } }
	' "$tmp/rows"
}

idle_table() {
	echo "| server | allocations | failed | alloc/s (Python client) | VmRSS before kB | VmRSS after kB | RSS bytes / allocation | fds / allocation |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	awk '{
		for (i = 6; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = v["allocated"]
		printf "| %s | %d | %d | %s | %d | %d | %s | %s |\n", $1, n, v["failed"],
			(v["seconds"] > 0 ? sprintf("%.0f", n / v["seconds"]) : "-"), $2, $3,
			(n ? sprintf("%.0f", ($3 - $2) * 1024 / n) : "-"), (n ? sprintf("%.2f", ($5 - $4) / n) : "-")
	}' "$tmp/idle"
}

machine="$BENCH_CPUS CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)"
section=$(
	echo "<!-- relay:begin (written by bench/relay/run.sh) -->"
	echo "## TURN relay over UDP (bench/relay)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $machine, loopback; load average $load_before before, $load_after after."
	echo "One relay thread per server, pinned to CPU $SERVER_CPU; turnutils_uclient (coturn 4.6.1, -z 0 flood,"
	echo "-c -X -g), turnutils_peer and load.c on CPU $LOAD_CPU. A relayed packet is a datagram relayed in"
	echo "either direction, counted as 2 x echoes received; server CPU is utime+stime of all its threads"
	echo "from \"Total connect time\" to uclient's exit. The floor row is load.c through bench/udp-floor's"
	echo "floor at the peak rate coturn reached, through the same peer. See the header of bench/relay/run.sh."
	echo
	echo "### Packets relayed per server CPU-second"
	echo
	ratio_table
	echo
	echo "### Every run"
	echo
	throughput_table
	echo
	if [ -s "$tmp/idle" ]; then
		echo "### Memory at $IDLE_ALLOCS idle allocations"
		echo
		idle_table
		echo
		echo "VmRSS only: each allocation's relay socket also costs kernel memory (about 1-2 KB of socket"
		echo "structures per fd), which neither figure includes."
		echo
	fi
	cat "$tmp/notes"
	echo
	echo "Commands:"
	echo
	echo '```'
	cat "$tmp/commands"
	echo "allocs.py --server 127.0.0.1:PORT --secret $SECRET -n $IDLE_ALLOCS --client-ip 127.1.0.1 --spread $IDLE_ALLOCS"
	echo '```'
	echo "<!-- relay:end -->"
)
echo "$section"

if [ "$WRITE" = 1 ]; then
	touch "$RESULTS"
	(
		flock 9
		[ -s "$RESULTS" ] || printf '# Benchmark results\n\nLatest figures; each section is rewritten by its bench script.\n' >"$RESULTS"
		SECTION=$section awk '
			/<!-- relay:begin/ { print ENVIRON["SECTION"]; skip = 1; done = 1; next }
			/<!-- relay:end/ { skip = 0; next }
			!skip { print }
			END { if (!done) print "\n" ENVIRON["SECTION"] }
		' "$RESULTS" >"$tmp/results" && cat "$tmp/results" >"$RESULTS"
	) 9>>"$RESULTS"
	echo "relay: wrote $RESULTS" >&2
fi
