#!/bin/bash
# DTLS handshakes that tern refuses (DTLS 1.0, from openssl s_client) must
# not disturb the DTLS sessions it already has: a turnutils_uclient client
# relays through them with no loss and tern's /metrics agreeing. Also: a
# DTLS-only configuration (no UDP, TCP or TLS listener) is accepted.
#
# uclient itself picks one of its DTLS contexts (1.0, 1.2 or either) at
# random for each connection and tries again on a new socket when tern
# refuses 1.0, so turn_dtls.sh's runs see refused handshakes too, by chance;
# this makes them certain.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl turnutils_uclient turnutils_peer
openssl s_client -help 2>&1 | grep -q -- '-dtls1 ' || skip_all "openssl s_client has no -dtls1"

plan 9

PP=$(port_pick 2) || bail "no free ports" # the peer: PP, and PP+1 for uclient's RTCP
check "turnutils_peer echoes on 127.0.0.1" peer_start "$PP" 127.0.0.1 || exit 0
check "self-signed certificate made" make_certs "$T/certs" || exit 0
CERT=(--cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem")

P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "a DTLS-only configuration (no-udp, no-tcp, no-tls) is accepted" \
	"$TERND" -n --check --listening-ip=127.0.0.1 --listening-port="$P" \
	--tls-listening-port="$Q" "${CERT[@]}" --no-udp --no-tcp --no-tls --user=alice:secret

check "ternd starts with DTLS on 127.0.0.1" \
	tern_start --listening-ip=127.0.0.1 --listening-port="$P" --tls-listening-port="$Q" \
	"${CERT[@]}" --no-tcp --no-tls --user=alice:secret --realm=tern.test \
	--allow-loopback-peers --workers=2 || exit 0

# While one client relays for 5 s, a DTLS 1.0 handshake from elsewhere every
# half second: eight of them, so some land on the client's worker whichever
# of the two it is.
(
	sleep 1
	for _ in 1 2 3 4 5 6 7 8; do
		timeout 5 openssl s_client -dtls1 -cipher 'DEFAULT:@SECLEVEL=0' \
			-connect "127.0.0.1:$Q" </dev/null 2>&1
		sleep 0.5
	done
) >"$T/refused.log" &
_bg_pids+=($!)
relay_check "DTLS relaying on through refused DTLS 1.0 handshakes" 500 60000 2 \
	-S -E "$T/certs/cert.pem" -p "$Q" -u alice -w secret -r "$PP" -l 120 \
	-c -m 1 -n 500 -z 10 -X -e 127.0.0.1 127.0.0.1
wait "${_bg_pids[-1]}"
n=$(grep -c 'alert protocol version' "$T/refused.log")
if [ "$n" -ge 1 ]; then
	ok "tern refused the DTLS 1.0 handshakes ($n of 8 saw a protocol_version alert)"
else
	not_ok "tern refused the DTLS 1.0 handshakes" "$(tail -n 20 "$T/refused.log")"
fi

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
