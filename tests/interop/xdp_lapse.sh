#!/bin/bash
# What ends a channel ends it in XDP too (issue 14): on xdp.sh's four
# namespaces (xdpnet.sh), with the program in generic mode on t0 and
# lifetimes cut to the least ternd takes (allocations and permissions 60 s,
# channels 90 s), four allocations whose ends overlap, so the whole runs in
# about 100 s. turnudp.py keeps the clients' and peers' sockets open all
# along and tells what reached each one, as ChannelData or as a Data
# indication; /metrics tells who relayed it (tern_xdp_packets_total: the
# program; tern_relayed_packets_total: userspace) and why the program
# passed it up (tern_xdp_passed_total).
#   A  a permission that lapses under a live channel: the peer's datagrams
#      stop at once, in XDP and in userspace, while the client's go on;
#   B  a channel that expires while its permission lives: XDP stops both
#      ways, the peer's datagrams come as Data indications; then a new
#      number to another peer (RFC 8656 s12 keeps the old number and peer
#      from being bound again for 5 min): XDP relays the new, never the old,
#      and the maps do not grow;
#   C  an allocation that expires, D one deleted: their entries leave the
#      maps, and nothing of theirs is relayed;
# Lapsed entries leave the maps at ternd's next sweep (relay_tick, each
# second), with no request needed; the program's own expiry check covers
# the moment between (test_xdp). And, with all of it attached: a peer without permission is never
# relayed, Send and Data indications and Binding go through userspace,
# and datagrams with IP options are passed up and relayed whole.
. "$(dirname "$0")/lib.sh"
. "$INTEROP_DIR/xdpnet.sh"
need python3 ethtool
xdpnet_need

plan 57

topology() { xdpnet_up "xl$$" && ip -n "$NS_P" addr add 10.3.0.3/24 dev p0; }
check "four namespaces, and a second peer address (10.3.0.3)" topology || exit 0
xdpnet_ternd
SRV=10.2.0.2:3478 P1=10.3.0.2:4000 P2=10.3.0.2:4001 P3=10.3.0.2:4002 X=10.3.0.3:4000
check "ternd starts: XDP on t0, allocations and permissions 60 s, channels 90 s" \
	tern_start --listening-ip=10.2.0.2 --listening-port=3478 --relay-ip=10.2.0.2 \
	--user=alice:secret --realm=tern.test --allowed-peer-ip=10.3.0.2-10.3.0.3 \
	--xdp-interface=t0 --xdp-mode=generic --max-allocate-lifetime=60 \
	--permission-lifetime=60 --channel-lifetime=90 || exit 0

# dial NS PORT TEXT: TEXT to TCP 127.0.0.1:PORT in namespace NS, and what
# comes back (bash's /dev/tcp: a command costs no Python start)
dial() {
	ip netns exec "$1" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "%s" "$1" >&3 &&
		cat <&3' "$2" "$3"
}
# the clients' sockets (10.1.0.2) and the peers' (10.3.0.x), each held by
# a turnudp.py server in its namespace, on 127.0.0.1:7000 there
for ns in "$NS_C" "$NS_P"; do
	ip netns exec "$ns" "$PYTHON" "$INTEROP_DIR/turnudp.py" 7000 2>"$T/$ns.err" &
	_bg_pids+=($!)
done
cl() { dial "$NS_C" 7000 "$*"$'\n'; }
pe() { dial "$NS_P" 7000 "$*"$'\n'; }
# asked COMMAND...: the result of a client's request (ok, or the error code)
asked() { cl "$@" | sed -n 's/^result=//p'; }
ctl_up() {
	cl ready 2>/dev/null | grep -q '^at=' && pe ready 2>/dev/null | grep -q '^at=' && echo up
}
peers() {
	[ "$(wait_for 5 up ctl_up)" = up ] &&
		pe open p1 "$P1" && pe open p2 "$P2" && pe open p3 "$P3" && pe open x "$X"
}
check "the peers' sockets: $P1, $P2, $P3 and $X" peers || exit 0

declare -A RELAYED
granted=
for a in A B C D; do
	out=$(cl alloc $a 10.1.0.2 "$SRV")
	RELAYED[$a]=$(kv relayed "$out")
	granted+="$(kv result "$out") $(kv lifetime "$out"); "
done
is "four allocations (A B C D), each for 60 s" "$granted" "ok 60; ok 60; ok 60; ok 60; "

# snap FILE: /metrics now (the stats endpoint is in the relay's namespace)
snap() { dial "$NS_T" "$STATS_PORT" $'GET /metrics HTTP/1.0\r\n\r\n' >"$T/$1"; }
# metric FILE NAME LABEL=VALUE: that sample in snapshot FILE (0 if absent)
metric() {
	awk -v k="$2{${3%%=*}=\"${3#*=}\"}" '$1 == k { v = $2 } END { print v + 0 }' "$T/$1"
}
# grew NAME LABEL=VALUE: how much it grew from snapshot "before" to "after"
grew() { echo $(($(metric after "$@") - $(metric before "$@"))); }
# moved: who relayed what, between the snapshots: "xdp TO_PEER TO_CLIENT
# user TO_PEER TO_CLIENT"
moved() {
	echo "xdp $(grew tern_xdp_packets_total direction=to_peer)" \
		"$(grew tern_xdp_packets_total direction=to_client)" \
		"user $(grew tern_relayed_packets_total direction=to_peer)" \
		"$(grew tern_relayed_packets_total direction=to_client)"
}
# refused WHY DROP: moved, then how many the program passed up for WHY and
# how many the engine dropped for DROP, between the snapshots
refused() {
	echo "$(moved) $(grew tern_xdp_passed_total reason="$1")" \
		"$(grew tern_relay_dropped_total reason="$2")"
}
# entries: tern_xdp_channels now, "TO_PEER TO_CLIENT"
entries() {
	snap now
	echo "$(metric now tern_xdp_channels direction=to_peer)" \
		"$(metric now tern_xdp_channels direction=to_client)"
}

# peer_saw PEER TAG N: what PEER got of TAG, waiting up to 1 s for all N:
# "COUNT DISTINCT BAD FROM"
peer_saw() {
	local out
	out=$(pe got "$1" "$2" "$3" 1)
	echo "$(kv n "$out") $(kv distinct "$out") $(kv bad "$out") $(kv from "$out")"
}
# to_peer TAG ALLOC CHANNEL PEER N [ipopt]: N ChannelData from ALLOC's client
# on CHANNEL; what PEER got of them
to_peer() {
	cl chan "$2" "$3" "$5" "$1" ${6:-} >/dev/null
	peer_saw "$4" "$1" "$5"
}
# to_client TAG PEER ALLOC N [ipopt]: N datagrams from PEER to ALLOC's
# relayed address; what ALLOC's client got of them: "CHANNELDATA
# DATA-INDICATIONS DISTINCT BAD VIA" (VIA: channels, or peers of Data)
to_client() {
	local out
	pe sendto "$2" "${RELAYED[$3]}" "$4" "$1" ${5:-} >/dev/null
	out=$(cl got "$3" "$1" "$4" 1)
	echo "$(kv chan "$out") $(kv data "$out") $(kv distinct "$out") $(kv bad "$out") $(kv via "$out")"
}
# until_at T S: sleep until S seconds after Unix time T
until_at() {
	sleep "$(awk -v t="$1" -v s="$2" -v now="$(date +%s.%N)" \
		'BEGIN { d = t + s - now; printf "%.3f\n", (d > 0 ? d : 0) }')"
}
# since T: "t+S", S the seconds since Unix time T
since() { awk -v t="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "t+%.1f\n", now - t }'; }
N=20

# ---- t = 0: everything relays in XDP ------------------------------------------
snap before
out=$(cl binding A)
snap after
like "a Binding request with the program attached: answered with the client's address" \
	"$(kv result "$out") $(kv mapped "$out")" "^ok 10\.1\.0\.2:[0-9]+$"
is "the program passed it up (not_channeldata)" \
	"$(grew tern_xdp_passed_total reason=not_channeldata)" 1
out=$(cl bind A 0x4000 "$P1")
TA=$(kv at "$out")
r=$(kv result "$out")
out=$(cl bind B 0x4000 "$P1")
TB=$(kv at "$out")
is "ChannelBind 0x4000 to $P1 on all four" \
	"$r $(kv result "$out") $(asked bind C 0x4000 "$P1") $(asked bind D 0x4000 "$P1")" \
	"ok ok ok ok"
is "tern_xdp_channels: 4 each way" "$(entries)" "4 4"
snap before
for a in A B C D; do
	is "$a: $N ChannelData reached the peer whole, and $N came back on 0x4000" \
		"$(to_peer "$a.0" $a 0x4000 p1 $N), $(to_client "$a.0r" p1 $a $N)" \
		"$N $N 0 ${RELAYED[$a]}, $N 0 $N 0 0x4000"
done
snap after
# the way to the peer is learned from its first datagram (A's answers):
# A's ChannelData before it went up, and userspace relayed it
is "XDP relayed all $((4 * N)) each way but A's first $N to the peer; userspace those" \
	"$(moved) $(grew tern_xdp_passed_total reason=no_hop)" \
	"xdp $((3 * N)) $((4 * N)) user $N 0 $N"

out=$(cl refresh D 0)
is "D deleted (Refresh, lifetime 0): its entries left the maps at once" \
	"$(kv result "$out") $(entries)" "ok 3 3"
snap before
is "D's ChannelData reaches no one, nor does the peer's datagram reach D" \
	"$(to_peer D.1 D 0x4000 p1 $N), $(to_client D.1r p1 D $N)" "0 0 0 none, 0 0 0 0 none"
snap after
is "nothing relayed; XDP passed D's ChannelData up (no_channel), the engine dropped it" \
	"$(refused no_channel no_allocation)" \
	"xdp 0 0 user 0 0 $N $N"

# a peer without permission: 10.3.0.3 never had one
snap before
is "a peer without permission ($X): nothing reaches A" "$(to_client A.x x A $N)" "0 0 0 0 none"
snap after
is "relayed by no one: dropped by the engine (no_permission)" \
	"$(moved) $(grew tern_relay_dropped_total reason=no_permission)" "xdp 0 0 user 0 0 $N"
# a permission is an address, not a port (RFC 8656 s9): another port of
# A's peer, without a channel, comes as Data indications, from userspace
snap before
is "another port of a permitted peer ($P3): Data indications, from userspace" \
	"$(to_client A.p3 p3 A $N)" "0 $N $N 0 $P3"
cl send A "$P3" $N A.s >/dev/null
is "and Send indications from A reach $P3 whole" "$(peer_saw p3 A.s $N)" \
	"$N $N 0 ${RELAYED[A]}"
snap after
is "both passed up by the program (not_channeldata), relayed by userspace" \
	"$(grew tern_xdp_passed_total reason=not_channeldata) $(moved)" "$((2 * N)) xdp 0 0 user $N $N"

# IP options: the program passes them up, userspace relays them whole
snap before
is "A's ChannelData with an IP option: reached $P1 whole" \
	"$(to_peer A.o A 0x4000 p1 $N ipopt)" "$N $N 0 ${RELAYED[A]}"
is "and $P1's datagrams with one came back to A as ChannelData, whole" \
	"$(to_client A.or p1 A $N ipopt)" "$N 0 $N 0 0x4000"
snap after
is "passed up as ip_options, both ways; relayed by userspace" \
	"$(grew tern_xdp_passed_total reason=ip_options) $(moved)" \
	"$((2 * N)) xdp 0 0 user $N $N"

# ---- t = 40: A and B refreshed, B's permission too (until t + 100) -----------
until_at "$TA" 40
is "$(since "$TA"): A and B refreshed, and B's permission for 10.3.0.2" \
	"$(asked refresh A) $(asked refresh B) $(asked perm B 10.3.0.2)" \
	"ok ok ok"

# ---- t = 57: A still relays its peer's datagrams -----------------------------
until_at "$TA" 57
snap before
is "$(since "$TA"): $P1's datagrams reach A as ChannelData" "$(to_client A.57 p1 A $N)" \
	"$N 0 $N 0 0x4000"
snap after
is "relayed by XDP" "$(moved)" "xdp 0 $N user 0 0"

# ---- t = 62: A's permission lapsed (t + 60), C expired (t + 60) -------------
until_at "$TA" 62
is "$(since "$TA"): C expired, A's permission lapsed: ternd's sweep took their entries" \
	"$(entries)" "2 1"
snap before
is "A's permission lapsed: nothing of $P1 reaches A" "$(to_client A.61 p1 A $N)" \
	"0 0 0 0 none"
snap after
is "the program had no entry for it, and the engine refused it (no_permission)" \
	"$(moved) $(grew tern_relay_dropped_total reason=no_permission)" \
	"xdp 0 0 user 0 0 $N"
snap before
is "while A's channel lives: its ChannelData still reaches $P1" \
	"$(to_peer A.61c A 0x4000 p1 $N)" "$N $N 0 ${RELAYED[A]}"
snap after
is "relayed by XDP" "$(moved)" "xdp $N 0 user 0 0"
snap before
is "B, refreshed at t+40, relays both ways" \
	"$(to_peer B.61 B 0x4000 p1 $N), $(to_client B.61r p1 B $N)" \
	"$N $N 0 ${RELAYED[B]}, $N 0 $N 0 0x4000"
snap after
is "in XDP" "$(moved)" "xdp $N $N user 0 0"
snap before
is "C expired: its ChannelData reaches no one, nor the peer's datagrams C" \
	"$(to_peer C.61 C 0x4000 p1 $N), $(to_client C.61r p1 C $N)" "0 0 0 none, 0 0 0 0 none"
snap after
is "relayed by no one: XDP has no channel, the engine no allocation" \
	"$(refused no_channel no_allocation)" \
	"xdp 0 0 user 0 0 $N $N"

# ---- t = 85: A and B refreshed again (until t + 145) -----------------------
until_at "$TA" 85
is "$(since "$TA"): A and B refreshed" \
	"$(asked refresh A) $(asked refresh B)" "ok ok"
is "A's lapsed entry (peer to client) stays out of the map" "$(entries)" "2 1"
snap before
is "$(since "$TA"): B relays both ways, in XDP" \
	"$(to_peer B.86 B 0x4000 p1 $N), $(to_client B.86r p1 B $N)" \
	"$N $N 0 ${RELAYED[B]}, $N 0 $N 0 0x4000"
snap after
is "in XDP" "$(moved)" "xdp $N $N user 0 0"

# ---- t = 91.5: B's channel expired (t + 90), its permission lives ---------
until_at "$TB" 91.5
is "$(since "$TB"): A's and B's channels expired at t+90: the sweep took their entries, with no request" \
	"$(entries)" "0 0"
snap before
is "B's channel expired: its ChannelData reaches no one" "$(to_peer B.91 B 0x4000 p1 $N)" \
	"0 0 0 none"
snap after
is "refused by the program and the engine (no_channel)" \
	"$(refused no_channel no_channel)" \
	"xdp 0 0 user 0 0 $N $N"
snap before
is "$P1's datagrams reach B as Data indications now, not ChannelData" \
	"$(to_client B.91r p1 B $N)" "0 $N $N 0 $P1"
snap after
is "passed up by the program, relayed by userspace" \
	"$(moved)" "xdp 0 0 user 0 $N"

# ---- a new channel: another number to another peer ---------------------------
is "A refreshed: nothing of its expired channel in the maps" \
	"$(asked refresh A) $(entries)" "ok 0 0"
is "B may not bind 0x4000 to $P2, nor $P1 to 0x4001, for 5 min (RFC 8656 s12)" \
	"$(asked bind B 0x4000 "$P2") $(asked bind B 0x4001 "$P1")" \
	"400 400"
is "B binds 0x4001 to $P2" "$(asked bind B 0x4001 "$P2")" "ok"
is "its entries took the old channel's place: the maps did not grow" "$(entries)" "1 1"
snap before
is "the new channel relays both ways" \
	"$(to_peer B.new B 0x4001 p2 $N), $(to_client B.newr p2 B $N)" \
	"$N $N 0 ${RELAYED[B]}, $N 0 $N 0 0x4001"
snap after
is "in XDP" "$(moved)" "xdp $N $N user 0 0"
snap before
is "the old one never: its ChannelData reaches no one, $P1's comes as Data" \
	"$(to_peer B.old B 0x4000 p1 $N), $(to_client B.oldr p1 B $N)" \
	"0 0 0 none, 0 $N $N 0 $P1"
snap after
is "XDP has no channel 0x4000 any more; userspace relayed only the Data indications" \
	"$(refused no_channel no_channel)" \
	"xdp 0 0 user 0 $N $N $N"

# ---- the end -------------------------------------------------------------------
is "A and B deleted: the maps are empty" \
	"$(asked refresh A 0) $(asked refresh B 0) $(entries)" \
	"ok ok 0 0"
is "no checksum XDP wrote was wrong: the client and the peer dropped none" \
	"$(xdpnet_csum_errors "$NS_C") $(xdpnet_csum_errors "$NS_P")" "0 0"
check "ternd stops cleanly" tern_stop
is "and the program left t0 with it" "$(ip -n "$NS_T" link show t0 | grep -c xdp)" 0
