#!/bin/bash
# TURN over TCP and TLS (RFC 8656 s3.1: client to server over a stream, UDP
# relayed to the peer) with coturn's turnutils_uclient relaying to
# turnutils_peer: channels and Send/Data indications, IPv4 and IPv6, a busy
# run of each, all with no loss and tern's /metrics agreeing with uclient's
# count. uclient checks tern's self-signed certificate (-E).
#
# Over TLS uclient takes each SSL_read as one whole message (and drops what
# follows the first in it), as coturn writes one TLS record per message; a
# server that packs several messages into one record, as a byte stream
# allows, loses uclient all but the first. The busy runs make that likely.
#
# RFC 6062 TCP relays (uclient -T) are tested in turn_tcp_relay.sh.
. "$(dirname "$0")/lib.sh"
need python3 ss openssl turnutils_uclient turnutils_peer

plan 28

PP=$(port_pick 2) || bail "no free ports" # the peer: PP, and PP+1 for uclient's RTCP
check "turnutils_peer echoes on 127.0.0.1 and ::1" peer_start "$PP" 127.0.0.1 ::1 || exit 0
check "self-signed certificate made" make_certs "$T/certs" || exit 0

P=$(port_pick 1) || bail "no free ports"
Q=$(port_pick 1) || bail "no free ports"
check "ternd starts with TCP and TLS on 127.0.0.1 and ::1" \
	tern_start --listening-ip=127.0.0.1 --listening-ip=::1 --listening-port="$P" \
	--tls-listening-port="$Q" --cert="$T/certs/cert.pem" --pkey="$T/certs/key.pem" \
	--no-udp --no-dtls --user=alice:secret --realm=tern.test --allow-loopback-peers \
	--workers=2 || exit 0

UC=(-u alice -w secret -r "$PP" -l 120)
TCP=(-t -p "$P" "${UC[@]}")
TLS=(-t -S -E "$T/certs/cert.pem" -p "$Q" "${UC[@]}")

# -m 4: two sessions of RTP and RTCP clients, 3 allocations each; 4 x 100.
relay_check "TCP, IPv4, channels" 400 48000 6 \
	"${TCP[@]}" -m 4 -n 100 -z 5 -X -e 127.0.0.1 127.0.0.1
relay_check "TCP, IPv4, Send/Data indications" 400 48000 6 \
	"${TCP[@]}" -m 4 -n 100 -z 5 -s -X -e 127.0.0.1 127.0.0.1
relay_check "TCP, IPv6, channels" 400 48000 6 \
	"${TCP[@]}" -m 4 -n 100 -z 5 -x -e ::1 ::1
relay_check "TCP, busy: 10 clients, a message every 2 ms each" 2000 240000 15 \
	"${TCP[@]}" -m 10 -n 200 -z 2 -X -e 127.0.0.1 127.0.0.1

relay_check "TLS, IPv4, channels" 400 48000 6 \
	"${TLS[@]}" -m 4 -n 100 -z 5 -X -e 127.0.0.1 127.0.0.1
relay_check "TLS, IPv4, Send/Data indications" 400 48000 6 \
	"${TLS[@]}" -m 4 -n 100 -z 5 -s -X -e 127.0.0.1 127.0.0.1
relay_check "TLS, IPv6, channels" 400 48000 6 \
	"${TLS[@]}" -m 4 -n 100 -z 5 -x -e ::1 ::1
relay_check "TLS, busy: 10 clients, a message every 2 ms each" 2000 240000 15 \
	"${TLS[@]}" -m 10 -n 200 -z 2 -X -e 127.0.0.1 127.0.0.1

check "ternd exits 0 on SIGTERM within 5 s" tern_stop
