#!/bin/bash
# WebSocket (issue 12): what the fallback costs against the protocols it
# stands in for, each pair measured in one run.
#
#   bench/websocket/run.sh [--write]   (TERND, WSPROXY: else ./ternd, ./tern-wsproxy)
#
#   wireguard  wireguard-go in a client namespace, ternd's responder in the
#              server's (gateway mode, a TUN device): iperf3 TCP for
#              DURATION s each way with the client's endpoint ternd's UDP
#              port, then tern-wsproxy speaking wss:// to ternd's TLS port.
#              Mbit/s, and ternd's CPU-seconds per GB carried. ternd pinned
#              to SERVER_CPU; wireguard-go, tern-wsproxy and iperf3 to LOAD_CPU.
#   turn       ChannelData through one allocation to a UDP echo peer
#              (turnutils_peer), WINDOW in flight, for DURATION s, over TCP
#              and over WebSocket on the same port (tests/interop/wsclient.py
#              rate, a Python client: the echoes a second are the client's
#              limit as much as ternd's, so ternd's CPU per echo is the figure
#              to compare).
#   idle       IDLE upgraded WebSocket connections that then say nothing (1,000
#              from each of several 127.0.0.x sources, the per-source cap):
#              ternd's RSS before and with them, and its CPU over HOLD s.
#
# Environment: TERND, WSPROXY, DURATION (5), ROUNDS (3), WINDOW (32), IDLE
# (10000), HOLD (20), SERVER_CPU (0), LOAD_CPU (1), RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
WSPROXY=${WSPROXY:-$(dirname "$TERND")/tern-wsproxy}
DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3} WINDOW=${WINDOW:-32}
IDLE=${IDLE:-10000} HOLD=${HOLD:-20}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
PYTHON=${PYTHON:-python3}
WSPY=/usr/bin/python3
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup websocket
bench_need websocket "$TERND" wireguard-go wg iperf3 ip taskset turnutils_peer openssl
[ -x "$WSPROXY" ] || { echo "websocket: no tern-wsproxy at $WSPROXY (set WSPROXY)" >&2; exit 1; }
"$WSPY" -c 'import websockets' 2>/dev/null || { echo "websocket: python3-websockets is missing" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
ticks=$(getconf CLK_TCK)

CERT_SANS=IP:192.168.69.1 "$TOP/tests/interop/certs.sh" "$tmp/certs" ||
	{ echo "websocket: no certificate" >&2; exit 1; }

# ---- wireguard ------------------------------------------------------------------
bench_netns websocket bx 192.168.69

(umask 077; wg genkey >"$tmp/server.key"; wg genkey >"$tmp/client.key")
SP=$(wg pubkey <"$tmp/server.key") CP=$(wg pubkey <"$tmp/client.key")
printf '[Interface]\nPrivateKey = %s\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.68.0.2/32\n' \
	"$(cat "$tmp/server.key")" "$CP" >"$tmp/server.conf"

TPID= XPID= CPID=
start_tern() { # NS-COMMAND... -- ARGS...: ternd, waiting until it is ready
	rm -f "$tmp/ternd.log"
	"$@" --log-file="$tmp/ternd.log" &
	TPID=$!
	for _ in $(seq 50); do grep -q "ternd ready" "$tmp/ternd.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "websocket: ternd did not start" >&2; tail "$tmp/ternd.log" >&2; exit 1
}
client_up() { # ENDPOINT
	WG_PROCESS_FOREGROUND=1 "${PC[@]}" wireguard-go -f bwc$$ >"$tmp/client.log" 2>&1 &
	CPID=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/bwc$$.sock ] && break; sleep 0.1; done
	ip netns exec "$C" wg set bwc$$ private-key "$tmp/client.key" peer "$SP" \
		endpoint "$1" allowed-ips 10.68.0.0/24 &&
		ip -n "$C" addr add 10.68.0.2/24 dev bwc$$ && ip -n "$C" link set bwc$$ up &&
		ip netns exec "$C" ping -c 1 -W 5 10.68.0.1 >/dev/null
}
stop_all() {
	local p
	for p in $CPID $XPID $TPID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	TPID= XPID= CPID=
}
# iperf3 one way: "Mbit/s ternd-ticks bytes"
iperf() { # ARGS...
	local t0 t1 out
	ip netns exec "$S" taskset -c "$LOAD_CPU" iperf3 -s -B 10.68.0.1 -1 >/dev/null 2>&1 &
	sleep 0.3
	t0=$(cpu_ticks "$TPID")
	out=$("${PC[@]}" iperf3 -c 10.68.0.1 -t "$DURATION" -J "$@" 2>/dev/null)
	t1=$(cpu_ticks "$TPID")
	wait
	echo "$("$PYTHON" -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print(round(e["bits_per_second"]/1e6), e["bytes"])' <<<"$out" 2>/dev/null || echo 0 0) $((t1 - t0))"
}
wg_round() { # NAME ROUND
	start_tern "${PS[@]}" "$TERND" -n --listening-ip=192.168.69.1 --stats-listen=off \
		--cert="$tmp/certs/cert.pem" --pkey="$tmp/certs/key.pem" --no-dtls \
		--wg-config="$tmp/server.conf" --wg-tun=bwt$$ --wg-address=10.68.0.1/24
	if [ "$1" = udp ]; then
		client_up 192.168.69.1:51820 || { echo "websocket: no tunnel over UDP" >&2; exit 1; }
	else
		"${PC[@]}" "$WSPROXY" --listen 127.0.0.1:51821 --ca "$tmp/certs/cert.pem" \
			wss://192.168.69.1:5349/wg >"$tmp/proxy.log" 2>&1 &
		XPID=$!
		for _ in $(seq 50); do grep -q connected "$tmp/proxy.log" && break; sleep 0.1; done
		client_up 127.0.0.1:51821 || { echo "websocket: no tunnel over wss://" >&2; exit 1; }
	fi
	{
		echo "fwd $(iperf)"
		echo "rev $(iperf -R)"
	} >"$tmp/$1.$2"
	stop_all
	echo "round $2 $1: $(tr '\n' ' ' <"$tmp/$1.$2")" >&2
}
for r in $(seq "$ROUNDS"); do
	wg_round udp "$r"
	wg_round wss "$r"
done
cleanup_ns

# median FILE-PREFIX KIND AWK-EXPRESSION: over the rounds
median() {
	for r in $(seq "$ROUNDS"); do
		awk -v k="$2" -v hz="$ticks" "\$1 == k { print $3 }" "$tmp/$1.$r"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
mbit() { median "$1" "$2" '$2'; }
cpu_gb() { median "$1" "$2" '($3 > 0 ? sprintf("%.2f", $4 / hz / ($3 / 1e9)) : 0)'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# ---- turn ----------------------------------------------------------------------
P=$(free_port) PP=$(free_port)
"${PIN_LOAD[@]}" turnutils_peer -p "$PP" -L 127.0.0.1 >/dev/null 2>&1 &
PIDS+=($!)
start_tern "${PIN_SERVER[@]}" "$TERND" -n --listening-ip=127.0.0.1 --listening-port="$P" \
	--stats-listen=off --no-tls --no-dtls --user=bench:bench --realm=bench \
	--allow-loopback-peers --workers=1 --max-stream-connections=0 \
	--max-stream-connections-per-source=0
PIDS+=("$TPID")
rate() { # ARGS...: "echoes ternd-ticks"
	local t0 t1 out
	t0=$(cpu_ticks "$TPID")
	out=$("${PIN_LOAD[@]}" "$WSPY" "$TOP/tests/interop/wsclient.py" rate 127.0.0.1 "$P" \
		--peer-port "$PP" --window "$WINDOW" --seconds "$DURATION" "$@")
	t1=$(cpu_ticks "$TPID")
	echo "$(kv echoes "$out") $((t1 - t0))"
}
for r in $(seq "$ROUNDS"); do
	echo "echo $(rate)" >"$tmp/tcp.$r"
	echo "echo $(rate --ws)" >"$tmp/ws.$r"
	echo "round $r turn: tcp $(cat "$tmp/tcp.$r"), ws $(cat "$tmp/ws.$r")" >&2
done
per_s() { median "$1" echo "int(\$2 / $DURATION)"; }
us_per() { median "$1" echo '($2 > 0 ? sprintf("%.1f", $3 / hz * 1e6 / $2) : 0)'; }

# ---- idle -----------------------------------------------------------------------
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$TPID/status"; }
rss0=$(rss_kb)
sources=$(seq -s, -f '127.0.0.%g' 2 $((IDLE / 1000 + 1)))
"${PIN_LOAD[@]}" "$WSPY" "$TOP/tests/interop/wsclient.py" --timeout 30 silent 127.0.0.1 "$P" \
	--bind "$sources" --n "$IDLE" --hold-until "$tmp/done" >"$tmp/idle.out" 2>&1 &
IPID=$!
PIDS+=("$IPID")
for _ in $(seq 1200); do grep -q upgraded "$tmp/idle.out" && break; sleep 0.1; done
upgraded=$(kv upgraded "$(cat "$tmp/idle.out")")
sleep 1
rss1=$(rss_kb) c0=$(cpu_ticks "$TPID")
sleep "$HOLD"
c1=$(cpu_ticks "$TPID") rss2=$(rss_kb)
touch "$tmp/done"
echo "idle: ${upgraded:-0} upgraded; RSS ${rss0} -> ${rss1} -> ${rss2} kB; $((c1 - c0)) ticks in $HOLD s" >&2
per_conn=$(awk -v a="$rss0" -v b="$rss2" -v n="${upgraded:-0}" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) * 1024 / n : 0) }')
idle_cpu=$(awk -v t="$((c1 - c0))" -v hz="$ticks" -v s="$HOLD" 'BEGIN { printf "%.2f", t / hz / s * 100 }')

section=$(
	cat <<EOF
<!-- websocket:begin (written by bench/websocket/run.sh) -->
## WebSocket fallback (bench/websocket)

$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, $(uname -sr); $ROUNDS alternating rounds, medians.
See the header of bench/websocket/run.sh.

WireGuard, wireguard-go to ternd's responder (gateway mode), iperf3 TCP $DURATION s each way; ternd
pinned to CPU $SERVER_CPU, the client side (wireguard-go, tern-wsproxy, iperf3) to CPU $LOAD_CPU:

| client's endpoint | client to ternd, Mbit/s | ternd CPU-s per GB | ternd to client, Mbit/s | ternd CPU-s per GB |
|---|---:|---:|---:|---:|
| ternd's UDP port | $(mbit udp fwd) | $(cpu_gb udp fwd) | $(mbit udp rev) | $(cpu_gb udp rev) |
| tern-wsproxy, wss:// | $(mbit wss fwd) | $(cpu_gb wss fwd) | $(mbit wss rev) | $(cpu_gb wss rev) |

Throughput over wss:// as a share of UDP: $(ratio "$(mbit wss fwd)" "$(mbit udp fwd)") client to ternd,
$(ratio "$(mbit wss rev)" "$(mbit udp rev)") ternd to client.

TURN, ChannelData echoed through one allocation, $WINDOW in flight, one worker, a Python client:

| client transport | echoes a second | ternd CPU per echo, us |
|---|---:|---:|
| TCP | $(per_s tcp) | $(us_per tcp) |
| WebSocket (ws://, same port) | $(per_s ws) | $(us_per ws) |

ternd CPU per echo, WebSocket over TCP: $(ratio "$(us_per ws)" "$(us_per tcp)").

Idle: ${upgraded:-0} upgraded WebSocket connections that then send nothing: ternd's RSS $((rss0 / 1024)) MB
before, $((rss2 / 1024)) MB with them ($per_conn bytes each); ternd's CPU while they sat for $HOLD s:
${idle_cpu}% of a core.
<!-- websocket:end -->
EOF
)
echo "$section"
[ "$WRITE" = 1 ] && results_write websocket "$section"
exit 0
