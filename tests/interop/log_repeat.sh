#!/bin/bash
# Repeated bad input from one source is logged once an interval with a
# count (issue 13, item 8; server/srclog.h). ternd runs with
# log-repeat-interval=2 and takes, from 127.0.0.1: 20 Allocates signed with
# a wrong password (the client tries each twice: 40 failures), 500 datagrams that are not STUN, and 10 TCP connections
# that send garbage; then non-STUN datagrams from 400 loopback addresses, as
# a flood with spoofed sources would come. Each kind from the one source is
# logged first as it happened and then as "N more ...", and the first lines
# plus the counts add up to what was sent. (A source's packets can reach
# both workers, by port: each counts its own, so up to one first line a
# worker.) The spoofed flood is held to the line budget (20 a second a
# worker) and the rest said as one count.
. "$(dirname "$0")/lib.sh"
need python3

plan 10

P=$(port_pick 1) || bail "no free ports"
check "ternd starts with log-repeat-interval=2" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --realm=tern.test \
	--user=alice:right-password --log-repeat-interval=2 || exit 0

"$PYTHON" - "$P" "$INTEROP_DIR" >"$T/alloc.out" 2>&1 <<'EOF'
import argparse, sys
sys.path.insert(0, sys.argv[2])
from restore import Client
a = argparse.Namespace(server="127.0.0.1", port=int(sys.argv[1]), user="alice",
                       password="wrong-password", timeout=2.0)
for i in range(20):
    cls, got, code, tid = Client(a).request(0x003, [(0x0019, b"\x11\0\0\0")])
    print("allocate=%s" % (code or "ok"))
EOF
is "20 Allocates with a wrong password were refused" \
	"$(grep -c '^allocate=401$' "$T/alloc.out")" 20

"$PYTHON" - "$P" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(500):
    s.sendto(b"\xff not stun, not channel data %d" % i, ("127.0.0.1", port))
for i in range(10):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"\xffgarbage that is no STUN\r\n")
    c.settimeout(2)
    try:
        c.recv(100)
    except OSError:
        pass
    c.close()
EOF

# the counts come when the interval is over, at a worker's next second
count_sum() { # PATTERN: first lines + the counts of "N more PATTERN"
	local first more
	first=$(grep -c "127.0.0.1:[0-9]*: $1" "$TERN_LOG")
	more=$(sed -n "s/.*127\.0\.0\.1: \([0-9]*\) more $2 in the last.*/\1/p" "$TERN_LOG" |
		awk '{ s += $1 } END { print s + 0 }')
	echo $((first + more))
}
is "40 authentication failures: the first lines and the counts add up" \
	"$(wait_for 6 40 count_sum '401 bad_integrity, user "alice"' 'authentication failures')" 40
like "and alice's failures took at most a line a worker before the count" \
	"$(grep -c '401 bad_integrity, user "alice"' "$TERN_LOG")" '^[12]$'
is "500 datagrams that are not STUN: one first line, then a count" \
	"$(wait_for 6 500 count_sum 'dropped: unknown_protocol' 'malformed messages')" 500
is "... which is one line (one socket, one worker) and the count" \
	"$(grep -c 'udp 127.0.0.1:[0-9]*: dropped: unknown_protocol' "$TERN_LOG")" 1
is "10 TCP connections closed for garbage: the same" \
	"$(wait_for 6 10 count_sum 'connection closed' 'connections refused or closed')" 10

before=$(wc -l <"$TERN_LOG")
"$PYTHON" - "$P" <<'EOF'
import socket, sys
port = int(sys.argv[1])
for i in range(400):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.%d.%d" % (10 + i // 200, 1 + i % 200), 0))
    for _ in range(5):
        s.sendto(b"\xff spoofed flood", ("127.0.0.1", port))
    s.close()
EOF
sleep 3
flood=$(tail -n +"$((before + 1))" "$TERN_LOG" | grep -c 'udp 127\.0\.1[01]\.[0-9]*:[0-9]*: dropped')
held=$(tail -n +"$((before + 1))" "$TERN_LOG" |
	sed -n 's/.* \([0-9]*\) more lines of bad input not logged in the last.*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
diag <<<"spoofed flood: $flood lines logged, $held held back"
like "400 sources in under a second: at most 20 lines a second a worker" "$flood" \
	'^([1-9]|[1-7][0-9]|80)$'
like "and the lines held back are said as a count" "$held" '^[1-9][0-9]*$'
check "ternd stops cleanly" tern_stop
