# Helpers for the interop tests; source it, don't run it.
#
# Every test prints TAP (1..N, then "ok K - ..." / "not ok K - ..."), starts
# ternd on loopback through tern_start, and leaves cleanup to the EXIT trap
# set here: servers are stopped, reserved ports released, temp files removed,
# and tests that never ran (because an earlier step failed) are reported as
# "not ok" so the plan always adds up. A script exits non-zero only when the
# harness itself is broken (Bail out!).
#
# Raw STUN and HTTP exchanges go through stuntool.py (Python stdlib only),
# which prints key=value lines; kv picks a value out of them.
#
# Environment: TERND (ternd to test; default ./ternd, then $TOP_SRCDIR/ternd),
# TOP_SRCDIR, PYTHON (python3). TERND=.../tests/interop/coturn-ternd.sh runs
# the same tests against coturn. TERN_XDP=IFNAME (with_xdp.sh sets it) runs
# them with the XDP program attached: see tern_start and relay_check.

set -u

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-interop.XXXXXX") || {
	echo "Bail out! cannot make a temp dir"
	exit 1
}

# ---- TAP ----------------------------------------------------------------

_tap_plan=0 _tap_n=0 _tap_failed=0 _tap_xdp=0
_tap_not_run="an earlier step failed"

# plan N: N tests; with TERN_XDP, one more at the end (_xdp_verdict).
plan() {
	[ -n "${TERN_XDP:-}" ] && [ "$1" -gt 0 ] && _tap_xdp=1
	_tap_plan=$(($1 + _tap_xdp))
	echo "1..$_tap_plan"
}

ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

# not_ok DESC [DIAGNOSTIC...]
not_ok() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -gt 0 ] && printf '%s\n' "$@" | diag
	return 0
}

skip() { # DESC REASON
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

diag() { sed 's/^/# /'; }

# check DESC CMD...: ok when CMD exits 0, else not ok with CMD's output as the
# diagnostic; returns CMD's success. CMD runs in this shell, so tern_start
# and tern_stop work under check.
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc" "command: $*" "$(cat "$T/check.out")"
		return 1
	fi
}

# is DESC GOT WANT: string equality.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:  '$2'" "want: '$3'"
	fi
}

# like DESC GOT REGEX: GOT matches the extended regular expression.
like() {
	if grep -Eq -- "$3" <<<"$2"; then
		ok "$1"
	else
		not_ok "$1" "got:  '$2'" "want: /$3/"
	fi
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

_tap_bail=0
bail() {
	echo "Bail out! $1"
	_tap_bail=1
	exit 1
}

# have CMD...: every CMD is installed.
have() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}

# need CMD...: skip the whole script when a tool is missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not installed"
	done
}

# ---- ports ----------------------------------------------------------------
#
# Tests run in parallel (make check -j), so a port is reserved before it is
# used: mkdir is atomic, and the directory names its owner's pid so a crashed
# test's reservations are taken over. Ports come from 20000-40000 but below
# the kernel's ephemeral range, so no client socket can grab one meanwhile.

_PORTS=${TMPDIR:-/tmp}/tern-interop-ports

_port_reserve() {
	local d=$_PORTS/$1 owner
	if mkdir "$d" 2>/dev/null; then
		echo $$ >"$d/owner"
		return 0
	fi
	owner=$(cat "$d/owner" 2>/dev/null) || return 1
	[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && return 1
	echo $$ >"$d/owner" # stale: its owner is gone
}

port_free() {
	! ss -Hanut "( sport = :$1 )" 2>/dev/null | grep -q .
}

# port_pick [COUNT]: print P such that P .. P+COUNT-1 are free and reserved.
# Use as P=$(port_pick 2) || bail "no free ports".
port_pick() {
	local count=${1:-1} lo=20000 hi=40000 eph p i
	mkdir -p "$_PORTS"
	read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph=32768
	[ "$eph" -gt $((lo + 1000)) ] && [ "$eph" -le "$hi" ] && hi=$((eph - 1))
	for _ in $(seq 500); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo - count)))
		for ((i = 0; i < count; i++)); do
			if ! port_free $((p + i)) || ! _port_reserve $((p + i)); then break; fi
		done
		if [ "$i" -eq "$count" ]; then
			echo "$p"
			return 0
		fi
		for ((i--; i >= 0; i--)); do rm -rf "${_PORTS:?}/$((p + i))"; done
	done
	echo "no free ports in $lo-$hi" >&2
	return 1
}

_ports_release() {
	local d
	for d in "$_PORTS"/*; do
		[ "$(cat "$d/owner" 2>/dev/null)" = "$$" ] && rm -rf "$d"
	done
}

# ---- ternd ----------------------------------------------------------------

if [ -z "${TERND:-}" ]; then
	if [ -x ./ternd ]; then TERND=$PWD/ternd; else TERND=${TOP_SRCDIR:-.}/ternd; fi
fi
TERNCTL=${TERNCTL:-$(dirname "$TERND")/ternctl}
_tern_pids=()
declare -A _tern_stats # pid: its STATS

# tern_start ARGS...: start ternd with -n (or -c $TERN_CONF), a stats endpoint on a free port
# (STATS=127.0.0.1:port) and ARGS; wait up to TERN_START_WAIT seconds
# (default 10) for "ternd ready". With TERN_XDP=IFNAME, ternd also gets
# --xdp-interface=IFNAME --xdp-mode=generic and must say the program is
# attached there, or it did not start as asked; unless another ternd of
# the test holds IFNAME (one program an interface): then it relays in
# userspace.
# Sets TERN_PID and TERN_LOG. Returns non-zero, with what went wrong on
# stdout, when ternd exits or does not become ready. Use it under check:
#   check "ternd starts" tern_start --listening-port=$P || exit 0
# (the EXIT trap then reports the rest of the plan as not run).
tern_start() {
	STATS_PORT=$(port_pick 1) || bail "no free ports"
	STATS=127.0.0.1:$STATS_PORT
	TERN_LOG=$T/ternd.${#_tern_pids[@]}.log
	local conf=(-n)
	[ -n "${TERN_CONF:-}" ] && conf=(-c "$TERN_CONF")
	local xdp=
	if [ -n "${TERN_XDP:-}" ] && ! ip -o link show dev "$TERN_XDP" | grep -q ' xdp'; then
		xdp=$TERN_XDP
		set -- "$@" --xdp-interface="$xdp" --xdp-mode=generic
	fi
	echo "$TERND ${conf[*]} --stats-listen=$STATS $*" >"$TERN_LOG.cmd"
	: >"$TERN_LOG"
	"$TERND" "${conf[@]}" --stats-listen="$STATS" "$@" >"$TERN_LOG" 2>&1 &
	TERN_PID=$!
	_tern_pids+=("$TERN_PID")
	_tern_stats[$TERN_PID]=$STATS
	local i wait=${TERN_START_WAIT:-10}
	for ((i = 0; i < wait * 10; i++)); do
		if grep -q "ternd ready" "$TERN_LOG"; then
			[ -z "$xdp" ] && return 0
			grep -q "xdp-interface $xdp: ChannelData relayed in XDP (generic mode)" \
				"$TERN_LOG" && return 0
			echo "ternd is ready but did not attach XDP to $xdp: $(cat "$TERN_LOG.cmd")"
			grep -i xdp "$TERN_LOG"
			_tap_not_run="ternd did not start as asked"
			return 1
		fi
		kill -0 "$TERN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TERN_PID" 2>/dev/null; then
		echo "ternd not ready after $wait s: $(cat "$TERN_LOG.cmd")"
	else
		wait "$TERN_PID"
		echo "ternd exited with status $?: $(cat "$TERN_LOG.cmd")"
	fi
	tail -n 20 "$TERN_LOG"
	_tap_not_run="ternd did not start"
	return 1
}

# tern_stop: SIGTERM, then ternd must exit with status 0 within 5 s.
tern_stop() {
	local pid=${1:-$TERN_PID} i rc
	_xdp_read "$pid"
	kill -TERM "$pid" 2>/dev/null || {
		echo "ternd (pid $pid) was already gone"
		wait "$pid" 2>/dev/null
		return 1
	}
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "ternd did not exit within 5 s of SIGTERM"
		return 1
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	echo "ternd exited with status $rc"
	tail -n 20 "$TERN_LOG"
	return 1
}

# ---- clients ----------------------------------------------------------------

# stuntool ARGS...: the raw STUN client (see stuntool.py), bounded in time.
stuntool() {
	timeout 30 "$PYTHON" "$INTEROP_DIR/stuntool.py" "$@"
}

# kv KEY TEXT: the value of KEY=... in stuntool's output ("" when absent).
kv() {
	sed -n "s/^$1=//p" <<<"$2" | head -n 1
}

# make_certs DIR: a self-signed cert.pem and key.pem for localhost.
make_certs() {
	"$INTEROP_DIR/certs.sh" "$1"
}

# ---- TURN: coturn's turnutils_uclient and turnutils_peer --------------------
#
# turnutils_uclient (coturn 4.6) makes, per session, a "probe" allocation it
# never releases, then the real one, then (unless -c) an RTCP allocation with
# the reservation token, which talks to the peer's port + 1. -m counts data
# clients: without -c it is rounded up to even and each session has two (RTP
# and RTCP), so -m M makes M/2 sessions and 3M/2 allocations; with -c, M
# sessions and 2M allocations. Every client sends -n messages of -l bytes,
# one every -z ms (default 20); turnutils_peer -p P echoes on P and P + 1.

_bg_pids=()

# peer_start PORT ADDR...: turnutils_peer (a UDP echo server) on PORT and
# PORT+1 at every ADDR (reserve both); waits up to 5 s until all are bound.
# Stopped by the EXIT trap.
peer_start() {
	local port=$1 a i n
	local args=()
	shift
	for a in "$@"; do args+=(-L "$a"); done
	turnutils_peer -p "$port" "${args[@]}" >"$T/peer.$port.log" 2>&1 &
	_bg_pids+=($!)
	for ((i = 0; i < 50; i++)); do
		n=$(ss -Hlnu "( sport = :$port or sport = :$((port + 1)) )" 2>/dev/null | wc -l)
		[ "$n" -ge $((2 * $#)) ] && return 0
		kill -0 "${_bg_pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "turnutils_peer -p $port ${args[*]} is not listening on $port and $((port + 1)) at all of: $*"
	cat "$T/peer.$port.log"
	return 1
}

# uclient OUT ARGS...: turnutils_uclient ARGS, output to OUT, bounded by
# UCLIENT_TIMEOUT seconds (default 90); returns uclient's status.
uclient() {
	local out=$1
	shift
	echo "turnutils_uclient $*" >"$out.cmd"
	timeout -k 5 "${UCLIENT_TIMEOUT:-90}" turnutils_uclient "$@" >"$out" 2>&1
}

# uclient_totals OUT: "SENT RECEIVED LOST" from uclient's summary ("" if it
# has none, e.g. it failed before relaying).
uclient_totals() {
	local sr lost
	sr=$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\1 \2/p' "$1" | tail -n 1)
	lost=$(sed -n 's/.*Total lost packets \([0-9]*\) .*/\1/p' "$1" | tail -n 1)
	[ -n "$sr" ] && [ -n "$lost" ] && echo "$sr $lost"
}

# uclient_diag OUT: the command and the lines of OUT worth reading.
uclient_diag() {
	cat "$1.cmd" 2>/dev/null
	echo "exit status: ${2:-?}"
	grep -v 'start_mclient: msz=' "$1" | grep -Ev '^[0-9]+: : (IPv[46]\. )?(Connected|call SSL|3\. mtu|4\. new mtu)' | tail -n 25
}

# tern_metrics FILE: save /metrics of the ternd last started in FILE.
tern_metrics() {
	stuntool http "http://$STATS/metrics" --body "$1" >/dev/null
}

# tern_metric_in FILE NAME [LABEL=VALUE...]: the sum of the matching samples
# in a saved /metrics, 0 when there are none; a sum that is not whole to 15
# digits. In awk, not stuntool.py metric: the tests read metrics by the
# dozen, and each Python start costs a quarter of a second on a busy
# machine. Samples as ternd writes them: NAME{LABEL="VALUE",...} NUMBER.
tern_metric_in() {
	local f=$1 name=$2
	shift 2
	[ -r "$f" ] || { echo 0; return; }
	awk -v name="$name" -v labels="$*" '
		BEGIN {
			n = split(labels, l, " ")
			for (i = 1; i <= n; i++)
				want[i] = "," substr(l[i], 1, index(l[i], "=")) "\"" substr(l[i], index(l[i], "=") + 1) "\","
		}
		/^#/ || !match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*/) || substr($0, 1, RLENGTH) != name { next }
		{
			rest = substr($0, RLENGTH + 1)
			have = ","
			if (substr(rest, 1, 1) == "{") {
				have = "," substr(rest, 2, index(rest, "}") - 2) ","
				rest = substr(rest, index(rest, "}") + 1)
			}
			for (i = 1; i <= n; i++)
				if (!index(have, want[i]))
					next
			split(rest, v, " ")
			sum += v[1]
		}
		END { printf(sum == int(sum) ? "%.0f\n" : "%.15g\n", sum) }' "$f"
}

# tern_metric NAME [LABEL=VALUE...]: the same, read from ternd now.
tern_metric() {
	tern_metrics "$T/metrics.now" && tern_metric_in "$T/metrics.now" "$@"
}

# tern_metric_wait WANT NAME [LABEL=VALUE...]: poll for up to 3 s until the
# metric is WANT (counters may lag the traffic a little); print the last value.
tern_metric_wait() {
	local want=$1 v i
	shift
	for ((i = 0; i < 30; i++)); do
		v=$(tern_metric "$@")
		[ "$v" = "$want" ] && break
		sleep 0.1
	done
	echo "$v"
}

# relayed_in FILE KIND DIRECTION: what a saved /metrics counts as relayed
# (KIND packets or bytes; DIRECTION to_peer or to_client): by the userspace
# relay (tern_relayed_KIND_total) and, with TERN_XDP, by the XDP program
# (tern_xdp_KIND_total), which the userspace relay does not count.
relayed_in() {
	local n
	n=$(tern_metric_in "$1" "tern_relayed_$2_total" direction="$3")
	[ -n "${TERN_XDP:-}" ] && n=$((n + $(tern_metric_in "$1" "tern_xdp_$2_total" direction="$3")))
	echo "$n"
}

# relay_check DESC MSGS BYTES ALLOCS UCLIENT-ARGS...: run uclient and make
# three tests of it:
#   uclient exits 0 having sent and received MSGS messages, none lost;
#   tern_relayed_{packets,bytes}_total (with TERN_XDP, plus what XDP
#   relayed) grew by MSGS and BYTES each way;
#   tern_allocations_total grew by ALLOCS and tern_relay_dropped_total did not.
# Sets UC_OUT to uclient's output.
_relay_runs=0
relay_check() {
	local desc=$1 msgs=$2 bytes=$3 allocs=$4 rc got b=$T/relay.before a=$T/relay.after i
	shift 4
	_relay_runs=$((_relay_runs + 1))
	UC_OUT=$T/uclient.$_relay_runs.out
	tern_metrics "$b"
	uclient "$UC_OUT" "$@"
	rc=$?
	got="$rc $(uclient_totals "$UC_OUT")"
	if [ "$got" = "0 $msgs $msgs 0" ]; then
		ok "$desc: uclient relays $msgs messages, none lost"
	else
		not_ok "$desc: uclient relays $msgs messages, none lost" \
			"got:  status, sent, received, lost = $got" "want: 0 $msgs $msgs 0" \
			"$(uclient_diag "$UC_OUT" "$rc")"
	fi
	# counters may lag the traffic a little
	got=$(($(relayed_in "$b" packets to_client) + msgs))
	for ((i = 0; i < 30; i++)); do
		tern_metrics "$a" && [ "$(relayed_in "$a" packets to_client)" = "$got" ] && break
		sleep 0.1
	done
	_xdp_note "$TERN_PID" "$a"
	local n d want=() have=()
	for n in "packets to_peer $msgs" "packets to_client $msgs" "bytes to_peer $bytes" \
		"bytes to_client $bytes"; do
		set -- $n
		d=$(($(relayed_in "$a" "$1" "$2") - $(relayed_in "$b" "$1" "$2")))
		have+=("$2:$d")
		want+=("$2:$3")
	done
	n="tern_relayed_{packets,bytes}_total"
	[ -n "${TERN_XDP:-}" ] && n="$n + tern_xdp_{packets,bytes}_total"
	is "$desc: $n grew by $msgs packets, $bytes bytes each way" "${have[*]}" "${want[*]}"
	d=$(($(tern_metric_in "$a" tern_allocations_total) - $(tern_metric_in "$b" tern_allocations_total)))
	n=$(($(tern_metric_in "$a" tern_relay_dropped_total) - $(tern_metric_in "$b" tern_relay_dropped_total)))
	if [ "$d $n" != "$allocs 0" ]; then
		grep '^tern_relay_dropped_total' "$a" >"$T/relay.drops"
	fi
	is "$desc: $allocs allocations made, no relayed data dropped" \
		"allocations=$d dropped=$n" "allocations=$allocs dropped=0"
	[ "$d $n" = "$allocs 0" ] || diag <"$T/relay.drops"
}

# ---- XDP (TERN_XDP) ----------------------------------------------------------
#
# A run with TERN_XDP proves nothing unless the program saw the suite's
# ChannelData: relayed it, or (over lo, where every datagram a local socket
# sends carries a partial checksum) handed it up for that. Each ternd's
# tern_xdp_packets_total and tern_xdp_passed_total{reason="checksum"}, as
# last read (at relay_check, tern_stop and the end; what a ternd saw after
# its last reading and before a SIGKILL is not seen), add up to one more
# test at the end.

declare -A _xdp_seen # pid: "TO_PEER TO_CLIENT PARTIAL"

# _xdp_note PID FILE: PID's counts in a saved /metrics.
_xdp_note() {
	[ -n "${TERN_XDP:-}" ] || return 0
	_xdp_seen[$1]="$(tern_metric_in "$2" tern_xdp_packets_total direction=to_peer) $(
		tern_metric_in "$2" tern_xdp_packets_total direction=to_client) $(
		tern_metric_in "$2" tern_xdp_passed_total reason=checksum)"
}

# _xdp_read PID: the same, read from PID while it runs.
_xdp_read() {
	[ -n "${TERN_XDP:-}" ] && [ -n "${_tern_stats[$1]:-}" ] || return 0
	stuntool http "http://${_tern_stats[$1]}/metrics" --body "$T/xdp.metrics" >/dev/null 2>&1 &&
		_xdp_note "$1" "$T/xdp.metrics"
}

_xdp_verdict() {
	local pid p c h to_peer=0 to_client=0 partial=0
	for pid in "${!_xdp_seen[@]}"; do
		read -r p c h <<<"${_xdp_seen[$pid]}"
		to_peer=$((to_peer + p)) to_client=$((to_client + c)) partial=$((partial + h))
	done
	if { [ "$to_peer" -gt 0 ] && [ "$to_client" -gt 0 ]; } || [ "$partial" -gt 0 ]; then
		ok "XDP on $TERN_XDP saw the ChannelData: relayed $to_peer to peers and $to_client to clients, handed $partial up for a partial checksum"
	else
		not_ok "XDP on $TERN_XDP saw the ChannelData" \
			"tern_xdp_packets_total: $to_peer to peers, $to_client to clients;" \
			"tern_xdp_passed_total{reason=checksum}: $partial" \
			"(from ${#_xdp_seen[@]} of ${#_tern_pids[@]} ternds)"
	fi
}

# ---- Redis -------------------------------------------------------------------

# redis_pick: a loopback port for redis_start (RP); REDIS_PW, if set, is its password.
redis_pick() {
	RP=$(port_pick 1) || bail "no free ports"
	REDIS_PID=
}
# redis_start ARGS...: an empty, diskless redis-server on 127.0.0.1:RP. Its
# directory is the test's own: turnadmin makes Redis SAVE, and a redis-server
# loads any dump.rdb it finds there at start.
redis_start() {
	redis_node "$RP" "$T/redis.log" "$@" || return 1
	REDIS_PID=$NODE_PID
}
# redis_node PORT LOG ARGS...: the same on any port (a second server, a
# replica with --replicaof), logging to LOG; NODE_PID is its pid.
redis_node() {
	local port=$1 log=$2 i
	shift 2
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" "$@" \
		>"$log" 2>&1 &
	NODE_PID=$!
	_bg_pids+=("$NODE_PID")
	for ((i = 0; i < 50; i++)); do
		redis-cli -p "$port" ${REDIS_PW:+-a "$REDIS_PW" --no-auth-warning} ping 2>/dev/null |
			grep -q PONG && return 0
		sleep 0.1
	done
	echo "redis-server did not answer on port $port"
	cat "$log"
	return 1
}
# sentinel_start PORT NAME MASTER_PORT: a redis-sentinel on 127.0.0.1:PORT
# that monitors master NAME at 127.0.0.1:MASTER_PORT with quorum 2, quick to
# act (down after 1 s, failover timeout 5 s). Its config file, which it
# rewrites as it learns, is the test's own.
sentinel_start() {
	local port=$1 i
	printf '%s\n' "port $port" "bind 127.0.0.1" "dir $T" \
		"sentinel monitor $2 127.0.0.1 $3 2" "sentinel down-after-milliseconds $2 1000" \
		"sentinel failover-timeout $2 5000" "sentinel parallel-syncs $2 1" \
		>"$T/sentinel.$port.conf"
	redis-sentinel "$T/sentinel.$port.conf" >"$T/sentinel.$port.log" 2>&1 &
	_bg_pids+=($!)
	for ((i = 0; i < 50; i++)); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "redis-sentinel did not answer on port $port"
	cat "$T/sentinel.$port.log"
	return 1
}
redis_stop() {
	kill -TERM "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}
# rcli ARGS...: redis-cli on database 3, the one the tests give ternd.
rcli() { redis-cli -p "$RP" ${REDIS_PW:+-a "$REDIS_PW" --no-auth-warning} -n 3 "$@" 2>&1; }
# wait_for SECONDS WANT CMD...: poll CMD until it prints WANT; prints the last output.
wait_for() {
	local secs=$1 want=$2 out i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		out=$("$@")
		[ "$out" = "$want" ] && break
		sleep 0.1
	done
	echo "$out"
}

# ---- cleanup ----------------------------------------------------------------

# at_exit CMD...: run CMD when the test ends, before the rest of the cleanup
# (for what lib.sh does not know about: network namespaces, interfaces).
_exit_cmds=()
at_exit() { _exit_cmds+=("$*"); }

_interop_exit() {
	local pid log cmd
	for cmd in "${_exit_cmds[@]}"; do eval "$cmd" >/dev/null 2>&1; done
	for pid in "${_bg_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for pid in "${_tern_pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			_xdp_read "$pid"
			kill -TERM "$pid" 2>/dev/null
			for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	while [ "$_tap_bail" = 0 ] && [ "$_tap_n" -lt $((_tap_plan - _tap_xdp)) ]; do
		not_ok "not run: $_tap_not_run"
	done
	[ "$_tap_bail" = 0 ] && [ "$_tap_xdp" = 1 ] && _xdp_verdict
	if [ "$_tap_failed" -gt 0 ]; then
		for log in "$T"/ternd.*.log; do
			[ -f "$log" ] || continue
			echo "--- $log ($(cat "$log.cmd" 2>/dev/null)), last 30 lines:"
			tail -n 30 "$log"
		done | diag
	fi
	_ports_release
	rm -rf "$T"
	exit "$_tap_bail"
}
trap _interop_exit EXIT
trap 'exit 1' INT TERM HUP

[ -x "$TERND" ] || bail "ternd not found or not executable: $TERND (set TERND)"

# restore_world: for the tests of allocations that outlive ternd: a
# redis-server (RP; one test, so the test ends if it does not start), a
# port for ternd (P), and restore.py's UDP echo peer (PEER). Then
# restore ARGS... runs tests/interop/restore.py against them.
restore_world() {
	redis_pick
	check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
	P=$(port_pick 1) || bail "no free ports"
	PEER=$(port_pick 1) || bail "no free ports"
	"$PYTHON" "$INTEROP_DIR/restore.py" echo --peer-port "$PEER" >"$T/echo.log" 2>&1 &
	_bg_pids+=($!)
}
restore() {
	"$PYTHON" "$INTEROP_DIR/restore.py" "$@" --port "$P" --peer-port "$PEER" --state "$T/state.json"
}

# need_browser: headless Chromium (CHROMIUM, default /usr/bin/chromium),
# node, and playwright-core in tests/interop/webrtc (scripts/deps runs npm
# ci there; a tree without it, a `make distcheck` copy say, has nothing to
# drive the browser with), or skip the whole test. Sets CHROMIUM, WEBRTC.
need_browser() {
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$CHROMIUM" ] || skip_all "chromium not installed ($CHROMIUM)"
	need node
	WEBRTC=$INTEROP_DIR/webrtc
	[ -f "$WEBRTC/node_modules/playwright-core/package.json" ] ||
		skip_all "playwright-core not installed in $WEBRTC (run scripts/deps)"
}

# peers_resp RESPONDER N: RESP commands for redis-cli --pipe that store N
# WireGuard peers with random keys (allowed IPs 10.x.y.z/32 from 10.70.0.1,
# distinct for up to 11 million peers) under
# responder RESPONDER, in the schema of ternd.conf(5)
peers_resp() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import base64, os, sys
def cmd(*a):
    out = "*%d\r\n" % len(a)
    for x in a:
        out += "$%d\r\n%s\r\n" % (len(x.encode()), x)
    return out
r, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = base64.b64encode(os.urandom(32)).decode()
    sys.stdout.write(cmd("HSET", "tern:wg:{%s}:peer:%s" % (r, p), "allowed",
                         "10.%d.%d.%d/32" % (70 + i // 62500, i // 250 % 250, i % 250 + 1), "added", "0"))
    sys.stdout.write(cmd("SADD", "tern:wg:{%s}:peers" % r, p))
EOF
}
