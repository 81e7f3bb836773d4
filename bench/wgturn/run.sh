#!/bin/bash
# WireGuard through TURN: the responder inside ternd, reached through an
# allocation on the same node (handed over in the process), against the
# same traffic over TURN to a separate wireguard-go on the same machine.
#
#   bench/wgturn/run.sh [--write]     (TERND=/path/to/ternd, else ./ternd)
#
# Two namespaces joined by a veth pair. In the client's, wireguard-go's
# endpoint is turnfwd (tests/tools/turnfwd.c), which carries its datagrams
# over a channel of a TURN allocation on ternd. The server's namespace has
# ternd and, for "separate", a wireguard-go responder at 10.9.0.1 (an
# address on lo, let through with allowed-peer-ip): ternd relays to it over
# the kernel's loopback, as a relay and a VPN gateway on one host would.
# Everything on the server's side (ternd, and the separate wireguard-go)
# is pinned to SERVER_CPU; the client's wireguard-go, turnfwd and both
# iperf3 ends to LOAD_CPU.
#
#   rtt          ping through the tunnel, 1000 at 2 ms intervals: p50, p99
#   throughput   iperf3 TCP, DURATION s each way: Mbit/s, and datagrams
#                per server-side CPU-second (the datagrams are counted on
#                the client's veth, both directions; CPU is utime+stime of
#                ternd, plus wireguard-go's for "separate")
#
# Environment: TERND, TURNFWD (else built from tests/tools/turnfwd.c),
# DURATION (5), ROUNDS (3), SERVER_CPU (0), LOAD_CPU (1), RESULTS.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
TERND=${TERND:-$TOP/ternd}
DURATION=${DURATION:-5} ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}
RESULTS=${RESULTS:-$TOP/bench/RESULTS.md}
PYTHON=${PYTHON:-python3}
WRITE=0
[ "${1:-}" = "--write" ] && WRITE=1

. "$TOP/bench/lib.sh"
bench_setup wgturn
bench_need wgturn "$TERND" wireguard-go wg iperf3 ip taskset ping

if [ -z "${TURNFWD:-}" ]; then
	TURNFWD=$tmp/turnfwd
	cc -O2 -Wall -Wextra -D_GNU_SOURCE -I"$TOP" -o "$TURNFWD" "$TOP/tests/tools/turnfwd.c" \
		"$TOP"/stun/*.c "$TOP/server/netaddr.c" -lcrypto -lz ||
		{ echo "wgturn: turnfwd did not build" >&2; exit 1; }
fi

bench_netns wgturn bt 192.168.67
ip -n "$S" addr add 10.9.0.1/32 dev lo || { echo "wgturn: no address on lo" >&2; exit 1; }

(umask 077; wg genkey >"$tmp/server.key"; wg genkey >"$tmp/client.key")
SP=$(wg pubkey <"$tmp/server.key") CP=$(wg pubkey <"$tmp/client.key")
printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.66.0.2/32\n' \
	"$(cat "$tmp/server.key")" "$CP" >"$tmp/server.conf"

TPID= GPID= FPID= CPID=
start_tern() { # ARGS...
	rm -f "$tmp/ternd.log"
	"${PS[@]}" "$TERND" -n --listening-ip=192.168.67.1 --user=bench:bench \
		--allowed-peer-ip=10.9.0.1 --stats-listen=off --log-file="$tmp/ternd.log" "$@" &
	TPID=$!
	for _ in $(seq 50); do grep -q "ternd ready" "$tmp/ternd.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "wgturn: ternd did not start" >&2; tail "$tmp/ternd.log" >&2; exit 1
}
start_wggo() { # the separate responder, on the server's core
	WG_PROCESS_FOREGROUND=1 "${PS[@]}" wireguard-go -f bts$$ >"$tmp/wggo.log" 2>&1 &
	GPID=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/bts$$.sock ] && break; sleep 0.1; done
	ip netns exec "$S" wg setconf bts$$ "$tmp/server.conf" &&
		ip -n "$S" addr add 10.66.0.1/24 dev bts$$ && ip -n "$S" link set bts$$ up
}
client_up() { # PEER: turnfwd to PEER, and wireguard-go behind it
	"${PC[@]}" "$TURNFWD" --server 192.168.67.1:3478 --user bench --password bench \
		--peer "$1" --listen 127.0.0.1:51821 >"$tmp/fwd.out" 2>&1 &
	FPID=$!
	for _ in $(seq 50); do [ -s "$tmp/fwd.out" ] && break; sleep 0.1; done
	grep -q '^relayed=' "$tmp/fwd.out" || { echo "wgturn: turnfwd: $(cat "$tmp/fwd.out")" >&2; exit 1; }
	WG_PROCESS_FOREGROUND=1 "${PC[@]}" wireguard-go -f btc$$ >"$tmp/client.log" 2>&1 &
	CPID=$!
	for _ in $(seq 50); do [ -S /var/run/wireguard/btc$$.sock ] && break; sleep 0.1; done
	ip netns exec "$C" wg set btc$$ private-key "$tmp/client.key" peer "$SP" \
		endpoint 127.0.0.1:51821 allowed-ips 10.66.0.0/24 &&
		ip -n "$C" addr add 10.66.0.2/24 dev btc$$ && ip -n "$C" link set btc$$ up &&
		ip netns exec "$C" ping -c 1 -W 5 10.66.0.1 >/dev/null
}
stop_all() {
	local p
	for p in $CPID $FPID $GPID $TPID; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	TPID= GPID= FPID= CPID=
}

server_ticks() { # ternd's, and the separate wireguard-go's
	local t
	t=$(cpu_ticks "$TPID")
	[ -n "$GPID" ] && t=$((t + $(cpu_ticks "$GPID")))
	echo "$t"
}
veth_packets() {
	ip -n "$C" -s -j link show "$VC" |
		"$PYTHON" -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"] + s["tx"]["packets"])'
}

# iperf3 one way: "Mbit/s server-ticks datagrams"
iperf() { # ARGS...
	local t0 t1 p0 p1 out
	ip netns exec "$S" taskset -c "$LOAD_CPU" iperf3 -s -B 10.66.0.1 -1 >/dev/null 2>&1 &
	sleep 0.3
	t0=$(server_ticks) p0=$(veth_packets)
	out=$("${PC[@]}" iperf3 -c 10.66.0.1 -t "$DURATION" -J "$@" 2>/dev/null)
	t1=$(server_ticks) p1=$(veth_packets)
	wait
	echo "$("$PYTHON" -c 'import json,sys; print(round(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))' <<<"$out" 2>/dev/null || echo 0) $((t1 - t0)) $((p1 - p0))"
}

# ping: "p50-us p99-us"
rtt() {
	"${PC[@]}" ping -c 1000 -i 0.002 10.66.0.1 |
		sed -n 's/.*time=\([0-9.]*\) ms/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d %d", v[int(NR * 0.5)] * 1000, v[int(NR * 0.99)] * 1000 }'
}

round() { # NAME ROUND
	local name=$1 r=$2
	if [ "$name" = inprocess ]; then
		start_tern --wg-config="$tmp/server.conf" --wg-tun=btt$$ --wg-address=10.66.0.1/24
		client_up 192.168.67.1:51820 || { echo "wgturn: no tunnel in process" >&2; exit 1; }
	else
		start_tern
		start_wggo || { echo "wgturn: wireguard-go did not start" >&2; exit 1; }
		client_up 10.9.0.1:51820 || { echo "wgturn: no tunnel to wireguard-go" >&2; exit 1; }
	fi
	{
		echo "rtt $(rtt)"
		echo "fwd $(iperf)"
		echo "rev $(iperf -R)"
	} >"$tmp/$name.$r"
	stop_all
	echo "round $r $name: $(tr '\n' ' ' <"$tmp/$name.$r")" >&2
}

for r in $(seq "$ROUNDS"); do
	round inprocess "$r"
	round separate "$r"
done

# median NAME KIND FIELD
median() {
	for r in $(seq "$ROUNDS"); do awk -v k="$2" -v f="$3" '$1 == k { print $f }' "$tmp/$1.$r"; done |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
ticks=$(getconf CLK_TCK)
per_cpu() { # NAME KIND: datagrams per server CPU-second, median over rounds
	for r in $(seq "$ROUNDS"); do
		awk -v k="$2" -v hz="$ticks" '$1 == k { printf "%.0f\n", ($3 > 0 ? $4 / ($3 / hz) : 0) }' "$tmp/$1.$r"
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
row() { # NAME LABEL
	echo "| $2 | $(median "$1" rtt 2) | $(median "$1" rtt 3) | $(median "$1" fwd 2) | $(per_cpu "$1" fwd) | $(median "$1" rev 2) | $(per_cpu "$1" rev) |"
}
ratio() { # KIND: in-process datagrams per CPU-second over separate's
	awk -v a="$(per_cpu inprocess "$1")" -v b="$(per_cpu separate "$1")" \
		'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'
}
section=$(
	cat <<EOF
<!-- wgturn:begin (written by bench/wgturn/run.sh) -->
## WireGuard through TURN (bench/wgturn)

$(date -u '+%Y-%m-%d %H:%M UTC') on $BENCH_CPUS CPUs, $(uname -sr); $ROUNDS alternating rounds, medians.
wireguard-go behind turnfwd (a channel of a TURN allocation on ternd) in the client's namespace;
the responder either inside ternd (handed over in the process) or a separate wireguard-go that
ternd relays to over loopback. Server side (ternd, and the separate wireguard-go) pinned to CPU
$SERVER_CPU; the client's wireguard-go, turnfwd and iperf3 to CPU $LOAD_CPU. Datagrams counted
on the client's veth, both ways. See the header of bench/wgturn/run.sh.

| responder | ping p50, us | ping p99, us | client to responder, Mbit/s | datagrams per server CPU-s | responder to client, Mbit/s | datagrams per server CPU-s |
|---|---:|---:|---:|---:|---:|---:|
$(row inprocess "in ternd, handed over")
$(row separate "separate wireguard-go")

Datagrams per server-side CPU-second, in process over separate: $(ratio fwd) client to
responder, $(ratio rev) responder to client.
<!-- wgturn:end -->
EOF
)
echo "$section"
[ "$WRITE" = 1 ] && results_write wgturn "$section"
exit 0
