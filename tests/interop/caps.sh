#!/bin/bash
# Privileges after start-up (issue 13, item 5). ternd binds a port below
# 1024 and then needs no capability at all, so it keeps none, in any
# thread: started as root with proc-user (as a coturn-style init script
# does), and started as an ordinary user holding only an ambient
# CAP_NET_BIND_SERVICE (as systemd/ternd.service does, played here by
# setpriv). Each time the Binding on the low port is answered, and
# /proc shows every thread with the user's ids, no root group, and empty
# effective, permitted and ambient capability sets.
. "$(dirname "$0")/lib.sh"
need python3 setpriv
[ "$(id -u)" -eq 0 ] || skip_all "needs root to start ternd as root and as another user"
getent passwd nobody >/dev/null || skip_all "no user nobody"

plan 9

# a free port below 1024, reserved like port_pick's
low_port() {
	local p
	mkdir -p "$_PORTS"
	for p in $(shuf -i 600-1000); do
		port_free "$p" && _port_reserve "$p" && { echo "$p"; return 0; }
	done
	return 1
}

# every thread of PID: "uid gid groups CapEff CapPrm CapAmb", one line each, deduplicated
threads() {
	local t
	for t in /proc/"$1"/task/*; do
		awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } /^Groups:/ { $1 = ""; gr = $0 }
		     /^CapEff:/ { e = $2 } /^CapPrm:/ { p = $2 } /^CapAmb:/ { a = $2 }
		     END { printf "%s %s [%s ] %s %s %s\n", u, g, gr, e, p, a }' "$t/status"
	done | sort -u
}

nobody="$(id -u nobody) $(id -g nobody) [$(id -G nobody | sed 's/^/ /') ]"
zero="0000000000000000 0000000000000000 0000000000000000"

L1=$(low_port) || bail "no free port below 1024"
check "ternd starts as root with proc-user=nobody on udp port $L1" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$L1" --no-tcp --no-tls --no-dtls \
	--proc-user=nobody || exit 0
is "a Binding on port $L1 is answered" \
	"$(kv class "$(stuntool binding --server 127.0.0.1 --port "$L1")")" success
is "every thread runs as nobody, in nobody's groups only, with no capability" \
	"$(threads "$TERN_PID")" "$nobody $zero"
check "and stops cleanly" tern_stop

L2=$(low_port) || bail "no free port below 1024"
STATS_PORT=$(port_pick 1) || bail "no free ports"
: >"$T/ambient.log"
setpriv --reuid=nobody --regid="$(id -g nobody)" --init-groups \
	--inh-caps=+net_bind_service --ambient-caps=+net_bind_service \
	"$TERND" -n --stats-listen=127.0.0.1:"$STATS_PORT" --listening-ip=127.0.0.1 \
	--listening-port="$L2" --no-tcp --no-tls --no-dtls >"$T/ambient.log" 2>&1 &
pid=$!
_tern_pids+=("$pid")
wait_for 10 yes sh -c "grep -q 'ternd ready' '$T/ambient.log' && echo yes" >/dev/null
like "as nobody with only an ambient CAP_NET_BIND_SERVICE, it binds port $L2" \
	"$(cat "$T/ambient.log")" "ternd ready"
is "a Binding on port $L2 is answered" \
	"$(kv class "$(stuntool binding --server 127.0.0.1 --port "$L2")")" success
is "and the capability is gone from every thread once it is bound" \
	"$(threads "$pid")" "$nobody $zero"
check "it stops cleanly" tern_stop "$pid"

# without the capability the low port is refused, and said so
setpriv --reuid=nobody --regid="$(id -g nobody)" --init-groups \
	"$TERND" -n --stats-listen=off --listening-ip=127.0.0.1 --listening-port="$L2" \
	--no-tcp --no-tls --no-dtls >"$T/nocap.log" 2>&1
like "without it, ternd refuses to start and names the port" "$(cat "$T/nocap.log")" \
	"127.0.0.1:$L2.*(denied|not permitted)"
