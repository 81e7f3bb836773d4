#!/bin/bash
# WireGuard peers in Redis (issue 11): what stored peers cost ternd, and
# what a Redis lookup adds to a handshake.
#
#   bench/peers/run.sh [--write]     (TERND=/path/to/ternd, else ./ternd)
#
# One network namespace, everything on its loopback: ternd pinned to
# SERVER_CPU, redis-server and the load (bench/wireguard/hsload) to LOAD_CPU.
#
#   memory     ternd's RSS (VmRSS) with ACTIVE peers in Redis and none in
#              memory; again once STORED more are written to Redis; again
#              once the ACTIVE peers have handshaked (they are in memory
#              now): bytes per active peer, and what the stored ones cost
#   latency    hsload lat: one handshake at a time, each ACTIVE peer in
#              turn, three rounds: the first finds every peer cold (looked
#              up in Redis, its ss worked out), the next two warm (in
#              memory; a stored peer is still asked of Redis at every
#              handshake, for its timestamp); and the same peers from
#              wg-config, without Redis: p50 and p99
#   cold rate  hsload once: COLD new peers, one initiation each, 64
#              outstanding: handshakes a second and per responder
#              CPU-second, against the same peers from wg-config
#
# The processes run SCHED_FIFO (chrt -f 10) where allowed, since one
# handshake at a time measures scheduling as much as work otherwise.
# Environment: TERND, STORED (1000000), ACTIVE (3000), COLD (10000),
# SETTLE (15: seconds for Redis after the fill), REDIS_ARGS (more
# redis-server options), SERVER_CPU (0), LOAD_CPU (1), RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
STORED=${STORED:-1000000} ACTIVE=${ACTIVE:-3000} COLD=${COLD:-10000}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
PYTHON=${PYTHON:-python3}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup peers
bench_need peers "$TERND" redis-server redis-cli wg ip taskset
NS=bp$$
RT=()
command -v chrt >/dev/null && chrt -f 10 true 2>/dev/null && RT=(chrt -f 10)
trap 'bench_cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip netns add "$NS" && ip -n "$NS" link set lo up || { echo "peers: no namespace" >&2; exit 1; }
PS=(ip netns exec "$NS" ${RT[@]+"${RT[@]}"} taskset -c "$SERVER_CPU")
PL=(ip netns exec "$NS" ${RT[@]+"${RT[@]}"} taskset -c "$LOAD_CPU")

cc -O2 -Wall -Wextra -I"$TOP" -o "$tmp/hsload" "$TOP/bench/wireguard/hsload.c" \
	"$TOP/tunnel/blake2s.c" "$TOP/tunnel/noise.c" -lsodium -lcrypto ||
	{ echo "peers: hsload did not build" >&2; exit 1; }
(umask 077; wg genkey >"$tmp/server.key")
SP=$(wg pubkey <"$tmp/server.key")
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n' "$(cat "$tmp/server.key")" >"$tmp/srv.conf"
"$tmp/hsload" keys "$ACTIVE" "$tmp/active" && "$tmp/hsload" keys "$COLD" "$tmp/cold" || exit 1
cat "$tmp/srv.conf" "$tmp/active.conf" >"$tmp/active-local.conf"
cat "$tmp/srv.conf" "$tmp/cold.conf" >"$tmp/cold-local.conf"

"${PL[@]}" redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
	${REDIS_ARGS:-} >"$tmp/redis.log" 2>&1 &
PIDS+=($!)
rcli() { ip netns exec "$NS" redis-cli -p 6379 "$@"; }
for _ in $(seq 50); do rcli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

# to_redis FILE.conf | random N: peer records (store/wgpeer.h) into Redis
to_redis() {
	"$PYTHON" - "$SP" "$@" <<'EOF' | ip netns exec "$NS" redis-cli -p 6379 --pipe >/dev/null
import base64, os, sys
out = sys.stdout
r = sys.argv[1]
def cmd(*a):
    out.write("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a))
def peer(p, allowed):
    cmd("HSET", "tern:wg:{%s}:peer:%s" % (r, p), "allowed", allowed, "added", "0")
    cmd("SADD", "tern:wg:{%s}:peers" % r, p)
if sys.argv[2] == "random":
    for i in range(int(sys.argv[3])):
        peer(base64.b64encode(os.urandom(32)).decode(), "10.%d.%d.%d/32" % (
            200 + i // 65536 % 50, i // 256 % 256, i % 256))
else:
    key = None
    for line in open(sys.argv[2]):
        k, _, v = line.partition("=")
        if k.strip() == "PublicKey":
            key = v.strip()
        elif k.strip() == "AllowedIPs":
            peer(key, v.strip())
EOF
}

RPID=
start_tern() { # ARGS...
	"${PS[@]}" "$TERND" -n --no-udp --no-tcp --stats-listen=off --log-file="$tmp/ternd.log" \
		--wg-name="bp$$" --node-id=bench "$@" &
	RPID=$!
	for _ in $(seq 100); do grep -q "ternd ready" "$tmp/ternd.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "peers: ternd did not start" >&2; tail "$tmp/ternd.log" >&2; exit 1
}
stop_tern() { kill -TERM "$RPID" 2>/dev/null; wait "$RPID" 2>/dev/null; rm -f "$tmp/ternd.log"; }
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$RPID/status"; }
hs() { "${PL[@]}" "$tmp/hsload" "$1" 127.0.0.1:51820 "$SP" "${@:2}"; }
line() { sed -n "s/^round=$1 //p" <<<"$2"; }

# memory and latency with Redis
to_redis "$tmp/active.conf"
start_tern --wg-config="$tmp/srv.conf" --redis-url=redis://127.0.0.1:6379/0
sleep 1
R_EMPTY=$(rss)
t0=$(date +%s)
to_redis random "$STORED"
FILL_S=$(($(date +%s) - t0))
# let Redis finish growing its tables (it rehashes incrementally, a
# millisecond at a time in its cron) before anything is timed
sleep "${SETTLE:-15}"
R_STORED=$(rss)
REDIS_MB=$(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | awk '{ printf "%d", $1 / 1048576 }')
LAT=$(hs lat "$tmp/active" 3)
R_ACTIVE=$(rss)
echo "$LAT" >&2
stop_tern

# the same peers from wg-config, no Redis
start_tern --wg-config="$tmp/active-local.conf"
LAT_LOCAL=$(hs lat "$tmp/active" 2)
stop_tern

# cold handshakes a second: COLD new peers, once each
to_redis "$tmp/cold.conf"
start_tern --wg-config="$tmp/srv.conf" --redis-url=redis://127.0.0.1:6379/0 \
	--wg-cookie-threshold=10000000 --wg-lookup-rate=1000000
t0=$(cpu_ticks "$RPID")
ONCE=$(hs once "$tmp/cold" 64)
T_COLD=$(($(cpu_ticks "$RPID") - t0))
stop_tern
start_tern --wg-config="$tmp/cold-local.conf" --wg-cookie-threshold=10000000
t0=$(cpu_ticks "$RPID")
ONCE_LOCAL=$(hs once "$tmp/cold" 64)
T_LOCAL=$(($(cpu_ticks "$RPID") - t0))
stop_tern

ticks=$(getconf CLK_TCK)
rate() { # OUTPUT TICKS: "handshakes/s | per CPU-second"
	awk -v r="$(kv responses "$1")" -v s="$(kv seconds "$1")" -v t="$2" -v hz="$ticks" \
		'BEGIN { printf "%.0f | %.0f", (s > 0 ? r / s : 0), (t > 0 ? r / (t / hz) : 0) }'
}
lat_row() { # NAME OUTPUT ROUND
	local l
	l=$(line "$3" "$2")
	echo "| $1 | $(kv p50_us "$l") | $(kv p99_us "$l") | $(kv answered "$l") of $(kv peers "$l") |"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
section=$(
	cat <<EOF
<!-- peers:begin (written by bench/peers/run.sh) -->
## WireGuard peers in Redis (bench/peers)

$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, $(uname -sr); one network namespace,
everything on loopback, ternd pinned to CPU $SERVER_CPU, redis-server and hsload to CPU $LOAD_CPU.
See the header of bench/peers/run.sh.

### Memory (ternd's RSS)

| state | RSS |
|---|---:|
| $ACTIVE peers in Redis, none in memory | $(mb "$R_EMPTY") MB |
| and $STORED more in Redis (Redis: $REDIS_MB MB; written in ${FILL_S} s) | $(mb "$R_STORED") MB |
| the $ACTIVE handshaked: in memory | $(mb "$R_ACTIVE") MB |

Stored peers cost ternd $(awk -v a="$R_EMPTY" -v b="$R_STORED" 'BEGIN { printf "%d", b - a }') bytes in all;
each active peer $(awk -v a="$R_STORED" -v b="$R_ACTIVE" -v n="$ACTIVE" 'BEGIN { printf "%.0f", (b - a) / n }') bytes.

### Handshake latency (one at a time, $ACTIVE peers in turn)

| peers | p50 us | p99 us | answered |
|---|---:|---:|---:|
$(lat_row "in Redis, cold (first handshake: lookup)" "$LAT" 1)
$(lat_row "in Redis, warm (in memory; timestamp still taken in Redis)" "$LAT" 2)
$(lat_row "in Redis, warm, again" "$LAT" 3)
$(lat_row "from wg-config, no Redis" "$LAT_LOCAL" 1)
$(lat_row "from wg-config, no Redis, again" "$LAT_LOCAL" 2)

### Cold handshakes ($COLD new peers, one initiation each, 64 outstanding)

| peers | handshakes/s | per responder CPU-second |
|---|---:|---:|
| in Redis, each looked up | $(rate "$ONCE" "$T_COLD") |
| from wg-config, no Redis (all in memory) | $(rate "$ONCE_LOCAL" "$T_LOCAL") |
<!-- peers:end -->
EOF
)
echo "$section"
[ "$WRITE" = 1 ] && results_write peers "$section"
exit 0
