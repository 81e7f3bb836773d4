#!/bin/bash
# WireGuard: ternd beside wireguard-go as the responder, in the same
# network namespaces, under the same load, rounds alternating.
#
#   bench/wireguard/run.sh [--write]     (TERND=/path/to/ternd, else ./ternd)
#
# Two namespaces joined by a veth pair: the responder's (its tunnel address
# 10.66.0.1) and the client's. The responder is pinned to SERVER_CPU; the
# client's wireguard-go, iperf3 (both ends) and hsload to LOAD_CPU, so the
# responder has a core to itself and the same load either way.
#
#   throughput   iperf3 TCP through the tunnel, client to responder and
#                back (-R), DURATION s each: Mbit/s, and the responder's
#                CPU-seconds per GB; and the idle tunnel's ping time.
#   handshakes   hsload: 1000 peers, 64 initiations outstanding, each peer
#                at most one per 25 ms (both responders limit a peer to 50
#                a second), ternd with cookies off (wg-cookie-threshold
#                10000000; wireguard-go asks for them only when its queue
#                backs up, which 64 outstanding does not do): responses
#                per responder CPU-second, against
#                the X25519 bound: X25519 operations per CPU-second on this
#                machine (hsload x25519) / 4, the scalar multiplications a
#                responder does per handshake with the static-static one
#                precomputed.
#   flood        hsload flood: the same initiations over and over, as fast
#                as one core sends them; ternd at its default
#                wg-cookie-threshold (FLOOD_THRESHOLD), wireguard-go as it is: the
#                responder's CPU %, responses and cookie replies a second.
#
# CPU is utime+stime from /proc/PID/stat (softirq work the kernel does not
# charge to the process is left out, for both). Environment: TERND,
# DURATION (5), ROUNDS (3), PEERS (1000), SERVER_CPU (0), LOAD_CPU (1),
# FLOOD_THRESHOLD (4000), RESULTS; ONLY=throughput runs the throughput part
# alone (to try a change; it writes nothing).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3} PEERS=${PEERS:-1000}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
FLOOD_THRESHOLD=${FLOOD_THRESHOLD:-4000}
ONLY=${ONLY:-}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup wireguard
bench_need wireguard "$TERND" wireguard-go wg iperf3 ip taskset

bench_netns wireguard bw 192.168.66

cc -O2 -Wall -Wextra -I"$TOP" -o "$tmp/hsload" "$HERE/hsload.c" "$TOP/tunnel/blake2s.c" \
	"$TOP/tunnel/noise.c" -lsodium -lcrypto || { echo "wireguard: hsload did not build" >&2; exit 1; }
(umask 077; wg genkey >"$tmp/server.key"; wg genkey >"$tmp/client.key")
SP=$(wg pubkey <"$tmp/server.key") CP=$(wg pubkey <"$tmp/client.key")
"$tmp/hsload" keys "$PEERS" "$tmp/load" || exit 1
{
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n' "$(cat "$tmp/server.key")"
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.66.0.2/32\n\n' "$CP"
	cat "$tmp/load.conf"
} >"$tmp/server.conf"
X25519=$(kv x25519_per_cpu_second "$(taskset -c "$SERVER_CPU" "$tmp/hsload" x25519 3)")

RPID=
start_tern() { # ARGS...
	"${PS[@]}" "$TERND" -n --no-udp --no-tcp --stats-listen=off --log-file="$tmp/ternd.log" \
		--wg-config="$tmp/server.conf" --wg-tun=bwt$$ --wg-address=10.66.0.1/24 "$@" &
	RPID=$!
	for _ in $(seq 50); do grep -q "ternd ready" "$tmp/ternd.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "wireguard: ternd did not start" >&2; tail "$tmp/ternd.log" >&2; exit 1
}
start_wggo() {
	WG_PROCESS_FOREGROUND=1 "${PS[@]}" wireguard-go -f bwg$$ >"$tmp/wggo.log" 2>&1 &
	RPID=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/bwg$$.sock ] && break; sleep 0.1; done
	ip netns exec "$S" wg setconf bwg$$ "$tmp/server.conf" &&
		ip -n "$S" addr add 10.66.0.1/24 dev bwg$$ && ip -n "$S" link set bwg$$ up
}
stop_responder() { kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; rm -f "$tmp/ternd.log"; }
client_up() {
	WG_PROCESS_FOREGROUND=1 "${PC[@]}" wireguard-go -f bwc$$ >"$tmp/client.log" 2>&1 &
	CPID=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/bwc$$.sock ] && break; sleep 0.1; done
	ip netns exec "$C" wg set bwc$$ private-key "$tmp/client.key" peer "$SP" \
		endpoint 192.168.66.1:51820 allowed-ips 10.66.0.0/24 &&
		ip -n "$C" addr add 10.66.0.2/24 dev bwc$$ && ip -n "$C" link set bwc$$ up &&
		ip netns exec "$C" ping -c 1 -W 5 10.66.0.1 >/dev/null
}
client_down() { kill -TERM "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null; }

# iperf3 one way: "Mbit/s cpu-ticks"
iperf() { # ARGS...
	local t0 t1 out
	ip netns exec "$S" taskset -c "$LOAD_CPU" iperf3 -s -B 10.66.0.1 -1 >/dev/null 2>&1 &
	sleep 0.3
	t0=$(cpu_ticks "$RPID")
	out=$("${PC[@]}" iperf3 -c 10.66.0.1 -t "$DURATION" -J "$@" 2>/dev/null)
	t1=$(cpu_ticks "$RPID")
	wait
	echo "$("$PYTHON" -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$out" 2>/dev/null || echo 0) $((t1 - t0))"
}
PYTHON=${PYTHON:-python3}

# hsload MODE: "answers/s cookies/s cpu-ticks"
hs() {
	local t0 t1 out
	t0=$(cpu_ticks "$RPID")
	if [ "$1" = run ]; then
		out=$("${PC[@]}" "$tmp/hsload" run 192.168.66.1:51820 "$SP" "$tmp/load" "$DURATION" 64)
	else
		out=$("${PC[@]}" "$tmp/hsload" flood 192.168.66.1:51820 "$SP" "$tmp/load" "$DURATION")
	fi
	t1=$(cpu_ticks "$RPID")
	awk -v r="$(kv responses "$out")" -v c="$(kv cookies "$out")" -v s="$(kv seconds "$out")" \
		-v t=$((t1 - t0)) 'BEGIN { printf "%.0f %.0f %d\n", r / s, c / s, t }'
}

round() { # NAME: one round's figures into $tmp/NAME.ROUND
	local name=$1 r=$2
	if [ "$name" = tern ]; then start_tern; else start_wggo || exit 1; fi
	client_up || { echo "wireguard: the client did not connect to $name" >&2; exit 1; }
	echo "rtt $("${PC[@]}" ping -q -c 300 -i 0.002 10.66.0.1 |
		sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p' | awk '{ printf "%d", $1 * 1000 }')" >"$tmp/$name.$r"
	echo "fwd $(iperf)" >>"$tmp/$name.$r"
	echo "rev $(iperf -R)" >>"$tmp/$name.$r"
	client_down
	stop_responder
	if [ "$ONLY" = throughput ]; then
		echo "round $r $name: $(tr '\n' ' ' <"$tmp/$name.$r")" >&2
		return
	fi
	# capacity: cookies off, so every initiation costs its DHs
	if [ "$name" = tern ]; then start_tern --wg-cookie-threshold=10000000; else start_wggo; fi
	echo "hs $(hs run)" >>"$tmp/$name.$r"
	stop_responder
	if [ "$name" = tern ]; then start_tern --wg-cookie-threshold="$FLOOD_THRESHOLD"; else start_wggo; fi
	echo "flood $(hs flood)" >>"$tmp/$name.$r"
	stop_responder
	echo "round $r $name: $(tr '\n' ' ' <"$tmp/$name.$r")" >&2
}

for r in $(seq "$ROUNDS"); do
	round tern "$r"
	round wireguard-go "$r"
done

# median NAME KIND FIELD: the median over rounds of a field (2, 3, 4)
median() {
	for r in $(seq "$ROUNDS"); do awk -v k="$2" -v f="$3" '$1 == k { print $f }' "$tmp/$1.$r"; done |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ticks=$(getconf CLK_TCK)
row_tp() { # NAME KIND: Mbit/s, CPU-s per GB
	local m t
	m=$(median "$1" "$2" 2) t=$(median "$1" "$2" 3)
	awk -v m="$m" -v t="$t" -v d="$DURATION" -v hz="$ticks" 'BEGIN {
		gb = m * d / 8 / 1000; printf "%d | %.2f", m, (gb > 0 ? (t / hz) / gb : 0) }'
}
hs_rate() { # NAME: handshakes per responder CPU-second
	local a t
	a=$(median "$1" hs 2) t=$(median "$1" hs 4)
	awk -v a="$a" -v t="$t" -v d="$DURATION" -v hz="$ticks" 'BEGIN {
		printf "%.0f", (t > 0 ? a * d / (t / hz) : 0) }'
}
flood() { # NAME: "CPU% | answers/s | cookies/s"
	awk -v a="$(median "$1" flood 2)" -v c="$(median "$1" flood 3)" -v t="$(median "$1" flood 4)" \
		-v d="$DURATION" -v hz="$ticks" 'BEGIN { printf "%.0f | %d | %d", 100 * t / hz / d, a, c }'
}
bound=$(awk -v x="$X25519" 'BEGIN { printf "%.0f", x / 4 }')
T_HS=$(hs_rate tern) G_HS=$(hs_rate wireguard-go)
section=$(
	cat <<EOF
<!-- wireguard:begin (written by bench/wireguard/run.sh) -->
## WireGuard responder (bench/wireguard)

$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, $(uname -sr); $ROUNDS alternating rounds of ${DURATION} s, medians.
Responder pinned to CPU $SERVER_CPU; the client's wireguard-go, iperf3 and hsload on CPU $LOAD_CPU;
two network namespaces joined by a veth pair. See the header of bench/wireguard/run.sh.

### Throughput through the tunnel (iperf3, TCP)

| responder | client to responder, Mbit/s | responder CPU-s per GB | responder to client, Mbit/s | responder CPU-s per GB |
|---|---:|---:|---:|---:|
| tern | $(row_tp tern fwd) | $(row_tp tern rev) |
| wireguard-go | $(row_tp wireguard-go fwd) | $(row_tp wireguard-go rev) |

Round-trip time through the idle tunnel (ping, 300 at 2 ms intervals, average): tern
$(median tern rtt 2) us, wireguard-go $(median wireguard-go rtt 2) us.

### Handshakes ($PEERS peers, 64 outstanding)

| responder | handshakes/s | per responder CPU-second | of the X25519 bound |
|---|---:|---:|---:|
| tern | $(median tern hs 2) | $T_HS | $(awk -v h="$T_HS" -v b="$bound" 'BEGIN { printf "%.0f%%", 100 * h / b }') |
| wireguard-go | $(median wireguard-go hs 2) | $G_HS | $(awk -v h="$G_HS" -v b="$bound" 'BEGIN { printf "%.0f%%", 100 * h / b }') |

X25519 on CPU $SERVER_CPU: $X25519 operations per CPU-second, so at most $bound handshakes per
CPU-second at 4 per handshake.

### A flood of initiations (hsload flood, one core sending)

| responder | responder CPU % | handshakes answered/s | cookie replies/s |
|---|---:|---:|---:|
| tern (wg-cookie-threshold $FLOOD_THRESHOLD) | $(flood tern) |
| wireguard-go | $(flood wireguard-go) |
<!-- wireguard:end -->
EOF
)
[ "$ONLY" = throughput ] && exit 0
echo "$section"
[ "$WRITE" = 1 ] && results_write wireguard "$section"
exit 0
