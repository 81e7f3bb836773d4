# Shared by the bench scripts that drive bench/udp-floor's programs:
# sourced after HERE, TOP, SERVER_CPU and LOAD_CPU are set.
#
# bench_setup NAME: a temporary directory in $tmp, removed at exit with
# every process in PIDS; BENCH_CPUS, the machine's CPUs; PIN_SERVER and PIN_LOAD (arrays, not functions, so
# $! of "${PIN_SERVER[@]}" server & is the server itself: taskset execs it)
# when there is a CPU to pin to, and this script on the load's CPU.
bench_setup() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/tern-$1.XXXXXX") || exit 1
	PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	BENCH_CPUS=$(nproc) # before this script pins itself to one
	PIN_SERVER=() PIN_LOAD=()
	if [ "$BENCH_CPUS" -gt 1 ] && command -v taskset >/dev/null; then
		PIN_SERVER=(taskset -c "$SERVER_CPU") PIN_LOAD=(taskset -c "$LOAD_CPU")
		taskset -pc "$LOAD_CPU" $$ >/dev/null
	fi
}

# relay_cmd NAME PORT: CMD, the command line of a relay under the same load
# as its peer: coturn's turnserver (relay ports 30000-44999) or ternd
# (45000-59999), one relay thread, UDP only on 127.0.0.1, TURN REST
# credentials ($SECRET, realm $REALM), loopback peers allowed, logs in $tmp.
relay_cmd() {
	case $1 in
	coturn)
		CMD=(turnserver -n --no-cli --listening-ip=127.0.0.1 --relay-ip=127.0.0.1
			--listening-port="$2" --relay-threads=1 --no-tcp --no-tls --no-dtls
			--use-auth-secret --static-auth-secret="$SECRET" --realm="$REALM"
			--allow-loopback-peers --min-port=30000 --max-port=44999
			--no-rfc5780 --log-file="$tmp/coturn.log" --simple-log --no-stdout-log
			--pidfile="$tmp/turnserver.pid" --userdb="$tmp/turndb") ;;
	tern)
		CMD=("$TERND" -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1
			--listening-port="$2" --workers=1 --no-tcp --no-tls --no-dtls
			--use-auth-secret --static-auth-secret="$SECRET" --realm="$REALM"
			--allow-loopback-peers --min-port=45000 --max-port=59999
			--stats-listen=off --log-file="$tmp/ternd.log") ;;
	esac
}

# kv NAME TEXT: the number after NAME= in TEXT (the load tools' output)
kv() { sed -n "s/.*\<$1=\([0-9.]*\).*/\1/p" <<<"$2"; }

# bench_need NAME TERND COMMAND...: stop, saying what is missing
bench_need() {
	local name=$1 c
	[ -x "$2" ] || { echo "$name: no ternd at $2 (set TERND)" >&2; exit 1; }
	shift 2
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "$name: $c is missing" >&2; exit 1; }
	done
}

bench_cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}

# free_port: a UDP port nobody uses, 20000-31999.
free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		ss -Hanu "( sport = :$p )" | grep -q . || { echo "$p"; return; }
	done
	return 1
}

# cpu_ticks PID: utime + stime of all the process's threads, in clock ticks.
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# results_write NAME SECTION: put SECTION (which starts with "<!-- NAME:begin"
# and ends with "<!-- NAME:end -->") in place of NAME's section of $RESULTS,
# or append it; under a lock, since bench scripts may run side by side.
results_write() {
	touch "$RESULTS"
	(
		flock 9
		[ -s "$RESULTS" ] || printf '# Benchmark results\n\nLatest figures; each section is rewritten by its bench script.\n' >"$RESULTS"
		SECTION=$2 awk -v name="$1" '
			index($0, "<!-- " name ":begin") == 1 { print ENVIRON["SECTION"]; skip = 1; done = 1; next }
			index($0, "<!-- " name ":end") == 1 { skip = 0; next }
			!skip { print }
			END { if (!done) print "\n" ENVIRON["SECTION"] }
		' "$RESULTS" >"$tmp/results" && cat "$tmp/results" >"$RESULTS"
	) 9>>"$RESULTS"
	echo "$1: wrote $RESULTS" >&2
}

# bench_netns NAME PREFIX NET: two namespaces joined by a veth pair, the
# server's S (PREFIX<pid>s, NET.1) and the client's C (NET.2 on VC), lo up
# in both, removed at exit; PS and PC run a command in each, pinned to
# SERVER_CPU and LOAD_CPU. Stops, saying so, when they cannot be made.
bench_netns() {
	S=$2$$s C=$2$$c VC=v$$c
	cleanup_ns() { ip netns del "$S" 2>/dev/null; ip netns del "$C" 2>/dev/null; }
	trap 'bench_cleanup; cleanup_ns' EXIT
	ip netns add "$S" && ip netns add "$C" &&
		ip link add "v$$s" type veth peer name "$VC" &&
		ip link set "v$$s" netns "$S" && ip link set "$VC" netns "$C" &&
		ip -n "$S" addr add "$3.1/24" dev "v$$s" && ip -n "$C" addr add "$3.2/24" dev "$VC" &&
		ip -n "$S" link set "v$$s" up && ip -n "$C" link set "$VC" up &&
		ip -n "$S" link set lo up && ip -n "$C" link set lo up ||
		{ echo "$1: no namespaces" >&2; exit 1; }
	PS=(ip netns exec "$S" taskset -c "$SERVER_CPU")
	PC=(ip netns exec "$C" taskset -c "$LOAD_CPU")
}
