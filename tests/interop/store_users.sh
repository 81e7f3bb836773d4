#!/bin/bash
# Users and REST secrets in Redis (issue 4), managed with coturn's own
# turnadmin (-N, its Redis userdb) on a live two-node fleet: a user added is
# accepted on both nodes without a restart, a deleted one is refused, a REST
# secret added works for TURN REST credentials, and a config user keeps its
# own password whatever Redis says.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-cli turnadmin

plan 20

redis_pick
check "redis-server starts on 127.0.0.1:$RP" redis_start || exit 0
PA=$(port_pick 1) || bail "no free ports"
PB=$(port_pick 1) || bail "no free ports"
node() { # node ID PORT
	tern_start --listening-ip=127.0.0.1 --listening-port="$2" --relay-ip=127.0.0.1 --no-tcp \
		--no-tls --no-dtls --user=alice:secret --realm=tern.test --use-auth-secret \
		--allow-loopback-peers --redis-url="redis://127.0.0.1:$RP/3" --node-id="$1" \
		--redis-userdb-interval=1
}
TA=(-N "ip=127.0.0.1 port=$RP dbname=3" -r tern.test)
ta() { turnadmin "$@" "${TA[@]}" >>"$T/turnadmin.log" 2>&1; }
alloc() { # alloc PORT USER PASSWORD: the Allocate's outcome
	"$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$1" --user "$2" --password "$3" |
		sed -n 's/^allocate=//p'
}
# until_is SECONDS WANT PORT USER PASSWORD: poll alloc until it answers WANT
until_is() {
	local secs=$1 want=$2 got i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		got=$(alloc "$@")
		[ "$got" = "$want" ] && break
		sleep 0.25
	done
	echo "$got"
}
rest() { # rest SECRET USER: "name password" of TURN REST credentials
	"$PYTHON" -c 'import base64, hmac, hashlib, sys, time
name = "%d:%s" % (time.time() + 3600, sys.argv[2])
print(name, base64.b64encode(hmac.new(sys.argv[1].encode(), name.encode(), hashlib.sha1).digest()).decode())' "$1" "$2"
}

check "node a starts, users from config and Redis" node a "$PA" || exit 0
check "node b starts" node b "$PB" || exit 0
is "bob is unknown before turnadmin adds him" "$(alloc "$PA" bob hunter2)" "401"
check "turnadmin -a adds bob to the Redis userdb" ta -a -u bob -p hunter2
is "node a accepts bob, no restart" "$(until_is 5 ok "$PA" bob hunter2)" "ok"
is "so does node b" "$(until_is 5 ok "$PB" bob hunter2)" "ok"
check "turnadmin -d deletes bob" ta -d -u bob
is "node a refuses bob again" "$(until_is 5 401 "$PA" bob hunter2)" "401"

read -r name pass <<<"$(rest north carol)"
check "turnadmin -s adds a REST secret" ta -s north
is "TURN REST credentials made with it are accepted" "$(until_is 5 ok "$PB" "$name" "$pass")" "ok"

# ternctl publishes on tern:auth: node c, reading Redis only every 30 s,
# takes its changes at once
PC=$(port_pick 1) || bail "no free ports"
check "node c starts, reading Redis every 30 s" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$PC" --relay-ip=127.0.0.1 --no-tcp \
	--no-tls --no-dtls --realm=tern.test --use-auth-secret --allow-loopback-peers \
	--redis-url="redis://127.0.0.1:$RP/3" --node-id=c || exit 0
sleep 2 # its first read, when it connects
tc() { "$TERNCTL" --redis-url="redis://127.0.0.1:$RP/3" --realm=tern.test "$@" 2>&1; }
check "ternctl user add dave" tc user add dave pw4
is "node c accepts dave within 2 s" "$(until_is 2 ok "$PC" dave pw4)" "ok"
is "ternctl user list names him" "$(tc user list | sort | tr '\n' ' ')" "dave "
check "ternctl user del dave" tc user del dave
is "node c refuses dave within 2 s" "$(until_is 2 401 "$PC" dave pw4)" "401"
tc user del dave >/dev/null
is "deleting him again: exit 1" "$?" "1"
is "ternctl nodes lists the three nodes" "$(tc nodes | awk 'NR > 1 { print $1 }' | sort | tr '\n' ' ')" "a b c "

# a Redis user named like a config user does not replace it
ta -a -u alice -p other
sleep 2
is "alice keeps her config password, not Redis's" \
	"$(alloc "$PA" alice secret) $(alloc "$PA" alice other)" "ok 401"
