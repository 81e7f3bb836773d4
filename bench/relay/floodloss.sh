#!/bin/bash
# Where the datagrams lost under turnutils_uclient's flood go (issue 14,
# item 5). bench/relay/run.sh showed tern losing more than coturn in
# channel mode with 10 clients (7.1% against 2.4% at 100 bytes) while its
# own sockets reported no drops. This runs that load again, ROUNDS times
# for each server in turn (tern, coturn), and accounts for every lost
# datagram it can:
#
#   - per socket: the kernel's receive-buffer drops (last field of
#     /proc/net/udp) of every UDP socket of the server (its listener and
#     relay sockets), of uclient and of turnutils_peer, sampled every
#     SAMPLE seconds while the run lasts (sockets close at its end; each
#     counts with the largest figure seen);
#   - machine-wide (nstat): UDP InErrors, RcvbufErrors, SndbufErrors, and
#     InDatagrams/OutDatagrams, to see what no socket owns;
#   - uclient's own count: sent, received, lost.
#
# A datagram's round trip is uclient -> server listener -> relay socket ->
# turnutils_peer -> relay socket -> listener -> uclient, so a loss shows up
# as a drop at one of four receive buffers (listener, peer, relay, uclient)
# or as a send the kernel refused (SndbufErrors), or nowhere (uclient
# counted a datagram it never managed to send).
#
#   bench/relay/floodloss.sh            (TERND=/path/to/ternd, else ./ternd)
#
# Environment: TERND, ROUNDS (3), CLIENTS (10), BYTES (100), N (5000
# datagrams per client), SAMPLE (0.2), SERVER_CPU (0), LOAD_CPU (1).
# Prints one line per run and a summary; writes nothing.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
ROUNDS=${ROUNDS:-3} CLIENTS=${CLIENTS:-10} BYTES=${BYTES:-100} N=${N:-5000}
SAMPLE=${SAMPLE:-0.2} SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
SECRET=secret REALM=bench
. "$TOP/bench/lib.sh"
bench_need floodloss "$TERND" nstat turnutils_uclient turnutils_peer
bench_setup floodloss

# sockets PID TAG: "inode TAG" for each socket PID holds now
sockets() {
	ls -l "/proc/$1/fd" 2>/dev/null | sed -n "s/.*socket:\[\([0-9]*\)\]\$/\1 $2/p"
}
# snap: "inode drops" of every UDP socket now
snap() { awk 'NR > 1 { print $10, $NF }' /proc/net/udp /proc/net/udp6; }

PEER_PORT=$(free_port)
"${PIN_LOAD[@]}" turnutils_peer -L 127.0.0.1 -p "$PEER_PORT" >"$tmp/peer.out" 2>&1 &
PEER=$!
PIDS+=("$PEER")
sleep 0.5

one_run() { # NAME ROUND
	local name=$1 round=$2 port spid upid cmd
	port=$(free_port)
	relay_cmd "$name" "$port"
	cmd=("${CMD[@]}")
	"${PIN_SERVER[@]}" "${cmd[@]}" >"$tmp/$name.out" 2>&1 &
	spid=$!
	for _ in $(seq 50); do
		ss -Hlnu "src 127.0.0.1:$port" | grep -q . && break
		sleep 0.1
	done
	sleep 0.5
	: >"$tmp/owners"
	: >"$tmp/snaps"
	sockets "$PEER" peer >>"$tmp/owners"
	snap >>"$tmp/snaps"
	nstat -n # reset nstat's history: the next nstat prints deltas from here
	"${PIN_LOAD[@]}" turnutils_uclient -c -m "$CLIENTS" -n "$N" -l "$BYTES" -z 0 \
		-e 127.0.0.1 -r "$PEER_PORT" -X -g -u bench -W "$SECRET" -p "$port" \
		127.0.0.1 >"$tmp/uclient.txt" 2>&1 &
	upid=$!
	while kill -0 "$upid" 2>/dev/null; do
		{ sockets "$spid" server; sockets "$upid" uclient; } >>"$tmp/owners"
		snap >>"$tmp/snaps"
		sleep "$SAMPLE"
	done
	wait "$upid"
	snap >>"$tmp/snaps"
	nstat -z Udp* 2>/dev/null | awk '{ print $1, $2 }' >"$tmp/nstat"
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	awk -v name="$name" -v round="$round" '
		FILENAME ~ /owners$/ { owner[$1] = $2; next }
		FILENAME ~ /snaps$/ {
			if (!($1 in first)) first[$1] = $2
			if ($2 > top[$1]) top[$1] = $2
			next
		}
		FILENAME ~ /nstat$/ { ns[$1] = $2; next }
		/start_mclient: tot_send_msgs=[0-9]+, tot_recv_msgs=[0-9]+$/ {
			split($0, a, "tot_send_msgs="); sent = a[2] + 0
			split($0, a, "tot_recv_msgs="); recv = a[2] + 0
		}
		END {
			for (i in top) if (i in owner) d[owner[i]] += top[i] - first[i]
			lost = sent - recv
			acc = d["server"] + d["uclient"] + d["peer"]
			printf "%s %d sent=%d received=%d lost=%d (%.2f%%) drops: server=%d uclient=%d peer=%d " \
			       "nstat: InErrors=%d RcvbufErrors=%d SndbufErrors=%d InDatagrams=%d OutDatagrams=%d " \
			       "unaccounted=%d\n", name, round, sent, recv, lost,
			       sent ? 100 * lost / sent : 0, d["server"], d["uclient"], d["peer"],
			       ns["UdpInErrors"], ns["UdpRcvbufErrors"], ns["UdpSndbufErrors"],
			       ns["UdpInDatagrams"], ns["UdpOutDatagrams"], lost - acc
		}' "$tmp/owners" "$tmp/snaps" "$tmp/nstat" "$tmp/uclient.txt"
}

for ((r = 1; r <= ROUNDS; r++)); do
	order="tern coturn"
	((r % 2 == 0)) && order="coturn tern"
	for s in $order; do
		if [ "$s" = coturn ] && ! command -v turnserver >/dev/null; then continue; fi
		one_run "$s" "$r" | tee -a "$tmp/rows"
	done
done
echo "--- summary (sums over rounds)"
awk '{ n[$1]++; for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[2] != "") s[$1, kv[1]] += kv[2] + 0 } }
	END { for (k in n) printf "%s: sent=%d lost=%d server=%d uclient=%d peer=%d RcvbufErrors=%d SndbufErrors=%d unaccounted=%d\n",
		k, s[k, "sent"], s[k, "lost"], s[k, "server"], s[k, "uclient"], s[k, "peer"],
		s[k, "RcvbufErrors"], s[k, "SndbufErrors"], s[k, "unaccounted"] }' "$tmp/rows"
