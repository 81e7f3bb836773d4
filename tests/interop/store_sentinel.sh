#!/bin/bash
# Redis Sentinel (issue 13): a master, a replica and three redis-sentinel on
# loopback; ternd finds the master through the sentinels. The master is
# killed (SIGKILL) under turnutils_uclient load: nothing relayed on the
# existing allocations may be lost, /readyz says degraded while no master is
# known, and once the sentinels have promoted the replica ternd writes its
# live state there, new allocations included. The replica is writable and
# its copy of the allocation records is removed before the kill: a promoted
# replica that missed the last writes must get them back from ternd. The
# first sentinel in ternd's list is a stale one that names the replica: its
# answer must be checked (ROLE) and passed over.
. "$(dirname "$0")/lib.sh"
need python3 ss redis-server redis-sentinel redis-cli turnutils_uclient turnutils_peer

plan 22

NAME=tern
M=$(port_pick 1) || bail "no free ports"
R=$(port_pick 1) || bail "no free ports"
S=$(port_pick 3) || bail "no free ports"
check "redis-server master starts on 127.0.0.1:$M" redis_node "$M" "$T/master.log" || exit 0
MASTER_PID=$NODE_PID
check "a replica of it starts on 127.0.0.1:$R" \
	redis_node "$R" "$T/replica.log" --replicaof 127.0.0.1 "$M" --replica-read-only no || exit 0
sentinels() {
	local i
	for i in 0 1 2; do sentinel_start $((S + i)) "$NAME" "$M" || return 1; done
}
check "three redis-sentinel watch it on $S-$((S + 2))" sentinels || exit 0
at() { redis-cli -p "$1" -n 3 "${@:2}" 2>&1; }
sees_replica() { redis-cli -p "$S" sentinel replicas "$NAME" | grep -c "^127.0.0.1:$R$"; }
is "the sentinels know the replica" "$(wait_for 15 1 sees_replica)" "1"
# stale_sentinel PORT: answers SENTINEL get-master-addr-by-name with the
# replica's address, and hangs up on anything else (a subscription too)
stale_sentinel() {
	"$PYTHON" - "$1" "$R" <<'EOF' &
import socket, socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            head = self.rfile.readline()
            if not head.startswith(b"*"):
                return
            args = []
            for _ in range(int(head[1:])):
                n = int(self.rfile.readline()[1:])
                args.append(self.rfile.read(n + 2)[:-2].decode())
            if [a.lower() for a in args[:2]] != ["sentinel", "get-master-addr-by-name"]:
                return
            port = sys.argv[2]
            self.wfile.write(b"*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n" % (len(port), port.encode()))
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
	_bg_pids+=($!)
	for _ in $(seq 50); do
		ss -Hltn "( sport = :$1 )" | grep -q . && return 0
		sleep 0.1
	done
	echo "the stale sentinel is not listening on $1"
	return 1
}
F=$(port_pick 1) || bail "no free ports"
check "a stale sentinel (it names the replica) listens on $F" stale_sentinel "$F" || exit 0

PP=$(port_pick 2) || bail "no free ports"
check "turnutils_peer echoes on 127.0.0.1" peer_start "$PP" 127.0.0.1 || exit 0
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with redis-sentinel" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --relay-ip=127.0.0.1 --no-tcp \
	--no-tls --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
	--workers=2 --redis-url="redis://$NAME/3" --node-id=s1 --redis-master-name="$NAME" \
	--redis-sentinel="127.0.0.1:$F,127.0.0.1:$S, 127.0.0.1:$((S + 1)),127.0.0.1:$((S + 2))" ||
	exit 0
readyz() { stuntool http "http://$STATS/readyz" | sed -n 's/^body=//p'; }
udpalloc() {
	timeout 20 "$PYTHON" "$INTEROP_DIR/tcprelay.py" udpalloc --server 127.0.0.1 --port "$P" \
		--transport udp
}
records() { at "$1" --scan --pattern 'tern:alloc:{s1}:*' | grep -c .; }
live() { tern_metric tern_allocations family=ipv4; }
is "/readyz ok, on the master the sentinels name" "$(wait_for 8 ok readyz)" "ok"
like "the stale sentinel's answer was checked and passed over" \
	"$(grep -m1 'named by a sentinel' "$TERN_LOG")" "127.0.0.1:$R, named by a sentinel, is not a master"
is "ternd's registry entry is on the master" "$(at "$M" EXISTS 'tern:node:{s1}')" "1"

# 10 clients, 500 messages each at uclient's 50 a second: about 10 s
uclient "$T/uc" -p "$P" -u alice -w secret -r "$PP" -l 120 -m 10 -n 500 -X -e 127.0.0.1 \
	127.0.0.1 &
UC=$!
sleep 2.5
n=$(live)
is "the allocations' records reach the master, and the replica" \
	"$(wait_for 3 "$n $n" eval 'echo "$(records "$M") $(records "$R")"')" "$n $n"
# what a replica that missed the last writes has
at "$R" --scan --pattern 'tern:alloc:{s1}:*' | xargs -r redis-cli -p "$R" -n 3 del >/dev/null
t0=$(date +%s%N)
disown "$MASTER_PID" # no "Killed" from the shell
kill -KILL "$MASTER_PID"
degraded=no
for ((i = 0; i < 200; i++)); do # 20 s at most
	r=$(readyz)
	[ "$r" = "degraded: no redis master known" ] && degraded=yes
	[ "$r" = ok ] && [ "$degraded" = yes ] && break
	sleep 0.05
done
t1=$(date +%s%N)
is "master killed mid-run: /readyz says degraded while no master is known" "$degraded" yes
is "/readyz ok again once the replica is promoted" "$r" ok
echo "# failover: /readyz ok again $(((t1 - t0) / 1000000)) ms after the kill"
like "ternd followed the sentinels to the promoted replica" \
	"$(grep -o "master $NAME moved from .*" "$TERN_LOG")" "to 127.0.0.1:$R$"
is "tern_store_failovers_total counts it" "$(tern_metric tern_store_failovers_total)" "1"
n=$(live)
is "every live allocation's record is on the new master again ($n)" \
	"$(wait_for 3 "$n" records "$R")" "$n"
is "so is the node's registry entry" "$(wait_for 6 1 at "$R" EXISTS 'tern:node:{s1}')" "1"
wait "$UC"
rc=$?
read -r sent recv lost <<<"$(uclient_totals "$T/uc")"
echo "# uclient: sent $sent, received $recv, lost $lost"
is "uclient relayed every message through the failover: none lost" \
	"$rc $sent $recv $lost" "0 5000 5000 0"
out=$(udpalloc)
is "a new allocation after the failover" "$(sed -n 's/^allocate=//p' <<<"$out")" "ok"
RELAYED=$(sed -n 's/^relayed=//p' <<<"$out")
is "its record is on the new master ($RELAYED)" \
	"$(wait_for 3 1 at "$R" EXISTS "tern:alloc:{s1}:$RELAYED")" "1"
printf '%s\n' "realm=tern.test" "redis-url=redis://$NAME/3" "redis-master-name=$NAME" \
	"redis-sentinel=127.0.0.1:$S,127.0.0.1:$((S + 1))" >"$T/ctl.conf"
check "ternctl -c with the sentinels adds a user on the new master" \
	eval '"$TERNCTL" -c "$T/ctl.conf" user add bob s3cret &&
		[ "$(at "$R" EXISTS turn/realm/tern.test/user/bob/key)" = 1 ]'
check "ternd stops cleanly" tern_stop
