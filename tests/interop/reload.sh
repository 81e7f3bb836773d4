#!/bin/bash
# SIGHUP reads the whole configuration again (issue 13, item 2). ternd runs
# from a file with TLS and DTLS, users alice and carol and user-quota=10,
# while alice relays with coturn's turnutils_uclient over TLS (4
# allocations, 100 messages each way each). The file then gets certificate
# B, bob added, carol removed, user-quota=4, max-allocations changed, and
# ternd SIGHUP: the next TLS client gets B, bob allocates, carol is refused,
# alice's next allocation is over her quota while her four relay on, and
# the uclient loses nothing; max-allocations is named as taking a restart
# and keeps its value. A second reload denies the echo peer (a new
# ChannelBind to it gets 403) and turns on verbose. A file with an unknown
# option is refused with its file:line, and its other change (bob removed)
# is not made.
. "$(dirname "$0")/lib.sh"
need openssl python3 turnutils_uclient turnutils_peer

plan 17

check "two certificates made" eval 'make_certs "$T/a" && make_certs "$T/b"' || exit 0
cp "$T/a/cert.pem" "$T/cert.pem" && cp "$T/a/key.pem" "$T/key.pem"
fp() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
served() {
	timeout 10 openssl s_client -connect "127.0.0.1:$Q" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
P=$(port_pick 1) && Q=$(port_pick 1) && PP=$(port_pick 2) && PEER=$(port_pick 1) ||
	bail "no free ports"
check "turnutils_peer echoes" peer_start "$PP" 127.0.0.1 || exit 0
"$PYTHON" "$INTEROP_DIR/restore.py" echo --peer-port "$PEER" >"$T/echo.log" 2>&1 &
_bg_pids+=($!)
alloc() { # USER PASSWORD: allocate=ok, or the error code
	"$PYTHON" "$INTEROP_DIR/restore.py" alloc --port "$P" --user "$1" --password "$2"
}
bind_echo() { # USER PASSWORD: setup=ok, or what failed
	kv setup "$("$PYTHON" "$INTEROP_DIR/restore.py" setup --clients 1 --port "$P" \
		--peer-port "$PEER" --user "$1" --password "$2" --state "$T/state.json")"
}
cat >"$T/ternd.conf" <<CONF
listening-ip=127.0.0.1
listening-port=$P
tls-listening-port=$Q
cert=$T/cert.pem
pkey=$T/key.pem
realm=tern.test
user=alice:alice-pw
user=carol:carol-pw
user-quota=10
allow-loopback-peers
max-allocations=1000
CONF
TERN_CONF=$T/ternd.conf
check "ternd starts from the file" tern_start || exit 0
is "carol allocates before the reload" "$(kv allocate "$(alloc carol carol-pw)")" ok

# alice relays over TLS across the reload: 4 allocations, 100 messages each way, 40 ms apart
uclient "$T/uc" -S -t -p "$Q" -u alice -w alice-pw -r "$PP" -l 120 -m 4 -n 100 -z 40 \
	-e 127.0.0.1 127.0.0.1 &
uc=$!
sleep 1.5
cp "$T/b/cert.pem" "$T/cert.pem" && cp "$T/b/key.pem" "$T/key.pem"
sed -i -e '/^user=carol/d' -e 's/^user-quota=10/user-quota=4/' \
	-e 's/^max-allocations=1000/max-allocations=2000/' "$T/ternd.conf"
echo "user=bob:bob-pw" >>"$T/ternd.conf"
kill -HUP "$TERN_PID"
like "SIGHUP: ternd names what it applied" \
	"$(wait_for 3 1 grep -c 'SIGHUP: .*ternd.conf: applied user-quota, user$' "$TERN_LOG")" "^1$"
like "and what takes a restart, with its line" \
	"$(grep -c "SIGHUP: max-allocations changed (.*ternd.conf:10): takes a restart" "$TERN_LOG")" \
	"^1$"
is "the next TLS client gets certificate B" "$(served)" "$(fp "$T/b/cert.pem")"
is "bob, added, allocates" "$(kv allocate "$(alloc bob bob-pw)")" ok
is "carol, removed, is refused" "$(kv allocate "$(alloc carol carol-pw)")" 401
is "alice, at her new quota of 4 while relaying, gets 486 for a fifth" \
	"$(kv allocate "$(alloc alice alice-pw)")" 486
wait "$uc"
is "alice's uclient relayed across the reload and lost nothing" \
	"$(uclient_totals "$T/uc")" "400 400 0"

is "bob binds a channel to the echo peer" "$(bind_echo bob bob-pw)" ok
printf 'denied-peer-ip=127.0.0.1\nverbose\n' >>"$T/ternd.conf"
kill -HUP "$TERN_PID"
like "a second SIGHUP applies the policy and the level" \
	"$(wait_for 3 1 grep -c 'applied denied-peer-ip, verbose$' "$TERN_LOG")" "^1$"
is "a new ChannelBind to the now denied peer gets 403" "$(bind_echo bob bob-pw)" \
	"channel bind 0: 403"

sed -i '/^user=bob/d' "$T/ternd.conf"
echo "no-such-option=1" >>"$T/ternd.conf"
kill -HUP "$TERN_PID"
like "a file with an unknown option is refused with its file and line" \
	"$(wait_for 3 1 grep -c "SIGHUP: .*ternd.conf:13: unknown option 'no-such-option': the configuration is not applied" "$TERN_LOG")" \
	"^1$"
is "and its other change was not made: bob, removed in it, still allocates" \
	"$(kv allocate "$(alloc bob bob-pw)")" ok
check "ternd stops cleanly" tern_stop
