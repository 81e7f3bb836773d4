#!/bin/bash
# What the Redis store costs (issue 4), in one run on this machine:
#
#  1. Allocation rate: N allocations, each an Allocate (401 dance, REST
#     credentials), a CreatePermission and a ChannelBind (bench/relay/
#     allocs.py --peer), against ternd with state in memory, ternd with
#     redis-url (redis-server on loopback), the same with redis-required
#     (each Allocate answered after Redis acknowledged its record), and
#     coturn's turnserver. Each
#     server is fresh for each round and pinned to one CPU; the client runs
#     on the other. Reported: allocations per second as the client saw
#     them, and the server's CPU time per 1,000 allocations (for the Redis
#     row, ternd's and redis-server's separately), which does not depend on
#     how fast a Python client is.
#  2. Restart to relaying: 10,000 allocations with channels in Redis, ternd
#     SIGKILLed and started again: time from exec to "ternd ready" (the
#     restore is done before it) and what the restore itself logged.
#  3. 100,000 records: synthetic records (bench/store/records.py) for a node
#     that starts: restore time, and ternd's RSS against the same ternd
#     started with none.
#  4. Relaying: load.c's TURN mode (bench/udp-floor), 10 flows of 100-byte
#     ChannelData for RELAY_SECONDS (5), through ternd with and without
#     redis-url, RELAY_ROUNDS (6) times in ABBA order: relayed packets per
#     server CPU-second, the median of each.
#
#   bench/store/run.sh [--write]      (TERND=/path/to/ternd, else ./ternd)
#
# Environment: TERND, N (10000), ROUNDS (3), BIG (100000), SERVER_CPU (0),
# LOAD_CPU (1), RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
N=${N:-10000} ROUNDS=${ROUNDS:-3} BIG=${BIG:-100000}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1
SECRET=secret REALM=bench

. "$TOP/bench/lib.sh"
bench_setup store
[ -x "$TERND" ] || { echo "store: no ternd at $TERND (set TERND)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "store: no redis-server" >&2; exit 1; }
# each allocation holds a relay socket: as many descriptors as we may have
ulimit -n "$(ulimit -Hn)" 2>/dev/null
FDS=$(ulimit -n)
BIG_ASKED=$BIG
[ "$FDS" != unlimited ] && [ "$BIG" -gt $((FDS - 2000)) ] && BIG=$((FDS - 2000))

RP=$(free_port)
"${PIN_LOAD[@]}" redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" \
	>"$tmp/redis.log" 2>&1 &
REDIS=$!
PIDS+=($REDIS)
for _ in $(seq 50); do redis-cli -p "$RP" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
rcli() { redis-cli -p "$RP" -n 5 "$@"; }

now_ms() { date +%s%3N; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# server NAME PORT [ARGS...]: start it pinned; SPID. Waits until it answers.
server() {
	local name=$1 port=$2 cmd
	shift 2
	case $name in
	coturn)
		cmd=(turnserver -n --no-cli --listening-ip=127.0.0.1 --relay-ip=127.0.0.1
			--listening-port="$port" --relay-threads=1 --no-tcp --no-tls --no-dtls
			--use-auth-secret --static-auth-secret="$SECRET" --realm="$REALM"
			--allow-loopback-peers --min-port=30000 --max-port=59999 --no-rfc5780
			--log-file="$tmp/coturn.log" --simple-log --no-stdout-log
			--pidfile="$tmp/turnserver.pid" --userdb="$tmp/turndb") ;;
	*)
		cmd=("$TERND" -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1
			--listening-port="$port" --workers=1 --no-tcp --no-tls --no-dtls
			--use-auth-secret --static-auth-secret="$SECRET" --realm="$REALM"
			--allow-loopback-peers --min-port=30000 --max-port=59999
			--stats-listen=off --log-file="$tmp/$name.log" "$@") ;;
	esac
	T0=$(now_ms)
	"${PIN_SERVER[@]}" "${cmd[@]}" >"$tmp/$name.out" 2>&1 &
	SPID=$!
	PIDS+=($SPID)
	for _ in $(seq 1500); do
		if [ "$name" = coturn ]; then
			ss -Hlnu "src 127.0.0.1:$port" | grep -q . && { sleep 0.5; return 0; }
		else
			grep -q 'ternd ready' "$tmp/$name.log" 2>/dev/null && return 0
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.02
	done
	echo "store: $name did not start: $(tail -n 5 "$tmp/$name.out" "$tmp/$name.log" 2>/dev/null)" >&2
	return 1
}
stop() { kill -"${2:-TERM}" "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# ---- 1. allocation rate --------------------------------------------------

# rate NAME ARGS...: one round; prints "alloc/s server_ticks redis_ticks failed"
rate() {
	local name=$1 port out c0 c1 r0 r1
	shift
	port=$(free_port)
	rcli FLUSHDB >/dev/null
	server "$name" "$port" "$@" || return 1
	c0=$(cpu_ticks "$SPID") r0=$(cpu_ticks "$REDIS")
	out=$("${PIN_LOAD[@]}" python3 "$TOP/bench/relay/allocs.py" --server "127.0.0.1:$port" \
		--secret "$SECRET" -n "$N" --client-ip 127.1.0.1 --spread "$N" --hold 0 \
		--peer 127.0.0.1:9)
	sleep 0.3 # the last flush of records
	c1=$(cpu_ticks "$SPID") r1=$(cpu_ticks "$REDIS")
	stop "$SPID"
	awk -v o="$out" -v c=$((c1 - c0)) -v r=$((r1 - r0)) 'BEGIN {
		split(o, f, /[ =]/); n = f[2]; failed = f[4]; s = f[6]
		printf "%.0f %d %d %d\n", (s > 0 ? n / s : 0), c, r, failed }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
HZ=$(getconf CLK_TCK)
declare -A RATE CPU RCPU FAILED
servers=(memory redis required)
command -v turnserver >/dev/null && servers+=(coturn)
for ((round = 1; round <= ROUNDS; round++)); do
	for s in "${servers[@]}"; do
		case $s in
		redis) got=$(rate redis --redis-url="redis://127.0.0.1:$RP/5" --node-id=bench) ;;
		required) got=$(rate required --redis-url="redis://127.0.0.1:$RP/5" --node-id=bench \
			--redis-required) ;;
		*) got=$(rate "$s") ;;
		esac || { echo "store: $s failed" >&2; continue; }
		echo "rate $s round $round: $got"
		set -- $got
		RATE[$s]+="$1 " CPU[$s]+="$2 " RCPU[$s]+="$3 " FAILED[$s]=$((${FAILED[$s]:-0} + $4))
	done
done

# ---- 2. restart with N allocations ----------------------------------------

port=$(free_port)
rcli FLUSHDB >/dev/null
ARGS=(--redis-url="redis://127.0.0.1:$RP/5" --node-id=restart)
server restart "$port" "${ARGS[@]}" || exit 1
made=$("${PIN_LOAD[@]}" python3 "$TOP/bench/relay/allocs.py" --server "127.0.0.1:$port" \
	--secret "$SECRET" -n "$N" --client-ip 127.1.0.1 --spread "$N" --hold 0 --peer 127.0.0.1:9)
sleep 0.5
records=$(rcli --scan --pattern 'tern:alloc:{restart}:*' | grep -c .)
stop "$SPID" KILL
: >"$tmp/restart.log"
server restart "$port" "${ARGS[@]}" || exit 1
ready_ms=$(($(now_ms) - T0))
restored=$(sed -n 's/.*\(restored [0-9]* allocations in [0-9]* ms\).*/\1/p' "$tmp/restart.log")
echo "restart: $made; $records records; ready after ${ready_ms} ms; $restored"
stop "$SPID"

# ---- 3. 100,000 records ----------------------------------------------------

port=$(free_port)
rcli FLUSHDB >/dev/null
BIGARGS=(--workers=2 --relay-ip=::1 --max-allocations=65536 --min-port=10000 --max-port=60000)
server empty "$port" "${BIGARGS[@]}" || exit 1
sleep 0.5
rss_empty=$(rss_kb "$SPID")
stop "$SPID"
python3 "$HERE/records.py" --node big -n "$BIG" --listener "127.0.0.1:$port" |
	redis-cli -p "$RP" -n 5 --pipe >"$tmp/pipe.out" 2>&1
server big "$port" "${BIGARGS[@]}" --redis-url="redis://127.0.0.1:$RP/5" --node-id=big || exit 1
big_ready_ms=$(($(now_ms) - T0))
sleep 0.5
rss_big=$(rss_kb "$SPID")
big_restored=$(sed -n 's/.*\(restored [0-9]* allocations in [0-9]* ms\).*/\1/p' "$tmp/big.log")
big_n=$(sed -n 's/.*restored \([0-9]*\) allocations.*/\1/p' "$tmp/big.log")
echo "big: $BIG records; ready after ${big_ready_ms} ms; $big_restored; RSS ${rss_empty} kB empty, ${rss_big} kB after"
stop "$SPID"

# ---- 4. relaying with either backend -----------------------------------------

RELAY_SECONDS=${RELAY_SECONDS:-5} RELAY_ROUNDS=${RELAY_ROUNDS:-6}
cc -O2 -Wall -Wextra -o "$tmp/load" "$TOP/bench/udp-floor/load.c" -lcrypto || exit 1
peer=$(free_port)
"${PIN_LOAD[@]}" "$tmp/load" -e "127.0.0.1:$peer" -d 3600 >"$tmp/echo.out" 2>&1 &
PIDS+=($!)
declare -A RELAY
for ((round = 1; round <= RELAY_ROUNDS; round++)); do
	order="memory redis"
	((round % 2 == 0)) && order="redis memory" # ABBA: drift favours neither
	for s in $order; do
		port=$(free_port)
		rcli FLUSHDB >/dev/null
		if [ "$s" = redis ]; then
			server "relay-$s" "$port" --redis-url="redis://127.0.0.1:$RP/5" --node-id=relay ||
				exit 1
		else
			server "relay-$s" "$port" || exit 1
		fi
		c0=$(cpu_ticks "$SPID")
		out=$("${PIN_LOAD[@]}" "$tmp/load" -s "127.0.0.1:$port" -t "$SECRET" -p "127.0.0.1:$peer" \
			-c 10 -l 100 -d "$RELAY_SECONDS" -w 32)
		c1=$(cpu_ticks "$SPID")
		stop "$SPID"
		got=$(awk -v o="$out" -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN {
			if (match(o, /received=[0-9]+/)) n = substr(o, RSTART + 9, RLENGTH - 9)
			printf "%.0f\n", (c > 0 ? 2 * n / (c / hz) : 0) }')
		echo "relay $s round $round: $got relayed / CPU-s ($out)"
		RELAY[$s]+="$got "
	done
done

# ---- report ---------------------------------------------------------------

report() {
	local s rt c r
	echo "<!-- store:begin (written by bench/store/run.sh) -->"
	echo "## State store: Redis against memory (bench/store)"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, $(uname -sr), loopback, redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')."
	echo "Server pinned to CPU $SERVER_CPU (ternd with one worker, turnserver with one relay thread);"
	echo "the client (bench/relay/allocs.py, Python, 64 in flight) and redis-server on CPU $LOAD_CPU."
	echo "One allocation = Allocate (401, then REST credentials) + CreatePermission + ChannelBind."
	echo "$N allocations per round, $ROUNDS rounds, a fresh server each; medians shown."
	echo
	echo "| server | allocations/s (client-bound) | server CPU ms / 1000 allocations | redis-server CPU ms / 1000 | failed |"
	echo "|---|---:|---:|---:|---:|"
	for s in "${servers[@]}"; do
		rt=$(tr ' ' '\n' <<<"${RATE[$s]:-}" | grep . | median)
		c=$(tr ' ' '\n' <<<"${CPU[$s]:-}" | grep . | median)
		r=$(tr ' ' '\n' <<<"${RCPU[$s]:-}" | grep . | median)
		awk -v s="$s" -v rt="${rt:-0}" -v c="${c:-0}" -v r="${r:-0}" -v hz="$HZ" -v n="$N" \
			-v f="${FAILED[$s]:-0}" 'BEGIN {
			name = s == "memory" ? "tern, memory" : s == "redis" ? "tern, redis-url" : s == "required" ? "tern, redis-url + redis-required" : "coturn 4.6"
			printf "| %s | %d | %.1f | %s | %d |\n", name, rt, c * 1000 / hz / n * 1000,
				s == "redis" || s == "required" ? sprintf("%.1f", r * 1000 / hz / n * 1000) : "-", f }'
	done
	echo
	echo "Restart to relaying: $made, $records records in Redis; after SIGKILL, ternd started again"
	echo "was ready (allocations restored, serving) ${ready_ms} ms after exec; its log: \"$restored\"."
	echo
	if [ "$BIG" != "$BIG_ASKED" ]; then
		echo "$BIG_ASKED records were asked for; this machine's hard limit on open files is $FDS"
		echo "(ulimit -Hn; it cannot be raised here), and each allocation holds a relay socket, so the run"
		echo "used $BIG."
	fi
	echo "$BIG synthetic records (half IPv4, half IPv6 relayed addresses, one permission and one"
	echo "channel each; ternd with 2 workers): ready ${big_ready_ms} ms after exec, \"$big_restored\";"
	echo "VmRSS ${rss_big} kB, against ${rss_empty} kB for the same ternd with nothing to restore:"
	echo "$(( (rss_big - rss_empty) * 1024 / (big_n > 0 ? big_n : 1) )) bytes per restored allocation"
	echo "(each also holds a relay socket, whose kernel memory VmRSS leaves out)."
	echo
	local m r
	m=$(tr ' ' '\n' <<<"${RELAY[memory]:-}" | grep . | median)
	r=$(tr ' ' '\n' <<<"${RELAY[redis]:-}" | grep . | median)
	echo "Relaying (load.c -t, 10 flows of 100-byte ChannelData, windows of 32, $RELAY_SECONDS s, $RELAY_ROUNDS rounds"
	echo "in ABBA order, medians; every round: memory ${RELAY[memory]:-}/ redis ${RELAY[redis]:-}):"
	echo "${m:-0} relayed packets per server CPU-second with state in memory,"
	echo "${r:-0} with redis-url ($(awk -v m="${m:-0}" -v r="${r:-0}" 'BEGIN { printf "%.2f", (m > 0 ? r / m : 0) }') of it)."
	echo
	echo "Commands: \`bench/store/run.sh --write\` (see its header)."
	echo "<!-- store:end -->"
}
report >"$tmp/report"
cat "$tmp/report"
if [ "$WRITE" = 1 ]; then
	results_write store "$(cat "$tmp/report")"
fi
