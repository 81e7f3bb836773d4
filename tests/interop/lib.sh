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
# the same tests against coturn.

set -u

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}
T=$(mktemp -d "${TMPDIR:-/tmp}/tern-interop.XXXXXX") || {
	echo "Bail out! cannot make a temp dir"
	exit 1
}

# ---- TAP ----------------------------------------------------------------

_tap_plan=0 _tap_n=0 _tap_failed=0
_tap_not_run="an earlier step failed"

plan() {
	_tap_plan=$1
	echo "1..$1"
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
_tern_pids=()

# tern_start ARGS...: start ternd with -n, a stats endpoint on a free port
# (STATS=127.0.0.1:port) and ARGS; wait up to 10 s for "ternd ready".
# Sets TERN_PID and TERN_LOG. Returns non-zero, with what went wrong on
# stdout, when ternd exits or does not become ready. Use it under check:
#   check "ternd starts" tern_start --listening-port=$P || exit 0
# (the EXIT trap then reports the rest of the plan as not run).
tern_start() {
	STATS_PORT=$(port_pick 1) || bail "no free ports"
	STATS=127.0.0.1:$STATS_PORT
	TERN_LOG=$T/ternd.${#_tern_pids[@]}.log
	echo "$TERND -n --stats-listen=$STATS $*" >"$TERN_LOG.cmd"
	: >"$TERN_LOG"
	"$TERND" -n --stats-listen="$STATS" "$@" >"$TERN_LOG" 2>&1 &
	TERN_PID=$!
	_tern_pids+=("$TERN_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "ternd ready" "$TERN_LOG" && return 0
		kill -0 "$TERN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TERN_PID" 2>/dev/null; then
		echo "ternd not ready after 10 s: $(cat "$TERN_LOG.cmd")"
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

# ---- cleanup ----------------------------------------------------------------

_interop_exit() {
	local pid log
	for pid in "${_tern_pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
			for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	while [ "$_tap_bail" = 0 ] && [ "$_tap_n" -lt "$_tap_plan" ]; do
		not_ok "not run: $_tap_not_run"
	done
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
