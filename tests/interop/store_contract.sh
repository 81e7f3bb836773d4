#!/bin/bash
# The credential store's contract, the same assertions against both backends
# (issue 4): memory (the userdb file, read again on SIGHUP) and Redis (ternctl,
# which tells every node at once). For each: an unknown user is refused, a
# user added is accepted without a restart, a new password replaces the old,
# a deleted user's Refresh of an allocation made before is refused, and a
# user of the configuration keeps its password whatever the store says.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli

plan 15

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0

# ---- the two fixtures --------------------------------------------------------
# start_memory / start_redis: a ternd on port P; user_set NAME PASSWORD and
# user_del NAME change the store the backend's way.

USERDB=$T/userdb
start_memory() {
	: >"$USERDB"
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp \
		--no-tls --no-dtls --user=alice:secret --userdb="$USERDB" --realm=tern.test \
		--allow-loopback-peers
}
memory_set() {
	grep -v "^$1:" "$USERDB" >"$USERDB.new"
	echo "$1:$2" >>"$USERDB.new"
	mv "$USERDB.new" "$USERDB"
	kill -HUP "$TERN_PID"
}
memory_del() {
	grep -v "^$1:" "$USERDB" >"$USERDB.new"
	mv "$USERDB.new" "$USERDB"
	kill -HUP "$TERN_PID"
}

start_redis() {
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp \
		--no-tls --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
		--redis-url="redis://127.0.0.1:$RP/3" --node-id=contract
}
tc() { "$TERNCTL" --redis-url="redis://127.0.0.1:$RP/3" --realm=tern.test "$@" >/dev/null 2>&1; }
redis_set() { tc user add "$1" "$2"; }
redis_del() { tc user del "$1"; }

# ---- the contract --------------------------------------------------------------

alloc() { # alloc USER PASSWORD: the Allocate's outcome; its 5-tuple kept for refresh
	"$PYTHON" "$INTEROP_DIR/restore.py" setup --no-channel --clients 1 --port "$P" \
		--user "$1" --password "$2" --state "$T/state.json" | sed -n 's/^setup=//p'
}
refresh() { # the Refresh of the allocation alloc made last, with USER PASSWORD
	"$PYTHON" "$INTEROP_DIR/restore.py" resume --refresh --port "$P" --peer-port 9 \
		--user "$1" --password "$2" --state "$T/state.json" | sed -n 's/^refreshed=//p'
}
until_alloc() { # until_alloc WANT USER PASSWORD
	local want=$1 got i
	shift
	for ((i = 0; i < 12; i++)); do
		got=$(alloc "$@")
		[ "$got" = "$want" ] && break
		sleep 0.25
	done
	echo "$got"
}

contract() { # contract BACKEND
	local b=$1
	P=$(port_pick 1) || bail "no free ports"
	check "$b: ternd starts" "start_$b" || return
	is "$b: an unknown user is refused" "$(alloc bob pw1)" "allocate 0: 401"
	"${b}_set" bob pw1
	is "$b: a user added is accepted, no restart" "$(until_alloc ok bob pw1)" "ok"
	"${b}_set" bob pw2
	is "$b: a new password replaces the old one" \
		"$(until_alloc 'allocate 0: 401' bob pw1) $(alloc bob pw2)" "allocate 0: 401 ok"
	"${b}_del" bob
	is "$b: a deleted user's Refresh is refused" "$(
		for _ in $(seq 12); do
			r=$(refresh bob pw2)
			[ "$r" = 0 ] && break
			sleep 0.25
		done
		echo "$r")" "0"
	"${b}_set" alice other
	sleep 1
	is "$b: a config user keeps its password" \
		"$(alloc alice secret) $(alloc alice other)" "ok allocate 0: 401"
	check "$b: ternd stops" tern_stop
}

contract memory
contract redis
