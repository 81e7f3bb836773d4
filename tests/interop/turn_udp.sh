#!/bin/bash
# TURN over UDP with coturn's turnutils_uclient relaying to turnutils_peer (a
# UDP echo server): channels and Send/Data indications, IPv4 and IPv6 relays
# from IPv4 and IPv6 clients, each run with no loss and tern's /metrics
# agreeing with uclient's count; a wrong password and a wrong REST secret
# are refused (401) and counted; peers on loopback are refused (403) without
# --allow-loopback-peers and counted by reason; --user-quota refuses (486)
# and counts; --max-bps holds each direction to its rate and counts what it
# drops; and a load run of 100 clients loses nothing.
. "$(dirname "$0")/lib.sh"
need python3 ss turnutils_uclient turnutils_peer

plan 54

PP=$(port_pick 2) || bail "no free ports" # the peer: PP, and PP+1 for uclient's RTCP
check "turnutils_peer echoes on 127.0.0.1 and ::1" peer_start "$PP" 127.0.0.1 ::1 || exit 0

BASE=(--realm=tern.test --no-tls --no-dtls --workers=2)
UC=(-r "$PP" -l 120)

# ---- long-term credentials, IPv4 and IPv6 ---------------------------------

P=$(port_pick 1) || bail "no free ports"
check "ternd starts on 127.0.0.1 and ::1 with a user, loopback peers allowed" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--user=alice:secret --allow-loopback-peers "${BASE[@]}" || exit 0
A=(-p "$P" -u alice -w secret "${UC[@]}")

# -m 4: two sessions of RTP and RTCP clients, 3 allocations each; 4 x 100.
relay_check "IPv4 client, IPv4 relay, channels" 400 48000 6 \
	"${A[@]}" -m 4 -n 100 -z 5 -X -e 127.0.0.1 127.0.0.1
relay_check "IPv4 client, IPv4 relay, Send/Data indications" 400 48000 6 \
	"${A[@]}" -m 4 -n 100 -z 5 -s -X -e 127.0.0.1 127.0.0.1
relay_check "IPv6 client, IPv6 relay, channels" 400 48000 6 \
	"${A[@]}" -m 4 -n 100 -z 5 -x -e ::1 ::1
relay_check "IPv6 client, IPv6 relay, Send/Data indications" 400 48000 6 \
	"${A[@]}" -m 4 -n 100 -z 5 -s -x -e ::1 ::1
relay_check "IPv4 client, IPv6 relay (RFC 6156)" 200 24000 6 \
	"${A[@]}" -m 4 -n 50 -z 5 -x -e ::1 127.0.0.1
relay_check "IPv6 client, IPv4 relay (RFC 6156)" 200 24000 6 \
	"${A[@]}" -m 4 -n 50 -z 5 -X -e 127.0.0.1 ::1

# refused_check DESC OUT STATUS PATTERN: uclient failed and printed PATTERN.
refused_check() {
	if [ "$3" -ne 0 ] && grep -q "$4" "$2"; then
		ok "$1"
	else
		not_ok "$1" "want a non-zero status and '$4' in:" "$(uclient_diag "$2" "$3")"
	fi
}

# A wrong password: every Allocate gets a fresh 401 until uclient gives up.
bad=$(tern_metric tern_auth_failures_total reason=bad_integrity)
allocs=$(tern_metric tern_allocations_total)
uclient "$T/badpw" -p "$P" -u alice -w wrong "${UC[@]}" -c -m 1 -n 5 -X -e 127.0.0.1 127.0.0.1
refused_check "wrong password: no allocation" "$T/badpw" $? "Cannot complete Allocation"
bad=$(($(tern_metric tern_auth_failures_total reason=bad_integrity) - bad))
allocs=$(($(tern_metric tern_allocations_total) - allocs))
if [ "$bad" -gt 0 ] && [ "$allocs" -eq 0 ]; then
	ok "wrong password: tern_auth_failures_total{reason=bad_integrity} grew by $bad, no allocations"
else
	not_ok "wrong password: tern_auth_failures_total{reason=bad_integrity} grew, no allocations" \
		"bad_integrity grew by $bad, tern_allocations_total by $allocs"
fi

# Load: 100 clients (50 sessions, 150 allocations) at uclient's default 50
# packets a second each, 200 messages each. The Allocates all come from
# 127.0.0.1, so tern's pre-authentication rate limit slows the set-up down;
# uclient retransmits.
UCLIENT_TIMEOUT=150 relay_check "load: 100 clients at once" 20000 2400000 150 \
	"${A[@]}" -m 100 -n 200 -X -e 127.0.0.1 127.0.0.1
check "ternd exits 0 on SIGTERM within 5 s" tern_stop

# ---- REST credentials (TURN REST API, use-auth-secret) ----------------------

P=$(port_pick 1) || bail "no free ports"
check "ternd starts with use-auth-secret" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --use-auth-secret \
	--static-auth-secret=north --allow-loopback-peers "${BASE[@]}" || exit 0
# uclient -W makes the user name "expiry:bob" and the password from the secret.
relay_check "REST credentials from the right secret" 100 12000 3 \
	-p "$P" -u bob -W north "${UC[@]}" -m 2 -n 50 -z 5 -X -e 127.0.0.1 127.0.0.1
bad=$(tern_metric tern_auth_failures_total reason=bad_integrity)
uclient "$T/badrest" -p "$P" -u bob -W south "${UC[@]}" -c -m 1 -n 5 -X -e 127.0.0.1 127.0.0.1
refused_check "REST credentials from a wrong secret: no allocation" "$T/badrest" $? \
	"Cannot complete Allocation"
bad=$(($(tern_metric tern_auth_failures_total reason=bad_integrity) - bad))
if [ "$bad" -gt 0 ]; then
	ok "wrong REST secret: tern_auth_failures_total{reason=bad_integrity} grew by $bad"
else
	not_ok "wrong REST secret: tern_auth_failures_total{reason=bad_integrity} grew" "it grew by $bad"
fi
check "ternd exits 0 on SIGTERM within 5 s" tern_stop

# ---- peer policy: loopback peers refused by default --------------------------

P=$(port_pick 1) || bail "no free ports"
check "ternd starts without allow-loopback-peers" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--user=alice:secret "${BASE[@]}" || exit 0
D=(-p "$P" -u alice -w secret "${UC[@]}" -c -m 1 -n 5 -X)

# denied_check DESC REASON PATTERN UCLIENT-ARGS...: uclient is refused with
# 403 (PATTERN) and tern_peer_denied_total{reason=REASON} grows by exactly 1:
# with -c -m 1, uclient stops at its first refused request.
denied_check() {
	local desc=$1 reason=$2 pattern=$3 before after rc
	shift 3
	before=$(tern_metric tern_peer_denied_total reason="$reason")
	uclient "$T/denied" "$@"
	rc=$?
	refused_check "$desc: 403" "$T/denied" $rc "$pattern"
	after=$(tern_metric_wait $((before + 1)) tern_peer_denied_total reason="$reason")
	is "$desc: tern_peer_denied_total{reason=$reason} grew by 1" $((after - before)) 1
}
# 127.0.0.1 is where tern itself listens and relays from: "own" comes first.
denied_check "ChannelBind to 127.0.0.1 (tern's own address)" own \
	"channel bind: error 403" "${D[@]}" -e 127.0.0.1 127.0.0.1
denied_check "CreatePermission (Send) to 127.0.0.2" loopback \
	"create permission error 403" "${D[@]}" -s -e 127.0.0.2 127.0.0.1
check "ternd exits 0 on SIGTERM within 5 s" tern_stop

# ---- user-quota ---------------------------------------------------------------

# Each uclient session holds two allocations (its probe and the real one),
# so with user-quota=2 one session fits and a second one's gets 486.
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with user-quota=2" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --user-quota=2 \
	--user=alice:secret --user=carol:secret --user=dave:secret \
	--allow-loopback-peers "${BASE[@]}" || exit 0
Q=(-p "$P" -w secret "${UC[@]}" -c -n 20 -z 5 -X -e 127.0.0.1)
relay_check "user-quota=2: one session (2 allocations) fits" 20 2400 2 \
	-u alice "${Q[@]}" -m 1 127.0.0.1
before=$(tern_metric tern_allocation_rejected_total reason=quota)
uclient "$T/quota" -u carol "${Q[@]}" -m 2 127.0.0.1
refused_check "user-quota=2: a second session of the same user gets 486" "$T/quota" $? \
	"error 486"
# uclient ignores its probe's failure and asks for the real allocation too.
after=$(tern_metric_wait $((before + 2)) tern_allocation_rejected_total reason=quota)
is "user-quota=2: tern_allocation_rejected_total{reason=quota} grew by 2 (probe, real)" \
	$((after - before)) 2
uclient "$T/quota2" -u dave "${Q[@]}" -m 1 127.0.0.1
rc=$?
is "user-quota is per user: another user still relays" "$rc $(uclient_totals "$T/quota2")" \
	"0 20 20 0"
check "ternd exits 0 on SIGTERM within 5 s" tern_stop

# ---- max-bps --------------------------------------------------------------------

# One client sending 120 bytes every 20 ms: 6000 bytes a second each way.
# max-bps applies per allocation and direction (coturn: "input and output
# network streams are treated separately"), so 7000 lets that through; 3 s
# of it would overrun a bucket that both directions shared.
P=$(port_pick 1) || bail "no free ports"
check "ternd starts with max-bps=7000" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --max-bps=7000 \
	--user=alice:secret --allow-loopback-peers "${BASE[@]}" || exit 0
B=(-p "$P" -u alice -w secret "${UC[@]}" -c -m 1 -X -e 127.0.0.1)
relay_check "max-bps=7000, 6000 bytes/s each way" 150 18000 2 "${B[@]}" -n 150 -z 20 127.0.0.1
# Every 5 ms is 24000 bytes a second: over the limit either way.
before=$(tern_metric tern_relay_dropped_total reason=bandwidth)
uclient "$T/bps" "${B[@]}" -n 200 -z 5 127.0.0.1
rc=$?
read -r sent recvd lost <<<"$(uclient_totals "$T/bps")"
if [ "$rc" -eq 0 ] && [ "${sent:-0}" -eq 200 ] && [ "${lost:-0}" -gt 0 ]; then
	ok "max-bps=7000, 24000 bytes/s: uclient loses $lost of 200"
else
	not_ok "max-bps=7000, 24000 bytes/s: uclient loses some" "$(uclient_diag "$T/bps" "$rc")"
fi
after=$(tern_metric tern_relay_dropped_total reason=bandwidth)
if [ $((after - before)) -gt 0 ]; then
	ok "max-bps: tern_relay_dropped_total{reason=bandwidth} grew by $((after - before))"
else
	not_ok "max-bps: tern_relay_dropped_total{reason=bandwidth} grew" "it grew by $((after - before))"
fi
check "ternd exits 0 on SIGTERM within 5 s" tern_stop
